"""Leak-free co-engaged peers (docs/benchmark.md): for an example (user u, target time t) and an item j in u's
history, the other users' reviews of j written strictly before t.

`peers` is a VIEW over reviews, history and examples, so it is leak-free by construction and costs
no storage (materialized it reaches hundreds of millions of rows on a real category). What methods
need cheaply, the number of leak-free peers per history item, is stored in `history.n_peers`.
"""

from __future__ import annotations

import duckdb

from dpbench.data.sqltext import sql_int


def create_peer_view(con: duckdb.DuckDBPyConnection, max_peers_per_item: int | None = None) -> None:
    """peers(example_id, item_id, peer_user_id, peer_review_id, peer_ts) with peer_ts < target_ts;
    with a bound, only the most recent `max_peers_per_item` peers of each history item."""
    limit = ""
    if max_peers_per_item is not None:
        limit = (
            "QUALIFY row_number() OVER (PARTITION BY h.example_id, h.item_id "
            f"ORDER BY r.ts DESC, r.review_id DESC) <= {sql_int(max_peers_per_item)}"
        )
    con.execute(
        f"""CREATE OR REPLACE VIEW peers AS
            SELECT h.example_id, h.item_id, r.user_id AS peer_user_id, r.review_id AS peer_review_id,
                   r.ts AS peer_ts
            FROM history h
            JOIN examples e ON e.example_id = h.example_id
            JOIN reviews r ON r.item_id = h.item_id AND r.category = e.category
                          AND r.user_id <> e.user_id AND r.ts < e.target_ts
            {limit}"""
    )


def create_history(con: duckdb.DuckDBPyConnection) -> None:
    """history(example_id, position, review_id, item_id, ts, n_peers): the user's reviews strictly
    before the target, most recent first, each with its item's number of leak-free peers. n_peers
    comes from an ASOF join on the item's running review count (no peer rows are materialized);
    the user's own review of the item is always before t (it is in the history), so it is subtracted.

    Runs during the build over `seq` (the kept reviews = the reviews table, with integer user and
    item keys uk, ik) and `item_keys`: sorting and joining millions of (category, id) strings was
    most of this step."""
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _item_cum AS
           SELECT ik, ts, max(c) AS c FROM (
             SELECT ik, ts, count(*) OVER (PARTITION BY ik ORDER BY ts
                                           RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS c
             FROM seq) GROUP BY ALL"""
    )
    # position without a window over the history rows: rank each user's reviews newest first (rn,
    # ties by review_id as in examples); the reviews at or after a target are exactly ranks 1..c where c
    # is the largest rank sharing the target's timestamp, so the history is ranks > c, position rn - c - 1.
    # (seq.rdesc is not reused: the profile loop can leave gaps in it.)
    con.execute(
        """CREATE TABLE history AS
           WITH s AS (
             SELECT uk, review_id, ik, ts, row_number() OVER (PARTITION BY uk ORDER BY ts DESC, review_id DESC) AS rn
             FROM seq),
           c AS (SELECT uk, ts, max(rn) AS c FROM s GROUP BY ALL),
           e AS (SELECT e.example_id, e.target_ts, t.uk, c.c FROM examples e
                 JOIN seq t ON t.review_id = e.target_review_id
                 JOIN c ON c.uk = t.uk AND c.ts = e.target_ts),
           h AS (
             SELECT e.example_id, e.target_ts, s.rn - e.c - 1 AS position, s.review_id, s.ik, s.ts
             FROM e JOIN s ON s.uk = e.uk AND s.rn > e.c)
           SELECT h.example_id, h.position, h.review_id, k.item_id, h.ts,
                  greatest(coalesce(c.c, 0) - 1, 0)::INTEGER AS n_peers
           FROM h ASOF LEFT JOIN _item_cum c ON c.ik = h.ik AND c.ts < h.target_ts
           JOIN item_keys k ON k.ik = h.ik"""
    )
    con.execute("DROP TABLE _item_cum")


def peer_stats(con: duckdb.DuckDBPyConnection) -> dict:
    """Distribution of leak-free peers per example (all history items) and of history items that
    have at least 1 / at least 4 peers, for the build report."""
    row = con.execute(
        """WITH per AS (
             SELECT e.example_id, coalesce(sum(h.n_peers), 0) AS peers, count(h.example_id) AS hist,
                    count(*) FILTER (WHERE h.n_peers >= 1) AS items_1, count(*) FILTER (WHERE h.n_peers >= 4) AS items_4
             FROM examples e LEFT JOIN history h USING (example_id) GROUP BY e.example_id)
           SELECT count(*), min(peers), quantile_disc(peers, 0.25), median(peers), quantile_disc(peers, 0.75),
                  max(peers), avg(peers), avg(hist), avg(items_1), avg(items_4),
                  count(*) FILTER (WHERE items_1 = 0), count(*) FILTER (WHERE hist = 0)
           FROM per"""
    ).fetchone()
    keys = ("examples", "min", "p25", "median", "p75", "max", "mean", "mean_history_len",
            "mean_items_with_peers", "mean_items_with_4_peers", "examples_without_peers", "examples_with_empty_history")
    return {k: (round(float(v), 2) if isinstance(v, float) else (int(v) if v is not None else 0)) for k, v in zip(keys, row)}


def audit_peers(con: duckdb.DuckDBPyConnection, max_peers_per_item: int | None = None) -> dict[str, int]:
    """Rows that would leak the future (peers and history at or after the target time, peers written
    by the user; all must be 0) and history rows whose n_peers differs from the peers view's count.
    The peers view is read once: at 5M reviews it holds hundreds of millions of rows."""
    hist_bad = con.execute(
        "SELECT count(*) FROM history h JOIN examples e USING (example_id) WHERE h.ts >= e.target_ts"
    ).fetchone()[0]
    has_n_peers = "n_peers" in {r[0] for r in con.execute("DESCRIBE history").fetchall()}
    n = "h.n_peers" if has_n_peers else "NULL"
    cap = f"least({n}, {sql_int(int(max_peers_per_item))})" if max_peers_per_item else n
    # One history row per (example, item): a user reviews an item once. The peer counts are joined
    # back to history in the same query (a CTE read twice would be materialized in memory).
    late, own, off = con.execute(
        f"""WITH p AS (
              SELECT p.example_id, p.item_id, count(*) AS c,
                     count(*) FILTER (WHERE p.peer_ts >= e.target_ts) AS late,
                     count(*) FILTER (WHERE p.peer_user_id = e.user_id) AS own
              FROM peers p JOIN examples e USING (example_id) GROUP BY ALL)
            SELECT coalesce(sum(p.late), 0), coalesce(sum(p.own), 0),
                   count(*) FILTER (WHERE h.example_id IS NOT NULL AND {n} IS NOT NULL AND coalesce(p.c, 0) <> {cap})
            FROM history h FULL JOIN p ON p.example_id = h.example_id AND p.item_id = h.item_id"""
    ).fetchone()
    out = {"peer_rows_at_or_after_target": int(late), "history_rows_at_or_after_target": int(hist_bad),
           "peer_rows_of_the_user": int(own)}
    if has_n_peers:
        out["n_peers_mismatches"] = int(off)
    return out
