"""``rlsuite report SWEEP_DIR``: statistics of a multi-seed sweep as Markdown, HTML, JSON and PNG figures.

``build_report`` computes the numbers (per env × label statistics over seeds, normalised aggregates
over envs with stratified-bootstrap intervals, performance profiles, learning curves); ``write_report``
also draws the figures and writes ``report.md``, a self-contained ``report.html`` and ``report.json``
into ``<sweep_dir>/report/`` (or ``out_dir``), every file atomically.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from rlsuite.core.atomic import atomic_write_text
from rlsuite.core.progress import task
from rlsuite.core.stats import STATISTICS
from rlsuite.sweeps.references import resolve_references
from rlsuite.sweeps.report_data import ReportError, load_sweep
from rlsuite.sweeps.report_document import build_document
from rlsuite.sweeps.report_model import Report
from rlsuite.sweeps.report_render import to_html, to_markdown
from rlsuite.sweeps.report_stats import (
    Settings,
    aggregate_stats,
    curve_stats,
    group_stats,
    profile_stats,
)

__all__ = ["Report", "ReportError", "ReportFiles", "build_report", "write_report"]


@dataclass
class ReportFiles:
    """Where ``write_report`` put the report."""

    markdown: Path
    html: Path
    json: Path
    figures: list[Path] = field(default_factory=list)


def _settings(confidence: float, resamples: int, seed: int, curve_statistic: str) -> Settings:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    if curve_statistic not in STATISTICS:
        raise ValueError(f"curve_statistic={curve_statistic!r}; accepted: {', '.join(STATISTICS)}")
    return Settings(confidence, resamples, seed, curve_statistic)


def _ordered(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def build_report(
    sweep_dir: str | Path,
    *,
    confidence: float = 0.95,
    resamples: int = 10_000,
    seed: int = 0,
    references: dict | None = None,
    curve_statistic: str = "mean",
) -> Report:
    """The report's numbers for ``sweep_dir``, without writing anything.

    ``references`` (``{env_id: {"random": r, "reference": s}}``) overrides the sweep.json references,
    which override the built-in table. ``curve_statistic`` ("mean" or "iqm") is what the learning
    curves show over seeds.
    """
    settings = _settings(confidence, resamples, seed, curve_statistic)
    sweep = load_sweep(sweep_dir)
    manifest = str(sweep.manifest) + " references" if sweep.manifest else "sweep.json references"
    table = resolve_references(sweep.references, references, where=(manifest, "references argument"))
    envs = _ordered([run.env for run in sweep.runs])
    labels = _ordered([run.label for run in sweep.runs])
    groups, curves = [], []
    with task("report: bootstrap statistics", len(envs) * len(labels)) as bar:
        for env in envs:
            for label in labels:
                bar.advance(1)
                runs = [run for run in sweep.runs if run.env == env and run.label == label]
                if not runs:
                    continue
                groups.append(group_stats(env, label, runs, table.get(env), settings))
                curve = curve_stats(env, label, runs, settings)
                if curve is not None:
                    curves.append(curve)
    return Report(
        name=sweep.name,
        sweep_dir=sweep.root,
        settings=settings,
        runs=sweep.runs,
        envs=envs,
        labels=labels,
        references={env: table[env] for env in envs if env in table},
        groups=groups,
        aggregates=aggregate_stats(groups, settings),
        profile=profile_stats(groups, settings),
        curves=curves,
    )


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "env"


def _draw_figures(report: Report, out_dir: Path) -> list[Path]:
    """Draw every figure under ``out_dir/figures`` and record their relative paths in ``report.figures``."""
    from rlsuite.sweeps.plots import label_colors, plot_aggregate, plot_curves, plot_profile

    colors = label_colors(report.labels)
    written: list[Path] = []
    curves_by_env: dict[str, str] = {}
    for index, env in enumerate(report.envs):
        curves = [curve for curve in report.curves if curve.env == env]
        if curves:
            name = f"figures/curves_{index:02d}_{_slug(env)}.png"
            written.append(plot_curves(env, curves, colors, out_dir / name))
            curves_by_env[env] = name
    report.figures = {"curves": curves_by_env}
    if report.profile is not None:
        written.append(plot_profile(report.profile, colors, out_dir / "figures/profile.png"))
        report.figures["profile"] = "figures/profile.png"
    if report.aggregates:
        written.append(plot_aggregate(report.aggregates, colors, out_dir / "figures/aggregate.png"))
        report.figures["aggregate"] = "figures/aggregate.png"
    return written


def write_report(
    sweep_dir: str | Path,
    out_dir: str | Path | None = None,
    *,
    confidence: float = 0.95,
    resamples: int = 10_000,
    seed: int = 0,
    references: dict | None = None,
    curve_statistic: str = "mean",
) -> ReportFiles:
    """Compute the report of ``sweep_dir`` and write it to ``out_dir`` (default ``<sweep_dir>/report``).

    Writes ``figures/*.png``, then ``report.json``, ``report.md`` and ``report.html``, each atomically.
    Figures need matplotlib; without it the report is written without them and says so.
    """
    report = build_report(
        sweep_dir,
        confidence=confidence,
        resamples=resamples,
        seed=seed,
        references=references,
        curve_statistic=curve_statistic,
    )
    out = Path(out_dir) if out_dir is not None else report.sweep_dir / "report"
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        figures: list[Path] = []
        report.figures = {"curves": {}, "note": "matplotlib is not installed: no figures"}
    else:
        with task("report: figures", None):
            figures = _draw_figures(report, out)
    files = ReportFiles(out / "report.md", out / "report.html", out / "report.json", figures)
    atomic_write_text(files.json, json.dumps(report.to_dict(), indent=1, allow_nan=False) + "\n")
    blocks = build_document(report)
    atomic_write_text(files.markdown, to_markdown(blocks))
    atomic_write_text(files.html, to_html(blocks, f"Sweep report: {report.name}", out))
    return files
