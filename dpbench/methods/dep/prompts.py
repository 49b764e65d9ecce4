"""DEP's prompt: the target item and rating/title, the user's covered past items, each followed by
its HIS and DIFF placeholder tokens (2*n_slots in all, always present: masked slots keep theirs
and are attention-masked, so slot k is always the same token at the same place in the template).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dpbench.methods.dep.inputs import DepInputs
from dpbench.methods.dep.model import DIFF_TOKEN, HIS_TOKEN

if TYPE_CHECKING:  # types only: importing them pulls in duckdb, which a bare GPU image may lack
    from dpbench.data.examples import Example

SYSTEM = "You write product reviews in the voice of a specific user."


@dataclass
class EncodedPrompt:
    example_id: str
    prompt_ids: list[int]
    slot_mask: list[bool]  # per slot (n_slots)
    truncated: bool
    prompt_hash: str


def _cut(text: str, n: int | None) -> str:
    text = " ".join(text.split())
    return text if n is None or len(text) <= n else text[: max(0, n - 3)].rstrip() + "..."


def render_prompt(example: Example, inputs: DepInputs, n_slots: int, desc_chars: int | None,
                  title_chars: int = 80) -> str:
    lines = ["Past products this user reviewed (with the user's style and how they differ from other reviewers):"]
    for k in range(n_slots):
        ph = HIS_TOKEN.format(k=k) + DIFF_TOKEN.format(k=k)
        if k < len(inputs.slots):
            h = inputs.slots[k]
            lines.append(f"- {_cut(h.item.title, title_chars)} ({h.review.rating:g} stars): {ph}")
        else:
            lines.append(f"- {ph}")  # masked slot: tokens present, attention-masked
    lines.append("")
    lines.append(f"Product: {_cut(example.item.title, title_chars)}")
    desc = _cut(example.item.description, desc_chars)
    if desc:
        lines.append(f"Description: {desc}")
    lines.append(f"Rating: {example.rating:g} stars")
    lines.append(f"Review title: {example.review_title}")
    lines.append("Write this user's review text for the product.")
    return "\n".join(lines)


def to_token_ids(tokenizer, text: str) -> list[int]:
    """Chat template when the tokenizer has one (instruct models), plain text otherwise."""
    if getattr(tokenizer, "chat_template", None):
        msgs = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": text}]
        ids = tokenizer.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True)
        if isinstance(ids, dict) or hasattr(ids, "input_ids"):
            ids = ids["input_ids"]
        return list(ids)
    return list(tokenizer(text + "\nReview:", add_special_tokens=True)["input_ids"])


def encode_prompt(tokenizer, example: Example, inputs: DepInputs, n_slots: int, max_tokens: int,
                  desc_chars: int | None) -> EncodedPrompt:
    """Tokenized prompt within max_tokens: the description shrinks first (halving), then goes."""
    truncated = False
    chars = desc_chars
    for attempt in range(8):
        text = render_prompt(example, inputs, n_slots, chars, title_chars=80 if attempt < 6 else 30)
        ids = to_token_ids(tokenizer, text)
        if len(ids) <= max_tokens:
            break
        truncated = True
        length = len(" ".join(example.item.description.split()))
        chars = max(0, (chars if chars is not None else length) // 2)
        if attempt >= 4:
            chars = 0
    if len(ids) > max_tokens:
        raise ValueError(f"DEP prompt for {example.example_id} needs {len(ids)} tokens even without the "
                         f"description; raise [dep] max_prompt_tokens (now {max_tokens})")
    h = hashlib.sha256(text.encode()).hexdigest()[:16]
    return EncodedPrompt(example.example_id, ids, [bool(m) for m in inputs.mask], truncated, h)
