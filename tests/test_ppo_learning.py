"""Learning thresholds with fixed seeds (small budgets; full reproductions live in benchmarks/)."""

import json
from pathlib import Path

from rlsuite.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_main_job_solves_cartpole(tmp_path, margin):
    """The README's main job (experiments/ppo/cartpole.yaml), shortened to 50k steps: return >= 475."""
    config = ROOT / "experiments" / "ppo" / "cartpole.yaml"
    args = [
        "train",
        str(config),
        "--quiet",
        f"runs_root={tmp_path}",
        "total_steps=50000",
        "log.tensorboard=false",
    ]
    assert main(args) == 0
    summary = json.loads(next(tmp_path.glob("*/*/summary.json")).read_text())
    assert margin("eval return", summary["eval_return_mean"], 475)
    assert summary["eval_episodes"] == 10
