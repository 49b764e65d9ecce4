"""What dpbench keeps in its cache folder, and pruning it (`dpbench cache path|info|clear`).

    responses.sqlite       LLM responses (llm/cache.py), per model, with their time
    embeddings/<h>.sqlite  sentence embeddings per embedder (embed.py), keyed by text hash
    models/<name>/         packaged GGUF models converted once to safetensors (models.py)
All of it is content-keyed and safe to delete: it is rebuilt on demand.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from dpbench.errors import DpbenchError
from dpbench.paths import cache_dir

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass(frozen=True)
class CacheEntry:
    kind: str  # "responses" | "embeddings" | "model"
    model: str
    entries: int
    bytes: int
    path: Path


def parse_age(text: str) -> float:
    """'30d', '12h', '90m', '45s', '2w' → seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text or "")
    if not m:
        raise DpbenchError(f"--older-than {text!r}: give a number and a unit, e.g. 30d, 12h, 90m")
    return float(m[1]) * _UNITS[m[2]]


def dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def embedding_files(root: Path) -> list[tuple[Path, str, int]]:
    out = []
    for f in sorted((root / "embeddings").glob("*.sqlite")):
        con = sqlite3.connect(str(f))
        try:
            row = con.execute("SELECT value FROM meta WHERE key = 'model'").fetchone() \
                if con.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone() else None
            n = con.execute("SELECT count(*) FROM emb").fetchone()[0]
        finally:
            con.close()
        out.append((f, row[0] if row else f"(unknown: {f.stem})", n))
    return out


def cache_inventory(root: Path | None = None) -> list[CacheEntry]:
    root = root or cache_dir()
    out: list[CacheEntry] = []
    responses = root / "responses.sqlite"
    if responses.exists():
        from dpbench.llm.cache import ResponseCache

        rc = ResponseCache(responses)
        try:
            for row in rc.cache_info():
                out.append(CacheEntry("responses", row["model"], row["entries"], row["text_bytes"], responses))
        finally:
            rc.close()
    for f, model, n in embedding_files(root):
        out.append(CacheEntry("embeddings", model, n, f.stat().st_size, f))
    for d in sorted((root / "models").glob("*")) if (root / "models").exists() else []:
        if d.is_dir():
            out.append(CacheEntry("model", d.name, 1, dir_bytes(d), d))
    return out


def clear_caches(model: str | None = None, older_than_s: float | None = None, root: Path | None = None) -> dict:
    """Delete cached entries (of one model, older than an age); returns counts removed per kind.
    Embedding vectors carry no time, so --older-than prunes responses (and whole files by age)."""
    import time

    root = root or cache_dir()
    removed = {"responses": 0, "embeddings": 0, "model": 0}
    responses = root / "responses.sqlite"
    if responses.exists():
        from dpbench.llm.cache import ResponseCache

        rc = ResponseCache(responses)
        try:
            removed["responses"] = rc.cache_clear(model=model, older_than_s=older_than_s)
        finally:
            rc.close()
    now = time.time()
    for f, name, n in embedding_files(root):
        old_enough = older_than_s is None or now - f.stat().st_mtime > older_than_s
        if (model is None or name == model) and old_enough:
            f.unlink()
            removed["embeddings"] += n
    for d in sorted((root / "models").glob("*")) if (root / "models").exists() else []:
        old_enough = older_than_s is None or now - d.stat().st_mtime > older_than_s
        if d.is_dir() and (model is None or d.name == model) and old_enough:
            shutil.rmtree(d)
            removed["model"] += 1
    return removed
