"""IQM and percentile-bootstrap intervals (rlsuite.core.stats)."""

from __future__ import annotations

import numpy as np
import pytest

from rlsuite.core.stats import bootstrap_ci, iqm, summarize


def test_iqm_known_values():
    # 8 values: drop 2 from each end -> mean(3, 4, 5, 6)
    assert iqm([8, 1, 7, 2, 6, 3, 5, 4]) == pytest.approx(4.5)
    # outliers at both ends do not move it
    assert iqm([-1000, 1, 2, 3, 4, 5, 6, 1000]) == pytest.approx(3.5)
    # 10 values: floor(2.5) = 2 from each end -> mean(2..7)
    assert iqm(np.arange(10)) == pytest.approx(4.5)
    assert iqm([0, 0, 0, 0, 0, 0, 0, 1000]) == 0.0
    # 5 values: drop 1 from each end
    assert iqm([10, 0, 1, 2, -10]) == pytest.approx(1.0)
    # asymmetric values, where trimming more or less than a quarter changes the answer
    assert iqm([0, 1, 2, 10, 20, 30, 40, 1000]) == pytest.approx(15.5)
    assert iqm([2**k for k in range(12)]) == pytest.approx(84.0)  # mean(8, 16, ..., 256)


def test_iqm_few_values_is_the_mean():
    assert iqm([3.0]) == 3.0
    assert iqm([1.0, 2.0]) == pytest.approx(1.5)
    assert iqm([1.0, 2.0, 9.0]) == pytest.approx(4.0)


def test_iqm_matches_trimmed_mean_definition():
    rng = np.random.default_rng(3)
    for n in (4, 7, 30, 101):
        x = rng.normal(size=n)
        cut = n // 4
        expected = np.sort(x)[cut : n - cut].mean()
        assert iqm(x) == pytest.approx(expected)
        assert iqm(x[::-1]) == pytest.approx(expected)  # order does not matter


def test_bootstrap_ci_is_reproducible_and_seeded():
    x = np.random.default_rng(0).normal(100.0, 20.0, size=30)
    a = bootstrap_ci(x, seed=1)
    assert a == bootstrap_ci(x, seed=1)
    assert a != bootstrap_ci(x, seed=2)


def test_bootstrap_ci_contains_the_mean_and_is_ordered():
    rng = np.random.default_rng(5)
    for n in (2, 3, 10, 30):
        x = rng.exponential(50.0, size=n)
        low, high = bootstrap_ci(x, seed=0)
        assert low <= x.mean() <= high
        assert low < high
        assert x.min() <= low and high <= x.max()


def test_bootstrap_ci_width_matches_normal_theory():
    # For n = 400 draws of N(0, 1) the 95% CI of the mean is about +-1.96 / sqrt(400) = +-0.098.
    x = np.random.default_rng(11).normal(size=400)
    low, high = bootstrap_ci(x, seed=0)
    assert high - low == pytest.approx(2 * 1.96 / np.sqrt(400), rel=0.1)
    # higher confidence, wider interval
    low99, high99 = bootstrap_ci(x, confidence=0.99, seed=0)
    assert low99 < low and high99 > high


def test_bootstrap_ci_of_the_iqm_and_custom_statistic():
    x = np.concatenate([np.zeros(20), np.full(2, 1e6)])  # two huge outliers
    low, high = bootstrap_ci(x, "iqm", seed=0)
    assert (low, high) == (0.0, 0.0)
    _, high_m = bootstrap_ci(x, lambda rows: rows.max(axis=1), resamples=500, seed=0)
    assert high_m == 1e6


def test_bootstrap_ci_edge_cases():
    assert bootstrap_ci([7.5]) == (7.5, 7.5)
    assert bootstrap_ci([2.0, 2.0, 2.0]) == (2.0, 2.0)
    with pytest.raises(ValueError):
        bootstrap_ci([])
    with pytest.raises(ValueError):
        bootstrap_ci([1.0, float("nan")])
    with pytest.raises(ValueError):
        bootstrap_ci([1.0, 2.0], confidence=1.0)
    with pytest.raises(ValueError):
        bootstrap_ci([1.0, 2.0], "median")
    with pytest.raises(ValueError):
        iqm([])


def test_bootstrap_ci_chunking_does_not_change_the_result():
    # n large enough that the resamples are drawn in several chunks: same as drawing them at once
    x = np.random.default_rng(2).normal(size=5000)
    low, high = bootstrap_ci(x, resamples=1000, seed=4)
    rng = np.random.default_rng(4)
    stats = np.concatenate(
        [x[rng.integers(0, x.size, size=(400, x.size))].mean(1) for _ in range(2)]
        + [x[rng.integers(0, x.size, size=(200, x.size))].mean(1)]
    )
    assert (low, high) == tuple(np.quantile(stats, [0.025, 0.975]))


def test_summarize():
    s = summarize([1.0, 2.0, 3.0, 4.0], resamples=2000, seed=0)
    assert s["n"] == 4 and s["mean"] == 2.5 and s["iqm"] == 2.5 and s["median"] == 2.5
    assert s["min"] == 1.0 and s["max"] == 4.0
    assert s["ci_low"] <= 2.5 <= s["ci_high"]
    single = summarize([5.0])
    assert single["ci_low"] == single["ci_high"] == single["mean"] == single["iqm"] == 5.0
