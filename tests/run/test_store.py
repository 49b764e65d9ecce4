"""The run store's contract, the same for every method: run ids stay inside --out, one process per run
directory (a second one is told who holds it, or waits), a killed run reads as interrupted and
resumes with its usage, old (schema v1) run directories stay readable, later stages' files are
replaced atomically."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dpbench.errors import DpbenchError
from dpbench.run import run_method
from dpbench.run.lock import RunLocked
from dpbench.run.store import RunStore, effective_status, read_manifest
from tests.helpers.fake_backend import FakeBackend
from tests.run.conftest import read_lines

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "v1_runs"
CHILD = """
import sys
from pathlib import Path
from dpbench.llm.cache import ResponseCache
from dpbench.recipes import load_recipe
from dpbench.run import run_method
from dpbench.run.config import RunConfig
from tests.helpers.fake_backend import FakeBackend
data, out, cache, run_id, delay = sys.argv[1:6]
cfg = RunConfig(method="nonpersonal", data=Path(data), recipe=load_recipe("sample"), out=Path(out), concurrency=1,
                run_id=run_id)
backend = FakeBackend(delay_s=float(delay), max_concurrency=1)
run_method(cfg, backend=backend, cache=ResponseCache(Path(cache)))
print("REQUESTS", len(backend.requests))
"""


def start_child(tiny_data, out, cache, run_id="shared", delay=0.2):
    return subprocess.Popen([sys.executable, "-c", CHILD, str(tiny_data), str(out), str(cache), run_id, str(delay)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_lines(path: Path, n: int, proc, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().count("\n") >= n:
            return
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.05)
    raise AssertionError("child made no progress")


@pytest.mark.parametrize("run_id", ["../../escape", "/tmp/dpbench-abs-escape", ".", "..", "a/b", "", "-x"])
def test_run_ids_that_leave_out_are_refused(make_cfg, quiet, response_cache, tmp_path, run_id):
    with pytest.raises(DpbenchError, match="run id is one folder name"):
        run_method(make_cfg(run_id=run_id), quiet, backend=FakeBackend(), cache=response_cache)
    assert not (tmp_path / "out").exists() and not Path("/tmp/dpbench-abs-escape").exists()
    assert not (tmp_path.parent / "escape").exists()


def test_a_second_process_is_told_who_holds_the_run_and_wait_takes_over(tiny_data, make_cfg, quiet, tmp_path,
                                                                         response_cache):
    out, cache = tmp_path / "out", tmp_path / "shared.sqlite"
    child = start_child(tiny_data, out, cache)
    try:
        wait_for_lines(out / "shared" / "predictions.jsonl", 1, child)
        assert effective_status(out / "shared", read_manifest(out / "shared")) == "running"
        second = FakeBackend()
        with pytest.raises(RunLocked, match=f"in use by pid {child.pid} on "):
            run_method(make_cfg(run_id="shared", out=out), quiet, backend=second, cache=response_cache)
        assert second.requests == []
        # --wait: blocks until the child is done, then finds nothing left to do
        run_method(make_cfg(run_id="shared", out=out, wait=True), quiet, backend=second, cache=response_cache)
        stdout, _ = child.communicate(timeout=120)
    finally:
        child.kill() if child.poll() is None else None
    lines = read_lines(out / "shared")
    assert len(lines) == 12 == len({r["example_id"] for r in lines})  # every example once, paid once
    assert second.requests == [] and "REQUESTS 12" in stdout
    m = read_manifest(out / "shared")
    assert m.status == "complete" and m.usage.requests == 12 and m.holder is None
    assert not [p for p in (out / "shared").iterdir() if p.name.endswith(".tmp")]


def test_two_runs_sharing_one_response_cache_at_once_stay_correct(tiny_data, tmp_path):
    out, cache = tmp_path / "out", tmp_path / "shared.sqlite"
    kids = [start_child(tiny_data, out, cache, run_id=f"run{i}", delay=0.05) for i in range(2)]
    outs = [k.communicate(timeout=180) for k in kids]
    assert [k.returncode for k in kids] == [0, 0], outs
    a, b = read_lines(out / "run0"), read_lines(out / "run1")
    assert len(a) == len(b) == 12
    assert {r["example_id"]: r["prediction"] for r in a} == {r["example_id"]: r["prediction"] for r in b}
    import sqlite3

    assert sqlite3.connect(cache).execute("SELECT count(*) FROM responses").fetchone()[0] == 12


def test_killed_run_reads_interrupted_and_resume_keeps_its_usage(tiny_data, make_cfg, quiet, tmp_path):
    import signal

    from dpbench.llm.cache import ResponseCache

    out, cache = tmp_path / "out", tmp_path / "c.sqlite"
    child = start_child(tiny_data, out, cache, run_id="k", delay=0.6)
    wait_for_lines(out / "k" / "predictions.jsonl", 3, child)
    time.sleep(2.5)  # past one heartbeat: the manifest holds the usage so far
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    before = read_manifest(out / "k")
    assert before.status == "running" and effective_status(out / "k", before) == "interrupted"
    assert before.holder is not None and before.holder.pid == child.pid
    n_before = len(read_lines(out / "k"))
    spent = before.usage.requests
    assert spent >= 3
    backend = FakeBackend()
    run_method(make_cfg(run_id="k", out=out, concurrency=1), quiet, backend=backend, cache=ResponseCache(cache))
    after = read_manifest(out / "k")
    assert after.status == "complete" and len(read_lines(out / "k")) == 12
    assert after.usage.requests == spent + len(backend.requests)  # earlier usage merged, not reset
    assert len(backend.requests) <= 12 - n_before + 1


def test_v1_run_directories_are_read_and_scored(tmp_path):
    from dpbench.metrics.config import ScoreConfig
    from dpbench.score import score_runs
    from tests.helpers.tiny_benchmark import write_tiny_benchmark

    data = write_tiny_benchmark(tmp_path / "tiny")
    runs = tmp_path / "outputs"
    shutil.copytree(FIXTURES, runs)
    rag = read_manifest(runs / "v1-rag")
    assert rag.schema_version == 2 and rag.method_settings["rag"]["k"] == 4 and rag.status == "complete"
    dep = read_manifest(runs / "v1-dep")
    assert dep.dep.best_val_ce == 3.21 and dep.abort_reason == "KeyboardInterrupt: "
    assert dep.method_args == {"embedder": "minilm-l6", "ablate": "none", "checkpoint": None, "epochs": 1.0}
    assert "ablate" not in dep.backend_args
    board = score_runs([runs], ScoreConfig(metrics=("rouge",), data=data, bootstrap_resamples=50,
                                           formats=("json",)))
    rows = {r.run_id: r for r in board.groups[0].rows}
    assert set(rows) == {"v1-rag", "v1-dep"} and rows["v1-rag"].coverage == 1.0
    assert rows["v1-dep"].error_rate == 0.25  # its error line is read as an error
    assert json.loads((runs / "v1-rag" / "scores.json").read_text())["schema_version"] == 2


def test_unknown_manifest_fields_are_refused_when_written_and_named_when_read(tmp_path):
    from dpbench.schema import RunSpec

    spec = read_manifest(FIXTURES / "v1-rag")
    with pytest.raises(ValueError, match="abort_resaon"):
        RunSpec(**spec.model_dump(), abort_resaon="typo")
    d = tmp_path / "r"
    d.mkdir()
    (d / "manifest.json").write_text(json.dumps({**spec.model_dump(), "abort_resaon": "typo"}))
    with pytest.raises(DpbenchError, match="abort_resaon"):
        read_manifest(d)


def test_score_files_are_replaced_together_or_not_at_all(tmp_path, monkeypatch):
    d = tmp_path / "run"
    d.mkdir()
    RunStore.write_files(d, {"scores.json": '{"v": 1}', "example_scores.jsonl": "old\n"})
    real_replace = os.replace
    calls = []

    def dying_replace(src, dst):
        calls.append(dst)
        raise KeyboardInterrupt  # killed between writing the new files and the first rename

    monkeypatch.setattr(os, "replace", dying_replace)
    with pytest.raises(KeyboardInterrupt):
        RunStore.write_files(d, {"scores.json": '{"v": 2}', "example_scores.jsonl": "new\n"})
    monkeypatch.setattr(os, "replace", real_replace)
    assert (d / "scores.json").read_text() == '{"v": 1}' and (d / "example_scores.jsonl").read_text() == "old\n"
    assert sorted(p.name for p in d.iterdir()) == ["example_scores.jsonl", "scores.json"]  # no temp left
