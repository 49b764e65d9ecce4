"""The OpenAI-compatible backend against the REAL llama.cpp server (xllamacpp), with a fault proxy."""

from __future__ import annotations

import asyncio
import socket
import time

import httpx
import openai
import pytest

from dpbench.errors import BackendError
from dpbench.llm.base import ChatRequest, RetriesExhausted, Sampling
from dpbench.llm.cache import ResponseCache
from dpbench.llm.client import LLM
from dpbench.llm.factory import make_backend
from dpbench.llm.openai_compat import OpenAIBackend, RequestRejected, parse_retry_after
from dpbench.llm.retry import RetryPolicy, TransientError
from tests.helpers.fault_proxy import FaultPlan, FaultProxy

SAMPLING = Sampling(temperature=0.0, max_tokens=8, seed=7)
# Real requests of 8 tokens take ~1 s here; 40 s per attempt leaves room for a busy machine while a
# "hang" fault still costs only one timeout.
FAST_POLICY = RetryPolicy(max_attempts=8, attempt_timeout_s=40.0, initial_wait_s=0.05, max_wait_s=2.0)
# Where no hang is injected, a timeout only hurts: the shared 2-core CI machine can be very slow.
PATIENT_POLICY = RetryPolicy(max_attempts=4, attempt_timeout_s=240.0, initial_wait_s=0.05, max_wait_s=2.0)


def request(text: str) -> ChatRequest:
    return ChatRequest(({"role": "user", "content": text},), SAMPLING)


def backend_for(urls: list[str], model: str = "smollm2-135m", **kw) -> OpenAIBackend:
    kw.setdefault("policy", PATIENT_POLICY)
    return OpenAIBackend(model, urls, **kw)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def generate_all(backend, prompts: list[str], concurrency: int = 4):
    sem = asyncio.Semaphore(concurrency)

    async def one(p: str):
        async with sem:
            return await backend.generate(request(p))

    try:
        return await asyncio.gather(*(one(p) for p in prompts))
    finally:
        await backend.aclose()


PROMPTS = [f"Name one fruit. Answer #{i}." for i in range(16)]


# --- pure classification (no server) -----------------------------------------------------------

def status_error(status: int, body: dict, headers: dict | None = None) -> openai.APIStatusError:
    req = httpx.Request("POST", "http://h/v1/chat/completions")
    resp = httpx.Response(status, json=body, headers=headers or {}, request=req)
    return openai.APIStatusError("boom", response=resp, body=body)


@pytest.mark.parametrize("status,kind", [(401, BackendError), (403, BackendError), (404, BackendError),
                                         (429, TransientError), (408, TransientError), (503, TransientError),
                                         (400, RequestRejected), (422, RequestRejected)])
def test_classify_status(status, kind):
    b = backend_for(["http://h/v1"])
    err = b.classify_error(status_error(status, {"error": {"message": "the server's words"}}), "http://h/v1")
    assert type(err) is kind
    assert f"http://h/v1: HTTP {status}" in str(err) or f"HTTP {status}:" in str(err)
    assert "the server's words" in str(err)


def test_retry_after_header_parsing():
    assert parse_retry_after(httpx.Headers({"retry-after": "3"})) == 3.0
    assert parse_retry_after(httpx.Headers({"retry-after-ms": "250"})) == 0.25
    assert parse_retry_after(httpx.Headers({})) is None
    err = backend_for(["http://h/v1"]).classify_error(status_error(429, {}, {"Retry-After": "2"}), "u")
    assert isinstance(err, TransientError) and err.retry_after == 2.0


def test_identity_has_model_only_and_pool_members_share_it(monkeypatch):
    monkeypatch.setenv("MY_KEY", "sk-never-in-identity")
    a = make_backend("openai", "m1", base_urls=["http://a/v1", "http://b/v1"], api_key_env="MY_KEY")
    b = make_backend("openai", "m1", base_urls=["http://c/v1"])
    assert a.identity() == b.identity() == {"backend": "openai", "model": "m1"}
    assert a.max_concurrency == 4 and a.policy.max_attempts == 7 and a.policy.attempt_timeout_s == 300.0


def test_missing_key_variable_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("NOPE_KEY", raising=False)
    with pytest.raises(BackendError, match="NOPE_KEY"):
        make_backend("openai", "m", base_urls=["http://a/v1"], api_key_env="NOPE_KEY")


def test_unknown_backend_kind():
    with pytest.raises(BackendError, match="choose one of: local, openai"):
        make_backend("vllm", "m")


# --- against the real server --------------------------------------------------------------------

@pytest.mark.slow
def test_plain_completion_is_repeatable_at_temperature_zero(llama_server):
    async def twice():
        b = backend_for([llama_server.base_url], model=llama_server.model)
        await b.check()
        try:
            return await b.generate(request("Say hello.")), await b.generate(request("Say hello."))
        finally:
            await b.aclose()

    first, second = asyncio.run(twice())
    assert first.text and first.text == second.text
    assert first.completion_tokens == 8 and first.prompt_tokens > 5 and first.finish_reason == "length"
    assert first.attempts == 1 and first.extra["server"] == llama_server.base_url


@pytest.mark.slow
def test_check_rejects_a_model_the_server_does_not_serve(llama_server):
    b = backend_for([llama_server.base_url], model="Qwen/Qwen2.5-7B-Instruct")
    with pytest.raises(BackendError, match=r"does not serve model 'Qwen/Qwen2.5-7B-Instruct'.*smollm2-135m"):
        asyncio.run(b.check())


def test_server_down_is_a_backend_error_naming_the_url():
    url = f"http://127.0.0.1:{free_port()}/v1"
    b = make_backend("openai", "smollm2-135m", base_urls=[url])
    with pytest.raises(BackendError, match=f"{url} is unreachable"):
        asyncio.run(b.check())


@pytest.mark.slow
def test_warm_cache_rerun_makes_zero_requests(llama_server, tmp_path):
    prompts = PROMPTS[:5]

    async def run_once() -> list[str]:
        llm = LLM(backend_for([proxy.base_url], model=llama_server.model), SAMPLING,
                  ResponseCache(tmp_path / "responses.sqlite"))
        try:
            out = await asyncio.gather(*(llm.chat([{"role": "user", "content": p}]) for p in prompts))
        finally:
            await llm.backend.aclose()
        return [r.text for r in out], llm.stats

    with FaultProxy(llama_server.base_url) as proxy:
        cold, cold_stats = asyncio.run(run_once())
        assert proxy.stats["forwarded_chat"] == 5 and cold_stats.requests == 5
        received = proxy.stats["received"]
        warm, warm_stats = asyncio.run(run_once())
        assert proxy.stats["received"] == received  # nothing new arrived
    assert warm == cold and warm_stats.cached == 5 and warm_stats.requests == 0


@pytest.mark.slow
def test_thirty_percent_mixed_faults_every_request_completes(llama_server):
    plan = FaultPlan({"429": 0.1, "500": 0.1, "hang": 0.05, "truncate": 0.05}, seed=3, retry_after_s=0.2)
    with FaultProxy(llama_server.base_url, plan) as proxy:
        b = backend_for([proxy.base_url], model=llama_server.model, policy=FAST_POLICY)
        responses = asyncio.run(generate_all(b, PROMPTS))
        stats = dict(proxy.stats)
    faults = sum(stats.get(k, 0) for k in ("429", "500", "hang", "truncate"))
    assert faults >= 3, stats  # the seed really injects faults of several kinds
    assert len(responses) == len(PROMPTS) and all(r.text for r in responses)
    # Every attempt is seen by the proxy: the attempts the backend reports add up exactly.
    assert sum(r.attempts for r in responses) == stats["received_chat"]
    # Each fault costs one extra attempt. (A real answer slower than the 40 s attempt timeout on an
    # overloaded machine also costs one: hence >=, with the faults-only count as the usual case.)
    assert sum(r.attempts - 1 for r in responses) >= faults
    # Every attempt either got a fault instead of the server, or reached the server (answered,
    # maybe then truncated, or abandoned by the client's timeout).
    not_forwarded = sum(stats.get(k, 0) for k in ("429", "500", "hang"))
    assert stats["received_chat"] == not_forwarded + stats["forwarded_chat"] + stats.get("abandoned", 0)


@pytest.mark.slow
def test_retry_after_is_honoured_and_attempts_are_finite(llama_server):
    policy = RetryPolicy(max_attempts=3, attempt_timeout_s=20, initial_wait_s=0.01, max_wait_s=5)
    with FaultProxy(llama_server.base_url, FaultPlan(always="429", retry_after_s=0.5)) as proxy:
        b = backend_for([proxy.base_url], policy=policy)
        t0 = time.monotonic()
        with pytest.raises(RetriesExhausted, match=r"gave up after 3 attempt\(s\).*HTTP 429: slow down"):
            asyncio.run(generate_all(b, ["x"]))
        elapsed = time.monotonic() - t0
        assert proxy.stats["received"] == 3
    assert elapsed >= 1.0  # two waits of at least Retry-After = 0.5 s


@pytest.mark.slow
def test_401_fails_at_once_without_a_retry_storm(llama_server):
    async def all_six(b):
        # Every request runs to its end before the client closes (closing it under requests still in
        # flight turns them into connection errors, which are rightly retried, and blurs the count).
        try:
            return await asyncio.gather(*(b.generate(request(p)) for p in PROMPTS[:6]), return_exceptions=True)
        finally:
            await b.aclose()

    with FaultProxy(llama_server.base_url, FaultPlan(always="401")) as proxy:
        results = asyncio.run(all_six(backend_for([proxy.base_url])))
        # One attempt per request: no retry on a 401.
        assert proxy.stats["received_chat"] == 6 and proxy.stats["401"] == 6
    assert all(isinstance(r, BackendError) for r in results), results
    assert f"{proxy.base_url} refused the request: HTTP 401: Invalid API key" in str(results[0])


@pytest.mark.slow
def test_pool_spreads_load_and_routes_around_a_dead_member(llama_server):
    dead = f"http://127.0.0.1:{free_port()}/v1"
    with FaultProxy(llama_server.base_url) as a, FaultProxy(llama_server.base_url) as b:
        pool = backend_for([a.base_url, dead, b.base_url], model=llama_server.model)
        asyncio.run(pool.check())  # one dead member is tolerated
        responses = asyncio.run(generate_all(pool, PROMPTS[:8]))
        assert a.stats["forwarded_chat"] > 0 and b.stats["forwarded_chat"] > 0
        assert a.stats["forwarded_chat"] + b.stats["forwarded_chat"] == 8
    assert all(r.text for r in responses) and {r.extra["server"] for r in responses} == {a.base_url, b.base_url}


@pytest.mark.slow
def test_api_key_is_sent_but_never_written_or_in_identity(llama_server, tmp_path, monkeypatch):
    secret = "sk-dpbench-test-SECRET-4242"
    monkeypatch.setenv("DPBENCH_TEST_KEY", secret)
    with FaultProxy(llama_server.base_url) as proxy:
        backend = make_backend("openai", llama_server.model, base_urls=[proxy.base_url],
                               api_key_env="DPBENCH_TEST_KEY", timeout_s=60)
        llm = LLM(backend, SAMPLING, ResponseCache(tmp_path / "cache" / "responses.sqlite"))

        async def go():
            try:
                return await llm.chat([{"role": "user", "content": "Hi"}])
            finally:
                await backend.aclose()

        resp = asyncio.run(go())
        assert proxy.auth_headers == {f"Bearer {secret}"}
    assert resp.text
    assert secret not in repr(backend.identity()) and secret not in repr(resp)
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written and not [p for p in written if secret.encode() in p.read_bytes()]
