"""The leaderboard's model: grouped by benchmark and split, one row per run, metric cells with CIs and
paired-test markers, the settings of every metric. Renderers (one module per format, chosen through
dpbench.leaderboard.FORMATS) read this model; column order and direction come from the metric
registry (dpbench.metrics.SPECS), never from names in files.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dpbench.metrics import SPECS
from dpbench.metrics.config import ScoreConfig
from dpbench.metrics.stats import significance_marker


@dataclass
class Cell:
    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    delta: float | None = None
    p_value: float | None = None
    marker: str = ""
    comparable: bool = True  # False: the paired test compares runs that differ in more than the method


@dataclass
class Row:
    run_id: str
    method: str
    model: str
    backend: str
    n_scored: int
    n_expected: int
    coverage: float
    empty_rate: float
    error_rate: float
    cells: dict[str, Cell]
    flags: list[str] = field(default_factory=list)
    is_baseline: bool = False
    variant: str = ""  # what tells this run apart from others of its method, e.g. "ablate=his"
    health: dict[str, Any] = field(default_factory=dict)  # rates empty/cut/loop/echo/meta, unhealthy, reason
    setup: dict[str, Any] = field(default_factory=dict)  # what besides the method shapes the outputs

    @property
    def unhealthy(self) -> bool:
        return bool(self.health.get("unhealthy"))


# Generation settings that do not change outputs (how a run is served), left out of comparisons.
SERVING_FIELDS = {"concurrency", "request_timeout_s", "call_timeout_s", "max_retries"}


def run_setup(spec, example_ids: list[str]) -> dict[str, Any]:
    """What a comparison must hold fixed besides the method: decoding and prompt limits, the exact
    weights, and the examples. Two runs with different setups are not a test of the method alone."""
    import hashlib

    gen = {k: v for k, v in (spec.recipe.get("generation") or spec.sampling or {}).items() if k not in SERVING_FIELDS}
    mf = spec.model_file or {}
    weights = " ".join(str(mf[k]) for k in ("name", "format", "quantization") if mf.get(k)) or spec.model
    ids = hashlib.sha256("\n".join(example_ids).encode()).hexdigest()[:10]
    return {"generation": gen, "weights": weights, "examples": f"{len(example_ids)} ({ids})"}


def setup_differences(rows: list[Row]) -> list[str]:
    """One line per setting on which the group's runs differ: `setting: value (methods); value (methods)`."""
    def label(r: Row) -> str:
        return r.method + (f" [{r.variant}]" if r.variant else "")

    columns: dict[str, list[tuple[str, str]]] = {}
    for r in rows:
        flat = {f"generation.{k}": v for k, v in (r.setup.get("generation") or {}).items()}
        flat.update({k: v for k, v in r.setup.items() if k != "generation"})
        for k, v in flat.items():
            columns.setdefault(k, []).append((str(v), label(r)))
    out = []
    for key in sorted(columns):
        by_value: dict[str, list[str]] = {}
        for v, who in columns[key]:
            by_value.setdefault(v, []).append(who)
        if len(by_value) > 1 or len(columns[key]) < len(rows):
            out.append(f"{key}: " + "; ".join(f"{v} ({', '.join(ms)})" for v, ms in by_value.items()))
    return out


def run_variant(method_args: dict[str, Any]) -> str:
    """Settings that make two runs of one method and model different experiments (DEP's ablation and
    checkpoint), as a short label; "" for a plain run."""
    parts = []
    ablate = method_args.get("ablate")
    if ablate and ablate != "none":
        parts.append(f"ablate={ablate}")
    ckpt = method_args.get("checkpoint")
    if ckpt:
        run_dir = Path(ckpt)
        while run_dir.name in ("checkpoints", "best", "last"):  # RUN/checkpoints[/best] -> RUN
            run_dir = run_dir.parent
        parts.append(f"ckpt {run_dir.name}")
    return " · ".join(parts)


def label_duplicates(rows: list[Row]) -> None:
    """Rows that would still read alike (same method, variant, model, backend) get their run id."""
    seen: dict[tuple, int] = {}
    for r in rows:
        key = (r.method, r.variant, r.model, r.backend)
        seen[key] = seen.get(key, 0) + 1
    for r in rows:
        if seen[(r.method, r.variant, r.model, r.backend)] > 1:
            r.variant = " · ".join(x for x in (r.variant, r.run_id) if x)


@dataclass
class Group:
    benchmark: str
    fingerprint: str
    split: str
    rows: list[Row]
    differences: list[str] = field(default_factory=list)  # setup keys on which the runs differ
    paper: Any = None  # leaderboard.paper.PaperTable: per category, when there are several or references

    @property
    def title(self) -> str:
        return f"{self.benchmark} · {self.split} (benchmark {self.fingerprint[:12]})"


@dataclass
class Leaderboard:
    groups: list[Group]
    metrics: list[str]  # column order
    settings: dict[str, list[dict[str, Any]]]  # metric → distinct settings seen
    statistics: dict[str, Any]
    baseline: str | None = None
    problems: list[str] = field(default_factory=list)  # runs not scored, with the reason
    warnings: list[str] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        papers = [g.paper for g in self.groups]
        for g in self.groups:
            g.paper = None
        try:
            d = asdict(self)
        finally:
            for g, p in zip(self.groups, papers):
                g.paper = p
        for gd, p in zip(d["groups"], papers):
            gd["paper"] = p.to_dict() if p is not None else None
        d["files"] = {k: str(v) for k, v in self.files.items()}
        d["metric_specs"] = {m: asdict(SPECS[m]) for m in self.metrics}
        return d


def build_leaderboard(results, cfg: ScoreConfig, problems: list[str] | None = None,
                      warnings: list[str] | None = None) -> Leaderboard:
    """From score.RunResult objects."""
    names = [m for m in SPECS if any(m in r.columns for r in results)]
    settings: dict[str, list[dict[str, Any]]] = {}
    groups: dict[tuple[str, str], Group] = {}
    members: dict[tuple[str, str], list] = {}
    all_warnings = list(warnings or [])
    for res in results:
        rec = res.record
        cells = {}
        for m in names:
            mv = rec.metrics.get(m)
            if mv is None:
                continue
            pr = res.paired.get(m)
            cells[m] = Cell(mv.value, mv.ci_low, mv.ci_high, pr.delta if pr else None,
                            pr.p_value if pr else None, significance_marker(pr))
            seen = settings.setdefault(m, [])
            st = {k: v for k, v in mv.settings.items() if k not in cfg_stat_keys()}
            if st not in seen:
                seen.append(st)
        row = Row(rec.run_id, rec.method, rec.model, rec.backend, rec.n_scored, rec.n_expected, rec.coverage,
                  rec.empty_rate, rec.error_rate, cells, list(rec.flags),
                  is_baseline=res.baseline_run_id == rec.run_id,
                  variant=run_variant(res.run.spec.method_args), health=dict(rec.health),
                  setup=run_setup(res.run.spec, res.run.example_ids))
        key = (rec.benchmark_fingerprint, rec.split)
        groups.setdefault(key, Group(res.run.benchmark, rec.benchmark_fingerprint, rec.split, [])).rows.append(row)
        members.setdefault(key, []).append(res)
        all_warnings.extend(rec.warnings)
    for g in groups.values():
        label_duplicates(g.rows)
        g.rows.sort(key=lambda r: (not r.is_baseline, r.method, r.variant, r.model, r.run_id))
        g.differences = setup_differences(g.rows)
        mark_incomparable(g.rows)
    for key, g in groups.items():
        g.paper = paper_table_of(g, members[key], cfg)
    stats = {"ci": cfg.ci, "bootstrap_resamples": cfg.bootstrap_resamples, "bootstrap_seed": cfg.bootstrap_seed,
             "paired_test": "approximate randomization (two-sided)" if cfg.baseline else None,
             "missing_examples": "scored as empty predictions; coverage = with a prediction / expected",
             "health_threshold": cfg.health_threshold}
    ordered = sorted(groups.values(), key=lambda g: (g.benchmark, g.split))
    return Leaderboard(ordered, names, settings, stats, cfg.baseline, list(problems or []), all_warnings)


def paper_table_of(group: Group, results: list, cfg: ScoreConfig):
    """The per-category paper layout, when the benchmark holds several categories or references are asked."""
    from dpbench.leaderboard.paper import build_paper_table
    from dpbench.leaderboard.published import load_references

    cats = {c for r in results for c in r.run.categories if c}
    if len(cats) < 2 and not cfg.references:
        return None
    labels = {r.run_id: r.method + (f" [{r.variant}]" if r.variant else "") for r in group.rows}
    refs = load_references(cfg.references, cats) if cfg.references else []
    return build_paper_table(results, labels, cfg, group.benchmark, group.split, refs)


def mark_incomparable(rows: list[Row]) -> None:
    """A paired test against a baseline run with another setup compares more than the method: its
    cells are marked (the marker gets a dagger) instead of being read as a method effect."""
    base = next((r for r in rows if r.is_baseline), None)
    if base is None:
        return
    for r in rows:
        if r is base or r.setup == base.setup:
            continue
        for c in r.cells.values():
            if c.p_value is not None:
                c.comparable = False
                c.marker += "†"


def cfg_stat_keys() -> set[str]:
    return {"bootstrap_resamples", "bootstrap_seed", "ci"}
