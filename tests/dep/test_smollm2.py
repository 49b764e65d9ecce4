"""DEP with the packaged SmolLM2 and MiniLM (slow: real models): trains a few steps and generates."""

from __future__ import annotations

import json

import pytest

from dpbench.recipes import load_recipe
from dpbench.run.config import RunConfig
from dpbench.run.store import read_manifest
from tests.dep.helpers import make_tiny_benchmark


@pytest.mark.slow
def test_dep_smollm2_trains_and_generates(tmp_path):
    from dpbench.run.dep import run_dep

    data = make_tiny_benchmark(tmp_path / "data", n_users=4, n_targets=4)
    recipe = load_recipe("quickstart", overrides={"dep.n_slots": 4, "dep.batch_size": 4, "generation.max_tokens": 8,
                                                   "dep.max_target_tokens": 16})
    cfg = RunConfig(method="dep", data=data, recipe=recipe, model="smollm2-135m", limit=2, out=tmp_path / "out",
                    device="cpu")
    path = run_dep(cfg)
    spec = read_manifest(path)
    assert spec.status == "complete" and spec.n_done == 2 and spec.dep.train_steps == 2
    assert spec.recipe["dep"]["embedder"] == "minilm-l6"
    preds = [json.loads(line) for line in (path / "predictions.jsonl").read_text().splitlines()]
    assert all(p["error"] is None and p["prediction"] and p["usage"]["completion_tokens"] > 0 for p in preds)
    meta = json.loads((path / "checkpoints" / "best" / "dep_config.json").read_text())
    assert meta["module"]["hidden"] == 576 and meta["module"]["dim"] == 384
