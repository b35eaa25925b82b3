"""benchmarks/bench_ace_vs_qmix.py: per-seed curves, bootstrap CIs, the ACE - QMIX verdict, resumability."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_ace_vs_qmix as bench


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
