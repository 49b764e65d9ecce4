"""DEP training with a tiny random Llama: frozen LLM, loss drops, determinism, resume after a kill."""

from __future__ import annotations

import json

import pytest
import torch

from dpbench.methods.dep.batches import LossWeights
from dpbench.methods.dep.model import (
    WEIGHTS_FILE,
    DepModule,
    DepModuleConfig,
)
from dpbench.methods.dep.train import (
    DONE_FILE,
    PLOT_FILE,
    TrainSettings,
    evaluate_loss,
    train_dep,
)
from tests.dep.helpers import tiny_items, tiny_training_setup


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    data, tok, ph, llm = tiny_training_setup(tmp_path_factory.mktemp("bench"), n_targets=6)
    train = tiny_items(data, tok, "train", n_slots=4)
    val = tiny_items(data, tok, "val", n_slots=4)
    return tok, ph, llm, train, val


def _module(seed=0):
    torch.manual_seed(seed)
    return DepModule(DepModuleConfig(dim=16, hidden=32, n_slots=4))


def _train(setup, tmp, settings, items=None, on_step=None):
    tok, ph, llm, train, val = setup
    m = _module()
    res = train_dep(m, llm, items or train, val, tok.pad_token_id, ph, settings, tmp / "ck", tmp, torch.device("cpu"),
                    on_step)
    return m, res


def test_llm_frozen_bit_identical(setup, tmp_path):
    llm = setup[2]
    before = {k: v.clone() for k, v in llm.state_dict().items()}
    m0 = _module()
    m, res = _train(setup, tmp_path, TrainSettings(epochs=1, lr=1e-2, batch_size=4))
    assert res.steps == 6  # 6 users x 4 train examples / batch 4
    assert all(not p.requires_grad for p in llm.parameters())
    after = llm.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert any(not torch.equal(a, b) for a, b in zip(m0.parameters(), m.parameters()))
    rows = [json.loads(line) for line in res.log_path.read_text().splitlines()]
    assert [r["step"] for r in rows if r["kind"] == "train"] == list(range(1, 7))
    assert any(r["kind"] == "val" for r in rows)
    assert (tmp_path / PLOT_FILE).stat().st_size > 1000
    assert (tmp_path / "ck" / DONE_FILE).exists() and (tmp_path / "ck" / "best" / WEIGHTS_FILE).exists()


def test_loss_drops_on_fixed_batch(setup, tmp_path):
    tok, ph, llm, train, _ = setup
    batch = train[:4]
    w = LossWeights()
    m0 = _module()
    before = evaluate_loss(m0, llm, batch, tok.pad_token_id, ph, w, 4, "cpu")
    s = TrainSettings(epochs=40, lr=1e-2, batch_size=4, warmup_ratio=0.0)
    m, res = _train(setup, tmp_path, s, items=batch)
    after = evaluate_loss(m, llm, batch, tok.pad_token_id, ph, w, 4, "cpu")
    assert res.steps == 40
    assert after["ce"] < before["ce"] - 0.5, (before, after)
    assert after["recon"] < before["recon"]


def test_seeded_training_is_deterministic(setup, tmp_path):
    s = TrainSettings(epochs=1, lr=1e-2, batch_size=4, max_steps=3)
    a, _ = _train(setup, tmp_path / "a", s)
    b, _ = _train(setup, tmp_path / "b", s)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


class Killed(Exception):
    pass


def test_resume_after_kill_matches_uninterrupted(setup, tmp_path):
    s = TrainSettings(epochs=2, lr=1e-2, batch_size=4, grad_accum=2, save_every_steps=1)
    full, res_full = _train(setup, tmp_path / "full", s)

    def die(step, total, row):
        if step == 4:
            raise Killed

    with pytest.raises(Killed):
        _train(setup, tmp_path / "kill", s, on_step=die)
    assert not (tmp_path / "kill" / "ck" / DONE_FILE).exists()
    resumed, res = _train(setup, tmp_path / "kill", s)  # a fresh module: everything comes from the checkpoint
    assert res.steps == res_full.steps == 6
    for x, y in zip(full.state_dict().values(), resumed.state_dict().values()):
        assert torch.allclose(x, y, atol=1e-6)
    steps = [json.loads(line)["step"] for line in res.log_path.read_text().splitlines()
             if json.loads(line)["kind"] == "train"]
    assert steps == list(range(1, 7))
