"""Runs started together open one fresh response cache at the same moment: switching it to WAL needs
an exclusive lock that SQLite refuses at once (no busy timeout), which killed one of two runs."""

from __future__ import annotations

import multiprocessing as mp
import time
from pathlib import Path


def open_at(path: str, t0: float) -> None:
    from dpbench.llm.cache import ResponseCache

    while time.time() < t0:  # all processes open the file within microseconds of each other
        pass
    ResponseCache(Path(path)).cache_get("k")


def test_processes_opening_one_fresh_cache_at_once_all_succeed(tmp_path):
    ctx = mp.get_context("fork")
    failures = 0
    for trial in range(12):
        path, t0 = str(tmp_path / f"c{trial}.sqlite"), time.time() + 0.3
        procs = [ctx.Process(target=open_at, args=(path, t0)) for _ in range(4)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        failures += sum(p.exitcode != 0 for p in procs)
    assert failures == 0
