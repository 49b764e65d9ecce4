"""The run stage: `dpbench run` → outputs/<run_id>/ (manifest.json, predictions.jsonl, ...).

    config.py       RunConfig, resolved once from flags + recipe
    plan.py         example ids, run directory and manifest, the same for every method
    identity.py     run ids, shard suffixes, what makes two runs the same run
    store.py        the run directory: lock, resume, append, final status (the only writer)
    prompt_loop.py  the loop of the prompt methods (concurrent examples over one LLM)
    dep.py          DEP's runner (train or load, then batched generation)
    progress.py     progress bars on a terminal, log lines elsewhere

RUNNERS maps a method's `runner` attribute to the function that runs it.
"""

from __future__ import annotations

from pathlib import Path

from dpbench.registry import Registry

RUNNERS: Registry = Registry("runner", {
    "prompt": "dpbench.run.prompt_loop:run_prompt_method",
    "dep": "dpbench.run.dep:run_dep",
})


def run_method(cfg, console=None, **kw) -> Path | None:
    """Run (or resume) `cfg.method` with its runner; returns the run directory (None on a non-zero
    rank of a distributed DEP launch). Keywords (backend=, embedder=, cache=) go to the prompt loop."""
    from dpbench.methods import METHODS

    runner = RUNNERS.get(METHODS.get(cfg.method).runner)
    return runner(cfg, console, **kw)
