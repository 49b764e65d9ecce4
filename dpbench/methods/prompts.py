"""Every prompt template of the prompt methods, in one place; `prompts_hash()` goes into the manifest.

Field layout follows the published DPL prompts ("[Item Title]: ...", "[Review]: ..."). Long reviews and
descriptions are cut to the recipe's max_review_chars / max_description_chars (so prompts fit small
contexts); `Truncation` counts what was cut, and each method writes that count into its trace.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

from dpbench.data.examples import Example, HistoryEntry, Item, Review
from dpbench.llm.base import Message

SYSTEM = "You are a helpful assistant that writes product reviews in the voice of a specific user."

GENERATE_TASK = (
    "Given the title and description of an item, the rating and title of the review, {context}"
    "write the review text that this user would write for the item. "
    "Only output the review text, without any explanation."
)
CONTEXT_NONE = ""
CONTEXT_HISTORY = "and the user's past reviews, "
CONTEXT_PROFILE = "the user's past reviews and a summary of the user's profile, "

PAST_REVIEW = (
    "[Past Review {n}]\n[Item Title]: {item_title}\n[Item Description]: {item_description}\n"
    "[Rating]: {rating}\n[Review Title]: {review_title}\n[Review]: {review_text}"
)
TARGET = (
    "[Item Title]: {item_title}\n[Item Description]: {item_description}\n"
    "[Output Review Rating]: {rating}\n[Output Review Title]: {review_title}\n[Review]:"
)

PAG_SUMMARY_TASK = (
    "Given the user's past reviews below, write a short profile of this user as a reviewer: what they "
    "care about, their tastes, and how they usually write (length, tone, word choice). "
    "Only output the profile."
)

DPL_DIFF_TASK = (
    "Given an item, one user's review of it and other users' reviews of the same item, describe how "
    "this user's review differs from the others in three dimensions:\n"
    "1. Writing style: word choice and sentence structure.\n"
    "2. Emotional style: sentiment and tone.\n"
    "3. Semantic style: information density and coherence.\n"
    "Be concise and specific. Only output the three differences."
)
OTHER_REVIEW = "[Other User {n}]\n[Rating]: {rating}\n[Review Title]: {review_title}\n[Review]: {review_text}"
DPL_SUMMARY_TASK = (
    "Below are a user's past reviews and, for several items, how this user's review differed from other "
    "users' reviews of the same item (writing, emotional and semantic style). Summarize them into a "
    "short profile of what is distinctive about this user as a reviewer. Only output the profile."
)
DIFFERENCE_BLOCK = "[Differences on \"{item_title}\"]\n{difference}"

def prompts_hash() -> str:
    """Hash of the prompt modules' text (both styles' templates and the code that lays them out): any
    prompt change changes the default run id and shows in the manifest."""
    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update(Path(__file__).with_name("prompts_chat.py").read_bytes())
    return h.hexdigest()[:16]


def styled(build):
    """A prompt builder that hands over to the chat style's builder of the same name
    (methods/prompts_chat.py) when the call's Truncation says generation.prompt_style = "chat"."""
    @functools.wraps(build)
    def dispatch(*args, **kwargs):
        cut = next(a for a in (*args, *kwargs.values()) if isinstance(a, Truncation))
        if cut.style == "chat":
            from dpbench.methods import prompts_chat

            return getattr(prompts_chat, build.__name__)(*args, **kwargs)
        return build(*args, **kwargs)

    return dispatch


@dataclass
class Truncation:
    """Cuts texts to the recipe limits and counts what it cut (for the trace)."""

    max_review_chars: int | None
    max_description_chars: int | None
    style: str = "published"  # recipe generation.prompt_style: "published" (this module) | "chat" (prompts_chat)
    reviews_cut: int = 0
    descriptions_cut: int = 0

    def review(self, text: str) -> str:
        out = cut_text(text, self.max_review_chars)
        self.reviews_cut += out != text
        return out

    def description(self, text: str) -> str:
        out = cut_text(text, self.max_description_chars)
        self.descriptions_cut += out != text
        return out

    def to_trace(self) -> dict:
        return {"max_review_chars": self.max_review_chars, "max_description_chars": self.max_description_chars,
                "prompt_style": self.style,
                "reviews_truncated": self.reviews_cut, "descriptions_truncated": self.descriptions_cut}


def cut_text(text: str, limit: int | None) -> str:
    """Cut at a word boundary before `limit` characters and mark the cut with '...'."""
    text = text.strip()
    if limit is None or len(text) <= limit:
        return text
    head = text[: limit - 3]
    space = head.rfind(" ")
    if space > limit // 2:
        head = head[:space]
    return head.rstrip() + "..."


def format_rating(rating: float) -> str:
    return f"{rating:.1f}"


def format_past_review(n: int, entry: HistoryEntry, cut: Truncation) -> str:
    return PAST_REVIEW.format(
        n=n, item_title=entry.item.title, item_description=cut.description(entry.item.description),
        rating=format_rating(entry.review.rating), review_title=entry.review.title,
        review_text=cut.review(entry.review.text),
    )


def format_past_reviews(entries: list[HistoryEntry], cut: Truncation) -> str:
    return "\n\n".join(format_past_review(n, e, cut) for n, e in enumerate(entries, 1))


def format_target(example: Example, cut: Truncation) -> str:
    return TARGET.format(
        item_title=example.item.title, item_description=cut.description(example.item.description),
        rating=format_rating(example.rating), review_title=example.review_title,
    )


def chat(user: str) -> list[Message]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


@styled
def build_generation(example: Example, cut: Truncation, past: list[HistoryEntry] | None = None,
                     profile: str | None = None) -> list[Message]:
    """The final call of every method: target item + (past reviews) + (profile summary)."""
    context = CONTEXT_PROFILE if profile is not None else CONTEXT_HISTORY if past else CONTEXT_NONE
    parts = [GENERATE_TASK.format(context=context)]
    if past:
        parts.append("## Past reviews\n" + format_past_reviews(past, cut))
    if profile is not None:
        parts.append("## User profile\n" + profile.strip())
    parts.append("## Target\n" + format_target(example, cut))
    return chat("\n\n".join(parts))


@styled
def build_pag_summary(past: list[HistoryEntry], cut: Truncation) -> list[Message]:
    return chat(PAG_SUMMARY_TASK + "\n\n## Past reviews\n" + format_past_reviews(past, cut))


@styled
def build_dpl_difference(item: Item, own: Review, others: list[Review], cut: Truncation) -> list[Message]:
    others_text = "\n\n".join(
        OTHER_REVIEW.format(n=n, rating=format_rating(r.rating), review_title=r.title,
                            review_text=cut.review(r.text))
        for n, r in enumerate(others, 1)
    )
    body = (
        f"{DPL_DIFF_TASK}\n\n## Item\n[Item Title]: {item.title}\n"
        f"[Item Description]: {cut.description(item.description)}\n\n"
        f"## This user's review\n[Rating]: {format_rating(own.rating)}\n[Review Title]: {own.title}\n"
        f"[Review]: {cut.review(own.text)}\n\n## Other users' reviews\n{others_text}"
    )
    return chat(body)


@styled
def build_dpl_summary(past: list[HistoryEntry], differences: list[tuple[str, str]],
                      cut: Truncation) -> list[Message]:
    """differences: (item title, difference text) per chosen item."""
    diffs = "\n\n".join(DIFFERENCE_BLOCK.format(item_title=t, difference=d.strip()) for t, d in differences)
    body = (f"{DPL_SUMMARY_TASK}\n\n## Past reviews\n{format_past_reviews(past, cut)}"
            f"\n\n## Differences from other users\n{diffs}")
    return chat(body)
