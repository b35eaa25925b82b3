"""The content of a sweep report as document blocks (rendered to Markdown and HTML by report_render)."""

from __future__ import annotations

from rlsuite.sweeps.report_model import Report
from rlsuite.sweeps.report_render import Block, Bullets, Heading, Image, Paragraph, Table
from rlsuite.sweeps.report_stats import MIN_SEEDS_FOR_BAND, GroupStats

DASH = "—"


def fmt(value: float | None, digits: int = 2) -> str:
    """A number for a table: fixed ``digits`` decimals, small values in 3 significant digits."""
    if value is None:
        return DASH
    if value != 0 and abs(value) < 0.01:
        return f"{value:.3g}"
    return f"{value:.{digits}f}"


def fmt_ci(interval: list[float] | None, digits: int = 2) -> str:
    return DASH if interval is None else f"[{fmt(interval[0], digits)}, {fmt(interval[1], digits)}]"


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _pct(confidence: float) -> str:
    return f"{100 * confidence:g}%"


def _runs_cell(group: GroupStats) -> str:
    """``done / failed / incomplete``, with the done runs that have no score noted."""
    cell = f"{group.n_done} / {group.n_failed} / {group.n_incomplete}"
    unscored = group.n_done - len(group.scores)
    return cell + (f" ({unscored} without score)" if unscored else "")


def fmt_wall(seconds: float | None) -> str:
    """Wall time as ``42 s``, ``12.5 min`` or ``3.2 h``."""
    if seconds is None:
        return DASH
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _group_row(group: GroupStats) -> list[str]:
    mean_std = DASH if group.mean is None else f"{fmt(group.mean)} ± {fmt(group.std)}"
    iqm = DASH if group.iqm is None else f"{fmt(group.iqm)} {fmt_ci(group.iqm_ci)}"
    min_max = DASH if group.min is None else f"{fmt(group.min)} / {fmt(group.max)}"
    normalized = DASH
    if group.normalized_mean is not None:
        normalized = f"{fmt(group.normalized_mean, 1)} / {fmt(group.normalized_iqm, 1)}"
    sps = DASH if group.sps_mean is None else f"{group.sps_mean:.0f}"
    return [
        f"`{group.label}`",
        _runs_cell(group),
        mean_std,
        fmt(group.median),
        min_max,
        iqm,
        fmt_ci(group.mean_ci),
        normalized,
        sps,
        fmt_wall(group.wall_s_mean),
    ]


def _env_section(report: Report, env: str) -> list[Block]:
    pct = _pct(report.settings.confidence)
    blocks: list[Block] = [Heading(3, f"`{env}`")]
    reference = report.references.get(env)
    if reference is None:
        blocks.append(Paragraph("No reference scores for this env: no normalised scores."))
    else:
        blocks.append(
            Paragraph(
                f"Normalised = 100 × (return − random) / (reference − random) with random = "
                f"{fmt(reference.random)}, reference = {fmt(reference.reference)} "
                f"(source: {reference.source or 'not given'})."
            )
        )
    header = [
        "Label",
        "Runs done / failed / incomplete",
        "Mean ± std",
        "Median",
        "Min / max",
        f"IQM [{pct} CI]",
        f"Mean {pct} CI",
        "Normalised mean / IQM",
        "Steps/s",
        "Wall (mean)",
    ]
    rows = [_group_row(group) for group in report.groups if group.env == env]
    blocks.append(Table(header, rows, "llrrrrrrrr"))
    figure = report.figures.get("curves", {}).get(env)
    if figure:
        blocks.append(Image(figure, f"Learning curves on {env}"))
    return blocks


def _aggregate_section(report: Report) -> list[Block]:
    pct = _pct(report.settings.confidence)
    blocks: list[Block] = [Heading(2, "Aggregate over environments (normalised scores)")]
    if not report.aggregates:
        blocks.append(Paragraph("No env of this sweep has reference scores, so there is no aggregate."))
        return blocks
    rows = [
        [
            f"`{agg.label}`",
            str(len(agg.envs)),
            str(agg.n_runs),
            f"{fmt(agg.iqm, 1)} {fmt_ci(agg.iqm_ci, 1)}",
            f"{fmt(agg.mean, 1)} {fmt_ci(agg.mean_ci, 1)}",
        ]
        for agg in report.aggregates
    ]
    header = ["Label", "Envs", "Runs", f"IQM [{pct} CI]", f"Mean [{pct} CI]"]
    blocks.append(Table(header, rows, "lrrrr"))
    partial = [agg.label for agg in report.aggregates if len(agg.envs) < len(report.references)]
    if partial:
        text = "Not run (or no finished seed) on every referenced env: " + ", ".join(partial)
        blocks.append(Paragraph(text))
    for key, alt in (("profile", "Performance profile"), ("aggregate", "Aggregate normalised IQM")):
        if report.figures.get(key):
            blocks.append(Image(report.figures[key], alt))
    return blocks


def _problem_section(report: Report) -> list[Block]:
    blocks: list[Block] = []
    failed = [run for run in report.runs if run.status == "failed"]
    if failed:
        blocks.append(Heading(2, "Failed runs"))
        items = []
        for run in failed:
            code = f" (exit code {run.returncode})" if run.returncode is not None else ""
            items.append(f"`{run.id}`{code}: {run.error or 'no error message'}")
        blocks.append(Bullets(items))
    incomplete = [run for run in report.runs if run.status == "incomplete"]
    if incomplete:
        blocks.append(Heading(2, "Incomplete runs"))
        blocks.append(Bullets([f"`{run.id}`: no summary.json or error.json yet" for run in incomplete]))
    return blocks


def _notes(report: Report) -> list[Block]:
    s = report.settings
    pct = _pct(s.confidence)
    items = [
        "A seed's score is the final evaluation return (`eval_return_mean` of its summary.json); "
        "statistics are over seeds, std is the population standard deviation.",
        "IQM (interquartile mean): the mean of the middle 50% of the scores (25% trimmed from each end); "
        "robust to outlier seeds. With fewer than 4 seeds it equals the mean.",
        f"CIs are {pct} percentile-bootstrap intervals: seeds resampled with replacement {s.resamples} "
        f"times (random seed {s.seed}), the statistic recomputed on each resample, and the "
        f"{100 * (1 - s.confidence) / 2:g}% and {100 * (1 + s.confidence) / 2:g}% quantiles reported. "
        f"With few seeds they are narrow and optimistic: with fewer than {MIN_SEEDS_FOR_BAND} seeds a "
        "figure draws each seed's curve instead of a band.",
        "Aggregates pool normalised scores (0 = random policy, 100 = reference) over the envs with "
        "reference scores; their CIs are stratified bootstraps (seeds resampled within each env, then "
        "pooled), following Agarwal et al. (2021), 'Deep RL at the Edge of the Statistical Precipice'.",
        "The performance profile shows, for each threshold τ, the fraction of runs (pooled over envs) "
        "with a normalised score above τ; a curve above another is better everywhere.",
        f"Learning curves show the {s.curve_statistic} over seeds of `eval/return_mean` (or "
        "`rollout/ep_return_mean` when a run has fewer than 2 evaluations), interpolated onto a common "
        "step grid that ends at the shortest run's last step, with a pointwise bootstrap band.",
    ]
    return [Heading(2, "How to read this"), Bullets(items)]


def build_document(report: Report) -> list[Block]:
    """Title, run status, one table per env, aggregates, failed runs, figures and reading notes."""
    status = report.status
    blocks: list[Block] = [
        Heading(1, f"Sweep report: {report.name}"),
        Paragraph(
            f"Sweep `{report.name}` ({report.sweep_dir}): {_count(len(report.runs), 'run')}: "
            f"{status['done']} done, "
            f"{status['failed']} failed, {status['incomplete']} incomplete; "
            f"{_count(len(report.envs), 'env')} × {_count(len(report.labels), 'label')}."
        ),
    ]
    if report.figures.get("note"):
        blocks.append(Paragraph(report.figures["note"]))
    blocks.append(Heading(2, "Final returns per environment"))
    for env in report.envs:
        blocks.extend(_env_section(report, env))
    blocks.extend(_aggregate_section(report))
    blocks.extend(_problem_section(report))
    blocks.extend(_notes(report))
    return blocks
