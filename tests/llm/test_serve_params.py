"""What `dpbench serve` hands llama.cpp: loopback only, and a bounded prompt cache (llama.cpp's own
default of 8192 MiB grew the server by gigabytes over a DPL run; benchmarks/serve_rss.py measures it)."""

from __future__ import annotations

from dpbench.llm.server import ServeConfig, build_params


def test_params_bind_loopback_and_bound_the_prompt_cache():
    p = build_params(ServeConfig(parallel=3, ctx_per_slot=1024))
    assert p.cache_ram_mib == 512 and list(p.hostnames) == ["127.0.0.1"]
    assert p.n_parallel == 3 and p.n_ctx == 3 * 1024
    assert build_params(ServeConfig(cache_ram_mib=64)).cache_ram_mib == 64
