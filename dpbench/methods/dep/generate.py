"""Batched generation from soft prompts with plain transformers: generate(inputs_embeds=...).

No patched inference engine: the placeholder positions of the left-padded prompts get the projected
vectors, masked slots are attention-masked, and transformers derives position ids from the
attention mask exactly as training does (model.position_ids_from_mask).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from dpbench.llm.base import Sampling
from dpbench.llm.decoding import FrequencyPresencePenalty, cut_at_stop
from dpbench.methods.dep.batches import DepItem, collate_generate
from dpbench.methods.dep.model import embed_with_soft_prompts
from dpbench.methods.dep.precision import autocast, llm_dtype, resolve_dtype


@dataclass
class GenOutput:
    example_id: str
    text: str
    prompt_tokens: int
    completion_tokens: int


def decoding_kwargs(settings: Sampling, tokenizer) -> dict:
    """The decoding controls as transformers' own generate arguments (llm/decoding.py); with
    inputs_embeds the processors see the generated tokens only."""
    out: dict = {}
    if settings.repetition_penalty != 1.0:
        out["repetition_penalty"] = settings.repetition_penalty
    if settings.no_repeat_ngram_size:
        out["no_repeat_ngram_size"] = settings.no_repeat_ngram_size
    if settings.frequency_penalty or settings.presence_penalty:
        from transformers import LogitsProcessorList

        out["logits_processor"] = LogitsProcessorList([FrequencyPresencePenalty(
            settings.frequency_penalty, settings.presence_penalty, prompt_len=0)])
    if settings.stop:
        out.update(stop_strings=list(settings.stop), tokenizer=tokenizer)
    return out


@torch.no_grad()
def generate_batch(module, llm, tokenizer, items: list[DepItem], placeholder_ids: list[int],
                   settings: Sampling, device, *, dtype: str = "float32") -> list[GenOutput]:
    """Greedy when temperature is 0, else seeded nucleus sampling (seed reset per batch, so a
    resumed run draws the same samples for the same batch).

    dtype "float32" generates in the LLM's own dtype (as before); "bfloat16"/"auto" put an fp32
    LLM under bf16 autocast (precision.py), which can change greedy choices."""
    module.eval()
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    batch = collate_generate(items, pad_id, placeholder_ids, device)
    soft, _, _ = module(batch["his"], batch["diff"], batch["mask"])
    embeds = embed_with_soft_prompts(llm, batch["input_ids"], placeholder_ids, soft)
    kwargs = {"max_new_tokens": settings.max_tokens, "pad_token_id": pad_id,
              "eos_token_id": tokenizer.eos_token_id}
    if settings.temperature > 0:
        torch.manual_seed(settings.seed)
        kwargs.update(do_sample=True, temperature=settings.temperature, top_p=settings.top_p)
    else:
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    kwargs.update(decoding_kwargs(settings, tokenizer))
    compute = resolve_dtype(dtype, embeds.device, llm)
    with autocast(embeds.device, compute if llm_dtype(llm) == torch.float32 else torch.float32):
        out = llm.generate(inputs_embeds=embeds, attention_mask=batch["attention_mask"], **kwargs)
    results = []
    for it, row in zip(items, out):
        toks = row.tolist()
        # only new tokens come back with inputs_embeds; cut at the first eos/pad
        n = len(toks)
        for j, t in enumerate(toks):
            if t == tokenizer.eos_token_id or t == pad_id:
                n = j
                break
        text = tokenizer.decode(toks[:n], skip_special_tokens=True)
        if settings.stop:
            text = cut_at_stop(text, settings.stop)[0]
        text = text.strip()
        results.append(GenOutput(it.prompt.example_id, text, len(it.prompt.prompt_ids), n))
    return results
