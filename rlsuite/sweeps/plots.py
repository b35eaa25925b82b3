"""PNG figures of a sweep report: learning curves, performance profiles, aggregate IQMs.

Drawn with matplotlib's object-oriented API on the Agg canvas (no pyplot, no global backend change) and
written atomically, so an interrupted report never leaves a truncated image.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rlsuite.core.atomic import atomic_path
from rlsuite.sweeps.report_stats import MIN_SEEDS_FOR_BAND, AggregateStats, Curve, Profile

DPI = 110
_PALETTE = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
]


def label_colors(labels: Sequence[str]) -> dict[str, str]:
    """One colour per label, the same in every figure."""
    return {label: _PALETTE[index % len(_PALETTE)] for index, label in enumerate(labels)}


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _save(figure, path: Path) -> Path:
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=DPI)
    return path


def plot_curves(env: str, curves: Sequence[Curve], colors: dict[str, str], path: Path) -> Path:
    """Return against env steps for each label on ``env``: the curve statistic and its CI band, or each
    seed's curve where there are fewer than ``MIN_SEEDS_FOR_BAND`` seeds (a band would mislead)."""
    figure = _figure(6.4, 4.0)
    axes = figure.add_subplot()
    for curve in curves:
        color = colors.get(curve.label)
        if curve.band_is_meaningful:
            name = f"{curve.label} (n={curve.n_runs})"
            axes.fill_between(curve.steps, curve.low, curve.high, color=color, alpha=0.2, linewidth=0)
        else:  # too few seeds for a band: show every seed
            name = f"{curve.label} (n={curve.n_runs}; thin: each seed)"
            for values in curve.seed_values:
                axes.plot(curve.steps, values, color=color, linewidth=0.8, alpha=0.45)
        axes.plot(curve.steps, curve.center, color=color, label=name, linewidth=1.8)
    statistic = curves[0].statistic.upper() if curves[0].statistic == "iqm" else curves[0].statistic
    bands = {curve.band_is_meaningful for curve in curves}
    what = {
        frozenset({True}): "bootstrap CI band",
        frozenset({False}): f"each seed drawn (n < {MIN_SEEDS_FOR_BAND}: no CI band)",
    }.get(frozenset(bands), f"CI band for n ≥ {MIN_SEEDS_FOR_BAND}, seeds drawn below")
    axes.set_title(f"{env}: {statistic} return over seeds; {what}", fontsize="medium")
    axes.set_xlabel("environment steps")
    axes.set_ylabel("return")
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    return _save(figure, path)


def plot_profile(profile: Profile, colors: dict[str, str], path: Path) -> Path:
    """Fraction of runs above each normalised-score threshold, per label, with CI bands."""
    figure = _figure(6.4, 4.0)
    axes = figure.add_subplot()
    for curve in profile.curves:
        color = colors.get(curve.label)
        axes.plot(profile.taus, curve.fraction, color=color, label=curve.label, linewidth=1.6)
        axes.fill_between(profile.taus, curve.low, curve.high, color=color, alpha=0.2, linewidth=0)
    axes.set_title("Performance profile (normalised scores, stratified bootstrap CI)")
    axes.set_xlabel("normalised score τ (0 = random, 100 = reference)")
    axes.set_ylabel("fraction of runs with score > τ")
    axes.set_ylim(-0.02, 1.02)
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    return _save(figure, path)


def plot_aggregate(aggregates: Sequence[AggregateStats], colors: dict[str, str], path: Path) -> Path:
    """Normalised IQM per label as a point with its stratified-bootstrap CI."""
    figure = _figure(6.4, 0.9 + 0.45 * len(aggregates))
    axes = figure.add_subplot()
    for row, agg in enumerate(aggregates):
        low, high = agg.iqm_ci
        axes.errorbar(
            [agg.iqm],
            [row],
            xerr=[[agg.iqm - low], [high - agg.iqm]],
            fmt="o",
            color=colors.get(agg.label),
            capsize=4,
            linewidth=2,
        )
    axes.set_yticks(range(len(aggregates)), [agg.label for agg in aggregates])
    axes.set_ylim(len(aggregates) - 0.5, -0.5)  # first label on top
    axes.set_xlabel("normalised IQM (0 = random, 100 = reference)")
    axes.set_title("IQM over all referenced envs, stratified bootstrap CI")
    axes.grid(alpha=0.3, axis="x")
    return _save(figure, path)
