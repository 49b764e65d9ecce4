"""PAG (docs/methods.md): an LLM-written profile summary of the user's past reviews, plus the RAG reviews.

The summary is written from the same top-k reviews RAG retrieves (recipe [rag]), so PAG differs
from RAG only by the profile, and DPL differs from PAG only by what its profile is made of.
"""

from __future__ import annotations

from typing import ClassVar

from dpbench.data.examples import Example
from dpbench.methods.base import MethodContext, MethodResult, call_llm, finish
from dpbench.methods.prompts import build_generation, build_pag_summary
from dpbench.methods.rag import Rag
from dpbench.methods.retrieval import retrieve, trace_ranked


class Pag(Rag):
    """RAG's retrieval and settings, plus one profile-summary call before generation."""

    name: ClassVar[str] = "pag"

    async def predict(self, example: Example, ctx: MethodContext) -> MethodResult:
        cut = ctx.truncation()
        ranked = await retrieve(example, ctx.recipe.rag.retriever, ctx.recipe.rag.k, ctx.embed)
        past = [r.entry for r in ranked]
        summary_raw = await call_llm(ctx, build_pag_summary(past, cut)) if past else ""
        profile = summary_raw.strip()
        messages = build_generation(example, cut, past=past, profile=profile)
        trace = {"method": self.name, "retriever": ctx.recipe.rag.retriever, "retrieved": trace_ranked(ranked),
                 "profile_summary": profile, "profile_summary_raw": summary_raw}
        return await finish(ctx, messages, trace, cut)
