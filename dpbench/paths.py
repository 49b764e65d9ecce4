"""Where dpbench keeps things on disk. One place, so tests can redirect it with an env var."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def cache_dir() -> Path:
    """Root of dpbench's caches (converted models, embeddings, LLM responses, hub downloads).

    `DPBENCH_CACHE_DIR` wins; else `$XDG_CACHE_HOME/dpbench`; else `~/.cache/dpbench`.
    Never inside the package (a pip-installed package directory may be read-only).
    """
    env = os.environ.get("DPBENCH_CACHE_DIR")
    if env:
        root = Path(env)
    else:
        root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "dpbench"
    root.mkdir(parents=True, exist_ok=True)
    return root


def recipes_dirs() -> list[Path]:
    """Folders searched for `--recipe NAME`: the repository's recipes/, then the packaged copy."""
    return [REPO_ROOT / "recipes", Path(__file__).resolve().parent / "_recipes"]
