"""`dpbench experiment FILE.toml`: every cell of the grid (benchmark × model × method) run, scored and
laid out as the papers do.

Each cell is one ordinary run directory under out/<benchmark>/, so it resumes like any run: re-running
the experiment skips finished cells (and finished examples of unfinished ones). A failing cell is
recorded in out/experiment.json with its error and the others go on. Then each benchmark's runs are
scored into out/<benchmark>/leaderboard.* and paper_table.{md,tex} (methods as rows, categories as
column groups, best bold, significance against the baseline).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dpbench.errors import DpbenchError
from dpbench.experiment.spec import BenchmarkSpec, ExperimentSpec, ModelSpec
from dpbench.run.progress import Ticker

STATUS_FILE = "experiment.json"


@dataclass
class Cell:
    benchmark: str
    model: str
    method: str
    run_id: str
    run_dir: str = ""
    status: str = "pending"  # pending | complete | failed
    error: str | None = None
    wall_s: float = 0.0


@dataclass
class ExperimentResult:
    cells: list[Cell] = field(default_factory=list)
    boards: dict[str, object] = field(default_factory=dict)  # benchmark name -> Leaderboard
    files: list[Path] = field(default_factory=list)


def cell_run_id(spec: ExperimentSpec, bench: str, method: str, model: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", f"{spec.name}-{bench}-{method}-{model}")[:160]


def ensure_benchmark(b: BenchmarkSpec, console) -> None:
    if (Path(b.data) / "benchmark.duckdb").exists():
        return
    if b.build is None:
        raise DpbenchError(f"benchmark {b.name!r}: no benchmark at {b.data} and no [benchmarks.build] to make one")
    from dpbench.data.build import build_benchmark
    from dpbench.recipes import load_recipe

    overrides = {"data.categories": b.build.categories} if b.build.categories else None
    console.print(f"building benchmark {b.name} into {b.data}", highlight=False)
    sources = [s if s in ("sample", "hub") else str(Path(s).expanduser()) for s in b.build.sources]
    build_benchmark(sources, load_recipe(b.build.recipe, overrides=overrides), Path(b.data), console=console)


def cell_config(spec: ExperimentSpec, b: BenchmarkSpec, m: ModelSpec, method: str, served=None):
    from dpbench.methods import METHODS
    from dpbench.run.config import RunConfig

    prompt = METHODS.get(method).runner == "prompt"
    urls = [served.base_url] if served is not None else list(m.base_urls)
    model = (served.model if served is not None else m.model) if prompt else (m.dep_model or m.model)
    return RunConfig.from_flags(
        method=method, data=b.data, recipe=spec.recipe, split=spec.split, limit=spec.limit,
        backend=m.backend if prompt else "local", model=model, base_url=urls if prompt and m.backend == "openai" else None,
        api_key_env=m.api_key_env, concurrency=m.concurrency, out=Path(spec.out) / b.name,
        run_id=cell_run_id(spec, b.name, method, m.name), sets=spec.sets, device=m.device,
        dtype=m.dtype)


def finished(run_dir: Path) -> bool:
    from dpbench.run.store import read_manifest

    try:
        return read_manifest(run_dir).status == "complete"
    except DpbenchError:
        return False


def run_cell(cell: Cell, cfg, console) -> None:
    from dpbench.llm.redact import redact
    from dpbench.run import run_method

    t0 = time.perf_counter()
    try:
        run_dir = run_method(cfg, console)
        cell.run_dir = str(run_dir)
        cell.status = "complete" if finished(Path(run_dir)) else "failed"
        cell.error = None if cell.status == "complete" else "some examples failed; rerun to retry them"
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as e:  # one failing cell never stops the others
        cell.status, cell.error = "failed", redact(f"{type(e).__name__}: {e}")[:800]
    cell.wall_s += round(time.perf_counter() - t0, 1)


def write_status(spec: ExperimentSpec, cells: list[Cell]) -> None:
    from dpbench.run.store import write_atomic

    path = Path(spec.out) / STATUS_FILE
    write_atomic(path, json.dumps({"experiment": spec.model_dump(mode="json"),
                                   "cells": [asdict(c) for c in cells]}, indent=2))


def run_grid(spec: ExperimentSpec, console) -> list[Cell]:
    from dpbench.llm.server import start_server
    from dpbench.methods import METHODS
    from dpbench.run.identity import run_dir as dir_of

    cells = [Cell(b.name, m.name, meth, cell_run_id(spec, b.name, meth, m.name))
             for b in spec.benchmarks for m in spec.models for meth in spec.methods]
    by_key = {(c.benchmark, c.model, c.method): c for c in cells}
    for c in cells:
        path = dir_of(Path(spec.out) / c.benchmark, c.run_id, None)
        if finished(path):
            c.status, c.run_dir = "complete", str(path)
    with Ticker(console, "experiment cells", len(cells), done=sum(c.status == "complete" for c in cells),
                every_s=0) as ticker:
        for b in spec.benchmarks:
            try:
                ensure_benchmark(b, console)
            except DpbenchError as e:
                for c in cells:
                    if c.benchmark == b.name and c.status != "complete":
                        c.status, c.error = "failed", str(e)
                continue
            for m in spec.models:
                todo = [meth for meth in spec.methods if by_key[(b.name, m.name, meth)].status != "complete"]
                prompt = [x for x in todo if METHODS.get(x).runner == "prompt"]
                server = start_server(m.model) if m.serve and prompt else None
                try:
                    for meth in todo:
                        cell = by_key[(b.name, m.name, meth)]
                        ticker.status = f"running {b.name}/{m.name}/{meth}; " + summary(cells)
                        run_cell(cell, cell_config(spec, b, m, meth, server if meth in prompt else None), console)
                        write_status(spec, cells)
                        ticker.advance(1, summary(cells))
                finally:
                    if server is not None:
                        server.stop()
    write_status(spec, cells)
    return cells


def summary(cells: list[Cell]) -> str:
    done = sum(c.status == "complete" for c in cells)
    failed = sum(c.status == "failed" for c in cells)
    return f"{done} done, {failed} failed, {len(cells) - done - failed} to go"


def score_grid(spec: ExperimentSpec, cells: list[Cell], console) -> ExperimentResult:
    from dpbench.leaderboard.paper import to_latex, to_markdown
    from dpbench.metrics import parse_metrics
    from dpbench.metrics.config import ScoreConfig
    from dpbench.recipes import load_recipe
    from dpbench.run.store import write_atomic
    from dpbench.score import score_runs

    result = ExperimentResult(cells)
    recipe = load_recipe(spec.recipe)
    for b in spec.benchmarks:
        dirs = [Path(c.run_dir) for c in cells if c.benchmark == b.name and c.run_dir]
        if not dirs:
            continue
        out = Path(spec.out) / b.name
        cfg = ScoreConfig.from_recipe(recipe.score, baseline=spec.baseline, out=out, references=tuple(spec.references),
                                      metrics=parse_metrics(spec.metrics) if spec.metrics else None,
                                      formats=("md", "csv", "json", "html", "latex"))
        board = score_runs(dirs, cfg, console=console)
        result.boards[b.name] = board
        result.files += list(board.files.values())
        for g in board.groups:
            if g.paper is None:
                continue
            stem = out / f"paper_table{'' if len(board.groups) == 1 else '_' + g.split}"
            write_atomic(stem.with_suffix(".md"), to_markdown(g.paper))
            write_atomic(stem.with_suffix(".tex"), to_latex(g.paper))
            result.files += [stem.with_suffix(".md"), stem.with_suffix(".tex")]
    return result


def run_experiment(spec: ExperimentSpec, console) -> ExperimentResult:
    cells = run_grid(spec, console)
    failed = [c for c in cells if c.status != "complete"]
    for c in failed:
        console.print(f"cell {c.benchmark}/{c.model}/{c.method} failed: {c.error}", highlight=False, markup=False)
    return score_grid(spec, cells, console)
