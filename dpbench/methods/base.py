"""What every prompt method is: `async predict(example, ctx) -> MethodResult`.

A method talks to the model only through `ctx.llm.chat` (cache + usage) and never opens files or
sockets; everything it decided on the way (retrieved reviews, peers, differences, summaries, raw
output) goes into `MethodResult.trace`, which the run loop stores in the example's prediction line.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Protocol

import numpy as np

from dpbench.data.examples import Example
from dpbench.llm.base import ChatRequest, Message
from dpbench.llm.client import LLM, CallLog
from dpbench.methods.cleanup import clean_output
from dpbench.methods.prompts import Truncation
from dpbench.recipes import Recipe


class TextEncoder(Protocol):
    """dpbench.embed.Embedder, or a fake in tests: texts → L2-normalized float32 rows."""

    name: str

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray: ...


@dataclass
class MethodContext:
    llm: LLM
    recipe: Recipe
    embedder: TextEncoder | None = None  # set by the run loop when uses_embedder()
    # Embedding runs on CPU threads; one lock keeps concurrent examples from sharing the model at once.
    embed_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    calls: CallLog = field(default_factory=CallLog)  # this example's calls (see for_example)

    def for_example(self) -> MethodContext:
        """The context one example runs with: shared model, cache and embedder, its own call log
        (so a failed example's line still says what its calls cost)."""
        return replace(self, calls=CallLog())

    def truncation(self) -> Truncation:
        g = self.recipe.generation
        return Truncation(g.max_review_chars, g.max_description_chars, g.prompt_style)

    async def embed(self, texts: list[str]) -> np.ndarray:
        if self.embedder is None:
            raise RuntimeError("this method needs an embedder but the run loop gave none")
        async with self.embed_lock:
            return await asyncio.to_thread(self.embedder.encode, texts)


@dataclass
class MethodResult:
    prediction: str
    raw: str
    trace: dict[str, Any]
    calls: CallLog
    prompt_hash: str | None = None  # hash of the final generation messages
    finish_reason: str | None = None  # of the generation call ("length" = cut at max_tokens)


class Method(Protocol):
    name: ClassVar[str]
    runner: ClassVar[str]  # "prompt" (the prompt loop) or "dep" (dpbench.run.RUNNERS)
    needs_peers: ClassVar[bool]

    def uses_embedder(self, recipe: Recipe) -> bool:
        """Whether the run loop must give ctx an embedder (DPL; dense retrieval)."""
        ...

    def describe(self, recipe: Recipe) -> dict[str, Any]:
        """The recipe settings this method uses (recorded in the manifest)."""
        ...

    async def predict(self, example: Example, ctx: MethodContext) -> MethodResult: ...


async def call_llm(ctx: MethodContext, messages: list[Message]) -> str:
    try:
        resp = await ctx.llm.chat(messages)
    except Exception as e:
        ctx.calls.record_failure(e)
        raise
    return ctx.calls.record(resp).text


async def finish(ctx: MethodContext, messages: list[Message], trace: dict[str, Any],
                 cut: Truncation) -> MethodResult:
    """The generation call shared by every method: clean the output, keep the raw text, close the trace."""
    calls = ctx.calls
    raw = await call_llm(ctx, messages)
    prediction = clean_output(raw)
    trace["truncation"] = cut.to_trace()
    trace["generation_messages"] = messages
    trace["raw_output"] = raw
    prompt_hash = ChatRequest(tuple(messages), ctx.llm.sampling).prompt_hash()
    return MethodResult(prediction=prediction, raw=raw, trace=trace, calls=calls, prompt_hash=prompt_hash,
                        finish_reason=calls.finish_reasons[-1] if calls.finish_reasons else None)
