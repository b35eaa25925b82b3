"""Small statistics for reporting RL results: interquartile mean and percentile-bootstrap intervals.

Following Agarwal et al. (2021, "Deep RL at the Edge of the Statistical Precipice", the ``rliable``
library): the interquartile mean (IQM) is the mean of the middle 50% of the values, a robust
alternative to the mean with far less variance than the median, and uncertainty is reported as a
percentile-bootstrap confidence interval rather than a standard deviation over a handful of seeds.

The IQM here is ``scipy.stats.trim_mean(values, 0.25)`` (rliable's definition): ``floor(n / 4)``
values are dropped from each end of the sorted values and the rest averaged. Below 4 values nothing is
dropped, so the IQM of 1-3 values is their mean.

Beyond the single-sample interval, ``bootstrap_ci_curve`` gives pointwise intervals of a learning curve
(one resample matrix shared by all grid points), ``stratified_bootstrap_ci`` the interval of an
aggregate over several tasks (seeds are resampled within each task, never across), and
``performance_profile`` / ``performance_profile_ci`` the score distribution of Agarwal et al. with
its stratified-bootstrap band.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

Statistic = Callable[[np.ndarray], np.ndarray]  # [resamples, n] -> [resamples]


def _as_values(values: Sequence[float] | np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if array.size == 0:
        raise ValueError("need at least one value")
    if not np.isfinite(array).all():
        raise ValueError("values must be finite (got NaN or inf)")
    return array


def _trimmed_mean_rows(rows: np.ndarray, proportion: float) -> np.ndarray:
    """Per-row mean after dropping ``floor(proportion * n)`` values from each end."""
    n = rows.shape[-1]
    cut = int(proportion * n)
    if cut == 0:
        return rows.mean(axis=-1)
    return np.sort(rows, axis=-1)[..., cut : n - cut].mean(axis=-1)


def iqm(values: Sequence[float] | np.ndarray) -> float:
    """Interquartile mean: the mean of the values left after trimming 25% from each end."""
    return float(_trimmed_mean_rows(_as_values(values), 0.25))


def _mean_rows(rows: np.ndarray) -> np.ndarray:
    return rows.mean(axis=-1)


def _iqm_rows(rows: np.ndarray) -> np.ndarray:
    return _trimmed_mean_rows(rows, 0.25)


STATISTICS: dict[str, Statistic] = {"mean": _mean_rows, "iqm": _iqm_rows}


def _resolve(statistic: str | Statistic) -> Statistic:
    if isinstance(statistic, str):
        if statistic not in STATISTICS:
            raise ValueError(f"statistic={statistic!r}; accepted: {', '.join(STATISTICS)} or a function")
        return STATISTICS[statistic]
    return statistic


def _check(confidence: float, resamples: int) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")


_BUDGET = 2_000_000  # elements per gathered block: about 16 MB of float64


def _index_blocks(rng: np.random.Generator, sizes: Sequence[int], resamples: int) -> Iterator[np.ndarray]:
    """Blocks of ``[rows, sum(sizes)]`` indices into the concatenated strata.

    Each stratum's columns only hold indices of that stratum (drawn uniformly with replacement), so a
    resample keeps every stratum's size. With one stratum this is a plain bootstrap.
    """
    total = int(sum(sizes))
    offsets = np.cumsum([0, *sizes[:-1]])
    chunk = max(1, _BUDGET // total)
    for start in range(0, resamples, chunk):
        rows = min(chunk, resamples - start)
        parts = [offset + rng.integers(0, n, size=(rows, n)) for offset, n in zip(offsets, sizes)]
        yield parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)


def _bootstrap_distribution(
    data: np.ndarray, sizes: Sequence[int], statistic: Statistic, resamples: int, seed: int, width: int = 1
) -> np.ndarray:
    """``[resamples, ...]``: ``statistic(data[index])`` for each resample of ``data``'s first axis.

    ``width`` is how many outputs the statistic gives per resample (it bounds the memory of a block).
    """
    rng = np.random.default_rng(seed)
    per_row = data.shape[0] * max(1, data[0].size) * max(1, width)
    step = max(1, _BUDGET // per_row)
    out = []
    for index in _index_blocks(rng, sizes, resamples):
        for start in range(0, len(index), step):
            out.append(np.asarray(statistic(data[index[start : start + step]])))
    return np.concatenate(out, axis=0)


def _interval(stats: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(stats, [alpha, 1.0 - alpha], axis=0)
    return low, high


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    statistic: str | Statistic = "mean",
    *,
    confidence: float = 0.95,
    resamples: int = 10_000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of ``statistic`` over ``values``.

    Draws ``resamples`` samples of ``len(values)`` values with replacement (NumPy's PCG64 seeded with
    ``seed``, so the interval is reproducible), applies the statistic to each and returns the
    ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles (linear interpolation). ``statistic``
    is "mean", "iqm" or a function mapping an array ``[resamples, n]`` to ``[resamples]``. A single value
    gives the degenerate interval ``(v, v)``.
    """
    data = _as_values(values)
    _check(confidence, resamples)
    stats = _bootstrap_distribution(data, [data.size], _resolve(statistic), resamples, seed)
    low, high = _interval(stats, confidence)
    return float(low), float(high)


def _as_curves(curves: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    array = np.asarray(curves, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"curves must be a non-empty [runs, points] array, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError("curves must be finite (got NaN or inf)")
    return array


def bootstrap_ci_curve(
    curves: Sequence[Sequence[float]] | np.ndarray,
    statistic: str | Statistic = "mean",
    *,
    confidence: float = 0.95,
    resamples: int = 10_000,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise percentile-bootstrap band of ``statistic`` over the runs of ``curves`` ``[runs, points]``.

    Runs (rows) are resampled with replacement, the same resample for every point, so each point's
    interval equals ``bootstrap_ci(curves[:, point], ...)`` with the same seed. A custom ``statistic``
    must reduce the last axis (``[..., n] -> [...]``). Returns ``(low, high)``, arrays of ``points``.
    """
    data = _as_curves(curves)
    _check(confidence, resamples)
    reduce = _resolve(statistic)

    def per_point(gathered: np.ndarray) -> np.ndarray:  # [rows, runs, points] -> [rows, points]
        return reduce(np.moveaxis(gathered, 1, -1))

    stats = _bootstrap_distribution(data, [data.shape[0]], per_point, resamples, seed)
    return _interval(stats, confidence)


def _as_groups(groups: Sequence[Sequence[float] | np.ndarray]) -> list[np.ndarray]:
    if len(groups) == 0:
        raise ValueError("need at least one group")
    return [_as_values(group) for group in groups]


def stratified_bootstrap_ci(
    groups: Sequence[Sequence[float] | np.ndarray],
    statistic: str | Statistic = "iqm",
    *,
    confidence: float = 0.95,
    resamples: int = 10_000,
    seed: int = 0,
) -> tuple[float, float]:
    """Stratified percentile-bootstrap interval of ``statistic`` over the pooled ``groups``.

    Each group (for example the seeds of one task) is resampled with replacement within itself, the
    resampled groups are pooled and the statistic applied to the pool (rliable's aggregate intervals).
    Groups are never mixed: a resample keeps every group's size, and a group of identical values always
    contributes those values. ``statistic`` is as in ``bootstrap_ci``.
    """
    arrays = _as_groups(groups)
    _check(confidence, resamples)
    pooled = np.concatenate(arrays)
    stats = _bootstrap_distribution(pooled, [a.size for a in arrays], _resolve(statistic), resamples, seed)
    low, high = _interval(stats, confidence)
    return float(low), float(high)


def _fraction_above(rows: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """``[..., n]`` scores -> ``[..., taus]``: the fraction of the n scores strictly above each tau."""
    return (rows[..., :, None] > taus).mean(axis=-2)


def performance_profile(
    groups: Sequence[Sequence[float] | np.ndarray], taus: Sequence[float] | np.ndarray
) -> np.ndarray:
    """Fraction of all runs (pooled over the groups) whose score is strictly above each ``tau``."""
    pooled = np.concatenate(_as_groups(groups))
    return _fraction_above(pooled, np.asarray(taus, dtype=np.float64).reshape(-1))


def performance_profile_ci(
    groups: Sequence[Sequence[float] | np.ndarray],
    taus: Sequence[float] | np.ndarray,
    *,
    confidence: float = 0.95,
    resamples: int = 10_000,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified-bootstrap band ``(low, high)`` of ``performance_profile`` at each ``tau``."""
    arrays = _as_groups(groups)
    _check(confidence, resamples)
    grid = np.asarray(taus, dtype=np.float64).reshape(-1)
    pooled = np.concatenate(arrays)
    stats = _bootstrap_distribution(
        pooled, [a.size for a in arrays], lambda rows: _fraction_above(rows, grid), resamples, seed, grid.size
    )
    return _interval(stats, confidence)


def summarize(
    values: Sequence[float] | np.ndarray,
    *,
    confidence: float = 0.95,
    resamples: int = 10_000,
    seed: int = 0,
) -> dict[str, Any]:
    """Count, mean, std, median, IQM, min, max and the bootstrap CI of the mean, as plain floats."""
    data = _as_values(values)
    low, high = bootstrap_ci(data, "mean", confidence=confidence, resamples=resamples, seed=seed)
    return {
        "n": int(data.size),
        "mean": float(data.mean()),
        "std": float(data.std()),
        "median": float(np.median(data)),
        "iqm": iqm(data),
        "min": float(data.min()),
        "max": float(data.max()),
        "ci_low": low,
        "ci_high": high,
        "confidence": confidence,
        "resamples": resamples,
        "seed": seed,
    }


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a success rate ``successes / n`` (``z = 1.96``: 95%), for win or
    goal rates over independent episodes; unlike the normal approximation it stays inside [0, 1] and is
    not degenerate at 0 or n successes (Wilson 1927, https://doi.org/10.1080/01621459.1927.10502953)."""
    if n < 1 or not 0 <= successes <= n:
        raise ValueError(f"wilson_interval: need 0 <= successes <= n and n >= 1, got {successes} of {n}")
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)
