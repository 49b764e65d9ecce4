"""The one retry policy (the only tenacity use in dpbench).

Backends hand one attempt (a coroutine factory) and a classifier to `call_with_retries`; this module
decides how long to wait and when to give up:
- transient failures (429, 408, 5xx, timeouts, dropped connections, truncated bodies) are retried
  with exponential jittered backoff, at least as long as the server's `Retry-After` asks;
- every attempt has its own timeout, and there is a finite number of attempts (and optionally a
  total time budget); after that `RetriesExhausted` carries the last error;
- anything else is raised at once (the backend has already turned 401/403/404 into BackendError).

`DPBENCH_RETRY_WAIT_SCALE` (a float, default 1) multiplies every backoff wait, Retry-After included:
tests set it to 0 to make retries instant without touching the policy.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
)

from dpbench.llm.base import RetriesExhausted

T = TypeVar("T")


class TransientError(Exception):
    """A failure worth another attempt. `retry_after` is the server's hint in seconds, if any."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 7  # 1 try + max_retries
    attempt_timeout_s: float = 300.0
    total_timeout_s: float | None = None
    initial_wait_s: float = 1.0
    max_wait_s: float = 60.0

    @classmethod
    def from_settings(cls, max_retries: int, timeout_s: float, **kw) -> RetryPolicy:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        return cls(max_attempts=max_retries + 1, attempt_timeout_s=timeout_s, **kw)


def wait_scale() -> float:
    try:
        return max(0.0, float(os.environ.get("DPBENCH_RETRY_WAIT_SCALE", "1")))
    except ValueError:
        return 1.0


def compute_wait(policy: RetryPolicy, attempt: int, retry_after: float | None, rng: random.Random) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): full-jitter exponential
    backoff, never shorter than Retry-After (capped at max_wait_s so a bad header cannot stall a run)."""
    ceiling = min(policy.max_wait_s, policy.initial_wait_s * (2 ** (attempt - 1)))
    wait = rng.uniform(ceiling / 2, ceiling)
    if retry_after is not None:
        wait = max(wait, min(retry_after, policy.max_wait_s))
    return wait * wait_scale()


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TransientError)


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    classify: Callable[[BaseException], BaseException],
    describe: str,
) -> tuple[T, int]:
    """Run `attempt()` until it succeeds; returns (result, attempts made).

    `classify(exc)` maps a raw exception to what should happen: a TransientError (retry) or any
    other exception (raised as is). A per-attempt timeout becomes a TransientError here.
    """
    rng = random.Random()
    stop = stop_after_attempt(policy.max_attempts)
    if policy.total_timeout_s is not None:
        stop = stop | stop_after_delay(policy.total_timeout_s)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hint = exc.retry_after if isinstance(exc, TransientError) else None
        return compute_wait(policy, state.attempt_number, hint, rng)

    deadline = None if policy.total_timeout_s is None else time.monotonic() + policy.total_timeout_s

    async def one_attempt() -> T:
        # never past the call's total budget: a hung server holds one call at most total_timeout_s
        limit = policy.attempt_timeout_s if deadline is None else \
            max(0.001, min(policy.attempt_timeout_s, deadline - time.monotonic()))
        try:
            return await asyncio.wait_for(attempt(), timeout=limit)
        except TimeoutError as e:
            raise TransientError(f"no answer within {limit:g} s (per-attempt timeout)") from e
        except TransientError:
            raise
        except Exception as e:
            raise classify(e) from e

    retrying = AsyncRetrying(stop=stop, wait=wait, retry=retry_if_exception(_is_transient), reraise=True)
    attempts = 0
    try:
        async for state in retrying:
            with state:
                attempts = state.retry_state.attempt_number
                result = await one_attempt()
            if not state.retry_state.outcome.failed:
                return result, attempts
    except TransientError as e:
        raise RetriesExhausted(f"{describe}: gave up after {attempts} attempt(s); last error: {e}", attempts) from e
    except Exception as e:  # refused for good (401, 400, ...): its requests still count in usage
        with contextlib.suppress(AttributeError, TypeError):
            e.attempts = attempts
        raise
    raise AssertionError("unreachable: tenacity returned without a result")  # pragma: no cover
