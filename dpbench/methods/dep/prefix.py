"""The frozen LLM's keys/values for the prompt tokens every example shares, computed once.

DEP's prompts start with the same tokens (chat header, system prompt, "Past products this user
reviewed ...") before the first soft-prompt slot. Their keys/values depend on nothing that trains,
so they are computed once without grad and every training and val batch continues from them: at the
quickstart's lengths that takes ~41 of ~195 tokens per row out of every step's forward and
backward. The math is the same (the other tokens attend to the same keys at the same positions);
only float rounding differs, and it is the same on every step, so a resumed run stays identical.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Sequence

import torch

from dpbench.methods.dep.precision import autocast

MIN_TOKENS = 8  # below this the bookkeeping costs more than it saves


def cache_kwarg(model) -> str:
    """The forward() argument that takes a KV cache: `cache` since transformers 5.2x, before that
    `past_key_values` (a GPU image may hold either)."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def shared_prefix(prompts: Sequence[Sequence[int]], placeholder_ids: Sequence[int]) -> list[int]:
    """Longest common prefix of the prompts that ends before the first placeholder of any of them."""
    if not prompts:
        return []
    ph = set(placeholder_ids)
    first = prompts[0]
    n = min(len(p) for p in prompts)
    for p in prompts[1:]:
        n = next((i for i in range(n) if p[i] != first[i]), n)
    n = next((i for i in range(n) if first[i] in ph), n)
    return list(first[:n])


class PrefixCache:
    """Keys/values of one fixed token prefix, per compute dtype and device, handed out as a fresh
    cache object per batch (the model appends to it)."""

    def __init__(self, ids: Sequence[int]):
        self.ids = list(ids)
        self._ids_t = torch.tensor(self.ids, dtype=torch.long)
        self._kv: dict[tuple[str, str], object] = {}

    @classmethod
    def from_items(cls, items, placeholder_ids: Sequence[int]) -> PrefixCache | None:
        ids = shared_prefix([it.prompt.prompt_ids for it in items], placeholder_ids)
        return cls(ids) if len(ids) >= MIN_TOKENS else None

    def __len__(self) -> int:
        return len(self.ids)

    def fits(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor | None) -> bool:
        """Every row starts with the prefix, unmasked, and no label falls inside it (or on the
        first token after it, which the prefix's last position predicts)."""
        n = len(self.ids)
        if input_ids.shape[1] <= n + 1:
            return False
        ok = bool((input_ids[:, :n] == self._ids_t.to(input_ids.device)).all()) and bool(attention_mask[:, :n].all())
        return ok and (labels is None or bool((labels[:, : n + 1] == -100).all()))

    def past(self, model, batch_size: int, dtype: torch.dtype, device) -> object:
        """A cache object holding the prefix's keys/values for `batch_size` rows."""
        key = (str(dtype), str(device))
        if key not in self._kv:
            ids = self._ids_t.to(device)[None]
            with torch.no_grad(), autocast(device, dtype):
                out = model(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=True,
                            position_ids=torch.arange(len(self.ids), device=device)[None])
            self._kv[key] = getattr(out, "cache", None) or out.past_key_values
        past = copy.deepcopy(self._kv[key])
        if batch_size > 1:
            past.batch_repeat_interleave(batch_size)
        return past
