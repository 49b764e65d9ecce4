"""`dpbench cache info|clear`: entries per model and kind, pruned by model and by age."""

from __future__ import annotations

import time

import numpy as np
import pytest
from typer.testing import CliRunner

from dpbench.cli import app
from dpbench.embed import Embedder
from dpbench.errors import DpbenchError
from dpbench.llm.base import ChatResponse
from dpbench.llm.cache import ResponseCache
from dpbench.llm.caches import cache_inventory, clear_caches, parse_age


@pytest.fixture
def filled(tmp_path, monkeypatch):
    monkeypatch.setenv("DPBENCH_CACHE_DIR", str(tmp_path))
    rc = ResponseCache(tmp_path / "responses.sqlite")
    for i in range(3):
        rc.cache_put(f"a{i}", ChatResponse(text="x" * 10), model="model-a")
    rc.cache_put("b0", ChatResponse(text="y" * 5), model="model-b")
    rc._db.execute("UPDATE responses SET created = ? WHERE key = 'a0'", [time.time() - 40 * 86400])
    rc._db.commit()
    rc.close()
    emb = Embedder("emb-x", cache_root=tmp_path)
    emb._db.executemany("INSERT INTO emb VALUES (?, ?)", [(f"k{i}", np.zeros(4, np.float32).tobytes()) for i in range(5)])
    emb._db.commit()
    (tmp_path / "models" / "smollm2-135m").mkdir(parents=True)
    (tmp_path / "models" / "smollm2-135m" / "model.safetensors").write_bytes(b"\0" * 1000)
    return tmp_path


def test_inventory_counts_entries_per_kind_and_model(filled):
    got = {(e.kind, e.model): (e.entries, e.bytes) for e in cache_inventory(filled)}
    assert got[("responses", "model-a")] == (3, 30) and got[("responses", "model-b")] == (1, 5)
    assert got[("embeddings", "emb-x")][0] == 5 and got[("model", "smollm2-135m")] == (1, 1000)


def test_clear_by_age_then_by_model(filled):
    assert clear_caches(older_than_s=parse_age("30d"), root=filled) == {"responses": 1, "embeddings": 0, "model": 0}
    assert clear_caches(model="model-a", root=filled)["responses"] == 2
    left = {(e.kind, e.model) for e in cache_inventory(filled)}
    assert ("responses", "model-a") not in left and ("responses", "model-b") in left
    out = CliRunner().invoke(app, ["cache", "clear", "--model", "emb-x"]).output
    assert "removed 0 responses, 5 embeddings, 0 converted models" in out
    assert CliRunner().invoke(app, ["cache", "path"]).output.strip() == str(filled)


def test_bad_age_is_a_clear_error():
    with pytest.raises(DpbenchError, match="30d, 12h, 90m"):
        parse_age("soon")
