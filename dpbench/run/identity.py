"""What a run is called and what makes two runs the same run.

The same command gives the same run id (a readable prefix and a hash of the run's identity), so
re-running it resumes; a shard adds a suffix to the directory, never to the id, so `score` can merge
the shards of one run. A run id is one path component of safe characters: it names a folder under
--out and must never reach outside it.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from dpbench.errors import DpbenchError

RUN_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,159}")

# The manifest fields that decide whether a directory holds "this" run (a rerun resumes it) or
# another one (refused). Not among them: URLs, concurrency, timeouts, cache use (they do not change
# outputs), nor usage and status.
IDENTITY_FIELDS = ("method", "model", "backend", "split", "limit", "shard", "recipe_hash",
                   "benchmark_fingerprint", "prompt_hash", "method_args")


def check_run_id(run_id: str) -> str:
    if not RUN_ID_RE.fullmatch(run_id) or run_id in (".", ".."):
        raise DpbenchError(
            f"--run-id {run_id!r}: a run id is one folder name of letters, digits, '.', '_' and '-' "
            "(starting with a letter or digit, at most 160 characters); it may not contain '/' or be '.' or '..'")
    return run_id


def data_name(data: Path) -> str:
    """The benchmark's readable name: its folder (data/NAME or data/NAME/benchmark.duckdb)."""
    p = Path(data)
    return (p.parent if p.suffix == ".duckdb" else p).resolve().name


def identity_of(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: fields.get(k) for k in IDENTITY_FIELDS if k != "shard"}


def default_run_id(method: str, model: str, split: str, data: Path, identity: dict[str, Any]) -> str:
    """`{benchmark}-{split}-{method}-{model}-{hash of the identity}`; readable and stable."""
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:8]
    short_model = re.sub(r"[^A-Za-z0-9._-]", "_", model.rstrip("/").split("/")[-1].replace(".gguf", ""))
    name = re.sub(r"[^A-Za-z0-9._-]", "_", data_name(data))
    return check_run_id(f"{name}-{split}-{method}-{short_model}-{digest}"[-160:].lstrip("._-"))


def run_dir_name(run_id: str, shard: tuple[int, int] | None) -> str:
    return run_id if shard is None else f"{run_id}.shard{shard[0]}of{shard[1]}"


def run_dir(out: Path, run_id: str, shard: tuple[int, int] | None) -> Path:
    """out/<run id>[.shardIofN], checked to stay inside `out`."""
    out = Path(out)
    path = out / run_dir_name(check_run_id(run_id), shard)
    if path.resolve().parent != out.resolve():
        raise DpbenchError(f"--run-id {run_id!r} would write outside --out {out}")
    return path


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The identity fields on which two manifests disagree, as `field=old (this command: new)`."""
    return [f"{k}={old.get(k)!r} (this command: {new.get(k)!r})" for k in IDENTITY_FIELDS if old.get(k) != new.get(k)]
