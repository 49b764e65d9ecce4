"""bf16 autocast and the shared-prefix KV cache: the choice of dtype, and that both compute the same
loss and gradients as the plain fp32 pass (exactly where they must, closely where rounding differs)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from dpbench.methods.dep import precision
from dpbench.methods.dep.batches import LossWeights, batch_loss, collate_train
from dpbench.methods.dep.model import DepModule, DepModuleConfig
from dpbench.methods.dep.prefix import PrefixCache, shared_prefix
from dpbench.methods.dep.train import TrainSettings, evaluate_loss, train_dep
from dpbench.recipes import DepRecipe
from tests.dep.helpers import tiny_items, tiny_training_setup


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    data, tok, ph, llm = tiny_training_setup(tmp_path_factory.mktemp("bench"), n_targets=4)
    return tok, ph, llm, tiny_items(data, tok, "train", n_slots=4)


def _module():
    torch.manual_seed(0)
    return DepModule(DepModuleConfig(dim=16, hidden=32, n_slots=4))


def _loss_and_grad(setup, dtype, prefix, items=None):
    tok, ph, llm, train = setup
    m = _module()
    batch = collate_train(items or train[:4], tok.pad_token_id, ph, "cpu")
    loss, parts = batch_loss(m, llm, batch, ph, LossWeights(), dtype=dtype, prefix=prefix)
    loss.backward()
    return parts["ce"], torch.cat([p.grad.flatten() for p in m.parameters()])


def test_shared_prefix_stops_at_first_difference_and_first_placeholder():
    assert shared_prefix([[1, 2, 3, 9, 4], [1, 2, 3, 9, 5]], [9]) == [1, 2, 3]
    assert shared_prefix([[1, 2, 3, 4, 9], [1, 2, 7, 4, 9]], [9]) == [1, 2]
    assert shared_prefix([[5, 9, 1]], [9, 8]) == [5]
    assert shared_prefix([], [9]) == []


def test_prefix_cache_gives_the_same_loss_and_gradients(setup):
    tok, ph, llm, train = setup
    prefix = PrefixCache.from_items(train, ph)
    # the tiny prompts share "Past products ... reviewers):\n-" before the first slot
    assert prefix is not None and len(prefix) >= 8
    assert tok.decode(prefix.ids).startswith("Past products")
    ce0, g0 = _loss_and_grad(setup, "float32", None)
    ce1, g1 = _loss_and_grad(setup, "float32", prefix)
    assert ce1 == pytest.approx(ce0, abs=1e-5)
    assert torch.allclose(g1, g0, atol=1e-5, rtol=1e-4)
    assert len(prefix._kv) == 1  # computed once, reused


def test_prefix_that_does_not_fit_falls_back_to_the_plain_pass(setup):
    tok, ph, llm, train = setup
    other = PrefixCache(list(range(3, 13)))  # tokens no row starts with
    batch = collate_train(train[:4], tok.pad_token_id, ph, "cpu")
    assert not other.fits(batch["input_ids"], batch["attention_mask"], batch["labels"])
    assert _loss_and_grad(setup, "float32", other)[0] == _loss_and_grad(setup, "float32", None)[0]
    assert not other._kv


def test_bf16_autocast_runs_and_stays_close(setup):
    llm = setup[2]
    before = {k: v.clone() for k, v in llm.state_dict().items()}
    ce32, g32 = _loss_and_grad(setup, "float32", None)
    ce16, g16 = _loss_and_grad(setup, "bfloat16", None)
    assert ce16 != ce32  # bf16 really ran
    assert ce16 == pytest.approx(ce32, abs=0.05)
    assert float(torch.nn.functional.cosine_similarity(g16, g32, dim=0)) > 0.99
    assert all(v.dtype == torch.float32 and torch.equal(v, before[k]) for k, v in llm.state_dict().items())


def test_resolve_dtype(monkeypatch):
    cpu = torch.device("cpu")
    assert precision.resolve_dtype("float32", cpu) == torch.float32
    assert precision.resolve_dtype("bfloat16", cpu) == torch.bfloat16
    monkeypatch.setattr("dpbench.llm.precision.cpu_has_native_bf16", lambda: False)
    assert precision.resolve_dtype("auto", cpu) == torch.float32
    monkeypatch.setattr("dpbench.llm.precision.cpu_has_native_bf16", lambda: True)
    assert precision.resolve_dtype("auto", cpu) == torch.bfloat16
    half = torch.nn.Linear(2, 2).to(torch.bfloat16)
    assert precision.resolve_dtype("float32", cpu, half) == torch.bfloat16  # weights decide
    with pytest.raises(ValueError, match="auto, float32, bfloat16"):
        precision.resolve_dtype("fp16", cpu)


def test_auto_without_native_bf16_is_exactly_fp32(setup, tmp_path, monkeypatch):
    tok, ph, llm, train = setup
    monkeypatch.setattr("dpbench.llm.precision.cpu_has_native_bf16", lambda: False)
    s = TrainSettings(epochs=1, lr=1e-2, batch_size=4, max_steps=3)
    runs = {}
    for dtype in ("auto", "float32"):
        m = _module()
        res = train_dep(m, llm, train, [], tok.pad_token_id, ph, dataclasses.replace(s, dtype=dtype),
                        tmp_path / dtype / "ck", tmp_path / dtype, torch.device("cpu"))
        runs[dtype] = (m, res)
    assert runs["auto"][1].dtype == runs["float32"][1].dtype == "float32"
    a, b = runs["auto"][0].state_dict(), runs["float32"][0].state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_evaluate_loss_with_and_without_prefix(setup):
    tok, ph, llm, train = setup
    m = _module()
    with_p = evaluate_loss(m, llm, train, tok.pad_token_id, ph, LossWeights(), 4, "cpu", dtype="float32")
    without = evaluate_loss(m, llm, train, tok.pad_token_id, ph, LossWeights(), 4, "cpu", dtype="float32",
                            prefix_cache=False)
    assert with_p["ce"] == pytest.approx(without["ce"], abs=1e-5) and with_p["n_tokens"] == without["n_tokens"]


def test_recipe_field():
    assert DepRecipe().dtype == "auto" and DepRecipe(dtype="float32").dtype == "float32"
    with pytest.raises(ValueError):
        DepRecipe(dtype="fp16")
