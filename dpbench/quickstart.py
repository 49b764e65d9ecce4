"""`dpbench quickstart`: the whole experiment on the embedded default, offline, on a CPU.

sample raw files → data/sample (build-data) → nonpersonal, rag, pag and dpl through the OpenAI-compatible
path against a llama.cpp server started here (`--backend local` runs the first three in-process with
transformers), dep (train + generate with transformers) on a slice of
the test split → score → leaderboard. Every stage is the same library call the CLI commands make, and
each resumes: running quickstart again reuses the benchmark, finished predictions and the caches.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from dpbench.methods import METHODS


@dataclass(frozen=True)
class QuickstartConfig:
    data: Path = Path("data/sample")
    out: Path = Path("outputs/quickstart")
    limit: int = 20
    recipe: str = "quickstart"
    model: str = "smollm2-135m"
    methods: tuple[str, ...] = tuple(METHODS.names())
    backend: str = "openai"  # for nonpersonal/rag/pag; dpl always goes through the server
    rebuild: bool = False


@dataclass
class QuickstartResult:
    run_dirs: dict[str, Path] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    board: object = None


def ensure_benchmark(cfg: QuickstartConfig, console) -> None:
    from dpbench.data.build import build_benchmark
    from dpbench.data.report import print_report
    from dpbench.recipes import load_recipe

    if (cfg.data / "benchmark.duckdb").exists() and not cfg.rebuild:
        console.print(f"[bold]1/4 benchmark[/]: reusing {cfg.data}/benchmark.duckdb (--rebuild to rebuild)")
        return
    console.print(f"[bold]1/4 benchmark[/]: building the offline sample into {cfg.data}")
    report = build_benchmark(["sample"], load_recipe("sample"), cfg.data, console=console)
    print_report(report, console)


def run_prompt_methods(cfg: QuickstartConfig, recipe, console, result: QuickstartResult) -> None:
    """All prompt methods go through the OpenAI-compatible path against one llama.cpp server started
    here (the fastest engine on a CPU); `--backend local` runs nonpersonal/rag/pag in-process instead."""
    from dpbench.llm.server import start_server
    from dpbench.run import run_method
    from dpbench.run.config import RunConfig

    base = {"data": cfg.data, "recipe": recipe, "split": "test", "limit": cfg.limit, "out": cfg.out}
    methods = [m for m in cfg.methods if METHODS.get(m).runner == "prompt"]
    if cfg.backend == "local":
        for method in [m for m in methods if m != "dpl"]:
            console.print(f"[bold]2/4 run[/] {method} (local transformers backend, {cfg.model})")
            t0 = time.perf_counter()
            result.run_dirs[method] = run_method(
                RunConfig(method=method, backend="local", model=cfg.model, **base), console)
            result.timings[f"run {method}"] = time.perf_counter() - t0
        methods = [m for m in methods if m == "dpl"]
    if not methods:
        return
    t0 = time.perf_counter()
    with start_server(cfg.model, parallel=recipe.generation.concurrency) as server:
        result.timings["serve start"] = time.perf_counter() - t0
        console.print(f"[bold]2/4 serve[/]: `dpbench serve --model {cfg.model}` at {server.base_url}")
        for method in methods:
            console.print(f"[bold]2/4 run[/] {method} (OpenAI-compatible backend → {server.base_url})")
            t0 = time.perf_counter()
            result.run_dirs[method] = run_method(
                RunConfig(method=method, backend="openai", model=server.model, base_urls=(server.base_url,),
                          **base), console)
            result.timings[f"run {method}"] = time.perf_counter() - t0


def run_dep_method(cfg: QuickstartConfig, recipe, console, result: QuickstartResult) -> None:
    from dpbench.run import run_method
    from dpbench.run.config import RunConfig

    console.print(f"[bold]3/4 run[/] dep (train soft-prompt modules against frozen {cfg.model}, then generate)")
    t0 = time.perf_counter()
    result.run_dirs["dep"] = run_method(RunConfig(method="dep", data=cfg.data, recipe=recipe, split="test",
                                               limit=cfg.limit, model=cfg.model, out=cfg.out), console)
    result.timings["run dep"] = time.perf_counter() - t0


def score_all(cfg: QuickstartConfig, console, result: QuickstartResult) -> None:
    from dpbench.leaderboard import print_leaderboard
    from dpbench.metrics.config import ScoreConfig
    from dpbench.recipes import load_recipe
    from dpbench.score import score_runs

    console.print("[bold]4/4 score[/]: ROUGE, METEOR, BLEU, BERTScore with 95% bootstrap CIs vs nonpersonal")
    t0 = time.perf_counter()
    baseline = "nonpersonal" if "nonpersonal" in result.run_dirs else None
    score_cfg = ScoreConfig.from_recipe(load_recipe(cfg.recipe).score, baseline=baseline, out=cfg.out)
    result.board = score_runs(list(result.run_dirs.values()), score_cfg, console=console)
    result.timings["score"] = time.perf_counter() - t0
    print_leaderboard(result.board, console)
    for path in result.board.files.values():
        console.print(f"wrote {path}", highlight=False)


def run_quickstart(cfg: QuickstartConfig, console) -> QuickstartResult:
    from dpbench.recipes import load_recipe

    for m in cfg.methods:
        METHODS.check_name(m, "--methods")
    result = QuickstartResult()
    t_all = time.perf_counter()
    t0 = time.perf_counter()
    ensure_benchmark(cfg, console)
    result.timings["build-data"] = time.perf_counter() - t0
    recipe = load_recipe(cfg.recipe)
    run_prompt_methods(cfg, recipe, console, result)
    if "dep" in cfg.methods:
        run_dep_method(cfg, recipe, console, result)
    score_all(cfg, console, result)
    result.timings["total"] = time.perf_counter() - t_all
    console.print("timings: " + ", ".join(f"{k} {v:.0f}s" for k, v in result.timings.items()), highlight=False)
    console.print(f"predictions: {', '.join(str(p / 'predictions.jsonl') for p in result.run_dirs.values())}",
                  highlight=False)
    return result
