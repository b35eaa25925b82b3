"""``rlsuite tune``: the tune file, and a 3-trial Optuna study that resumes after its process is killed."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from rlsuite.config import ConfigError
from rlsuite.training.experiment import load_experiment
from rlsuite.tuning import load_tune_spec

ROOT = Path(__file__).resolve().parents[1]
TUNE = {
    "experiment": str(ROOT / "experiments" / "ppo" / "cartpole.yaml"),
    "overrides": {
        "total_steps": 1024,
        "eval.every_steps": 256,
        "eval.episodes": 2,
        "env.num_envs": 4,
        "log.tensorboard": False,
        "device": "cpu",
    },
    "search": {
        "algo.lr": {"type": "float", "low": 1.0e-4, "high": 1.0e-2, "log": True},
        "algo.update_epochs": {"type": "int", "low": 1, "high": 3},
        "algo.hidden_sizes": {"type": "categorical", "choices": [[32], [64, 64]]},
    },
    "sampler": {"seed": 0, "n_startup_trials": 2},
    "pruner": {"type": "median", "n_startup_trials": 1},
}


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "cartpole_tune.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_tune_file_errors_name_the_key(tmp_path):
    spec = load_tune_spec(write(tmp_path, TUNE))
    assert [d.key for d in spec.search] == ["algo.lr", "algo.update_epochs", "algo.hidden_sizes"]
    assert spec.trial_config({"algo.lr": 0.01})["algo"]["lr"] == 0.01
    bad_key = {**TUNE, "search": {"algo.lrr": {"type": "float", "low": 0.1, "high": 1.0}}}
    with pytest.raises(ConfigError, match=r"unknown key 'algo\.lrr'"):
        load_tune_spec(write(tmp_path, bad_key))
    bad_range = {**TUNE, "search": {"algo.lr": {"type": "float", "low": 0.0, "high": 1.0, "log": True}}}
    with pytest.raises(ConfigError, match=r"search.algo.lr: a log-scale range needs low > 0"):
        load_tune_spec(write(tmp_path, bad_range))
    with pytest.raises(ConfigError, match="metric: expected one of"):
        load_tune_spec(write(tmp_path, {**TUNE, "metric": "reward"}))


def test_shipped_tune_files_load():
    files = sorted((ROOT / "experiments" / "tune").glob("*.yaml"))
    assert files
    for path in files:
        assert load_tune_spec(path).search  # the experiment builds with values from every range


def _tune(tmp_path: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "rlsuite.cli", "tune", str(tmp_path / "cartpole_tune.yaml")]
    return subprocess.Popen(
        [*command, "--trials", "3", "--out", str(tmp_path / "study"), "--quiet", *extra],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_three_trial_study_resumes_after_a_kill(tmp_path):
    pytest.importorskip("optuna")
    write(tmp_path, TUNE)
    first = _tune(tmp_path)
    trial_one = tmp_path / "study" / "trials" / "trial-1"
    deadline = time.monotonic() + 300
    while not trial_one.exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert first.poll() is None, first.communicate()[1]
    first.send_signal(signal.SIGKILL)  # mid-way through a trial: no chance to clean up
    first.wait()
    first.stdout.close()  # not read: a killed driver's output says nothing here
    first.stderr.close()
    # The trial in flight at the kill: trial 1, or a later one when trial 1 was pruned within the polling gap
    # (on a loaded machine the next trial may be in the study before its folder is made).
    started = sorted(int(p.name.split("-")[1]) for p in (tmp_path / "study" / "trials").glob("trial-*"))

    second = _tune(tmp_path)
    out, err = second.communicate(timeout=600)
    assert second.returncode == 0, err
    assert '"finished": 3' in out
    with (tmp_path / "study" / "trials.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    states = [row["state"] for row in rows]
    assert sum(s in ("COMPLETE", "PRUNED") for s in states) == 3
    failed = [i for i, state in enumerate(states) if state == "FAIL"]
    if failed:  # killed inside a trial (the usual case): that one is retried with its parameters
        (killed,) = failed
        assert killed in (started[-1], started[-1] + 1), (killed, started)
        assert f"retrying trial(s) [{killed}]" in err, err
        retried = rows[killed + 1]  # the killed trial's parameters, queued first
        if rows[killed]["param:algo.lr"]:  # (killed before it drew them, it has none to pass on)
            assert retried["param:algo.lr"] == rows[killed]["param:algo.lr"]
    else:  # killed between two trials: nothing to retry
        assert "retrying" not in err, err
    best = tmp_path / "study" / "best.yaml"
    config = load_experiment(best)  # ready to train: a valid experiment file
    assert config.experiment == "ppo-cartpole-tuned" and config.run_dir is None
    best_row = max((r for r in rows if r["state"] == "COMPLETE"), key=lambda r: float(r["value"]))
    assert config.algo.lr == pytest.approx(float(best_row["param:algo.lr"]))


@pytest.mark.slow
def test_ray_backend_runs_the_same_tune_file(tmp_path):
    pytest.importorskip("optuna")
    pytest.importorskip("ray.tune")
    from rlsuite.tuning_ray import tune_with_ray

    spec = load_tune_spec(write(tmp_path, TUNE))
    result = tune_with_ray(spec, 2, tmp_path / "study", quiet=True)
    with (tmp_path / "study" / "trials.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 and all(row["state"] in ("COMPLETE", "PRUNED") for row in rows)
    assert load_experiment(result["best_config"]).experiment == "ppo-cartpole-tuned"
    assert result["best_params"]["algo.hidden_sizes"] in ([32], [64, 64])
