"""benchmarks/dep_gpu.sh, the device check kept for GPU machines, run here on CPU so it cannot rot:
with only torch/transformers/numpy importable (what a bare GPU image has) its checks pass, and a
failing check or an unusable device exits non-zero."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
# dpbench dependencies a bare torch + transformers image may lack: the check must not need them
BLOCKED = ("duckdb", "pydantic", "sentence_transformers", "matplotlib", "polars", "rich", "typer", "datasets",
           "accelerate", "openai", "tenacity", "nltk", "rouge_score", "sacrebleu", "bert_score", "gguf", "pandas",
           "pyarrow", "sklearn")
CHECKS = ["train_finite_and_dropping", "llm_bit_identical", "checkpoint_reload", "batched_generation"]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    site = tmp_path_factory.mktemp("site")
    (site / "sitecustomize.py").write_text(f"import sys\nfor _n in {BLOCKED!r}:\n    sys.modules[_n] = None\n")
    return {**os.environ, "PYTHON": sys.executable, "PYTHONPATH": str(site), "HF_HUB_OFFLINE": "1"}


def _run(env, cwd, *args):
    return subprocess.run(["bash", str(ROOT / "benchmarks" / "dep_gpu.sh"), "--device", "cpu", *args],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def test_blocker_really_hides_packages(env):
    p = subprocess.run([sys.executable, "-c", "import duckdb"], env=env, capture_output=True, text=True)
    assert p.returncode != 0 and "duckdb" in p.stderr


def test_cpu_run_passes_every_check(env, tmp_path):
    out = tmp_path / "report.json"
    p = _run(env, tmp_path, "--json", str(out))
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    rep = json.loads(out.read_text())
    assert rep["ok"] is True and [c["name"] for c in rep["checks"]] == CHECKS
    assert all(c["ok"] for c in rep["checks"])
    for name in CHECKS:
        assert f"PASS {name}:" in p.stdout
    m = rep["metrics"]
    assert m["ce_after"] < m["ce_before"] - 0.05
    assert m["train_steps_per_s"] > 0 and m["train_tokens_per_s"] > 0 and m["gen_tokens_per_s_batched"] > 0
    assert m["gen_tokens"] == 8 * 8 and m["gen_batched_agreement"] == 1.0  # 8 prompts x 8 tokens, fp32 LLM
    assert rep["env"]["torch"] == torch.__version__ and rep["env"]["device"] == "cpu"
    assert m["train_dtype"] == ("bfloat16" if rep["env"]["bf16_native"] else "float32")
    assert "ALL PASSED (4/4)" in p.stdout


def test_a_failing_check_exits_non_zero(env, tmp_path):
    out = tmp_path / "report.json"
    p = _run(env, tmp_path, "--steps", "2", "--min-ce-drop", "1000", "--json", str(out))
    assert p.returncode == 1, p.stdout[-2000:]
    rep = json.loads(out.read_text())
    assert rep["ok"] is False and not rep["checks"][0]["ok"]
    assert "FAIL train_finite_and_dropping:" in p.stdout and "SOME CHECKS FAILED (3/4)" in p.stdout


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_requested_without_cuda_is_a_setup_failure(env, tmp_path):
    p = subprocess.run(["bash", str(ROOT / "benchmarks" / "dep_gpu.sh"), "--device", "cuda"], capture_output=True,
                       text=True, env=env, cwd=tmp_path, timeout=300)
    assert p.returncode == 2 and "FAIL setup: RuntimeError: --device cuda but torch" in p.stdout
