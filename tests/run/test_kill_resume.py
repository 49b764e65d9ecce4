"""kill -9 mid-run, then the same command: complete, nothing lost, nothing duplicated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from dpbench.run import run_method
from tests.helpers.fake_backend import FakeBackend
from tests.run.conftest import read_lines, read_manifest

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import sys
from pathlib import Path
from dpbench.llm.cache import ResponseCache
from dpbench.recipes import load_recipe
from dpbench.run import run_method
from dpbench.run.config import RunConfig
from tests.helpers.fake_backend import FakeBackend
data, out, cache = (Path(a) for a in sys.argv[1:4])
cfg = RunConfig(method="nonpersonal", data=data, recipe=load_recipe("sample"), out=out, concurrency=1)
run_method(cfg, backend=FakeBackend(delay_s=0.25, max_concurrency=1), cache=ResponseCache(cache))
"""


def test_kill9_then_resume(tiny_data, make_cfg, quiet, tmp_path):
    out, cache = tmp_path / "out", tmp_path / "responses.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(tiny_data), str(out), str(cache)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            files = list(out.glob("*/predictions.jsonl"))
            if files and files[0].read_text().count("\n") >= 3:
                break
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    run_dir = files[0].parent
    before = read_lines(run_dir)
    assert 3 <= len(before) < 12 and read_manifest(run_dir)["status"] == "running"
    with open(run_dir / "predictions.jsonl", "a") as f:  # a line cut mid-write by the kill
        f.write('{"schema_version": 1, "example_id": "trunc')

    from dpbench.llm.cache import ResponseCache

    backend = FakeBackend()
    cfg = make_cfg(concurrency=1, out=out)
    assert run_method(cfg, quiet, backend=backend, cache=ResponseCache(cache)) == run_dir
    after = read_lines(run_dir)
    ids = [r["example_id"] for r in after]
    assert len(ids) == 12 == len(set(ids)) and set(ids) == set((run_dir / "example_ids.txt").read_text().split())
    assert after[: len(before)] == before  # nothing lost or rewritten
    # the example in flight at the kill may already sit in the response cache
    assert 12 - len(before) - 1 <= len(backend.requests) <= 12 - len(before)
    assert read_manifest(run_dir)["status"] == "complete"
