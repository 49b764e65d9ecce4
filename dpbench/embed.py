"""Sentence embeddings with an on-disk cache keyed by (model, text hash), shared by all methods.

The cache is a SQLite file per model under the dpbench cache dir; vectors are float32 blobs,
L2-normalized. Only texts missing from the cache are encoded, in batches, with a progress bar.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import numpy as np

from dpbench.models import resolve_embedder
from dpbench.paths import cache_dir


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class Embedder:
    def __init__(self, name: str = "minilm-l6", device: str | None = None, batch_size: int = 64,
                 cache: bool = True, cache_root: Path | None = None):
        self.name = name
        self.device = device
        self.batch_size = batch_size
        self._model = None
        self._db: sqlite3.Connection | None = None
        if cache:
            root = (cache_root or cache_dir()) / "embeddings"
            root.mkdir(parents=True, exist_ok=True)
            safe = hashlib.sha256(name.encode()).hexdigest()[:12]
            from dpbench.llm.cache import with_retries_while_locked

            # several processes (torchrun ranks, parallel runs) share the file: wait for each other's writes
            self._db = sqlite3.connect(str(root / f"{safe}.sqlite"), check_same_thread=False, timeout=60)
            with_retries_while_locked(lambda: self._create_schema(name))
        self.hits = 0
        self.misses = 0

    def _create_schema(self, name: str) -> None:
        self._db.execute("CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, vec BLOB)")
        # which model the file belongs to, for `dpbench cache info` (the file name is a hash)
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        self._db.execute("INSERT OR IGNORE INTO meta VALUES ('model', ?)", [name])
        self._db.commit()

    @property
    def model(self):
        if self._model is None:
            import torch
            from sentence_transformers import SentenceTransformer

            device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
            self._model = SentenceTransformer(resolve_embedder(self.name), device=device)
        return self._model

    @property
    def dim(self) -> int:
        return int(self.model.get_sentence_embedding_dimension())

    def identity(self) -> dict:
        return {"embedder": self.name}

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """(len(texts), dim) float32, L2-normalized; identical texts are encoded once."""
        keys = [text_key(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        if self._db is not None:
            uniq = list(dict.fromkeys(keys))
            for i in range(0, len(uniq), 500):
                chunk = uniq[i : i + 500]
                q = f"SELECT key, vec FROM emb WHERE key IN ({','.join('?' * len(chunk))})"
                for k, blob in self._db.execute(q, chunk):
                    found[k] = np.frombuffer(blob, dtype=np.float32)
        todo: dict[str, str] = {}
        for k, t in zip(keys, texts):
            if k not in found and k not in todo:
                todo[k] = t
        self.hits += len(texts) - sum(1 for k in keys if k in todo)
        self.misses += len(todo)
        if todo:
            vecs = self.model.encode(
                list(todo.values()), batch_size=self.batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=progress,
            ).astype(np.float32)
            for k, v in zip(todo, vecs):
                found[k] = v
            if self._db is not None:
                self._db.executemany("INSERT OR REPLACE INTO emb VALUES (?, ?)",
                                     [(k, v.tobytes()) for k, v in zip(todo, vecs)])
                self._db.commit()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([found[k] for k in keys])
