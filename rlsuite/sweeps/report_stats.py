"""The numbers of a sweep report: per env × label statistics, aggregates over envs, profiles, curves.

All intervals are percentile bootstraps from ``rlsuite.core.stats`` seeded with the report's seed, so a
report is reproducible. Aggregates pool the normalised scores of the envs that have a reference and
resample seeds within each env (stratified bootstrap).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from rlsuite.core.stats import (
    STATISTICS,
    bootstrap_ci,
    bootstrap_ci_curve,
    iqm,
    performance_profile,
    performance_profile_ci,
    stratified_bootstrap_ci,
    summarize,
)
from rlsuite.sweeps.references import Reference
from rlsuite.sweeps.report_data import RunRecord, read_curve

# Below this many seeds, figures draw each seed's curve instead of a bootstrap band: resampling 2-4
# values gives a band close to their min-max envelope, which looks more certain than it is.
MIN_SEEDS_FOR_BAND = 5


@dataclass(frozen=True)
class Settings:
    """How the intervals are computed."""

    confidence: float = 0.95
    resamples: int = 10_000
    seed: int = 0
    curve_statistic: str = "mean"
    curve_points: int = 100


@dataclass
class GroupStats:
    """Final returns of one label on one env, over its seeds (``std`` is the population std, ddof=0)."""

    env: str
    label: str
    n_done: int
    n_failed: int
    n_incomplete: int
    seeds: list[int | None]
    scores: list[float]
    mean: float | None = None
    std: float | None = None
    median: float | None = None
    iqm: float | None = None
    min: float | None = None
    max: float | None = None
    mean_ci: list[float] | None = None
    iqm_ci: list[float] | None = None
    normalized_scores: list[float] | None = None
    normalized_mean: float | None = None
    normalized_iqm: float | None = None
    sps_mean: float | None = None
    wall_s_mean: float | None = None
    total_steps_mean: float | None = None


@dataclass
class AggregateStats:
    """Normalised scores of one label pooled over the envs with a reference."""

    label: str
    envs: list[str]
    n_runs: int
    mean: float
    mean_ci: list[float]
    iqm: float
    iqm_ci: list[float]


@dataclass
class ProfileCurve:
    label: str
    fraction: list[float]
    low: list[float]
    high: list[float]


@dataclass
class Profile:
    """Fraction of runs with a normalised score above each tau, with stratified-bootstrap bands."""

    taus: list[float]
    curves: list[ProfileCurve]


@dataclass
class Curve:
    """A label's learning curve on one env: ``statistic`` over seeds at each step, with its band."""

    env: str
    label: str
    source: str  # the metrics column used, or "mixed"
    statistic: str
    n_runs: int
    steps: list[float]
    center: list[float]
    low: list[float]
    high: list[float]
    seed_values: list[list[float]] = field(default_factory=list)  # each seed's curve on ``steps``

    @property
    def band_is_meaningful(self) -> bool:
        """A bootstrap band over fewer than :data:`MIN_SEEDS_FOR_BAND` seeds is close to their envelope."""
        return self.n_runs >= MIN_SEEDS_FOR_BAND


def _mean_of(runs: Sequence[RunRecord], key: str) -> float | None:
    values = [v for v in (run.number(key) for run in runs) if v is not None]
    return float(np.mean(values)) if values else None


def group_stats(
    env: str, label: str, runs: Sequence[RunRecord], reference: Reference | None, settings: Settings
) -> GroupStats:
    """Statistics of the final scores of ``runs`` (all of one env and label)."""
    done = [run for run in runs if run.status == "done"]
    scored = [run for run in done if run.score is not None]
    group = GroupStats(
        env=env,
        label=label,
        n_done=len(done),
        n_failed=sum(run.status == "failed" for run in runs),
        n_incomplete=sum(run.status == "incomplete" for run in runs),
        seeds=[run.seed for run in scored],
        scores=[float(run.score) for run in scored if run.score is not None],
        sps_mean=_mean_of(done, "sps"),
        wall_s_mean=_mean_of(done, "wall_s"),
        total_steps_mean=_mean_of(done, "total_steps"),
    )
    if not group.scores:
        return group
    kwargs = {"confidence": settings.confidence, "resamples": settings.resamples, "seed": settings.seed}
    summary = summarize(group.scores, **kwargs)
    for key in ("mean", "std", "median", "iqm", "min", "max"):
        setattr(group, key, summary[key])
    group.mean_ci = [summary["ci_low"], summary["ci_high"]]
    group.iqm_ci = list(bootstrap_ci(group.scores, "iqm", **kwargs))
    if reference is not None:
        normalized = reference.normalise(np.array(group.scores))
        group.normalized_scores = [float(v) for v in normalized]
        group.normalized_mean = float(normalized.mean())
        group.normalized_iqm = iqm(normalized)
    return group


def _normalized_by_label(groups: Sequence[GroupStats]) -> dict[str, dict[str, list[float]]]:
    """label -> env -> normalised scores, for the groups that have any."""
    table: dict[str, dict[str, list[float]]] = {}
    for group in groups:
        if group.normalized_scores:
            table.setdefault(group.label, {})[group.env] = group.normalized_scores
    return table


def aggregate_stats(groups: Sequence[GroupStats], settings: Settings) -> list[AggregateStats]:
    """Per label: mean and IQM of the normalised scores pooled over envs, stratified-bootstrap CIs."""
    kwargs = {"confidence": settings.confidence, "resamples": settings.resamples, "seed": settings.seed}
    out = []
    for label, by_env in _normalized_by_label(groups).items():
        strata = [np.array(scores) for scores in by_env.values()]
        pooled = np.concatenate(strata)
        out.append(
            AggregateStats(
                label=label,
                envs=list(by_env),
                n_runs=int(pooled.size),
                mean=float(pooled.mean()),
                mean_ci=list(stratified_bootstrap_ci(strata, "mean", **kwargs)),
                iqm=iqm(pooled),
                iqm_ci=list(stratified_bootstrap_ci(strata, "iqm", **kwargs)),
            )
        )
    return out


def profile_taus(groups: Sequence[GroupStats], points: int = 101) -> np.ndarray:
    """Thresholds from min(0, lowest score) to max(100, highest score)."""
    scores = [s for group in groups for s in group.normalized_scores or []]
    low, high = min([0.0, *scores]), max([100.0, *scores])
    return np.linspace(low, high, points)


def profile_stats(groups: Sequence[GroupStats], settings: Settings) -> Profile | None:
    """Performance profiles of every label over the envs with a reference; None when there are none."""
    by_label = _normalized_by_label(groups)
    if not by_label:
        return None
    taus = profile_taus(groups)
    curves = []
    for label, by_env in by_label.items():
        strata = [np.array(scores) for scores in by_env.values()]
        low, high = performance_profile_ci(
            strata, taus, confidence=settings.confidence, resamples=settings.resamples, seed=settings.seed
        )
        fraction = performance_profile(strata, taus)
        curves.append(ProfileCurve(label, fraction.tolist(), low.tolist(), high.tolist()))
    return Profile(taus.tolist(), curves)


def curve_stats(env: str, label: str, runs: Sequence[RunRecord], settings: Settings) -> Curve | None:
    """The learning curve of the done runs, interpolated onto a common step grid; None without data.

    The grid spans from the latest first step to the earliest last step of the runs (no extrapolation).
    """
    found = [curve for run in runs if run.status == "done" and (curve := read_curve(run.dir)) is not None]
    if not found:
        return None
    start = max(float(steps[0]) for _, steps, _ in found)
    stop = min(float(steps[-1]) for _, steps, _ in found)
    if stop <= start:
        return None
    grid = np.linspace(start, stop, settings.curve_points)
    matrix = np.stack([np.interp(grid, steps, values) for _, steps, values in found])
    center = STATISTICS[settings.curve_statistic](matrix.T)
    low, high = bootstrap_ci_curve(
        matrix,
        settings.curve_statistic,
        confidence=settings.confidence,
        resamples=settings.resamples,
        seed=settings.seed,
    )
    sources = {column for column, _, _ in found}
    source = sources.pop() if len(sources) == 1 else "mixed"
    return Curve(
        env=env,
        label=label,
        source=source,
        statistic=settings.curve_statistic,
        n_runs=len(found),
        steps=grid.tolist(),
        center=center.tolist(),
        low=low.tolist(),
        high=high.tolist(),
        seed_values=matrix.tolist(),
    )
