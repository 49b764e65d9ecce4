"""RunConfig: everything `dpbench run` was asked to do, resolved (CLI > recipe > defaults).

One frozen object goes from the CLI to `dpbench.run.run_method` (prompt methods) or
`dpbench.methods.dep.run_dep` (DEP); both write the same run directory contract (dpbench/runs.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from dpbench.recipes import Recipe


@dataclass(frozen=True)
class RunConfig:
    method: str  # nonpersonal | rag | pag | dpl | dep
    data: Path  # data/NAME (folder holding benchmark.duckdb)
    recipe: Recipe
    split: Literal["train", "val", "test"] = "test"
    limit: int | None = None
    backend: Literal["local", "openai"] = "local"
    model: str = "smollm2-135m"
    base_urls: tuple[str, ...] = ()
    api_key_env: str | None = None  # name of the env var holding the key; the key is never stored
    concurrency: int | None = None  # None = recipe.generation.concurrency
    out: Path = Path("outputs")
    run_id: str | None = None
    shard: str | None = None  # "I/N"
    no_cache: bool = False
    # DEP only
    embedder: str | None = None
    checkpoint: Path | None = None
    epochs: float | None = None
    ablate: Literal["none", "diff", "his", "both"] = "none"
    device: str | None = None
    extra: dict = field(default_factory=dict)
