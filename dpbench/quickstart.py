"""`dpbench quickstart`: the whole experiment on the embedded default, offline, on a CPU.

sample raw files → data/sample (build-data) → nonpersonal, rag, pag and dpl → dep (trained here, with
its control trained the same way with the user vectors zeroed) → score → leaderboard, each method's
output health, DEP's val cross-entropy against its control. Every stage is the same library call the
CLI commands make, and each resumes: running quickstart again reuses the benchmark, finished
predictions and the caches.

Engine: every method runs on one copy of SmolLM2-135M in transformers with bf16 weights where the CPU
has native bf16 (else fp32) — on this token mix (prompts ~10x longer than completions) the fastest
path measured here, ahead of the llama.cpp server (benchmarks/llm_client.py --engines) — so all
methods, DEP included, share the same weights and every comparison is about the method.
`--backend openai` runs the prompt methods through `dpbench serve` (llama.cpp, Q4_1 GGUF) instead.
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
    limit: int = 40  # test examples per method: ROUGE-L's 95% CI half-width <= 0.03 (docs/health.md)
    recipe: str = "quickstart"
    model: str = "smollm2-135m"
    methods: tuple[str, ...] = tuple(METHODS.names())
    backend: str = "local"  # "local": transformers (bf16 where native); "openai": a llama.cpp server
    dtype: str = "auto"
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


def run_cfg(cfg: QuickstartConfig, recipe, method: str, **kw):
    from dpbench.run.config import RunConfig

    return RunConfig(method=method, data=cfg.data, recipe=recipe, split="test", limit=cfg.limit, out=cfg.out,
                     model=kw.pop("model", cfg.model), dtype=kw.pop("dtype", cfg.dtype), **kw)


def run_prompt_methods(cfg: QuickstartConfig, recipe, console, result: QuickstartResult) -> None:
    from dpbench.llm.factory import make_backend
    from dpbench.run import run_method

    methods = [m for m in cfg.methods if METHODS.get(m).runner == "prompt"]
    if not methods:
        return
    if cfg.backend == "openai":
        from dpbench.llm.server import start_server

        recipe = server_recipe(cfg, recipe, console)

        t0 = time.perf_counter()
        with start_server(cfg.model, parallel=recipe.generation.concurrency) as server:
            result.timings["serve start"] = time.perf_counter() - t0
            console.print(f"[bold]2/4 serve[/]: `dpbench serve --model {cfg.model}` at {server.base_url}")
            for method in methods:
                t0 = time.perf_counter()
                console.print(f"[bold]2/4 run[/] {method} (OpenAI-compatible backend → {server.base_url})")
                result.run_dirs[method] = run_method(run_cfg(
                    cfg, recipe, method, backend="openai", model=server.model, base_urls=(server.base_url,),
                    dtype=None), console)
                result.timings[f"run {method}"] = time.perf_counter() - t0
        return
    backend = make_backend("local", cfg.model, concurrency=recipe.generation.concurrency, dtype=cfg.dtype)
    console.print(f"[bold]2/4 engine[/]: transformers, {cfg.model} in {backend.dtype or 'float32'} "
                  "(one model for every method, loaded once)")
    for method in methods:
        t0 = time.perf_counter()
        console.print(f"[bold]2/4 run[/] {method}")
        result.run_dirs[method] = run_method(run_cfg(cfg, recipe, method, backend="local"), console, backend=backend)
        result.timings[f"run {method}"] = time.perf_counter() - t0


def server_recipe(cfg: QuickstartConfig, recipe, console):
    """llama.cpp has no no_repeat_ngram_size (the control chosen on val, docs/health.md): the server path
    uses a repetition penalty instead, says so, and the health table shows how that comes out."""
    from dpbench.recipes import load_recipe

    if not recipe.generation.no_repeat_ngram_size:
        return recipe
    console.print("[yellow]note[/]: llama.cpp has no no_repeat_ngram_size, so the prompt methods run with "
                  "generation.repetition_penalty = 1.3 instead (not the setting chosen on val; see the health "
                  "table)", highlight=False)
    return load_recipe(cfg.recipe, overrides={"generation.no_repeat_ngram_size": 0,
                                              "generation.repetition_penalty": 1.3})


def run_dep_method(cfg: QuickstartConfig, recipe, console, result: QuickstartResult) -> None:
    from dpbench.run import run_method

    console.print(f"[bold]3/4 run[/] dep (train the SAE + projectors against frozen {cfg.model}, and the same "
                  "module with the user vectors zeroed as its control; then generate)")
    t0 = time.perf_counter()
    result.run_dirs["dep"] = run_method(run_cfg(cfg, recipe, "dep"), console)
    result.timings["run dep"] = time.perf_counter() - t0


def score_all(cfg: QuickstartConfig, console, result: QuickstartResult) -> None:
    from dpbench.leaderboard import print_leaderboard
    from dpbench.metrics.config import ScoreConfig
    from dpbench.recipes import load_recipe
    from dpbench.score import score_runs

    console.print("[bold]4/4 score[/]: ROUGE, METEOR, BLEU, BERTScore with 95% bootstrap CIs vs nonpersonal, "
                  "output health per run")
    t0 = time.perf_counter()
    baseline = "nonpersonal" if "nonpersonal" in result.run_dirs else None
    score_cfg = ScoreConfig.from_recipe(load_recipe(cfg.recipe).score, baseline=baseline, out=cfg.out)
    result.board = score_runs(list(result.run_dirs.values()), score_cfg, console=console)
    result.timings["score"] = time.perf_counter() - t0
    print_leaderboard(result.board, console)
    print_health(result.board, console)
    print_dep_evidence(result, console)
    for path in result.board.files.values():
        console.print(f"wrote {path}", highlight=False)


def print_health(board, console) -> None:
    from rich.table import Table

    t = Table(title="output health per method (share of test examples; unhealthy = empty+loop+echo > "
                    f"{board.statistics.get('health_threshold', 0.1):.0%})", title_justify="left")
    for col in ("method", "empty", "cut", "loop", "echo", "meta", "degenerate", "health"):
        t.add_column(col, justify="left" if col == "method" else "right")
    for g in board.groups:
        for r in g.rows:
            h = r.health
            cells = ["—" if h.get(k) is None else f"{h[k]:.0%}" for k in ("empty", "cut", "loop", "echo", "meta",
                                                                          "degenerate")]
            t.add_row(r.method, *cells, "[red]UNHEALTHY[/]" if r.unhealthy else "ok")
    console.print(t)


def print_dep_evidence(result: QuickstartResult, console) -> None:
    if "dep" not in result.run_dirs:
        return
    from dpbench.run.store import read_manifest

    dep = read_manifest(result.run_dirs["dep"]).dep
    if dep is None or dep.best_val_ce is None:
        return
    line = f"DEP val cross-entropy: trained {dep.best_val_ce:.4f} nats/token after {dep.train_steps} steps"
    if dep.control_val_ce is not None:
        gain = dep.control_val_ce - dep.best_val_ce
        line += (f"; control ({dep.control}: user vectors zeroed) {dep.control_val_ce:.4f} — the user vectors "
                 f"{'lower' if gain > 0 else 'do NOT lower'} val CE by {gain:+.4f}")
    console.print(line, highlight=False)


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
    console.print(f"look at every example: dpbench view {cfg.out}", highlight=False)
    return result
