"""Leaderboards: grouped by benchmark and split, one row per run, metric columns with CIs and paired-test
markers, the settings of every metric in a footer. Markdown, CSV, JSON and a rich terminal table here;
HTML (inline SVG chart) and LaTeX in leaderboard_render.py. Column order and direction come from the
metric registry (dpbench.metrics.SPECS), never from names in files.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dpbench.metrics import SPECS
from dpbench.metrics.config import ALL_FORMATS, ScoreConfig
from dpbench.metrics.stats import significance_marker

MAX_NOTES = 20
LEGEND = ("* p<0.05, ** p<0.01 (paired approximate randomization vs the baseline run on shared examples); "
          "↓ = significantly worse")


@dataclass
class Cell:
    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    delta: float | None = None
    p_value: float | None = None
    marker: str = ""


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


def run_variant(backend_args: dict[str, Any]) -> str:
    """Settings that make two runs of one method and model different experiments (DEP's ablation and
    checkpoint), as a short label; "" for a plain run."""
    parts = []
    ablate = backend_args.get("ablate")
    if ablate and ablate != "none":
        parts.append(f"ablate={ablate}")
    ckpt = backend_args.get("checkpoint")
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
        d = asdict(self)
        d["files"] = {k: str(v) for k, v in self.files.items()}
        d["metric_specs"] = {m: asdict(SPECS[m]) for m in self.metrics}
        return d


def build_leaderboard(results, cfg: ScoreConfig, problems: list[str] | None = None,
                      warnings: list[str] | None = None) -> Leaderboard:
    """From score.RunResult objects."""
    names = [m for m in SPECS if any(m in r.columns for r in results)]
    settings: dict[str, list[dict[str, Any]]] = {}
    groups: dict[tuple[str, str], Group] = {}
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
                  rec.empty_rate, rec.error_rate, cells, list(getattr(rec, "flags", []) or []),
                  is_baseline=res.baseline_run_id == rec.run_id,
                  variant=run_variant(dict(getattr(res.run.spec, "backend_args", None) or {})))
        key = (rec.benchmark_fingerprint, rec.split)
        groups.setdefault(key, Group(res.run.benchmark, rec.benchmark_fingerprint, rec.split, [])).rows.append(row)
        all_warnings.extend(rec.warnings)
    for g in groups.values():
        label_duplicates(g.rows)
        g.rows.sort(key=lambda r: (not r.is_baseline, r.method, r.variant, r.model, r.run_id))
    stats = {"ci": cfg.ci, "bootstrap_resamples": cfg.bootstrap_resamples, "bootstrap_seed": cfg.bootstrap_seed,
             "paired_test": "approximate randomization (two-sided)" if cfg.baseline else None,
             "missing_examples": "scored as empty predictions; coverage = with a prediction / expected"}
    ordered = sorted(groups.values(), key=lambda g: (g.benchmark, g.split))
    return Leaderboard(ordered, names, settings, stats, cfg.baseline, list(problems or []), all_warnings)


def cfg_stat_keys() -> set[str]:
    return {"bootstrap_resamples", "bootstrap_seed", "ci"}


def format_value(metric: str, v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v:.2f}" if SPECS[metric].scale == 100.0 else f"{v:.4f}"


def format_cell(metric: str, cell: Cell | None, with_ci: bool = True) -> str:
    if cell is None:
        return "—"
    text = format_value(metric, cell.value) + cell.marker
    if with_ci and cell.ci_low is not None:
        text += f" [{format_value(metric, cell.ci_low)}, {format_value(metric, cell.ci_high)}]"
    return text


def row_label(row: Row) -> str:
    label = f"{row.method} [{row.variant}]" if row.variant else row.method
    if row.is_baseline:
        label += " (baseline)"
    return label


def footer_lines(board: Leaderboard) -> list[str]:
    lines = []
    for m in board.metrics:
        for st in board.settings.get(m, []):
            shown = ", ".join(f"{k}={v}" for k, v in st.items())
            lines.append(f"{SPECS[m].label} ({m}, {'↑' if SPECS[m].higher_is_better else '↓'} better): {shown}")
    s = board.statistics
    lines.append(f"[lo, hi] = {s['ci']:.0%} percentile bootstrap CI, {s['bootstrap_resamples']} resamples, "
                 f"seed {s['bootstrap_seed']}. Missing examples: {s['missing_examples']}.")
    if board.baseline:
        lines.append(f"Baseline method: {board.baseline}. {LEGEND}.")
    return lines


def capped(items: list[str], limit: int = MAX_NOTES) -> list[str]:
    return items[:limit] + ([f"... and {len(items) - limit} more"] if len(items) > limit else [])


def to_markdown(board: Leaderboard) -> str:
    out = ["# dpbench leaderboard", ""]
    for g in board.groups:
        out += [f"## {g.title}", ""]
        head = ["method", "model", "backend", "coverage", "empty", "errors"] + [SPECS[m].label for m in board.metrics]
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "---|" * len(head))
        for r in g.rows:
            cov = f"{r.coverage:.0%}" + (" ⚠" if "incomplete" in r.flags else "")
            cells = [format_cell(m, r.cells.get(m)) for m in board.metrics]
            out.append("| " + " | ".join([row_label(r), r.model, r.backend, cov, f"{r.empty_rate:.0%}",
                                          f"{r.error_rate:.0%}", *cells]).replace("\n", " ") + " |")
        out.append("")
    out += ["### Settings", ""] + [f"- {line}" for line in footer_lines(board)]
    if board.problems:
        out += ["", "### Runs not scored", ""] + [f"- {p}" for p in capped(board.problems)]
    if board.warnings:
        out += ["", "### Warnings", ""] + [f"- {w}" for w in capped(board.warnings)]
    return "\n".join(out) + "\n"


def to_csv(board: Leaderboard) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    head = ["benchmark", "fingerprint", "split", "run_id", "method", "variant", "model", "backend", "is_baseline",
            "n_scored", "n_expected", "coverage", "empty_rate", "error_rate", "flags"]
    for m in board.metrics:
        head += [m, f"{m}_ci_low", f"{m}_ci_high", f"{m}_delta", f"{m}_p_value", f"{m}_marker"]
    w.writerow(head)
    for g in board.groups:
        for r in g.rows:
            line: list[Any] = [g.benchmark, g.fingerprint, g.split, r.run_id, r.method, r.variant, r.model, r.backend,
                               r.is_baseline, r.n_scored, r.n_expected, r.coverage, r.empty_rate, r.error_rate,
                               ";".join(r.flags)]
            for m in board.metrics:
                c = r.cells.get(m) or Cell(None)
                line += [c.value, c.ci_low, c.ci_high, c.delta, c.p_value, c.marker]
            w.writerow(["" if v is None else v for v in line])
    return buf.getvalue()


def to_json(board: Leaderboard) -> str:
    return json.dumps(board.to_dict(), indent=2, default=str)


def render(board: Leaderboard, fmt: str) -> str:
    if fmt == "md":
        return to_markdown(board)
    if fmt == "csv":
        return to_csv(board)
    if fmt == "json":
        return to_json(board)
    from dpbench import leaderboard_render

    if fmt == "html":
        return leaderboard_render.to_html(board)
    if fmt == "latex":
        return leaderboard_render.to_latex(board)
    raise ValueError(f"unknown leaderboard format {fmt!r}; choose from {', '.join(ALL_FORMATS)}")


def write_leaderboard(board: Leaderboard, out_dir: Path, formats: tuple[str, ...]) -> dict[str, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {}
    for fmt in formats:
        ext = "tex" if fmt == "latex" else fmt
        path = out_dir / f"leaderboard.{ext}"
        path.write_text(render(board, fmt), encoding="utf-8")
        files[fmt] = path
    return files


def compact_cell(metric: str, cell: Cell | None) -> str:
    """Value + marker, then ± half the CI width: fits narrow terminals."""
    if cell is None or cell.value is None:
        return "—"
    text = format_value(metric, cell.value) + cell.marker
    if cell.ci_low is not None and cell.ci_high is not None:
        text += "\n±" + format_value(metric, (cell.ci_high - cell.ci_low) / 2)
    return text


def wide_width(board: Leaderboard) -> int:
    return 60 + 19 * len(board.metrics)


def print_leaderboard(board: Leaderboard, console) -> None:
    """Rich tables in the terminal, one per benchmark/split, then the settings footer. Runs are rows
    when the terminal is wide enough; otherwise runs become columns and CIs shrink to ±half-width, so
    the table stays readable at 80 columns (the files keep the full [lo, hi])."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    transposed = console.width < wide_width(board)
    for g in board.groups:
        if transposed:
            models = sorted({r.model for r in g.rows})
            t = Table(title=f"{g.title} · {', '.join(models)}", title_justify="left", box=box.SIMPLE_HEAD)
            t.add_column("metric", no_wrap=True)
            for r in g.rows:
                t.add_column(escape(row_label(r)), justify="right")  # rich wraps it only when it must
            for m in board.metrics:
                t.add_row(SPECS[m].label, *[escape(compact_cell(m, r.cells.get(m))) for r in g.rows])
            t.add_row("coverage", *[f"{r.coverage:.0%}" + (" ⚠" if "incomplete" in r.flags else "")
                                    for r in g.rows])
            t.add_row("empty / err", *[f"{r.empty_rate:.0%} / {r.error_rate:.0%}" for r in g.rows])
            console.print(t)
            continue
        t = Table(title=g.title, title_justify="left")
        for col in ("method", "model", "coverage", "empty", "errors"):
            t.add_column(col, no_wrap=col != "model")
        for m in board.metrics:
            t.add_column(SPECS[m].label, justify="right")
        for r in g.rows:
            cov = f"{r.coverage:.0%}" + (" [yellow]⚠[/]" if "incomplete" in r.flags else "")
            t.add_row(escape(row_label(r)), escape(r.model), cov, f"{r.empty_rate:.0%}", f"{r.error_rate:.0%}",
                      *[escape(format_cell(m, r.cells.get(m)).replace(" [", "\n[")) for m in board.metrics])
        console.print(t)
    if transposed:
        console.print("[dim]± = half the width of the 95% CI (the leaderboard files give \\[lo, hi]).[/]")
    for line in footer_lines(board):
        console.print(f"[dim]{escape(line)}[/]", highlight=False)
    for p in capped(board.problems, 10):
        console.print(f"[red]not scored:[/] {escape(p)}", highlight=False)
    for w in capped(board.warnings, 10):
        console.print(f"[yellow]warning:[/] {escape(w)}", highlight=False)
