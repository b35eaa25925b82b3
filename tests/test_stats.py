"""IQM, percentile-bootstrap and stratified-bootstrap intervals, performance profiles (rlsuite.core.stats)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from rlsuite.core.stats import (
    bootstrap_ci,
    bootstrap_ci_curve,
    iqm,
    performance_profile,
    performance_profile_ci,
    stratified_bootstrap_ci,
    summarize,
    wilson_interval,
)


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


# --- exact bootstrap distributions -----------------------------------------------------------------


def exact_quantile(outcomes: list[float], level: float, margin: float = 0.02) -> float:
    """Inverse CDF at ``level`` of equally likely ``outcomes``: the smallest x with P(X <= x) >= level.

    Also checks that no CDF step lies within ``margin`` of ``level``, so that a Monte-Carlo estimate
    with thousands of resamples lands on the same atom (otherwise the test would be flaky, not wrong).
    """
    atoms, counts = np.unique(np.round(outcomes, 9), return_counts=True)
    cdf = np.cumsum(counts) / len(outcomes)
    assert np.min(np.abs(cdf - level)) > margin, "pick a confidence whose quantiles sit between CDF steps"
    return float(atoms[np.searchsorted(cdf, level)])


def all_resamples(values: list[float]) -> np.ndarray:
    """Every one of the n**n equally likely bootstrap resamples of ``values``, as rows."""
    return np.array(list(itertools.product(values, repeat=len(values))))


def test_bootstrap_ci_of_the_mean_matches_the_exact_distribution_n3():
    values = [0.0, 1.0, 4.0]  # the 10 distinct resample means are all different
    means = all_resamples(values).mean(axis=1)
    assert means.size == 27
    for confidence in (0.6, 0.8):
        alpha = (1 - confidence) / 2
        expected = (exact_quantile(means, alpha), exact_quantile(means, 1 - alpha))
        assert bootstrap_ci(values, confidence=confidence, seed=3) == pytest.approx(expected, abs=1e-9)
    assert (exact_quantile(means, 0.2), exact_quantile(means, 0.8)) == pytest.approx((2 / 3, 8 / 3))
    # at 95% the 2.5% quantile is the single all-zeros resample (1/27 > 2.5%), likewise the top
    assert bootstrap_ci(values, confidence=0.95, seed=3) == (0.0, 4.0)


def test_bootstrap_ci_of_the_iqm_matches_the_exact_distribution_n4():
    values = [0.0, 1.0, 3.0, 10.0]
    stats = np.sort(all_resamples(values), axis=1)[:, 1:3].mean(axis=1)  # IQM of 4 = mean of middle 2
    assert stats.size == 256
    confidence = 0.8
    expected = (exact_quantile(stats, 0.1), exact_quantile(stats, 0.9))
    assert expected == (0.5, 6.5)
    assert bootstrap_ci(values, "iqm", confidence=confidence, seed=1) == pytest.approx(expected, abs=1e-9)


# --- stratified bootstrap ---------------------------------------------------------------------------


def test_stratified_bootstrap_matches_the_16_exact_combinations():
    strata = [[0.0, 10.0], [100.0, 130.0]]
    pooled_means = [
        (a1 + a2 + b1 + b2) / 4
        for a1, a2 in itertools.product(strata[0], repeat=2)
        for b1, b2 in itertools.product(strata[1], repeat=2)
    ]
    assert len(pooled_means) == 16
    expected = (exact_quantile(pooled_means, 0.1), exact_quantile(pooled_means, 0.9))
    assert expected == (52.5, 67.5)
    got = stratified_bootstrap_ci(strata, "mean", confidence=0.8, seed=0)
    assert got == pytest.approx(expected, abs=1e-9)
    # resampling the pooled values ignoring the strata gives a much wider interval
    plain = bootstrap_ci(np.concatenate(strata), "mean", confidence=0.8, seed=0)
    assert plain[0] < 40 and plain[1] > 80


def test_stratified_bootstrap_only_resamples_within_strata():
    # every stratum constant: each resample is the same pool, so the interval is degenerate
    assert stratified_bootstrap_ci([[1.0, 1.0], [5.0, 5.0, 5.0]], "mean", seed=0) == (3.4, 3.4)
    assert stratified_bootstrap_ci([[1.0, 1.0], [5.0, 5.0]], "iqm", seed=0) == (3.0, 3.0)
    # one stratum of one value is never dropped from a resample
    low, _ = stratified_bootstrap_ci([[1000.0], [0.0, 1.0, 2.0]], "mean", resamples=2000, seed=0)
    assert low >= 250.0


def test_stratified_bootstrap_one_stratum_is_the_plain_bootstrap():
    x = np.random.default_rng(7).normal(size=12)
    assert stratified_bootstrap_ci([x], "iqm", seed=5) == bootstrap_ci(x, "iqm", seed=5)


def test_stratified_bootstrap_validation():
    with pytest.raises(ValueError):
        stratified_bootstrap_ci([])
    with pytest.raises(ValueError):
        stratified_bootstrap_ci([[1.0], []])
    with pytest.raises(ValueError):
        stratified_bootstrap_ci([[1.0, np.inf]])
    with pytest.raises(ValueError):
        stratified_bootstrap_ci([[1.0, 2.0]], confidence=0.0)


# --- curves and performance profiles ----------------------------------------------------------------


def test_bootstrap_ci_curve_equals_pointwise_bootstrap_ci():
    rng = np.random.default_rng(0)
    curves = rng.normal(size=(5, 3))
    low, high = bootstrap_ci_curve(curves, "iqm", resamples=3000, seed=9)
    for point in range(3):
        expected = bootstrap_ci(curves[:, point], "iqm", resamples=3000, seed=9)
        assert (low[point], high[point]) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    # many points: the resamples are gathered in slices, still the same resample matrix
    wide = rng.normal(size=(50, 1000))
    low, high = bootstrap_ci_curve(wide, resamples=1000, seed=2)
    for point in (0, 517, 999):
        expected = bootstrap_ci(wide[:, point], resamples=1000, seed=2)  # equal up to summation order
        assert (low[point], high[point]) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    with pytest.raises(ValueError):
        bootstrap_ci_curve([1.0, 2.0])


def test_performance_profile_values():
    groups = [[0.0, 50.0], [100.0, 20.0, 80.0]]
    taus = [-1.0, 0.0, 20.0, 50.0, 79.0, 100.0]
    # pooled scores 0, 50, 100, 20, 80; strictly above each tau
    assert performance_profile(groups, taus) == pytest.approx([1.0, 0.8, 0.6, 0.4, 0.4, 0.0])
    low, high = performance_profile_ci([[3.0, 3.0], [7.0]], [0.0, 5.0, 10.0], seed=0)
    assert low.tolist() == high.tolist() == [1.0, 1 / 3, 0.0]


def test_performance_profile_ci_matches_exact_combinations():
    strata = [[0.0, 10.0], [100.0, 130.0]]
    tau = 5.0  # fraction above 5 depends only on how many 10s the first stratum's resample holds
    outcomes = [
        float(np.mean(np.array([*a, *b]) > tau))
        for a in itertools.product(strata[0], repeat=2)
        for b in itertools.product(strata[1], repeat=2)
    ]
    expected = (exact_quantile(outcomes, 0.15), exact_quantile(outcomes, 0.85))
    low, high = performance_profile_ci(strata, [tau], confidence=0.7, seed=4)
    assert (low[0], high[0]) == pytest.approx(expected)
    assert expected == (0.5, 1.0)


def test_wilson_interval_matches_the_closed_form_and_stays_in_range() -> None:
    # 8 of 10: the Wilson 95% interval is [0.4902, 0.9433] (textbook value, z = 1.96)
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)
    assert wilson_interval(0, 32)[0] == 0.0 and wilson_interval(0, 32)[1] > 0.05  # not degenerate at 0
    assert wilson_interval(32, 32)[1] == 1.0 and wilson_interval(32, 32)[0] < 0.95
    for bad in ((3, 0), (-1, 4), (5, 4)):
        with pytest.raises(ValueError, match="successes"):
            wilson_interval(*bad)
