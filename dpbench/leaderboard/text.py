"""Formatting shared by every leaderboard format: numbers, cells, row labels, the settings footer."""

from __future__ import annotations

from dpbench.leaderboard.board import Cell, Leaderboard, Row
from dpbench.metrics import SPECS

MAX_NOTES = 20
LEGEND = ("* p<0.05, ** p<0.01 (paired approximate randomization vs the baseline run on shared examples); "
          "↓ = significantly worse; † = this run differs from the baseline run in more than the method "
          "(see the settings that differ), so the test is not about the method alone")
HEALTH_KEYS = ("empty", "cut", "loop", "echo", "meta")
HEALTH_NOTE = ("Output health (docs/health.md): share of examples whose output is empty, cut at max_tokens, a "
               "repetition loop, an echo of the prompt, or text about the task; ⚠ = unhealthy run")


def pct(v: float | None) -> str:
    return "—" if v is None else f"{v:.0%}"


def health_cells(row: Row) -> list[str]:
    """The empty, cut, loop, echo and meta rates of a row, as short percentages."""
    return [pct(row.health.get(k, row.empty_rate if k == "empty" else None)) for k in HEALTH_KEYS]


def group_notes(group) -> list[str]:
    """Lines under a group's table: unhealthy runs with their reason, settings on which the runs differ."""
    notes = [f"⚠ {row_label(r)}: {r.health.get('reason')}" for r in group.rows if r.unhealthy]
    fb = [f"{row_label(r)}: " + ", ".join(f"{k} {v:.0%}" for k, v in r.health.get("fallbacks", {}).items() if v)
          for r in group.rows if any(r.health.get("fallbacks", {}).values())]
    if fb:
        notes.append("fallbacks taken: " + "; ".join(fb))
    inter = [f"{row_label(r)} {k}: degenerate {v.get('degenerate', 0):.0%} of {v['n']}"
             for r in group.rows for k, v in r.health.get("intermediates", {}).items() if v.get("n")]
    if inter:
        notes.append("intermediates: " + "; ".join(inter))
    if group.differences:
        notes.append("these runs differ in more than the method: " + " | ".join(group.differences))
    return notes


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
