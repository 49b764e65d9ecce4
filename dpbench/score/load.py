"""Find run directories, merge shards, and align predictions with references by example id.

Missing examples are not dropped: they are scored as empty predictions (""), so a run's mean is always
taken over every example it should cover, and `coverage` says how many it really has. Problems with one
run (no manifest, another benchmark, unreadable lines) never stop the others: a refused run becomes a
`RunProblem`, a recoverable one a warning naming file and line.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from dpbench.errors import DpbenchError
from dpbench.run.store import (
    EXAMPLE_IDS,
    MANIFEST,
    PREDICTIONS,
    effective_status,
    iter_predictions,
    read_example_ids,
    read_manifest,
)
from dpbench.schema import PredictionRecord, RunSpec

MISSING, EMPTY, ERROR, OK = "missing", "empty", "error", "ok"


@dataclass(frozen=True)
class RunProblem:
    path: Path
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass
class RunGroup:
    """One run: one directory, or several shard directories with the same manifest.run_id."""

    run_id: str
    dirs: list[Path]
    specs: list[RunSpec]

    @property
    def spec(self) -> RunSpec:
        return self.specs[0]


@dataclass
class LoadedRun:
    group: RunGroup
    benchmark: str  # a readable name: the benchmark folder
    data_path: Path
    example_ids: list[str]  # every id the run should cover, ordered
    predictions: list[str]  # aligned with example_ids; "" for missing
    references: list[str]
    status: list[str]  # ok | empty | error | missing
    warnings: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # malformed, unknown_ids, duplicates
    contexts: list[dict] | None = None  # item title/description, rating, review title (for the judge)
    records: list[PredictionRecord | None] = field(default_factory=list)  # aligned with example_ids
    categories: list[str] = field(default_factory=list)  # each example's item category, aligned
    run_status: str = "complete"  # the run's effective status (worst over its shards)

    @property
    def spec(self) -> RunSpec:
        return self.group.spec


def discover_runs(paths: list[Path]) -> tuple[list[RunGroup], list[RunProblem]]:
    """Each path is a run directory (has manifest.json or predictions.jsonl) or a folder of them
    (searched up to three levels down). Empty sub-folders are reported, other folders ignored."""
    candidates: list[Path] = []
    problems: list[RunProblem] = []
    for p in paths:
        p = Path(p)
        if not p.exists():
            problems.append(RunProblem(p, f"{p}: no such file or directory"))
        elif not p.is_dir():
            problems.append(RunProblem(p, f"{p}: not a directory (give a run directory or a folder of runs)"))
        elif _looks_like_run(p) or not any(p.iterdir()):
            candidates.append(p)
        else:
            found = _find_run_dirs(p, depth=3)
            if not any(_looks_like_run(d) for d in found):
                problems.append(RunProblem(p, f"{p}: no run directories here (expected {MANIFEST} and "
                                              f"{PREDICTIONS} in {p} or its sub-folders)"))
            candidates.extend(found)
    groups: dict[str, RunGroup] = {}
    for d in dict.fromkeys(candidates):
        if not any(d.iterdir()):
            problems.append(RunProblem(d, f"{d}: empty directory, not scored (a run directory holds "
                                          f"{MANIFEST} and {PREDICTIONS} written by `dpbench run`)"))
            continue
        try:
            spec = read_manifest(d)
        except DpbenchError as e:
            problems.append(RunProblem(d, f"{e}; not scored"))
            continue
        g = groups.setdefault(spec.run_id, RunGroup(spec.run_id, [], []))
        g.dirs.append(d)
        g.specs.append(spec)
    return list(groups.values()), problems


def _find_run_dirs(root: Path, depth: int) -> list[Path]:
    out = []
    for d in sorted(x for x in root.iterdir() if x.is_dir() and not x.name.startswith(".")):
        if _looks_like_run(d) or not any(d.iterdir()):
            out.append(d)
        elif depth > 1:
            out.extend(_find_run_dirs(d, depth - 1))
    return out


def _looks_like_run(d: Path) -> bool:
    return (d / MANIFEST).exists() or (d / PREDICTIONS).exists()


def check_group(group: RunGroup) -> None:
    """Shards of one run must agree on what they ran; refuse mixtures."""
    keys = ("method", "model", "backend", "split", "benchmark_fingerprint", "limit")
    first = group.spec
    for spec, d in zip(group.specs[1:], group.dirs[1:]):
        for k in keys:
            if getattr(spec, k) != getattr(first, k):
                raise DpbenchError(f"{d / MANIFEST}: run_id {group.run_id!r} also in {group.dirs[0]}, but "
                                   f"{k} differs ({getattr(spec, k)!r} vs {getattr(first, k)!r}); give each "
                                   f"run its own --run-id")
    shards = [s.shard for s in group.specs]
    if len(group.dirs) > 1 and (None in shards or len(set(shards)) != len(shards)):
        raise DpbenchError(f"run_id {group.run_id!r} appears in {len(group.dirs)} directories "
                           f"({', '.join(map(str, group.dirs))}) that are not distinct shards")


def resolve_data_path(group: RunGroup, override: Path | None) -> Path:
    if override is not None:
        return Path(override)
    raw = Path(group.spec.data_path)
    if raw.is_absolute() or raw.exists():
        return raw
    for base in (group.dirs[0].parent.parent, group.dirs[0].parent):  # outputs/<run> → project root
        if (base / raw).exists():
            return base / raw
    return raw


def expected_ids(con, group: RunGroup) -> tuple[list[str], list[str]]:
    """Ids the run should cover (all shards together) and warnings about absent shards."""
    from dpbench.data.examples import parse_shard, select_example_ids

    spec, warnings = group.spec, []
    n_shards = parse_shard(spec.shard)[1] if spec.shard else 1
    listed = [read_example_ids(d) for d in group.dirs]
    if spec.shard and len(group.dirs) < n_shards:
        present = ", ".join(sorted(str(s.shard) for s in group.specs))
        warnings.append(f"run {group.run_id}: only shard(s) {present} of {n_shards} found; examples of the "
                        f"absent shards count as missing")
        return select_example_ids(con, spec.split, spec.limit), warnings
    if all(ids is not None for ids in listed):
        ids = sorted({i for part in listed for i in part})
    else:
        ids = select_example_ids(con, spec.split, spec.limit, None if n_shards == 1 else parse_shard(spec.shard))
    if spec.n_expected_all and len(ids) != spec.n_expected_all:
        warnings.append(f"run {group.run_id}: manifest says {spec.n_expected_all} examples, found {len(ids)}")
    return ids, warnings


def read_predictions(group: RunGroup, wanted: set[str]) -> tuple[dict[str, PredictionRecord], list[str], dict]:
    """Records by id (first occurrence wins) and warnings naming file:line for every line not used."""
    records: dict[str, PredictionRecord] = {}
    where: dict[str, str] = {}
    warnings: list[str] = []
    counts: dict[str, int] = defaultdict(int)
    for d in group.dirs:
        path = d / PREDICTIONS
        if not path.exists():
            warnings.append(f"{path}: missing; all examples of this directory count as missing")
            continue
        for lineno, rec, problem in iter_predictions(d):
            loc = f"{path}:{lineno}"
            if rec is None:
                counts["malformed"] += 1
                warnings.append(f"{problem}; skipped")
            elif rec.example_id not in wanted:
                counts["unknown_ids"] += 1
                warnings.append(f"{loc}: example_id {rec.example_id!r} is not among the run's "
                                f"{group.spec.split} examples in the benchmark; ignored")
            elif rec.example_id in records:
                counts["duplicates"] += 1
                warnings.append(f"{loc}: duplicate example_id {rec.example_id!r} (first at "
                                f"{where[rec.example_id]}); the first is kept")
            else:
                records[rec.example_id] = rec
                where[rec.example_id] = loc
    return records, warnings, dict(counts)


def load_contexts(con, ids: list[str]) -> list[dict]:
    rows = con.execute(
        """SELECT e.example_id, coalesce(i.title, ''), coalesce(i.description, ''), e.rating, e.review_title
           FROM examples e LEFT JOIN items i ON i.item_id = e.item_id
           WHERE e.example_id IN (SELECT unnest(?::VARCHAR[]))""", [ids]).fetchall()
    by_id = {r[0]: {"item_title": r[1], "item_description": r[2], "rating": r[3], "review_title": r[4] or ""}
             for r in rows}
    return [by_id.get(i, {}) for i in ids]


def load_categories(con, ids: list[str]) -> list[str]:
    rows = dict(con.execute(
        """SELECT e.example_id, coalesce(i.category, '') FROM examples e LEFT JOIN items i ON i.item_id = e.item_id
           WHERE e.example_id IN (SELECT unnest(?::VARCHAR[]))""", [ids]).fetchall())
    return [rows.get(i, "") for i in ids]


def load_run(group: RunGroup, connect, data_override: Path | None = None, with_context: bool = False) -> LoadedRun:
    """Merge shards and align with references. `connect(path)` → (duckdb connection, fingerprint)."""
    from dpbench.errors import DataError

    check_group(group)
    data_path = resolve_data_path(group, data_override)
    try:
        con, fingerprint = connect(data_path)
    except DpbenchError as e:
        raise DataError(f"{group.dirs[0] / MANIFEST}: data_path {group.spec.data_path!r}: {e} "
                        f"(pass --data to point at the benchmark)") from None
    if fingerprint != group.spec.benchmark_fingerprint:
        raise DataError(f"{group.dirs[0] / MANIFEST}: run {group.run_id} was made on benchmark fingerprint "
                        f"{group.spec.benchmark_fingerprint!r}, but {data_path} has {fingerprint!r} (another "
                        f"benchmark or a rebuilt one); pass --data with the benchmark the run used")
    ids, warnings = expected_ids(con, group)
    refs = dict(con.execute("SELECT example_id, reference FROM examples WHERE example_id IN "
                            "(SELECT unnest(?::VARCHAR[]))", [ids]).fetchall())
    unknown = [i for i in ids if i not in refs]
    if unknown:
        raise DataError(f"{group.dirs[0] / EXAMPLE_IDS}: {len(unknown)} example ids are not in {data_path} "
                        f"(first: {unknown[0]}); the run does not belong to this benchmark")
    records, pred_warnings, counts = read_predictions(group, set(ids))
    statuses = [effective_status(d, spec) for d, spec in zip(group.dirs, group.specs)]
    run_status = next((st for st in ("running", "interrupted", "incomplete") if st in statuses), "complete")
    if run_status != "complete":
        warnings.append(f"run {group.run_id}: status {run_status}" + (
            " (a process is still writing it; these scores are a snapshot)" if run_status == "running" else
            " (rerun the same `dpbench run` command to finish it)"))
    preds, status = [], []
    for i in ids:
        rec = records.get(i)
        text = rec.prediction if rec is not None else ""
        preds.append(text)
        status.append(MISSING if rec is None else ERROR if rec.error else EMPTY if not text.strip() else OK)
    name = data_path.parent.name if data_path.suffix == ".duckdb" else data_path.name
    return LoadedRun(group, name, data_path, ids, preds, [refs[i] or "" for i in ids], status,
                     warnings + pred_warnings, counts, load_contexts(con, ids) if with_context else None,
                     records=[records.get(i) for i in ids], run_status=run_status,
                     categories=load_categories(con, ids))
