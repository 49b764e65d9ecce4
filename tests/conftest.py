"""Shared test set-up: offline, caches in a git-ignored folder, fast retries."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Real Amazon review files (2014 Musical Instruments, 2018 Gift Cards) for integration tests.
SHARED_REAL = Path(os.environ.get("DPBENCH_REAL_DATA", ROOT.parent / "shared" / "data" / "real"))

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
    """$DPBENCH_REAL_DATA (default ../shared/data/real); tests that need it skip when it is absent."""
    if not SHARED_REAL.exists():
        pytest.skip(f"{SHARED_REAL} is absent: set DPBENCH_REAL_DATA to a folder of real review files")
    return SHARED_REAL
