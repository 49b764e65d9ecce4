"""The papers' layout: methods as rows, categories as column groups, R-1 / METEOR / BLEU / BERTScore
(+ judge) per category, the best value of each column bold, significance marks against the baseline
run on the same category's examples, and published numbers as reference rows (never tested, never
bold). Built from scored runs of one benchmark; rendered as Markdown and as a LaTeX table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dpbench.leaderboard.published import ReferenceRow
from dpbench.metrics import SPECS
from dpbench.metrics.stats import bootstrap_ci, paired_test, significance_marker

PAPER_METRICS = ("rouge1", "meteor", "bleu", "bertscore_f1", "judge")
PAPER_ORDER = ("Books", "Movies_and_TV", "CDs_and_Vinyl")


@dataclass
class PaperCell:
    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    marker: str = ""
    best: bool = False
    n: int = 0


@dataclass
class PaperRow:
    label: str
    method: str
    model: str
    cells: dict[tuple[str, str], PaperCell]  # (category, metric) -> cell
    is_baseline: bool = False
    unhealthy: bool = False
    published: str | None = None  # reference name for published rows


@dataclass
class PaperTable:
    benchmark: str
    split: str
    categories: list[str]
    metrics: list[str]
    rows: list[PaperRow]
    baseline: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"benchmark": self.benchmark, "split": self.split, "categories": self.categories,
                "metrics": self.metrics, "baseline": self.baseline, "notes": self.notes,
                "rows": [{"label": r.label, "method": r.method, "model": r.model, "published": r.published,
                          "is_baseline": r.is_baseline, "unhealthy": r.unhealthy,
                          "cells": {f"{c}/{m}": vars(cell) for (c, m), cell in r.cells.items()}} for r in self.rows]}


def order_categories(cats: set[str]) -> list[str]:
    return [c for c in PAPER_ORDER if c in cats] + sorted(cats - set(PAPER_ORDER))


def build_paper_table(results, labels: dict[str, str], cfg, benchmark: str, split: str,
                      references: list[ReferenceRow] = ()) -> PaperTable:
    """`results`: score.scoring.RunResult of one benchmark and split; `labels`: run_id -> row label."""
    cats = order_categories({c for r in results for c in r.run.categories if c})
    metrics = [m for m in PAPER_METRICS if any(m in r.columns for r in results)]
    base = next((r for r in results if r.baseline_run_id == r.record.run_id), None)
    rows = []
    for res in results:
        cats_arr = np.asarray(res.run.categories)
        cells: dict[tuple[str, str], PaperCell] = {}
        for c in cats:
            idx = np.flatnonzero(cats_arr == c)
            for m in metrics:
                col = res.columns.get(m)
                if col is None or idx.size == 0:
                    continue
                sub = col.subset(idx)
                lo, hi = bootstrap_ci(sub, cfg.bootstrap_resamples, cfg.bootstrap_seed, cfg.ci)
                value = sub.value()
                cell = PaperCell(None if np.isnan(value) else value, lo, hi, n=int(idx.size))
                if base is not None and res is not base and m in base.columns:
                    cell.marker = paired_marker(res, base, c, m, cfg)
                cells[(c, m)] = cell
        rows.append(PaperRow(labels.get(res.record.run_id, res.record.method), res.record.method, res.record.model,
                             cells, is_baseline=res is base, unhealthy=bool(res.record.health.get("unhealthy"))))
    rows.sort(key=lambda r: (not r.is_baseline, method_rank(r.method), r.label))
    for (c, m) in {k for r in rows for k in r.cells}:
        vals = [(r.cells[(c, m)].value, r) for r in rows if (c, m) in r.cells and r.cells[(c, m)].value is not None]
        if vals:
            pick = max if SPECS[m].higher_is_better else min
            best = pick(v for v, _ in vals)
            for v, r in vals:
                r.cells[(c, m)].best = v == best
    for ref in references:
        row = next((r for r in rows if r.published == ref.reference and r.method == ref.method), None)
        if row is None:
            row = PaperRow(f"{ref.method} (published {ref.reference})", ref.method, ref.model, {},
                           published=ref.reference)
            rows.append(row)
        for m, v in ref.values.items():
            if m in SPECS and (m in metrics or m in ("rouge1", "meteor", "bleu", "bertscore_f1")):
                row.cells[(ref.category, m)] = PaperCell(v)
    notes = [n_note(rows, cats, metrics)] if rows and metrics else []
    notes += [f"{ref.reference}: {ref.source} ({ref.model}); {ref.note}" for ref in
              {r.reference: r for r in references}.values()]
    return PaperTable(benchmark, split, cats, metrics, rows, base.record.method if base else None, notes)


def n_note(rows: list[PaperRow], cats: list[str], metrics: list[str]) -> str:
    """How many examples each category's cells rest on: bold marks the best value, not a difference
    the sample can resolve (that is the * of the paired test)."""
    ns = {c: max((r.cells[(c, m)].n or 0 for r in rows for m in metrics if (c, m) in r.cells), default=0)
          for c in cats}
    shown = ", ".join(f"{c} {n}" for c, n in ns.items())
    return (f"examples per category (our rows): {shown}; bold = best of our rows in the column, "
            "* / ** = p < 0.05 / 0.01 in the paired test against the baseline")


def method_rank(method: str) -> int:
    from dpbench.methods import METHODS

    names = METHODS.names()
    return names.index(method) if method in names else len(names)


def paired_marker(res, base, category: str, metric: str, cfg) -> str:
    """Paired test of two runs on the examples of one category that both cover."""
    pos = {eid: i for i, eid in enumerate(base.run.example_ids)}
    pairs = [(i, pos[e]) for i, (e, c) in enumerate(zip(res.run.example_ids, res.run.categories))
             if c == category and e in pos]
    if len(pairs) < 2:
        return ""
    ia = np.array([a for a, _ in pairs])
    ib = np.array([b for _, b in pairs])
    return significance_marker(paired_test(res.columns[metric].subset(ia), base.columns[metric].subset(ib),
                                           cfg.bootstrap_resamples, cfg.bootstrap_seed))


def fmt(metric: str, v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v:.2f}" if SPECS[metric].scale == 100.0 else f"{v:.4f}"


def to_markdown(t: PaperTable) -> str:
    from dpbench.leaderboard.escape import md_escape

    head = ["method"] + [f"{c} {SPECS[m].label}" for c in t.categories for m in t.metrics]
    out = [f"#### {t.benchmark} · {t.split} — paper layout (best of each column in bold)", "",
           "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in t.rows:
        cells = []
        for c in t.categories:
            for m in t.metrics:
                cell = r.cells.get((c, m))
                text = "—" if cell is None else fmt(m, cell.value) + cell.marker
                cells.append(f"**{text}**" if cell is not None and cell.best else text)
        label = r.label + (" ⚠" if r.unhealthy else "") + (" (baseline)" if r.is_baseline else "")
        out.append("| " + " | ".join([md_escape(label), *cells]) + " |")
    out += [""] + [f"- {n}" for n in t.notes]
    return "\n".join(out) + "\n"


def to_latex(t: PaperTable) -> str:
    """A booktabs table: one column group per category (needs \\usepackage{booktabs,multirow})."""
    from dpbench.leaderboard.escape import latex_escape

    k = len(t.metrics)
    cols = "l" + ("|" + "r" * k) * len(t.categories)
    out = [r"\begin{table*}[t]", r"\centering", r"\small", rf"\begin{{tabular}}{{{cols}}}", r"\toprule",
           " & ".join(["Method"] + [rf"\multicolumn{{{k}}}{{c}}{{{latex_escape(c)}}}" for c in t.categories]) + r" \\",
           "".join(rf"\cmidrule(lr){{{2 + i * k}-{1 + (i + 1) * k}}}" for i in range(len(t.categories))),
           " & ".join([""] + [latex_escape(SPECS[m].label) for _ in t.categories for m in t.metrics]) + r" \\",
           r"\midrule"]
    published_started = False
    for r in t.rows:
        if r.published and not published_started:
            out.append(r"\midrule")
            published_started = True
        cells = []
        for c in t.categories:
            for m in t.metrics:
                cell = r.cells.get((c, m))
                if cell is None or cell.value is None:
                    cells.append("--")
                    continue
                text = fmt(m, cell.value)
                text = rf"\textbf{{{text}}}" if cell.best else text
                mark = cell.marker.replace("↓", r"\downarrow")
                cells.append(text + (f"$^{{{mark}}}$" if mark else ""))
        name = latex_escape(r.label) + (r"$^\ddagger$" if r.unhealthy else "")
        out.append(" & ".join([name, *cells]) + r" \\")
    caption = latex_escape(f"{t.split} split of {t.benchmark}.")
    if t.baseline:
        caption += (rf" $^{{*}}$ p$<$0.05, $^{{**}}$ p$<$0.01, paired approximate randomization against "
                    rf"{latex_escape(t.baseline)} on the same category's examples; $\downarrow$ worse.")
    if any(r.unhealthy for r in t.rows):
        caption += r" $^\ddagger$ unhealthy run (degenerate outputs)."
    if any(r.published for r in t.rows):
        caption += " Rows below the second rule: published numbers, not re-run here (their peers include " \
                   "reviews written after the target)."
    out += [r"\bottomrule", r"\end{tabular}", rf"\caption{{{caption}}}", r"\end{table*}", ""]
    return "\n".join(out)
