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


@pytest.mark.slow
def test_smollm2_prefix_cache_and_bf16_match_fp32(tmp_path):
    """The shared-prefix cache and bf16 autocast on the real model: same CE (fp32: to rounding) and
    gradients pointing the same way, on real DEP prompts."""
    import torch

    from dpbench.methods.dep.batches import LossWeights, batch_loss, collate_train
    from dpbench.methods.dep.model import DepModule, DepModuleConfig, add_placeholder_tokens, freeze
    from dpbench.methods.dep.prefix import PrefixCache
    from dpbench.models import load_causal_lm
    from tests.dep.helpers import tiny_items

    llm, tok = load_causal_lm("smollm2-135m", device="cpu")
    freeze(llm)
    ph = add_placeholder_tokens(tok, 4)
    items = tiny_items(make_tiny_benchmark(tmp_path / "data", n_users=4, n_targets=4), tok, "train", n_slots=4)[:4]
    prefix = PrefixCache.from_items(items, ph)
    assert prefix is not None and len(prefix) >= 30  # chat header + system prompt + first line
    batch = collate_train(items, tok.pad_token_id, ph, "cpu")
    torch.manual_seed(0)
    module = DepModule(DepModuleConfig(dim=16, hidden=576, n_slots=4))
    out = {}
    for name, dtype, p in (("fp32", "float32", None), ("fp32+prefix", "float32", prefix),
                           ("bf16+prefix", "bfloat16", prefix)):
        module.zero_grad()
        loss, parts = batch_loss(module, llm, batch, ph, LossWeights(0.0, 0.0), dtype=dtype, prefix=p)
        loss.backward()
        out[name] = (parts["ce"], torch.cat([q.grad.flatten() for q in module.parameters() if q.grad is not None]))
    ce, g = out["fp32"]
    cos = {k: float(torch.nn.functional.cosine_similarity(v[1], g, dim=0)) for k, v in out.items()}
    assert abs(out["fp32+prefix"][0] - ce) < 1e-4 and cos["fp32+prefix"] > 0.9999
    assert abs(out["bf16+prefix"][0] - ce) < 0.02 and cos["bf16+prefix"] > 0.99, (out["bf16+prefix"][0], ce, cos)
