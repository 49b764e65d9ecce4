"""A straightforward per-row pure-Python build (dicts and lists, as the published DPL script does it).

Independent of dpbench's SQL: used by tests to verify counts on real data and by
benchmarks/build_data.py to time it against the DuckDB build and check identical outputs.
Covers clean-input rules only (JSON parse errors, missing fields, empty text, duplicates).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections import defaultdict
from pathlib import Path

WS = re.compile(r"\s+")
FIELDS = {  # user, item, item fallback, rating, title, text, time, scale
    "2023": ("user_id", "parent_asin", "asin", "rating", "title", "text", "timestamp", 1),
    "2018": ("reviewerID", "asin", "asin", "overall", "summary", "reviewText", "unixReviewTime", 1000),
}
META = {"2023": ("parent_asin", "categories"), "2018": ("asin", "category")}


def normalize(text: str) -> str:
    return WS.sub(" ", text.strip())


def md5_20(*parts: str) -> str:
    return hashlib.md5("\x1f".join(parts).encode("utf-8")).hexdigest()[:20]


def read_lines(path: Path):
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as f:
        for raw in f:
            try:
                obj = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                continue
            if isinstance(obj, dict):
                yield obj


def category_of(path: Path) -> tuple[str, str]:
    stem = path.name.split(".")[0]
    if stem.startswith("meta_"):
        return "meta", stem[5:]
    stem = stem.removeprefix("reviews_")
    return "reviews", stem.removesuffix("_5")


def description_of(d) -> str:
    if isinstance(d, str):
        d = [d]
    if not d:
        return ""
    return " ".join(d[1:]) if d[0] == "Product Description" else " ".join(d)


def load(paths: list[Path], release: str):
    u, i, i2, r, ti, te, ts, scale = FIELDS["2023" if release == "2023" else "2018"]
    mitem, mcats = META["2023" if release == "2023" else "2018"]
    reviews, meta = [], {}
    for p in sorted(paths):
        kind, cat = category_of(p)
        for o in read_lines(p):
            if kind == "meta":
                if o.get(mitem):
                    meta.setdefault((cat, o[mitem]), {
                        "title": o.get("title"), "description": description_of(o.get("description")),
                        "n_cat": len(o.get(mcats) or []), "rating_number": o.get("rating_number")})
                continue
            item = o.get(i) or o.get(i2)
            if not o.get(u) or not item or o.get(r) is None or o.get(ts) is None or not isinstance(o.get(te), str):
                continue
            if not o[te].strip():
                continue
            reviews.append({"category": cat, "user": str(o[u]), "item": str(item), "rating": float(o[r]),
                            "title": o.get(ti) or "", "text": o[te], "ts": round(float(o[ts]) * scale),
                            "release": release})
    return reviews, meta


def dedup_raw(reviews: list[dict], meta: dict) -> list[dict]:
    exact = {}
    for rv in sorted(reviews, key=lambda x: (x["rating"], x["title"])):
        exact.setdefault((rv["category"], rv["user"], rv["item"], rv["ts"], rv["text"]), rv)
    # One review repeated across variant items: every release alike, the copy with metadata, then the smallest item.
    variants = {}
    for rv in sorted(exact.values(), key=lambda x: ((x["category"], x["item"]) not in meta, x["item"])):
        variants.setdefault((rv["category"], rv["user"], rv["text"], rv["ts"]), rv)
    return list(variants.values())


def greedy_unique(revs: list[dict], key) -> list[dict]:
    """Newest first; keep a review when neither its item nor its key belongs to a kept review."""
    seen_items, seen_keys, kept = set(), set(), []
    for rv in sorted(revs, key=lambda x: (x["ts"], x["id"]), reverse=True):
        if rv["item"] in seen_items or key(rv) in seen_keys:
            continue
        seen_items.add(rv["item"])
        seen_keys.add(key(rv))
        kept.append(rv)
    return kept


def by_user(reviews: list[dict]) -> dict:
    users = defaultdict(list)
    for rv in reviews:
        users[(rv["category"], rv["user"])].append(rv)
    return users


def core_loop(reviews: list[dict], d, unique_key) -> tuple[list[dict], int]:
    passes = 0
    while True:
        passes += 1
        users = by_user(reviews)
        ucount = {k: len(greedy_unique(v, unique_key)) if unique_key else len(v) for k, v in users.items()}
        icount = defaultdict(set)
        for rv in reviews:
            icount[(rv["category"], rv["item"])].add(rv["user"])
        new = [rv for rv in reviews
               if len(icount[(rv["category"], rv["item"])]) >= d.item_min_users
               and ucount[(rv["category"], rv["user"])] >= d.user_min_reviews
               and (d.user_max_reviews is None or ucount[(rv["category"], rv["user"])] <= d.user_max_reviews)]
        if len(new) == len(reviews):
            return new, passes
        reviews = new


def history_ok(revs: list[dict], d, need_extra: bool) -> bool:
    """The user's first target (the n_targets-th newest by (ts, id)) has >= min_history reviews strictly
    before it; with tie_rule drop_user no target shares its time with another review of the user.
    need_extra (simple semantics): the user also needs more than n_targets reviews."""
    v = sorted(revs, key=lambda x: (x["ts"], x["id"]))
    nt = d.n_targets
    if len(v) < nt or (need_extra and len(v) <= nt):
        return False
    first = v[-nt]["ts"]
    if sum(rv["ts"] < first for rv in v) < d.min_history:
        return False
    if d.tie_rule == "drop_user":
        times = [rv["ts"] for rv in v]
        return all(times.count(t["ts"]) == 1 for t in v[-nt:])
    return True


def build_reference(paths: list[Path], d, release: str = "2023") -> dict:
    """Returns {"reviews": {id: (user, item, ts, text)}, "examples": {example_id: (split, user, target id)},
    "history": {example_id: [review ids, most recent first]}, "core_passes", "profile_passes"}."""
    reviews, meta = load(paths, release)
    reviews = dedup_raw(reviews, meta)
    kept_items = {k for k, m in meta.items()
                  if d.desc_min_chars <= len(m["description"])
                  and (d.desc_max_chars is None or len(m["description"]) <= d.desc_max_chars)
                  and (not d.require_item_title or m["title"]) and (not d.require_item_categories or m["n_cat"])
                  and (not d.require_rating_number or m["rating_number"])}
    out = []
    for rv in reviews:
        key = (rv["category"], rv["item"])
        if key not in kept_items and (d.require_metadata or key in meta):
            continue
        n = len(rv["text"]) if d.semantics == "paper" else len(normalize(rv["text"]))
        if n < d.min_text_chars or not rv["rating"] or not rv["ts"] or (d.require_review_title and not rv["title"]):
            continue
        rv["id"] = md5_20(rv["category"], rv["user"], rv["item"], str(rv["ts"]), rv["text"])
        rv["ntext"] = normalize(rv["text"])
        out.append(rv)
    if d.semantics == "paper":
        out, core_passes = core_loop(out, d, lambda x: x["text"])
        out = [rv for v in by_user(out).values() for rv in greedy_unique(v, lambda x: x["ntext"])]
    else:
        out = [rv for v in by_user(out).values() for rv in greedy_unique(v, lambda x: x["ntext"])]
        out, core_passes = core_loop(out, d, None)
        while True:  # the history rules and the core loop until neither removes a review
            users = by_user(out)
            bad = {k for k, v in users.items() if not history_ok(v, d, need_extra=True)}
            if not bad:
                break
            out, p = core_loop([rv for rv in out if (rv["category"], rv["user"]) not in bad], d, None)
            core_passes += p
    nt = d.n_targets
    split = {}
    for k, v in by_user(out).items():
        v.sort(key=lambda x: (x["ts"], x["id"]))
        if len(v) > nt:
            split[k] = (v[:-nt], v[-nt:])
    profile_passes = 0
    rules = d.semantics == "paper" and (d.min_history > 0 or d.tie_rule == "drop_user")
    if d.profile_item_min_users or d.profile_min_reviews or rules:
        while True:
            profile_passes += 1
            item_users = defaultdict(set)
            for k, (prof, _) in split.items():
                for rv in prof:
                    item_users[(k[0], rv["item"])].add(k[1])
            new = {}
            for k, (prof, targets) in split.items():
                prof = [rv for rv in prof if len(item_users[(k[0], rv["item"])]) >= d.profile_item_min_users]
                if len(prof) >= max(d.profile_min_reviews, 1) and (
                        not rules or history_ok(prof + targets, d, need_extra=False)):
                    new[k] = (prof, targets)
            changed = len(new) != len(split)
            split = new
            if not changed:
                break
    result = {"reviews": {}, "examples": {}, "history": {}, "core_passes": core_passes,
              "profile_passes": profile_passes}
    for (cat, user), (prof, targets) in split.items():
        seq = prof + targets
        for rv in seq:
            result["reviews"][rv["id"]] = (user, rv["item"], rv["ts"], rv["ntext"])
        for idx, t in enumerate(targets):
            name = "test" if idx == nt - 1 else "val" if idx == nt - 2 else "train"
            eid = md5_20(cat, user, t["id"], name)
            result["examples"][eid] = (name, user, t["id"])
            result["history"][eid] = [rv["id"] for rv in reversed(seq) if rv["ts"] < t["ts"]]
    return result
