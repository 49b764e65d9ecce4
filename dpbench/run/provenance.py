"""Where a run came from: package versions and the git revision of dpbench (dirty flag included)."""

from __future__ import annotations

import contextlib
import datetime as _dt
import platform
import subprocess
from importlib import metadata
from typing import Any

from dpbench.paths import REPO_ROOT

PACKAGES = ("dpbench", "torch", "transformers", "sentence-transformers", "duckdb", "openai", "rouge-score",
            "sacrebleu", "nltk", "bert-score", "xllamacpp", "scikit-learn", "bm25s")


def now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[pkg] = metadata.version(pkg)
    return out


def git_revision() -> dict[str, Any]:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True,
                                timeout=5).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                                    capture_output=True, text=True, timeout=5).stdout.strip())
        return {"commit": commit or None, "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
