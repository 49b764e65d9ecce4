"""Where the kept reviews' texts come from at the end of a build.

Staging derives everything the filters need of a text (stage.derived_sql), so the texts themselves
are read only for the rows that end up in the benchmark. A plain JSON-lines review file is not copied
into the staged table at all: its kept lines are read from the file a second time, which costs less
than writing every text to the staged table and reading it back (5M reviews: ~11 CPU-s less), and the
scratch disk holds only the small columns. Gzip and parquet files would have to be decompressed or
converted again, so their texts are staged as before.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from dpbench.data.sources import RawFile, Stamp
from dpbench.data.sqltext import sql_literal
from dpbench.data.stage import REVIEW_FIELDS, stream_lines
from dpbench.data.workdb import written_join_order
from dpbench.errors import DataError


def check_unchanged(path: Path, stamp: Stamp) -> None:
    if Stamp.of(path) != stamp:
        raise DataError(f"{path} changed while the build was reading it (size or modification time differ "
                        "from the first read); rerun build-data once the file is complete")


def text_sources(con: duckdb.DuckDBPyConnection, files: list[RawFile]) -> list[tuple[int, str | None]]:
    """(file_id, JSON path of its text field) per review file: a path for a file read again, None for
    one whose texts are in the staged table."""
    rows = con.execute("SELECT file_id, texts_staged FROM files WHERE kind = 'reviews' ORDER BY file_id").fetchall()
    return [(fid, None if staged else "$." + REVIEW_FIELDS[files[fid].schema][0][5]) for fid, staged in rows]


def create_with_texts(con: duckdb.DuckDBPyConnection, files: list[RawFile], stamps: dict[int, Stamp],
                      table: str, keep: str, select: str, wrap: str = "{rows}") -> None:
    """CREATE TABLE `table` AS `wrap` (around {rows}: SELECT `select` FROM `keep` k joined with each
    kept row's raw text, written {text} in `select`). `keep` has file_id and line (and whatever
    `select` reads as k.*); it is the small side of every join, so the texts stream past it once and
    are never held in a hash table."""
    verb = f"CREATE TABLE {table} AS"
    for fid, path in text_sources(con, files):
        if path is None:
            source = "(SELECT file_id, line, text FROM staged_reviews WHERE file_id = $fid)"
        else:
            check_unchanged(files[fid].path, stamps[fid])
            con.register("_lines", stream_lines(files[fid].path, None, [0]))
            source = "(SELECT $fid AS file_id, line, text AS raw FROM _lines)"
        # the same extraction as staging's, for the kept lines only (the join runs first)
        text = "t.text" if path is None else f"json_extract_string(t.raw, {sql_literal(path)})"
        rows = f"""SELECT {select.replace('{text}', text)}
                   FROM {source} t JOIN (SELECT * FROM {keep} WHERE file_id = $fid) k
                     ON k.file_id = t.file_id AND k.line = t.line"""
        with written_join_order(con):
            con.execute(f"{verb} {wrap.replace('{rows}', rows)}", {"fid": fid})
        if path is not None:
            con.unregister("_lines")
        verb = f"INSERT INTO {table}"
    if verb.startswith("CREATE"):  # no review file at all: an empty table of the right shape
        rows = f"SELECT {select.replace('{text}', 'NULL::VARCHAR')} FROM {keep} k LIMIT 0"
        con.execute(f"CREATE TABLE {table} AS {wrap.replace('{rows}', rows)}")

