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


def convert_as_rank(cache: str, store: str, rank: int, q) -> None:
    """One rank of a 2-process gloo group (what torchrun starts); rank 1 converts, rank 0 waits."""
    os.environ["DPBENCH_CACHE_DIR"] = cache
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
    try:
        from transformers import AutoConfig

        from dpbench.models import ensure_converted, resolve_llm

        if rank == 0:
            dist.barrier()  # until rank 1 has converted
        path = ensure_converted(resolve_llm("smollm2-135m"))
        if rank == 1:
            dist.barrier()
        q.put((rank, AutoConfig.from_pretrained(str(path)).model_type))
    except Exception as e:
        q.put((rank, f"{type(e).__name__}: {e}"))
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_a_conversion_by_a_torchrun_rank_other_than_0_writes_the_model(tmp_path):
    """transformers' save_pretrained writes nothing on a distributed rank other than 0: the conversion
    must not depend on which rank takes the lock first."""
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=convert_as_rank, args=(str(tmp_path / "cache"), str(tmp_path / "store"), r, q))
             for r in (0, 1)]
    for p in procs:
        p.start()
    results = sorted(q.get(timeout=300) for _ in procs)
    for p in procs:
        p.join(60)
    assert results == [(0, "llama"), (1, "llama")], results
