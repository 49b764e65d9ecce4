"""leaderboard.md: one table per benchmark/split, the settings footer, runs not scored, warnings.

Markdown viewers render inline HTML, so every text from runs and data (run ids, model names, warnings
quoting file contents) is escaped: `<`, `>` and `&` become entities, `|` cannot end a cell, and
Markdown's own markup characters are backslash-escaped."""

from __future__ import annotations

from dpbench.leaderboard.board import Leaderboard
from dpbench.leaderboard.escape import md_escape
from dpbench.leaderboard.text import (
    HEALTH_KEYS,
    HEALTH_NOTE,
    capped,
    footer_lines,
    format_cell,
    group_notes,
    health_cells,
)
from dpbench.metrics import SPECS


def md_label(row) -> str:
    """row_label with its untrusted part (the variant: run ids, checkpoint folders) escaped."""
    label = f"{md_escape(row.method)} [{md_escape(row.variant)}]" if row.variant else md_escape(row.method)
    return label + (" (baseline)" if row.is_baseline else "")


def render(board: Leaderboard) -> str:
    out = ["# dpbench leaderboard", ""]
    for g in board.groups:
        out += [f"## {md_escape(g.benchmark)} · {g.split} (benchmark {md_escape(g.fingerprint[:12])})", ""]
        head = ["method", "model", "backend", "coverage", *HEALTH_KEYS, "errors"] + [SPECS[m].label for m in board.metrics]
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "---|" * len(head))
        for r in g.rows:
            cov = f"{r.coverage:.0%}" + (" ⚠" if "incomplete" in r.flags else "")
            cells = [format_cell(m, r.cells.get(m)) for m in board.metrics]
            texts = [md_label(r) + (" ⚠" if r.unhealthy else ""), md_escape(r.model), md_escape(r.backend)]
            out.append("| " + " | ".join([*texts, cov, *health_cells(r), f"{r.error_rate:.0%}",
                                          *cells]) + " |")  # cells: our own numbers and markers
        out.append("")
        out += [f"- {md_escape(n)}" for n in group_notes(g)] + ([""] if group_notes(g) else [])
        if g.paper is not None:
            from dpbench.leaderboard.paper import to_markdown

            out += [to_markdown(g.paper)]
    out += ["### Settings", ""] + [f"- {md_escape(line)}" for line in footer_lines(board)]
    out.append(f"- {md_escape(HEALTH_NOTE)}")
    if board.problems:
        out += ["", "### Runs not scored", ""] + [f"- {md_escape(p)}" for p in capped(board.problems)]
    if board.warnings:
        out += ["", "### Warnings", ""] + [f"- {md_escape(w)}" for w in capped(board.warnings)]
    return "\n".join(out) + "\n"
