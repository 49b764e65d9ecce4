"""Shared test set-up: offline, caches in a git-ignored folder, fast retries."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_REAL = ROOT.parent / "shared" / "data" / "real"

# Offline always: nothing in the test suite may reach a hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Converted models and embeddings are reused across test runs (content-keyed, safe to share);
# response caches are per test (see the `response_cache` fixture).
os.environ.setdefault("DPBENCH_CACHE_DIR", str(ROOT / ".cache" / "test"))


@pytest.fixture
def response_cache(tmp_path):
    from dpbench.llm.cache import ResponseCache

    return ResponseCache(tmp_path / "responses.sqlite")


def real_data_dir() -> Path:
    """../shared/data/real; tests that need it skip only when ../shared is absent (a user's clone)."""
    if not SHARED_REAL.exists():
        pytest.skip("../shared/data/real is absent (only in a clone without the shared folder)")
    return SHARED_REAL
