"""A hand-made benchmark.duckdb with the contract tables (ARCHITECTURE.md) and known values.

12 users, 10 items. User u reviews items (u + j) % 10 for j = 0..6 at time slot j * 12 + u
(ts = BASE_TS + slot * 1000 ms); the last three are the train / val / test targets, the earlier
ones (and earlier targets) the history. Peers are other users' reviews of a history item written
before the target (peer_ts < target_ts), as build-data materializes them. Texts come from four
writing styles (user % 4), so KMeans has something to find.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

BASE_TS = 1_700_000_000_000
N_ITEMS = 10
PER_USER = 7
NOUNS = ["blender", "kettle", "toaster", "mixer", "grinder", "juicer", "steamer", "fryer", "scale", "press"]
DESCRIPTIONS = [
    "A stainless steel blender with a powerful motor for smoothies and crushed ice.",
    "An electric kettle that boils water fast, with a glass body and blue light.",
    "A two slice toaster with wide slots for bagels and a defrost setting.",
    "A stand mixer with a tilt head and a steel bowl for dough and cream.",
    "A burr coffee grinder with fifteen settings from fine espresso to coarse.",
    "A cold press juicer for fruit and leafy greens, quiet and easy to clean.",
    "A bamboo food steamer with two tiers for dumplings and vegetables.",
    "An air fryer with a square basket and presets for fries and chicken.",
    "A digital kitchen scale that weighs in grams and ounces with a tare button.",
    "A French press coffee maker with a steel filter and a heat resistant glass carafe.",
]
STYLES = [
    ("Love it!", "Great {noun}, works perfectly and looks amazing.", "Highly recommend to everyone!"),
    ("I have used this {noun} daily for three weeks.", "The build quality is solid, though the manual is unclear.",
     "Overall a fair purchase for the price."),
    ("Meh.", "The {noun} stopped working after a month of light use.", "Would not buy again."),
    ("Bought it as a gift.", "My sister says the {noun} is fine for a small kitchen.", "Delivery was quick."),
]


def example_id(user_id: str, review_id: str) -> str:
    return hashlib.sha256(f"{user_id}|{review_id}".encode()).hexdigest()[:16]


def build_rows(n_users: int = 12):
    items = [(f"i{x}", f"Model {x} {NOUNS[x].title()}", DESCRIPTIONS[x], "Home_and_Kitchen") for x in range(N_ITEMS)]
    reviews = []  # (review_id, user_id, item_id, rating, title, text, ts)
    for u in range(n_users):
        a, b, c = STYLES[u % 4]
        for j in range(PER_USER):
            x = (u + j) % N_ITEMS
            slot = j * n_users + u
            text = f"{a} {b.format(noun=NOUNS[x])} {c} Review {slot} of item {x}."
            reviews.append((f"r{u}_{j}", f"u{u}", f"i{x}", float(1 + (u + j) % 5), f"{NOUNS[x]} take {u}", text,
                            BASE_TS + slot * 1000))
    examples, history, peers = [], [], []
    by_user = {f"u{u}": [r for r in reviews if r[1] == f"u{u}"] for u in range(n_users)}
    for user, revs in by_user.items():
        revs = sorted(revs, key=lambda r: r[6])
        for split, idx in (("train", PER_USER - 3), ("val", PER_USER - 2), ("test", PER_USER - 1)):
            target = revs[idx]
            eid = example_id(user, target[0])
            examples.append((eid, split, user, target[2], target[0], target[6], target[3], target[4], target[5]))
            past = list(reversed(revs[:idx]))
            for pos, h in enumerate(past):
                history.append((eid, pos, h[0], h[2], h[6]))
                for p in reviews:
                    if p[2] == h[2] and p[1] != user and p[6] < target[6]:
                        peers.append((eid, h[2], p[1], p[0], p[6]))
    return items, reviews, examples, history, peers


def write_tiny_benchmark(folder: Path, n_users: int = 12, fingerprint: str = "tiny-fingerprint") -> Path:
    """Writes folder/benchmark.duckdb; returns folder (what `--data` takes)."""
    folder.mkdir(parents=True, exist_ok=True)
    items, reviews, examples, history, peers = build_rows(n_users)
    con = duckdb.connect(str(folder / "benchmark.duckdb"))
    con.execute("CREATE TABLE items(item_id VARCHAR, title VARCHAR, description VARCHAR, category VARCHAR)")
    con.execute("CREATE TABLE reviews(review_id VARCHAR, user_id VARCHAR, item_id VARCHAR, rating DOUBLE,"
                " title VARCHAR, text VARCHAR, ts BIGINT)")
    con.execute("CREATE TABLE examples(example_id VARCHAR, split VARCHAR, user_id VARCHAR, item_id VARCHAR,"
                " target_review_id VARCHAR, target_ts BIGINT, rating DOUBLE, review_title VARCHAR, reference VARCHAR)")
    con.execute("CREATE TABLE history(example_id VARCHAR, position INT, review_id VARCHAR, item_id VARCHAR, ts BIGINT)")
    con.execute("CREATE TABLE peers(example_id VARCHAR, item_id VARCHAR, peer_user_id VARCHAR,"
                " peer_review_id VARCHAR, peer_ts BIGINT)")
    con.execute("CREATE TABLE build_info(key VARCHAR, value VARCHAR)")
    con.executemany("INSERT INTO items VALUES (?, ?, ?, ?)", items)
    con.executemany("INSERT INTO reviews VALUES (?, ?, ?, ?, ?, ?, ?)", reviews)
    con.executemany("INSERT INTO examples VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", examples)
    con.executemany("INSERT INTO history VALUES (?, ?, ?, ?, ?)", history)
    con.executemany("INSERT INTO peers VALUES (?, ?, ?, ?, ?)", peers)
    con.executemany("INSERT INTO build_info VALUES (?, ?)", [("fingerprint", fingerprint), ("recipe", "tiny")])
    con.close()
    return folder
