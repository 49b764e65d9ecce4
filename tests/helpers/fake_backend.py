"""A scripted Backend (dpbench.llm.base protocol) for tests: records every request it gets.

`respond(request) -> str` writes the reply (default: a deterministic "[Review]: ..." from the prompt
hash); `fail(request, n) -> Exception | None` may raise on the n-th call (1-based) instead.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from typing import Any

from dpbench.errors import BackendError
from dpbench.llm.base import ChatRequest, ChatResponse


def default_reply(request: ChatRequest) -> str:
    blob = json.dumps(list(request.messages), sort_keys=True) + json.dumps(request.sampling.to_dict())
    return f"[Review]: fake review {hashlib.sha256(blob.encode()).hexdigest()[:10]}"


class FakeBackend:
    name = "fake"

    def __init__(self, respond: Callable[[ChatRequest], str] = default_reply, *, model: str = "fake-model",
                 max_concurrency: int = 4, delay_s: float = 0.0,
                 fail: Callable[[ChatRequest, int], Exception | None] | None = None,
                 check_error: str | None = None, attempts: int = 1):
        self.respond = respond
        self.model = model
        self.max_concurrency = max_concurrency
        self.delay_s = delay_s
        self.fail = fail
        self.check_error = check_error
        self.attempts = attempts
        self.requests: list[ChatRequest] = []
        self.checks = 0
        self.closed = False

    def identity(self) -> dict[str, Any]:
        return {"backend": "fake", "model": self.model}

    async def check(self) -> None:
        self.checks += 1
        if self.check_error:
            raise BackendError(self.check_error)

    async def generate(self, request: ChatRequest) -> ChatResponse:
        self.requests.append(request)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail is not None:
            exc = self.fail(request, len(self.requests))
            if exc is not None:
                raise exc
        text = self.respond(request)
        prompt_words = sum(len(m["content"].split()) for m in request.messages)
        return ChatResponse(text=text, prompt_tokens=prompt_words, completion_tokens=len(text.split()),
                            attempts=self.attempts, finish_reason="stop")

    async def aclose(self) -> None:
        self.closed = True

    def messages_of(self, i: int) -> list[dict]:
        return list(self.requests[i].messages)


class FakeEmbedder:
    """Bag-of-words hashing embedder (L2-normalized, 64-d): texts sharing words land close."""

    name = "fake-embedder"

    def __init__(self, dim: int = 64):
        self.dim = dim
        self.calls = 0

    def encode(self, texts: list[str], progress: bool = False):
        import numpy as np

        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                out[i, int(hashlib.md5(w.strip(".,!?").encode()).hexdigest(), 16) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)
