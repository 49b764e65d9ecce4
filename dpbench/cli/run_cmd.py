"""`dpbench run`: one RunConfig from the flags (dpbench/run/config.py), handed to the method's runner."""

from __future__ import annotations

from pathlib import Path

import typer

from dpbench.cli.app import app
from dpbench.llm import BACKENDS
from dpbench.methods import METHODS


@app.command("run")
def run(
    method: str = typer.Option(..., "--method", help=METHODS.help()),
    data: Path = typer.Option(Path("data/sample"), "--data", help="Benchmark folder (data/NAME, holding "
                              "benchmark.duckdb); default data/sample, what `dpbench build-data` writes."),
    split: str = typer.Option("test", "--split", help="train | val | test"),
    limit: int = typer.Option(None, "--limit", help="First N examples of the split (by example id)."),
    backend: str = typer.Option("local", "--backend", help=f"{BACKENDS.help()} (local: transformers in-process; "
                                "openai: any OpenAI-compatible URL). DEP always runs in-process."),
    model: str = typer.Option("smollm2-135m", "--model", help="Packaged name, hub id, local path or served name."),
    base_url: list[str] = typer.Option(None, "--base-url", help="OpenAI-compatible URL; repeat for a pool."),
    api_key_env: str = typer.Option(None, "--api-key-env", help="Name of the env var holding the API key."),
    concurrency: int = typer.Option(None, "--concurrency", help="Examples in flight (default: recipe)."),
    recipe: str = typer.Option("sample", "--recipe", help="Recipe name (recipes/NAME.toml) or a .toml path."),
    sets: list[str] = typer.Option(None, "--set", help="Override a recipe field: section.field=value (repeatable)."),
    out: Path = typer.Option(Path("outputs"), "--out", help="Folder of run directories."),
    run_id: str = typer.Option(None, "--run-id", help="Run directory name (default: derived from settings)."),
    shard: str = typer.Option(None, "--shard", help="I/N: this machine's share of the examples."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Bypass the response cache."),
    wait: bool = typer.Option(False, "--wait", help="If another process is running this run, wait for it "
                              "instead of refusing."),
    embedder: str = typer.Option(None, "--embedder", help="Sentence embedder (DPL, DEP; default: recipe)."),
    checkpoint: Path = typer.Option(None, "--checkpoint", help="DEP: trained checkpoint to generate with."),
    epochs: float = typer.Option(None, "--epochs", help="DEP: training epochs (default: recipe)."),
    ablate: str = typer.Option("none", "--ablate", help="DEP: none | diff | his | both"),
    device: str = typer.Option(None, "--device", help="cpu | cuda (local backend, embedder, DEP)."),
    dtype: str = typer.Option(None, "--dtype", help="Weights for the local backend and DEP: float32 | bfloat16 | "
                              "auto (bf16 where the device has native bf16). Default: fp32 on CPU, bf16 on CUDA."),
    repetition_penalty: float = typer.Option(None, "--repetition-penalty", help="Decoding: penalize seen tokens "
                                             "(transformers, llama.cpp, vLLM; 1 = off). Default: recipe."),
    frequency_penalty: float = typer.Option(None, "--frequency-penalty", help="Decoding: OpenAI-style, per count."),
    presence_penalty: float = typer.Option(None, "--presence-penalty", help="Decoding: OpenAI-style, per token seen."),
    no_repeat_ngram_size: int = typer.Option(None, "--no-repeat-ngram-size", help="Decoding (transformers only)."),
    stop: list[str] = typer.Option(None, "--stop", help="Stop string (repeatable)."),
) -> None:
    """Run a method on a benchmark split; re-running the same command resumes."""
    from rich.console import Console

    from dpbench.run import run_method
    from dpbench.run.config import RunConfig

    cfg = RunConfig.from_flags(
        method=method, data=data, split=split, limit=limit, backend=backend, model=model, base_url=base_url,
        api_key_env=api_key_env, concurrency=concurrency, recipe=recipe, out=out, run_id=run_id, shard=shard,
        no_cache=no_cache, wait=wait, embedder=embedder, checkpoint=checkpoint, epochs=epochs, ablate=ablate,
        device=device, sets=sets, dtype=dtype,
        decoding={"repetition_penalty": repetition_penalty, "frequency_penalty": frequency_penalty,
                  "presence_penalty": presence_penalty, "no_repeat_ngram_size": no_repeat_ngram_size, "stop": stop},
    )
    console = Console(stderr=True)
    run_dir = run_method(cfg, console)
    if run_dir is None:  # a non-zero rank of torchrun/accelerate: it trained; rank 0 writes the run
        return
    exit_on_errors(Path(run_dir), console)


def exit_on_errors(run_dir: Path, console) -> None:
    """Non-zero exit when an example errored or the run is incomplete, with a short summary."""
    from dpbench.run.store import count_lines, read_example_ids, read_manifest

    spec = read_manifest(run_dir)
    counts = count_lines(run_dir, read_example_ids(run_dir) or [])
    if spec.n_errors or spec.status != "complete":
        console.print(f"[red]{spec.n_errors} of {spec.n_expected} examples failed[/] (status {spec.status}); "
                      f"rerun the same command to retry them. First errors:", highlight=False)
        for line in counts.first_errors:
            console.print(f"  {line}", highlight=False, markup=False)
        raise typer.Exit(1)
    typer.echo(str(run_dir))
