"""Exports of a built benchmark, so users of other tools can switch without rebuilding:

- parquet: one file per table (peers materialized from its view) under out/parquet/;
- hf: a `datasets` DatasetDict (train/val/test; one row per example with its history) under out/hf/;
- dpl: the layout the published DPL/DEP code loads with `load_from_disk`: per category,
  DPL-main/{Category} (train/val/test rows `user_id, profile[], data{}`, profile oldest first, review
  dicts with rating, title, text, asin, timestamp) and DPL-meta/{Category} (split "full": asin, title,
  description).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from dpbench.data.sqltext import sql_literal
from dpbench.errors import DataError

PARQUET_TABLES = ("reviews", "items", "examples", "history", "peers", "build_info")
SPLITS = ("train", "val", "test")


def export_benchmark(db: Path, out: Path, formats: tuple[str, ...] | list[str]) -> dict[str, Path]:
    """Write each requested format next to the database; returns {format: folder}."""
    writers = {"parquet": export_parquet, "hf": export_hf, "dpl": export_dpl}
    unknown = [f for f in formats if f not in writers]
    if unknown:
        raise DataError(f"unknown export format {unknown[0]!r}; choose from {', '.join(writers)}")
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {fmt: writers[fmt](con, Path(out)) for fmt in formats}
    finally:
        con.close()


def fresh_dir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def export_parquet(con: duckdb.DuckDBPyConnection, out: Path) -> Path:
    folder = fresh_dir(out / "parquet")
    for t in PARQUET_TABLES:
        con.execute(f"COPY (SELECT * FROM {t}) TO {sql_literal(folder / (t + '.parquet'))} (FORMAT parquet)")
    return folder


def split_arrow(con: duckdb.DuckDBPyConnection, split: str, category: str | None = None):
    """One row per example of a split, with item fields and its history (most recent first)."""
    where = "e.split = ?" + (" AND e.category = ?" if category else "")
    params = [split] + ([category] if category else [])
    return con.sql(
        f"""SELECT e.example_id, e.split, e.user_id, e.item_id, e.category, e.target_review_id, e.target_ts,
                   e.rating, e.review_title, e.reference,
                   coalesce(any_value(i.title), '') AS item_title, coalesce(any_value(i.description), '') AS item_description,
                   coalesce(list({{'review_id': r.review_id, 'item_id': r.item_id, 'rating': r.rating, 'title': r.title,
                                  'text': r.text, 'ts': r.ts}} ORDER BY h.position) FILTER (WHERE h.review_id IS NOT NULL),
                            []) AS history
            FROM examples e LEFT JOIN items i ON i.item_id = e.item_id
            LEFT JOIN history h ON h.example_id = e.example_id LEFT JOIN reviews r ON r.review_id = h.review_id
            WHERE {where} GROUP BY ALL ORDER BY e.example_id""",
        params=params,
    ).to_arrow_table()


def export_hf(con: duckdb.DuckDBPyConnection, out: Path) -> Path:
    from datasets import Dataset, DatasetDict

    folder = out / "hf"
    if folder.exists():
        shutil.rmtree(folder)
    DatasetDict({s: Dataset(split_arrow(con, s)) for s in SPLITS}).save_to_disk(str(folder))
    return folder


def dpl_split_arrow(con: duckdb.DuckDBPyConnection, split: str, category: str):
    return con.sql(
        """SELECT e.user_id,
                  coalesce(list({'rating': r.rating, 'title': r.title, 'text': r.text, 'asin': r.item_id,
                                 'timestamp': r.ts} ORDER BY h.position DESC) FILTER (WHERE h.review_id IS NOT NULL),
                           []) AS profile,
                  {'rating': e.rating, 'title': e.review_title, 'text': e.reference, 'asin': e.item_id,
                   'timestamp': e.target_ts} AS data
           FROM examples e LEFT JOIN history h ON h.example_id = e.example_id
           LEFT JOIN reviews r ON r.review_id = h.review_id
           WHERE e.split = ? AND e.category = ?
           GROUP BY e.example_id, e.user_id, e.rating, e.review_title, e.reference, e.item_id, e.target_ts
           ORDER BY e.user_id, e.target_ts, e.example_id""",
        params=[split, category],
    ).to_arrow_table()


def export_dpl(con: duckdb.DuckDBPyConnection, out: Path) -> Path:
    from datasets import Dataset, DatasetDict

    folder = fresh_dir(out / "dpl")
    categories = [r[0] for r in con.execute("SELECT DISTINCT category FROM examples ORDER BY 1").fetchall()]
    for cat in categories:
        main = DatasetDict({s: Dataset(dpl_split_arrow(con, s, cat)) for s in SPLITS})
        main.save_to_disk(str(folder / "DPL-main" / cat))
        meta = con.sql(
            "SELECT item_id AS asin, title, description FROM items WHERE category = ? ORDER BY item_id", params=[cat]
        ).to_arrow_table()
        DatasetDict({"full": Dataset(meta)}).save_to_disk(str(folder / "DPL-meta" / cat))
    return folder
