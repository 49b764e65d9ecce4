"""Score every run found, write scores.json + example_scores.jsonl per run directory, then the
leaderboard (outputs/leaderboard.*). Library entry point: `score_runs(paths, cfg)`.

Choices worth knowing:
- Examples a run should cover but lacks are scored as empty predictions (""), so every mean is taken over
  all expected examples; `coverage` = examples with a prediction line / examples expected, and a run
  below 100% is flagged `incomplete` in scores.json and the leaderboard.
- A prediction with an error is scored with its (usually empty) text and counted in `error_rate`.
- Paired tests compare a run with the `--baseline` method's run of the same benchmark and split, on the
  example ids both cover.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dpbench.errors import DpbenchError
from dpbench.metrics import get_compute
from dpbench.metrics.base import MetricScores
from dpbench.metrics.config import ScoreConfig, settings_of
from dpbench.metrics.stats import PairedResult, bootstrap_ci, paired_test
from dpbench.run.provenance import now_iso
from dpbench.run.store import RunStore
from dpbench.schema import MetricValue, PairedValue, ScoreRecord
from dpbench.score.health import run_health
from dpbench.score.load import ERROR, MISSING, LoadedRun, RunProblem, discover_runs, load_run

SCORES_FILE = "scores.json"
EXAMPLE_SCORES_FILE = "example_scores.jsonl"


@dataclass
class RunResult:
    run: LoadedRun
    columns: dict[str, MetricScores]
    record: ScoreRecord
    paired: dict[str, PairedResult] = field(default_factory=dict)
    baseline_run_id: str | None = None
    health_flags: list[list[str]] = field(default_factory=list)  # per example, aligned with run.example_ids


def open_benchmarks():
    """A memoized `connect(path) → (connection, fingerprint)` and a closer."""
    from dpbench.data.examples import benchmark_fingerprint, connect

    cache: dict[str, tuple[Any, str]] = {}

    def get(path: Path):
        key = str(Path(path).resolve())
        if key not in cache:
            con = connect(path)
            cache[key] = (con, benchmark_fingerprint(con))
        return cache[key]

    def close() -> None:
        for con, _ in cache.values():
            con.close()

    return get, close


def compute_columns(predictions: list[str], references: list[str], cfg: ScoreConfig,
                    contexts: list[dict] | None = None) -> dict[str, MetricScores]:
    columns: dict[str, MetricScores] = {}
    for family in cfg.metrics:
        compute = get_compute(family)
        cols = compute(predictions, references, cfg, contexts) if family == "judge" else \
            compute(predictions, references, cfg)
        for col in cols:
            columns[col.spec.name] = col
    return columns


def make_record(run: LoadedRun, columns: dict[str, MetricScores], cfg: ScoreConfig,
                health: dict[str, Any] | None = None) -> ScoreRecord:
    spec, n = run.spec, len(run.example_ids)
    status = np.asarray(run.status)
    n_missing = int(np.sum(status == MISSING))
    metrics: dict[str, MetricValue] = {}
    for name, col in columns.items():
        lo, hi = bootstrap_ci(col, cfg.bootstrap_resamples, cfg.bootstrap_seed, cfg.ci)
        value = col.value()
        metrics[name] = MetricValue(value=None if np.isnan(value) else value, ci_low=lo, ci_high=hi,
                                    settings={**col.settings, **settings_of(cfg)},
                                    note="; ".join(col.notes) or None)
    warnings = list(run.warnings)
    flags = []
    health = health if health is not None else run_health(run.records, cfg.health_threshold)[0]
    if health["unhealthy"]:
        flags.append("unhealthy")
        warnings.append(f"run {run.group.run_id}: unhealthy: {health['reason']}")
    if n_missing:
        flags.append("incomplete")
        warnings.append(f"run {run.group.run_id}: {n_missing} of {n} examples have no prediction; they are "
                        f"scored as empty predictions (coverage {(n - n_missing) / max(n, 1):.1%})")
    for col in columns.values():
        warnings.extend(f"{col.spec.name}: {note}" for note in col.notes)
    return ScoreRecord(
        run_id=spec.run_id, method=spec.method, model=spec.model, backend=spec.backend, split=spec.split,
        benchmark_fingerprint=spec.benchmark_fingerprint, metrics=metrics,
        n_scored=n - n_missing, n_expected=n,
        empty_rate=float(np.mean([not p.strip() for p in run.predictions])) if n else 0.0,
        error_rate=float(np.mean(status == ERROR)) if n else 0.0,
        coverage=(n - n_missing) / n if n else 0.0,
        warnings=warnings,
        benchmark=run.benchmark, data_path=str(run.data_path), shards=[str(d) for d in run.group.dirs],
        n_missing=n_missing, n_errors=int(np.sum(status == ERROR)), flags=flags,
        bad_lines=run.counts, scored_at=now_iso(),
        missing_policy="missing examples are scored as empty predictions",
        extra={name: col.extra for name, col in columns.items() if col.extra},
        health=health,
    )


def score_one(run: LoadedRun, cfg: ScoreConfig) -> RunResult:
    columns = compute_columns(run.predictions, run.references, cfg, run.contexts)
    health, flags = run_health(run.records, cfg.health_threshold)
    return RunResult(run, columns, make_record(run, columns, cfg, health), health_flags=flags)


def pick_baseline(results: list[RunResult], method: str, target: RunResult) -> RunResult | None:
    """The baseline method's run on the same benchmark and split; among several, the one with the same
    setup (weights, decoding, examples), then the same model name."""
    from dpbench.leaderboard.board import run_setup

    same = [r for r in results if r.record.method == method and r.record.split == target.record.split
            and r.record.benchmark_fingerprint == target.record.benchmark_fingerprint]
    setup = run_setup(target.run.spec, target.run.example_ids)
    same.sort(key=lambda r: (run_setup(r.run.spec, r.run.example_ids) != setup, r.record.model != target.record.model,
                             r.record.run_id))
    return same[0] if same else None


def attach_paired_tests(results: list[RunResult], cfg: ScoreConfig) -> list[str]:
    """Fill `paired` on every non-baseline run; returns warnings (no baseline found, ...)."""
    if not cfg.baseline:
        return []
    warnings = []
    for res in results:
        base = pick_baseline(results, cfg.baseline, res)
        if base is None:
            warnings.append(f"run {res.record.run_id}: no {cfg.baseline!r} run on the same benchmark and "
                            f"split to test against")
            continue
        res.baseline_run_id = base.record.run_id
        if base is res:
            continue
        pos = {eid: i for i, eid in enumerate(base.run.example_ids)}
        shared = [(i, pos[e]) for i, e in enumerate(res.run.example_ids) if e in pos]
        ia = np.array([a for a, _ in shared], dtype=np.int64)
        ib = np.array([b for _, b in shared], dtype=np.int64)
        for name, col in res.columns.items():
            if name in base.columns:
                res.paired[name] = paired_test(col.subset(ia), base.columns[name].subset(ib),
                                               cfg.bootstrap_resamples, cfg.bootstrap_seed)
        res.record.paired = {n: PairedValue(baseline_run_id=base.record.run_id, delta=p.delta, p_value=p.p_value,
                                            n_shared=p.n_shared, resamples=p.resamples)
                             for n, p in res.paired.items()}
    return warnings


def write_run_files(res: RunResult) -> None:
    """scores.json and example_scores.jsonl into every directory of the run (each shard gets the merge)."""
    per_example = [n for n, c in res.columns.items() if c.spec.aggregation == "mean"]
    flags = res.health_flags or [[] for _ in res.run.example_ids]
    lines = []
    for i, eid in enumerate(res.run.example_ids):
        row: dict[str, Any] = {"example_id": eid, "status": res.run.status[i],
                               "prediction_chars": len(res.run.predictions[i]), "health": flags[i]}
        for name in per_example:
            v = res.columns[name].per_example[i]
            row[name] = None if np.isnan(v) else float(v)
        lines.append(json.dumps(row))
    body = "\n".join(lines) + ("\n" if lines else "")
    for d in res.run.group.dirs:  # both files replaced together: a kill leaves the old pair or the new one
        RunStore.write_files(d, {SCORES_FILE: res.record.model_dump_json(indent=2), EXAMPLE_SCORES_FILE: body})


def leaderboard_dir(paths: list[Path], cfg: ScoreConfig, results: list[RunResult]) -> Path:
    if cfg.out is not None:
        return Path(cfg.out)
    if len(paths) == 1 and Path(paths[0]).is_dir() and not (Path(paths[0]) / "manifest.json").exists():
        return Path(paths[0])  # `dpbench score outputs/` → outputs/leaderboard.*
    if results:
        return results[0].run.group.dirs[0].parent
    return Path("outputs")


def shared_bertscore(loaded: list[LoadedRun], cfg: ScoreConfig):
    """BERTScore for the pairs of all runs at once (runs of one split share their references)."""
    from contextlib import nullcontext

    if "bertscore" not in cfg.metrics or len(loaded) < 2:
        return nullcontext()
    from dpbench.metrics.bertscore import shared_pairs

    return shared_pairs([p for r in loaded for p in r.predictions], [x for r in loaded for x in r.references], cfg)


@dataclass
class Scored:
    """Every run under the paths, scored (per-run files written), with paired tests attached."""

    results: list[RunResult]
    problems: list[RunProblem]
    warnings: list[str]
    cfg: ScoreConfig  # with the baseline actually used


def score_results(paths: list[Path], cfg: ScoreConfig | None = None, console=None) -> Scored:
    """Load, score and test every run under `paths`, writing scores.json + example_scores.jsonl per run.
    Raises DpbenchError only when nothing at all could be scored."""
    cfg = cfg or ScoreConfig()
    groups, problems = discover_runs([Path(p) for p in paths])
    connect, close = open_benchmarks()
    results: list[RunResult] = []
    try:
        loaded: list[LoadedRun] = []
        for g in groups:
            try:
                loaded.append(load_run(g, connect, cfg.data, with_context="judge" in cfg.metrics))
            except DpbenchError as e:
                problems.append(RunProblem(g.dirs[0], str(e)))
        with shared_bertscore(loaded, cfg):
            for run in loaded:
                if console is not None:
                    console.print(f"scoring {run.group.run_id} ({len(run.example_ids)} examples)",
                                  highlight=False)
                results.append(score_one(run, cfg))
    finally:
        close()
    if not results:
        listing = "\n  ".join(str(p) for p in problems) or "no run directories found"
        raise DpbenchError(f"nothing to score under {', '.join(map(str, paths))}:\n  {listing}")
    if cfg.baseline is None and cfg.default_baseline in {r.record.method for r in results}:
        cfg = cfg.with_(baseline=cfg.default_baseline)  # `dpbench score outputs/` tests against nonpersonal
        if console is not None:
            console.print(f"paired tests against {cfg.baseline!r} (the default baseline; --baseline none for none)",
                          highlight=False)
    warnings = attach_paired_tests(results, cfg)
    if cfg.write_files:
        for res in results:
            write_run_files(res)
    return Scored(results, problems, warnings, cfg)


def score_runs(paths: list[Path], cfg: ScoreConfig | None = None, console=None):
    """Score every run under `paths`; write per-run files and the leaderboard. Returns the Leaderboard."""
    from dpbench.leaderboard import build_leaderboard, write_leaderboard

    scored = score_results(paths, cfg, console)
    cfg = scored.cfg
    board = build_leaderboard(scored.results, cfg, problems=[str(p) for p in scored.problems],
                              warnings=scored.warnings)
    if cfg.write_files:
        board.files = write_leaderboard(board, leaderboard_dir(paths, cfg, scored.results), cfg.formats)
    return board
