"""The leaderboard in a terminal: rich tables, transposed on narrow terminals so 80 columns stay readable."""

from __future__ import annotations

from dpbench.leaderboard.board import Leaderboard
from dpbench.leaderboard.text import (
    HEALTH_KEYS,
    HEALTH_NOTE,
    capped,
    compact_cell,
    footer_lines,
    format_cell,
    group_notes,
    health_cells,
    row_label,
)
from dpbench.metrics import SPECS


def wide_width(board: Leaderboard) -> int:
    return 90 + 19 * len(board.metrics)


def print_notes(group, console) -> None:
    from rich.markup import escape

    for note in group_notes(group):
        color = "red" if note.startswith("⚠") else "yellow"
        console.print(f"[{color}]{escape(note)}[/]", highlight=False, soft_wrap=True)


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
            t.add_row("cut / loop", *[" / ".join(health_cells(r)[1:3]) for r in g.rows])
            t.add_row("echo / meta", *[" / ".join(health_cells(r)[3:5]) for r in g.rows])
            t.add_row("health", *["[red]UNHEALTHY[/]" if r.unhealthy else "ok" for r in g.rows])
            console.print(t)
            print_notes(g, console)
            continue
        t = Table(title=g.title, title_justify="left")
        for col in ("method", "model", "coverage", *HEALTH_KEYS, "errors"):
            t.add_column(col, no_wrap=col != "model")
        for m in board.metrics:
            t.add_column(SPECS[m].label, justify="right")
        for r in g.rows:
            cov = f"{r.coverage:.0%}" + (" [yellow]⚠[/]" if "incomplete" in r.flags else "")
            label = escape(row_label(r)) + (" [red]⚠[/]" if r.unhealthy else "")
            t.add_row(label, escape(r.model), cov, *health_cells(r), f"{r.error_rate:.0%}",
                      *[escape(format_cell(m, r.cells.get(m)).replace(" [", "\n[")) for m in board.metrics])
        console.print(t)
        print_notes(g, console)
    if transposed:
        console.print("[dim]± = half the width of the 95% CI (the leaderboard files give \\[lo, hi]).[/]")
    for line in [*footer_lines(board), HEALTH_NOTE]:
        console.print(f"[dim]{escape(line)}[/]", highlight=False)
    for p in capped(board.problems, 10):
        console.print(f"[red]not scored:[/] {escape(p)}", highlight=False)
    for w in capped(board.warnings, 10):
        console.print(f"[yellow]warning:[/] {escape(w)}", highlight=False)
