"""`dpbench validate data/NAME`: every invariant a benchmark promises, each an independent SQL query.

Checks: the public tables and columns exist; the fingerprint matches the content; ids are unique and
referentially whole; each user has train targets < val target < test target; no history or peer row
at or after its target; the recipe's thresholds hold on the result (the loops reached a fixpoint), every
example has min_history history rows. Warnings (counted, never failing): examples with an empty history,
with no peer-covered history item, and targets tied in time with another review of their user.
"""

from __future__ import annotations

import json
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dpbench.data.build import compute_fingerprint
from dpbench.data.examples import benchmark_path, connect
from dpbench.data.sqltext import dict_rows
from dpbench.errors import DataError

REQUIRED = {
    "reviews": ["review_id", "user_id", "item_id", "rating", "title", "text", "ts"],
    "items": ["item_id", "title", "description", "category"],
    "examples": ["example_id", "split", "user_id", "item_id", "target_review_id", "target_ts", "rating",
                 "review_title", "reference"],
    "history": ["example_id", "position", "review_id", "item_id", "ts"],
    "peers": ["example_id", "item_id", "peer_user_id", "peer_review_id", "peer_ts"],
    "build_info": ["key", "value"],
}


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class ValidationResult:
    path: str
    checks: list[Check] = field(default_factory=list)
    warnings: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def add(self, name: str, ok: bool, detail: str = "") -> bool:
        self.checks.append(Check(name, bool(ok), detail))
        return bool(ok)


def count(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> int:
    return int(con.execute(sql, params).fetchone()[0]) if params else int(con.execute(sql).fetchone()[0])


def recipe_int(data: dict, key: str, default: int | None) -> int | None:
    """A data-recipe threshold read from the benchmark's own build_info (a file from anywhere): an
    integer or None, never text that reaches SQL."""
    value = data.get(key, default)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise DataError(f"build_info: recipe field data.{key} is {value!r}, not an integer")


def warning_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Examples with an empty history, with no history item that has a leak-free peer (empty histories
    included), and targets at the same time as another review of their user (their order is by review id)."""
    has_n_peers = "n_peers" in {r[0] for r in con.execute("DESCRIBE history").fetchall()}
    covered = ("SELECT example_id, count(*) FILTER (WHERE n_peers >= 1) AS c FROM history GROUP BY example_id"
               if has_n_peers else "SELECT example_id, count(DISTINCT item_id) AS c FROM peers GROUP BY example_id")
    row = dict_rows(
        con, f"""WITH h AS (SELECT DISTINCT example_id FROM history),
                 p AS ({covered}),
                 t AS (SELECT DISTINCT e.example_id FROM examples e JOIN reviews r
                       ON r.category = e.category AND r.user_id = e.user_id AND r.ts = e.target_ts
                       AND r.review_id <> e.target_review_id)
            SELECT count(*) FILTER (WHERE h.example_id IS NULL) AS examples_with_empty_history,
                   count(*) FILTER (WHERE coalesce(p.c, 0) = 0) AS examples_without_peer_covered_history,
                   count(*) FILTER (WHERE t.example_id IS NOT NULL) AS targets_tied_with_another_review
            FROM examples e LEFT JOIN h USING (example_id) LEFT JOIN p USING (example_id)
            LEFT JOIN t USING (example_id)""")[0]
    return {k: int(v) for k, v in row.items()}


def check_min_history(con: duckdb.DuckDBPyConnection, res: ValidationResult, data: dict) -> None:
    need = recipe_int(data, "min_history", 0) or 0
    if need <= 0:
        return
    short = count(con, """SELECT count(*) FROM examples e LEFT JOIN
                          (SELECT example_id, count(*) AS n FROM history GROUP BY ALL) h USING (example_id)
                          WHERE coalesce(h.n, 0) < $need""", {"need": need})
    res.add(f"every example has ≥ {need} history reviews (min_history)", short == 0, f"{short} examples below")


def check_tables(con: duckdb.DuckDBPyConnection, res: ValidationResult) -> bool:
    cols: dict[str, set[str]] = {}
    for table, column in con.execute("SELECT table_name, column_name FROM information_schema.columns").fetchall():
        cols.setdefault(table, set()).add(column)
    missing = [f"{t}.{c}" for t, cs in REQUIRED.items() for c in cs if c not in cols.get(t, set())]
    return res.add("tables and columns", not missing, f"missing: {', '.join(missing)}" if missing else "all present")


def check_fingerprint(con: duckdb.DuckDBPyConnection, res: ValidationResult) -> None:
    stored = con.execute("SELECT value FROM build_info WHERE key = 'fingerprint'").fetchone()
    actual = compute_fingerprint(con)
    res.add("fingerprint matches content", stored is not None and stored[0] == actual,
            f"stored {stored[0] if stored else None}, recomputed {actual}")


def check_keys(con: duckdb.DuckDBPyConnection, res: ValidationResult) -> None:
    dup = count(con, "SELECT count(*) - count(DISTINCT review_id) FROM reviews") + count(
        con, "SELECT count(*) - count(DISTINCT example_id) FROM examples") + count(
        con, "SELECT count(*) - count(DISTINCT (example_id, position)) FROM history")
    res.add("unique ids", dup == 0, f"{dup} duplicated keys")
    dangling = count(con, "SELECT count(*) FROM examples e ANTI JOIN reviews r ON r.review_id = e.target_review_id")
    dangling += count(con, "SELECT count(*) FROM history h ANTI JOIN reviews r USING (review_id)")
    dangling += count(con, "SELECT count(*) FROM reviews r ANTI JOIN items i USING (item_id)")
    res.add("references resolve (targets, history, items)", dangling == 0, f"{dangling} dangling references")
    foreign = count(con, """SELECT count(*) FROM history h JOIN examples e USING (example_id)
                            JOIN reviews r ON r.review_id = h.review_id WHERE r.user_id <> e.user_id""")
    res.add("history holds only the user's own reviews", foreign == 0, f"{foreign} rows of other users")
    gaps = count(con, """SELECT count(*) FROM (SELECT example_id, max(position) + 1 AS m, count(*) AS n
                         FROM history GROUP BY example_id) WHERE m <> n""")
    order = count(con, """SELECT count(*) FROM history h1 JOIN history h2
                          ON h1.example_id = h2.example_id AND h2.position = h1.position + 1 WHERE h2.ts > h1.ts""")
    res.add("history positions 0.. most recent first", gaps + order == 0, f"{gaps} gaps, {order} out of order")


def check_splits(con: duckdb.DuckDBPyConnection, res: ValidationResult, n_targets: int | None) -> None:
    bad_counts = count(con, """SELECT count(*) FROM (
        SELECT category, user_id, count(*) FILTER (WHERE split = 'val') AS v, count(*) FILTER (WHERE split = 'test') AS t,
               count(*) FILTER (WHERE split = 'train') AS tr FROM examples GROUP BY ALL)
        WHERE v <> 1 OR t <> 1 OR ($n_train IS NOT NULL AND tr <> $n_train)""",
                       {"n_train": n_targets - 2 if n_targets else None})
    res.add("every user: one val, one test" + (f", {n_targets - 2} train" if n_targets else ""),
            bad_counts == 0, f"{bad_counts} users violate it")
    bad_order = count(con, """WITH o AS (SELECT category, user_id, split,
            row_number() OVER (PARTITION BY category, user_id ORDER BY target_ts, target_review_id) AS k,
            count(*) OVER (PARTITION BY category, user_id) AS n FROM examples)
        SELECT count(DISTINCT (category, user_id)) FROM o
        WHERE (split = 'test' AND k <> n) OR (split = 'val' AND k <> n - 1) OR (split = 'train' AND k >= n - 1)""")
    res.add("split order: train targets < val < test (time, then review id)", bad_order == 0,
            f"{bad_order} users out of order")
    later = count(con, """SELECT count(*) FROM reviews r JOIN (SELECT category, user_id, max(target_ts) AS t
                          FROM examples GROUP BY ALL) e USING (category, user_id) WHERE r.ts > e.t""")
    res.add("targets are each user's last reviews", later == 0, f"{later} reviews after a user's test target")


def check_leaks(con: duckdb.DuckDBPyConnection, res: ValidationResult, max_peers: int | None) -> None:
    from dpbench.data.peers import audit_peers

    audit = audit_peers(con, max_peers)
    off = audit.pop("n_peers_mismatches", None)
    res.add("no leakage: history and peers strictly before the target", sum(audit.values()) == 0,
            ", ".join(f"{k}={v}" for k, v in audit.items()))
    if off is not None:
        res.add("history.n_peers equals the peers view's count", off == 0, f"{off} mismatches")


def check_fixpoint(con: duckdb.DuckDBPyConnection, res: ValidationResult, data: dict) -> None:
    """Thresholds that must still hold on the result: the profile loop's (items in profiles ≥ P users,
    profiles ≥ M reviews) when the recipe has one, else the core loop's on the final reviews."""
    nt = recipe_int(data, "n_targets", 3)
    tagged = """(SELECT r.*, r.ts < t.first_target AS in_profile FROM reviews r JOIN
                 (SELECT category, user_id, min(target_ts) AS first_target FROM examples GROUP BY ALL) t
                 USING (category, user_id))"""
    if data.get("profile_item_min_users", 0) or data.get("profile_min_reviews", 0):
        p, m = recipe_int(data, "profile_item_min_users", 0), max(recipe_int(data, "profile_min_reviews", 0), 1)
        bad_items = count(con, f"""SELECT count(*) FROM (SELECT category, item_id FROM {tagged} WHERE in_profile
                                   GROUP BY ALL HAVING count(DISTINCT user_id) < $p)""", {"p": p})
        bad_users = count(con, f"""SELECT count(*) FROM (SELECT category, user_id FROM {tagged} GROUP BY ALL
                                   HAVING count(*) FILTER (WHERE in_profile) < $m)""", {"m": m})
        res.add(f"profile loop fixpoint (items ≥ {p} users, profiles ≥ {m} reviews)", bad_items + bad_users == 0,
                f"{bad_items} items and {bad_users} users below the thresholds")
        return
    i_min, u_min = recipe_int(data, "item_min_users", 1), recipe_int(data, "user_min_reviews", 1)
    u_max = recipe_int(data, "user_max_reviews", None)
    bad_items = count(con, """SELECT count(*) FROM (SELECT category, item_id FROM reviews GROUP BY ALL
                              HAVING count(DISTINCT user_id) < $i_min)""", {"i_min": i_min})
    bad_users = count(con, """SELECT count(*) FROM (SELECT category, user_id FROM reviews GROUP BY ALL
                              HAVING count(*) < $u_min OR ($u_max IS NOT NULL AND count(*) > $u_max))""",
                      {"u_min": max(u_min, nt + 1), "u_max": u_max})
    res.add(f"core loop fixpoint (items ≥ {i_min} users, users ≥ {u_min} reviews)", bad_items + bad_users == 0,
            f"{bad_items} items and {bad_users} users below the thresholds")


def validate_benchmark(path: str | Path) -> ValidationResult:
    """Run every check on data/NAME (or its benchmark.duckdb); never raises on a failed check."""
    db = benchmark_path(path)
    con = connect(db, require_all=False)
    res = ValidationResult(str(db))
    con.execute("SET enable_progress_bar = false")
    try:
        if not check_tables(con, res):
            return res
        info = dict(con.execute("SELECT key, value FROM build_info").fetchall())
        try:
            data = json.loads(info.get("recipe", "{}")).get("data", {})
        except (ValueError, AttributeError):
            raise DataError(f"{db}: build_info holds no readable recipe (key 'recipe')") from None
        # DuckDB's default memory limit (the peers audit holds a large hash join), with its blocks
        # from a reserved pool: without it, validating 1M reviews took 40 s, 48 CPU-s of it in the kernel.
        with suppress(duckdb.Error):
            con.execute("SET block_allocator_memory = '2GB'")
        check_fingerprint(con, res)
        check_keys(con, res)
        check_splits(con, res, recipe_int(data, "n_targets", None))
        check_leaks(con, res, recipe_int(data, "max_peers_per_item", None))
        check_fixpoint(con, res, data)
        check_min_history(con, res, data)
        n = count(con, "SELECT count(*) FROM examples")
        res.add("examples present", n > 0, f"{n} examples")
        res.warnings = warning_counts(con)
    finally:
        con.close()
    return res


def print_validation(result: ValidationResult, console) -> None:
    for c in result.checks:
        mark = "[green]PASS[/]" if c.ok else "[bold red]FAIL[/]"
        console.print(f"{mark} {c.name}  [dim]{c.detail}[/]")
    from dpbench.data.report import WARNING_LABELS

    for key, n in result.warnings.items():
        if n:
            console.print(f"[yellow]WARN[/] {n:,} {WARNING_LABELS.get(key, key)}  [dim]{key}[/]")
    verdict = "[bold green]valid[/]" if result.ok else "[bold red]invalid[/]"
    console.print(f"{result.path}: {verdict} ({sum(c.ok for c in result.checks)}/{len(result.checks)} checks pass)")
