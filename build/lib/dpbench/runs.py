"""The run directory contract: outputs/<run_id>/{manifest.json, predictions.jsonl, example_ids.txt, ...}.

predictions.jsonl is appended and flushed one line per finished example, so a killed run loses at most
the line being written; `open_run` repairs a truncated last line and reports the ids already done.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import platform
import subprocess
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from dpbench.errors import DpbenchError
from dpbench.paths import REPO_ROOT
from dpbench.schema import PredictionRecord, RunSpec

PREDICTIONS = "predictions.jsonl"
MANIFEST = "manifest.json"
EXAMPLE_IDS = "example_ids.txt"


def now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("dpbench", "torch", "transformers", "sentence-transformers", "duckdb", "openai",
                "rouge-score", "sacrebleu", "nltk", "bert-score", "xllamacpp", "scikit-learn", "bm25s"):
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


def default_run_id(method: str, model: str, split: str, data_name: str, key: dict[str, Any]) -> str:
    """Readable and stable: the same command gives the same id, so re-running resumes."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:8]
    short_model = model.rstrip("/").split("/")[-1].replace(".gguf", "")
    return f"{data_name}-{split}-{method}-{short_model}-{digest}"


class RunDir:
    def __init__(self, path: Path):
        self.path = Path(path)

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    @property
    def predictions_path(self) -> Path:
        return self.path / PREDICTIONS

    def read_manifest(self) -> RunSpec:
        if not self.manifest_path.exists():
            raise DpbenchError(f"{self.path}: no {MANIFEST} (not a dpbench run directory)")
        try:
            return RunSpec.model_validate_json(self.manifest_path.read_text())
        except ValueError as e:
            raise DpbenchError(f"{self.manifest_path}: invalid manifest: {e}") from None

    def write_manifest(self, spec: RunSpec) -> None:
        spec.updated_at = now_iso()
        tmp = self.manifest_path.with_suffix(".json.tmp")
        tmp.write_text(spec.model_dump_json(indent=2))
        os.replace(tmp, self.manifest_path)

    def write_example_ids(self, ids: list[str]) -> None:
        (self.path / EXAMPLE_IDS).write_text("".join(f"{i}\n" for i in ids))

    def read_example_ids(self) -> list[str] | None:
        p = self.path / EXAMPLE_IDS
        return p.read_text().split() if p.exists() else None

    def repair_predictions(self) -> int:
        """Drop a truncated last line (a kill mid-write). Returns bytes removed."""
        p = self.predictions_path
        if not p.exists() or p.stat().st_size == 0:
            return 0
        data = p.read_bytes()
        if data.endswith(b"\n"):
            return 0
        cut = data.rfind(b"\n") + 1
        with open(p, "r+b") as f:
            f.truncate(cut)
        return len(data) - cut

    def done_ids(self) -> set[str]:
        return {r.example_id for r, _ in self.iter_predictions(strict=False) if r is not None}

    def iter_predictions(self, strict: bool = False) -> Iterator[tuple[PredictionRecord | None, str | None]]:
        """Yields (record, None) or (None, "file:line: reason") for unreadable lines."""
        p = self.predictions_path
        if not p.exists():
            return
        with open(p, encoding="utf-8", errors="replace") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    yield PredictionRecord.model_validate_json(line), None
                except ValueError as e:
                    msg = f"{p}:{lineno}: unreadable prediction line ({str(e).splitlines()[0]})"
                    if strict:
                        raise DpbenchError(msg) from None
                    yield None, msg

    def append(self, record: PredictionRecord) -> None:
        line = record.model_dump_json() + "\n"
        with open(self.predictions_path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())


def open_run(path: Path) -> tuple[RunDir, set[str]]:
    """Create or reopen a run directory; returns it and the example ids already finished."""
    run = RunDir(path)
    run.path.mkdir(parents=True, exist_ok=True)
    run.repair_predictions()
    return run, run.done_ids()
