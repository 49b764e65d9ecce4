"""DEP (docs/methods.md): difference-aware embeddings → sparse autoencoder → projectors → soft prompts
on a frozen causal LM, trained and generated with plain torch + transformers.

This package holds what DEP computes (inputs, model, batches, training, generation); its runner, which
writes the run directory like every other method's, is dpbench/run/dep.py.
"""

from __future__ import annotations

from typing import Any, ClassVar


class Dep:
    name: ClassVar[str] = "dep"
    runner: ClassVar[str] = "dep"
    needs_peers: ClassVar[bool] = True

    def describe(self, recipe) -> dict[str, Any]:
        return {"dep": recipe.dep.model_dump()}
