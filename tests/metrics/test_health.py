"""Output health on labelled examples: degenerate outputs seen in real quickstart runs are flagged as
what they are, and healthy reviews (real Amazon texts, with their ordinary repetitions) are not."""

from __future__ import annotations

import gzip
import json

import pytest

from dpbench.metrics.health import HealthRates, copied_share, rep_n, text_health, words
from tests.conftest import real_data_dir

PROMPT = ("Given the title and description of an item, the rating and title of the review, write the review text "
          "that this user would write for the item.\n## Target\n[Item Title]: Dark Protocol [DVD]\n[Item Description]:"
          " A thriller about a rogue agent who uncovers a conspiracy inside the agency that trained him.\n"
          "[Output Review Rating]: 3.0\n[Output Review Title]: Three Stars\n[Review]:")

LOOPS = [
    "I'm so glad you enjoyed the product! " * 7,
    "The Crimson Storm: A Novel: decent " * 6,
    "Three Stars " * 40,
    "This is a great movie. I loved the acting and the story. This is a great movie. I loved the acting and the "
    "story. This is a great movie. I loved the acting and the story.",
    "good good good good good good",
    "The kettle works well and boils fast. The kettle works well and boils fast. The kettle works well and boils "
    "fast. Overall fine.",
]
ECHOES = [
    "[Item Title]: Dark Protocol [DVD] | [Item Description]: A thriller about a rogue agent",
    "## Past reviews\n[Past Review 1]\nLoved it",
    "A thriller about a rogue agent who uncovers a conspiracy inside the agency that trained him. Good.",
]
METAS = [
    "The review text is: I liked this movie a lot.",
    "Here is the review: great product, works as described.",
    "As an AI language model, I do not have personal opinions about movies.",
    "I'm sorry, but I cannot write a review for this item.",
    "Sure! This blender is great.",
    # SmolLM2-135M on the quickstart's chat prompts: an assistant answering whoever asked
    "I'm so glad you're enjoying the review. I'll just add a few more sentences to the customer review.",
    "I'm so glad to hear that you enjoyed the review of Highway Sessions.",
    "A customer wrote a review about a book, and it was a book about a story.",
    "Great album. Here's a rewritten version of the customer review text with a few additional sentences.",
]
HEALTHY = [
    "I bought this for my daughter and she loves it. The sound is clear and the battery lasts all day.",
    "Love it, love it, love it! Best gift card ever. Easy to use and my friend was thrilled.",
    "Three stars: the plot drags in the middle, but the last act is worth it.",
    "Works. Fine.",
    "I'm glad I bought it, and my son is happy with it. I'll add that shipping was fast.",
    "The customer service was slow, but the blender itself is great.",
    "Great great product, would buy again.",
]


@pytest.mark.parametrize("text", LOOPS)
def test_loops_are_loops(text):
    h = text_health(text.strip())
    assert h.loop and h.degenerate and not h.empty


@pytest.mark.parametrize("text", ECHOES)
def test_echoes_are_echoes(text):
    h = text_health(text, prompt=PROMPT)
    assert h.echo and not h.loop


@pytest.mark.parametrize("text", METAS)
def test_meta_text_is_meta_but_not_degenerate(text):
    h = text_health(text)
    assert h.meta and not h.degenerate


@pytest.mark.parametrize("text", HEALTHY)
def test_healthy_reviews_get_no_flag(text):
    assert text_health(text, prompt=PROMPT, finish_reason="stop").flags() == []


def test_empty_and_cut():
    assert text_health("  ...  ").empty and text_health("", raw="[Review]:").echo
    assert text_health("A fine review", finish_reason="length").cut is True
    assert text_health("A fine review", finish_reason=None).cut is None


def test_measures_by_hand():
    assert words("It's GREAT, really.") == ["it's", "great", "really"]
    assert rep_n(["a", "b", "c", "d", "a", "b", "c", "d"], 4) == pytest.approx(1 - 4 / 5)
    out = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]
    prompt = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
    assert copied_share(out, prompt, n=10) == pytest.approx(10 / 12)


def test_rates_count_cut_only_where_known():
    rates = HealthRates()
    for h in [text_health("x " * 10), text_health("A fine review", finish_reason="length"), text_health("")]:
        rates.add(h)
    d = rates.to_dict()
    assert d["n"] == 3 and d["loop"] == pytest.approx(1 / 3) and d["empty"] == pytest.approx(1 / 3)
    assert d["cut"] == 1.0 and d["degenerate"] == pytest.approx(2 / 3)


def test_real_reviews_are_almost_never_flagged():
    path = real_data_dir() / "reviews_Musical_Instruments_5.json.gz"
    with gzip.open(path, "rt") as f:
        texts = [json.loads(line)["reviewText"] for line in f][:3000]
    rates = HealthRates()
    for t in texts:
        rates.add(text_health(t))
    d = rates.to_dict()
    # real reviews: no echo, (almost) no loops or meta; the 7 known empty texts of this set stay empty
    assert d["echo"] == 0 and d["loop"] < 0.005 and d["meta"] < 0.005, d
