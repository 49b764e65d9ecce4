"""Stage raw lines into typed DuckDB rows, each row either clean or carrying the reason it was rejected.

Parsing is SQL over Arrow batches of numbered lines (dpbench/data/sources.py): one `json_extract`
per line pulls every field of the file's release, and a CASE names the first problem of a row
(invalid UTF-8, malformed JSON, a missing or mistyped field, empty text). Duplicates and reviews of
items without metadata are marked afterwards, across files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dpbench.data.markup import MARKUP_RE
from dpbench.data.sources import RawFile, Stamp, iter_line_batches, reread
from dpbench.data.sqltext import sql_int, sql_literal
from dpbench.data.whitespace import blank_sql, needs_normalize_sql, rewrite_whitespace_sql
from dpbench.errors import DataError

# Field paths per release: reviews (user, item, item fallback, rating, title, text, time, time scale).
REVIEW_FIELDS = {
    "2023": (("user_id", "parent_asin", "asin", "rating", "title", "text", "timestamp"), 1),
    "2018": (("reviewerID", "asin", "asin", "overall", "summary", "reviewText", "unixReviewTime"), 1000),
    "2014": (("reviewerID", "asin", "asin", "overall", "summary", "reviewText", "unixReviewTime"), 1000),
}
# Metadata: item, title, description, categories, rating_number (None: the release has no such field).
META_FIELDS = {
    "2023": ("parent_asin", "title", "description", "categories", "rating_number"),
    "2018": ("asin", "title", "description", "category", None),
    "2014": ("asin", "title", "description", "categories", None),
}
_BAD_SCALAR = "('ARRAY', 'OBJECT', 'BOOLEAN')"


@dataclass
class StageStats:
    files: list[dict] = field(default_factory=list)
    lines: int = 0
    stamps: dict[int, Stamp] = field(default_factory=dict)  # files whose texts are read again


def create_stage_tables(con: duckdb.DuckDBPyConnection, texts_db: str | None = None) -> None:
    """texts_db: the attached database that holds staged_reviews (default: the current one)."""
    staged = f"{texts_db}.main.staged_reviews" if texts_db else "staged_reviews"
    con.execute(
        f"""CREATE TABLE files(file_id INTEGER, path VARCHAR, name VARCHAR, kind VARCHAR, category VARCHAR,
                              schema VARCHAR, sha256 VARCHAR, bytes BIGINT, lines BIGINT,
                              texts_staged BOOLEAN);  -- false: read again at the end (texts.py)
           CREATE TABLE {staged}(file_id INTEGER, line BIGINT, reason VARCHAR, category VARCHAR,
                              user_id VARCHAR, item_id VARCHAR, rating DOUBLE, title VARCHAR, text VARCHAR,
                              ts BIGINT, release VARCHAR,
                              -- what the filters need of a clean row's text, derived in the same pass
                              -- (derived_sql), so only the final reviews table reads the texts again
                              review_id VARCHAR, th_raw UBIGINT, th_norm UBIGINT, ntext VARCHAR, n_chars INTEGER);
           -- Rejects found across files (duplicates, items without metadata) are rows here, not
           -- UPDATEs: the first UPDATE of the big compressed staged table costs seconds per million rows.
           CREATE TABLE review_marks(file_id INTEGER, line BIGINT, reason VARCHAR);
           CREATE TABLE meta_repairs(file_id INTEGER, line BIGINT, kind VARCHAR);
           CREATE VIEW stage_reviews AS
             SELECT s.* REPLACE (coalesce(s.reason, m.reason) AS reason)
             FROM staged_reviews s LEFT JOIN review_marks m USING (file_id, line);
           -- desc_parts: the raw description list, kept only where the row may hold markup (markup.py)
           CREATE TABLE stage_meta(file_id INTEGER, line BIGINT, reason VARCHAR, category VARCHAR,
                              item_id VARCHAR, title VARCHAR, description VARCHAR, n_categories INTEGER,
                              rating_number DOUBLE, release VARCHAR, raw_desc_chars INTEGER,
                              desc_parts VARCHAR[], has_markup BOOLEAN);"""
    )


def _missing(t: str) -> str:
    return f"({t} IS NULL OR {t} = 'NULL')"


def parsed_cte(paths: str) -> str:
    """One pass of json_type and one of json_extract_string over each line (both take a list of
    paths, so each parses the line once); `try` turns a parse error into NULL: a malformed line."""
    return f"""
    WITH v AS (
      SELECT line, text, text IS NULL AS bad_utf8,
             CASE WHEN starts_with(text, '{{') OR starts_with(ltrim(text), '{{')
                  THEN try(json_type(text, [{paths}])) END AS t
      FROM chunk),
    f AS (
      SELECT line, bad_utf8, t IS NOT NULL AS ok, text, t,
             CASE WHEN t IS NOT NULL THEN json_extract_string(text, [{paths}]) END AS s
      FROM v)"""


def review_select_sql(rf: RawFile, normalize: bool = True, keep_text: bool = True) -> str:
    """Parameters: file_id, category, release. Field names and the scale come from REVIEW_FIELDS.
    normalize: derive the whitespace-normalized text too (simple semantics; see derived_sql).
    keep_text: store the raw text (else NULL: the file is read again for its kept rows, texts.py)."""
    (user, item, item2, rating, title, text, ts), scale = REVIEW_FIELDS[rf.schema]
    paths = ", ".join(f"'$.{p}'" for p in (user, item, item2, rating, title, text, ts))
    return parsed_cte(paths) + f""",
    g AS (
      SELECT line, bad_utf8, ok, t[1] AS t_user, s[1] AS user_id,
             coalesce(nullif(t[2], 'NULL'), t[3]) AS t_item, coalesce(s[2], s[3]) AS item_id,
             t[4] AS t_rating, try_cast(s[4] AS DOUBLE) AS rating, t[5] AS t_title, s[5] AS title,
             t[6] AS t_text, s[6] AS txt, t[7] AS t_ts, try_cast(s[7] AS DOUBLE) AS ts_raw
      FROM f),
    r AS (
    SELECT $file_id::INTEGER AS file_id, line,
      CASE WHEN bad_utf8 THEN 'invalid_utf8'
           WHEN NOT ok THEN 'malformed_json'
           WHEN {_missing('t_user')} OR user_id = '' THEN 'missing_field:{user}'
           WHEN t_user IN {_BAD_SCALAR} THEN 'mistyped_field:{user}'
           WHEN {_missing('t_item')} OR item_id = '' THEN 'missing_field:{item}'
           WHEN t_item IN {_BAD_SCALAR} THEN 'mistyped_field:{item}'
           WHEN {_missing('t_rating')} THEN 'missing_field:{rating}'
           WHEN rating IS NULL OR t_rating IN {_BAD_SCALAR} OR isnan(rating) THEN 'mistyped_field:{rating}'
           WHEN {_missing('t_text')} THEN 'missing_field:{text}'
           WHEN t_text <> 'VARCHAR' THEN 'mistyped_field:{text}'
           WHEN {blank_sql('txt')} THEN 'empty_text'
           WHEN {_missing('t_ts')} THEN 'missing_field:{ts}'
           WHEN ts_raw IS NULL OR t_ts IN {_BAD_SCALAR} OR isnan(ts_raw) THEN 'mistyped_field:{ts}'
           WHEN t_title IN {_BAD_SCALAR} THEN 'mistyped_field:{title}'
      END AS reason,
      $category::VARCHAR AS category, user_id, item_id, rating, coalesce(title, '') AS title, txt AS text,
      CAST(round(ts_raw * {int(scale)}) AS BIGINT) AS ts, $release::VARCHAR AS release
    FROM g),
    {derived_sql(normalize, keep_text)}"""


def derived_sql(normalize: bool, keep_text: bool = True) -> str:
    """The CTE tail over `r` (the parsed rows) that adds what the filters need of a clean row's text:
    review_id (the content id: md5 of category, user, item, time and raw text), th_raw (a 64-bit hash
    of the raw text, what the paper's core loop compares), and with normalize the normalized text
    where it differs (ntext), its hash (th_norm) and its length (n_chars); without it, the raw text's
    hash and length (paper semantics normalize only the core loop's survivors, filters.py)."""
    if normalize:
        ntext = f"CASE WHEN {needs_normalize_sql('text')} THEN nullif({rewrite_whitespace_sql('text')}, text) END"
    else:
        ntext = "NULL::VARCHAR"
    return f"""n AS (
      SELECT *, CASE WHEN reason IS NULL THEN hash(text) END AS th_raw,
             CASE WHEN reason IS NULL THEN {ntext} END AS ntext
      FROM r)
    SELECT *{'' if keep_text else ' REPLACE (NULL::VARCHAR AS text)'},
           CASE WHEN reason IS NULL
                THEN substr(md5(concat_ws(chr(31), category, user_id, item_id, ts::VARCHAR, text)), 1, 20) END AS review_id,
           CASE WHEN ntext IS NULL THEN th_raw ELSE hash(ntext) END AS th_norm,
           CASE WHEN reason IS NULL THEN length(coalesce(ntext, text))::INTEGER END AS n_chars
    FROM n"""


def meta_select_sql(rf: RawFile) -> str:
    """Parameters: file_id, category, release."""
    item, title, desc, cats, rnum = META_FIELDS["2023" if rf.schema == "empty" else rf.schema]
    paths = ", ".join(f"'$.{p}'" for p in (item, title, desc, cats) + ((rnum,) if rnum else ()))
    markup = sql_literal(MARKUP_RE)  # our constant, inlined: a parameter would compile the regex per row
    rnum_sql = "t[5] AS t_rnum, try_cast(s[5] AS DOUBLE) AS rnum" if rnum else "NULL AS t_rnum, NULL::DOUBLE AS rnum"
    return parsed_cte(paths) + f""",
    g AS (
      SELECT line, bad_utf8, ok, t[1] AS t_item, s[1] AS item_id, t[2] AS t_title, s[2] AS title, t[3] AS t_desc,
             CASE t[3] WHEN 'ARRAY' THEN from_json(json_extract(text, '$.{desc}'), '["VARCHAR"]')
                       WHEN 'VARCHAR' THEN [s[3]] ELSE [] END AS dl,
             {rnum_sql},
             CASE WHEN t[4] = 'ARRAY' THEN json_array_length(text, '$.{cats}') ELSE 0 END AS n_cat
      FROM f),
    h AS (
      SELECT *,
        -- DPL's create_description: drop a leading "Product Description" entry, join with spaces
        CASE WHEN len(dl) = 0 THEN ''
             WHEN dl[1] = 'Product Description' THEN array_to_string(dl[2:], ' ')
             ELSE array_to_string(dl, ' ') END AS description
      FROM g)
    SELECT $file_id::INTEGER AS file_id, line,
      CASE WHEN bad_utf8 THEN 'invalid_utf8'
           WHEN NOT ok THEN 'malformed_json'
           WHEN {_missing('t_item')} OR item_id = '' THEN 'missing_field:{item}'
           WHEN t_item IN {_BAD_SCALAR} THEN 'mistyped_field:{item}'
           WHEN t_title IN {_BAD_SCALAR} THEN 'mistyped_field:{title}'
           WHEN t_desc IN ('OBJECT', 'BOOLEAN', 'BIGINT', 'UBIGINT', 'DOUBLE') THEN 'mistyped_field:{desc}'
      END AS reason,
      $category::VARCHAR AS category, item_id, title, description, n_cat AS n_categories, rnum AS rating_number,
      $release::VARCHAR AS release, length(description)::INTEGER AS raw_desc_chars,
      CASE WHEN regexp_matches(description, {markup}) THEN dl END AS desc_parts,
      regexp_matches(coalesce(title, ''), {markup}) OR regexp_matches(description, {markup}) AS has_markup
    FROM h"""


def stage_files(
    con: duckdb.DuckDBPyConnection,
    files: list[RawFile],
    *,
    strict: bool = False,
    progress: Callable[[str], None] | None = None,
    texts_db: str | None = None,
    uncompressed_texts: bool = False,
    normalize: bool = True,
) -> StageStats:
    """Parse every file into stage_reviews / stage_meta; with strict, stop at the first bad line.
    uncompressed_texts: write the staged reviews without compression (a scratch file with disk to spare).
    normalize: derive each review's normalized text while parsing (simple semantics)."""
    create_stage_tables(con, texts_db)
    stats = StageStats()
    for file_id, rf in enumerate(files):
        if progress:
            progress(f"reading {rf.path.name}")
        n_lines = 0
        hasher = hashlib.sha256()
        again = reread(rf)
        if again:
            stats.stamps[file_id] = Stamp.of(rf.path)
        if rf.schema != "empty":
            plain = uncompressed_texts and rf.kind == "reviews" and not again
            if plain:
                con.execute("SET force_compression = 'uncompressed'")
            try:
                n_lines = insert_file(con, files, file_id, rf, strict, hasher, normalize, keep_text=not again)
            finally:
                if plain:
                    con.execute("RESET force_compression")
        size = rf.path.stat().st_size
        con.execute(
            "INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [file_id, str(rf.path), rf.path.name, rf.kind, rf.category, rf.schema, hasher.hexdigest(), size, n_lines,
             not again],
        )
        stats.lines += n_lines
    return stats


def insert_file(con: duckdb.DuckDBPyConnection, files: list[RawFile], file_id: int, rf: RawFile, strict: bool,
                hasher, normalize: bool = True, keep_text: bool = True) -> int:
    """Stage one file's lines; the number of its last line."""
    # reviews are written to the table behind the stage_reviews view, which also holds the later marks
    table, checked = ("staged_reviews", "stage_reviews") if rf.kind == "reviews" else ("stage_meta", "stage_meta")
    sql = review_select_sql(rf, normalize, keep_text) if rf.kind == "reviews" else meta_select_sql(rf)
    params = {"file_id": file_id, "category": rf.category, "release": rf.schema}
    n_lines = 0
    if strict:  # one query per block, so the build stops at the first block with a bad line
        for chunk in iter_line_batches(rf.path, hasher=hasher):
            n_lines = max(n_lines, int(chunk["line"][-1].as_py())) if len(chunk) else n_lines
            con.register("chunk", chunk)
            con.execute(f"INSERT INTO {table} BY NAME {sql}", params)
            con.unregister("chunk")
            raise_first_reject(con, files, checked, file_id)
        return n_lines
    last = [0]  # one streaming query per file: half the CPU of a query per block
    con.register("chunk", stream_lines(rf.path, hasher, last))
    con.execute(f"INSERT INTO {table} BY NAME {sql}", params)
    con.unregister("chunk")
    return last[0]


def stream_lines(path: Path, hasher, last: list[int]):
    """The file's numbered lines as one Arrow stream (read lazily, block by block); `last[0]` ends
    up as the last line number seen. A reader thread reads and splits the next blocks while DuckDB
    parses the current one (DuckDB pulls the stream on one thread and releases the GIL meanwhile;
    reading, numpy splitting and UTF-8 checks release it too), so the two overlap."""
    import queue
    import threading

    import pyarrow as pa

    schema = pa.schema([("line", pa.int64()), ("text", pa.large_string())])
    blocks: queue.Queue = queue.Queue(maxsize=2)
    done = object()
    stop = threading.Event()

    def read() -> None:
        try:
            for chunk in iter_line_batches(path, hasher=hasher):
                while not stop.is_set():
                    try:
                        blocks.put(chunk.cast(schema), timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            blocks.put(done)
        except BaseException as e:  # handed to the consumer, raised there
            blocks.put(e)

    reader = threading.Thread(target=read, name=f"read-{path.name}", daemon=True)

    def batches():
        reader.start()
        try:
            while (chunk := blocks.get()) is not done:
                if isinstance(chunk, BaseException):
                    raise chunk
                if len(chunk):
                    last[0] = max(last[0], int(chunk["line"][-1].as_py()))
                yield from chunk.to_batches()
        finally:
            stop.set()
            reader.join()

    return pa.RecordBatchReader.from_batches(schema, batches())


def raise_first_reject(
    con: duckdb.DuckDBPyConnection, files: list[RawFile], table: str, file_id: int | None = None
) -> None:
    """--strict: a DataError naming the first bad line (file:line) and why it is bad."""
    row = con.execute(
        f"""SELECT file_id, line, reason FROM {table} WHERE reason IS NOT NULL AND ($file_id IS NULL OR file_id = $file_id)
            ORDER BY file_id, line LIMIT 1""", {"file_id": file_id}
    ).fetchone()
    if row:
        path = files[row[0]].path
        raise DataError(
            f"{path}:{row[1]}: {explain_reason(row[2])} (--strict stops at the first bad line; "
            "without --strict such lines are skipped, counted and listed in build_report.json)"
        )


def explain_reason(reason: str) -> str:
    kind, _, fld = reason.partition(":")
    return {
        "invalid_utf8": "the line is not valid UTF-8",
        "malformed_json": "the line is not a JSON object",
        "missing_field": f"required field {fld!r} is missing or null",
        "mistyped_field": f"field {fld!r} has the wrong type",
        "empty_text": "the review text is empty",
        "duplicate": "duplicate of another review (same user, item, time and text)" if not fld
        else f"duplicate ({fld})",
        "item_without_metadata": "the reviewed item has no metadata row",
    }.get(kind, reason)


def mark_cross_file_rejects(con: duckdb.DuckDBPyConnection, require_metadata: bool) -> None:
    """Duplicates (exact; and one review repeated across variant items, for every release) and,
    when the recipe needs metadata, reviews of items that have none. Choices are by content, so
    file and line order never change the outcome."""
    con.execute(
        """UPDATE stage_meta SET reason = 'duplicate:item_id' WHERE reason IS NULL AND (file_id, line) IN (
             SELECT (file_id, line) FROM (
               SELECT file_id, line, row_number() OVER (PARTITION BY category, item_id
                 ORDER BY length(description) DESC, title, description, n_categories DESC, rating_number DESC) AS rn
               FROM stage_meta WHERE reason IS NULL) WHERE rn > 1)"""
    )
    # Both kinds of duplicate share (category, user, time): find the repeated keys by one 64-bit hash
    # of them (grouping millions of string tuples cost seconds), then rank only those candidate rows
    # by their exact user and time, so a collision of that hash changes nothing. Texts are compared by
    # their staged digests, as the texts themselves may not be staged (texts.py): an exact duplicate
    # has the same th_raw (64-bit) and review_id (md5 of category, user, item, time and text); a copy
    # on a variant item, the same th_raw within one user and time. No review is marked yet, so the
    # staged table is read without the marks view.
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _cand AS
           WITH keys AS (SELECT hash(category, user_id, ts) AS k FROM staged_reviews
                         WHERE reason IS NULL GROUP BY k HAVING count(*) > 1)
           SELECT s.file_id, s.line, s.category, s.user_id, s.item_id, s.ts, s.th_raw, s.review_id, s.rating, s.title
           FROM staged_reviews s SEMI JOIN keys k ON hash(s.category, s.user_id, s.ts) = k.k
           WHERE s.reason IS NULL"""
    )
    # Exact duplicates: the same user, item, time and text; the lowest rating (then title) stays.
    con.execute(
        """INSERT INTO review_marks SELECT file_id, line, 'duplicate' FROM (
             SELECT file_id, line, row_number() OVER (PARTITION BY category, user_id, item_id, ts, th_raw, review_id
                                                      ORDER BY rating, title) AS rn FROM _cand) WHERE rn > 1"""
    )
    # One review repeated across variant items (2018 5-core files repeat it across variant asins; a
    # 2023-layout copy of such a file holds the same rows): the same rule for every release, so a set
    # and its conversion give one benchmark. Keep the copy whose item has metadata, then the smallest id.
    con.execute(
        """INSERT INTO review_marks SELECT file_id, line, 'duplicate:variant_asin' FROM (
             SELECT c.file_id, c.line, row_number() OVER (PARTITION BY c.category, c.user_id, c.th_raw, c.ts
                                                          ORDER BY (m.item_id IS NULL), c.item_id) AS rn
             FROM _cand c ANTI JOIN review_marks d ON d.file_id = c.file_id AND d.line = c.line
             LEFT JOIN (SELECT DISTINCT category, item_id FROM stage_meta WHERE reason IS NULL) m
               ON m.category = c.category AND m.item_id = c.item_id) WHERE rn > 1"""
    )
    con.execute("DROP TABLE _cand")
    if require_metadata:
        con.execute(
            """INSERT INTO review_marks SELECT file_id, line, 'item_without_metadata' FROM stage_reviews s
               WHERE reason IS NULL AND NOT EXISTS (
                 SELECT 1 FROM stage_meta m WHERE m.reason IS NULL AND m.category = s.category
                 AND m.item_id = s.item_id)"""
        )


def summarize_rejects(con: duckdb.DuckDBPyConnection, examples_per_reason: int = 5) -> dict[str, dict]:
    """{reason: {count, examples: ["file:line", ...]}} over reviews and metadata."""
    rows = con.execute(
        f"""WITH r AS (SELECT 'reviews' AS kind, file_id, line, reason FROM stage_reviews WHERE reason IS NOT NULL
                      UNION ALL SELECT 'meta', file_id, line, reason FROM stage_meta WHERE reason IS NOT NULL)
            SELECT r.kind || ':' || r.reason AS k, count(*) AS n,
                   list(f.name || ':' || r.line ORDER BY r.file_id, r.line)[1:{sql_int(examples_per_reason)}] AS ex
            FROM r JOIN files f USING (file_id) GROUP BY ALL ORDER BY n DESC, k"""
    ).fetchall()
    return {k: {"count": int(n), "examples": list(ex)} for k, n, ex in rows}


def staged_paths(con: duckdb.DuckDBPyConnection) -> list[Path]:
    return [Path(r[0]) for r in con.execute("SELECT path FROM files ORDER BY file_id").fetchall()]
