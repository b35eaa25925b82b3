"""The sweep report (rlsuite.sweeps.report): numbers against hand-computed values, files, errors."""

from __future__ import annotations

import itertools
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from rlsuite.core.stats import bootstrap_ci, stratified_bootstrap_ci
from rlsuite.sweeps.references import REFERENCES, measure_random_score, resolve_references
from rlsuite.sweeps.report import ReportError, build_report, write_report
from rlsuite.sweeps.report_document import fmt_wall

CARTPOLE, TOY = "rlsuite/CartPole-v1", "test/Toy-v0"
# final returns per (env, label), one per seed 0..3
SCORES = {
    (CARTPOLE, "ppo"): [100.0, 200.0, 300.0, 500.0],
    (CARTPOLE, "sac"): [50.0, 50.0, 150.0, 450.0],
    (TOY, "ppo"): [-100.0, 0.0, 20.0, 100.0],
    (TOY, "sac"): [-50.0, 0.0, 50.0, 60.0],
}
SPS = {(CARTPOLE, "ppo"): [1000.0, 1100.0, 1200.0, 1300.0]}
SWEEP_REFERENCES = {CARTPOLE: {"random": 0.0, "reference": 500.0}}  # overrides the built-in table
ARG_REFERENCES = {TOY: {"random": -100.0, "reference": 100.0}}
RESAMPLES = 2000


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _metrics(score: float, last_step: int, eval_every_row: bool) -> str:
    """Returns rising linearly to ``score`` at step 1000, logged every 100 steps up to ``last_step``.

    Rows at odd multiples of 50 carry only a rollout value (empty eval cells); with ``eval_every_row``
    false the eval column has a single value, at the end, so the curve falls back to the rollout column.
    """
    lines = ["step,train/loss,rollout/ep_return_mean,eval/return_mean"]
    for step in range(0, last_step + 1, 50):
        value = score * step / 1000
        has_eval = step % 100 == 0 and (eval_every_row or step == last_step)
        lines.append(f"{step},0.5,{value},{value if has_eval else ''}")
    return "\n".join(lines) + "\n"


def make_sweep(root: Path) -> Path:
    """2 envs × 2 labels × 4 seeds done, plus one failed and one incomplete run."""
    runs = []
    for (env, label), scores in SCORES.items():
        for seed, score in enumerate(scores):
            run_dir = f"{label}/{env.split('/')[-1]}/seed{seed}"
            runs.append(
                {"id": run_dir, "label": label, "algo": label, "env": env, "seed": seed, "dir": run_dir}
            )
            sps = SPS.get((env, label), [500.0] * 4)[seed]
            summary = {
                "algo": label,
                "env": env,
                "seed": seed,
                "total_steps": 1000,
                "wall_s": 10.0 * (seed + 1),
            }
            summary |= {
                "sps": sps,
                "eval_return_mean": score,
                "eval_return_std": 1.0,
                "eval_returns": [score],
            }
            _write(root / run_dir / "summary.json", json.dumps(summary))
            last = 800 if (env, label, seed) == (CARTPOLE, "ppo", 3) else 1000
            _write(root / run_dir / "metrics.csv", _metrics(score, last, eval_every_row=label == "ppo"))
    failed = {
        "id": "ppo/Toy-v0/seed4",
        "label": "ppo",
        "algo": "ppo",
        "env": TOY,
        "seed": 4,
        "dir": "ppo/Toy-v0/seed4",
    }
    error = {"error": "RuntimeError: boom\nsecond line", "returncode": 3, "log_tail": "Traceback ..."}
    _write(root / failed["dir"] / "error.json", json.dumps(error))
    incomplete = {
        "id": "sac/CartPole-v1/seed4",
        "label": "sac",
        "env": CARTPOLE,
        "seed": 4,
        "dir": "sac/CP/s4",
    }
    _write(root / incomplete["dir"] / "metrics.csv", _metrics(999.0, 300, eval_every_row=True))
    runs += [failed, incomplete]
    manifest = {"format": 1, "name": "toy-sweep", "references": SWEEP_REFERENCES, "runs": runs}
    _write(root / "sweep.json", json.dumps(manifest))
    return root


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory) -> Path:
    return make_sweep(tmp_path_factory.mktemp("sweep"))


@pytest.fixture(scope="module")
def report(sweep_dir):
    return build_report(sweep_dir, resamples=RESAMPLES, seed=0, references=ARG_REFERENCES)


# hand-computed: (mean, population std, median, IQM = mean of the middle two of four, min, max)
EXPECTED = {
    (CARTPOLE, "ppo"): (275.0, math.sqrt(87500 / 4), 250.0, 250.0, 100.0, 500.0),
    (CARTPOLE, "sac"): (175.0, math.sqrt(107500 / 4), 100.0, 100.0, 50.0, 450.0),
    (TOY, "ppo"): (5.0, math.sqrt(20300 / 4), 10.0, 10.0, -100.0, 100.0),
    (TOY, "sac"): (15.0, math.sqrt(7700 / 4), 25.0, 25.0, -50.0, 60.0),
}
# normalised (mean, IQM): CartPole 100 * x / 500, Toy 100 * (x + 100) / 200
EXPECTED_NORMALIZED = {
    (CARTPOLE, "ppo"): (55.0, 50.0),  # 20, 40, 60, 100
    (CARTPOLE, "sac"): (35.0, 20.0),  # 10, 10, 30, 90
    (TOY, "ppo"): (52.5, 55.0),  # 0, 50, 60, 100
    (TOY, "sac"): (57.5, 62.5),  # 25, 50, 75, 80
}


def test_group_statistics_match_hand_computed_values(report):
    assert report.name == "toy-sweep"
    assert report.envs == [CARTPOLE, TOY] and report.labels == ["ppo", "sac"]
    assert report.status == {"done": 16, "failed": 1, "incomplete": 1}
    for key, (mean, std, median, iqm, low, high) in EXPECTED.items():
        group = report.group(*key)
        assert group.scores == SCORES[key] and group.seeds == [0, 1, 2, 3]
        got = (group.mean, group.std, group.median, group.iqm, group.min, group.max)
        assert got == pytest.approx((mean, std, median, iqm, low, high))
        assert (group.normalized_mean, group.normalized_iqm) == pytest.approx(EXPECTED_NORMALIZED[key])
        assert group.total_steps_mean == 1000.0
    counts = {
        key: (g.n_done, g.n_failed, g.n_incomplete) for g in report.groups for key in [(g.env, g.label)]
    }
    assert counts == {
        (CARTPOLE, "ppo"): (4, 0, 0),
        (CARTPOLE, "sac"): (4, 0, 1),
        (TOY, "ppo"): (4, 1, 0),
        (TOY, "sac"): (4, 0, 0),
    }
    assert report.group(CARTPOLE, "ppo").sps_mean == 1150.0
    assert report.group(TOY, "sac").sps_mean == 500.0
    assert report.group(CARTPOLE, "ppo").wall_s_mean == 25.0


def exact_bootstrap_quantile(values: list[float], statistic, level: float) -> float:
    """Inverse CDF at ``level`` of the statistic over all n**n equally likely resamples."""
    rows = np.array(list(itertools.product(values, repeat=len(values))))
    atoms, counts = np.unique(np.round(statistic(rows), 9), return_counts=True)
    cdf = np.cumsum(counts) / len(rows)
    return float(atoms[np.searchsorted(cdf, level)])


def test_group_intervals_are_the_bootstrap_of_the_seeds(report):
    group = report.group(CARTPOLE, "ppo")
    assert tuple(group.mean_ci) == bootstrap_ci(group.scores, "mean", resamples=RESAMPLES, seed=0)
    assert tuple(group.iqm_ci) == bootstrap_ci(group.scores, "iqm", resamples=RESAMPLES, seed=0)

    # against the exact distribution of 4**4 = 256 resamples (2.5% / 97.5% sit between CDF steps)
    def iqm_rows(rows):
        return np.sort(rows, axis=1)[:, 1:3].mean(axis=1)

    exact_iqm = [exact_bootstrap_quantile(group.scores, iqm_rows, q) for q in (0.025, 0.975)]
    assert group.iqm_ci == pytest.approx(exact_iqm, abs=1e-9)
    exact_mean = [exact_bootstrap_quantile(group.scores, lambda r: r.mean(axis=1), q) for q in (0.025, 0.975)]
    assert group.mean_ci == pytest.approx(exact_mean, abs=1e-9)


def test_aggregates_pool_normalised_scores_over_envs(report):
    aggregates = {agg.label: agg for agg in report.aggregates}
    ppo, sac = aggregates["ppo"], aggregates["sac"]
    assert ppo.envs == [CARTPOLE, TOY] and ppo.n_runs == 8
    # ppo pooled: 20 40 60 100 0 50 60 100 -> sorted 0 20 [40 50 60 60] 100 100
    assert (ppo.mean, ppo.iqm) == pytest.approx((53.75, 52.5))
    # sac pooled: 10 10 30 90 25 50 75 80 -> sorted 10 10 [25 30 50 75] 80 90
    assert (sac.mean, sac.iqm) == pytest.approx((46.25, 45.0))
    strata = [[20.0, 40.0, 60.0, 100.0], [0.0, 50.0, 60.0, 100.0]]
    assert tuple(ppo.iqm_ci) == pytest.approx(stratified_bootstrap_ci(strata, "iqm", resamples=RESAMPLES))
    assert ppo.iqm_ci[0] < ppo.iqm < ppo.iqm_ci[1]
    profile = report.profile
    assert profile.taus[0] == 0.0 and profile.taus[-1] == 100.0 and len(profile.taus) == 101
    ppo_profile = next(c for c in profile.curves if c.label == "ppo")
    assert ppo_profile.fraction[profile.taus.index(50.0)] == pytest.approx(4 / 8)  # 60, 60, 100, 100
    assert ppo_profile.fraction[0] == pytest.approx(7 / 8)  # all but the 0


def test_learning_curves(report):
    curves = {(c.env, c.label): c for c in report.curves}
    ppo = curves[(CARTPOLE, "ppo")]
    assert ppo.source == "eval/return_mean" and ppo.n_runs == 4
    assert ppo.steps[0] == 0.0 and ppo.steps[-1] == 800.0  # ends at the shortest run's last step
    assert len(ppo.steps) == 100
    assert ppo.center[-1] == pytest.approx(0.8 * 275.0) and ppo.center[0] == 0.0
    assert ppo.low[-1] <= ppo.center[-1] <= ppo.high[-1]
    # 4 seeds: too few for a band, so each seed's curve is kept for the figure
    assert not ppo.band_is_meaningful and len(ppo.seed_values) == 4
    assert np.mean(np.array(ppo.seed_values)[:, -1]) == pytest.approx(ppo.center[-1])
    sac = curves[(CARTPOLE, "sac")]  # one eval row only: the rollout column; incomplete run left out
    assert sac.source == "rollout/ep_return_mean" and sac.n_runs == 4 and sac.steps[-1] == 1000.0
    assert sac.center[-1] == pytest.approx(175.0)
    halfway = int(np.argmin(np.abs(np.array(sac.steps) - 500.0)))
    assert sac.center[halfway] == pytest.approx(175.0 * sac.steps[halfway] / 1000)
    iqm_report = build_report(
        report.sweep_dir, resamples=200, curve_statistic="iqm", references=ARG_REFERENCES
    )
    iqm_curve = next(c for c in iqm_report.curves if (c.env, c.label) == (CARTPOLE, "sac"))
    assert iqm_curve.center[-1] == pytest.approx(100.0) and iqm_curve.statistic == "iqm"


def test_references_precedence(sweep_dir, report):
    assert report.references[CARTPOLE].random == 0.0  # sweep.json beats the table
    assert report.references[TOY].reference == 100.0  # the argument
    override = {CARTPOLE: {"random": 0.0, "reference": 250.0}}
    other = build_report(sweep_dir, resamples=100, references={**ARG_REFERENCES, **override})
    assert other.group(CARTPOLE, "ppo").normalized_mean == pytest.approx(
        110.0
    )  # the argument beats sweep.json
    table = resolve_references()
    assert table["Hopper-v5"].reference == 3234.3 and table["rlsuite/Hopper-v5"].random == -20.272305
    with pytest.raises(ValueError, match="missing 'reference'"):
        resolve_references({"X-v0": {"random": 1.0}})


def test_cartpole_random_score_is_reproducible():
    assert round(measure_random_score(CARTPOLE), 2) == REFERENCES[CARTPOLE].random


@pytest.fixture(scope="module")
def written(sweep_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    return write_report(sweep_dir, out, resamples=RESAMPLES, references=ARG_REFERENCES)


def test_markdown_tables(written, report):
    text = written.markdown.read_text()
    assert text.startswith("# Sweep report: toy-sweep\n")
    assert "18 runs: 16 done, 1 failed, 1 incomplete" in text
    ppo = report.group(CARTPOLE, "ppo")
    lo, hi = ppo.iqm_ci
    mlo, mhi = ppo.mean_ci
    wall = fmt_wall(ppo.wall_s_mean)
    row = (
        f"| `ppo` | 4 / 0 / 0 | 275.00 ± 147.90 | {ppo.median:.2f} | {ppo.min:.2f} / {ppo.max:.2f} "
        f"| 250.00 [{lo:.2f}, {hi:.2f}] | [{mlo:.2f}, {mhi:.2f}] | 55.0 / 50.0 | 1150 | {wall} |"
    )
    assert row in text
    assert "| `sac` | 4 / 0 / 1 | 175.00 ± 163.94 | " in text
    assert "| `ppo` | 4 / 1 / 0 | 5.00 ± 71.24 | " in text
    assert "Runs done / failed / incomplete" in text and "| Median |" in text and "Wall (mean)" in text
    agg = next(a for a in report.aggregates if a.label == "ppo")
    assert f"| `ppo` | 2 | 8 | 52.5 [{agg.iqm_ci[0]:.1f}, {agg.iqm_ci[1]:.1f}] | 53.8 [" in text
    assert "- `ppo/Toy-v0/seed4` (exit code 3): RuntimeError: boom second line" in text
    assert "- `sac/CartPole-v1/seed4`: no summary.json or error.json yet" in text
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(images) == 4 and all((written.markdown.parent / path).is_file() for path in images)
    assert "## How to read this" in text and f"{RESAMPLES} times" in text


def test_html_is_self_contained(written):
    page = written.html.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page)
    assert page.count('src="data:image/png;base64,') == 4
    assert '<td class="num">275.00 ± 147.90</td>' in page
    assert "<code>ppo/Toy-v0/seed4</code>" in page


def test_json_and_figures(written, report):
    data = json.loads(written.json.read_text())
    expected = json.loads(json.dumps(report.to_dict()))
    for key in ("status", "envs", "labels", "groups", "aggregates", "profile", "curves", "runs", "settings"):
        assert data[key] == expected[key], key
    group = next(g for g in data["groups"] if g["env"] == TOY and g["label"] == "sac")
    assert group["mean"] == 15.0 and group["normalized_iqm"] == 62.5 and group["n_done"] == 4
    failed = next(r for r in data["runs"] if r["status"] == "failed")
    assert failed["error"] == "RuntimeError: boom second line" and failed["returncode"] == 3
    assert len(written.figures) == 4
    for path in written.figures:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in written.figures) == sorted(
        ["aggregate.png", "profile.png", "curves_00_rlsuite_CartPole-v1.png", "curves_01_test_Toy-v0.png"]
    )
    leftovers = [p.name for p in written.json.parent.rglob("*") if ".tmp" in p.name]
    assert leftovers == []


def test_default_out_dir_and_discovery_without_sweep_json(tmp_path):
    for seed, score in enumerate([10.0, 30.0]):
        run = tmp_path / "runs" / f"a-s{seed}"
        summary = {
            "algo": "dqn",
            "env": "test/NoRef-v0",
            "seed": seed,
            "eval_return_mean": score,
            "sps": 100.0,
        }
        _write(run / "summary.json", json.dumps(summary))
        _write(run / "metrics.csv", _metrics(score, 1000, eval_every_row=True))
    files = write_report(tmp_path, resamples=200)
    assert files.markdown == tmp_path / "report" / "report.md"
    report = build_report(tmp_path, resamples=200)
    group = report.group("test/NoRef-v0", "dqn")
    assert group.mean == 20.0 and group.seeds == [0, 1] and group.normalized_mean is None
    assert report.aggregates == [] and report.profile is None
    assert [run.id for run in report.runs] == ["runs/a-s0", "runs/a-s1"]
    text = files.markdown.read_text()
    assert "No reference scores for this env" in text and "| `dqn` | 2 / 0 / 0 | 20.00 ± 10.00 |" in text
    assert len(files.figures) == 1  # the learning curves only


def test_error_messages(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        build_report(tmp_path / "nope")
    with pytest.raises(ReportError, match=r"no runs found in .*sweep\.json.*summary\.json"):
        build_report(tmp_path)
    manifest = tmp_path / "sweep.json"
    manifest.write_text('{"runs": [')
    with pytest.raises(ReportError, match=r"sweep\.json: not valid JSON: .*line 1"):
        build_report(tmp_path)
    manifest.write_text('{"runs": {}}')
    with pytest.raises(ReportError, match=r"sweep\.json: 'runs' must be a list"):
        build_report(tmp_path)
    manifest.write_text('{"runs": []}')
    with pytest.raises(ReportError, match=r"sweep\.json: lists no runs"):
        build_report(tmp_path)
    manifest.write_text('{"runs": [{"dir": "a", "label": "ppo"}]}')
    with pytest.raises(ReportError, match=r"sweep\.json: runs\[0\]: missing or empty 'env'"):
        build_report(tmp_path)
    bad_reference = {"runs": [{"dir": "a", "env": "E", "algo": "x"}], "references": {"E": [1, 1]}}
    manifest.write_text(json.dumps(bad_reference))
    with pytest.raises(
        ValueError, match=r"sweep\.json references\['E'\]: reference and random scores are equal"
    ):
        build_report(tmp_path)
    with pytest.raises(ValueError, match="confidence"):
        build_report(tmp_path, confidence=1.5)
