"""The methods behind one registry. Targets are imported lazily, so `dpbench --help` stays fast.

- METHODS: the prompt methods (a class each, instantiated by the run loop dpbench/run.py);
- RUNNERS: what `dpbench run --method NAME` calls, `(cfg: RunConfig, console) -> Path` (run dir):
  the prompt methods share dpbench.run.run_method; DEP has its own trainer-runner.
"""

from __future__ import annotations

from dpbench.registry import Registry

METHODS: Registry = Registry("method", {
    "nonpersonal": "dpbench.methods.nonpersonal:NonPersonal",
    "rag": "dpbench.methods.rag:Rag",
    "pag": "dpbench.methods.pag:Pag",
    "dpl": "dpbench.methods.dpl:Dpl",
})

RUNNERS: Registry = Registry("method", {
    **dict.fromkeys(METHODS.names(), "dpbench.run:run_method"),
    "dep": "dpbench.methods.dep.run:run_dep",
})


def get_method(name: str):
    """An instance of the prompt method `name` (DpbenchError with suggestions when unknown)."""
    return METHODS.get(name)()
