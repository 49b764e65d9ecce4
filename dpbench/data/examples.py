"""Read examples (with history and leak-free peers) out of a built benchmark.duckdb.

This is the only place runs read the benchmark, so methods see plain dataclasses and never SQL.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dpbench.data.sqltext import dict_rows
from dpbench.errors import DataError


@dataclass(frozen=True)
class Item:
    item_id: str
    title: str
    description: str
    category: str


@dataclass(frozen=True)
class Review:
    review_id: str
    user_id: str
    item_id: str
    rating: float
    title: str
    text: str
    ts: int  # milliseconds


@dataclass(frozen=True)
class HistoryEntry:
    position: int  # 0 = most recent before the target
    review: Review
    item: Item


@dataclass
class Example:
    example_id: str
    split: str
    user_id: str
    item: Item
    target_review_id: str
    target_ts: int
    rating: float
    review_title: str
    reference: str
    history: list[HistoryEntry] = field(default_factory=list)
    # item_id -> other users' reviews of that history item written before target_ts (newest first)
    peers: dict[str, list[Review]] = field(default_factory=dict)


BENCHMARK_TABLES = ("reviews", "items", "examples", "history", "peers", "build_info")


def benchmark_path(data: str | Path) -> Path:
    """Accept data/NAME or data/NAME/benchmark.duckdb."""
    p = Path(data)
    if p.is_dir():
        p = p / "benchmark.duckdb"
    if not p.is_file():
        raise DataError(f"no benchmark at {p}: build one with `dpbench build-data --out {Path(data)}`")
    return p


def connect(data: str | Path, require_all: bool = True) -> duckdb.DuckDBPyConnection:
    """A read-only connection to a built benchmark; a DataError naming the file when it is not a DuckDB
    database, holds none of the benchmark tables or (require_all) lacks some of them."""
    p = benchmark_path(data)
    try:
        con = duckdb.connect(str(p), read_only=True)
        found = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    except duckdb.Error as e:
        reason = str(e).strip().splitlines()[0][:200]
        raise DataError(f"{p} is not a readable DuckDB database ({reason}); rebuild it with "
                        f"`dpbench build-data --out {p.parent}`") from None
    missing = [t for t in BENCHMARK_TABLES if t not in found]
    if len(missing) == len(BENCHMARK_TABLES) or (require_all and missing):
        con.close()
        what = "holds no dpbench benchmark tables" if len(missing) == len(BENCHMARK_TABLES) else \
            f"lacks the benchmark tables {', '.join(missing)}"
        raise DataError(f"{p} is a DuckDB database but {what} (expected {', '.join(BENCHMARK_TABLES)}); "
                        f"build one with `dpbench build-data --out {p.parent}`")
    return con


def benchmark_fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute("SELECT value FROM build_info WHERE key = 'fingerprint'").fetchone()
    return str(row[0]) if row else ""


def in_shard(example_id: str, shard: tuple[int, int] | None) -> bool:
    if shard is None:
        return True
    i, n = shard
    return int(hashlib.sha256(example_id.encode()).hexdigest()[:8], 16) % n == i


def parse_shard(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise DataError(f"--shard must look like I/N (e.g. 0/4), got {text!r}") from None
    if not (n >= 1 and 0 <= i < n):
        raise DataError(f"--shard {text}: need 0 <= I < N")
    return i, n


def select_example_ids(
    con: duckdb.DuckDBPyConnection, split: str, limit: int | None = None, shard: tuple[int, int] | None = None
) -> list[str]:
    """The examples a run covers: ordered by example_id (a content hash, so the first N are a
    deterministic pseudo-random sample), limited, then split into shards by a hash of the id,
    so N machines with the same --limit together cover exactly the same set as one machine."""
    if split not in ("train", "val", "test"):
        raise DataError(f"unknown split {split!r}; choose train, val or test")
    q = "SELECT example_id FROM examples WHERE split = ? ORDER BY example_id"
    ids = [r[0] for r in con.execute(q, [split]).fetchall()]
    if limit is not None:
        ids = ids[:limit]
    return [i for i in ids if in_shard(i, shard)]


def _review(r: dict) -> Review:
    return Review(r["review_id"], r["user_id"], r["item_id"], float(r["rating"]) if r["rating"] is not None else 0.0,
                  r["title"] or "", r["text"] or "", int(r["ts"]))


def _item(r: dict) -> Item:
    return Item(r["item_id"], r["item_title"] or "", r["item_description"] or "", r["item_category"] or "")


_ITEM_COLS = ("coalesce(i.title, '') AS item_title, coalesce(i.description, '') AS item_description, "
              "coalesce(i.category, '') AS item_category")


def load_examples(
    con: duckdb.DuckDBPyConnection,
    example_ids: list[str],
    with_peers: bool = False,
    max_peers_per_item: int | None = None,
) -> list[Example]:
    """Examples in the order of `example_ids`, with history (and peers when asked)."""
    if not example_ids:
        return []
    con.execute("CREATE OR REPLACE TEMP TABLE _want AS SELECT unnest(?::VARCHAR[]) AS example_id", [example_ids])
    rows = dict_rows(
        con, f"""SELECT e.example_id, e.split, e.user_id, e.target_review_id, e.target_ts, e.rating,
                        e.review_title, e.reference, e.item_id, {_ITEM_COLS}
                 FROM examples e JOIN _want w USING (example_id)
                 LEFT JOIN items i ON i.item_id = e.item_id""")
    by_id: dict[str, Example] = {}
    for r in rows:
        by_id[r["example_id"]] = Example(
            r["example_id"], r["split"], r["user_id"], _item(r), r["target_review_id"], int(r["target_ts"]),
            float(r["rating"] or 0), r["review_title"] or "", r["reference"] or "")
    missing = [i for i in example_ids if i not in by_id]
    if missing:
        raise DataError(f"{len(missing)} example ids are not in this benchmark (first: {missing[0]})")

    hist = dict_rows(
        con, f"""SELECT h.example_id, h.position, r.review_id, r.user_id, r.item_id, r.rating, r.title, r.text, r.ts,
                        {_ITEM_COLS}
                 FROM history h JOIN _want w USING (example_id)
                 JOIN reviews r ON r.review_id = h.review_id
                 LEFT JOIN items i ON i.item_id = r.item_id
                 ORDER BY h.example_id, h.position""")
    for r in hist:
        by_id[r["example_id"]].history.append(HistoryEntry(int(r["position"]), _review(r), _item(r)))

    if with_peers:
        lim = "" if max_peers_per_item is None else (
            "QUALIFY row_number() OVER (PARTITION BY p.example_id, p.item_id "
            "ORDER BY p.peer_ts DESC, p.peer_review_id) <= $max_peers")
        peer_rows = dict_rows(
            con, f"""SELECT p.example_id, r.review_id, r.user_id, r.item_id, r.rating, r.title, r.text, r.ts
                     FROM peers p JOIN _want w USING (example_id)
                     JOIN reviews r ON r.review_id = p.peer_review_id
                     {lim}
                     ORDER BY p.example_id, r.item_id, r.ts DESC, r.review_id""",
            {"max_peers": int(max_peers_per_item)} if max_peers_per_item is not None else None)
        grouped: dict[str, dict[str, list[Review]]] = defaultdict(lambda: defaultdict(list))
        for r in peer_rows:
            rv = _review(r)
            grouped[r["example_id"]][rv.item_id].append(rv)
        for eid, d in grouped.items():
            by_id[eid].peers = dict(d)
    con.execute("DROP TABLE IF EXISTS _want")
    return [by_id[i] for i in example_ids]
