"""The methods behind one registry; targets are imported lazily, so `dpbench --help` stays fast.

METHODS: `--method NAME` → the method's class. Prompt methods implement `predict(example, ctx)`
(methods/base.py) and run under the prompt loop; DEP trains a module and runs under its own runner.
Which runner a method needs is the class's `runner` attribute (dpbench.run.RUNNERS).
RETRIEVERS: recipe `[rag] retriever` → an async ranking function (methods/retrieval.py).
"""

from __future__ import annotations

from dpbench.registry import Registry

METHODS: Registry = Registry("method", {
    "nonpersonal": "dpbench.methods.nonpersonal:NonPersonal",
    "rag": "dpbench.methods.rag:Rag",
    "pag": "dpbench.methods.pag:Pag",
    "dpl": "dpbench.methods.dpl:Dpl",
    "dep": "dpbench.methods.dep:Dep",
})

RETRIEVERS: Registry = Registry("retriever", {
    "bm25": "dpbench.methods.retrieval:retrieve_bm25",
    "recency": "dpbench.methods.retrieval:retrieve_recency",
    "dense": "dpbench.methods.retrieval:retrieve_dense",
})


def get_method(name: str):
    """An instance of the method `name` (DpbenchError with suggestions when unknown)."""
    return METHODS.get(name)()
