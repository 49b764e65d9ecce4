"""A small HTTP proxy in front of a REAL OpenAI-compatible server that injects faults on demand.

    with FaultProxy(llama_server.base_url, FaultPlan({"429": 0.1, "500": 0.1}, seed=1)) as proxy:
        backend = make_backend("openai", llama_server.model, base_urls=[proxy.base_url])
        ...
        assert proxy.stats["forwarded_chat"] == 10   # chat requests that reached the real server

Faults (only on POST .../chat/completions, so `check()`'s GET /models stays clean):
  "429"      429 with `Retry-After: plan.retry_after_s` (not forwarded)
  "500"      500 with an error body (not forwarded)
  "401"      401 invalid_api_key (not forwarded); FaultPlan(always="401") makes every request fail
  "hang"     reads the request, never answers, closes when the client gives up (not forwarded)
  "truncate" forwarded; the real answer is cut in half and the connection closed
  "reset"    the connection is reset (aborted) right after the request is read (not forwarded)
  "empty"    200 with an empty `choices` list (not forwarded)
  "401echo"  401 whose body echoes the request's Authorization header, as some gateways do
FaultPlan.retry_after sets the 429's Retry-After header text as is (e.g. a garbled "soon").
The draws come from random.Random(seed), so a plan gives the same fault sequence in the same order
of arrival. The proxy runs its own event loop on a thread, so sync and async tests can both use it.
`stats` counts: received, received_chat, forwarded, forwarded_chat, abandoned (client gave up
while the server worked; the upstream request is cancelled), and one key per fault kind. `auth_headers`
holds the distinct Authorization headers seen (to prove the key was sent).
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Self

import httpx

FAULT_KINDS = ("429", "500", "401", "hang", "truncate", "reset", "empty", "401echo")


@dataclass
class FaultPlan:
    rates: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    retry_after_s: float = 1.0
    always: str | None = None
    retry_after: str | None = None  # the Retry-After header text (default: retry_after_s)

    def __post_init__(self) -> None:
        unknown = set(self.rates) - set(FAULT_KINDS) | ({self.always} - set(FAULT_KINDS) - {None})
        if unknown or sum(self.rates.values()) > 1:
            raise ValueError(f"bad fault plan: unknown kinds {unknown} or rates sum > 1")


@dataclass
class HttpRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


def render_response(status: int, body: bytes, extra: dict[str, str] | None = None,
                    content_length: int | None = None, content_type: str = "application/json") -> bytes:
    reason = {200: "OK", 401: "Unauthorized", 429: "Too Many Requests", 500: "Internal Server Error"}.get(status, "X")
    head = [f"HTTP/1.1 {status} {reason}", f"Content-Type: {content_type}",
            f"Content-Length: {len(body) if content_length is None else content_length}", "Connection: keep-alive"]
    head += [f"{k}: {v}" for k, v in (extra or {}).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def error_body(message: str, code: str) -> bytes:
    return json.dumps({"error": {"message": message, "type": "fault_proxy", "code": code}}).encode()


async def read_request(reader: asyncio.StreamReader) -> HttpRequest | None:
    line = await reader.readline()
    if not line.strip():
        return None
    method, path, _ = line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while True:
        h = await reader.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        k, _, v = h.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
    return HttpRequest(method, path, headers, body)


class FaultProxy:
    def __init__(self, upstream_base_url: str, plan: FaultPlan | None = None):
        root = upstream_base_url.rstrip("/")
        self.upstream_root = root.removesuffix("/v1")
        self.plan = plan or FaultPlan()
        self.stats: Counter[str] = Counter()
        self.auth_headers: set[str] = set()
        self.chat_bodies: list[dict] = []  # the JSON body of every chat request received
        self._rng = random.Random(self.plan.seed)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="fault-proxy")
        self._server: asyncio.base_events.Server | None = None
        self._client: httpx.AsyncClient | None = None
        self._handlers: set[asyncio.Task] = set()
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def set_plan(self, plan: FaultPlan) -> None:
        self.plan, self._rng = plan, random.Random(plan.seed)

    def start(self) -> Self:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(30)
        return self

    async def _start(self) -> None:
        self._client = httpx.AsyncClient(base_url=self.upstream_root, timeout=600)
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        async def shutdown() -> None:
            self._server.close()
            for task in list(self._handlers):  # idle keep-alive connections
                task.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)
            await self._client.aclose()

        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)
            self._loop.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def draw_fault(self, req: HttpRequest) -> str | None:
        if not (req.method == "POST" and req.path.endswith("/chat/completions")):
            return None
        self.stats["received_chat"] += 1
        try:
            self.chat_bodies.append(json.loads(req.body or b"{}"))
        except ValueError:
            self.chat_bodies.append({})
        if self.plan.always:
            return self.plan.always
        x, acc = self._rng.random(), 0.0
        for kind in FAULT_KINDS:
            acc += self.plan.rates.get(kind, 0.0)
            if x < acc:
                return kind
        return None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._handlers.add(task)
        try:
            while (req := await read_request(reader)) is not None:
                if not await self._respond(req, reader, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            self._handlers.discard(task)
            writer.close()

    async def _respond(self, req: HttpRequest, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False closes the connection."""
        self.stats["received"] += 1
        if "authorization" in req.headers:
            self.auth_headers.add(req.headers["authorization"])
        fault = self.draw_fault(req)
        if fault:
            self.stats[fault] += 1
        if fault == "401":
            writer.write(render_response(401, error_body("Invalid API key", "invalid_api_key")))
        elif fault == "401echo":
            writer.write(render_response(401, error_body(
                f"Invalid credentials in header Authorization: {req.headers.get('authorization', '')}",
                "invalid_api_key")))
        elif fault == "reset":
            writer.transport.abort()
            return False
        elif fault == "empty":
            writer.write(render_response(200, json.dumps({
                "id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": [],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}}).encode()))
        elif fault == "429":
            header = self.plan.retry_after if self.plan.retry_after is not None else f"{self.plan.retry_after_s:g}"
            writer.write(render_response(429, error_body("slow down", "rate_limited"), {"Retry-After": header}))
        elif fault == "500":
            writer.write(render_response(500, error_body("injected server error", "server_error")))
        elif fault == "hang":
            await reader.read()  # until the client gives up and closes
            return False
        else:
            answer = await self._forward_unless_abandoned(req, reader)
            if answer is None:
                return False
            status, ctype, body = answer
            if fault == "truncate":
                writer.write(render_response(status, body[: len(body) // 2], content_length=len(body),
                                             content_type=ctype))
                await writer.drain()
                return False
            writer.write(render_response(status, body, content_type=ctype))
        await writer.drain()
        return True

    async def _forward_unless_abandoned(self, req: HttpRequest, reader: asyncio.StreamReader):
        """Forward, but cancel the upstream request when the client hangs up first (its timeout),
        so an abandoned request does not keep a server slot busy."""
        forward = asyncio.create_task(self._forward(req))
        hangup = asyncio.create_task(reader.read(1))  # the client sends nothing while it waits
        done, _ = await asyncio.wait({forward, hangup}, return_when=asyncio.FIRST_COMPLETED)
        if forward in done:
            hangup.cancel()
            await asyncio.gather(hangup, return_exceptions=True)  # the reader is free again
            return forward.result()
        forward.cancel()
        self.stats["abandoned"] += 1
        return None

    async def _forward(self, req: HttpRequest) -> tuple[int, str, bytes]:
        headers = {k: v for k, v in req.headers.items()
                   if k not in ("host", "content-length", "connection", "accept-encoding")}
        resp = await self._client.request(req.method, req.path, headers=headers, content=req.body)
        self.stats["forwarded"] += 1
        if req.path.endswith("/chat/completions"):
            self.stats["forwarded_chat"] += 1
        return resp.status_code, resp.headers.get("content-type", "application/json"), resp.content
