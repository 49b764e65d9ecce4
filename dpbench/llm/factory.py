"""`make_backend`: the one place that turns run settings into a Backend (heavy imports stay lazy).

The backend kinds are the registry dpbench.llm.BACKENDS; each maps to a factory taking BackendSettings.
"""

from __future__ import annotations

from dataclasses import dataclass

from dpbench.llm.base import Backend


@dataclass(frozen=True)
class BackendSettings:
    model: str = "smollm2-135m"
    base_urls: tuple[str, ...] = ()
    api_key_env: str | None = None
    concurrency: int = 4  # openai: requests in flight; local: largest micro-batch
    timeout_s: float = 300.0  # openai: per attempt
    call_timeout_s: float | None = None  # openai: all attempts of one call together (None = no limit)
    max_retries: int = 6  # openai: retries after the first attempt (llm/retry.py)
    device: str | None = None  # local only (a server picks its own device)
    dtype: str | None = None  # local only: None/"float32", "bfloat16" or "auto" (bf16 where native)


def make_backend(kind: str, settings: BackendSettings | str | None = None, /, **kw) -> Backend:
    """A Backend of `kind` (a name of dpbench.llm.BACKENDS) from `settings`, or from a model name and
    BackendSettings fields as keywords: `make_backend("openai", "m", base_urls=[url])`."""
    from dpbench.errors import BackendError
    from dpbench.llm import BACKENDS

    if kind not in BACKENDS:
        raise BackendError(f"unknown backend {kind!r}; choose one of: {', '.join(BACKENDS.names())}")
    if not isinstance(settings, BackendSettings):
        if settings is not None:
            kw["model"] = settings
        if "base_urls" in kw:
            kw["base_urls"] = tuple(kw["base_urls"] or ())
        settings = BackendSettings(**kw)
    return BACKENDS.get(kind)(settings)
