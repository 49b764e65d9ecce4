"""Why a build ended with nobody left: the first step that removed everything, what each of its
filters removed on its own, and the recipe field (and `--set`) that relaxes it."""

from __future__ import annotations

import duckdb

from dpbench.data.filters import item_conditions
from dpbench.data.sqltext import dict_rows, sql_int
from dpbench.recipes import DataRecipe


def relax(field: str, value) -> str:
    return f"data.{field} (now {value!r}; e.g. --set data.{field}=...)"


def item_filter_counts(con: duckdb.DuckDBPyConnection, d: DataRecipe) -> list[tuple[str, int]]:
    conds = item_conditions(d)
    sql = ", ".join(f"count(*) FILTER (WHERE NOT coalesce({c}, false)) AS {k}" for k, c in conds.items())
    row = dict_rows(con, f"SELECT {sql} FROM meta_ok")[0]
    return sorted(((k, int(v)) for k, v in row.items()), key=lambda kv: -kv[1])


def review_filter_counts(con: duckdb.DuckDBPyConnection, d: DataRecipe) -> list[tuple[str, int]]:
    chars = "n_chars"  # the raw (paper) or normalized text's length, derived while staging
    item_ok = "k.item_id IS NOT NULL" if d.require_metadata else "(k.item_id IS NOT NULL OR m.item_id IS NULL)"
    conds = {"min_text_chars": f"{chars} >= {sql_int(d.min_text_chars)}", "item filters (items kept)": item_ok}
    if d.require_review_title:
        conds["require_review_title"] = "title <> ''"
    sql = ", ".join(f'count(*) FILTER (WHERE NOT coalesce({c}, false)) AS "{k}"' for k, c in conds.items())
    row = dict_rows(
        con, f"""SELECT {sql} FROM stage_reviews s
            LEFT JOIN items_kept k USING (category, item_id) LEFT JOIN meta_ok m USING (category, item_id)
            WHERE s.reason IS NULL""")[0]
    return sorted(((k, int(v)) for k, v in row.items()), key=lambda kv: -kv[1])


def explain_empty(con: duckdb.DuckDBPyConnection, d: DataRecipe, recipe_name: str, steps: list[dict]) -> str:
    """The message of a build where no user survived."""
    counts = "; ".join(f"{s['step']}: {s['rows']:,}" for s in steps)
    # The first step of review rows (item steps count items) that has none left.
    first = next((s for s in steps[2:] if s["rows"] == 0 and s.get("users") is not None), None)
    head = f"no user survived recipe {recipe_name!r}"
    if first is None:
        return f"{head}. Per step: {counts}."
    name = first["step"]
    n_meta = next((s["rows"] for s in steps if s["step"].startswith("items with metadata")), 0)
    n_items = next((s["rows"] for s in steps if s["step"].startswith("items passing")), 0)
    if name.startswith("reviews passing") and d.require_metadata and n_meta == 0:
        return (f"{head}: no clean metadata row; the recipe requires metadata, so add the meta_{{Category}} files "
                f"to --source or relax {relax('require_metadata', d.require_metadata)}. Per step: {counts}.")
    if name.startswith("reviews passing") and d.require_metadata and n_items == 0:
        name = "items passing"
    if name.startswith("items passing"):
        parts = [f"{k} removes {n:,}" for k, n in item_filter_counts(con, d) if n]
        fields = [k for k, n in item_filter_counts(con, d) if n == n_meta]
        fix = ("; relax " + " or ".join(relax(f, getattr(d, f)) for f in fields)) if fields else ""
        return (f"{head}: no item passed the item filters ({n_meta:,} clean metadata rows; each filter alone: "
                f"{', '.join(parts) or 'none'}){fix}. Per step: {counts}.")
    if name.startswith("reviews passing"):
        parts = [f"{k} removes {n:,}" for k, n in review_filter_counts(con, d) if n]
        return (f"{head}: no review passed the review filters (each filter alone: {', '.join(parts) or 'none'}); "
                f"relax {relax('min_text_chars', d.min_text_chars)} or the item filters. Per step: {counts}.")
    if name.startswith("core loop") or name.startswith("normalize"):
        fields = ["item_min_users", "user_min_reviews"] + (["user_max_reviews"] if d.user_max_reviews else [])
        return (f"{head}: the core loop removed every review; relax "
                + ", ".join(relax(f, getattr(d, f)) for f in fields) + f". Per step: {counts}.")
    if name.startswith("users with"):
        return (f"{head}: no user has more than n_targets reviews; lower {relax('n_targets', d.n_targets)}. "
                f"Per step: {counts}.")
    fields = ["min_history", "tie_rule"] + (
        ["item_min_users", "user_min_reviews"] if name.startswith("history rules +")
        else ["profile_item_min_users", "profile_min_reviews"])
    return (f"{head}: step {name!r} removed every user; relax "
            + ", ".join(relax(f, getattr(d, f)) for f in fields) + f". Per step: {counts}.")
