"""Non-personalized baseline (docs/methods.md): the target item, rating and review title only."""

from __future__ import annotations

from typing import Any, ClassVar

from dpbench.data.examples import Example
from dpbench.methods.base import MethodContext, MethodResult, finish
from dpbench.methods.prompts import build_generation
from dpbench.recipes import Recipe


class NonPersonal:
    name: ClassVar[str] = "nonpersonal"
    runner: ClassVar[str] = "prompt"
    needs_peers: ClassVar[bool] = False

    def uses_embedder(self, recipe: Recipe) -> bool:
        return False

    def describe(self, recipe: Recipe) -> dict[str, Any]:
        return {}

    async def predict(self, example: Example, ctx: MethodContext) -> MethodResult:
        cut = ctx.truncation()
        messages = build_generation(example, cut)
        return await finish(ctx, messages, {"method": self.name}, cut)
