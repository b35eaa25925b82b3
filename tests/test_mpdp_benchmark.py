"""benchmarks/bench_mpdp_vs_sac.py: the --cpu protocol's files, its shared SAC settings, the run order."""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import bench_mpdp_vs_sac as bench  # noqa: E402
import mpdp_cpu_costs as costs  # noqa: E402
from runlock_helpers import lock_held_by_another_process  # noqa: E402

from rlsuite.algos.sac import SACConfig  # noqa: E402
from rlsuite.training.experiment import load_experiment  # noqa: E402


def test_cpu_flag_selects_the_cpu_files_folders_and_runs_mpdp_first(monkeypatch):
    monkeypatch.chdir(REPO)
    args = bench.parse_args(["--cpu", "--envs", "Hopper", "Walker2d", "--seeds", "2"])
    assert args.sac_config == "experiments/sac/{task}_cpu.yaml"
    assert args.mpdp_config == "experiments/mpdp/{task}_cpu.yaml"
    assert args.out == Path("runs/mpdp-vs-sac-cpu")
    assert args.report_dir == REPO / "benchmarks" / "reports" / "mpdp-vs-sac-cpu"
    jobs = bench.build_jobs(args)
    assert [(j.algo, j.task, j.seed) for j in jobs][:3] == [
        ("sac", "hopper", 1),
        ("sac", "hopper", 2),
        ("mpdp", "hopper", 1),
    ]
    ordered = bench.execution_order(jobs)
    assert [j.algo for j in ordered] == ["mpdp"] * 4 + ["sac"] * 4
    assert [(j.task, j.seed) for j in ordered[:4]] == [
        ("hopper", 1),
        ("hopper", 2),
        ("walker2d", 1),
        ("walker2d", 2),
    ]
    variant = bench.parse_args(["--cpu", "--envs", "Hopper", "--seeds", "1", "--algos", "sac", "mpdp_ve"])
    sac_job, ve_job = bench.execution_order(bench.build_jobs(variant))[::-1]
    assert (ve_job.algo, str(ve_job.config)) == ("mpdp_ve", "experiments/mpdp/hopper_cpu.yaml")
    assert ve_job.run_dir == Path("runs/mpdp-vs-sac-cpu/runs/mpdp_ve/hopper/s1")
    assert ve_job.overrides[-1] == "algo.value_expansion=true" and sac_job.algo == "sac"
    full = bench.parse_args(["--envs", "Hopper", "--out", "x", "--report-dir", ""])
    assert full.mpdp_config == "experiments/mpdp/{task}.yaml" and full.report_dir is None


@pytest.mark.parametrize("task", ["hopper", "walker2d", "halfcheetah"])
def test_cpu_protocol_sac_and_mpdp_share_every_sac_setting(task):
    sac = load_experiment(REPO / f"experiments/sac/{task}_cpu.yaml")
    mpdp = load_experiment(REPO / f"experiments/mpdp/{task}_cpu.yaml")
    shared = [f.name for f in dataclasses.fields(SACConfig) if f.name != "name"]
    assert {k: getattr(sac.algo, k) for k in shared} == {k: getattr(mpdp.algo, k) for k in shared}
    assert (sac.env, sac.eval, sac.total_steps) == (mpdp.env, mpdp.eval, mpdp.total_steps)
    # every MPDP mechanism is on: horizon 3 with its ramp, sampled model steps, an elite subset, refits
    cfg = mpdp.algo
    assert cfg.horizon == 3 and cfg.horizon_ramp == (20_000, 40_000) and not cfg.deterministic_model
    assert 1 < cfg.num_elites < cfg.ensemble_size and cfg.model_weight_decays is not None
    assert cfg.model_fit_subset and cfg.model_max_epochs and cfg.model_train_freq <= 1000


def test_cost_projection_follows_the_ramp_the_refits_and_the_schedule():
    config = load_experiment(REPO / "experiments/mpdp/hopper_cpu.yaml")
    unit = {"env_step_ms": 0.0, "act_ms": 0.0, "fit_us_per_transition_epoch": 0.0, "train_step_ms[sac]": 1.0}
    unit |= {"train_step_ms[1]": 1.0, "train_step_ms[2]": 2.0, "train_step_ms[3]": 3.0}
    proj = costs.project(unit, config, 100_000)
    # steps 5k-30k at H = 1, 30k-40k at H = 2, 40k-100k at H = 3 (ms -> s)
    assert proj["mpdp_steps_s"] == pytest.approx((25_000 * 1 + 10_000 * 2 + 60_000 * 3) / 1e3)
    assert proj["sac_s"] == pytest.approx(95.0) and proj["mpdp_fit_s"] == 0.0
    fits = costs.project({**unit, "fit_us_per_transition_epoch": 1.0}, config, 100_000)["mpdp_fit_s"]
    sizes = [min(g, 10_000) for g in range(5001, 100_001, 1000)]  # refits every 1000 steps, 10k each
    assert fits == pytest.approx(sum(sizes) * 5 / 1e6)
    acting = costs.project({**unit, "env_step_ms": 1.0, "act_ms": 0.5}, config, 100_000)
    env_steps = 100_000 + 10 * 10 * 1000  # 10 evaluations of 10 episodes, counted at 1,000 steps each
    assert acting["sac_s"] - proj["sac_s"] == pytest.approx((env_steps + 0.5 * (env_steps - 5000)) / 1e3)
    assert costs.makespan([3.0, 3.0, 2.0, 1.0, 1.0], 2) == 5.0


def test_runs_record_their_cpu_seconds_over_invocations(tmp_path):
    with open(tmp_path / "log", "w") as out:
        rc, cpu = bench.run_process([sys.executable, "-c", "sum(range(2_000_000))"], out, dict(os.environ))
        failed, _ = bench.run_process([sys.executable, "-c", "raise SystemExit(3)"], out, dict(os.environ))
    assert rc == 0 and failed == 3
    if cpu is None:  # no os.wait4 on this platform
        return
    assert cpu > 0.0
    assert bench.cpu_seconds(tmp_path) is None
    bench.record_cpu(tmp_path, 1.25)
    bench.record_cpu(tmp_path, 2.0)
    bench.record_cpu(tmp_path, None)
    assert bench.cpu_seconds(tmp_path) == 3.2  # rounded to 0.1 s per invocation, summed


def test_a_run_another_process_is_training_is_left_untouched(tmp_path):
    """A second benchmark invocation must not start, log into or mark failed a folder in training."""
    run_dir = tmp_path / "sac" / "hopper" / "s1"
    job = bench.Job("sac", "hopper", 1, REPO / "experiments/sac/hopper_cpu.yaml", run_dir)
    lines: list[str] = []
    with lock_held_by_another_process(run_dir) as holder:
        status = bench.run_job(job, lines.append)
        assert status["status"] == "busy" and f"process {holder.pid}" in status["error"]
        assert sorted(p.name for p in run_dir.iterdir()) == ["train.lock"]
        assert lines and lines[0].startswith("busy")
    status = bench.run_job(dataclasses.replace(job, config=tmp_path / "missing.yaml"), lines.append)
    assert status["status"] == "failed"  # the lock is free again: the job starts (and fails on the config)
    assert "missing.yaml" in lines[-1]  # the FAILED line names the error, not the first log line
