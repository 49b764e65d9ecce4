"""Progress reaches a log: off a terminal, plain lines (done/total, requests, retries, errors, rate, ETA)."""

from __future__ import annotations

import io

from rich.console import Console

from dpbench.run import run_method
from dpbench.run.progress import Ticker
from tests.helpers.fake_backend import FakeBackend


def test_ticker_logs_every_n_and_at_the_end_off_a_terminal():
    buf = io.StringIO()
    with Ticker(Console(file=buf, width=200), "work", total=40, every_s=1e9) as t:  # time never triggers
        for _ in range(40):
            t.advance(1, "ok")
    lines = buf.getvalue().splitlines()
    assert len(lines) == 20 and lines[0].startswith("work: 2/40 (5%), ok, ") and "ETA" in lines[0]
    assert lines[-1].startswith("work: 40/40 (100%), ok")


def test_run_progress_lines_carry_requests_and_errors(make_cfg, response_cache):
    buf = io.StringIO()
    run_method(make_cfg(), Console(file=buf, width=200), backend=FakeBackend(), cache=response_cache)
    text = buf.getvalue()
    assert "nonpersonal examples: 12/12 (100%), req 12  cached 0  retries 0" in text and "errors 0" in text
    assert "nonpersonal: 12/12 examples done, 0 errors, 12 requests" in text
