"""Speed of dpbench's LLM client path (not a test). Run: `.venv/bin/python benchmarks/llm_client.py`.

1. Against a real local llama.cpp server (`dpbench serve`, smollm2-135m), the same kind of prompts at
   concurrency 1, 4 and 8: requests/s of dpbench (`LLM.chat` -> OpenAIBackend: semaphore, retry
   policy, pool picking) beside a bare asyncio loop of the `openai` client, and their ratio (target
   >= 0.9). Each configuration runs twice, interleaved (bare, dpbench, dpbench, bare), with fresh
   prompts every time so llama.cpp's prompt cache favours neither side.
2. A warm-cache re-run of 1,000 requests through `LLM.chat` (target <= 10 s): the cache is filled
   first (as a finished run leaves it), then the 1,000 calls are timed against a counting proxy in
   front of the real server, which must see zero requests.
3. The local (transformers) backend's completion tokens/s at batch 1 vs batch 8.
4. `--engines DATA`: every engine on the quickstart's token mix (benchmarks/engine_mix.py): llama.cpp
   through xllamacpp at its best slot setting, transformers fp32 and bf16, each engine driven bare (its
   ceiling) beside dpbench's achieved rate through `LLM.chat`, as ratios; and how often bf16's greedy
   outputs equal fp32's on those val prompts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from dpbench.llm.base import ChatRequest, ChatResponse, Sampling
from dpbench.llm.cache import ResponseCache, cache_key
from dpbench.llm.client import LLM
from dpbench.llm.factory import make_backend
from dpbench.llm.server import start_server

SAMPLING = Sampling(temperature=0.0, max_tokens=16, seed=1)


def prompts(tag: str, n: int) -> list[list[dict]]:
    return [[{"role": "user", "content": f"[{tag}-{i}] Write one short sentence about product number {i}."}]
            for i in range(n)]


async def bare_loop(base_url: str, model: str, batch: list[list[dict]], concurrency: int) -> float:
    import openai

    client = openai.AsyncOpenAI(base_url=base_url, api_key="EMPTY", max_retries=0, timeout=600)
    sem = asyncio.Semaphore(concurrency)

    async def one(messages):
        async with sem:
            return await client.chat.completions.create(
                model=model, messages=messages, temperature=SAMPLING.temperature, top_p=SAMPLING.top_p,
                max_tokens=SAMPLING.max_tokens, seed=SAMPLING.seed)

    t0 = time.perf_counter()
    await asyncio.gather(*(one(m) for m in batch))
    elapsed = time.perf_counter() - t0
    await client.close()
    return len(batch) / elapsed


async def dpbench_loop(base_url: str, model: str, batch: list[list[dict]], concurrency: int) -> float:
    backend = make_backend("openai", model, base_urls=[base_url], concurrency=concurrency, timeout_s=600)
    llm = LLM(backend, SAMPLING, cache=None)
    t0 = time.perf_counter()
    await asyncio.gather(*(llm.chat(m) for m in batch))
    elapsed = time.perf_counter() - t0
    await backend.aclose()
    return len(batch) / elapsed


def bench_throughput(base_url: str, model: str, per_level: dict[int, int]) -> list[dict]:
    rows = []
    for conc, n in per_level.items():
        bare, ours = [], []
        for r, kind in enumerate(("bare", "dpbench", "dpbench", "bare")):
            batch = prompts(f"c{conc}r{r}", n)
            fn = bare_loop if kind == "bare" else dpbench_loop
            (bare if kind == "bare" else ours).append(asyncio.run(fn(base_url, model, batch, conc)))
        row = {"concurrency": conc, "requests": n, "bare_rps": sum(bare) / 2, "dpbench_rps": sum(ours) / 2}
        row["ratio"] = row["dpbench_rps"] / row["bare_rps"]
        rows.append(row)
        print(f"  concurrency {conc}: bare {row['bare_rps']:.2f} req/s, dpbench {row['dpbench_rps']:.2f} req/s, "
              f"ratio {row['ratio']:.2f}", flush=True)
    return rows


def bench_warm_cache(base_url: str, model: str, n: int, workdir: Path) -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.helpers.fault_proxy import FaultProxy

    cache = ResponseCache(workdir / "responses.sqlite")
    with FaultProxy(base_url) as proxy:
        backend = make_backend("openai", model, base_urls=[proxy.base_url], concurrency=8)
        batch = prompts("warm", n)
        identity = backend.identity()
        for m in batch:  # what a finished run leaves behind
            cache.cache_put(cache_key(identity, ChatRequest(tuple(m), SAMPLING)),
                            ChatResponse(text="cached answer", prompt_tokens=30, completion_tokens=16))

        async def rerun() -> tuple[float, LLM]:
            llm = LLM(backend, SAMPLING, cache)
            t0 = time.perf_counter()
            await asyncio.gather(*(llm.chat(m) for m in batch))
            elapsed = time.perf_counter() - t0
            await backend.aclose()
            return elapsed, llm

        elapsed, llm = asyncio.run(rerun())
        reached = proxy.stats["received"]
    out = {"requests": n, "seconds": elapsed, "cache_hits": llm.stats.cached, "server_requests": reached}
    print(f"  warm-cache re-run of {n}: {elapsed:.2f} s, {llm.stats.cached} hits, {reached} requests reached "
          "the server", flush=True)
    return out


async def generate_at_batch(backend, reqs: list[ChatRequest], batch: int) -> tuple[list[ChatResponse], float]:
    t0 = time.perf_counter()
    sem = asyncio.Semaphore(batch)

    async def one(r: ChatRequest) -> ChatResponse:
        async with sem:
            return await backend.generate(r)

    out = await asyncio.gather(*(one(r) for r in reqs))
    await backend.aclose()
    return out, time.perf_counter() - t0


def bench_local(n_prompts: int, max_tokens: int) -> list[dict]:
    from dpbench.models import load_causal_lm

    loaded = load_causal_lm("smollm2-135m", device="cpu")
    sampling = Sampling(temperature=0.0, max_tokens=max_tokens)
    rows = []
    for batch in (1, 8):
        backend = make_backend("local", "smollm2-135m", concurrency=batch)
        backend._loaded = loaded  # share one loaded model between the two settings
        reqs = [ChatRequest(tuple(m), sampling) for m in prompts(f"local{batch}", n_prompts)]
        out, elapsed = asyncio.run(generate_at_batch(backend, reqs, batch))
        tokens = sum(r.completion_tokens for r in out)
        rows.append({"batch": batch, "tokens": tokens, "seconds": elapsed, "tokens_per_s": tokens / elapsed,
                     "batch_sizes": backend.batch_sizes})
        print(f"  local batch {batch}: {tokens} tokens in {elapsed:.1f} s = {tokens / elapsed:.1f} tok/s "
              f"(micro-batches {backend.batch_sizes})", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer requests (a smoke run)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    ap.add_argument("--skip-local", action="store_true")
    ap.add_argument("--engines", type=Path, default=None, metavar="DATA",
                    help="only the engine comparison, on this benchmark's val split (e.g. data/sample)")
    ap.add_argument("--engine-prompts", type=int, default=24)
    a = ap.parse_args()
    if a.engines is not None:
        from benchmarks.engine_mix import bench_engines, print_engines

        fig = bench_engines(a.engines, a.engine_prompts)
        print_engines(fig)
        if a.json:
            a.json.write_text(json.dumps(fig, indent=2))
        return
    per_level = {1: 4, 4: 8, 8: 16} if a.quick else {1: 8, 4: 16, 8: 24}
    figures: dict = {"cpu_count": os.cpu_count(), "load_avg_start": os.getloadavg()}
    print("server: dpbench serve smollm2-135m, 8 slots", flush=True)
    with start_server("smollm2-135m", parallel=8, ctx_per_slot=1024) as srv, \
            tempfile.TemporaryDirectory() as tmp:
        figures["throughput"] = bench_throughput(srv.base_url, srv.model, per_level)
        figures["warm_cache"] = bench_warm_cache(srv.base_url, srv.model, 1000, Path(tmp))
    if not a.skip_local:
        figures["local"] = bench_local(8, 8 if a.quick else 24)
        f1, f8 = figures["local"]
        print(f"  local speed-up batch 8 / batch 1: {f8['tokens_per_s'] / f1['tokens_per_s']:.2f}x")
    figures["load_avg_end"] = os.getloadavg()
    if a.json:
        a.json.write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
