"""The build's DuckDB connection: an in-memory work database, the staged texts (in memory or a scratch
file), the output database attached for the public tables, and helpers to run and drop work tables."""

from __future__ import annotations

from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb

from dpbench.data import peers
from dpbench.data.sources import RawFile, reread
from dpbench.data.sqltext import sql_int, sql_literal
from dpbench.recipes import Recipe

WORK_DB = "work"
TEXTS_DB = "texts"


_UNITS = {"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def size_bytes(size: str) -> float:
    """'2GB' / '512MiB' / '1.5 GB' (the recipe model has checked the form) in bytes."""
    number = "".join(ch for ch in size if ch.isdigit() or ch == ".")
    return float(number) * _UNITS[size[len(number):].strip().lower()]


def texts_in_memory(files: list[RawFile], memory_limit: str) -> bool:
    """Whether the staged review texts fit in memory uncompressed: the review files' decompressed size
    (gzip taken as 4x) under half the memory limit. Writing them to the scratch file costs ~8 CPU-s per
    GB of text (1M reviews: 7 of a 45 CPU-s build); held in memory they cost nothing extra."""
    return staged_text_bytes(files) < 0.5 * size_bytes(memory_limit)


def texts_uncompressed(files: list[RawFile], folder: Path) -> bool:
    """Staged texts on disk go uncompressed when the disk has room (4x the review files' decompressed
    size free): DuckDB's zstd costs ~5 CPU-s per GB of text to write (5M reviews: ~18 of ~155 CPU-s) and
    more to read back, for a scratch file deleted at the end; uncompressed it takes ~1.7x the text size."""
    import shutil

    return shutil.disk_usage(folder).free > 4 * staged_text_bytes(files)


def staged_text_bytes(files: list[RawFile]) -> float:
    """The decompressed size (gzip taken as 4x) of the review files whose texts are staged: a plain
    review file's texts are read again at the end instead (texts.py)."""
    return sum(f.path.stat().st_size * (4 if f.path.name.endswith(".gz") else 1) for f in files
               if f.kind == "reviews" and not reread(f))


def connect_build(spill: Path, recipe: Recipe, texts_memory: bool = False) -> duckdb.DuckDBPyConnection:
    """The working tables live in an in-memory database (no WAL or checkpoints for the many
    intermediate tables) that spills to `spill` beyond the recipe's memory limit; only the final
    tables go to disk. The staged review texts, the one big thing, are held in memory when they fit
    (texts_memory) and otherwise go to a scratch database file, whose blocks are evicted without being
    written again (5M reviews held in memory had to spill); stage_files writes it compressed or not
    (texts_uncompressed)."""
    con = duckdb.connect()
    con.execute(f"ATTACH ':memory:' AS {WORK_DB} (COMPRESS)")
    con.execute(f"USE {WORK_DB}")
    spill.mkdir(parents=True, exist_ok=True)
    texts = "':memory:'" if texts_memory else sql_literal(spill / "texts.duckdb")
    con.execute(f"ATTACH {texts} AS {TEXTS_DB}")
    con.execute(f"SET search_path = '{WORK_DB}.main,{TEXTS_DB}.main'")
    con.execute("SET enable_progress_bar = false")
    set_memory(con, recipe.data.duckdb_memory_limit)
    con.execute(f"SET temp_directory = {sql_literal(spill)}")
    con.execute("SET preserve_insertion_order = false")
    if recipe.data.duckdb_threads:
        con.execute(f"SET threads = {sql_int(recipe.data.duckdb_threads)}")
    return con


def set_memory(con: duckdb.DuckDBPyConnection, limit: str) -> None:
    """DuckDB's memory limit, with its blocks from one reserved pool of that size: a 5M build spent
    ~25 s of system time mapping and unmapping blocks without it (older DuckDB has no such setting)."""
    con.execute(f"SET memory_limit = {sql_literal(limit)}")  # a size, checked by the recipe model
    with suppress(duckdb.Error):
        con.execute(f"SET block_allocator_memory = {sql_literal(limit)}")


def attach_output(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Make the database file the default for new tables, so the public tables are written once,
    straight to disk; the work tables stay in memory and are still found by name."""
    con.execute(f"ATTACH {sql_literal(path)} AS bench")
    con.execute("USE bench")
    con.execute(f"SET search_path = 'bench.main,{WORK_DB}.main,{TEXTS_DB}.main'")


def save_tables(con: duckdb.DuckDBPyConnection, path: Path, max_peers_per_item: int | None) -> None:
    """Detach the finished database file, then add the peers view there."""
    con.execute(f"USE {WORK_DB}")
    con.execute("DETACH bench")
    out = duckdb.connect(str(path))
    try:
        peers.create_peer_view(out, max_peers_per_item)
        out.execute("CHECKPOINT")
    finally:
        out.close()


@contextmanager
def written_join_order(con: duckdb.DuckDBPyConnection):
    """Joins run as written (left = probe, right = hash-table side) while the block runs."""
    try:
        con.execute("SET disabled_optimizers = 'join_order,build_side_probe_side'")
    except duckdb.Error:  # an older DuckDB without one of these optimizers: leave the plan to it
        yield
        return
    try:
        yield
    finally:
        con.execute("RESET disabled_optimizers")


def drop_work_tables(con: duckdb.DuckDBPyConnection, names) -> None:
    """Drop these tables and views wherever they are among the working databases."""
    found = con.execute(
        """SELECT database_name, table_name, 'TABLE' FROM duckdb_tables() WHERE database_name IN (?, ?)
           UNION ALL SELECT database_name, view_name, 'VIEW' FROM duckdb_views() WHERE database_name IN (?, ?)""",
        [WORK_DB, TEXTS_DB, WORK_DB, TEXTS_DB],
    ).fetchall()
    for db, name, kind in found:
        if name in names:
            con.execute(f"DROP {kind} {db}.main.{name}")
