"""leaderboard.md: one table per benchmark/split, the settings footer, runs not scored, warnings."""

from __future__ import annotations

from dpbench.leaderboard.board import Leaderboard
from dpbench.leaderboard.text import capped, footer_lines, format_cell, row_label
from dpbench.metrics import SPECS


def render(board: Leaderboard) -> str:
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
