"""Hostile inputs and faults against a real llama.cpp server behind the fault proxy: secrets never
written or printed, garbled Retry-After ignored, resets and empty choices retried, a dead server
stops the run at once (circuit breaker) instead of costing every example its retry budget, and
hostile run ids / model names are escaped in Markdown and CSV leaderboards."""

from __future__ import annotations

import csv
import io
import json
import time

import pytest
from rich.console import Console

from dpbench.errors import BackendError
from dpbench.llm.factory import make_backend
from dpbench.llm.openai_compat import parse_retry_after
from dpbench.llm.redact import redact
from dpbench.run import run_method
from tests.helpers.fault_proxy import FaultPlan, FaultProxy
from tests.run.conftest import read_lines, read_manifest
from tests.run.test_real_server import openai_cfg, short_recipe

SECRET = "sk-hostile-SECRET-98765"


def test_garbled_retry_after_is_ignored_not_fatal():
    import httpx

    assert parse_retry_after(httpx.Headers({"retry-after": "soon"})) is None
    assert parse_retry_after(httpx.Headers({"retry-after": "Wed, 21 Oct 2015 07:28:00"})) is None  # no zone
    assert parse_retry_after(httpx.Headers({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0  # past
    assert parse_retry_after(httpx.Headers({"retry-after": "-3"})) == 0.0


@pytest.mark.parametrize("url, message", [
    ("http://127.0.0.1:99999/v1", "a port is 1-65535"),
    ("http://127.0.0.1:0/v1", "port 0"),
    ("127.0.0.1:8080/v1", "expected http"),
    ("ftp://host/v1", "expected http"),
])
def test_bad_base_urls_are_clear_errors(url, message):
    with pytest.raises(BackendError, match=message):
        make_backend("openai", "m", base_urls=[url])


def test_redact_masks_known_secrets_url_passwords_and_bearer_tokens(monkeypatch):
    from dpbench.llm.redact import register_secret

    register_secret("my-own-gateway-token-77")
    text = ("http://bob:hunter2@h:1/v1 said 'Authorization: Bearer abcdefghijkl012345' for my-own-gateway-token-77 "
            "and sk-abcdefghijklmnop")
    out = redact(text)
    for leaked in ("hunter2", "abcdefghijkl012345", "my-own-gateway-token-77", "sk-abcdefghijklmnop"):
        assert leaked not in out
    assert "http://***@h:1/v1" in out and "Bearer ***" in out


@pytest.mark.slow
def test_secrets_in_urls_and_echoed_401_bodies_are_never_written_or_printed(make_cfg, llama_server, tmp_path,
                                                                           monkeypatch, response_cache):
    monkeypatch.setenv("DPB_HOSTILE_KEY", SECRET)
    with FaultProxy(llama_server.base_url, FaultPlan(always="401echo")) as proxy:
        url = proxy.base_url.replace("http://", "http://alice:pa55word-xyz@")
        cfg = make_cfg(recipe=short_recipe(), backend="openai", model=llama_server.model, base_urls=(url,),
                       api_key_env="DPB_HOSTILE_KEY", run_id="leak", limit=2)
        buf = io.StringIO()
        with pytest.raises(BackendError) as e:
            run_method(cfg, Console(file=buf, width=200), cache=response_cache)
        assert proxy.stats["401echo"] >= 1 and proxy.auth_headers  # credentials were sent, and echoed back
    shown = redact(str(e.value)) + buf.getvalue()
    assert "HTTP 401" in shown and SECRET not in shown and "pa55word-xyz" not in shown
    run_dir = tmp_path / "out" / "leak"
    assert read_manifest(run_dir)["status"] == "incomplete"
    for f in run_dir.rglob("*"):
        if f.is_file():
            body = f.read_text(errors="replace")
            assert SECRET not in body and "pa55word-xyz" not in body, f


@pytest.mark.slow
def test_resets_empty_choices_and_a_garbled_retry_after_are_retried(make_cfg, quiet, response_cache,
                                                                    llama_server):
    plan = FaultPlan({"reset": 0.15, "empty": 0.15, "429": 0.15}, seed=3, retry_after="soon")  # draws all three
    with FaultProxy(llama_server.base_url, plan) as proxy:
        cfg = openai_cfg(make_cfg, llama_server, proxy, run_id="mix", limit=6, concurrency=2,
                         recipe=short_recipe(timeout_s=120, **{"generation.max_retries": 12}))
        run_dir = run_method(cfg, quiet, cache=response_cache)
        stats = dict(proxy.stats)
    assert stats.get("reset", 0) >= 1 and stats.get("empty", 0) >= 1 and stats.get("429", 0) >= 1, stats
    lines = read_lines(run_dir)
    assert len(lines) == 6 and all(r["error"] is None and r["raw"] for r in lines)
    m = read_manifest(run_dir)
    assert m["status"] == "complete" and m["usage"]["requests"] == stats["received_chat"]
    assert m["usage"]["retries"] == stats["received_chat"] - 6


@pytest.mark.slow
def test_a_server_that_dies_mid_run_stops_the_run_at_once_and_a_rerun_finishes(make_cfg, quiet, response_cache,
                                                                              llama_server):
    proxy = FaultProxy(llama_server.base_url).start()
    cfg = openai_cfg(make_cfg, llama_server, proxy, run_id="dies", concurrency=1,
                     recipe=short_recipe(**{"generation.max_retries": 6}))
    dead_after = {"n": 0}

    def kill_after_three(*_):
        dead_after["n"] += 1
        if dead_after["n"] == 3:
            proxy.stop()  # connection refused from now on

    from dpbench.run.store import RunStore

    original_append = RunStore.append

    def append(self, record):
        original_append(self, record)
        kill_after_three()

    t0 = time.monotonic()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(RunStore, "append", append)
        with pytest.raises(BackendError, match="every endpoint failed 5 times in a row"):
            run_method(cfg, quiet, cache=response_cache)
    elapsed = time.monotonic() - t0
    run_dir = cfg.out / "dies"
    m = read_manifest(run_dir)
    assert m["status"] == "incomplete" and m["n_done"] == 3 and "every endpoint failed" in m["abort_reason"]
    # the breaker opened after 5 failed requests in all; without it 9 examples x 7 attempts would be tried
    assert m["usage"]["failed_calls"] <= 2 and elapsed < 120
    with FaultProxy(llama_server.base_url) as again:
        cfg2 = openai_cfg(make_cfg, llama_server, again, run_id="dies", concurrency=2, recipe=cfg.recipe)
        run_method(cfg2, quiet, cache=response_cache)
    lines = read_lines(run_dir)
    assert len(lines) == 12 == len({r["example_id"] for r in lines}) and read_manifest(run_dir)["status"] == "complete"


def test_hostile_names_are_escaped_in_markdown_and_csv(tmp_path):
    from dpbench.metrics.config import ScoreConfig
    from dpbench.score import score_runs
    from tests.score.helpers import make_benchmark, make_run

    refs = {"e1": "a good blender", "e2": "loud but fine"}
    bench = make_benchmark(tmp_path / "data" / "toy", refs)
    out = tmp_path / "outputs"
    make_run(out / "r1", bench, {"e1": "good blender", "e2": "fine"}, run_id="=HYPERLINK(\"http://x\")",
             model="<script>alert(1)</script>")
    score_runs([out], ScoreConfig(metrics=("rouge",), bootstrap_resamples=20, formats=("md", "csv")))
    md = (out / "leaderboard.md").read_text()
    assert "<script>" not in md and "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    rows = list(csv.DictReader(io.StringIO((out / "leaderboard.csv").read_text())))
    assert rows[0]["run_id"] == "'=HYPERLINK(\"http://x\")" and rows[0]["model"] == "<script>alert(1)</script>"
    assert json.loads((out / "r1" / "scores.json").read_text())["run_id"] == "=HYPERLINK(\"http://x\")"
