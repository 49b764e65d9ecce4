"""Targets and the rules every example's history must meet (docs/benchmark.md, steps 5-6).

Per user, reviews sorted newest first by (ts, review_id): the newest n_targets are the targets, the
newest of all the test target. An example's history is the user's reviews strictly before its target
time; reviews at the same time as a target (2014/2018 timestamps are days) are neither history nor
peers (recipe field tie_rule; "drop_user" removes users whose targets are tied with another of their
reviews). A user whose first target has fewer than min_history earlier reviews is removed; the first
target has the shortest history, so every example of a kept user then meets min_history.

These user rules are monotone (removing rows never helps a user meet them), so they run inside the
fixpoint loops: simple semantics alternate them with the core loop, paper semantics add them to the
profile loop.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from dpbench.data.counts import Step, count_step
from dpbench.data.sqltext import sql_int
from dpbench.recipes import DataRecipe


def history_rules_apply(d: DataRecipe) -> bool:
    return d.min_history > 0 or d.tie_rule == "drop_user"


def failing_users_sql(d: DataRecipe, table: str, rank: str | None = None) -> str:
    """SELECT uk of the users of `table(review_id, uk, ts[, rdesc])` that break the history rules.

    Without ties a user's first target has exactly as many earlier reviews as the user has reviews
    beyond the targets (n_before); with ties it has fewer, so the windows that count them exactly run
    only over users with two reviews at one time. rank: a column that already ranks each user's
    reviews newest first (seq.rdesc, with gaps left by the profile loop), else one is computed."""
    nt = sql_int(d.n_targets)
    need = sql_int(d.min_history)
    # Simple semantics also need n > n_targets here; the paper's profile loop checks its own minimum.
    need_rank = need if rank else sql_int(max(d.min_history, 1))
    rn = rank or "row_number() OVER (PARTITION BY uk ORDER BY ts DESC, review_id DESC)"
    n_before = f"count(*) FILTER (WHERE {rank} > {nt})" if rank else f"count(*) - {nt}"
    by_rank = f"SELECT uk FROM {table} GROUP BY uk HAVING {n_before} < {need_rank}"
    if not history_rules_apply(d):
        return by_rank
    drop_tied = "OR tied > 0" if d.tie_rule == "drop_user" else ""
    return f"""
      WITH tied_users AS (SELECT DISTINCT uk FROM (SELECT uk, ts FROM {table} GROUP BY uk, ts HAVING count(*) > 1)),
      r AS (SELECT uk, ts, {rn} AS rn, rank() OVER (PARTITION BY uk ORDER BY ts DESC) AS grp,
                   count(*) OVER (PARTITION BY uk, ts) AS same, count(*) OVER (PARTITION BY uk) AS n
            FROM {table} SEMI JOIN tied_users USING (uk)),
      u AS (SELECT uk, any_value(n - grp - same + 1) FILTER (WHERE rn = {nt}) AS hist,
                   count(*) FILTER (WHERE rn <= {nt} AND same > 1) AS tied
            FROM r GROUP BY uk)
      SELECT uk FROM u WHERE coalesce(hist, 0) < {need} {drop_tied}
      UNION {by_rank}"""


def drop_failing_users(con: duckdb.DuckDBPyConnection, d: DataRecipe, table: str) -> int:
    """Simple semantics: delete every row of users of `table` (kept) who break the history rules; the
    rows removed. The rank rule (a user needs n_targets + 1 reviews) always applies."""
    sql = failing_users_sql(d, table)
    before = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    con.execute(f"DELETE FROM {table} WHERE uk IN ({sql})")
    return before - con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def assign_targets(con: duckdb.DuckDBPyConnection, d: DataRecipe, note: Callable[[Step], None]) -> int:
    """Steps 5-6 into table `seq(review_id, uk, ik, ts, rdesc, n)` (rdesc = 1 for a user's newest
    review; the profile loop can leave gaps in it); returns profile passes."""

    nt = sql_int(d.n_targets)
    con.execute(
        """CREATE TABLE seq AS SELECT review_id, uk, ik, ts,
             row_number() OVER (PARTITION BY uk ORDER BY ts DESC, review_id DESC) AS rdesc,
             count(*) OVER (PARTITION BY uk) AS n FROM kept"""
    )
    # A user needs n_targets reviews plus at least one earlier review for the first target's history.
    con.execute(f"DELETE FROM seq WHERE n <= {nt}")
    note(count_step(con, f"users with > {nt} reviews (targets: last {nt})", "seq", keyed=True))
    profile = d.profile_item_min_users > 0 or d.profile_min_reviews > 0
    # Simple semantics met the history rules in the core loop; paper semantics meet them here.
    rules = d.semantics == "paper" and history_rules_apply(d)
    passes = 0
    if profile or rules:
        while True:
            passes += 1
            users_before = con.execute("SELECT count(DISTINCT uk) FROM seq").fetchone()[0]
            if d.profile_item_min_users > 0:
                con.execute(
                    f"""DELETE FROM seq WHERE rdesc > {nt} AND ik NOT IN (
                          SELECT ik FROM seq WHERE rdesc > {nt} GROUP BY ik
                          HAVING count(DISTINCT uk) >= {sql_int(d.profile_item_min_users)})"""
                )
            con.execute(
                f"""DELETE FROM seq WHERE uk IN (
                      SELECT uk FROM seq GROUP BY uk
                      HAVING count(*) FILTER (WHERE rdesc > {nt}) < {sql_int(max(d.profile_min_reviews, 1))})"""
            )
            if rules:
                con.execute(f"DELETE FROM seq WHERE uk IN ({failing_users_sql(d, 'seq', rank='rdesc')})")
            users_after = con.execute("SELECT count(DISTINCT uk) FROM seq").fetchone()[0]
            if users_after == users_before:
                break
        name = "profile loop" if profile else "history rules"
        note(count_step(con, f"{name} ({passes} passes)", "seq", keyed=True))
    return passes


def count_tied_targets(con: duckdb.DuckDBPyConnection, d: DataRecipe) -> int:
    """Targets (in the final `seq`, which holds exactly the benchmark's reviews) at the same time as
    another review of their user."""
    return int(con.execute(
        f"""SELECT coalesce(sum(t), 0) FROM (
              SELECT count(*) FILTER (WHERE rdesc <= {sql_int(d.n_targets)}) AS t FROM seq
              GROUP BY uk, ts HAVING count(*) > 1)"""
    ).fetchone()[0])
