"""`dpbench score [outputs/ | RUN_DIR ...]`: metrics with settings, CIs, paired tests, leaderboards."""

from __future__ import annotations

from pathlib import Path

import typer

from dpbench.cli.app import app
from dpbench.cli.options import split_list


@app.command("score")
def score(
    paths: list[Path] = typer.Argument(None, help="Run directories, or folders of them (default: outputs/)."),
    baseline: str = typer.Option(None, "--baseline", help="Method to test every run against (paired test); "
                                 "default nonpersonal when such a run is present; `none` for no tests."),
    metrics: str = typer.Option(None, "--metrics", help="Comma list: rouge,meteor,bleu,bertscore,judge."),
    stemmer: bool = typer.Option(None, "--stemmer/--no-stemmer", help="Porter stemmer in ROUGE (papers: off)."),
    bertscore_model: str = typer.Option(None, "--bertscore-model", help="minilm-l6 (packaged) or any model id/path."),
    bertscore_layer: int = typer.Option(None, "--bertscore-layer", help="Layer (default: 6 for minilm-l6, "
                                                                        "bert-score's default otherwise)."),
    device: str = typer.Option(None, "--device", help="Torch device for BERTScore (default: cuda if present)."),
    meteor_without_wordnet: bool = typer.Option(False, "--meteor-without-wordnet",
                                                help="Report meteor_nowordnet instead of refusing without WordNet."),
    judge_model: str = typer.Option(None, "--judge-model", help="Enable the LLM judge with this model."),
    judge_backend: str = typer.Option("openai", "--judge-backend", help="openai | local."),
    judge_base_url: list[str] = typer.Option(None, "--judge-base-url", help="OpenAI-compatible URL (repeatable)."),
    judge_api_key_env: str = typer.Option(None, "--judge-api-key-env", help="Env var holding the judge's API key."),
    judge_concurrency: int = typer.Option(4, "--judge-concurrency"),
    data: Path = typer.Option(None, "--data", help="Benchmark to read references from (overrides the manifests)."),
    out: Path = typer.Option(None, "--out", help="Folder for leaderboard.* (default: the folder scanned)."),
    fmt: str = typer.Option(None, "--format", help="Comma list of md,csv,json,html,latex (default md,csv,json,html)."),
    resamples: int = typer.Option(None, "--resamples", help="Bootstrap/permutation resamples (default 1000)."),
    seed: int = typer.Option(None, "--seed", help="Seed of the resampling (default 0)."),
    recipe: str = typer.Option(None, "--recipe", help="Take defaults from this recipe's score section."),
    workers: int = typer.Option(None, "--workers", help="Processes for ROUGE/METEOR/BLEU (default: one per core)."),
    sets: list[str] = typer.Option(None, "--set", help="Override a recipe field: score.field=value (repeatable)."),
    reference: list[str] = typer.Option(None, "--reference", help="Published numbers to show beside ours, per "
                                        "category: dep-2025, dpl-2025 (repeatable; never used in tests)."),
) -> None:
    """Score runs: ROUGE/METEOR/BLEU/BERTScore(/judge) with settings, 95% CIs, paired tests, leaderboards."""
    from rich.console import Console

    from dpbench.errors import DpbenchError
    from dpbench.leaderboard import FORMATS, print_leaderboard
    from dpbench.metrics import parse_metrics
    from dpbench.metrics.config import JudgeConfig, ScoreConfig
    from dpbench.score import score_runs

    formats = tuple(split_list(fmt)) or None
    for f in formats or ():
        FORMATS.check_name(f, "--format")
    from dpbench.leaderboard.published import reference_names

    references = tuple(name for item in reference or () for name in split_list(item))
    for name in references:
        if name not in reference_names():
            raise DpbenchError(f"--reference {name!r}: choose from {', '.join(reference_names())}")
    chosen = parse_metrics(metrics) if metrics else None
    judge = None
    if judge_model:
        judge = JudgeConfig(model=judge_model, backend=judge_backend, base_urls=tuple(judge_base_url or ()),
                            api_key_env=judge_api_key_env, concurrency=judge_concurrency)
        if chosen is not None and "judge" not in chosen:
            chosen = (*chosen, "judge")
    recipe_score = None
    if recipe or sets:
        from dpbench.recipes import load_recipe, parse_set_options

        recipe_score = load_recipe(recipe or "sample", overrides=parse_set_options(sets) or None).score
    cfg = ScoreConfig.from_recipe(
        recipe_score, metrics=chosen, stemmer=stemmer, bertscore_model=bertscore_model,
        bertscore_layer=bertscore_layer, device=device, meteor_without_wordnet=meteor_without_wordnet or None,
        baseline=None if baseline == "none" else baseline, data=data, out=out, formats=formats,
        bootstrap_resamples=resamples,
        bootstrap_seed=seed, judge=judge, workers=workers,
        references=references or None,
    )
    if baseline == "none":
        cfg = cfg.with_(default_baseline=None)
    if judge is not None and "judge" not in cfg.metrics:
        cfg = cfg.with_(metrics=(*cfg.metrics, "judge"))
    if "judge" in cfg.metrics and cfg.judge is None:
        raise DpbenchError("--metrics judge needs --judge-model (and --judge-base-url for an openai backend)")
    console = Console()
    board = score_runs(list(paths) if paths else [Path("outputs")], cfg, console=console)
    print_leaderboard(board, console)
    for path in board.files.values():
        console.print(f"wrote {path}", highlight=False)
    if board.problems:
        raise typer.Exit(1)
