"""Types every metric speaks: a column spec, per-example scores, and the statistics behind the headline.

Every headline number is a function of column sums of a per-example statistics matrix: a mean is
sum(x)/sum(valid); corpus BLEU is sacreBLEU's formula over summed n-gram counts. Bootstrap CIs and
paired tests then treat all metrics alike (resample rows, sum, apply `from_sums`), corpus BLEU included.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class MetricSpec:
    name: str  # column in scores.json / leaderboards, e.g. "rouge1"
    family: str  # what --metrics names, e.g. "rouge"
    label: str  # short display name, e.g. "ROUGE-1"
    higher_is_better: bool = True
    aggregation: str = "mean"  # "mean" of per-example scores | "corpus" (from summed statistics)
    scale: float = 1.0  # 100 for BLEU (0-100), 1 for the others (0-1)


def mean_from_sums(sums: np.ndarray) -> np.ndarray:
    """sums[..., 0] = Σ score over valid rows, sums[..., 1] = number of valid rows."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sums[..., 1] > 0, sums[..., 0] / np.maximum(sums[..., 1], 1), np.nan)


@dataclass
class MetricScores:
    """One metric column for one run: per-example values aligned with the run's example ids."""

    spec: MetricSpec
    per_example: np.ndarray  # float64; NaN = not scorable (e.g. an unparsable judge answer)
    settings: dict[str, Any]
    stats: np.ndarray | None = None  # n × k sufficient statistics; None = [score, valid] of per_example
    from_sums: Callable[[np.ndarray], np.ndarray] = mean_from_sums  # (B × k) → (B,)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. judge: n_unparsable

    def row_stats(self) -> np.ndarray:
        if self.stats is not None:
            return self.stats
        valid = ~np.isnan(self.per_example)
        return np.stack([np.where(valid, self.per_example, 0.0), valid.astype(np.float64)], axis=1)

    def value(self) -> float:
        return float(self.from_sums(self.row_stats().sum(axis=0)[None, :])[0])

    def subset(self, idx: np.ndarray) -> MetricScores:
        """The same column restricted to rows `idx` (paired tests use the shared example ids)."""
        return MetricScores(self.spec, self.per_example[idx], self.settings,
                            None if self.stats is None else self.stats[idx], self.from_sums, list(self.notes),
                            dict(self.extra))


class CachedStemmer:
    """A stemmer with its stems memoized per word (Porter stemming is the slowest part of ROUGE's and
    METEOR's tokenization, and review text repeats its words)."""

    def __init__(self, stemmer):
        from functools import lru_cache

        self._stem = lru_cache(maxsize=None)(stemmer.stem)

    def stem(self, word: str) -> str:
        return self._stem(word)


MIN_PAIRS_PER_WORKER = 1000


def worker_count(n: int, requested: int = 0) -> int:
    """Processes for a pure-Python metric over n pairs: `requested` if > 0, else one per available core,
    and never so many that a worker gets fewer than MIN_PAIRS_PER_WORKER pairs (start-up would dominate)."""
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    want = requested if requested > 0 else cores
    return max(1, min(want, n // MIN_PAIRS_PER_WORKER))


def map_chunks(worker, predictions: list[str], references: list[str], workers: int, *extra, initializer=None):
    """worker(preds_chunk, refs_chunk, *extra) over contiguous chunks, in forked processes when workers > 1
    (children inherit what the parent already loaded, e.g. WordNet); results come back in order.
    `initializer` runs first in each child (e.g. to reopen files whose descriptors fork shared)."""
    if workers <= 1:
        return [worker(predictions, references, *extra)]
    import multiprocessing as mp

    bounds = np.linspace(0, len(predictions), workers + 1).astype(int)
    jobs = [(predictions[a:b], references[a:b], *extra) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    with mp.get_context("fork").Pool(workers, initializer=initializer) as pool:
        return pool.starmap(worker, jobs)
