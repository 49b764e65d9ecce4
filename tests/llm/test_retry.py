"""The retry policy on its own: counts, give-up, pass-through, Retry-After and per-attempt timeouts."""

from __future__ import annotations

import asyncio
import random

import pytest

from dpbench.llm.base import RetriesExhausted
from dpbench.llm.retry import (
    RetryPolicy,
    TransientError,
    call_with_retries,
    compute_wait,
)


@pytest.fixture(autouse=True)
def instant_waits(monkeypatch):
    monkeypatch.setenv("DPBENCH_RETRY_WAIT_SCALE", "0")


def flaky(failures: list[BaseException], result: str = "ok"):
    calls = {"n": 0}

    async def attempt() -> str:
        calls["n"] += 1
        if failures:
            raise failures.pop(0)
        return result

    return attempt, calls


def keep(exc: BaseException) -> BaseException:
    return exc


def test_transient_failures_are_retried_and_counted():
    attempt, calls = flaky([TransientError("a"), TransientError("b")])
    result, attempts = asyncio.run(call_with_retries(attempt, RetryPolicy(max_attempts=5), classify=keep, describe="t"))
    assert (result, attempts, calls["n"]) == ("ok", 3, 3)


def test_gives_up_after_max_attempts_with_last_error():
    attempt, calls = flaky([TransientError(f"e{i}") for i in range(10)])
    with pytest.raises(RetriesExhausted, match=r"m at u: gave up after 4 attempt\(s\); last error: e3"):
        asyncio.run(call_with_retries(attempt, RetryPolicy(max_attempts=4), classify=keep, describe="m at u"))
    assert calls["n"] == 4


def test_non_transient_error_is_raised_at_once():
    attempt, calls = flaky([ValueError("bad request")])
    with pytest.raises(ValueError, match="bad request"):
        asyncio.run(call_with_retries(attempt, RetryPolicy(max_attempts=5), classify=keep, describe="t"))
    assert calls["n"] == 1


def test_classify_can_make_an_error_transient():
    attempt, _ = flaky([ConnectionResetError("dropped")])
    result, attempts = asyncio.run(call_with_retries(
        attempt, RetryPolicy(), classify=lambda e: TransientError(str(e)), describe="t"))
    assert (result, attempts) == ("ok", 2)


def test_per_attempt_timeout_is_transient():
    calls = {"n": 0}

    async def slow_then_fast() -> str:
        calls["n"] += 1
        if calls["n"] == 1:
            await asyncio.sleep(5)
        return "fast"

    result, attempts = asyncio.run(call_with_retries(
        slow_then_fast, RetryPolicy(attempt_timeout_s=0.05), classify=keep, describe="t"))
    assert (result, attempts) == ("fast", 2)


def test_wait_grows_exponentially_and_honours_retry_after(monkeypatch):
    monkeypatch.setenv("DPBENCH_RETRY_WAIT_SCALE", "1")
    p, rng = RetryPolicy(initial_wait_s=1.0, max_wait_s=8.0), random.Random(0)
    waits = [compute_wait(p, n, None, rng) for n in (1, 2, 3, 4, 5)]
    assert 0.5 <= waits[0] <= 1 and 1 <= waits[1] <= 2 and 2 <= waits[2] <= 4 and 4 <= waits[3] <= 8
    assert 4 <= waits[4] <= 8  # capped at max_wait_s
    assert compute_wait(p, 1, 5.0, rng) == 5.0  # Retry-After beats a shorter backoff
    assert compute_wait(p, 1, 3600.0, rng) == 8.0  # but a silly header is capped


def test_policy_from_settings():
    assert RetryPolicy.from_settings(6, 30.0) == RetryPolicy(max_attempts=7, attempt_timeout_s=30.0)
    with pytest.raises(ValueError):
        RetryPolicy.from_settings(-1, 1.0)


def test_a_hung_server_holds_one_call_at_most_its_total_budget():
    """Every attempt hangs: with 7 attempts of 10 s each the call would hang ~70 s; the total budget
    (recipe generation.call_timeout_s) ends it after 0.3 s, with the attempts it made counted."""
    import time

    async def hang() -> str:
        await asyncio.sleep(30)
        return "never"

    t0 = time.monotonic()
    with pytest.raises(RetriesExhausted) as info:
        asyncio.run(call_with_retries(hang, RetryPolicy(attempt_timeout_s=10, total_timeout_s=0.3), classify=keep,
                                      describe="hung"))
    assert time.monotonic() - t0 < 2.0
    assert info.value.attempts >= 1
