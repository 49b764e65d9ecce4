"""`dpbench experiment FILE.toml`: run every cell of a grid, score it, write the paper's table."""

from __future__ import annotations

from pathlib import Path

import typer

from dpbench.cli.app import app


@app.command("experiment")
def experiment(
    file: Path = typer.Argument(..., help="Experiment file (see recipes/experiments/*.toml)."),
    limit: int = typer.Option(None, "--limit", help="Examples per cell (overrides the file)."),
    out: Path = typer.Option(None, "--out", help="Where the cells' runs and tables go (overrides the file)."),
    sets: list[str] = typer.Option(None, "--set", help="Override a recipe field for every cell: section.field=value."),
) -> None:
    """Run every cell (benchmark × model × method; re-running skips finished ones), score them, and write
    one leaderboard per benchmark plus paper_table.{md,tex} in the papers' layout."""
    from rich.console import Console

    from dpbench.experiment.grid import run_experiment
    from dpbench.experiment.spec import load_experiment
    from dpbench.leaderboard import print_leaderboard

    spec = load_experiment(file, limit=limit, out=out, sets=sets)
    console = Console(stderr=True)
    result = run_experiment(spec, console)
    for name, board in result.boards.items():
        console.print(f"[bold]{name}[/]")
        print_leaderboard(board, console)
    for f in result.files:
        console.print(f"wrote {f}", highlight=False)
    if any(c.status != "complete" for c in result.cells):
        raise typer.Exit(1)
