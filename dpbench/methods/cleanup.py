"""Output clean-up: models often echo the prompt's field label or wrap the review in quotes.

The cleaned text is the prediction; the raw text is always kept beside it (PredictionRecord.raw).
"""

from __future__ import annotations

import re

# "[Review]:", "Review:", "**Review:**", "Review text:", "[Output Review]:" at the very start
_PREFIX = re.compile(
    r"^\s*(?:\*\*|#+\s*)?\[?\s*(?:output\s+)?review(?:\s+text)?\s*\]?\s*:\s*(?:\*\*)?\s*", re.IGNORECASE
)
# "The review text is:", "Here is the review:", "Here's a review for this item:", "Sure! Here is ...:"
_PREAMBLE = re.compile(
    r"^\s*(?:(?:sure|certainly|of course)[!,.]\s*)?(?:the (?:review|output)(?: text)? (?:is|would be)"
    r"|here(?: is|'s) (?:the|a|my|your) (?:\w+ ){0,2}(?:review|response|output)\b[^:\n]{0,60})\s*:\s*",
    re.IGNORECASE,
)
_QUOTES = [('"', '"'), ("'", "'"), ("\u201c", "\u201d")]


def strip_prefix(text: str) -> str:
    return _PREFIX.sub("", text, count=1)


def strip_preamble(text: str) -> str:
    """Drop a leading sentence about the output ("The review text is:", "Here is the review:")."""
    return _PREAMBLE.sub("", text, count=1)


def strip_quotes(text: str) -> str:
    """Remove one pair of quotes wrapping the whole text (not quotes inside it)."""
    for left, right in _QUOTES:
        if len(text) >= 2 and text.startswith(left) and text.endswith(right):
            inner = text[1:-1]
            if left not in inner and right not in inner:
                return inner.strip()
    return text


def drop_echoed_prompt(text: str) -> str:
    """Small models often echo the prompt's target block ("[Item Title]: ... [Review]:") before (or
    instead of) the review: keep only what follows the last "[Review]:" label ("" when nothing does)."""
    if "[Review]:" in text and not text.lstrip().startswith("[Review]:"):
        return text.rsplit("[Review]:", 1)[1]
    return text


def clean_output(raw: str) -> str:
    text = drop_echoed_prompt(raw.strip())
    text = strip_preamble(strip_prefix(text).strip()).strip()
    text = strip_prefix(text).strip()
    text = strip_quotes(text)
    return text.strip()
