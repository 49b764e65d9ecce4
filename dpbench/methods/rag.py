"""RAG (docs/methods.md): the top-k past reviews (BM25, recency or dense; recipe [rag]) beside the target."""

from __future__ import annotations

from typing import Any, ClassVar

from dpbench.data.examples import Example
from dpbench.methods.base import MethodContext, MethodResult, finish
from dpbench.methods.prompts import build_generation
from dpbench.methods.retrieval import retrieve, trace_ranked
from dpbench.recipes import Recipe


class Rag:
    name: ClassVar[str] = "rag"
    runner: ClassVar[str] = "prompt"
    needs_peers: ClassVar[bool] = False

    def uses_embedder(self, recipe: Recipe) -> bool:
        return recipe.rag.retriever == "dense"

    def describe(self, recipe: Recipe) -> dict[str, Any]:
        return {"rag": recipe.rag.model_dump()}

    async def predict(self, example: Example, ctx: MethodContext) -> MethodResult:
        cut = ctx.truncation()
        ranked = await retrieve(example, ctx.recipe.rag.retriever, ctx.recipe.rag.k, ctx.embed)
        messages = build_generation(example, cut, past=[r.entry for r in ranked])
        trace = {"method": self.name, "retriever": ctx.recipe.rag.retriever, "retrieved": trace_ranked(ranked)}
        return await finish(ctx, messages, trace, cut)
