"""`dpbench quickstart`: build the sample, run every method, score, print the leaderboard."""

from __future__ import annotations

from pathlib import Path

import typer

from dpbench.cli.app import app
from dpbench.methods import METHODS


@app.command("quickstart")
def quickstart(
    limit: int = typer.Option(None, "--limit", help="Test examples per method (default: enough for ROUGE-L's "
                              "95% CI to be within ±0.03)."),
    methods: str = typer.Option(",".join(METHODS.names()), "--methods", help="Comma list of methods to run."),
    data: Path = typer.Option(Path("data/sample"), "--data", help="Where the sample benchmark is built."),
    out: Path = typer.Option(Path("outputs/quickstart"), "--out", help="Where runs and the leaderboard go."),
    recipe: str = typer.Option("quickstart", "--recipe", help="Recipe for runs and scoring."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Rebuild the sample benchmark even if it exists."),
    backend: str = typer.Option("local", "--backend", help="local: transformers, one bf16 model for every method "
                                "(fastest here); openai: prompt methods through a llama.cpp server (`dpbench serve`)."),
    dtype: str = typer.Option("auto", "--dtype", help="auto (bf16 where the CPU has native bf16) | float32 | bfloat16"),
) -> None:
    """Everything offline on the embedded default: sample benchmark → nonpersonal, rag, pag, dpl, dep (trained
    here, with a control) → scores, output health, leaderboard."""
    from rich.console import Console

    from dpbench.cli.options import split_list
    from dpbench.quickstart import QuickstartConfig, run_quickstart

    kw = {"limit": limit} if limit else {}
    cfg = QuickstartConfig(data=data, out=out, recipe=recipe, rebuild=rebuild, backend=backend, dtype=dtype,
                           methods=tuple(split_list(methods)), **kw)
    run_quickstart(cfg, Console())
