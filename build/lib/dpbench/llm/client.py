"""`LLM`: what methods call. Wraps a Backend with the response cache and usage counters.

Concurrency is bounded by the backend (`max_concurrency`); the run loop bounds examples in flight.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from dpbench.llm.base import Backend, ChatRequest, ChatResponse, Message, Sampling
from dpbench.llm.cache import ResponseCache, cache_key
from dpbench.schema import Usage


@dataclass
class LLMStats:
    requests: int = 0  # calls that reached the backend
    cached: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    errors: int = 0


class LLM:
    def __init__(self, backend: Backend, sampling: Sampling, cache: ResponseCache | None = None):
        self.backend = backend
        self.sampling = sampling
        self.cache = cache
        self.stats = LLMStats()
        self._sem = asyncio.Semaphore(max(1, backend.max_concurrency))
        self._identity = backend.identity()

    async def chat(self, messages: list[Message], sampling: Sampling | None = None,
                   sample_index: int = 0) -> ChatResponse:
        req = ChatRequest(tuple(messages), sampling or self.sampling, sample_index)
        key = cache_key(self._identity, req) if self.cache is not None else None
        if key is not None:
            hit = self.cache.cache_get(key)
            if hit is not None:
                self.stats.cached += 1
                return hit
        async with self._sem:
            t0 = time.perf_counter()
            try:
                resp = await self.backend.generate(req)
            except BaseException:
                self.stats.errors += 1
                raise
            resp.latency_s = resp.latency_s or (time.perf_counter() - t0)
        self.stats.requests += 1
        self.stats.retries += max(0, resp.attempts - 1)
        self.stats.prompt_tokens += resp.prompt_tokens
        self.stats.completion_tokens += resp.completion_tokens
        if key is not None:
            self.cache.cache_put(key, resp)
        return resp


@dataclass
class CallLog:
    """Collects the usage of the calls one example makes (methods return it in their result)."""

    usage: Usage = field(default_factory=Usage)
    attempts: int = 0

    def record(self, resp: ChatResponse) -> ChatResponse:
        self.usage = self.usage.add(Usage(
            prompt_tokens=resp.prompt_tokens, completion_tokens=resp.completion_tokens,
            requests=0 if resp.cached else 1, cached=1 if resp.cached else 0,
            retries=max(0, resp.attempts - 1),
        ))
        self.attempts += resp.attempts
        return resp
