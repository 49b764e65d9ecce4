"""DEP module: SAE losses on known tensors, shapes, soft-prompt injection and masked slots."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dpbench.llm.base import Sampling
from dpbench.methods.dep.batches import DepItem, collate_generate
from dpbench.methods.dep.generate import generate_batch
from dpbench.methods.dep.inputs import DepInputs
from dpbench.methods.dep.model import (
    DepModule,
    DepModuleConfig,
    add_placeholder_tokens,
    embed_with_soft_prompts,
    kl_sparsity,
    load_module,
    masked_smooth_l1,
    placeholder_tokens,
    save_module,
)
from dpbench.methods.dep.prompts import EncodedPrompt
from tests.dep.helpers import make_tiny_llm, make_tokenizer


def _kl(rho, r):
    return rho * math.log(rho / r) + (1 - rho) * math.log((1 - rho) / (1 - r))


def test_kl_sparsity_uses_unmasked_slots_only():
    z = torch.tensor([[[0.1, 0.2], [0.3, 0.4], [9.0, 9.0]]])
    mask = torch.tensor([[True, True, False]])
    # rho_hat = [0.2, 0.3]; KL(0.05||0.2) + KL(0.05||0.3) = 0.0939428 + 0.2005249
    got = float(kl_sparsity(z, mask, 0.05))
    assert got == pytest.approx(_kl(0.05, 0.2) + _kl(0.05, 0.3), rel=1e-5)
    assert got == pytest.approx(0.2944677, abs=1e-5)
    # zero when the mean activation equals rho
    assert float(kl_sparsity(torch.full((1, 2, 3), 0.05), torch.ones(1, 2, dtype=torch.bool), 0.05)) == pytest.approx(0, abs=1e-6)


def test_masked_smooth_l1_known_values():
    x = torch.zeros(1, 3, 2)
    recon = torch.tensor([[[0.5, 0.5], [2.0, 2.0], [100.0, 100.0]]])
    mask = torch.tensor([[True, True, False]])
    # smooth-L1 (beta 1): 0.5*0.5^2 = 0.125 and 2 - 0.5 = 1.5; the masked slot is ignored
    assert float(masked_smooth_l1(recon, x, mask)) == pytest.approx((0.125 + 1.5) / 2)


def test_module_shapes_and_interleaving():
    torch.manual_seed(0)
    m = DepModule(DepModuleConfig(dim=8, hidden=6, n_slots=3))
    his, diff = torch.randn(2, 3, 8), torch.randn(2, 3, 8)
    mask = torch.tensor([[True, True, False], [True, False, False]])
    soft, rec, kl = m(his, diff, mask)
    assert soft.shape == (2, 6, 6) and rec.ndim == 0 and kl.ndim == 0
    assert m.sae.encoder[0].weight.shape == (4, 8) and m.sae.decoder[0].weight.shape == (8, 4)
    z_his, _ = m.sae(his)
    z_diff, _ = m.sae(diff)
    assert torch.allclose(soft[:, 0], m.proj_his(z_his[:, 0]), atol=1e-6)
    assert torch.allclose(soft[:, 1], m.proj_diff(z_diff[:, 0]), atol=1e-6)
    assert torch.allclose(soft[:, 4], m.proj_his(z_his[:, 2]), atol=1e-6)


def test_placeholders_are_single_tokens_and_replaced():
    tok = make_tokenizer()
    ids = add_placeholder_tokens(tok, 2)
    assert len(set(ids)) == 4
    enc = tok("good <dep_his_0><dep_diff_0> bad <dep_his_1><dep_diff_1>")["input_ids"]
    assert [i for i in enc if i in ids] == ids
    llm = make_tiny_llm(len(tok) - 4)  # the LLM is never resized
    input_ids = torch.tensor([enc])
    soft = torch.arange(4 * 32, dtype=torch.float32).reshape(1, 4, 32)
    emb = embed_with_soft_prompts(llm, input_ids, ids, soft)
    base = llm.get_input_embeddings()(torch.tensor([[i if i not in ids else 0 for i in enc]]))
    for pos, t in enumerate(enc):
        expect = soft[0, ids.index(t)] if t in ids else base[0, pos]
        assert torch.equal(emb[0, pos], expect)


def _items(tok, ph, n_slots=2, mask=(True, False)):
    # text follows the placeholders, as in DEP's prompt (a masked token's own output is never used)
    pairs = zip(placeholder_tokens(n_slots)[::2], placeholder_tokens(n_slots)[1::2])
    text = "great sound " + " ".join(f"{a}{b}" for a, b in pairs) + " good review"
    ids = tok(text)["input_ids"]
    rng = np.random.default_rng(0)
    items = []
    for k in range(2):
        his = rng.standard_normal((n_slots, 8)).astype(np.float32)
        inp = DepInputs(f"E{k}", his, -his, np.array(mask))
        prompt_ids = ids if k == 0 else tok("bad")["input_ids"] + ids  # two lengths: padding matters
        items.append(DepItem(EncodedPrompt(f"E{k}", prompt_ids, list(mask), False, "h"), inp, []))
    return items


def test_masked_slot_content_has_no_effect_on_generation():
    torch.manual_seed(0)
    tok = make_tokenizer()
    ph = add_placeholder_tokens(tok, 2)
    llm = make_tiny_llm(len(tok) - 4)
    module = DepModule(DepModuleConfig(dim=8, hidden=32, n_slots=2))
    items = _items(tok, ph)
    batch = collate_generate(items, tok.pad_token_id, ph, "cpu")
    # both placeholders of the masked slot 1 are attention-masked; slot 0's are not
    for row in range(2):
        for k, tid in enumerate(ph):
            pos = (batch["input_ids"][row] == tid).nonzero()[0, 0]
            assert int(batch["attention_mask"][row, pos]) == (1 if k < 2 else 0)
    s = Sampling(max_tokens=6)
    out1 = [o.text for o in generate_batch(module, llm, tok, items, ph, s, "cpu")]
    for it in items:
        it.inputs.his[1] += 5.0  # change only the masked slot
        it.inputs.diff[1] -= 3.0
    out2 = [o.text for o in generate_batch(module, llm, tok, items, ph, s, "cpu")]
    assert out1 == out2


def test_batched_generation_matches_one_at_a_time():
    torch.manual_seed(0)
    tok = make_tokenizer()
    ph = add_placeholder_tokens(tok, 2)
    llm = make_tiny_llm(len(tok) - 4)
    module = DepModule(DepModuleConfig(dim=8, hidden=32, n_slots=2))
    items = _items(tok, ph, mask=(True, True))
    s = Sampling(max_tokens=8)
    together = [o.text for o in generate_batch(module, llm, tok, items, ph, s, "cpu")]
    alone = [generate_batch(module, llm, tok, [it], ph, s, "cpu")[0].text for it in items]
    assert together == alone


def test_checkpoint_round_trip(tmp_path):
    torch.manual_seed(1)
    m = DepModule(DepModuleConfig(dim=8, hidden=6, n_slots=2, rho=0.1))
    save_module(m, tmp_path / "ck", {"step": 3})
    m2, meta = load_module(tmp_path / "ck")
    assert meta["step"] == 3 and m2.cfg == m.cfg
    x = torch.randn(1, 2, 8)
    mask = torch.ones(1, 2, dtype=torch.bool)
    for a, b in zip(m(x, -x, mask), m2(x, -x, mask)):
        assert torch.equal(a, b)
    size = sum(p.stat().st_size for p in (tmp_path / "ck").iterdir())
    assert size < 100_000  # the module only, never the LLM
