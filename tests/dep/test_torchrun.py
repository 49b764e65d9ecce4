"""The README's scale-out command, run exactly as printed: two CPU processes (gloo) train one DEP
module and rank 0 alone writes the run."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
README_COMMAND = "torchrun --standalone --nproc_per_node 2 -m dpbench run --method dep --recipe quickstart --limit 2"


def test_readme_prints_the_command_this_test_runs():
    assert README_COMMAND in (ROOT / "README.md").read_text()


@pytest.mark.slow
def test_torchrun_two_processes_train_one_module_and_rank0_writes_the_run(tmp_path):
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "COLUMNS": "200"}
    build = subprocess.run([str(BIN / "dpbench"), "build-data"], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-2000:]
    proc = subprocess.run(shlex.split(README_COMMAND), cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=1500)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    sums = dict(re.findall(r"rank (\d)/2: trained module parameters sha256 ([0-9a-f]{16})", proc.stderr))
    assert set(sums) == {"0", "1"} and sums["0"] == sums["1"]  # one model: DDP kept the ranks equal
    runs = [d for d in (tmp_path / "outputs").iterdir() if d.is_dir()]
    assert len(runs) == 1  # one run directory, written by rank 0 alone
    manifest = json.loads((runs[0] / "manifest.json").read_text())
    lines = [json.loads(x) for x in (runs[0] / "predictions.jsonl").read_text().splitlines()]
    assert manifest["status"] == "complete" and manifest["n_done"] == 2 and manifest["dep"]["world_size"] == 2
    assert manifest["dep"]["param_checksum"] == sums["0"]
    assert len(lines) == 2 and len({x["example_id"] for x in lines}) == 2 and all(x["error"] is None for x in lines)
    train_rows = [json.loads(x) for x in (runs[0] / "train_log.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in train_rows if r["kind"] == "train"]
    assert steps == list(range(1, len(steps) + 1))  # rank 0 alone logs: no step twice
