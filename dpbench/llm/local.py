"""Backend running a causal LM in-process with transformers, with micro-batched generation.

Concurrent `generate` calls (from many examples in flight) are queued; one worker task collects up
to `max_batch` of them (waiting at most `batch_window_s` for more) and decodes them together, left
padded, on one long-lived worker thread, so the event loop keeps serving the run meanwhile. That thread
sets torch's thread count itself (init_torch_threads): OpenMP keeps that setting per thread, and a pool
thread left at the default decoded ~20% slower on 2 cores (benchmarks/llm_client.py --engines).

The decoding loop is our own (KV cache, one forward per step) rather than `model.generate`, because
HF generate takes one sampling config and one random generator for a whole batch. Here every request
keeps its own temperature / top_p / max_tokens and its own `torch.Generator` seeded from
(seed, sample_index). What that guarantees:
- temperature 0: greedy, the same text for the same prompt, alone or in any batch (up to float
  round-off from padding, which could flip a near-tie; the tests check batch == one at a time);
- temperature > 0: the same seed and prompt give the same text on the same machine, regardless of
  which other requests share the batch (each request draws only from its own generator).
Token usage counts the prompt tokens and the generated tokens (the stop token excluded).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
import time
from dataclasses import dataclass
from typing import Any

from dpbench.llm.base import ChatRequest, ChatResponse
from dpbench.llm.decoding import cut_at_stop

DEFAULT_MODEL = "smollm2-135m"


class PromptTooLong(ValueError):
    """The prompt plus max_tokens exceeds the model's context (recorded on the example)."""


@dataclass
class _Pending:
    request: ChatRequest
    future: asyncio.Future


def request_seed(seed: int, sample_index: int) -> int:
    digest = hashlib.sha256(f"{seed}:{sample_index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


class LocalBackend:
    name = "local"

    def __init__(self, model: str = DEFAULT_MODEL, *, device: str | None = None, max_batch: int = 8,
                 batch_window_s: float = 0.01, loaded: tuple[Any, Any] | None = None, dtype: str | None = None):
        """`loaded` = (model, tokenizer) already in memory (tests use a tiny random model). `dtype`:
        None/"float32" (exact default on CPU), "bfloat16", or "auto" (bf16 where the device has native
        bf16 arithmetic, else fp32); it is part of the identity, so fp32 and bf16 never share cache entries."""
        self.model_name = model
        self.device = device
        self.dtype = resolve_local_dtype(dtype, device)
        self.max_batch = max(1, max_batch)
        self.max_concurrency = self.max_batch  # the LLM wrapper lets this many in: full batches
        self.batch_window_s = batch_window_s
        self._loaded = loaded
        self._load_lock = threading.Lock()
        self._queue: asyncio.Queue[_Pending] | None = None
        self._worker: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.batch_sizes: list[int] = []  # observed micro-batch sizes (for tests and benchmarks)
        self._executor = None

    def worker(self):
        """The one thread that loads the model and decodes (created on first use)."""
        if self._executor is None:
            from concurrent.futures import ThreadPoolExecutor

            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dpbench-local",
                                                initializer=init_torch_threads)
        return self._executor

    def identity(self) -> dict[str, Any]:
        ident = {"backend": "local", "model": self.model_name}
        if self.dtype not in (None, "float32"):
            ident["dtype"] = self.dtype
        return ident

    def request_fields(self, sampling) -> dict[str, Any]:
        from dpbench.llm.decoding import transformers_fields

        return transformers_fields(sampling)

    def ensure_loaded(self) -> tuple[Any, Any]:
        with self._load_lock:
            if self._loaded is None:
                from dpbench.models import load_causal_lm

                self._loaded = load_causal_lm(self.model_name, device=self.device, dtype=self.dtype)
            model, tok = self._loaded
            if tok.pad_token_id is None:
                tok.pad_token = tok.eos_token
            return model, tok

    async def check(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self.worker(), self.ensure_loaded)

    async def generate(self, request: ChatRequest) -> ChatResponse:
        queue = self._ensure_worker()
        future = asyncio.get_running_loop().create_future()
        await queue.put(_Pending(request, future))
        return await future

    def _ensure_worker(self) -> asyncio.Queue:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._worker is None or self._worker.done():
            self._loop, self._queue = loop, asyncio.Queue()
            self._worker = loop.create_task(self._run_batches(), name="dpbench-local-batcher")
        return self._queue

    async def collect_batch(self) -> list[_Pending]:
        """The first waiting request plus whatever arrives within the window, up to max_batch."""
        queue = self._queue
        batch = [await queue.get()]
        deadline = asyncio.get_running_loop().time() + self.batch_window_s
        while len(batch) < self.max_batch:
            if not queue.empty():
                batch.append(queue.get_nowait())
                continue
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(queue.get(), remaining))
            except TimeoutError:
                break
        return [p for p in batch if not p.future.done()]

    async def _run_batches(self) -> None:
        while True:
            batch = await self.collect_batch()
            if not batch:
                continue
            self.batch_sizes.append(len(batch))
            try:
                results = await asyncio.get_running_loop().run_in_executor(
                    self.worker(), self.generate_batch, [p.request for p in batch])
            except Exception as e:  # handed to every caller of this batch
                results = [e] * len(batch)
            for pending, result in zip(batch, results):
                if pending.future.done():
                    continue
                if isinstance(result, BaseException):
                    pending.future.set_exception(result)
                else:
                    pending.future.set_result(result)

    def encode_prompt(self, tok, request: ChatRequest) -> list[int]:
        text = tok.apply_chat_template(list(request.messages), add_generation_prompt=True, tokenize=False)
        return list(tok(text, add_special_tokens=False)["input_ids"])

    def generate_batch(self, requests: list[ChatRequest]) -> list[ChatResponse | Exception]:
        """Decode requests together (blocking; runs in a worker thread). Errors stay per request."""
        model, tok = self.ensure_loaded()
        limit = getattr(model.config, "max_position_embeddings", None) or 10**9
        results: list[ChatResponse | Exception | None] = [None] * len(requests)
        rows: list[tuple[int, list[int]]] = []
        for i, req in enumerate(requests):
            ids = self.encode_prompt(tok, req)
            if len(ids) + req.sampling.max_tokens > limit:
                results[i] = PromptTooLong(
                    f"prompt of {len(ids)} tokens + max_tokens {req.sampling.max_tokens} exceeds "
                    f"{self.model_name}'s context of {limit} tokens")
            else:
                rows.append((i, ids))
        if rows:
            t0 = time.perf_counter()
            outs = decode_rows(model, tok, [ids for _, ids in rows], [requests[i] for i, _ in rows])
            latency = time.perf_counter() - t0
            for (i, ids), (tokens, finish) in zip(rows, outs):
                text = tok.decode(tokens, skip_special_tokens=True)
                if requests[i].sampling.stop:
                    text = cut_at_stop(text, requests[i].sampling.stop)[0]
                results[i] = ChatResponse(
                    text=text, prompt_tokens=len(ids),
                    completion_tokens=len(tokens), latency_s=latency, finish_reason=finish,
                    extra={"batch_size": len(rows)})
        return results  # type: ignore[return-value]

    async def aclose(self) -> None:
        if self._worker is not None and not self._worker.done():
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError, RuntimeError):
                await self._worker
        while self._queue is not None and not self._queue.empty():
            pending = self._queue.get_nowait()
            if not pending.future.done():
                pending.future.set_exception(RuntimeError("the local backend was closed"))
        self._worker = None


def init_torch_threads() -> None:
    """OpenMP's team size is a per-thread setting: a new thread starts from the library default, not the
    main thread's torch.set_num_threads. Setting it again here made decoding on the worker as fast as on
    the main thread (~20% faster than without, 2 cores)."""
    import torch

    torch.set_num_threads(torch.get_num_threads())


def resolve_local_dtype(dtype: str | None, device: str | None) -> str | None:
    """None keeps load_causal_lm's default (bf16 on CUDA, fp32 on CPU); "auto" picks bf16 only where it
    is native (a CPU without AVX512-BF16/AMX emulates it, slower than fp32)."""
    if dtype in (None, "float32", "bfloat16"):
        return dtype
    if dtype != "auto":
        from dpbench.errors import BackendError

        raise BackendError(f"--dtype {dtype!r}: choose auto, float32 or bfloat16")
    from dpbench.llm.precision import bf16_supported

    return "bfloat16" if bf16_supported(device or "cpu") else "float32"


def make_local_backend(settings) -> LocalBackend:
    """BACKENDS["local"]: transformers in-process; `concurrency` = the largest micro-batch."""
    from dpbench.errors import BackendError

    if settings.base_urls:
        raise BackendError("--base-url applies to the openai backend only (use --backend openai)")
    return LocalBackend(settings.model or DEFAULT_MODEL, device=settings.device, max_batch=settings.concurrency,
                        dtype=settings.dtype)


def stop_token_ids(model, tok) -> set[int]:
    ids: set[int] = set()
    for source in (getattr(model, "generation_config", None), tok):
        eos = getattr(source, "eos_token_id", None)
        ids.update(eos if isinstance(eos, (list, tuple)) else [eos] if eos is not None else [])
    return ids


def pick_token(logits, sampling, generator) -> int:
    """Greedy at temperature 0; else temperature + nucleus (top_p) sampling from this request's generator."""
    import torch

    if sampling.temperature <= 0:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits.float() / sampling.temperature, dim=-1)
    if sampling.top_p < 1.0:
        sorted_p, order = torch.sort(probs, descending=True)
        keep = torch.cumsum(sorted_p, dim=-1) - sorted_p < sampling.top_p  # always keeps the top token
        sorted_p = torch.where(keep, sorted_p, torch.zeros_like(sorted_p))
        choice = torch.multinomial(sorted_p / sorted_p.sum(), 1, generator=generator)
        return int(order[choice])
    return int(torch.multinomial(probs, 1, generator=generator))


def forward_params(model) -> set[str]:
    import inspect

    return set(inspect.signature(model.forward).parameters)


def kv_cache(step) -> Any:
    """The KV cache of a step (`cache` since transformers 5.x, `past_key_values` before)."""
    cache = getattr(step, "cache", None)
    return step.past_key_values if cache is None else cache


def decode_rows(model, tok, prompts: list[list[int]], requests: list[ChatRequest]) -> list[tuple[list[int], str]]:
    """Left-padded batched decoding with a KV cache; each row stops at its own stop token, stop string or
    max_tokens, with its own decoding controls (llm/decoding.py: transformers' logits processors)."""
    import torch

    from dpbench.llm.decoding import logits_processors

    device = next(model.parameters()).device
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    width = max(len(p) for p in prompts)
    input_ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], device=device)
    attn = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=device)
    positions = (attn.cumsum(-1) - 1).clamp(min=0)
    generators = [torch.Generator(device="cpu").manual_seed(request_seed(r.sampling.seed, r.sample_index))
                  for r in requests]
    processors = [logits_processors(r.sampling, prompt_len=len(p)) for r, p in zip(requests, prompts)]
    stops = stop_token_ids(model, tok)
    out: list[list[int]] = [[] for _ in prompts]
    finish = ["length"] * len(prompts)
    done = [r.sampling.max_tokens <= 0 for r in requests]
    params = forward_params(model)
    cache_name = "cache" if "cache" in params else "past_key_values"
    # Only the last position's logits are needed: full logits of a long prompt batch take GBs.
    first = {"logits_to_keep": 1} if "logits_to_keep" in params else {}
    with torch.inference_mode():
        step = model(input_ids=input_ids, attention_mask=attn, position_ids=positions, use_cache=True, **first)
        while not all(done):
            logits = step.logits[:, -1, :].float().cpu()
            nxt = []
            for i, r in enumerate(requests):
                row = logits[i]
                if processors[i] and not done[i]:
                    seen = torch.tensor([prompts[i] + out[i]], dtype=torch.long)
                    row = processors[i](seen, row[None])[0]
                token = pad if done[i] else pick_token(row, r.sampling, generators[i])
                if not done[i]:
                    if token in stops:
                        done[i], finish[i] = True, "stop"
                    else:
                        out[i].append(token)
                        done[i] = len(out[i]) >= r.sampling.max_tokens
                        if r.sampling.stop and cut_at_stop(tok.decode(out[i][-32:]), r.sampling.stop)[1]:
                            done[i], finish[i] = True, "stop"
                nxt.append(token)
            if all(done):
                break
            attn = torch.cat([attn, torch.ones((len(prompts), 1), dtype=attn.dtype, device=device)], dim=1)
            positions = positions[:, -1:] + 1
            step = model(input_ids=torch.tensor(nxt, device=device)[:, None], attention_mask=attn,
                         position_ids=positions, use_cache=True, **{cache_name: kv_cache(step)})
    return list(zip(out, finish))
