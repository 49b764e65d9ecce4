"""The "chat" prompt style (recipe `generation.prompt_style = "chat"`): the same information as the
published layout (methods/prompts.py), written as plain instructions with the task last.

Why a second style: the published layout lists every review as a block of field labels ("[Item
Title]: ... [Review]: ...") and ends on an open "[Review]:". A large instruct model answers it; a
135M one continues the pattern with another labelled block, or repeats a sentence until max_tokens
(measured on the sample's val split: docs/health.md). Here past reviews are numbered lines, the
target is described in a sentence, and the last line says exactly what to write. Each call carries the
same facts as its published counterpart, so the methods still differ only in what they add.
"""

from __future__ import annotations

from dpbench.data.examples import Example, HistoryEntry, Item, Review
from dpbench.llm.base import Message

SYSTEM = "You write product reviews in the voice of one specific customer."

# Phrases of these templates that a review never contains (output health's echo markers).
MARKERS = ("reviews this customer wrote before", "write the customer's review", "now the customer rates",
           "how this customer differs from the others", "describe this customer as a reviewer")


def chat(user: str) -> list[Message]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def past_line(n: int, e: HistoryEntry, cut) -> str:
    desc = cut.description(e.item.description)
    about = f" ({desc})" if desc else ""
    return (f"{n}. {e.item.title}{about}: rated {e.review.rating:g}/5, titled \"{e.review.title}\": "
            f"{cut.review(e.review.text)}")


def past_block(entries: list[HistoryEntry], cut) -> str:
    return "Reviews this customer wrote before:\n" + "\n".join(past_line(n, e, cut) for n, e in enumerate(entries, 1))


def target_sentence(example: Example, cut) -> str:
    desc = cut.description(example.item.description)
    about = f" ({desc})" if desc else ""
    return (f"Now the customer rates \"{example.item.title}\"{about} {example.rating:g}/5 and titles the review "
            f"\"{example.review_title}\".")


def build_generation(example: Example, cut, past: list[HistoryEntry] | None = None,
                     profile: str | None = None) -> list[Message]:
    parts = []
    if past:
        parts.append(past_block(past, cut))
    if profile is not None:
        parts.append("About this customer as a reviewer: " + " ".join(profile.split()))
    parts.append(target_sentence(example, cut))
    voice = " in the same voice as their earlier reviews" if past or profile is not None else ""
    parts.append(f"Write the customer's review text{voice}: a few sentences of plain text, nothing else.")
    return chat("\n\n".join(parts))


def build_pag_summary(past: list[HistoryEntry], cut) -> list[Message]:
    return chat(past_block(past, cut) + "\n\nIn two or three sentences, describe this customer as a reviewer: what "
                "they care about, their tone, and how long and how plainly they write. Write only the description.")


def build_dpl_difference(item: Item, own: Review, others: list[Review], cut) -> list[Message]:
    lines = [f"Reviews of \"{item.title}\":",
             f"- This customer ({own.rating:g}/5, \"{own.title}\"): {cut.review(own.text)}"]
    lines += [f"- Another customer ({r.rating:g}/5, \"{r.title}\"): {cut.review(r.text)}" for r in others]
    return chat("\n".join(lines) + "\n\nIn two or three sentences, say how this customer's review differs from the "
                "others: in word choice and sentence structure, in sentiment and tone, and in how much information "
                "it gives. Write only the comparison.")


def build_dpl_summary(past: list[HistoryEntry], differences: list[tuple[str, str]], cut) -> list[Message]:
    diffs = "\n".join(f"- On \"{t}\": {' '.join(d.split())}" for t, d in differences)
    return chat(past_block(past, cut) + "\n\nHow this customer differs from the others who reviewed the same items:\n"
                + diffs + "\n\nIn two or three sentences, describe what is distinctive about how this customer writes "
                "reviews. Write only the description.")
