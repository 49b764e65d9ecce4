"""`make_backend`: the one place that turns run settings into a Backend (heavy imports stay lazy)."""

from __future__ import annotations

from collections.abc import Sequence

from dpbench.errors import BackendError
from dpbench.llm.base import Backend

BACKEND_KINDS = ("local", "openai")


def make_backend(kind: str, model: str, *, base_urls: Sequence[str] = (), api_key_env: str | None = None,
                 concurrency: int = 4, timeout_s: float = 300.0, max_retries: int = 6,
                 device: str | None = None) -> Backend:
    """kind "local": transformers in-process (batched; `concurrency` = largest micro-batch).
    kind "openai": an OpenAI-compatible endpoint or a pool of them (`base_urls`); `timeout_s` is per
    attempt and `max_retries` the retries after the first attempt (llm/retry.py)."""
    if kind == "openai":
        from dpbench.llm.openai_compat import OpenAIBackend
        from dpbench.llm.retry import RetryPolicy

        # `device` is ignored here: the server picks its own (the run may still use it for embeddings).
        policy = RetryPolicy.from_settings(max_retries, timeout_s)
        return OpenAIBackend(model, list(base_urls), api_key_env=api_key_env, concurrency=concurrency, policy=policy)
    if kind == "local":
        if base_urls:
            raise BackendError("--base-url applies to the openai backend only (use --backend openai)")
        from dpbench.llm.local import LocalBackend

        return LocalBackend(model or "smollm2-135m", device=device, max_batch=concurrency)
    raise BackendError(f"unknown backend {kind!r}; choose one of: {', '.join(BACKEND_KINDS)}")
