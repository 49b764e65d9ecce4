"""Bootstrap confidence intervals and paired significance tests, for every metric alike.

Each metric is a function of column sums of per-example statistics (see metrics/base.py), so one
resampling scheme serves means and corpus BLEU: draw bootstrap counts (or swap masks), multiply by the
statistics matrix, apply `from_sums`. Seeded numpy Generators make every number reproducible; the
draws are made in chunks so 10,000 examples × 1,000 resamples stay small in memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dpbench.metrics.base import MetricScores

CHUNK = 100  # resamples per matrix product


@dataclass(frozen=True)
class PairedResult:
    delta: float  # system − baseline, in the metric's own units
    p_value: float  # two-sided, approximate randomization
    n_shared: int
    resamples: int
    better: bool | None  # None when p ≥ alpha; True/False = significantly better/worse (direction-aware)


def bootstrap_values(col: MetricScores, resamples: int, seed: int) -> np.ndarray:
    """The metric recomputed on `resamples` bootstrap samples of the examples (rows)."""
    stats = col.row_stats()
    n = stats.shape[0]
    if n == 0:
        return np.full(resamples, np.nan)
    rng = np.random.default_rng(seed)
    out = []
    for start in range(0, resamples, CHUNK):
        b = min(CHUNK, resamples - start)
        counts = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(b)])
        out.append(col.from_sums(counts.astype(np.float64) @ stats))
    return np.concatenate(out)


def bootstrap_ci(col: MetricScores, resamples: int = 1000, seed: int = 0, level: float = 0.95
                 ) -> tuple[float | None, float | None]:
    """Percentile bootstrap interval; (None, None) with fewer than 2 examples."""
    if col.row_stats().shape[0] < 2:
        return None, None
    vals = bootstrap_values(col, resamples, seed)
    vals = vals[~np.isnan(vals)]
    if vals.size == 0:
        return None, None
    tail = (1.0 - level) / 2.0 * 100.0
    lo, hi = np.percentile(vals, [tail, 100.0 - tail])
    return float(lo), float(hi)


def paired_test(system: MetricScores, baseline: MetricScores, resamples: int = 1000, seed: int = 0,
                alpha: float = 0.05) -> PairedResult:
    """Approximate randomization on aligned rows: swap system/baseline per example at random and count
    how often |Δ| is at least the observed one. p = (hits + 1) / (resamples + 1)."""
    a, b = system.row_stats(), baseline.row_stats()
    if a.shape != b.shape:
        raise ValueError(f"paired test needs aligned rows, got {a.shape} and {b.shape}")
    n = a.shape[0]
    ta, tb = a.sum(axis=0), b.sum(axis=0)
    observed = float(system.from_sums(ta[None])[0] - baseline.from_sums(tb[None])[0])
    if n == 0 or np.isnan(observed):
        return PairedResult(observed, float("nan"), n, resamples, None)
    diff = b - a  # what swapping a row moves from baseline to system
    rng = np.random.default_rng(seed)
    hits = 0
    tol = 1e-12 * max(1.0, abs(observed))
    for start in range(0, resamples, CHUNK):
        k = min(CHUNK, resamples - start)
        swap = rng.integers(0, 2, size=(k, n)).astype(np.float64)
        moved = swap @ diff
        deltas = system.from_sums(ta + moved) - baseline.from_sums(tb - moved)
        hits += int(np.sum(np.abs(deltas) >= abs(observed) - tol))
    p = (hits + 1) / (resamples + 1)
    better = None
    if p < alpha and observed != 0:
        better = (observed > 0) == system.spec.higher_is_better
    return PairedResult(observed, p, n, resamples, better)


def significance_marker(result: PairedResult | None) -> str:
    """'**' p<0.01, '*' p<0.05; a trailing '↓' when significantly worse than the baseline."""
    if result is None or result.better is None or np.isnan(result.p_value):
        return ""
    stars = "**" if result.p_value < 0.01 else "*"
    return stars if result.better else stars + "↓"
