"""Output health: is a text a review, or a decoding failure that no overlap metric should be read for?

A weak or mis-set model loops, echoes its prompt, stops at once or talks about the task; ROUGE then
measures that, not personalization. Each prediction (and each intermediate a method wrote: DPL's
differences and summary, PAG's profile) gets these flags, defined so that a test can hold them to
labelled examples (docs/health.md):

- empty: no word characters after clean-up.
- cut: the generation stopped at max_tokens (finish_reason "length"); unknown (not counted) for runs
  that did not record it.
- loop: a repetition loop, any of
    (a) at least 8 words and rep-4 >= 0.30, where rep-4 = 1 - distinct 4-grams / all 4-grams of the
        lowercased words (Welleck et al.'s repetition measure; natural reviews score ~0);
    (b) a sentence of at least 3 words that occurs 3 or more times;
    (c) one word 6 or more times in a row.
- echo: the prompt comes back instead of a review, either
    (a) a template marker of the prompt ("[Item Title]", "## Past reviews", ...) in the raw output, or
    (b) at least 10 words and half of them covered by 10-word spans copied verbatim from the prompt.
- meta: text about the task rather than the review: a preamble ("The review text is:", "Here is the
  review"), a refusal or an assistant voice ("As an AI", "I'm sorry", "I cannot").

A run is flagged `unhealthy` when the share of its examples that are empty, loops or echoes exceeds
the threshold (recipe `score.health_threshold`, default 10%): its scores then say more about decoding
than about the method.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")

# Field labels and section headers of every prompt template dpbench sends (methods/prompts.py,
# methods/dep/prompts.py): a review never contains them.
TEMPLATE_MARKERS = (
    "[item title]", "[item description]", "[rating]:", "[review title]", "[review]:", "[past review",
    "[output review", "[other user", "[differences on", "## past reviews", "## target", "## user profile",
    "## item", "## this user's review", "## other users' reviews", "## differences from other users",
    "past products this user reviewed", "write this user's review text", "<dep_his_", "<dep_diff_",
    # the chat style (methods/prompts_chat.py MARKERS)
    "reviews this customer wrote before", "write the customer's review", "now the customer rates",
    "how this customer differs from the others", "describe this customer as a reviewer",
)
META_PATTERNS = re.compile(
    # a preamble about the output, at the start
    r"^\W{0,4}(?:the (?:review|output)(?: text)? (?:is|would be)\b|here(?: is|'s) (?:the|a|my|your) ?"
    r"(?:review|response|output|rewritten|generated)|(?:sure|certainly)[!,.]\s|review text:)"
    # a refusal or an assistant's voice
    r"|^\W{0,4}(?:i'?m sorry|i apologi[sz]e)\b[, ]+(?:but )?i\b"
    r"|^\W{0,4}i can(?:not|'t) (?:write|help|provide|assist|create|generate|do that)\b"
    r"|\bas an ai(?: language)? model\b|\bi (?:don't|do not) have (?:personal )?(?:experiences?|opinions)\b"
    r"|\bthis (?:user|reviewer) would write\b"
    # an assistant talking to whoever asked, or about the customer and their review, instead of writing it
    r"|^\W{0,4}i'?m (?:so |very )?(?:glad|happy|thrilled) (?:to hear )?(?:that )?you(?:'re| are)? "
    r"(?:enjoy|found|like|lov)"
    r"|\bi'?ll (?:just )?add (?:a few|some) (?:more )?sentences\b|\bhere(?: is|'s) (?:the|a) (?:rewritten|customer)\b"
    r"|^\W{0,4}(?:a|the) customer(?:'s)? (?:wrote|review)|\bthe customer(?:'s)? reviews?(?: text)?\b",
    re.IGNORECASE,
)


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def rep_n(tokens: list[str], n: int = 4) -> float:
    grams = [tuple(tokens[i: i + n]) for i in range(len(tokens) - n + 1)]
    return 1.0 - len(set(grams)) / len(grams) if grams else 0.0


def is_loop(text: str) -> bool:
    tokens = words(text)
    if len(tokens) >= 8 and rep_n(tokens, 4) >= 0.30:
        return True
    sentences = Counter(" ".join(words(s)) for s in SENTENCE_SPLIT.split(text) if len(words(s)) >= 3)
    if sentences and max(sentences.values()) >= 3:
        return True
    run = 1
    for a, b in zip(tokens, tokens[1:]):
        run = run + 1 if a == b else 1
        if run >= 6:
            return True
    return False


def copied_share(output_tokens: list[str], prompt_tokens: list[str], n: int = 10) -> float:
    """Share of the output's words covered by n-word spans that occur verbatim in the prompt."""
    if len(output_tokens) < n or len(prompt_tokens) < n:
        return 0.0
    prompt_grams = {tuple(prompt_tokens[i: i + n]) for i in range(len(prompt_tokens) - n + 1)}
    covered = [False] * len(output_tokens)
    for i in range(len(output_tokens) - n + 1):
        if tuple(output_tokens[i: i + n]) in prompt_grams:
            covered[i: i + n] = [True] * n
    return sum(covered) / len(output_tokens)


def is_echo(raw: str, prompt: str = "") -> bool:
    low = raw.lower()
    if any(m in low for m in TEMPLATE_MARKERS):
        return True
    out = words(raw)
    return len(out) >= 10 and copied_share(out, words(prompt)) >= 0.5


def is_meta(raw: str) -> bool:
    return bool(META_PATTERNS.search(raw))


def is_empty(text: str) -> bool:
    return not WORD.search(text.lower())


@dataclass(frozen=True)
class TextHealth:
    empty: bool
    loop: bool
    echo: bool
    meta: bool
    cut: bool | None = None  # None = unknown (the run did not record finish reasons)

    @property
    def degenerate(self) -> bool:
        """What makes a text unusable as evidence: empty, a loop or an echo."""
        return self.empty or self.loop or self.echo

    def flags(self) -> list[str]:
        return [k for k in ("empty", "cut", "loop", "echo", "meta") if getattr(self, k)]


def text_health(text: str, raw: str | None = None, prompt: str = "", finish_reason: str | None = None) -> TextHealth:
    """Flags of one output. `text` is the cleaned prediction, `raw` what the model wrote (echo and meta
    are judged on it), `prompt` the text it was given, `finish_reason` the engine's stop reason."""
    raw = text if raw is None else raw
    cut = None if finish_reason is None else finish_reason == "length"
    return TextHealth(empty=is_empty(text), loop=not is_empty(text) and is_loop(raw or text),
                      echo=is_echo(raw, prompt), meta=is_meta(raw), cut=cut)


@dataclass
class HealthRates:
    """Rates over n texts (each rate: share of texts with the flag; `cut` over the texts that recorded it)."""

    n: int = 0
    counts: Counter = field(default_factory=Counter)
    n_cut_known: int = 0

    def add(self, h: TextHealth) -> None:
        self.n += 1
        for k in ("empty", "loop", "echo", "meta"):
            self.counts[k] += getattr(h, k)
        self.counts["degenerate"] += h.degenerate
        if h.cut is not None:
            self.n_cut_known += 1
            self.counts["cut"] += h.cut

    def rate(self, key: str) -> float | None:
        if key == "cut":
            return self.counts["cut"] / self.n_cut_known if self.n_cut_known else None
        return self.counts[key] / self.n if self.n else None

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, **{k: self.rate(k) for k in ("empty", "cut", "loop", "echo", "meta", "degenerate")}}
