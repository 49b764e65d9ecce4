"""Optional LLM judge: DPL's 0-10 personalization rubric, divided by 10. Off by default.

It runs through the run command's backends (dpbench.llm.factory.make_backend + dpbench.llm.client.LLM:
cached, temperature 0). The published parser crashes on "7.5" and scores failures 0; here `parse_score`
accepts "7", "7.5", "7/10", "Score: 8", "**8**", "8 out of 10", and an answer it cannot read is
reported separately (count + examples) and left out of the mean instead of counting as 0. An empty
prediction is not sent to the judge: it scores 0 (there is nothing to judge).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

import numpy as np

from dpbench.errors import BackendError
from dpbench.metrics import SPECS
from dpbench.metrics.base import MetricScores

RUBRIC = (
    "You judge how well an AI-written product review matches a specific user's real review of the same "
    "item. You get the item's title and description, the user's rating and review title, the user's real "
    "review and the AI-written review. Score 0-10:\n"
    "0: unrelated to the real review; wrong about the item or the user's views.\n"
    "2: loosely related; mentions the item but none of the user's key points or personal views.\n"
    "4: partly matches; some key points, but important details are missing or it reads generic.\n"
    "6: mostly matches; the main points are there, some details or personal touches are missing.\n"
    "8: very close; captures the user's views and preferences with only small differences.\n"
    "10: essentially the same content, details, opinions and preferences as the real review.\n"
    "Answer with the number only."
)
_NUM = r"(-?\d+(?:\.\d+)?)"
_FRACTION = re.compile(_NUM + r"\s*(?:/|out\s+of)\s*" + _NUM, re.I)
_LABELLED = re.compile(r"(?:score|rating|grade)\s*(?:is|of|:|=)?\s*[*_\"'\[(]*" + _NUM, re.I)
_LEADING = re.compile(r"^\s*[*_\"'\[(#]*\s*" + _NUM + r"(?![\d.]*\s*[a-z%])", re.I)
_ANY = re.compile(r"(?<![\w.])" + _NUM + r"(?![\w]|\.\d)")


def parse_score(text: str | None) -> float | None:
    """A 0-10 score from a judge's answer, or None when it cannot be read or is out of range."""
    if not text or not text.strip():
        return None
    t = text.strip()
    value: float | None = None
    m = _FRACTION.search(t)
    if m and float(m.group(2)) > 0:
        value = float(m.group(1)) / float(m.group(2)) * 10.0
    elif (m := _LABELLED.search(t)) or (m := _LEADING.match(t)):
        value = float(m.group(1))
    else:
        nums = _ANY.findall(t)
        if len(set(nums)) == 1:  # one number, said once or repeated: unambiguous
            value = float(nums[0])
    if value is None or not (0.0 <= value <= 10.0):
        return None
    return value


def build_messages(prediction: str, reference: str, context: dict | None) -> list[dict[str, str]]:
    c = context or {}
    user = (f"[Item title]: {c.get('item_title', '')}\n[Item description]: {c.get('item_description', '')}\n"
            f"[User rating]: {c.get('rating', '')}\n[Review title]: {c.get('review_title', '')}\n"
            f"[User's real review]: {reference}\n[AI-written review]: {prediction}\n[Score]:")
    return [{"role": "system", "content": RUBRIC}, {"role": "user", "content": user}]


@dataclass
class JudgeOutcome:
    scores: np.ndarray  # 0-10; NaN = unparsable or failed
    answers: list[str | None]
    n_unparsable: int = 0
    n_failed: int = 0
    n_skipped_empty: int = 0
    examples_unparsable: list[str] = field(default_factory=list)


async def judge_all(predictions: list[str], references: list[str], contexts: list[dict] | None, llm) -> JudgeOutcome:
    """Ask the judge about every non-empty prediction (concurrency is bounded by the LLM's backend)."""
    n = len(predictions)
    out = JudgeOutcome(np.full(n, np.nan), [None] * n)

    async def one(i: int) -> None:
        if not predictions[i].strip():
            out.scores[i] = 0.0
            out.n_skipped_empty += 1
            return
        try:
            resp = await llm.chat(build_messages(predictions[i], references[i], contexts[i] if contexts else None))
        except BackendError:
            raise
        except Exception as e:  # a transient failure that outlived retries, or a bad reply: recorded
            out.n_failed += 1
            out.answers[i] = f"<error: {e}>"
            return
        out.answers[i] = resp.text
        score = parse_score(resp.text)
        if score is None:
            out.n_unparsable += 1
            if len(out.examples_unparsable) < 5:
                out.examples_unparsable.append(resp.text[:200])
        else:
            out.scores[i] = score

    await asyncio.gather(*(one(i) for i in range(n)))
    return out


def make_llm(judge_cfg):
    from dpbench.llm.base import Sampling
    from dpbench.llm.cache import ResponseCache
    from dpbench.llm.client import LLM

    backend = judge_cfg.backend_object
    if backend is None:
        from dpbench.llm.factory import make_backend

        backend = make_backend(judge_cfg.backend, judge_cfg.model, base_urls=judge_cfg.base_urls,
                               api_key_env=judge_cfg.api_key_env, concurrency=judge_cfg.concurrency,
                               timeout_s=judge_cfg.timeout_s, max_retries=judge_cfg.max_retries,
                               device=judge_cfg.device)
    sampling = Sampling(temperature=0.0, top_p=1.0, max_tokens=judge_cfg.max_tokens, seed=0)
    return LLM(backend, sampling, ResponseCache() if judge_cfg.use_cache else None)


async def run_judge(predictions, references, contexts, judge_cfg) -> JudgeOutcome:
    llm = make_llm(judge_cfg)
    try:
        await llm.backend.check()
        return await judge_all(predictions, references, contexts, llm)
    finally:
        if judge_cfg.backend_object is None:
            await llm.backend.aclose()


def compute(predictions: list[str], references: list[str], cfg, contexts: list[dict] | None = None
            ) -> list[MetricScores]:
    if cfg.judge is None:
        raise BackendError("the judge metric needs --judge-model (and --judge-base-url for an openai backend)")
    outcome = asyncio.run(run_judge(predictions, references, contexts, cfg.judge))
    settings = {"model": cfg.judge.model, "backend": cfg.judge.backend, "rubric": "DPL 0-10, divided by 10",
                "temperature": 0.0, "max_tokens": cfg.judge.max_tokens, "empty_prediction": "0 (not sent)",
                "unparsable": "excluded from the mean, counted separately"}
    notes = []
    if outcome.n_unparsable or outcome.n_failed:
        notes.append(f"{outcome.n_unparsable} unparsable and {outcome.n_failed} failed judge answers "
                     f"excluded from the mean (not scored 0)")
    extra = {"n_unparsable": outcome.n_unparsable, "n_failed": outcome.n_failed,
             "n_skipped_empty": outcome.n_skipped_empty, "unparsable_examples": outcome.examples_unparsable}
    return [MetricScores(SPECS["judge"], outcome.scores / 10.0, settings, notes=notes, extra=extra)]
