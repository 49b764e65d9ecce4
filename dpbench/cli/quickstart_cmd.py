"""`dpbench quickstart`: build the sample, run every method, score, print the leaderboard."""

from __future__ import annotations

from pathlib import Path

import typer

from dpbench.cli.app import app
from dpbench.methods import METHODS


@app.command("quickstart")
def quickstart(
    limit: int = typer.Option(20, "--limit", help="Test examples per method (the slice of the sample test split)."),
    methods: str = typer.Option(",".join(METHODS.names()), "--methods", help="Comma list of methods to run."),
    data: Path = typer.Option(Path("data/sample"), "--data", help="Where the sample benchmark is built."),
    out: Path = typer.Option(Path("outputs/quickstart"), "--out", help="Where runs and the leaderboard go."),
    recipe: str = typer.Option("quickstart", "--recipe", help="Recipe for runs and scoring."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Rebuild the sample benchmark even if it exists."),
    backend: str = typer.Option("openai", "--backend", help="openai: nonpersonal/rag/pag through the local "
                                "llama.cpp server like dpl (fast on CPU); local: in-process transformers."),
) -> None:
    """Everything offline on the embedded default: sample benchmark → nonpersonal, rag, pag, dpl (through
    a llama.cpp OpenAI-compatible server started on loopback), dep (trained here) → scores → leaderboard."""
    from rich.console import Console

    from dpbench.quickstart import QuickstartConfig, run_quickstart

    cfg = QuickstartConfig(data=data, out=out, limit=limit, recipe=recipe, rebuild=rebuild, backend=backend,
                           methods=tuple(m.strip() for m in methods.split(",") if m.strip()))
    run_quickstart(cfg, Console())
