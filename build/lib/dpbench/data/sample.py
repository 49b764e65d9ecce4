"""The embedded offline sample: a deterministic Amazon-Reviews-2023-format data set (docs/sample.md).

`write_sample(out_dir)` writes `{Category}.jsonl.gz` and `meta_{Category}.jsonl.gz` per category, in
the exact raw 2023 format, so the build reads them through the same loader as real files. Same seed,
same bytes (pure-Python `random`, gzip mtime 0, no set iteration over strings).

Generative model (defaults: 300 users, 2,000 items, ~15,000 reviews, Books / Movies_and_TV / CDs_and_Vinyl):
- Items: per category a genre, 3 attribute phrases (e.g. "twisty plot"), a latent quality q ~ N(0.3, 0.8)
  and a Zipf popularity (weight 1/(rank+3)^0.9). Metadata repeats the attributes in `features` and
  `description`; ~60% of descriptions are 150-1,200 chars (a few > 2,000, some short or empty, some led
  by the "Product Description" quirk) so the paper recipe's filters have something to pass and reject.
- Users: activity is long-tailed (lognormal, every user >= 8 reviews, some 100+), scaled to the target
  total. Each user has a main category (70% of reviews) and 2 favourite genres per category (3x weight),
  and picks items without replacement by popularity x affinity: popular items get dozens of reviewers
  (co-engagement), so most history items have peers. Review times are spread over the user's active
  span (0.5-8 years) inside 2015-01-01 .. 2023-09-01, distinct per user.
- Ratings: round(3.9 + q_item + b_user + N(0, 0.7)) clipped to 1..5, b_user ~ N(0, 0.6).
- Text (sample_text.py): templated sentences about the item's attributes (item-aware overlap: also
  non-personalized methods see them), the user's focus aspect, a recommendation, and extras.
  Planted per-user signal, stable across the user's reviews:
  * 2-3 signature sentences unique to the user (opener ~85%, closer ~80%, mid-text ~70% of reviews);
  * a typical length (lognormal around 55 words, +/- 15% per review);
  * a punctuation habit: plain, '!!', '...', all-lowercase, or ' :)';
  * favourite intensifiers and favourite positive/negative adjectives;
  * a focus aspect (e.g. "pacing", "soundtrack") the user always writes about;
  * a tone offset: the words are warmer or colder than the rating, so against peers on the same item
    (same rating range, same attributes) the user reads consistently harsher or kinder;
  * a title habit ("Five Stars", "Gripping!", "A gripping book", "<item>: gripping").
  History-aware methods (RAG, PAG) can copy phrases, vocabulary, length and punctuation from past
  reviews; peer-aware methods (DPL, DEP) can also isolate what differs from peers on the same item:
  item attributes cancel out, leaving the tone offset, focus aspect and habits.
"""

from __future__ import annotations

import gzip
import heapq
import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

from dpbench.data.sample_text import (
    VOCABS,
    CategoryVocab,
    ItemText,
    UserStyle,
    compose_review,
    make_description,
    make_details,
    make_item_title,
    make_phrase_pool,
    make_store,
    make_style,
)
from dpbench.errors import DataError

SAMPLE_VERSION = "1"
DEFAULT_CATEGORIES = ("Books", "Movies_and_TV", "CDs_and_Vinyl")
START_MS = 1_420_070_400_000  # 2015-01-01T00:00:00Z
END_MS = 1_693_526_400_000  # 2023-09-01T00:00:00Z
YEAR_MS = 365 * 24 * 3600 * 1000
MIN_USER_REVIEWS = 8
_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@dataclass(frozen=True)
class SampleItem:
    parent_asin: str
    category: str
    genre: str
    quality: float
    popularity: float
    text: ItemText
    meta: dict


@dataclass(frozen=True)
class SampleUser:
    user_id: str
    style: UserStyle
    rating_offset: float
    n_reviews: int
    main_category: str
    fav_genres: dict[str, tuple[str, ...]]
    start_ms: int
    span_ms: int


@dataclass
class Sample:
    """Everything generated, before writing: ground truth for tests and docs."""

    users: list[SampleUser]
    items: dict[str, SampleItem]
    reviews: dict[str, list[dict]] = field(default_factory=dict)  # category -> raw review rows


def write_sample(out_dir: Path, *, seed: int = 0, n_users: int = 300, n_items: int = 2000,
                 target_reviews: int = 15000,
                 categories: tuple[str, ...] = DEFAULT_CATEGORIES) -> list[Path]:
    """Write the sample's raw files into out_dir; returns [reviews, meta] paths per category."""
    sample = generate_sample(seed=seed, n_users=n_users, n_items=n_items,
                             target_reviews=target_reviews, categories=categories)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for category in categories:
        metas = [it.meta for it in sample.items.values() if it.category == category]
        paths.append(write_jsonl_gz(out_dir / f"{category}.jsonl.gz", sample.reviews[category]))
        paths.append(write_jsonl_gz(out_dir / f"meta_{category}.jsonl.gz", metas))
    return paths


def generate_sample(*, seed: int = 0, n_users: int = 300, n_items: int = 2000,
                    target_reviews: int = 15000,
                    categories: tuple[str, ...] = DEFAULT_CATEGORIES) -> Sample:
    """Generate the sample in memory (deterministic for a seed)."""
    check_arguments(n_users, n_items, target_reviews, categories)
    rng = random.Random(f"dpbench-sample-{SAMPLE_VERSION}-{seed}")
    items = make_items(rng, n_items, categories)
    users = make_users(rng, n_users, target_reviews, items, categories)
    sample = Sample(users=users, items=items)
    rows = make_reviews(rng, users, items, categories)
    finish_meta(rng, items, rows)
    by_category: dict[str, list[dict]] = {c: [] for c in categories}
    for r in rows:
        by_category[r.pop("_category")].append(r)
    for category, cat_rows in by_category.items():
        rng.shuffle(cat_rows)  # real files are in no useful order; loaders must not depend on it
        sample.reviews[category] = cat_rows
    return sample


def check_arguments(n_users: int, n_items: int, target_reviews: int, categories: tuple[str, ...]) -> None:
    unknown = [c for c in categories if c not in VOCABS]
    if unknown or not categories or len(set(categories)) != len(categories):
        raise DataError(f"sample categories {list(categories)!r}: each must be one of {sorted(VOCABS)}, "
                        "at least one, no repeats")
    if n_users < 1 or n_items < 10 * len(categories) or target_reviews < MIN_USER_REVIEWS * n_users:
        raise DataError(f"sample sizes n_users={n_users}, n_items={n_items}, target_reviews={target_reviews}: "
                        f"need n_users >= 1, n_items >= 10 per category, target_reviews >= "
                        f"{MIN_USER_REVIEWS} x n_users")


def make_asin(rng: random.Random, category: str) -> str:
    if category == "Books" and rng.random() < 0.7:  # ISBN-10 style ids, as in the real Books files
        return "".join(rng.choice("0123456789") for _ in range(9)) + rng.choice("0123456789X")
    return "B0" + "".join(rng.choice(_ALNUM) for _ in range(8))


def make_items(rng: random.Random, n_items: int, categories: tuple[str, ...]) -> dict[str, SampleItem]:
    """Items with genre, attributes, quality, Zipf popularity and (partial) metadata."""
    items: dict[str, SampleItem] = {}
    per_cat = [n_items // len(categories) + (i < n_items % len(categories)) for i in range(len(categories))]
    for category, count in zip(categories, per_cat):
        vocab = VOCABS[category]
        ranks = list(range(count))
        rng.shuffle(ranks)
        for rank in ranks:
            asin = make_asin(rng, category)
            while asin in items:
                asin = make_asin(rng, category)
            genre = rng.choice(vocab.genres)
            attrs = tuple(rng.sample(vocab.attributes, 3))
            title = make_item_title(rng, vocab)
            details = make_details(rng, vocab)
            items[asin] = SampleItem(
                parent_asin=asin, category=category, genre=genre,
                quality=rng.gauss(0.3, 0.8), popularity=1.0 / (rank + 3) ** 0.9,
                text=ItemText(title=title, genre=genre, attrs=attrs, details=details),
                meta=make_meta(rng, vocab, asin, title, genre, attrs, details),
            )
    return items


def make_meta(rng: random.Random, vocab: CategoryVocab, asin: str, title: str, genre: str,
              attrs: tuple[str, ...], details: dict[str, str]) -> dict:
    """One meta row in the 2023 field order; average_rating/rating_number are set in finish_meta."""
    u = rng.random()
    if u < 0.02:
        description = make_description(rng, vocab, title, genre, attrs, rng.randrange(2050, 2600))
    elif u < 0.62:
        description = make_description(rng, vocab, title, genre, attrs, rng.randrange(150, 1200))
    elif u < 0.82:
        description = [f"A {genre.lower()} {vocab.kinds[0]} with {attrs[0]}."]
    else:
        description = []
    if description and rng.random() < 0.1:
        description = ["Product Description"] + description  # a quirk of the real files
    features = [] if vocab.store_kind == "author" else [a[0].upper() + a[1:] for a in attrs]
    categories = [] if rng.random() < 0.05 else [vocab.main_category, genre]
    return {
        "main_category": vocab.main_category,
        "title": title,
        "average_rating": None,
        "rating_number": None,
        "features": features,
        "description": description,
        "price": None if rng.random() < 0.2 else round(rng.uniform(4.0, 40.0), 2),
        "images": [],
        "videos": [],
        "store": make_store(rng),
        "categories": categories,
        "details": details,
        "parent_asin": asin,
        "bought_together": None,
    }


def make_user_id(rng: random.Random) -> str:
    return "A" + "".join(rng.choice(_BASE32) for _ in range(27))


def allot_reviews(rng: random.Random, n_users: int, target: int, cap: int) -> list[int]:
    """Long-tailed review counts (lognormal), each >= MIN_USER_REVIEWS and <= cap, summing near target."""
    raw = [rng.lognormvariate(0.0, 1.0) for _ in range(n_users)]
    lo, hi = 0.0, float(target)
    for _ in range(40):  # bisect the scale so the clipped counts sum to the target
        scale = (lo + hi) / 2
        total = sum(min(cap, max(MIN_USER_REVIEWS, round(r * scale))) for r in raw)
        lo, hi = (scale, hi) if total < target else (lo, scale)
    return [min(cap, max(MIN_USER_REVIEWS, round(r * lo))) for r in raw]


def make_users(rng: random.Random, n_users: int, target: int, items: dict[str, SampleItem],
               categories: tuple[str, ...]) -> list[SampleUser]:
    smallest = min(sum(1 for it in items.values() if it.category == c) for c in categories)
    counts = allot_reviews(rng, n_users, target, cap=max(MIN_USER_REVIEWS, int(0.6 * smallest)))
    phrase_pool = make_phrase_pool(rng)
    users: list[SampleUser] = []
    ids: set[str] = set()
    for n in counts:
        uid = make_user_id(rng)
        while uid in ids:
            uid = make_user_id(rng)
        ids.add(uid)
        if len(phrase_pool) < 60:
            phrase_pool = make_phrase_pool(rng)  # > ~350 users: phrases repeat across pools
        span = int(min(8.0, max(0.5, rng.lognormvariate(math.log(2.5), 0.6))) * YEAR_MS)
        users.append(SampleUser(
            user_id=uid, style=make_style(rng, phrase_pool), rating_offset=rng.gauss(0.0, 0.6),
            n_reviews=n, main_category=rng.choice(categories),
            fav_genres={c: tuple(rng.sample(VOCABS[c].genres, 2)) for c in categories},
            start_ms=rng.randrange(START_MS, END_MS - span), span_ms=span,
        ))
    return users


def split_by_category(rng: random.Random, user: SampleUser, categories: tuple[str, ...],
                      cap: dict[str, int]) -> dict[str, int]:
    weights = [0.7 if c == user.main_category else 0.3 / max(1, len(categories) - 1) for c in categories]
    if len(categories) == 1:
        weights = [1.0]
    counts = dict.fromkeys(categories, 0)
    for _ in range(user.n_reviews):
        open_cats = [(c, w) for c, w in zip(categories, weights) if counts[c] < cap[c]]
        c = rng.choices([c for c, _ in open_cats], [w for _, w in open_cats])[0]
        counts[c] += 1
    return counts


def pick_items(rng: random.Random, pool: list[SampleItem], favs: tuple[str, ...], n: int) -> list[SampleItem]:
    """Weighted sampling without replacement (Efraimidis-Spirakis keys u^(1/w))."""
    keyed = [(rng.random() ** (1.0 / (it.popularity * (3.0 if it.genre in favs else 1.0))), i)
             for i, it in enumerate(pool)]
    return [pool[i] for _, i in heapq.nlargest(n, keyed)]


def make_timestamps(rng: random.Random, user: SampleUser, n: int) -> list[int]:
    stamps: set[int] = set()
    while len(stamps) < n:
        stamps.add(rng.randrange(user.start_ms, user.start_ms + user.span_ms))
    return sorted(stamps)


def make_reviews(rng: random.Random, users: list[SampleUser], items: dict[str, SampleItem],
                 categories: tuple[str, ...]) -> list[dict]:
    pools = {c: [it for it in items.values() if it.category == c] for c in categories}
    cap = {c: len(p) for c, p in pools.items()}
    rows: list[dict] = []
    for user in users:
        chosen: list[SampleItem] = []
        for c, n in split_by_category(rng, user, categories, cap).items():
            chosen += pick_items(rng, pools[c], user.fav_genres[c], n)
        rng.shuffle(chosen)
        for item, ts in zip(chosen, make_timestamps(rng, user, len(chosen))):
            rows.append(make_review_row(rng, user, item, ts))
    return rows


def make_review_row(rng: random.Random, user: SampleUser, item: SampleItem, ts: int) -> dict:
    rating = max(1, min(5, round(3.9 + item.quality + user.rating_offset + rng.gauss(0.0, 0.7))))
    title, text = compose_review(rng, user.style, VOCABS[item.category], item.text, rating)
    asin = item.parent_asin if rng.random() < 0.9 else make_asin(rng, "variant")
    return {
        "rating": float(rating),
        "title": title,
        "text": text,
        "images": [],
        "asin": asin,
        "parent_asin": item.parent_asin,
        "user_id": user.user_id,
        "timestamp": ts,
        "helpful_vote": min(int(rng.expovariate(0.8)), 60),
        "verified_purchase": rng.random() < 0.8,
        "_category": item.category,
    }


def finish_meta(rng: random.Random, items: dict[str, SampleItem], rows: list[dict]) -> None:
    """average_rating / rating_number: the sample's reviews plus unseen ones, as in real metadata."""
    ratings: dict[str, list[float]] = {}
    for r in rows:
        ratings.setdefault(r["parent_asin"], []).append(r["rating"])
    for asin, item in items.items():
        seen = ratings.get(asin, [])
        extra = rng.randrange(0, 40)
        if not seen and rng.random() < 0.05:
            extra = 0  # a few items with no ratings at all (the paper recipe drops them)
        mean = max(1.0, min(5.0, 3.9 + item.quality + rng.gauss(0.0, 0.2)))
        total = sum(seen) + extra * mean
        n = len(seen) + extra
        item.meta["average_rating"] = round(total / n, 1) if n else 0.0
        item.meta["rating_number"] = n


def write_jsonl_gz(path: Path, rows: list[dict]) -> Path:
    """JSON lines, gzip with mtime 0 and no file name in the header: identical bytes every time."""
    data = "".join(json.dumps(r) + "\n" for r in rows).encode("utf-8")
    path.write_bytes(gzip.compress(data, compresslevel=6, mtime=0))
    return path
