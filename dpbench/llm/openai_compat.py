"""Backend for any OpenAI-compatible chat endpoint (vLLM, llama.cpp / `dpbench serve`, OpenAI).

Several base URLs form a pool: each attempt goes to the member with the fewest requests in flight
(round robin among ties), and a member that just failed to answer is avoided for a while, so a
retry lands on another server. The model name is sent as is; the identity (the cache key's part)
holds only the backend kind and model, so every member of a pool shares cache entries.

Error contract (see llm/retry.py for the waits):
- 401/403 and 404 raise BackendError at once (the run stops: every request would fail the same way);
- 408, 409, 425, 429, 5xx, timeouts, dropped connections and unreadable bodies are retried;
- any other 4xx raises RequestRejected (status + the server's message), recorded on the example.
The API key comes from the environment only and is never logged or put in identity().
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import itertools
import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import openai

from dpbench.errors import BackendError
from dpbench.llm.base import ChatRequest, ChatResponse
from dpbench.llm.decoding import detect_engine, openai_request_fields
from dpbench.llm.redact import redact, redact_url, register_secret, register_url_credentials
from dpbench.llm.retry import RetryPolicy, TransientError, call_with_retries

log = logging.getLogger("dpbench.llm")

RETRYABLE_STATUS = {408, 409, 425, 429}
DOWN_FOR_S = 15.0  # how long a member that dropped a connection is avoided
CHECK_TIMEOUT_S = 20.0
BREAKER_FAILURES = 5  # consecutive connection failures or timeouts that open a member's circuit
BREAKER_OPEN_S = 60.0  # an open member gets no traffic for this long, then one probe


class RequestRejected(Exception):
    """The server refused this one request (a 4xx other than 401/403/404/408/409/425/429)."""


class EndpointsDown(BackendError):
    """Every member of the pool failed BREAKER_FAILURES times in a row: the run stops (and resumes later)."""


@dataclass
class PoolMember:
    url: str
    label: str = ""  # the URL as messages show it (credentials removed)
    in_flight: int = 0
    down_until: float = 0.0
    failures: int = 0  # consecutive connection failures / timeouts (the circuit breaker's count)
    last_error: str = ""
    # httpx connections belong to the event loop that opened them: one client per loop, so a
    # caller may check() and generate() under separate asyncio.run() calls.
    clients: dict[int, openai.AsyncOpenAI] = field(default_factory=dict)

    @property
    def circuit_open(self) -> bool:
        return self.failures >= BREAKER_FAILURES and self.down_until > time.monotonic()

    def record_failure(self, what: str) -> None:
        self.failures += 1
        self.last_error = what
        hold = BREAKER_OPEN_S if self.failures >= BREAKER_FAILURES else DOWN_FOR_S
        self.down_until = time.monotonic() + hold

    def record_success(self) -> None:
        self.failures, self.down_until = 0, 0.0


def resolve_api_key(api_key_env: str | None) -> str:
    """The key from the named variable; default OPENAI_API_KEY, else "EMPTY" (local servers)."""
    if api_key_env:
        key = os.environ.get(api_key_env)
        if not key:
            raise BackendError(f"--api-key-env names {api_key_env!r}, but that environment variable is not set")
        return key
    return os.environ.get("OPENAI_API_KEY") or "EMPTY"


def check_url(url: str) -> str:
    """A base URL a client can use, or a BackendError saying what is wrong with it."""
    from urllib.parse import urlsplit

    shown = redact_url(url)
    register_url_credentials(url)
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError when out of range or not a number
    except ValueError as e:
        raise BackendError(f"--base-url {shown!r}: {e} (a port is 1-65535)") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BackendError(f"--base-url {shown!r}: expected http(s)://HOST[:PORT]/v1")
    if port == 0:
        raise BackendError(f"--base-url {shown!r}: port 0 is not a port a server listens on (1-65535)")
    return url.rstrip("/")


def server_message(exc: openai.APIStatusError) -> str:
    """The server's own words from an error response (OpenAI, vLLM and llama.cpp shapes)."""
    body = exc.body
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        if isinstance(err, str):
            return err
        if body.get("message"):
            return str(body["message"])
    try:
        text = exc.response.text
    except Exception:  # the body may be unreadable
        text = ""
    return (text or str(exc))[:500]


def parse_retry_after(headers: httpx.Headers | None) -> float | None:
    """Retry-After in seconds (delta or HTTP date), or retry-after-ms; None when absent/garbled."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:  # an HTTP date; anything else ("soon") is ignored and the backoff decides
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        return None
    return max(0.0, parsed.timestamp() - time.time())


class OpenAIBackend:
    name = "openai"

    def __init__(self, model: str, base_urls: Sequence[str], *, api_key_env: str | None = None,
                 concurrency: int = 4, policy: RetryPolicy | None = None):
        if not base_urls:
            raise BackendError("the openai backend needs at least one --base-url (e.g. http://127.0.0.1:8080/v1)")
        self.model = model
        self.max_concurrency = max(1, concurrency)
        self.policy = policy or RetryPolicy()
        self._api_key_env = api_key_env
        self._api_key = resolve_api_key(api_key_env)  # fail now if the variable is missing
        register_secret(self._api_key)  # scrubbed from every message dpbench writes or prints
        self._members = [PoolMember(check_url(url), label=redact_url(url.rstrip("/"))) for url in base_urls]
        self._rr = itertools.count()
        self.engine: str | None = None  # "llamacpp" | "vllm" | "openai": read from /models (llm/decoding.py)

    def __repr__(self) -> str:  # never show the key
        return f"OpenAIBackend(model={self.model!r}, base_urls={self.base_urls!r})"

    def client_for(self, member: PoolMember) -> openai.AsyncOpenAI:
        loop_id = id(asyncio.get_running_loop())
        client = member.clients.get(loop_id)
        if client is None:
            # The client's own retries are off: llm/retry.py is the only retry policy.
            timeout = httpx.Timeout(self.policy.attempt_timeout_s + 5, connect=min(30.0, self.policy.attempt_timeout_s))
            client = openai.AsyncOpenAI(base_url=member.url, api_key=self._api_key, max_retries=0, timeout=timeout)
            member.clients = {loop_id: client}  # clients of finished loops are unusable anyway
        return client

    @property
    def base_urls(self) -> list[str]:
        return [m.label for m in self._members]

    def identity(self) -> dict[str, Any]:
        return {"backend": "openai", "model": self.model}

    def pick_member(self, avoid: PoolMember | None = None) -> PoolMember:
        """Fewest in flight among members that are up (and not `avoid` when there is a choice).
        Members whose circuit is open get nothing; when every member's is, EndpointsDown stops the run
        instead of spending every remaining example's retry budget on a dead server."""
        now = time.monotonic()
        closed = [m for m in self._members if not m.circuit_open]
        if not closed:
            details = "; ".join(f"{m.label}: {m.last_error}" for m in self._members)
            raise EndpointsDown(
                f"every endpoint failed {BREAKER_FAILURES} times in a row ({details}); the run stops here and "
                "keeps what is done: rerun the same command once the server is back")
        candidates = [m for m in closed if m.down_until <= now] or closed
        if avoid is not None and len(candidates) > 1:
            candidates = [m for m in candidates if m is not avoid] or candidates
        start = next(self._rr) % len(candidates)
        rotated = candidates[start:] + candidates[:start]
        return min(rotated, key=lambda m: m.in_flight)

    async def generate(self, request: ChatRequest) -> ChatResponse:
        t0 = time.perf_counter()
        last: dict[str, PoolMember | None] = {"member": None}

        async def attempt() -> Any:
            member = self.pick_member(avoid=last["member"])
            last["member"] = member
            member.in_flight += 1
            try:
                result = await self._create(member, request)
            except (openai.APIConnectionError, httpx.TransportError) as e:
                member.record_failure(f"{type(e.__cause__ or e).__name__}")
                raise
            except asyncio.CancelledError:  # the per-attempt timeout: a hung server counts as a failure
                member.record_failure(f"no answer within {self.policy.attempt_timeout_s:g} s")
                raise
            finally:
                member.in_flight -= 1
            member.record_success()
            return result

        def classify(exc: BaseException) -> BaseException:
            member = last["member"]
            return self.classify_error(exc, member.label if member else self.base_urls[0])

        completion, attempts = await call_with_retries(
            attempt, self.policy, classify=classify, describe=f"{self.model} at {', '.join(self.base_urls)}"
        )
        return self.to_response(completion, attempts, time.perf_counter() - t0, last["member"])

    def request_fields(self, sampling) -> dict[str, Any]:
        """Exactly what each request sends besides model and messages (recorded in the manifest)."""
        return openai_request_fields(sampling, self.engine or "openai")

    async def _create(self, member: PoolMember, request: ChatRequest) -> Any:
        if self.engine is None and request.sampling.decoding():
            await self.detect_engine(member)  # which extra fields the controls need
        completion = await self.client_for(member).chat.completions.create(
            model=self.model, messages=list(request.messages), **self.request_fields(request.sampling))
        if not getattr(completion, "choices", None):
            raise TransientError(f"{member.label} answered without choices")
        return completion

    @staticmethod
    def to_response(completion: Any, attempts: int, latency: float, member: PoolMember | None) -> ChatResponse:
        choice = completion.choices[0]
        usage = completion.usage
        return ChatResponse(
            text=(choice.message.content or ""),
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            latency_s=latency, attempts=attempts, finish_reason=choice.finish_reason,
            extra={"server": member.label} if member else {},
        )

    def classify_error(self, exc: BaseException, url: str) -> BaseException:
        """Turn a client exception into TransientError (retry), BackendError (stop) or RequestRejected."""
        if isinstance(exc, openai.APIStatusError):
            status, msg = exc.status_code, server_message(exc)
            if status in (401, 403):
                hint = f"check ${self._api_key_env}" if self._api_key_env else "pass --api-key-env VAR"
                return BackendError(f"{url} refused the request: HTTP {status}: {msg} ({hint})")
            if status == 404:
                return BackendError(
                    f"{url}: HTTP 404: {msg} (is {self.model!r} served there, and does the URL end in /v1?)")
            if status in RETRYABLE_STATUS or status >= 500:
                return TransientError(f"{url}: HTTP {status}: {msg}", parse_retry_after(exc.response.headers))
            return RequestRejected(f"{url}: HTTP {status}: {msg}")
        if isinstance(exc, (openai.APIConnectionError, httpx.TransportError)):
            cause = exc.__cause__ or exc
            return TransientError(f"{url}: connection failed or dropped ({type(cause).__name__}: {cause})")
        if isinstance(exc, (openai.APIResponseValidationError, json.JSONDecodeError)):
            return TransientError(f"{url}: unreadable response ({exc})")
        return exc if isinstance(exc, Exception) else RuntimeError(str(exc))

    async def detect_engine(self, member: PoolMember) -> None:
        try:
            page = await self.client_for(member).with_options(timeout=CHECK_TIMEOUT_S).models.list()
            self.engine = detect_engine(next((getattr(x, "owned_by", None) for x in page.data), None))
        except (openai.APIError, httpx.HTTPError):
            self.engine = "openai"

    async def check(self) -> None:
        """Every member must be reachable with the key; the model must be among those served."""
        reachable, problems = [], []
        for m in self._members:
            try:
                page = await self.client_for(m).with_options(timeout=CHECK_TIMEOUT_S).models.list()
                served = [x.id for x in page.data]
            except openai.APIStatusError as e:
                if e.status_code == 404:  # some servers have no /models; generation will tell
                    reachable.append(m.label)
                    continue
                err = self.classify_error(e, m.label)
                if isinstance(err, BackendError):
                    raise err from None
                problems.append(f"{m.label}: HTTP {e.status_code}: {server_message(e)}")
                continue
            except (openai.APIConnectionError, httpx.TransportError) as e:
                m.down_until = time.monotonic() + DOWN_FOR_S
                problems.append(f"{m.label} is unreachable ({type(e.__cause__ or e).__name__})")
                continue
            if self.engine is None:
                self.engine = detect_engine(next((getattr(x, "owned_by", None) for x in page.data), None))
            if served and self.model not in served:
                raise BackendError(
                    f"{m.label} does not serve model {self.model!r}; it serves: {', '.join(served[:20])}. "
                    "Pass one of those with --model.")
            reachable.append(m.label)
        if not reachable:
            raise BackendError("; ".join(problems) + ". Start a server (`dpbench serve`) or fix --base-url.")
        for p in problems:
            log.warning("pool member skipped for now: %s", redact(p))

    async def aclose(self) -> None:
        for m in self._members:
            for client in m.clients.values():
                with contextlib.suppress(RuntimeError):  # opened under an event loop that is gone
                    await client.close()
            m.clients = {}


def make_openai_backend(settings) -> OpenAIBackend:
    """BACKENDS["openai"]: an endpoint or a pool (`settings.base_urls`). `device` does not apply: the
    server picks its own (the run may still use it for embeddings)."""
    from dpbench.llm.retry import RetryPolicy

    policy = RetryPolicy.from_settings(settings.max_retries, settings.timeout_s,
                                       total_timeout_s=settings.call_timeout_s)
    return OpenAIBackend(settings.model, list(settings.base_urls), api_key_env=settings.api_key_env,
                         concurrency=settings.concurrency, policy=policy)
