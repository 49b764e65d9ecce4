"""The one response cache: SQLite under the cache dir, keyed by sha256 over backend identity,
messages, output-affecting sampling and decoding parameters, seed and sample index. Retry, timeout
and connection settings are not part of the key; errors are never stored.

Each row also records its model and time, so `dpbench cache info` can show entries per model and
`dpbench cache clear --model M --older-than 30d` can prune them.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path

from dpbench.llm.base import ChatRequest, ChatResponse
from dpbench.paths import cache_dir

RESPONSES_FILE = "responses.sqlite"


def cache_key(identity: dict, request: ChatRequest) -> str:
    blob = json.dumps(
        {"id": identity, "messages": list(request.messages), "sampling": request.sampling.key_dict(),
         "sample": request.sample_index},
        sort_keys=True, ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def with_retries_while_locked(fn, budget_s: float = 60.0) -> None:
    """Run `fn` again while SQLite says the database is locked. Switching to WAL needs an exclusive
    lock and fails at once, without the busy timeout, when another process opens the same fresh cache
    at the same moment (two runs started together)."""
    deadline = time.monotonic() + budget_s
    while True:
        try:
            return fn()
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class ResponseCache:
    def __init__(self, path: Path | None = None):
        self.path = path or (cache_dir() / RESPONSES_FILE)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=60)
        with_retries_while_locked(self._create_schema)

    def _create_schema(self) -> None:
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, text TEXT, prompt_tokens INT,"
            " completion_tokens INT, finish_reason TEXT, created REAL DEFAULT (unixepoch('subsec')), model TEXT)"
        )
        cols = {row[1] for row in self._db.execute("PRAGMA table_info(responses)")}
        if "model" not in cols:  # a cache written before entries recorded their model
            self._db.execute("ALTER TABLE responses ADD COLUMN model TEXT")
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

    def cache_put(self, key: str, resp: ChatResponse, model: str | None = None) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO responses (key, text, prompt_tokens, completion_tokens, finish_reason, model)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [key, resp.text, resp.prompt_tokens, resp.completion_tokens, resp.finish_reason, model],
            )
            self._db.commit()

    def cache_info(self) -> list[dict]:
        """Entries, bytes of text and the oldest/newest entry per model."""
        with self._lock:
            rows = self._db.execute(
                "SELECT coalesce(model, '(unknown)') AS m, count(*), sum(length(text)), min(created), max(created)"
                " FROM responses GROUP BY m ORDER BY m").fetchall()
        return [{"model": r[0], "entries": r[1], "text_bytes": r[2] or 0, "oldest": r[3], "newest": r[4]}
                for r in rows]

    def cache_clear(self, model: str | None = None, older_than_s: float | None = None) -> int:
        """Delete entries (of `model`, older than `older_than_s`); returns how many."""
        where, args = [], []
        if model is not None:
            where.append("coalesce(model, '(unknown)') = ?")
            args.append(model)
        if older_than_s is not None:
            where.append("created < ?")
            args.append(time.time() - older_than_s)
        sql = "DELETE FROM responses" + (f" WHERE {' AND '.join(where)}" if where else "")
        with self._lock:
            n = self._db.execute(sql, args).rowcount
            self._db.commit()
            self._db.execute("VACUUM")
        return n

    def close(self) -> None:
        self._db.close()
