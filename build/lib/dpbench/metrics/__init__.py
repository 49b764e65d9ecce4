"""Metric registry: families (what --metrics names) → lazily imported compute functions, and the
column specs (higher_is_better, aggregation, scale) that leaderboards read instead of guessing.

A family's compute function has the signature
    compute(predictions: list[str], references: list[str], cfg: ScoreConfig) -> list[MetricScores]
and returns one MetricScores per column, aligned with the inputs.
"""

from __future__ import annotations

from dpbench.metrics.base import MetricScores, MetricSpec
from dpbench.registry import Registry

FAMILIES: Registry = Registry("metric", {
    "rouge": "dpbench.metrics.rouge:compute",
    "bleu": "dpbench.metrics.bleu:compute",
    "meteor": "dpbench.metrics.meteor:compute",
    "bertscore": "dpbench.metrics.bertscore:compute",
    "judge": "dpbench.metrics.judge:compute",
})

SPECS: dict[str, MetricSpec] = {s.name: s for s in [
    MetricSpec("rouge1", "rouge", "ROUGE-1"),
    MetricSpec("rougeL", "rouge", "ROUGE-L"),
    MetricSpec("meteor", "meteor", "METEOR"),
    MetricSpec("meteor_nowordnet", "meteor", "METEOR (no WordNet)"),
    MetricSpec("bleu", "bleu", "BLEU", aggregation="corpus", scale=100.0),
    MetricSpec("bleu_sentence", "bleu", "sentBLEU", scale=100.0),
    MetricSpec("bertscore_f1", "bertscore", "BERTScore-F1"),
    MetricSpec("judge", "judge", "Judge"),
]}


def family_names() -> list[str]:
    return FAMILIES.names()


def get_compute(family: str):
    return FAMILIES.get(family)


def parse_metrics(text: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """'rouge,bleu' → ('rouge', 'bleu'); unknown names raise with a suggestion."""
    items = text.split(",") if isinstance(text, str) else list(text)
    names = tuple(dict.fromkeys(x.strip() for x in items if x.strip()))
    for n in names:
        if n not in FAMILIES.names():
            FAMILIES.get(n)  # raises DpbenchError with "did you mean"
    return names


__all__ = ["FAMILIES", "SPECS", "MetricScores", "MetricSpec", "family_names", "get_compute", "parse_metrics"]
