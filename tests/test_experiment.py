"""Config-driven runs through the CLI: run folders, summary.json, determinism, resume, errors."""

import csv
import io
import json
import os
import signal
import time
from pathlib import Path

import pytest
import yaml

from rlsuite.cli import main

TINY = {
    "experiment": "tiny",
    "seed": 7,
    "total_steps": 1024,
    "device": "cpu",
    "env": {"id": "rlsuite/CartPole-v1", "num_envs": 4},
    "algo": {
        "name": "ppo",
        "num_steps": 32,
        "minibatch_size": 64,
        "update_epochs": 2,
        "normalize_obs": True,
        "normalize_reward": True,
    },
    "eval": {"episodes": 3, "every_steps": 512},
    "log": {"tensorboard": False},
}
SUMMARY_KEYS = {
    "algo",
    "env",
    "seed",
    "total_steps",
    "wall_s",
    "sps",
    "eval_return_mean",
    "eval_return_std",
    "eval_episodes",
}


def write_config(tmp_path: Path, data=None) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(data or TINY))
    return path


def train(tmp_path, *extra):
    config = write_config(tmp_path)
    code = main(["train", str(config), "--quiet", f"runs_root={tmp_path / 'runs'}", *extra])
    assert code == 0
    runs = sorted((tmp_path / "runs" / "tiny").iterdir())
    return runs[-1]


def test_run_folder_contract(tmp_path):
    run = train(tmp_path)
    assert run.name.startswith("ppo-CartPole-v1-s7-")
    assert {"config.yaml", "metrics.csv", "summary.json", "checkpoints"} <= {p.name for p in run.iterdir()}
    summary = json.loads((run / "summary.json").read_text())
    assert SUMMARY_KEYS <= set(summary)
    assert summary["total_steps"] == 1024 and summary["eval_episodes"] == 3 and summary["seed"] == 7
    assert len(summary["eval_returns"]) == 3
    assert sum(summary["eval_returns"]) / 3 == pytest.approx(summary["eval_return_mean"], abs=1e-5)
    rows = list(csv.DictReader(io.StringIO((run / "metrics.csv").read_text())))
    assert next(iter(rows[0])) == "step"
    assert [int(r["step"]) for r in rows] == [128 * i for i in range(1, 9)]
    assert rows[3]["eval/return_mean"] and rows[-1]["eval/return_mean"]
    resolved = yaml.safe_load((run / "config.yaml").read_text())
    assert resolved["algo"]["lr"] == 2.5e-4 and resolved["algo"]["num_steps"] == 32  # defaults filled in
    assert (run / "checkpoints" / "latest.pt").is_file()


def test_same_seed_gives_identical_metrics(tmp_path):
    first = train(tmp_path / "a")
    second = train(tmp_path / "b")
    assert (first / "metrics.csv").read_text() == (second / "metrics.csv").read_text()
    other = train(tmp_path / "c", "seed=8")
    assert (other / "metrics.csv").read_text() != (first / "metrics.csv").read_text()


def test_interrupted_run_resumes_to_identical_metrics(tmp_path):
    straight = train(tmp_path / "straight")
    # the same experiment stopped half way by Ctrl-C (SIGINT mid-update: the iteration finishes, a
    # checkpoint is written at its boundary, then training stops) ...
    from rlsuite.algos.ppo import PPO

    calls = {"n": 0}
    original = PPO.update

    def interrupting_update(self):
        calls["n"] += 1
        if calls["n"] == 5:
            os.kill(os.getpid(), signal.SIGINT)
        return original(self)

    PPO.update = interrupting_update
    try:
        config = write_config(tmp_path / "resumed")
        assert main(["train", str(config), "--quiet", f"runs_root={tmp_path / 'resumed' / 'runs'}"]) == 130
    finally:
        PPO.update = original
    # ... then continued with resume=auto, which finds the run folder by experiment/algo/env/seed
    # (a second later, so that a wrongly started new run would get a folder of its own)
    time.sleep(1.1)
    assert (
        main(["train", str(config), "--quiet", f"runs_root={tmp_path / 'resumed' / 'runs'}", "resume=auto"])
        == 0
    )
    runs = list((tmp_path / "resumed" / "runs" / "tiny").iterdir())
    assert len(runs) == 1
    assert (runs[0] / "metrics.csv").read_text() == (straight / "metrics.csv").read_text()


def test_resume_extends_a_finished_run(tmp_path):
    run = train(tmp_path, "algo.anneal_lr=false")
    assert main(["train", "--quiet", f"resume={run}", "total_steps=2048"]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["total_steps"] == 2048
    rows = list(csv.DictReader(io.StringIO((run / "metrics.csv").read_text())))
    assert [int(r["step"]) for r in rows if r["train/lr"]][-1] == 2048


def test_eval_command(tmp_path, capsys):
    run = train(tmp_path)
    assert main(["eval", str(run), "--episodes", "4"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["episodes"] == 4 and "return_mean" in out


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("algo.lrr=1e-3", "unknown key 'algo.lrr'; did you mean 'algo.lr'?"),
        ("algo.lr=-1", "algo.lr: expected a float > 0"),
        ("env.num_envs=zero", "env.num_envs: expected an int"),
        ("algo.name=ppp", "unknown algorithm 'ppp'"),
        ("env.vectorization=fast", "env.vectorization: expected one of"),
        ("env.id=rlsuite/CartPol-v1", "closest registered ids: 'rlsuite/CartPole-v1'"),
        ("device=gpu", "device: expected"),
        ("nonsense", "malformed override 'nonsense'"),
    ],
)
def test_bad_configs_give_clear_errors(tmp_path, capsys, override, message):
    config = write_config(tmp_path)
    code = main(["train", str(config), "--quiet", f"runs_root={tmp_path / 'runs'}", override])
    assert code == 2
    assert message in capsys.readouterr().err


def test_missing_config_file(tmp_path, capsys):
    assert main(["train", str(tmp_path / "nope.yaml")]) == 2
    assert "config file not found" in capsys.readouterr().err


def test_envs_command_lists_ids(capsys):
    assert main(["envs"]) == 0
    assert "rlsuite/CartPole-v1" in capsys.readouterr().out


def test_imports_key_loads_user_registrations(tmp_path, monkeypatch):
    package = tmp_path / "userenvs"
    package.mkdir()
    (package / "__init__.py").write_text(
        "import rlsuite\n"
        "if 'user/Pole-v0' not in rlsuite.list_envs():\n"
        "    rlsuite.register('user/Pole-v0', max_episode_steps=50,\n"
        "                     entry_point='gymnasium.envs.classic_control.cartpole:CartPoleEnv')\n"
    )
    monkeypatch.chdir(tmp_path)
    data = {**TINY, "imports": ["userenvs"], "env": {"id": "user/Pole-v0", "num_envs": 2}, "total_steps": 256}
    config = write_config(tmp_path, data)
    assert main(["train", str(config), "--quiet", f"runs_root={tmp_path / 'runs'}"]) == 0
    summary = json.loads(next((tmp_path / "runs" / "tiny").glob("*/summary.json")).read_text())
    assert summary["env"] == "user/Pole-v0" and summary["eval_return_mean"] <= 50
    assert main(["train", str(config), "--quiet", "imports=[missing_module]"]) == 2


def test_algos_command_describes_config_keys(capsys):
    assert main(["algos"]) == 0
    assert "ppo" in capsys.readouterr().out
    assert main(["algos", "ppo"]) == 0
    out = capsys.readouterr().out
    assert "algo.minibatch_size" in out and "samples per gradient step" in out


def test_bench_command_reports_steps_per_second(capsys):
    assert main(["bench", "rlsuite/CartPole-v1", "--num-envs", "4", "--seconds", "0.05"]) == 0
    line = capsys.readouterr().out.strip()
    assert "num_envs=    4" in line and float(line.split()[-2].replace(",", "")) > 1000


def test_tensorboard_events_are_written(tmp_path):
    run = train(tmp_path, "log.tensorboard=true", "total_steps=256")
    events = list((run / "tb").glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 0
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(run / "tb"))
    accumulator.Reload()
    tags = accumulator.Tags()["scalars"]
    assert "train/policy_loss" in tags and "time/sps" in tags and "eval/return_mean" in tags


def test_every_shipped_experiment_file_loads():
    """Each YAML under experiments/ resolves to a valid config of a registered algorithm and env id."""
    from rlsuite.algos import get_algorithm
    from rlsuite.envs.registry import spec
    from rlsuite.offline.team_pipeline import load_pipeline
    from rlsuite.training.experiment import load_experiment

    root = Path(__file__).resolve().parents[1] / "experiments"
    files = sorted(path for path in root.glob("*/*.yaml") if path.parent.name not in ("sweeps", "tune"))
    assert len(files) >= 15
    for path in files:
        if path.name.startswith("data_pipeline"):  # an expert-data pipeline file (rlsuite data pipeline)
            assert load_pipeline(path).maps, path
            continue
        config = load_experiment(path)
        if path.parent.name == "offline":  # experiments/offline/ holds every offline learner's configs
            assert get_algorithm(config.algo.name).capabilities.offline, path
        else:
            assert config.algo.name == path.parent.name, path
        spec(config.env.id)  # raises for an unknown id
