"""Gather what the page shows: runs (merged shards, aligned by example id, as `score` loads them), their
scores when `dpbench score` wrote them, every output's trace, and the benchmark's side of each example.

A run that cannot be read (no manifest, another benchmark) is left out with the reason, never stops
the others. A run not scored yet is shown without metrics (its health flags are computed here).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dpbench.errors import DpbenchError
from dpbench.metrics import SPECS
from dpbench.run.store import PREDICTIONS
from dpbench.schema import PredictionRecord
from dpbench.score.load import LoadedRun, RunProblem, discover_runs, load_run
from dpbench.view.bench import clip, read_examples, read_items, read_reviews
from dpbench.view.config import ViewConfig
from dpbench.view.model import DplItem, Output, ReviewText, RunView, Slot, Trace, ViewData

SCORES_FILE, EXAMPLE_SCORES_FILE = "scores.json", "example_scores.jsonl"  # as dpbench.score.scoring writes them
# Per-output settings worth showing; the run-level ones (retriever, checkpoint, ablation) are in the manifest.


def collect_view(paths: list[Path], cfg: ViewConfig) -> ViewData:
    """Everything under `paths` (run directories or folders of them). Raises only when no run is readable."""
    from dpbench.leaderboard.board import label_duplicates, run_variant
    from dpbench.score.scoring import open_benchmarks

    groups, problems = discover_runs([Path(p) for p in paths])
    connect, close = open_benchmarks()
    reviews: dict[str, ReviewText] = {}
    runs: list[RunView] = []
    try:
        loaded: list[LoadedRun] = []
        for g in groups:
            try:
                loaded.append(load_run(g, connect, cfg.data))
            except DpbenchError as e:
                problems.append(RunProblem(g.dirs[0], str(e)))
        if not loaded:
            listing = "\n  ".join(str(p) for p in problems) or "no run directories found"
            raise DpbenchError(f"nothing to view under {', '.join(map(str, paths))}:\n  {listing}")
        keep = None
        if cfg.limit is not None:
            keep = set(sorted({i for r in loaded for i in r.example_ids})[: cfg.limit])
        for run in loaded:
            view = run_view(run, reviews, keep)
            view.variant = run_variant(run.spec.method_args)
            runs.append(view)
        examples, items = read_benchmarks(loaded, runs, connect, cfg.caps.history, keep, reviews)
    finally:
        close()
    label_duplicates(runs)
    baseline = cfg.baseline or (cfg.default_baseline if any(r.method == cfg.default_baseline for r in runs) else None)
    attach_baselines(runs, baseline)
    runs.sort(key=lambda r: (r.benchmark, r.split, not r.is_baseline, r.method, r.variant, r.model, r.run_id))
    metrics = [m for m in SPECS if SPECS[m].aggregation == "mean" and any(
        m in o.metrics for r in runs for o in r.outputs.values())]
    warnings = [n for r in runs for n in r.notes]
    if baseline and not any(r.is_baseline for r in runs):
        warnings.append(f"no {baseline!r} run to compare with (--baseline); Δ columns are left out")
    return ViewData(runs, examples, reviews, items, metrics, baseline, [str(p) for p in problems], warnings)


def read_benchmarks(loaded: list[LoadedRun], runs: list[RunView], connect, max_history: int,
                    keep: set[str] | None, reviews: dict[str, ReviewText]) -> tuple[dict, dict]:
    """Examples (with their history) and items from each benchmark the runs used."""
    used: dict[str, set[str]] = {}  # example id → history reviews some output used
    for view in runs:
        for eid, out in view.outputs.items():
            used.setdefault(eid, set()).update(out.trace.review_ids())
    by_path: dict[Path, list[LoadedRun]] = {}
    for r in loaded:
        by_path.setdefault(r.data_path, []).append(r)
    examples, items = {}, {}
    for data_path, group in by_path.items():
        con, _ = connect(data_path)
        ids = list(dict.fromkeys(i for r in group for i in r.example_ids if keep is None or i in keep))
        mine = {i: used[i] for i in ids if i in used}
        found = read_examples(con, group[0].benchmark, ids, mine, max_history, reviews)
        examples.update(found)
        read_reviews(con, {r for rs in mine.values() for r in rs}, reviews)
        read_items(con, {e.item_id for e in found.values()} | {rv.item_id for rv in reviews.values()}, items)
    return examples, items


def attach_baselines(runs: list[RunView], method: str | None) -> None:
    """Each run's baseline: the `method` run on the same benchmark and split (same model first)."""
    if not method:
        return
    for r in runs:
        same = [b for b in runs if b.method == method and b.split == r.split and b.fingerprint == r.fingerprint]
        same.sort(key=lambda b: (b.model != r.model, b.run_id))
        if same:
            r.baseline_run_id = same[0].run_id
            same[0].is_baseline = True


def run_view(run: LoadedRun, reviews: dict[str, ReviewText], keep: set[str] | None = None) -> RunView:
    """One run's outputs (only those on `keep`, when given), scores and notes."""
    spec = run.spec
    manifest = json.loads(spec.model_dump_json())
    view = RunView(spec.run_id, spec.method, spec.model, spec.backend, spec.split, run.benchmark,
                   spec.benchmark_fingerprint, "", manifest, list(run.example_ids), {},
                   run_dir=str(run.group.dirs[0]),
                   notes=[f"{spec.run_id}: {w}" if spec.run_id not in w else w for w in run.warnings[:5]])
    if len(run.warnings) > 5:
        view.notes.append(f"{spec.run_id}: ... and {len(run.warnings) - 5} more warnings (see `dpbench score`)")
    rows = read_scores(run, view)
    for eid, status, rec in zip(run.example_ids, run.status, run.records):
        if keep is not None and eid not in keep:
            continue
        out = output_of(rec, status, reviews)
        row = rows.get(eid)
        if row is not None:
            out.health = [str(f) for f in row.get("health") or []]
            out.metrics = {m: row.get(m) for m in SPECS if m in row}
        elif not rows:
            from dpbench.score.health import example_health

            out.health = example_health(rec).flags()
        view.outputs[eid] = out
    return view


def read_scores(run: LoadedRun, view: RunView) -> dict[str, dict[str, Any]]:
    """example_scores.jsonl rows by id (and the run summary from scores.json); {} when not scored."""
    d = run.group.dirs[0]
    scores, per_example = d / SCORES_FILE, d / EXAMPLE_SCORES_FILE
    if not scores.exists() or not per_example.exists():
        view.notes.append(f"{view.run_id}: not scored yet (run `dpbench score`); shown without metrics")
        return {}
    try:
        rec = json.loads(scores.read_text(encoding="utf-8"))
        rows = [json.loads(line) for line in per_example.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, ValueError) as e:
        view.notes.append(f"{view.run_id}: scores unreadable ({e}); shown without metrics")
        return {}
    view.scored = True
    view.summary = {k: (v or {}).get("value") for k, v in (rec.get("metrics") or {}).items()}
    view.health = {k: v for k, v in (rec.get("health") or {}).items() if not isinstance(v, dict)}
    view.flags = [str(f) for f in rec.get("flags") or []]
    by_id = {str(r.get("example_id")): r for r in rows if isinstance(r, dict)}
    preds = dict(zip(run.example_ids, run.predictions))
    stale = sum(1 for eid, r in by_id.items() if eid in preds and r.get("prediction_chars") not in (None, len(preds[eid])))
    newest = max(((x / PREDICTIONS).stat().st_mtime for x in run.group.dirs if (x / PREDICTIONS).exists()),
                 default=0.0)
    if stale or newest > scores.stat().st_mtime:
        view.notes.append(f"{view.run_id}: predictions changed after scoring ({stale} outputs differ); "
                          "scores may be stale: rerun `dpbench score`")
    return by_id


def output_of(rec: PredictionRecord | None, status: str, reviews: dict[str, ReviewText]) -> Output:
    if rec is None:
        return Output(status=status)
    raw = rec.raw if rec.raw.strip() and rec.raw.strip() != rec.prediction.strip() else None
    return Output(status=status, prediction=clip(rec.prediction), raw=clip(raw) if raw else None,
                  error=clip(rec.error, 2000) if rec.error else None, finish_reason=rec.finish_reason,
                  latency_s=rec.latency_s, trace=trace_of(rec.trace, reviews))


def trace_of(t: dict[str, Any], reviews: dict[str, ReviewText]) -> Trace:
    """The method's intermediates; DPL's peers (which carry their texts) go into `reviews`."""
    tr = Trace()
    trunc = t.get("truncation")
    if isinstance(trunc, dict) and (trunc.get("reviews_truncated") or trunc.get("descriptions_truncated")):
        tr.settings["truncation"] = {k: trunc.get(k) or 0 for k in ("reviews_truncated", "descriptions_truncated")}
    if t.get("prompt_truncated") is True:  # DEP
        tr.settings["prompt_truncated"] = True
    if isinstance(t.get("retrieved"), list):
        tr.retrieved = [(str(r.get("review_id")), number(r.get("score"))) for r in t["retrieved"] if isinstance(r, dict)]
    if "profile_summary" in t:
        tr.profile = clip(str(t.get("profile_summary") or ""))
    if isinstance(t.get("items"), list):
        tr.dpl_items = [dpl_item(i, reviews) for i in t["items"] if isinstance(i, dict)]
        tr.summary = clip(str(t.get("summary") or ""))
    if isinstance(t.get("mask"), list):
        tr.slots = dep_slots(t)
    return tr


def number(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def dpl_item(i: dict[str, Any], reviews: dict[str, ReviewText]) -> DplItem:
    item_id = str(i.get("item_id") or "")
    peer_ids = []
    for p in i.get("peers") or []:
        if not isinstance(p, dict) or not p.get("review_id"):
            continue
        rid = str(p["review_id"])
        peer_ids.append(rid)
        if rid not in reviews and isinstance(p.get("ts"), int):
            reviews[rid] = ReviewText(rid, str(p.get("user_id") or ""), item_id, int(p["ts"]),
                                      number(p.get("rating")) or 0.0, clip(str(p.get("title") or "")),
                                      clip(str(p.get("text") or "")))
    pos, avail = i.get("position"), i.get("n_peers_available")
    return DplItem(item_id, str(i.get("review_id") or ""), pos if isinstance(pos, int) else None,
                   number(i.get("bm25")), avail if isinstance(avail, int) else None, peer_ids,
                   clip(str(i.get("difference") or "")))


def dep_slots(t: dict[str, Any]) -> list[Slot]:
    """DEP's mask has one entry per slot; the slot_* lists name the entries behind the unmasked ones, in order."""
    def at(key: str, j: int) -> Any:
        xs = t.get(key) or []
        return xs[j] if j < len(xs) else None

    out, j = [], 0
    for k, real in enumerate(t["mask"]):
        if not real or at("slot_review_ids", j) is None:
            out.append(Slot(k, masked=True))
            continue
        out.append(Slot(k, False, str(at("slot_review_ids", j)), at("slot_item_ids", j), at("slot_positions", j),
                        at("slot_n_peers", j)))
        j += 1
    return out
