"""leaderboard.tex: one booktabs table per benchmark/split, ready for a paper (needs \\usepackage{booktabs})."""

from __future__ import annotations

from dpbench.leaderboard.board import Leaderboard, Row
from dpbench.leaderboard.escape import latex_escape
from dpbench.leaderboard.text import format_value, row_label
from dpbench.metrics import SPECS


def latex_cell(metric: str, row: Row) -> str:
    c = row.cells.get(metric)
    if c is None or c.value is None:
        return "--"
    mark = c.marker.replace("↓", r"\downarrow")
    text = format_value(metric, c.value) + (f"$^{{{mark}}}$" if mark else "")
    if c.ci_low is not None:
        text += rf" {{\scriptsize [{format_value(metric, c.ci_low)}, {format_value(metric, c.ci_high)}]}}"
    return text


def render(board: Leaderboard) -> str:
    """One booktabs table per benchmark/split (needs \\usepackage{booktabs})."""
    out = ["% dpbench leaderboard (needs \\usepackage{booktabs})"]
    for g in board.groups:
        cols = "ll" + "r" * len(board.metrics)
        out += [r"\begin{table}[t]", r"\centering", r"\small", rf"\begin{{tabular}}{{{cols}}}", r"\toprule",
                " & ".join(["Method", "Model"] + [latex_escape(SPECS[m].label) for m in board.metrics]) + r" \\",
                r"\midrule"]
        for r in g.rows:
            name = latex_escape(row_label(r)) + (r"$^\dagger$" if "incomplete" in r.flags else "") + \
                (r"$^\ddagger$" if r.unhealthy else "")
            out.append(" & ".join([name, latex_escape(r.model)] + [latex_cell(m, r) for m in board.metrics])
                       + r" \\")
        out += [r"\bottomrule", r"\end{tabular}"]
        note = latex_escape(f"{g.split} split of {g.benchmark}; [lo, hi] = {board.statistics['ci']:.0%} "
                            f"bootstrap CI.")
        if board.baseline:
            note += (rf" $^{{*}}$ p$<$0.05, $^{{**}}$ p$<$0.01 (paired approximate randomization vs. "
                     rf"{latex_escape(board.baseline)}); $\downarrow$ significantly worse.")
        if any("incomplete" in r.flags for r in g.rows):
            note += r" $^\dagger$ incomplete run (missing examples scored as empty)."
        if any(r.unhealthy for r in g.rows):
            note += (r" $^\ddagger$ unhealthy run: more than "
                     rf"{board.statistics.get('health_threshold', 0.1):.0%} of its outputs are empty, loops or "
                     r"prompt echoes, so its scores measure decoding failure.").replace("%", r"\%")
        out += [rf"\caption{{{note}}}", r"\end{table}", ""]
        if g.paper is not None:
            from dpbench.leaderboard.paper import to_latex

            out.append(to_latex(g.paper))
    return "\n".join(out)
