"""`dpbench run`: build one RunConfig (CLI > recipe > defaults) and hand it to the method's runner."""

from __future__ import annotations

from pathlib import Path

import typer

from dpbench.cli import app
from dpbench.errors import DpbenchError

METHOD_NAMES = ("nonpersonal", "rag", "pag", "dpl", "dep")


def build_run_config(**flags) -> RunConfig:  # noqa: F821 (imported lazily)
    """The CLI flags (None = not given) resolved against the recipe into one frozen RunConfig."""
    from dpbench.recipes import load_recipe
    from dpbench.run_config import RunConfig

    method = flags["method"]
    if method not in METHOD_NAMES:
        raise DpbenchError(f"--method {method!r}: choose one of {', '.join(METHOD_NAMES)}")
    if flags["backend"] not in ("local", "openai"):
        raise DpbenchError(f"--backend {flags['backend']!r}: choose local or openai")
    if flags["split"] not in ("train", "val", "test"):
        raise DpbenchError(f"--split {flags['split']!r}: choose train, val or test")
    if flags["ablate"] not in ("none", "diff", "his", "both"):
        raise DpbenchError(f"--ablate {flags['ablate']!r}: choose none, diff, his or both")
    for name in ("limit", "concurrency"):
        if flags[name] is not None and flags[name] < 1:
            raise DpbenchError(f"--{name} must be >= 1 (got {flags[name]})")
    if flags["base_url"] and flags["backend"] != "openai":
        raise DpbenchError("--base-url needs --backend openai")
    return RunConfig(
        method=method, data=Path(flags["data"]), recipe=load_recipe(flags["recipe"]), split=flags["split"],
        limit=flags["limit"], backend=flags["backend"], model=flags["model"],
        base_urls=tuple(flags["base_url"] or ()), api_key_env=flags["api_key_env"],
        concurrency=flags["concurrency"], out=Path(flags["out"]), run_id=flags["run_id"], shard=flags["shard"],
        no_cache=flags["no_cache"], embedder=flags["embedder"], checkpoint=flags["checkpoint"],
        epochs=flags["epochs"], ablate=flags["ablate"], device=flags["device"],
    )


@app.command("run")
def run(
    method: str = typer.Option(..., "--method", help="nonpersonal | rag | pag | dpl | dep"),
    data: Path = typer.Option(..., "--data", help="Benchmark folder (data/NAME, holding benchmark.duckdb)."),
    split: str = typer.Option("test", "--split", help="train | val | test"),
    limit: int = typer.Option(None, "--limit", help="First N examples of the split (by example id)."),
    backend: str = typer.Option("local", "--backend", help="local (transformers) | openai (any compatible URL)"),
    model: str = typer.Option("smollm2-135m", "--model", help="Packaged name, hub id, local path or served name."),
    base_url: list[str] = typer.Option(None, "--base-url", help="OpenAI-compatible URL; repeat for a pool."),
    api_key_env: str = typer.Option(None, "--api-key-env", help="Name of the env var holding the API key."),
    concurrency: int = typer.Option(None, "--concurrency", help="Examples in flight (default: recipe)."),
    recipe: str = typer.Option("sample", "--recipe", help="Recipe name (recipes/NAME.toml) or .toml path."),
    out: Path = typer.Option(Path("outputs"), "--out", help="Folder of run directories."),
    run_id: str = typer.Option(None, "--run-id", help="Run directory name (default: derived from settings)."),
    shard: str = typer.Option(None, "--shard", help="I/N: this machine's share of the examples."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Bypass the response cache."),
    embedder: str = typer.Option(None, "--embedder", help="Sentence embedder (DPL, DEP; default: recipe)."),
    checkpoint: Path = typer.Option(None, "--checkpoint", help="DEP: trained checkpoint to generate with."),
    epochs: float = typer.Option(None, "--epochs", help="DEP: training epochs (default: recipe)."),
    ablate: str = typer.Option("none", "--ablate", help="DEP: none | diff | his | both"),
    device: str = typer.Option(None, "--device", help="cpu | cuda (local backend, embedder, DEP)."),
) -> None:
    """Run a method on a benchmark split; re-running the same command resumes."""
    from rich.console import Console

    from dpbench.methods import RUNNERS

    cfg = build_run_config(
        method=method, data=data, split=split, limit=limit, backend=backend, model=model, base_url=base_url,
        api_key_env=api_key_env, concurrency=concurrency, recipe=recipe, out=out, run_id=run_id, shard=shard,
        no_cache=no_cache, embedder=embedder, checkpoint=checkpoint, epochs=epochs, ablate=ablate, device=device,
    )
    console = Console(stderr=True)
    run_dir = RUNNERS.get(cfg.method)(cfg, console)
    exit_on_errors(Path(run_dir), console)


def exit_on_errors(run_dir: Path, console) -> None:
    """Non-zero exit when an example errored or the run is incomplete, with a short summary."""
    from dpbench.run import summarize

    spec, errors = summarize(run_dir)
    if spec.n_errors or spec.status != "complete":
        console.print(f"[red]{spec.n_errors} of {spec.n_expected} examples failed[/] (status {spec.status}); "
                      f"rerun the same command to retry them. First errors:", highlight=False)
        for line in errors:
            console.print(f"  {line}", highlight=False, markup=False)
        raise typer.Exit(1)
    typer.echo(str(run_dir))
