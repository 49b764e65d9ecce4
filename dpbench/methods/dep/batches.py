"""Tensors for DEP: one `DepItem` per example, collated into right-padded training batches or
left-padded generation batches, and the loss of a batch through the frozen LLM."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from dpbench.methods.dep.inputs import DepInputs
from dpbench.methods.dep.model import embed_with_soft_prompts, position_ids_from_mask
from dpbench.methods.dep.precision import autocast, resolve_dtype
from dpbench.methods.dep.prefix import PrefixCache, cache_kwarg
from dpbench.methods.dep.prompts import EncodedPrompt


@dataclass
class DepItem:
    prompt: EncodedPrompt
    inputs: DepInputs
    target_ids: list[int]  # reference tokens + eos (empty when only generating)


@dataclass(frozen=True)
class LossWeights:
    recon_weight: float = 100.0
    kl_weight: float = 1e-3


def encode_target(tokenizer, text: str, max_tokens: int) -> list[int]:
    ids = tokenizer(" ".join(text.split()), add_special_tokens=False)["input_ids"][:max_tokens]
    return list(ids) + [tokenizer.eos_token_id]


def _slot_tensors(items: list[DepItem], device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    his = torch.from_numpy(np.stack([it.inputs.his for it in items])).to(device)
    diff = torch.from_numpy(np.stack([it.inputs.diff for it in items])).to(device)
    mask = torch.from_numpy(np.stack([it.inputs.mask for it in items])).to(device)
    return his, diff, mask


def _mask_off_slots(ids: torch.Tensor, attn: torch.Tensor, mask: torch.Tensor, placeholder_ids: list[int]) -> None:
    """Zero the attention of both placeholders (HIS, DIFF) of every masked slot, in place."""
    for k in range(mask.shape[1]):
        off = ~mask[:, k]
        if not off.any():
            continue
        for tok in placeholder_ids[2 * k: 2 * k + 2]:
            attn[(ids == tok) & off[:, None]] = 0


def collate_train(items: list[DepItem], pad_id: int, placeholder_ids: list[int], device) -> dict:
    """Right-padded prompt+target; labels are -100 on the prompt and the padding."""
    seqs = [it.prompt.prompt_ids + it.target_ids for it in items]
    length = max(len(s) for s in seqs)
    ids = torch.full((len(items), length), pad_id, dtype=torch.long)
    attn = torch.zeros((len(items), length), dtype=torch.long)
    labels = torch.full((len(items), length), -100, dtype=torch.long)
    for i, (it, s) in enumerate(zip(items, seqs)):
        ids[i, : len(s)] = torch.tensor(s)
        attn[i, : len(s)] = 1
        p = len(it.prompt.prompt_ids)
        labels[i, p: len(s)] = torch.tensor(it.target_ids)
    his, diff, mask = _slot_tensors(items, "cpu")
    _mask_off_slots(ids, attn, mask, placeholder_ids)
    out = {"input_ids": ids, "attention_mask": attn, "labels": labels, "his": his, "diff": diff, "mask": mask}
    return {k: v.to(device) for k, v in out.items()}


def collate_generate(items: list[DepItem], pad_id: int, placeholder_ids: list[int], device) -> dict:
    """Left-padded prompts, so generation continues right after each prompt."""
    length = max(len(it.prompt.prompt_ids) for it in items)
    ids = torch.full((len(items), length), pad_id, dtype=torch.long)
    attn = torch.zeros((len(items), length), dtype=torch.long)
    for i, it in enumerate(items):
        s = it.prompt.prompt_ids
        ids[i, length - len(s):] = torch.tensor(s)
        attn[i, length - len(s):] = 1
    his, diff, mask = _slot_tensors(items, "cpu")
    _mask_off_slots(ids, attn, mask, placeholder_ids)
    out = {"input_ids": ids, "attention_mask": attn, "his": his, "diff": diff, "mask": mask}
    return {k: v.to(device) for k, v in out.items()}


def batch_loss(module, llm, batch: dict, placeholder_ids: list[int], weights: LossWeights, *,
               dtype: str = "auto", prefix: PrefixCache | None = None) -> tuple[torch.Tensor, dict[str, float]]:
    """loss = CE(reference) + recon_weight * (recon + kl_weight * KL). Returns (loss, parts).

    dtype: the LLM pass's precision (precision.py); prefix: shared-prefix keys/values to reuse when
    every row starts with them (prefix.py)."""
    soft, rec, kl = module(batch["his"], batch["diff"], batch["mask"])
    embeds = embed_with_soft_prompts(llm, batch["input_ids"], placeholder_ids, soft)
    attn = batch["attention_mask"]
    labels = batch["labels"]
    compute = resolve_dtype(dtype, embeds.device, llm)
    if prefix is not None and not prefix.fits(batch["input_ids"], attn, labels):
        prefix = None
    with autocast(embeds.device, compute):
        ce = target_cross_entropy(llm, embeds, attn, labels, prefix=prefix, dtype=compute)
    loss = ce + weights.recon_weight * (rec + weights.kl_weight * kl)
    n_tok = int((labels[:, 1:] != -100).sum())
    return loss, {"loss": loss.item(), "ce": ce.item(), "recon": rec.item(), "kl": kl.item(), "n_tokens": n_tok}


def target_cross_entropy(llm, embeds: torch.Tensor, attn: torch.Tensor, labels: torch.Tensor,
                         prefix: PrefixCache | None = None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Mean next-token CE over labelled positions. The LM head runs only on the positions that
    predict a target token (a few dozen per row instead of the whole prompt): with a 49k vocabulary
    that is most of the step's cost on CPU. With `prefix` (its tokens opening every row, no label
    among them) the LLM continues from its cached keys/values instead of recomputing them."""
    pos = position_ids_from_mask(attn)
    base = getattr(llm, getattr(llm, "base_model_prefix", ""), None)
    head = llm.get_output_embeddings()
    whole = base is None or head is None or base is llm
    model = llm if whole else base
    n, extra = 0, {"use_cache": False}
    if prefix is not None:
        n = len(prefix)
        extra = {"use_cache": True, cache_kwarg(model): prefix.past(model, embeds.shape[0], dtype, embeds.device)}
    shifted = labels[:, n + 1:]
    keep = shifted != -100
    out = model(inputs_embeds=embeds[:, n:], attention_mask=attn, position_ids=pos[:, n:], **extra)
    if whole:
        return F.cross_entropy(out.logits[:, :-1][keep].float(), shifted[keep])
    logits = head(out.last_hidden_state[:, :-1][keep])
    return F.cross_entropy(logits.float(), shifted[keep])
