"""`dpbench view [outputs/ | RUN_DIR ...]`: one self-contained HTML page to read every example by."""

from __future__ import annotations

from pathlib import Path

import typer

from dpbench.cli.app import app


@app.command("view")
def view(
    paths: list[Path] = typer.Argument(None, help="Run directories, or folders of them (default: outputs/)."),
    baseline: str = typer.Option(None, "--baseline", help="Method the others are compared with, per example "
                                 "(default nonpersonal when such a run is present; `none` for none)."),
    out: Path = typer.Option(None, "--out", help="The HTML file (default: view.html beside the leaderboard)."),
    data: Path = typer.Option(None, "--data", help="Benchmark the runs used (overrides the manifests)."),
    limit: int = typer.Option(None, "--limit", min=1, help="Only the first N examples (by id): a smaller page "
                              "with longer texts."),
    max_history: int = typer.Option(None, "--max-history", min=1, help="History entries per example, newest "
                                    "first (default 20; entries a method used are always kept)."),
    max_mb: float = typer.Option(None, "--max-mb", min=1.0, help="Size budget of the page in MB (default 24): "
                                 "texts are cut further until it fits."),
) -> None:
    """Write a self-contained HTML page: the examples (sortable, filterable), each with its history, every
    run's output beside the reference, metrics, health flags and the method's intermediates."""
    from dataclasses import replace

    from rich.console import Console

    from dpbench.view import ViewConfig, build_view

    cfg = ViewConfig(data=data, out=out, limit=limit)
    if baseline == "none":
        cfg = cfg.with_(default_baseline=None)
    elif baseline:
        cfg = cfg.with_(baseline=baseline)
    if max_history:
        cfg = cfg.with_(caps=replace(cfg.caps, history=max_history))
    if max_mb:
        cfg = cfg.with_(max_bytes=int(max_mb * 1e6))
    console = Console()
    res = build_view(list(paths) if paths else [Path("outputs")], cfg)
    for p in res.problems:
        console.print(f"not shown: {p}", highlight=False, markup=False, soft_wrap=True)
    for w in res.warnings[:20]:
        console.print(f"note: {w}", highlight=False, markup=False, soft_wrap=True)
    console.print(f"wrote {res.path} ({res.n_examples} examples, {res.n_runs} runs, {res.n_bytes / 1e6:.1f} MB)",
                  highlight=False, markup=False, soft_wrap=True)
    if res.problems:
        raise typer.Exit(1)
