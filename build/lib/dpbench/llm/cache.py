"""The one response cache: SQLite under the cache dir, keyed by sha256 over backend identity,
messages, output-affecting sampling parameters, seed and sample index. Retry, timeout and
connection settings are not part of the key; errors are never stored."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path

from dpbench.llm.base import ChatRequest, ChatResponse
from dpbench.paths import cache_dir


def cache_key(identity: dict, request: ChatRequest) -> str:
    blob = json.dumps(
        {"id": identity, "messages": list(request.messages), "sampling": request.sampling.to_dict(),
         "sample": request.sample_index},
        sort_keys=True, ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResponseCache:
    def __init__(self, path: Path | None = None):
        self.path = path or (cache_dir() / "responses.sqlite")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, text TEXT, prompt_tokens INT,"
            " completion_tokens INT, finish_reason TEXT, created REAL DEFAULT (unixepoch('subsec')))"
        )
        self._db.commit()

    def cache_get(self, key: str) -> ChatResponse | None:
        with self._lock:
            row = self._db.execute(
                "SELECT text, prompt_tokens, completion_tokens, finish_reason FROM responses WHERE key = ?", [key]
            ).fetchone()
        if row is None:
            return None
        return ChatResponse(text=row[0], prompt_tokens=row[1], completion_tokens=row[2], finish_reason=row[3],
                            cached=True, attempts=0)

    def cache_put(self, key: str, resp: ChatResponse) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO responses (key, text, prompt_tokens, completion_tokens, finish_reason)"
                " VALUES (?, ?, ?, ?, ?)",
                [key, resp.text, resp.prompt_tokens, resp.completion_tokens, resp.finish_reason],
            )
            self._db.commit()

    def close(self) -> None:
        self._db.close()
