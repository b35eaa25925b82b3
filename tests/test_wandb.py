"""``log.wandb: true``: the run's metrics go to an offline Weights & Biases run inside the run folder."""

from __future__ import annotations

import csv
import json
import time

import pytest
import yaml

from rlsuite.cli import main


def test_offline_wandb_run_holds_the_metrics(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    from rlsuite.core.wandb_sink import WandbSink

    monkeypatch.setenv("WANDB_MODE", "offline")  # belt and braces: never the network in tests
    sent: list[tuple[int, dict]] = []
    real_log = WandbSink.log

    def spy(self, step, metrics):
        sent.append((step, dict(metrics)))
        real_log(self, step, metrics)

    monkeypatch.setattr(WandbSink, "log", spy)
    config = {
        "experiment": "wb",
        "total_steps": 512,
        "device": "cpu",
        "env": {"id": "rlsuite/CartPole-v1", "num_envs": 4},
        "algo": {"name": "ppo", "num_steps": 32, "update_epochs": 1},
        "eval": {"episodes": 2, "every_steps": 256},
        "log": {"tensorboard": False, "wandb": True},
        "runs_root": str(tmp_path),
    }
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(config))
    assert main(["train", str(tmp_path / "exp.yaml"), "--quiet"]) == 0
    run_dir = next((tmp_path / "wb").iterdir())
    # W&B got every metrics.csv row, at the same steps, plus steps/s
    with (run_dir / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [step for step, _ in sent] == [int(row["step"]) for row in rows]
    summary = json.loads((run_dir / "summary.json").read_text())
    evals = [m for _, m in sent if "eval/return_mean" in m]
    assert evals[-1]["eval/return_mean"] == pytest.approx(summary["eval_return_mean"])
    assert all("time/sps" in m for _, m in sent[:-1])
    # ... into an offline run in the run folder, with the resolved config
    offline = list((run_dir / "wandb").glob("offline-run-*"))
    assert len(offline) == 1
    assert offline[0].name.endswith((run_dir / "wandb_id.txt").read_text().strip())
    store = next(offline[0].glob("run-*.wandb"))
    deadline = time.monotonic() + 60  # W&B's service process writes the file after finish() returns
    while b"eval/return_mean" not in store.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.5)
    data = store.read_bytes()
    assert b"eval/return_mean" in data and b"rollout/ep_return_mean" in data and b'"num_steps"' in data
