"""Small hand-written raw files in the Amazon 2023 format for the data tests."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

DAY = 86_400_000
BASE = 1_600_000_000_000


def write_jsonl(path: Path, rows: list, gz: bool = True) -> Path:
    """rows: dicts (dumped as JSON) or raw bytes/str lines written as they are."""
    lines = []
    for r in rows:
        if isinstance(r, bytes):
            lines.append(r)
        elif isinstance(r, str):
            lines.append(r.encode("utf-8"))
        else:
            lines.append(json.dumps(r).encode("utf-8"))
    data = b"\n".join(lines) + b"\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        with gzip.GzipFile(path, "wb", mtime=0) as f:
            f.write(data)
    else:
        path.write_bytes(data)
    return path


def meta(item: str, *, desc=None, title: str = "A title", cats=("Books",), rating_number: int = 10) -> dict:
    return {"parent_asin": item, "main_category": "Books", "title": title,
            "description": [f"Description of {item}. " + "x" * 120] if desc is None else desc,
            "categories": list(cats), "rating_number": rating_number, "features": [], "details": {}}


def review(user: str, item: str, ts: int, text: str | None = None, *, title: str = "Review title",
           rating: float = 4.0) -> dict:
    if text is None:
        text = long_text(user, item)
    return {"rating": rating, "title": title, "text": text, "images": [], "asin": item, "parent_asin": item,
            "user_id": user, "timestamp": ts, "helpful_vote": 0, "verified_purchase": True}


def long_text(user: str, item: str, n: int = 220) -> str:
    head = f"{user} writes about {item}: "
    return (head + "this one held my attention from start to finish " * 10)[:n].rstrip()


def g(j: int) -> str:
    return f"G{j:02d}"


def write_paper_fixture(folder: Path) -> list[Path]:
    """The hand-checked fixture of tests/data/test_paper_hand.py (its docstring explains each row)."""
    items = [meta(g(j)) for j in range(20)] + [
        meta("PD", desc=["Product Description", "y" * 120]), meta("Z"), meta("Q"),
        meta("B_short", desc=["s" * 99]), meta("B_long", desc=["l" * 2001]), meta("B_notitle", title=""),
        meta("B_nocat", cats=()), meta("B_rn0", rating_number=0), meta("B_pdonly", desc=["Product Description"]),
    ]
    U = [f"U{k:02d}" for k in range(12)]
    P = [f"P{k}" for k in range(4)]
    rows = []
    for k, u in enumerate(U):  # every core user reviews G00..G19, in that order in time
        rows += [review(u, g(j), BASE + j * DAY + k) for j in range(20)]
    for n, bad in enumerate(("B_short", "B_long", "B_notitle", "B_nocat", "B_rn0", "B_pdonly")):
        rows.append(review("U00", bad, BASE - 10 * DAY + n))
    rows.append(review("U01", "PD", BASE - DAY + 1, long_text("U01", "PD", 199)))  # 199 chars: too short
    rows.append(review("U02", "PD", BASE - DAY + 2, title=""))  # no review title
    for k in range(3, 11):  # U03..U10 review PD (old); U03's text equals its G00 text up to whitespace
        text = "  " + long_text("U03", g(0)).replace(" ", "  ", 3) if k == 3 else None
        rows.append(review(U[k], "PD", BASE - DAY + k, text))
    v_texts = {15: long_text("V", "same"), 16: long_text("V", "same")}
    rows += [review("V", g(j), BASE + j * DAY + 50, v_texts.get(j)) for j in range(17)]
    rows += [review(U[k], "Z", BASE - 3 * DAY + k) for k in range(7)] + [review("V", "Z", BASE - 3 * DAY + 50)]
    rows.append(review("U11", g(4), BASE + 4 * DAY + DAY // 2, long_text("U11", g(5))))  # B: G04 with G05's text
    rows.append(rows[20])  # U01's first line repeated: an exact duplicate
    for k, p in enumerate(P):
        rows.append(review(p, "Q", BASE - 2 * DAY + k))
        rows += [review(p, g(j), BASE + j * DAY + 60 + k) for j in list(range(7)) + list(range(10, 20))]
    rows += [review(U[k], "Q", BASE + 30 * DAY + k) for k in range(4)]
    return [write_jsonl(folder / "Books.jsonl.gz", rows), write_jsonl(folder / "meta_Books.jsonl.gz", items)]
