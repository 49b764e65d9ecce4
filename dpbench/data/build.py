"""`dpbench build-data`: raw review files → data/NAME/benchmark.duckdb (docs/benchmark.md).

Flow: resolve sources → stage lines (sources.py, stage.py) → filters (filters.py) → targets, examples,
history → peers view (peers.py) → build_info with a content fingerprint → exports. Everything is built
into a temporary database next to the target and renamed only when complete, so a failed build never
leaves a half-built benchmark behind (nor the output folder, when the build created it).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import duckdb

from dpbench.data import filters, peers, targets
from dpbench.data.counts import count_step
from dpbench.data.diagnose import explain_empty
from dpbench.data.markup import repair_metadata, summarize_repairs
from dpbench.data.report import BuildReport, PhaseTimer
from dpbench.data.sources import RawFile, describe_file, scan_dir
from dpbench.data.sqltext import dict_rows
from dpbench.data.stage import (
    mark_cross_file_rejects,
    raise_first_reject,
    stage_files,
    summarize_rejects,
)
from dpbench.data.texts import create_with_texts
from dpbench.data.workdb import (  # noqa: F401  (set_memory, size_bytes: part of this module's interface)
    TEXTS_DB,
    WORK_DB,
    attach_output,
    connect_build,
    drop_work_tables,
    save_tables,
    set_memory,
    size_bytes,
    texts_in_memory,
    texts_uncompressed,
    written_join_order,
)
from dpbench.errors import DataError
from dpbench.recipes import Recipe

PUBLIC_TABLES = ("reviews", "items", "examples", "history")
_WORK_TABLES = ("stage_reviews", "staged_reviews", "review_marks", "meta_repairs", "stage_meta", "meta_ok", "items_kept",
                "norm", "rv", "cur",
                "kept", "seq", "user_keys", "item_keys")


def resolve_sources(
    sources: list[str], out: Path, categories: list[str], schema: str | None = None
) -> list[RawFile]:
    """Turn --source values (sample | hub | file or directory paths) into recognised raw files."""
    paths: list[Path] = []
    for src in sources or ["sample"]:
        if src == "sample":
            from dpbench.data.sample import write_sample

            paths += sorted(write_sample(out / "raw"))
        elif src == "hub":
            from dpbench.data.hub import fetch_hub_files

            paths += fetch_hub_files(categories)
        else:
            p = Path(src).expanduser()
            if p.is_dir():
                found = scan_dir(p)
                if not found:
                    raise DataError(
                        f"no raw review files in directory {p}: expected {{Category}}.jsonl(.gz), "
                        "meta_{Category}.jsonl(.gz), reviews_{Category}_5.json.gz or {Category}_5.json.gz"
                    )
                paths += found
            elif p.exists():
                paths.append(p)
            else:
                raise DataError(f"--source {src}: no such file or directory (use sample, hub, or a path)")
    files = [describe_file(p, schema) for p in sorted(set(paths), key=lambda q: (q.name, str(q)))]
    if categories:
        found = sorted({f.category for f in files if f.kind == "reviews"})
        missing = [c for c in categories if c not in found]
        if missing:
            hint = (f"; to build what is there, pass --categories {','.join(found)}" if found else
                    "; add {Category}.jsonl(.gz) review files")
            raise DataError(
                f"no review files for categor{'y' if len(missing) == 1 else 'ies'} {', '.join(missing)} in the given "
                f"sources (review files found for: {', '.join(found) or 'none'}; the recipe's data.categories or "
                f"--categories ask for {', '.join(categories)}){hint}")
        files = [f for f in files if f.category in categories]
    if not any(f.kind == "reviews" for f in files):
        raise DataError("the sources hold no review files (only metadata); add {Category}.jsonl(.gz) files")
    return files


def create_public_tables(con: duckdb.DuckDBPyConnection, n_targets: int, all_normalized: bool = False,
                         files: list[RawFile] | None = None, stamps: dict | None = None) -> None:
    """reviews, items, examples (history: dpbench/data/peers.py create_history). all_normalized: `norm`
    holds every kept row with its final text (paper semantics) and the staged rows are gone; else the
    texts come from the staged rows or a second read of `files` (texts.py)."""
    if all_normalized:
        con.execute(
            """CREATE TABLE reviews AS
               SELECT s.review_id, n.user_id, n.item_id, n.rating, n.title, n.ntext AS text, n.ts, n.category
               FROM seq s JOIN norm n USING (review_id)"""
        )
    else:
        create_reviews_from_staged(con, files or [], stamps or {})
    # The staged texts are most of the working memory: free them before the remaining steps, which
    # otherwise run at the memory limit and spill (history took twice as long with them still held).
    drop_work_tables(con, ("stage_reviews", "staged_reviews", "review_marks", "stage_meta", "norm", "rv", "cur", "kept",
                           "user_keys"))
    con.execute(
        """CREATE TABLE items AS
           SELECT r.item_id, coalesce(m.title, '') AS title, coalesce(m.description, '') AS description, r.category
           FROM (SELECT DISTINCT category, item_id FROM reviews) r LEFT JOIN meta_ok m USING (category, item_id)"""
    )
    con.execute(
        """CREATE TABLE examples AS
            SELECT substr(md5(concat_ws(chr(31), category, user_id, target_review_id, split)), 1, 20) AS example_id, *
            FROM (SELECT CASE s.rdesc WHEN 1 THEN 'test' WHEN 2 THEN 'val' ELSE 'train' END AS split,
                         r.user_id, r.item_id, s.review_id AS target_review_id, s.ts AS target_ts,
                         r.rating, r.title AS review_title, r.text AS reference, r.category,
                         $nt + 1 - s.rdesc AS target_index
                  FROM seq s JOIN reviews r USING (review_id) WHERE s.rdesc <= $nt)""",
        {"nt": n_targets},
    )
    drop_work_tables(con, ("meta_ok", "items_kept"))


def create_reviews_from_staged(con: duckdb.DuckDBPyConnection, files: list[RawFile], stamps: dict) -> None:
    con.execute(
        """CREATE TEMP TABLE _keep AS
           SELECT s.review_id, st.file_id, st.line, st.user_id, st.item_id, st.rating, st.title, st.ntext, st.ts,
                  st.category
           FROM seq s JOIN rv r USING (review_id) JOIN staged_reviews st ON st.file_id = r.file_id AND st.line = r.line"""
    )
    create_with_texts(con, files, stamps, "reviews", "_keep",
                      "k.review_id, k.user_id, k.item_id, k.rating, k.title, coalesce(k.ntext, {text}) AS text, k.ts, "
                      "k.category")
    con.execute("DROP TABLE _keep")


def table_set_hash(con: duckdb.DuckDBPyConnection, table: str, cols: list[str]) -> str:
    """Order-independent hash of a table's rows (rows are unique by their keys)."""
    row = con.execute(
        f"SELECT count(*), bit_xor(md5_number(concat_ws(chr(31), {', '.join(f'coalesce({c}::VARCHAR, chr(0))' for c in cols)}))) FROM {table}"
    ).fetchone()
    return f"{row[0]}:{row[1]}"


def compute_fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    parts = {
        "reviews": table_set_hash(con, "reviews", ["review_id", "user_id", "item_id", "rating", "title", "text", "ts"]),
        "items": table_set_hash(con, "items", ["item_id", "title", "description", "category"]),
        "examples": table_set_hash(
            con, "examples", ["example_id", "split", "user_id", "item_id", "target_review_id", "target_ts",
                              "rating", "review_title", "reference"]),
        "history": table_set_hash(con, "history", ["example_id", "position", "review_id", "item_id", "ts"]),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def write_build_info(con: duckdb.DuckDBPyConnection, info: dict[str, Any]) -> None:
    con.execute("CREATE TABLE build_info(key VARCHAR, value VARCHAR)")
    rows = [(k, v if isinstance(v, str) else json.dumps(v, sort_keys=True)) for k, v in info.items()]
    con.executemany("INSERT INTO build_info VALUES (?, ?)", rows)


def build_benchmark(
    sources: list[str],
    recipe: Recipe,
    out: Path,
    *,
    strict: bool = False,
    exports: tuple[str, ...] | list[str] = (),
    schema: str | None = None,
    console=None,
    overrides: dict[str, Any] | None = None,
) -> BuildReport:
    """Build out/benchmark.duckdb (+ build_report.json, exports) from raw sources with a recipe.
    overrides: the CLI overrides the recipe was resolved with (recorded beside it in build_info)."""
    out = Path(out)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        return run_build(sources, recipe, out, strict=strict, exports=exports, schema=schema, console=console,
                         overrides=overrides)
    except BaseException:
        if created:  # everything in it is this build's (raw sample files, spill, a partial export)
            shutil.rmtree(out, ignore_errors=True)
        raise


def run_build(sources, recipe: Recipe, out: Path, *, strict, exports, schema, console, overrides) -> BuildReport:
    from dpbench import __version__

    timer = PhaseTimer()
    d = recipe.data
    with timer.phase("resolve sources"):
        files = resolve_sources(sources, out, list(d.categories), schema)
    final = out / "benchmark.duckdb"
    remove_stale_build_files(out)
    tmp = out / f".benchmark.duckdb.building-{os.getpid()}"
    spill = out / f".duckdb-spill-{os.getpid()}"
    report = BuildReport(recipe=recipe.name, recipe_hash=recipe.hash(), out=str(out))

    def say(msg: str) -> None:
        if console is not None:
            console.print(f"[dim]{msg}[/]")

    try:
        in_memory = texts_in_memory(files, d.duckdb_memory_limit)
        con = connect_build(spill, recipe, in_memory)
        try:
            with timer.phase("read + parse files"):
                staged = stage_files(con, files, strict=strict, progress=say, texts_db=TEXTS_DB,
                                     normalize=d.semantics != "paper",
                                     uncompressed_texts=not in_memory and texts_uncompressed(files, out))
            with timer.phase("metadata markup"):
                if d.strip_markup:
                    repair_metadata(con)
                report.repairs = summarize_repairs(con)
            with timer.phase("duplicates across files"):
                mark_cross_file_rejects(con, d.require_metadata)
                if strict:
                    raise_first_reject(con, files, "stage_reviews")
                    raise_first_reject(con, files, "stage_meta")
            report.files = dict_rows(con, "SELECT name, kind, category, schema, sha256, bytes, lines FROM files "
                                          "ORDER BY file_id")
            report.notes = release_notes(report.files, d)
            with timer.phase("reject summary"):
                report.rejects = summarize_rejects(con)
                n_ok = con.execute("SELECT count(*) FROM stage_reviews WHERE reason IS NULL").fetchone()[0]
                n_raw = con.execute("SELECT count(*) FROM stage_reviews").fetchone()[0]
                report.add_step({"step": "raw review lines", "rows": int(n_raw), "users": None, "items": None})
                report.add_step(count_step(con, "clean reviews",
                                                   "(SELECT * FROM stage_reviews WHERE reason IS NULL)"))
            if n_ok == 0:
                raise DataError(no_usable_rows_message(files, report.rejects))
            say("filtering")
            with timer.phase("filters + core loop + dedup"):
                report.loops = filters.run_filters(con, d, report.add_step, files, staged.stamps)
            with timer.phase("targets + profile loop"):
                report.loops["profile_loop_passes"] = targets.assign_targets(con, d, report.add_step)
            n_users = con.execute("SELECT count(DISTINCT uk) FROM seq").fetchone()[0]
            tied = targets.count_tied_targets(con, d)
            if n_users == 0:
                raise DataError(explain_empty(con, d, recipe.name, report.steps)
                                + (" Notes: " + " ".join(report.notes) if report.notes else ""))
            say("writing tables")
            attach_output(con, tmp)
            with timer.phase("reviews, items, examples tables"):
                create_public_tables(con, d.n_targets, all_normalized=d.semantics == "paper", files=files,
                                     stamps=staged.stamps)
            with timer.phase("history + n_peers"):
                peers.create_history(con)
                drop_work_tables(con, _WORK_TABLES)
            with timer.phase("counts, warnings, peer stats"):
                report.counts = collect_counts(con)
                report.peers = peers.peer_stats(con)
                # From the integer-keyed work tables and the peer statistics; `dpbench validate` counts
                # the same three on the public tables by other queries (warning_counts).
                report.warnings = {
                    "examples_with_empty_history": report.peers["examples_with_empty_history"],
                    "examples_without_peer_covered_history": report.peers["examples_without_peers"],
                    "targets_tied_with_another_review": tied,
                }
            with timer.phase("fingerprint"):
                report.fingerprint = compute_fingerprint(con)
            write_build_info(con, {
                "fingerprint": report.fingerprint, "recipe": recipe.to_dict(), "recipe_name": recipe.name,
                "recipe_hash": recipe.hash(), "data_recipe_hash": recipe.section_hash("data"),
                "overrides": {k: v for k, v in (overrides or {}).items() if v is not None},
                "sources": report.files, "counts": report.counts, "steps": report.steps, "loops": report.loops,
                "rejects": report.rejects, "repairs": report.repairs, "warnings": report.warnings,
                "notes": report.notes, "dpbench_version": __version__, "duckdb_version": duckdb.__version__,
                "lines_read": staged.lines,
            })
            with timer.phase("peers view + checkpoint"):
                save_tables(con, tmp, d.max_peers_per_item)
        finally:
            con.close()
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        Path(str(tmp) + ".wal").unlink(missing_ok=True)
        shutil.rmtree(spill, ignore_errors=True)
    report.database = str(final)
    report.database_bytes = final.stat().st_size
    if exports:
        from dpbench.data.export import export_benchmark

        with timer.phase("exports"):
            report.exports = {fmt: str(p) for fmt, p in export_benchmark(final, out, exports).items()}
    report.timings = timer.as_dict()
    report.seconds = round(timer.total(), 2)
    report.write(out / "build_report.json")
    return report


def release_notes(files: list[dict], d) -> list[str]:
    """Recipe fields that a release cannot apply, said instead of filtered on."""
    notes = []
    lacking = [f["name"] for f in files if f["kind"] == "meta" and f["schema"] in filters.RELEASES_WITHOUT_RATING_NUMBER]
    if d.require_rating_number and lacking:
        notes.append(f"data.require_rating_number is not applied to {', '.join(lacking)}: the 2018 and 2014 "
                     "metadata have no rating_number field.")
    return notes


def remove_stale_build_files(out: Path) -> None:
    """Leftovers of a build that was killed (its process is gone): never a usable database."""
    for p in [*out.glob(".benchmark.duckdb.building-*"), *out.glob(".duckdb-spill-*")]:
        pid = p.name.rsplit("-", 1)[-1].split(".")[0]
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def collect_counts(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    counts: dict[str, Any] = {t: int(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in PUBLIC_TABLES}
    counts["users"] = int(con.execute("SELECT count(DISTINCT (category, user_id)) FROM examples").fetchone()[0])
    counts["examples_by_split"] = {s: int(n) for s, n in con.execute(
        "SELECT split, count(*) FROM examples GROUP BY split ORDER BY split").fetchall()}
    counts["by_category"] = {c: {"users": int(u), "items": int(i), "reviews": int(r)} for c, u, i, r in con.execute(
        """SELECT category, count(DISTINCT user_id), count(DISTINCT item_id), count(*) FROM reviews
           GROUP BY category ORDER BY category""").fetchall()}
    return counts


def no_usable_rows_message(files: list[RawFile], rejects: dict[str, dict]) -> str:
    names = ", ".join(f.path.name for f in files if f.kind == "reviews")
    if not rejects:
        return f"no reviews found in {names}: the files are empty. Check the paths given with --source."
    top = "; ".join(f"{k} ×{v['count']} (e.g. {', '.join(v['examples'][:2])})" for k, v in list(rejects.items())[:4])
    return (f"no usable reviews in {names}: every line was rejected: {top}. Check that these are Amazon review "
            "files (2023, 2018 or 2014 release) or pass --schema; --strict stops at the first bad line with its reason.")
