"""`LLM`: what methods call. Wraps a Backend with the response cache and usage counting.

Concurrency is bounded by the backend (`max_concurrency`); the run loop bounds examples in flight.
Usage counts every request that reached the backend, failed calls included (their attempts are on
the exception: `attempts`), so the manifest's totals match what a server or a bill counts.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from dpbench.llm.base import Backend, ChatRequest, ChatResponse, Message, Sampling
from dpbench.llm.cache import ResponseCache, cache_key
from dpbench.schema import Usage


def attempts_of(exc: BaseException) -> int:
    """Requests a failed call sent: retries that ran out carry their count; anything else sent one."""
    return int(getattr(exc, "attempts", 1) or 1)


def usage_of_response(resp: ChatResponse) -> Usage:
    if resp.cached:  # no request was made: no tokens processed
        return Usage(cached=1)
    server = resp.extra.get("server")
    return Usage(prompt_tokens=resp.prompt_tokens, completion_tokens=resp.completion_tokens,
                 requests=resp.attempts, retries=max(0, resp.attempts - 1), by_server={server: 1} if server else {})


def usage_of_failure(exc: BaseException) -> Usage:
    n = attempts_of(exc)
    return Usage(requests=n, retries=max(0, n - 1), failed_calls=1)


class LLM:
    def __init__(self, backend: Backend, sampling: Sampling, cache: ResponseCache | None = None):
        self.backend = backend
        self.sampling = sampling
        self.cache = cache
        self.stats = Usage()  # this session's usage (the run adds earlier sessions' from the manifest)
        self._sem = asyncio.Semaphore(max(1, backend.max_concurrency))
        self._identity = backend.identity()

    async def chat(self, messages: list[Message], sampling: Sampling | None = None,
                   sample_index: int = 0) -> ChatResponse:
        req = ChatRequest(tuple(messages), sampling or self.sampling, sample_index)
        key = cache_key(self._identity, req) if self.cache is not None else None
        if key is not None:
            hit = self.cache.cache_get(key)
            if hit is not None:
                self.stats = self.stats.add(usage_of_response(hit))
                return hit
        async with self._sem:
            t0 = time.perf_counter()
            try:
                resp = await self.backend.generate(req)
            except Exception as e:
                self.stats = self.stats.add(usage_of_failure(e))
                raise
            resp.latency_s = resp.latency_s or (time.perf_counter() - t0)
        self.stats = self.stats.add(usage_of_response(resp))
        if key is not None:
            self.cache.cache_put(key, resp, model=self._identity.get("model"))
        return resp


@dataclass
class CallLog:
    """The calls one example makes: usage (failed calls included) and finish reasons, for its line."""

    usage: Usage = field(default_factory=Usage)
    attempts: int = 0
    finish_reasons: list[str | None] = field(default_factory=list)

    def record(self, resp: ChatResponse) -> ChatResponse:
        self.usage = self.usage.add(usage_of_response(resp))
        self.attempts += resp.attempts
        self.finish_reasons.append(resp.finish_reason)
        return resp

    def record_failure(self, exc: BaseException) -> None:
        self.usage = self.usage.add(usage_of_failure(exc))
        self.attempts += attempts_of(exc)
