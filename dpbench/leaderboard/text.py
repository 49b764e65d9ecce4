"""Formatting shared by every leaderboard format: numbers, cells, row labels, the settings footer."""

from __future__ import annotations

from dpbench.leaderboard.board import Cell, Leaderboard, Row
from dpbench.metrics import SPECS

MAX_NOTES = 20
LEGEND = ("* p<0.05, ** p<0.01 (paired approximate randomization vs the baseline run on shared examples); "
          "↓ = significantly worse")


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


def compact_cell(metric: str, cell: Cell | None) -> str:
    """Value + marker, then ± half the CI width: fits narrow terminals."""
    if cell is None or cell.value is None:
        return "—"
    text = format_value(metric, cell.value) + cell.marker
    if cell.ci_low is not None and cell.ci_high is not None:
        text += "\n±" + format_value(metric, (cell.ci_high - cell.ci_low) / 2)
    return text
