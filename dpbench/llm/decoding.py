"""Decoding controls, sent to each engine in its own words (and refused where it has none).

| control              | transformers (local, DEP)          | llama.cpp server       | vLLM                  | OpenAI   |
|----------------------|------------------------------------|------------------------|-----------------------|----------|
| repetition_penalty   | RepetitionPenaltyLogitsProcessor   | `repeat_penalty`       | `repetition_penalty`  | refused  |
| frequency_penalty    | FrequencyPresencePenalty (below)   | `frequency_penalty`    | `frequency_penalty`   | native   |
| presence_penalty     | FrequencyPresencePenalty (below)   | `presence_penalty`     | `presence_penalty`    | native   |
| no_repeat_ngram_size | NoRepeatNGramLogitsProcessor       | refused                | refused               | refused  |
| stop                 | checked on the decoded text        | `stop`                 | `stop`                | `stop`   |

Non-OpenAI fields travel in the request body's extra fields (`extra_body`). The engine behind an
OpenAI-compatible URL is read from its /models answer (`owned_by`); the manifest records the exact
fields sent, and the response cache key holds every control that is set.
"""

from __future__ import annotations

from typing import Any

from dpbench.errors import BackendError
from dpbench.llm.base import Sampling

ENGINES = ("llamacpp", "vllm", "openai")
EXTRA_NAME = {"llamacpp": "repeat_penalty", "vllm": "repetition_penalty"}


def detect_engine(owned_by: str | None) -> str:
    """llama.cpp's server answers owned_by "llamacpp", vLLM "vllm"; anything else is treated as the
    plain OpenAI API (native fields only)."""
    o = (owned_by or "").lower().replace(".", "").replace("_", "")
    if "llamacpp" in o:
        return "llamacpp"
    if "vllm" in o:
        return "vllm"
    return "openai"


def openai_request_fields(s: Sampling, engine: str) -> dict[str, Any]:
    """The keyword arguments of `chat.completions.create` for this sampling on this engine."""
    fields: dict[str, Any] = {"temperature": s.temperature, "top_p": s.top_p, "max_tokens": s.max_tokens,
                              "seed": s.seed}
    if s.frequency_penalty:
        fields["frequency_penalty"] = s.frequency_penalty
    if s.presence_penalty:
        fields["presence_penalty"] = s.presence_penalty
    if s.stop:
        fields["stop"] = list(s.stop)
    extra: dict[str, Any] = {}
    if s.repetition_penalty != 1.0:
        if engine not in EXTRA_NAME:
            raise BackendError(
                f"repetition_penalty={s.repetition_penalty} is not an OpenAI API parameter and this endpoint looks "
                "like the OpenAI API; use generation.frequency_penalty / presence_penalty, or serve the model "
                "with llama.cpp or vLLM")
        extra[EXTRA_NAME[engine]] = s.repetition_penalty
    if s.no_repeat_ngram_size:
        raise BackendError(
            f"no_repeat_ngram_size={s.no_repeat_ngram_size} exists only in transformers (--backend local); "
            f"the {engine} server has no such option: use repetition/frequency penalties there")
    if extra:
        fields["extra_body"] = extra
    return fields


def transformers_fields(s: Sampling) -> dict[str, Any]:
    """What the transformers path applies (for the manifest): HF's names."""
    out: dict[str, Any] = {"temperature": s.temperature, "top_p": s.top_p, "max_new_tokens": s.max_tokens,
                           "seed": s.seed}
    out.update(s.decoding())
    return out


class FrequencyPresencePenalty:
    """OpenAI's frequency and presence penalties as a transformers logits processor: each token's logit
    minus frequency_penalty x its count in the generated text so far, minus presence_penalty if it occurs."""

    def __init__(self, frequency: float, presence: float, prompt_len: int = 0):
        self.frequency, self.presence, self.prompt_len = frequency, presence, prompt_len

    def __call__(self, input_ids, scores):
        import torch

        generated = input_ids[:, self.prompt_len:]
        if generated.shape[1] == 0:
            return scores
        counts = torch.zeros_like(scores)
        counts.scatter_add_(1, generated, torch.ones_like(generated, dtype=scores.dtype))
        return scores - self.frequency * counts - self.presence * (counts > 0).to(scores.dtype)


def logits_processors(s: Sampling, prompt_len: int = 0):
    """transformers LogitsProcessorList for the controls that are set (empty when none is)."""
    from transformers import LogitsProcessorList

    procs: list = []
    if s.repetition_penalty != 1.0:
        from transformers import RepetitionPenaltyLogitsProcessor

        procs.append(RepetitionPenaltyLogitsProcessor(s.repetition_penalty))
    if s.frequency_penalty or s.presence_penalty:
        procs.append(FrequencyPresencePenalty(s.frequency_penalty, s.presence_penalty, prompt_len))
    if s.no_repeat_ngram_size:
        from transformers import NoRepeatNGramLogitsProcessor

        procs.append(NoRepeatNGramLogitsProcessor(s.no_repeat_ngram_size))
    return LogitsProcessorList(procs)


def cut_at_stop(text: str, stop: tuple[str, ...]) -> tuple[str, bool]:
    """Text up to the first stop string, and whether one was found."""
    cut = min((i for i in (text.find(x) for x in stop) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)
