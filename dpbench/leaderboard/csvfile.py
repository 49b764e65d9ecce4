"""leaderboard.csv: one row per run with every number (value, CI, delta, p-value, marker per metric).

Spreadsheets run a cell that starts with = + - @ (or a tab / carriage return) as a formula: such text
cells get a leading apostrophe (OWASP's advice for CSV injection); numbers are written as numbers."""

from __future__ import annotations

import csv
import io
from typing import Any

from dpbench.leaderboard.board import Cell, Leaderboard

HEALTH_RATES = ("empty", "cut", "loop", "echo", "meta", "degenerate")

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def render(board: Leaderboard) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    head = ["benchmark", "fingerprint", "split", "run_id", "method", "variant", "model", "backend", "is_baseline",
            "n_scored", "n_expected", "coverage", "empty_rate", "error_rate", "flags",
            *[f"health_{k}" for k in HEALTH_RATES], "unhealthy", "health_reason"]
    for m in board.metrics:
        head += [m, f"{m}_ci_low", f"{m}_ci_high", f"{m}_delta", f"{m}_p_value", f"{m}_marker"]
    w.writerow(head)
    for g in board.groups:
        for r in g.rows:
            line: list[Any] = [g.benchmark, g.fingerprint, g.split, r.run_id, r.method, r.variant, r.model, r.backend,
                               r.is_baseline, r.n_scored, r.n_expected, r.coverage, r.empty_rate, r.error_rate,
                               ";".join(r.flags), *[r.health.get(k) for k in HEALTH_RATES], r.unhealthy,
                               r.health.get("reason")]
            for m in board.metrics:
                c = r.cells.get(m) or Cell(None)
                line += [c.value, c.ci_low, c.ci_high, c.delta, c.p_value, c.marker]
            w.writerow([csv_cell(v) for v in line])
    return buf.getvalue()
