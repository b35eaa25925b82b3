"""benchmarks/bench_ace_vs_qmix.py: per-seed curves, bootstrap CIs, the ACE - QMIX verdict, resumability."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_ace_vs_qmix as bench
import bench_marl_smac

from rlsuite.algos import ALGORITHM_CONFIGS
from rlsuite.config import load_experiment


def _run(algo, seed, curve, final):
    return {
        "algo": algo,
        "map": "5m_vs_6m",
        "seed": seed,
        "win_rate": final,
        "return": 1.0,
        "sps": 100.0,
        "curve": curve,
        "wall_s": 10.0,
    }


def test_summary_bins_curves_and_compares_ace_with_qmix(tmp_path):
    args = bench.parse_args(["--steps", "2000", "--maps", "5m_vs_6m", "--out", str(tmp_path)])
    assert args.eval_every == 200 and args.checkpoint_every == 500
    results = [
        # evaluations land just past each multiple of eval_every and are binned back onto it
        _run("ace", 0, [(1004, 0.5), (2008, 1.0)], 1.0),
        _run("ace", 1, [(1000, 0.25), (2000, 0.75)], 0.75),
        _run("qmix", 0, [(1016, 0.0), (2016, 0.25)], 0.25),
        _run("qmix", 1, [(1000, 0.5), (2000, 0.5)], 0.5),
    ]
    table = bench.summarise(results, args)["5m_vs_6m"]
    ace = table["algos"]["ace"]
    assert ace["steps"] == [1000, 2000]
    np.testing.assert_allclose(ace["curve_mean"], [0.375, 0.875])
    assert ace["mean"] == pytest.approx(0.875) and ace["ci"][0] <= 0.875 <= ace["ci"][1]
    diffs = {d["step"]: d for d in table["ace_minus_qmix"]}
    assert diffs[1000]["diff"] == pytest.approx(0.125) and diffs[2000]["diff"] == pytest.approx(0.5)
    assert diffs[2000]["ci"][0] > 0  # every resample of ACE's seeds beats every resample of QMIX's
    text = bench.markdown({"5m_vs_6m": table}, args, "cmd")
    assert "ACE >= QMIX (mean) at every evaluation: **yes**" in text
    table["ace_minus_qmix"][0]["diff"] = -0.1
    assert "**no**" in bench.markdown({"5m_vs_6m": table}, args, "cmd")


def test_cpu_preset_scales_schedules_and_user_overrides_come_last(tmp_path):
    args = bench.parse_args(["--steps", "100000", "--set-ace", "algo.hidden=32", "--out", str(tmp_path)])
    ace = bench.run_overrides(args)["ace"]
    assert "algo.eps_decay_steps=20000" in ace and "algo.aux_weight=0" in ace
    assert ace[-1] == "algo.hidden=32" and ace.index("algo.hidden=64") < ace.index("algo.hidden=32")
    paper = bench.run_overrides(bench.parse_args(["--scale", "paper", "--out", str(tmp_path)]))
    assert not any(o.startswith("algo.") for o in paper["ace"])


def test_cpu_protocol_runs_its_own_configs_with_no_preset_overrides(tmp_path, monkeypatch):
    args = bench.parse_args(["--cpu", "--out", str(tmp_path)])
    assert args.maps == list(bench.CPU_MAPS) and args.steps == bench.CPU_STEPS
    assert args.eval_every == bench.CPU_STEPS // 10 and args.config_suffix == "_cpu"
    overrides = bench.run_overrides(args)
    assert not any(o.startswith("algo.") for a in ("ace", "qmix") for o in overrides[a])
    commands = []

    class Done:
        returncode, stderr = 1, "stopped by the test"

    monkeypatch.setattr(bench_marl_smac.subprocess, "run", lambda cmd, **kw: commands.append(cmd) or Done())
    record = bench.run_one("ace", "4m_vs_5m", 0, args, tmp_path)
    assert "error" in record and commands[0][4].endswith("experiments/ace/4m_vs_5m_cpu.yaml")
    assert f"run_dir={tmp_path}/runs/ace/4m_vs_5m/s0" in commands[0] and "resume=auto" in commands[0]
    for algo in bench.CPU_ALGOS:  # every protocol config exists and builds
        for m in bench.CPU_MAPS:
            cfg = load_experiment(
                bench.REPO / f"experiments/{algo}/{m}_cpu.yaml", algo_registry=ALGORITHM_CONFIGS
            )
            assert cfg.total_steps == bench.CPU_STEPS and cfg.env.id == f"rlsuite/SMAC-{m}-v0"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--cpu", "--algos", "ace", "mappo"], "--cpu has configs for ace, qmix only"),
        (["--cpu", "--scale", "paper"], "cannot be combined with --scale paper"),
        (["--cpu", "--maps", "2s3z"], "experiments/ace/2s3z_cpu.yaml"),
    ],
)
def test_cpu_protocol_rejects_what_it_has_no_config_for(argv, message, capsys):
    with pytest.raises(SystemExit):
        bench.parse_args(argv)
    assert message in capsys.readouterr().err
