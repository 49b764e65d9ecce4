"""Everything resolved before a run's first request, the same way for every method: which examples
(split, limit, shard), which directory, and the manifest that says what the run is."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dpbench.data.examples import benchmark_fingerprint, benchmark_path, connect, parse_shard, select_example_ids
from dpbench.llm.redact import redact_url
from dpbench.run.config import RunConfig
from dpbench.run.identity import default_run_id, identity_of, run_dir
from dpbench.run.provenance import git_revision, now_iso, package_versions
from dpbench.schema import RunSpec


@dataclass(frozen=True)
class RunPlan:
    run_dir: Path
    example_ids: list[str]  # this run's (this shard's) examples, ordered
    spec: RunSpec


def sampling_dict(cfg: RunConfig) -> dict[str, Any]:
    from dpbench.llm.base import sampling_from_recipe

    return sampling_from_recipe(cfg.recipe.generation).to_dict()


def plan_run(cfg: RunConfig, *, backend: str, prompt_hash: str | None, method_args: dict[str, Any],
             method_settings: dict[str, Any], backend_args: dict[str, Any],
             model_file: dict[str, Any] | None = None) -> RunPlan:
    """The run directory, example ids and manifest of `cfg`. `backend` is what generates (the CLI
    backend for prompt methods, "transformers" for DEP); `method_args` are run-level choices that
    change outputs and so belong to the run's identity."""
    shard = parse_shard(cfg.shard)
    con = connect(cfg.data)
    try:
        fingerprint = benchmark_fingerprint(con)
        all_ids = select_example_ids(con, cfg.split, cfg.limit)
    finally:
        con.close()
    from dpbench.data.examples import in_shard

    ids = [i for i in all_ids if in_shard(i, shard)]
    g = cfg.recipe.generation
    fields = {"method": cfg.method, "model": cfg.model, "backend": backend, "split": cfg.split,
              "limit": cfg.limit, "recipe_hash": cfg.recipe.hash(), "benchmark_fingerprint": fingerprint,
              "prompt_hash": prompt_hash, "method_args": method_args}
    run_id = cfg.run_id if cfg.run_id is not None else default_run_id(cfg.method, cfg.model, cfg.split, cfg.data,
                                                                          identity_of(fields))
    spec = RunSpec(
        run_id=run_id, **fields, data_path=str(benchmark_path(cfg.data)), recipe=cfg.recipe.to_dict(),
        sampling=sampling_dict(cfg), seed=g.seed, shard=cfg.shard if shard else None, n_expected=len(ids),
        n_expected_all=len(all_ids), method_settings=method_settings,
        backend_args={k: ([redact_url(u) for u in v] if k == "base_urls" else v) for k, v in backend_args.items()},
        model_file=model_file or {}, versions=package_versions(), git_revision=git_revision(), created_at=now_iso(),
    )
    return RunPlan(run_dir(cfg.out, run_id, shard), ids, spec)
