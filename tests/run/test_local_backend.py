"""Same seed, same inputs → same predictions with the local transformers backend (greedy)."""

from __future__ import annotations

import pytest

from dpbench.llm.factory import make_backend
from dpbench.recipes import load_recipe
from dpbench.run import run_method
from tests.run.conftest import read_lines, read_manifest


@pytest.mark.slow
def test_local_backend_greedy_runs_agree(make_cfg, quiet):
    recipe = load_recipe("sample", {"generation.max_tokens": 8, "rag.k": 1})
    backend = make_backend("local", "smollm2-135m", device="cpu", concurrency=2)  # loaded once, used by both runs
    dirs = [run_method(make_cfg("rag", recipe=recipe, limit=2, run_id=f"local{i}", no_cache=True, device="cpu"),
                       quiet, backend=backend) for i in range(2)]
    a, b = (read_lines(d) for d in dirs)
    assert len(a) == 2 and all(r["error"] is None and r["raw"] for r in a)
    assert {r["example_id"]: r["raw"] for r in a} == {r["example_id"]: r["raw"] for r in b}
    m = read_manifest(dirs[0])
    assert m["backend"] == "local" and m["usage"]["requests"] == 2 and m["usage"]["completion_tokens"] > 0
