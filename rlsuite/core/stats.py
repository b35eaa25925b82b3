"""Small statistics for reporting RL results: interquartile mean and percentile-bootstrap intervals.

Following Agarwal et al. (2021, "Deep RL at the Edge of the Statistical Precipice", the ``rliable``
library): the interquartile mean (IQM) is the mean of the middle 50% of the values, a robust
alternative to the mean with far less variance than the median, and uncertainty is reported as a
percentile-bootstrap confidence interval rather than a standard deviation over a handful of seeds.

The IQM here is ``scipy.stats.trim_mean(values, 0.25)`` (rliable's definition): ``floor(n / 4)``
values are dropped from each end of the sorted values and the rest averaged. Below 4 values nothing is
dropped, so the IQM of 1-3 values is their mean.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    if isinstance(statistic, str):
        if statistic not in STATISTICS:
            raise ValueError(f"statistic={statistic!r}; accepted: {', '.join(STATISTICS)} or a function")
        statistic = STATISTICS[statistic]
    rng = np.random.default_rng(seed)
    n = data.size
    chunk = max(1, 2_000_000 // n)  # bound the [chunk, n] index array to about 16 MB
    stats = np.empty(resamples)
    for start in range(0, resamples, chunk):
        stop = min(start + chunk, resamples)
        index = rng.integers(0, n, size=(stop - start, n))
        stats[start:stop] = statistic(data[index])
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(stats, [alpha, 1.0 - alpha])
    return float(low), float(high)


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
