"""The one Backend protocol every model backend implements, and the types it speaks.

Methods never talk to a backend directly: they call `LLM.chat` (dpbench/llm/client.py), which adds
the response cache, usage counting and the per-run concurrency bound on top of a Backend.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": "..."}


@dataclass(frozen=True)
class Sampling:
    """Everything that decides a completion besides the messages. Every backend receives each
    control natively (llm/decoding.py says how) or refuses it with a message."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 128
    seed: int = 42
    # decoding controls against repetition (neutral by default)
    repetition_penalty: float = 1.0  # CTRL-style: seen tokens' logits divided (>0) / multiplied (<0)
    frequency_penalty: float = 0.0  # OpenAI-style: logit -= frequency_penalty * count of the token so far
    presence_penalty: float = 0.0  # OpenAI-style: logit -= presence_penalty if the token occurred
    no_repeat_ngram_size: int = 0  # transformers: no n-gram of this size twice (0 = off)
    stop: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["stop"] = list(self.stop)
        return d

    def key_dict(self) -> dict[str, Any]:
        """For the response cache: the decoding controls only when set, so entries cached before they
        existed (all neutral) keep their keys."""
        d = self.to_dict()
        for name, neutral in DECODING_NEUTRAL.items():
            if d[name] == neutral:
                del d[name]
        return d

    def decoding(self) -> dict[str, Any]:
        """The decoding controls that are not neutral."""
        return {k: v for k, v in self.to_dict().items() if k in DECODING_NEUTRAL and v != DECODING_NEUTRAL[k]}


DECODING_NEUTRAL: dict[str, Any] = {"repetition_penalty": 1.0, "frequency_penalty": 0.0, "presence_penalty": 0.0,
                                    "no_repeat_ngram_size": 0, "stop": []}


def sampling_from_recipe(g) -> Sampling:
    """The Sampling of a recipe's [generation] section (dpbench.recipes.GenerationRecipe)."""
    return Sampling(temperature=g.temperature, top_p=g.top_p, max_tokens=g.max_tokens, seed=g.seed,
                    repetition_penalty=g.repetition_penalty, frequency_penalty=g.frequency_penalty,
                    presence_penalty=g.presence_penalty, no_repeat_ngram_size=g.no_repeat_ngram_size,
                    stop=tuple(g.stop))


@dataclass(frozen=True)
class ChatRequest:
    messages: tuple[Message, ...]
    sampling: Sampling
    sample_index: int = 0  # distinguishes repeated samples of one prompt in the cache key

    def prompt_hash(self) -> str:
        blob = json.dumps(list(self.messages), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass
class ChatResponse:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    attempts: int = 1
    cached: bool = False
    finish_reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Backend(Protocol):
    """A chat model. Implementations: llm/local.py (transformers), llm/openai_compat.py."""

    name: str  # "local" | "openai"
    max_concurrency: int

    def identity(self) -> dict[str, Any]:
        """What determines outputs (model id/revision, backend kind) — part of the cache key.
        Never includes secrets, URLs of a pool, timeouts or retry settings."""
        ...

    async def generate(self, request: ChatRequest) -> ChatResponse:
        """One chat completion. Retries transient failures itself; raises BackendError or
        another exception on a failure that should become a recorded error."""
        ...

    async def check(self) -> None:
        """Fail fast before a run: raise dpbench.errors.BackendError naming the URL/model when the
        backend cannot serve (server down, 401, unknown model)."""
        ...

    async def aclose(self) -> None: ...


class RetriesExhausted(Exception):
    """A transient failure (429/5xx/timeout/dropped connection) that outlived the retry budget.
    The run records it as the example's error and moves on; BackendError instead aborts the run.
    `attempts` = requests sent (all counted in the run's usage)."""

    def __init__(self, message: str, attempts: int = 1):
        super().__init__(message)
        self.attempts = attempts
