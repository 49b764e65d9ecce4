"""Output clean-up, deliberate truncation, the prompt hash and the method registry."""

from __future__ import annotations

import pytest

from dpbench.methods.cleanup import clean_output
from dpbench.methods.prompts import Truncation, cut_text, prompts_hash


@pytest.mark.parametrize("raw, clean", [
    ("The review text is: I liked it.", "I liked it."),
    ('Here is the review: "Great blender."', "Great blender."),
    ("Sure! Here's a review for this item: Works well.", "Works well."),
    ("Here is the deal: it broke.", "Here is the deal: it broke."),  # a review's own words stay
    ("The review is great.", "The review is great."),
    ("[Review]: Great kettle.", "Great kettle."),
    ("  Review: \"Works well.\"  ", "Works well."),
    ("**Review:** Solid.", "Solid."),
    ("[Output Review]: ok", "ok"),
    ("\u201cLovely.\u201d", "Lovely."),
    ("He said \"wow\" twice.", "He said \"wow\" twice."),  # inner quotes stay
    ("\"A\" and \"B\"", "\"A\" and \"B\""),  # not one wrapping pair
    ("My review: fine", "My review: fine"),  # only a leading label is removed
    ("", ""),
    ("[Item Title]: X\n[Output Review Title]: Four Stars\n[Review]: Catchy riffs.", "Catchy riffs."),
    ("[Item Title]: X\n[Output Review Rating]: 4.0\n[Review]:", ""),  # only an echo: empty, raw kept
])
def test_clean_output(raw, clean):
    assert clean_output(raw) == clean


def test_cut_text_at_word_boundary():
    text = "one two three four five six seven eight nine ten"
    assert cut_text(text, None) == text and cut_text(text, 100) == text
    assert cut_text(text, 20) == "one two three..."  # head "one two three fou" cut back to a space
    assert len(cut_text("x" * 80, 50)) == 50 and cut_text("x" * 80, 50).endswith("...")
    t = Truncation(max_review_chars=20, max_description_chars=None)
    t.review(text), t.review("short"), t.description(text * 10)
    assert (t.reviews_cut, t.descriptions_cut) == (1, 0)


def test_prompts_hash_is_stable_hex():
    h = prompts_hash()
    assert h == prompts_hash() and len(h) == 16 and int(h, 16) >= 0
