"""Does `dpbench serve` leak, or fill a cache? RSS of the llama.cpp server after every N requests of
distinct DPL-sized prompts, with llama.cpp's own prompt-cache size (8192 MiB) and dpbench's (512 MiB),
side by side in one run.

    python benchmarks/serve_rss.py [--requests 120] [--every 20] [--prompt-words 450]

A leak grows without bound at any cache size; a cache grows to its size and stays there.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time

import psutil

from dpbench.llm.base import ChatRequest, Sampling
from dpbench.llm.factory import make_backend
from dpbench.llm.server import start_server

WORDS = ["blender", "motor", "quiet", "loud", "clean", "easy", "bought", "return", "gift", "price", "quality", "sturdy", "flimsy", "battery", "charge", "screen", "sound", "bass", "color", "fit", "size", "small", "large", "comfortable", "cheap", "expensive", "works", "broke", "daily", "week"]


def prompt(i: int, n_words: int) -> str:
    rng = random.Random(i)
    body = " ".join(rng.choice(WORDS) for _ in range(n_words))
    return f"Review #{i}. Past reviews of this user: {body}. Write one word."


def rss_mb(pid: int) -> float:
    proc = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 1e6


async def drive(base_url: str, model: str, pid: int, n: int, every: int, words: int) -> list[tuple[int, float]]:
    backend = make_backend("openai", model, base_urls=[base_url], concurrency=2, timeout_s=600)
    sampling = Sampling(temperature=0.0, max_tokens=1, seed=0)
    points = [(0, rss_mb(pid))]
    sem = asyncio.Semaphore(2)

    async def one(i: int) -> None:
        async with sem:
            await backend.generate(ChatRequest(({"role": "user", "content": prompt(i, words)},), sampling))

    try:
        for start in range(0, n, every):
            await asyncio.gather(*(one(i) for i in range(start, min(n, start + every))))
            points.append((min(n, start + every), rss_mb(pid)))
    finally:
        await backend.aclose()
    return points


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=120)
    ap.add_argument("--every", type=int, default=20)
    ap.add_argument("--prompt-words", type=int, default=450)
    a = ap.parse_args()
    results = {}
    for cache in (8192, 512):
        t0 = time.perf_counter()
        with start_server("smollm2-135m", parallel=2, ctx_per_slot=2048, cache_ram_mib=cache) as srv:
            results[cache] = asyncio.run(drive(srv.base_url, srv.model, srv.process.pid, a.requests, a.every,
                                               a.prompt_words))
        print(f"cache_ram_mib={cache}: {a.requests} requests in {time.perf_counter() - t0:.0f} s", flush=True)
    print(f"\n{'requests':>9} | {'RSS MB, llama.cpp default 8192 MiB':>36} | {'RSS MB, dpbench 512 MiB':>24}")
    for (n, big), (_, small) in zip(results[8192], results[512]):
        print(f"{n:>9} | {big:>36,.0f} | {small:>24,.0f}")
    grow_big = results[8192][-1][1] - results[8192][1][1]
    grow_small = results[512][-1][1] - results[512][1][1]
    print(f"\ngrowth after the first {a.every} requests: {grow_big:,.0f} MB (8192) vs {grow_small:,.0f} MB (512)")


if __name__ == "__main__":
    main()
