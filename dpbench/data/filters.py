"""The recipe's filters in DuckDB SQL: items, reviews, per-user deduplication, the core loop and the
profile loop (docs/benchmark.md, steps 1-4; targets and the profile loop: targets.py). Each step
records (rows, users, items) for the build report.

Deduplication follows the published pipeline exactly: per user, walk reviews newest first and keep a
review when neither its item nor its text belongs to a review already KEPT. That walk is sequential,
so it runs in Python, but only for users who have a repeated item or text at all (usually few); every
other user keeps all rows, decided in SQL. Texts are compared by hash() (64 bits, within one user,
never stored), which keeps the working tables small. Users and items are dense integer keys
(uk, ik; tables user_keys and item_keys) from the review filter on: the loops group and join
millions of rows, and on integers that is several times cheaper than on (category, id) strings.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from dpbench.data.counts import Step, count_step
from dpbench.data.sqltext import sql_int
from dpbench.data.stage import META_FIELDS
from dpbench.data.targets import drop_failing_users
from dpbench.data.whitespace import needs_normalize_sql, rewrite_whitespace_sql
from dpbench.recipes import DataRecipe

RELEASES_WITHOUT_RATING_NUMBER = tuple(r for r, f in META_FIELDS.items() if f[4] is None)


def item_conditions(d: DataRecipe) -> dict[str, str]:
    """The recipe's item filters as SQL over meta_ok, by the field that sets each one."""
    chars = "length(description)" if d.desc_length_on == "cleaned" else "raw_desc_chars"
    conds = {"desc_min_chars": f"{chars} >= {sql_int(d.desc_min_chars)}"}
    if d.desc_max_chars is not None:
        conds["desc_max_chars"] = f"{chars} <= {sql_int(d.desc_max_chars)}"
    if d.require_item_title:
        conds["require_item_title"] = "coalesce(title, '') <> ''"
    if d.require_item_categories:
        conds["require_item_categories"] = "n_categories > 0"
    if d.require_rating_number:
        # Releases without the field (2018, 2014) are not filtered on it (the build report says so).
        lacking = ", ".join(f"'{r}'" for r in RELEASES_WITHOUT_RATING_NUMBER)
        conds["require_rating_number"] = f"(release IN ({lacking}) OR coalesce(rating_number, 0) <> 0)"
    return conds


def select_items(con: duckdb.DuckDBPyConnection, d: DataRecipe) -> None:
    """meta_ok: clean metadata rows; items_kept: those passing the recipe's item filters (step 1)."""
    con.execute(
        """CREATE TABLE meta_ok AS SELECT category, item_id, title, description, n_categories, rating_number,
                  release, raw_desc_chars
           FROM stage_meta WHERE reason IS NULL"""
    )
    con.execute(f"CREATE TABLE items_kept AS SELECT * FROM meta_ok WHERE {' AND '.join(item_conditions(d).values())}")


def select_reviews(con: duckdb.DuckDBPyConnection, d: DataRecipe) -> None:
    """rv: clean reviews passing the review filters whose item is kept (step 2), with their content id,
    integer user and item keys, and the hashes of the raw and the whitespace-normalized text (what the
    dedup walks compare). Everything about a text was derived while staging (stage.derived_sql), so no
    text is read here; the rest (ids, rating, title, text) stays in staged_reviews, which rv points at
    by (file_id, line)."""
    item_ok = "i.item_kept" if d.require_metadata else "(i.item_kept OR NOT i.has_meta)"
    title_ok = "AND s.title <> ''" if d.require_review_title else ""
    # The metadata lookups run once per distinct item, not once per review.
    con.execute(
        """CREATE TABLE item_keys AS
           SELECT i.category, i.item_id, (row_number() OVER ())::INTEGER AS ik,
                  k.item_id IS NOT NULL AS item_kept, m.item_id IS NOT NULL AS has_meta
           FROM (SELECT DISTINCT category, item_id FROM stage_reviews WHERE reason IS NULL) i
           LEFT JOIN items_kept k ON k.category = i.category AND k.item_id = i.item_id
           LEFT JOIN meta_ok m ON m.category = i.category AND m.item_id = i.item_id"""
    )
    con.execute(
        """CREATE TABLE user_keys AS
           SELECT category, user_id, (row_number() OVER ())::INTEGER AS uk
           FROM (SELECT DISTINCT category, user_id FROM stage_reviews WHERE reason IS NULL)"""
    )
    # n_chars: the normalized text's length (simple semantics) or the raw one's (paper semantics count
    # and filter on the raw text; only the core loop's survivors are normalized: normalize_survivors).
    con.execute(
        f"""CREATE TABLE rv AS
            SELECT s.review_id, s.file_id, s.line, u.uk, i.ik, s.ts, s.th_raw, s.th_norm
            FROM stage_reviews s
            JOIN item_keys i ON i.category = s.category AND i.item_id = s.item_id
            JOIN user_keys u ON u.category = s.category AND u.user_id = s.user_id
            WHERE s.reason IS NULL AND s.rating <> 0 AND s.ts <> 0 AND {item_ok}
              AND s.n_chars >= {sql_int(d.min_text_chars)} {title_ok}"""
    )


def create_dropped_duplicates(
    con: duckdb.DuckDBPyConnection, table: str, key: str, cache: dict[int, tuple[int, list[str]]] | None = None,
    scope: str | None = None,
) -> int:
    """_dropped(review_id): rows of `table` the published newest-first walk skips (item or `key` seen).

    cache (the core loop, where rows are only ever removed): {uk: (rows, dropped ids)} from the last
    pass; a user with as many rows as then has the same rows, so its walk is not run again.
    scope: a table of `uk`s; only those users are walked (and only their rows are in _dropped)."""
    import pyarrow as pa

    within = f"SEMI JOIN {scope} USING (uk)" if scope else ""
    users = dict(con.execute(
        f"""SELECT uk, count(*) FROM {table} {within} GROUP BY uk
            HAVING count(*) > count(DISTINCT ik) OR count(*) > count(DISTINCT {key})"""
    ).fetchall())
    cache = {} if cache is None else cache
    redo = [u for u, n in users.items() if cache.get(u, (None,))[0] != n]
    con.register("_redo", pa.table({"uk": pa.array(redo, type=pa.int32())}))
    rows = con.execute(
        f"""SELECT t.uk, t.review_id, t.ik, t.{key} FROM {table} t SEMI JOIN _redo USING (uk)
            ORDER BY t.uk, t.ts DESC, t.review_id DESC"""
    ).fetchall()
    con.unregister("_redo")
    fresh: dict[int, list[str]] = {u: [] for u in redo}
    current = None
    seen_items: set = set()
    seen_keys: set = set()
    for user, rid, item, k in rows:
        if user != current:
            current, seen_items, seen_keys = user, set(), set()
        if item in seen_items or k in seen_keys:
            fresh[user].append(rid)
            continue
        seen_items.add(item)
        seen_keys.add(k)
    if scope is None:
        for u in list(cache):
            if u not in users:
                del cache[u]
    for u in redo:
        cache[u] = (users[u], fresh[u])
    dropped = [rid for u in users for rid in cache[u][1]]
    con.register("_dropped_arrow", pa.table({"review_id": pa.array(dropped, type=pa.string())}))
    con.execute("CREATE OR REPLACE TEMP TABLE _dropped AS SELECT review_id FROM _dropped_arrow")
    con.unregister("_dropped_arrow")
    return len(dropped)


def run_core_loop(con: duckdb.DuckDBPyConnection, d: DataRecipe, table: str, count_unique: bool) -> int:
    """Step 3: drop reviews of items with < item_min_users users and of users outside the review-count
    range, until a pass removes nothing. With count_unique (paper), a user's count is the number of
    reviews the dedup walk keeps; rows are not removed by it. Returns the number of passes.

    Incremental: only the users and items that lost rows in the last pass can newly fail (everyone
    else has the same rows, so the same counts, and passed), so each later pass counts only those
    (_cu, _ci), and removes rows in place unless it removes many. Same rows and passes as counting
    everything every pass (tests/data/test_paper_hand.py, the pure-Python build in benchmarks/)."""
    n_ok = f"n >= {sql_int(d.user_min_reviews)}"
    if d.user_max_reviews is not None:
        n_ok += f" AND n <= {sql_int(d.user_max_reviews)}"
    passes = 0
    walks: dict[int, tuple[int, list[str]]] = {}
    con.execute(f"CREATE OR REPLACE TEMP TABLE _cu AS SELECT DISTINCT uk FROM {table}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _ci AS SELECT DISTINCT ik FROM {table}")
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    while True:
        passes += 1
        if count_unique:
            create_dropped_duplicates(con, table, "th", walks, scope="_cu")
            ucount = (f"SELECT uk, count(*) AS n FROM {table} SEMI JOIN _cu USING (uk) "
                      "ANTI JOIN _dropped USING (review_id) GROUP BY uk")
        else:
            ucount = f"SELECT uk, count(*) AS n FROM {table} SEMI JOIN _cu USING (uk) GROUP BY uk"
        con.execute(f"CREATE OR REPLACE TEMP TABLE _bad_u AS SELECT uk FROM ({ucount}) WHERE NOT ({n_ok})")
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _bad_i AS
                SELECT ik FROM (SELECT ik, count(DISTINCT uk) AS m FROM {table} SEMI JOIN _ci USING (ik) GROUP BY ik)
                WHERE m < {sql_int(d.item_min_users)}"""
        )
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _gone AS
                SELECT uk, ik FROM {table} WHERE uk IN (SELECT uk FROM _bad_u) OR ik IN (SELECT ik FROM _bad_i)"""
        )
        gone = con.execute("SELECT count(*) FROM _gone").fetchone()[0]
        if gone == 0:
            return passes
        if gone * 5 > rows:  # many: write the survivors afresh (deleted rows would slow every later scan)
            con.execute(
                f"""CREATE OR REPLACE TABLE {table}_next AS SELECT * FROM {table}
                    WHERE uk NOT IN (SELECT uk FROM _bad_u) AND ik NOT IN (SELECT ik FROM _bad_i)""")
            con.execute(f"DROP TABLE {table}; ALTER TABLE {table}_next RENAME TO {table}")
        else:
            con.execute(f"DELETE FROM {table} WHERE uk IN (SELECT uk FROM _bad_u) OR ik IN (SELECT ik FROM _bad_i)")
        rows -= gone
        con.execute("CREATE OR REPLACE TEMP TABLE _cu AS SELECT DISTINCT uk FROM _gone")
        con.execute("CREATE OR REPLACE TEMP TABLE _ci AS SELECT DISTINCT ik FROM _gone")


def apply_dedup(con: duckdb.DuckDBPyConnection, table: str, key: str) -> None:
    create_dropped_duplicates(con, table, key)
    con.execute(f"DELETE FROM {table} WHERE review_id IN (SELECT review_id FROM _dropped)")


def normalize_survivors(con: duckdb.DuckDBPyConnection, files: list, stamps: dict) -> None:
    """Paper semantics, after the core loop: norm(review_id, uk, ik, ts, th, ntext, user_id, item_id,
    rating, title, category) for the rows still in `cur`: ntext the normalized text of every row and th
    its hash. The raw texts are read for the survivors only (texts.py), for the last time: the reviews
    table is written from norm, and the staged rows are dropped here (1M reviews: 0.7 GB that made
    later steps spill when they held the texts)."""
    from dpbench.data.texts import create_with_texts
    from dpbench.data.workdb import drop_work_tables

    con.execute(
        """CREATE TEMP TABLE _surv AS
           SELECT r.review_id, r.file_id, r.line, r.uk, r.ik, r.ts, r.th_raw, st.user_id, st.item_id, st.rating,
                  st.title, st.category
           FROM cur c JOIN rv r USING (review_id) JOIN staged_reviews st ON st.file_id = r.file_id AND st.line = r.line"""
    )
    create_with_texts(
        con, files, stamps, "norm", "_surv",
        "k.review_id, k.uk, k.ik, k.ts, k.th_raw, k.user_id, k.item_id, k.rating, k.title, k.category, {text} AS text",
        wrap=f"""SELECT review_id, uk, ik, ts, CASE WHEN changed THEN hash(ntext) ELSE th_raw END AS th, ntext,
                        user_id, item_id, rating, title, category
                 FROM (SELECT *, {needs_normalize_sql("text")} AS changed,
                              CASE WHEN changed THEN {rewrite_whitespace_sql("text")} ELSE text END AS ntext
                       FROM ({{rows}}))""")
    con.execute("DROP TABLE _surv")
    if con.execute("SELECT count(*) FROM norm").fetchone()[0]:  # else the empty-build message reads them
        drop_work_tables(con, ("stage_reviews", "staged_reviews", "review_marks"))


def run_filters(
    con: duckdb.DuckDBPyConnection, d: DataRecipe, note: Callable[[Step], None], files: list | None = None,
    stamps: dict | None = None,
) -> dict[str, int]:
    """Steps 1-4 into table `kept(review_id, uk, ik, ts, th)`; returns loop passes. files, stamps: where
    the paper semantics' survivors' texts are read (texts.py)."""
    select_items(con, d)
    note(count_step(con, "items with metadata (clean)", "meta_ok", users=False))
    note(count_step(con, "items passing item filters", "items_kept", users=False))
    select_reviews(con, d)
    note(count_step(con, "reviews passing review filters", "rv", keyed=True))
    if d.semantics == "paper":
        # Core loop on raw text, counting deduplicated reviews; then normalize and deduplicate (steps 3-4).
        con.execute("CREATE TABLE cur AS SELECT review_id, uk, ik, ts, th_raw AS th FROM rv")
        passes = run_core_loop(con, d, "cur", count_unique=True)
        note(count_step(con, f"core loop ({passes} passes)", "cur", keyed=True))
        normalize_survivors(con, files or [], stamps or {})
        con.execute("CREATE TABLE kept AS SELECT review_id, uk, ik, ts, th FROM norm")
        apply_dedup(con, "kept", "th")
        note(count_step(con, "normalize + deduplicate per user", "kept", keyed=True))
    else:
        con.execute("CREATE TABLE kept AS SELECT review_id, uk, ik, ts, th_norm AS th FROM rv")
        apply_dedup(con, "kept", "th")
        note(count_step(con, "normalize + deduplicate per user", "kept", keyed=True))
        passes = run_core_loop(con, d, "kept", count_unique=False)
        note(count_step(con, f"core loop ({passes} passes)", "kept", keyed=True))
        # The history rules (targets.py) and the core loop, alternated until neither removes a row.
        rounds = 0
        while drop_failing_users(con, d, "kept"):
            rounds += 1
            passes += run_core_loop(con, d, "kept", count_unique=False)
        if rounds:
            note(count_step(con, f"history rules + core loop ({rounds} rounds)", "kept", keyed=True))
    return {"core_loop_passes": passes}
