"""The row / user / item counts a build reports after each step."""

from __future__ import annotations

import duckdb

Step = dict  # {"step": str, "rows": int, "users": int, "items": int}


def count_step(con: duckdb.DuckDBPyConnection, name: str, table: str, users: bool = True, keyed: bool = False) -> Step:
    """Rows, users and items of `table`; keyed: it has integer keys uk, ik instead of the id strings."""
    user_key, item_key = ("uk", "ik") if keyed else ("(category, user_id)", "(category, item_id)")
    user_sql = f"count(DISTINCT {user_key})" if users else "NULL"
    rows, n_users, items = con.execute(
        f"SELECT count(*), {user_sql}, count(DISTINCT {item_key}) FROM {table}"
    ).fetchone()
    return {"step": name, "rows": int(rows), "users": None if n_users is None else int(n_users), "items": int(items)}
