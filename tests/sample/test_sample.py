"""The offline sample: deterministic bytes, the exact 2023 raw schema, sizes, co-engagement,
long-tailed activity, realistic timestamps and a measurable planted per-user signal."""

from __future__ import annotations

import gzip
import json
import re
import statistics
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from dpbench.data.sample import (
    DEFAULT_CATEGORIES,
    END_MS,
    SAMPLE_VERSION,
    START_MS,
    generate_sample,
    write_sample,
)
from dpbench.data.sample_text import LEVEL_ADJS
from dpbench.errors import DataError

REVIEW_FIELDS = ["rating", "title", "text", "images", "asin", "parent_asin", "user_id", "timestamp",
                 "helpful_vote", "verified_purchase"]
META_FIELDS = ["main_category", "title", "average_rating", "rating_number", "features", "description",
               "price", "images", "videos", "store", "categories", "details", "parent_asin",
               "bought_together"]


def read_jsonl_gz(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[list[Path], float]:
    start = time.perf_counter()
    paths = write_sample(tmp_path_factory.mktemp("sample0"))
    return paths, time.perf_counter() - start


@pytest.fixture(scope="module")
def reviews(written) -> list[dict]:
    return [r for p in written[0] if not p.name.startswith("meta_") for r in read_jsonl_gz(p)]


@pytest.fixture(scope="module")
def metas(written) -> list[dict]:
    return [m for p in written[0] if p.name.startswith("meta_") for m in read_jsonl_gz(p)]


@pytest.fixture(scope="module")
def truth():
    return generate_sample()


def test_files_and_speed(written):
    paths, seconds = written
    assert [p.name for p in paths] == [
        "Books.jsonl.gz", "meta_Books.jsonl.gz", "Movies_and_TV.jsonl.gz", "meta_Movies_and_TV.jsonl.gz",
        "CDs_and_Vinyl.jsonl.gz", "meta_CDs_and_Vinyl.jsonl.gz"]
    assert seconds < 15, f"generation took {seconds:.1f} s (target < 5 s on an idle machine)"
    assert SAMPLE_VERSION


def test_same_seed_same_bytes_other_seed_differs(written, tmp_path):
    again = write_sample(tmp_path / "again", seed=0)
    other = write_sample(tmp_path / "other", seed=1)
    for a, b, c in zip(written[0], again, other):
        data = a.read_bytes()
        assert data == b.read_bytes(), a.name
        assert data != c.read_bytes(), a.name
        assert data[4:8] == b"\x00\x00\x00\x00"  # gzip mtime 0: no wall clock in the bytes


def test_review_schema_every_line(reviews):
    uid = re.compile(r"^A[A-Z2-7]{27}$")  # like 'AGBFYI2DDIKXC5Y4FARTYDTQBMFQ'
    asin = re.compile(r"[0-9]{9}[0-9X]|B0[0-9A-Z]{8}")  # ISBN-10 (books) or B0 ASIN
    for r in reviews:
        assert list(r) == REVIEW_FIELDS
        assert isinstance(r["rating"], float) and r["rating"] in (1.0, 2.0, 3.0, 4.0, 5.0)
        assert isinstance(r["title"], str) and r["title"]
        assert isinstance(r["text"], str) and r["text"] and r["text"].isascii()
        assert r["images"] == []
        assert asin.fullmatch(r["asin"]) and asin.fullmatch(r["parent_asin"])
        assert uid.match(r["user_id"])
        assert type(r["timestamp"]) is int and START_MS <= r["timestamp"] < END_MS
        assert type(r["helpful_vote"]) is int and r["helpful_vote"] >= 0
        assert type(r["verified_purchase"]) is bool


def test_meta_schema_every_line(metas, reviews):
    main = {"Books", "Movies & TV", "CDs & Vinyl"}
    for m in metas:
        assert list(m) == META_FIELDS
        assert m["main_category"] in main and isinstance(m["title"], str) and m["title"]
        assert isinstance(m["average_rating"], float) and 0.0 <= m["average_rating"] <= 5.0
        assert type(m["rating_number"]) is int and m["rating_number"] >= 0
        assert all(isinstance(x, str) for x in m["features"] + m["description"] + m["categories"])
        assert m["price"] is None or isinstance(m["price"], float)
        assert m["images"] == [] and m["videos"] == [] and m["bought_together"] is None
        assert isinstance(m["store"], str) and isinstance(m["details"], dict)
    assert len({m["parent_asin"] for m in metas}) == len(metas) == 2000
    # Every reviewed item has metadata, and rating_number counts at least the sample's reviews.
    per_item = Counter(r["parent_asin"] for r in reviews)
    by_asin = {m["parent_asin"]: m for m in metas}
    assert all(by_asin[a]["rating_number"] >= n for a, n in per_item.items())


def test_counts_and_long_tail(reviews):
    per_user = Counter(r["user_id"] for r in reviews)
    counts = sorted(per_user.values())
    assert len(per_user) == 300
    assert 14_000 <= len(reviews) <= 16_000
    assert counts[0] >= 6
    assert counts[-1] >= 200  # heavy users
    assert 10 <= sum(c >= 100 for c in counts) <= 80
    assert statistics.median(counts) < statistics.mean(counts)  # right-skewed
    # Each user reviews an item at most once (real data may not, but the generator never repeats).
    assert len({(r["user_id"], r["parent_asin"]) for r in reviews}) == len(reviews)


def test_co_engagement(reviews):
    reviewers = defaultdict(set)
    for r in reviews:
        reviewers[r["parent_asin"]].add(r["user_id"])
    sizes = [len(u) for u in reviewers.values()]
    assert len(sizes) >= 1800  # nearly every item has at least one review
    assert sum(s >= 5 for s in sizes) / len(sizes) >= 0.35
    assert sum(s >= 10 for s in sizes) >= 200
    assert max(sizes) >= 60


def test_sample_recipe_keeps_nearly_all_users(reviews):
    """Simple semantics of recipes/sample.toml by hand: items >= 2 users, users >= 5 reviews, to a fixpoint."""
    rows = [(r["user_id"], r["parent_asin"]) for r in reviews]
    while True:
        item_users = Counter(i for _, i in rows)
        rows2 = [(u, i) for u, i in rows if item_users[i] >= 2]
        user_n = Counter(u for u, _ in rows2)
        rows2 = [(u, i) for u, i in rows2 if user_n[u] >= 5]
        if len(rows2) == len(rows):
            break
        rows = rows2
    assert len({u for u, _ in rows}) >= 290
    assert len(rows) >= 0.9 * len(reviews)


def test_timestamps_realistic(reviews):
    years = Counter(time.gmtime(r["timestamp"] // 1000).tm_year for r in reviews)
    assert sorted(years) == list(range(2015, 2024))
    assert min(years.values()) >= 200  # spread over the years (2023 ends in August)
    per_user = defaultdict(list)
    for r in reviews:
        per_user[r["user_id"]].append(r["timestamp"])
    assert all(len(set(ts)) == len(ts) for ts in per_user.values())  # no ties within a user


def test_text_lengths_and_paper_filters_have_material(reviews, metas):
    words = [len(r["text"].split()) for r in reviews]
    assert sum(30 <= w <= 90 for w in words) / len(words) >= 0.75
    assert sum(len(r["text"]) > 200 for r in reviews) >= 1000
    desc = [m["description"] for m in metas]
    joined = [len(" ".join(d[1:] if d[:1] == ["Product Description"] else d)) for d in desc]
    assert sum(100 <= n <= 2000 for n in joined) >= 800
    assert sum(n > 2000 for n in joined) >= 5
    assert sum(n == 0 for n in joined) >= 100
    assert sum(d[:1] == ["Product Description"] for d in desc) >= 20


def test_written_files_match_generator(truth, reviews):
    assert {u.user_id for u in truth.users} == {r["user_id"] for r in reviews}
    assert sum(len(v) for v in truth.reviews.values()) == len(reviews)


def _norm(phrase: str) -> str:
    return phrase.lower().rstrip(".")  # habits may lowercase or turn the final '.' into '!!' / '...'


def test_signature_phrases_are_personal(truth, reviews):
    texts = defaultdict(list)
    for r in reviews:
        texts[r["user_id"]].append(r["text"].lower())
    own_rates, other_hits, other_total = [], 0, 0
    for user in truth.users:
        opener = _norm(user.style.phrases[0])
        own = texts[user.user_id]
        own_rates.append(sum(opener in t for t in own) / len(own))
    # Others' use of a phrase, checked for a spread of 30 users (all 300 would cost 4.5M scans).
    for user in truth.users[:30]:
        for phrase in map(_norm, user.style.phrases):
            for uid, ts in texts.items():
                if uid != user.user_id:
                    other_hits += sum(phrase in t for t in ts)
                    other_total += len(ts)
    assert statistics.median(own_rates) >= 0.75
    assert min(own_rates) >= 0.3  # a user with 8 reviews can be unlucky
    assert other_hits / other_total < 0.001


def test_length_and_punctuation_habits_are_stable(truth, reviews):
    by_user = defaultdict(list)
    for r in reviews:
        by_user[r["user_id"]].append(r)
    means, cvs = [], []
    for rows in by_user.values():
        lengths = [len(r["text"].split()) for r in rows]
        means.append(statistics.mean(lengths))
        cvs.append(statistics.pstdev(lengths) / statistics.mean(lengths))
    # Per-user length varies little; users differ a lot from one another.
    assert statistics.median(cvs) < 0.3
    assert statistics.pstdev(means) / statistics.mean(means) > 0.25
    for user in truth.users:
        rows = by_user[user.user_id]
        if user.style.punct == "lowercase":
            assert all(r["text"] == r["text"].lower() for r in rows)
        elif user.style.punct == "exclaim":
            assert sum("!!" in r["text"] for r in rows) / len(rows) >= 0.6
        else:
            assert not any("!!" in r["text"] for r in rows)


def test_ratings_and_tone_offset_against_peers(truth, reviews):
    """A user's rating minus peers' mean rating on the same item tracks the planted user offset,
    and at the same rating, warm users use more very-positive words than cold users."""
    item_ratings = defaultdict(list)
    for r in reviews:
        item_ratings[r["parent_asin"]].append(r["rating"])
    diffs = defaultdict(list)
    for r in reviews:
        peers = item_ratings[r["parent_asin"]]
        if len(peers) >= 3:
            diffs[r["user_id"]].append(r["rating"] - (sum(peers) - r["rating"]) / (len(peers) - 1))
    users = [u for u in truth.users if len(diffs[u.user_id]) >= 5]
    xs = [u.rating_offset for u in users]
    ys = [statistics.mean(diffs[u.user_id]) for u in users]
    assert statistics.correlation(xs, ys) > 0.6

    very_pos = list(LEVEL_ADJS[4])
    offset = {u.user_id: u.style.tone_offset for u in truth.users}
    warm = [r for r in reviews if r["rating"] == 4.0 and offset[r["user_id"]] > 0.6]
    cold = [r for r in reviews if r["rating"] == 4.0 and offset[r["user_id"]] < -0.6]
    share = lambda rows: sum(any(w in r["text"].lower() for w in very_pos) for r in rows) / len(rows)
    assert share(warm) > share(cold) + 0.3


def test_reviews_mention_item_attributes_from_metadata(truth, reviews):
    items = truth.items
    assert all(any(a in r["text"].lower() for a in items[r["parent_asin"]].text.attrs) for r in reviews)
    # The same attribute phrases are in the metadata (features or description) of described items.
    described = [it for it in items.values() if it.meta["description"] or it.meta["features"]]
    in_meta = sum(any(a in (" ".join(it.meta["description"] + it.meta["features"])).lower()
                      for a in it.text.attrs) for it in described)
    assert in_meta / len(described) >= 0.95


def test_small_and_invalid_arguments(tmp_path):
    paths = write_sample(tmp_path, seed=3, n_users=20, n_items=60, target_reviews=300,
                         categories=("Books",))
    assert [p.name for p in paths] == ["Books.jsonl.gz", "meta_Books.jsonl.gz"]
    rows = read_jsonl_gz(paths[0])
    assert len({r["user_id"] for r in rows}) == 20 and 250 <= len(rows) <= 350
    assert len(read_jsonl_gz(paths[1])) == 60
    with pytest.raises(DataError, match="Garden"):
        write_sample(tmp_path, categories=("Garden",))
    with pytest.raises(DataError, match="target_reviews"):
        write_sample(tmp_path, n_users=300, target_reviews=100)
    assert DEFAULT_CATEGORIES == ("Books", "Movies_and_TV", "CDs_and_Vinyl")
