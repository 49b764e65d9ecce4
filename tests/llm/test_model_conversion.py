"""The packaged GGUF is converted once per cache; processes that start together on an empty cache
(torchrun's ranks did: one rank read the config the other was still writing) all get a whole copy."""

from __future__ import annotations

import multiprocessing as mp
import os
import time

import pytest


def convert_and_load(cache: str, t0: float, q) -> None:
    os.environ["DPBENCH_CACHE_DIR"] = cache
    from dpbench.models import ensure_converted, resolve_llm

    while time.time() < t0:
        pass
    try:
        from transformers import AutoConfig

        path = ensure_converted(resolve_llm("smollm2-135m"))
        q.put(("ok", AutoConfig.from_pretrained(str(path)).model_type))
    except Exception as e:  # reported to the test, which names it
        q.put(("error", f"{type(e).__name__}: {e}"))


@pytest.mark.slow
def test_processes_converting_on_an_empty_cache_at_once_all_load_a_whole_copy(tmp_path):
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    t0 = time.time() + 8  # after the spawned interpreters have imported dpbench
    procs = [ctx.Process(target=convert_and_load, args=(str(tmp_path), t0, q)) for _ in range(3)]
    for p in procs:
        p.start()
    results = [q.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(60)
    assert results == [("ok", "llama")] * 3, results
    models = tmp_path / "models"
    assert sorted(p.name for p in models.iterdir()) == ["smollm2-135m", "smollm2-135m.lock"]  # no tmp folder left
