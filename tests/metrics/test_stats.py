"""Bootstrap CIs and paired tests against hand-checkable cases."""

import numpy as np
import pytest

from dpbench.metrics import SPECS
from dpbench.metrics.base import MetricScores
from dpbench.metrics.stats import bootstrap_ci, bootstrap_values, paired_test, significance_marker


def col(values, name="rouge1"):
    return MetricScores(SPECS[name], np.asarray(values, dtype=float), {})


def test_constant_scores_have_zero_width_ci():
    assert bootstrap_ci(col([0.3] * 50)) == pytest.approx((0.3, 0.3))


def test_ci_is_seeded_and_brackets_the_mean():
    rng = np.random.default_rng(3)
    x = col(rng.random(400))
    lo, hi = bootstrap_ci(x, 1000, seed=5)
    assert (lo, hi) == bootstrap_ci(x, 1000, seed=5)
    assert lo < x.value() < hi
    se = x.per_example.std(ddof=1) / np.sqrt(400)  # normal approximation: half-width ≈ 1.96 se
    assert (hi - lo) / 2 == pytest.approx(1.96 * se, rel=0.15)


def test_bootstrap_of_two_values_only_takes_possible_means():
    vals = bootstrap_values(col([0.0, 1.0]), 200, seed=0)
    assert set(np.round(vals, 6)) <= {0.0, 0.5, 1.0}


def test_nan_rows_are_left_out_of_the_mean():
    assert col([1.0, np.nan, 0.0, np.nan]).value() == 0.5


def test_paired_test_identical_runs_p_is_one():
    x = col(np.linspace(0, 1, 30))
    res = paired_test(x, x, 500, 0)
    assert res.p_value == 1.0 and res.delta == 0 and res.better is None
    assert significance_marker(res) == ""


def test_paired_test_clear_improvement_and_worsening():
    rng = np.random.default_rng(0)
    base = rng.random(200)
    better = col(base + 0.1)
    res = paired_test(better, col(base), 999, 0)
    assert res.delta == pytest.approx(0.1)
    assert res.p_value == pytest.approx(1 / 1000)  # no permutation reaches a shift present in every pair
    assert res.better is True and significance_marker(res) == "**"
    worse = paired_test(col(base), better, 999, 0)
    assert worse.better is False and significance_marker(worse) == "**↓"


def test_paired_test_noise_is_not_significant():
    rng = np.random.default_rng(1)
    a, b = rng.random(100), rng.random(100)
    res = paired_test(col(a), col(b), 1000, 0)
    assert res.p_value > 0.05 and significance_marker(res) == ""


def test_small_exhaustive_permutation_p_value():
    # 3 pairs with differences (+1, +1, +1): of the 8 sign patterns only "all +" and "all −" reach |Δ| = 1,
    # so the exact p is 2/8; the Monte-Carlo estimate with many resamples is close to it.
    res = paired_test(col([1.0, 1.0, 1.0]), col([0.0, 0.0, 0.0]), 4000, 0)
    assert res.p_value == pytest.approx(0.25, abs=0.03)
