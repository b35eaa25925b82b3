"""Sweeps: expansion of sweep files, the pre-launch check, both backends end to end, resume, failures."""

import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from rlsuite.cli import main
from rlsuite.sweeps.check import check_sweep
from rlsuite.sweeps.execute import ERROR_FILE, run_status
from rlsuite.sweeps.runner import run_sweep
from rlsuite.sweeps.spec import SweepError, load_sweep

pytest.importorskip("stable_baselines3")

# 2 algorithms (rlsuite PPO and SB3's PPO) x 2 envs x 2 seeds, tiny budgets.
SMALL = {
    "name": "small",
    "seeds": 2,
    "total_steps": 512,
    "base": {"device": "cpu", "eval": {"episodes": 3}, "log": {"tensorboard": False}},
    "envs": ["rlsuite/CartPole-v1", {"id": "Pendulum-v1", "overrides": {"env.num_envs": 2}}],
    "algorithms": [
        {"name": "ppo", "overrides": {"env.num_envs": 4, "algo.num_steps": 64, "algo.update_epochs": 2}},
        {"name": "sb3:PPO", "overrides": {"env.num_envs": 4, "algo.kwargs": {"n_steps": 64, "n_epochs": 2}}},
    ],
}


def write_sweep(tmp_path: Path, data: dict, name: str = "sweep.yaml") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def summaries(directory: Path) -> dict[str, dict]:
    meta = json.loads((directory / "sweep.json").read_text())
    return {
        run["id"]: json.loads((directory / run["dir"] / "summary.json").read_text()) for run in meta["runs"]
    }


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("local")
    result = run_sweep(write_sweep(root, SMALL), root=root / "out", workers=2, quiet=True)
    assert not result.failed, [o.error for o in result.failed]
    return result.directory


# --- expansion ---------------------------------------------------------------------------------
def test_expansion_counts_labels_and_folders(tmp_path):
    data = {
        **SMALL,
        "algorithms": [
            *SMALL["algorithms"],
            {"name": "ppo", "label": "ppo-lr", "grid": {"algo.lr": [1e-3, 3e-4]}},
        ],
    }
    sweep = load_sweep(write_sweep(tmp_path, data), root=tmp_path / "out")
    assert len(sweep.runs) == (2 + 2) * 2 * 2  # (ppo, sb3:PPO, 2 lr variants) x 2 envs x 2 seeds
    labels = sorted({run.label for run in sweep.runs})
    assert labels == ["ppo", "ppo-lr[lr=0.0003]", "ppo-lr[lr=0.001]", "sb3:PPO"]
    run = next(r for r in sweep.runs if r.label == "sb3:PPO" and r.env == "Pendulum-v1" and r.seed == 1)
    assert run.directory == tmp_path / "out" / "small" / "sb3_PPO" / "Pendulum-v1" / "seed1"
    assert run.data["run_dir"] == str(run.directory)
    assert (run.data["seed"], run.data["resume"], run.data["experiment"]) == (1, "auto", "small")
    assert run.data["algo"] == {"kwargs": {"n_steps": 64, "n_epochs": 2}, "name": "sb3:PPO"}


def test_override_order_later_layers_win(tmp_path):
    config = write_sweep(
        tmp_path, {"algo": {"name": "ppo", "lr": 0.1, "gamma": 0.5}, "total_steps": 7}, "ppo.yaml"
    )
    data = {
        "name": "order",
        "total_steps": 100,
        "base": {"algo.gamma": 0.6, "eval": {"episodes": 4}},
        "envs": [
            {"id": "rlsuite/CartPole-v1", "total_steps": 200, "overrides": {"algo.lr": 0.2}},
            "Pendulum-v1",
        ],
        "algorithms": [
            {
                "name": "ppo",
                "config": str(config.name),
                "overrides": {"algo.lr": 0.3},
                "env_overrides": {"Pendulum-v1": {"algo.lr": 0.4}},
            }
        ],
    }
    sweep = load_sweep(write_sweep(tmp_path, data), root=tmp_path)
    cartpole, pendulum = sweep.runs
    assert (cartpole.data["total_steps"], cartpole.data["algo"]["lr"]) == (200, 0.3)
    assert (pendulum.data["total_steps"], pendulum.data["algo"]["lr"]) == (100, 0.4)
    assert cartpole.data["algo"]["gamma"] == 0.6 and cartpole.data["eval"] == {"episodes": 4}
    assert cartpole.data["torch_threads"] == 1 and cartpole.data["log"]["progress"] is False


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"seeds": 0}, "seeds: expected a positive count"),
        ({"seeds": [1, 1]}, "repeated seeds"),
        ({"envs": []}, "'envs' must be a non-empty list"),
        ({"colour": "red"}, "unknown key(s) 'colour'; accepted: name, root, seeds"),
        ({"name": "a/b"}, "must be a folder name"),
        ({"grid": {"algo.lr": []}}, "grid.algo.lr: expected a non-empty list"),
        ({"algorithms": ["ppo", "ppo"]}, "two runs share the folder ppo/rlsuite_CartPole-v1/seed0"),
        ({"references": {"Pendulum-v1": {"random": 1}}}, "references.Pendulum-v1: expected {random: x"),
    ],
)
def test_bad_sweep_files_are_rejected_with_the_problem_named(tmp_path, change, message):
    with pytest.raises(SweepError) as error:
        load_sweep(write_sweep(tmp_path, {**SMALL, **change}), root=tmp_path)
    assert message in str(error.value)


# --- the pre-launch check ----------------------------------------------------------------------
def test_impossible_pairs_are_rejected_before_any_run_starts(tmp_path):
    data = {
        **SMALL,
        "algorithms": [
            "ppo",
            "sac",
            "sb3:DQN",
            {"name": "sb3:PPO", "overrides": {"algo.kwargs": {"n_stpes": 8}}},
        ],
    }
    with pytest.raises(SweepError) as error:
        run_sweep(write_sweep(tmp_path, data), root=tmp_path / "out", quiet=True)
    text = str(error.value)
    assert "no run was started" in text
    assert (
        "sac × rlsuite/CartPole-v1: the env has discrete actions and the algorithm needs continuous ones"
        in text
    )
    assert (
        "sb3:DQN × Pendulum-v1: the env has continuous actions and the algorithm needs discrete ones" in text
    )
    assert "SB3 PPO takes no n_stpes" in text
    assert "ppo ×" not in text  # possible pairs are not listed
    assert not (tmp_path / "out").exists()


def test_unknown_algorithm_env_and_config_key_are_listed_together(tmp_path):
    data = {
        **SMALL,
        "envs": ["rlsuite/CartPole-v1", "rlsuite/CartPol-v1"],
        "algorithms": ["ppo", "pop", {"name": "ppo", "label": "bad", "overrides": {"algo.lrr": 1}}],
    }
    with pytest.raises(SweepError) as error:
        run_sweep(write_sweep(tmp_path, data), root=tmp_path / "out", quiet=True)
    text = str(error.value)
    assert "pop × rlsuite/CartPole-v1: unknown algorithm 'pop'" in text
    assert "ppo × rlsuite/CartPol-v1: cannot build the env" in text and "CartPole-v1" in text


def test_bad_config_key_is_rejected_before_launch(tmp_path):
    data = {**SMALL, "algorithms": [{"name": "ppo", "overrides": {"algo.lrr": 1}}]}
    with pytest.raises(SweepError, match=r"ppo × rlsuite/CartPole-v1: .*algo.lrr"):
        run_sweep(write_sweep(tmp_path, data), root=tmp_path / "out", quiet=True)
    assert not (tmp_path / "out").exists()


# --- end to end --------------------------------------------------------------------------------
def test_local_sweep_writes_ordinary_run_folders(local_sweep):
    meta = json.loads((local_sweep / "sweep.json").read_text())
    assert meta["name"] == "small" and len(meta["runs"]) == 8
    assert {(r["label"], r["env"]) for r in meta["runs"]} == {
        (a, e) for a in ("ppo", "sb3:PPO") for e in ("rlsuite/CartPole-v1", "Pendulum-v1")
    }
    for run_id, summary in summaries(local_sweep).items():
        run_dir = local_sweep / run_id
        assert summary["total_steps"] >= 512 and summary["eval_episodes"] == 3, run_id
        assert (run_dir / "config.yaml").exists() and (run_dir / "metrics.csv").exists()
        assert summary["algo"] == ("sb3:PPO" if run_id.startswith("sb3") else "ppo")
        assert run_status(run_dir) == "done"
    assert (local_sweep / "sweep.yaml").exists()


def test_ray_backend_runs_the_same_runs_with_the_same_results(local_sweep, tmp_path):
    pytest.importorskip("ray")
    result = run_sweep(
        write_sweep(tmp_path, SMALL), root=tmp_path / "out", backend="ray", workers=2, quiet=True
    )
    assert not result.failed and len(result.outcomes) == 8
    local, remote = summaries(local_sweep), summaries(result.directory)
    assert local.keys() == remote.keys()
    for run_id in local:
        assert remote[run_id]["eval_returns"] == local[run_id]["eval_returns"], run_id


def test_resume_reruns_the_killed_run_and_keeps_finished_ones(local_sweep, tmp_path):
    directory = tmp_path / "out" / "small"
    shutil.copytree(local_sweep, directory)
    killed = directory / "ppo" / "Pendulum-v1" / "seed1"
    before = {p: p.stat().st_mtime_ns for p in directory.glob("*/*/*/summary.json") if p.parent != killed}
    (killed / "summary.json").unlink()  # what a run killed before its end leaves: no summary
    shutil.rmtree(killed / "checkpoints")
    result = run_sweep(write_sweep(tmp_path, SMALL), root=tmp_path / "out", quiet=True)
    assert [o.id for o in result.outcomes] == ["ppo/Pendulum-v1/seed1"] and len(result.skipped) == 7
    assert all(p.stat().st_mtime_ns == t for p, t in before.items())
    rerun = json.loads((killed / "summary.json").read_text())
    original = summaries(local_sweep)["ppo/Pendulum-v1/seed1"]
    assert rerun["eval_returns"] == original["eval_returns"]  # same seed, same result


def test_resume_continues_a_run_from_its_checkpoint(tmp_path):
    data = {**SMALL, "seeds": [0], "envs": ["rlsuite/CartPole-v1"], "algorithms": SMALL["algorithms"][:1]}
    sweep_file = write_sweep(tmp_path, data)
    half = {**data, "total_steps": 256}
    run_sweep(write_sweep(tmp_path, half, "half.yaml"), root=tmp_path / "out", quiet=True)
    run_dir = tmp_path / "out" / "small" / "ppo" / "rlsuite_CartPole-v1" / "seed0"
    (run_dir / "summary.json").unlink()  # killed after its checkpoint at step 256
    assert run_status(run_dir) == "partial"
    result = run_sweep(sweep_file, root=tmp_path / "out", quiet=True)
    assert [o.status for o in result.outcomes] == ["done"]
    assert "resuming" in (run_dir / "train.log").read_text()
    assert json.loads((run_dir / "summary.json").read_text())["total_steps"] == 512


def test_a_failing_run_is_recorded_and_the_others_go_on(tmp_path):
    data = {
        **SMALL,
        "seeds": [0],
        "envs": ["rlsuite/CartPole-v1"],
        "algorithms": [
            SMALL["algorithms"][0],
            # passes the pre-launch check (imports run in the run's own process), fails in the run
            {"name": "ppo", "label": "broken", "overrides": {"imports": ["no_such_option"]}},
        ],
    }
    result = run_sweep(write_sweep(tmp_path, data), root=tmp_path / "out", quiet=True)
    assert {(o.id, o.status) for o in result.outcomes} == {
        ("ppo/rlsuite_CartPole-v1/seed0", "done"),
        ("broken/rlsuite_CartPole-v1/seed0", "failed"),
    }
    error = json.loads(
        (result.directory / "broken" / "rlsuite_CartPole-v1" / "seed0" / ERROR_FILE).read_text()
    )
    assert "no_such_option" in error["error"] and error["returncode"] != 0
    assert "Traceback" in error["log_tail"] or "error" in error["log_tail"]


def test_cli_dry_run_lists_the_plan_and_starts_nothing(tmp_path, capsys):
    code = main(["sweep", str(write_sweep(tmp_path, SMALL)), "--root", str(tmp_path / "out"), "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0 and "8 runs" in out and "sb3_PPO/Pendulum-v1/seed1" in out
    assert not (tmp_path / "out").exists()


def test_cli_reports_a_bad_backend(tmp_path, capsys):
    code = main(["sweep", str(write_sweep(tmp_path, SMALL)), "--backend", "slurm"])
    assert code == 2 and "backend='slurm'; accepted: local, ray" in capsys.readouterr().err


def test_shipped_sweep_files_pass_the_check(tmp_path):
    pytest.importorskip("tianshou")
    files = sorted((Path(__file__).resolve().parents[1] / "experiments" / "sweeps").glob("*.yaml"))
    assert {f.name for f in files} >= {"ppo_peers.yaml", "sac_peers.yaml"}
    for path in files:
        sweep = load_sweep(path, root=tmp_path)
        configs = check_sweep(sweep)
        assert len(configs) == len(sweep.runs) and {r.seed for r in sweep.runs} == {0, 1, 2}, path
        assert {r.algo.split(":")[0] for r in sweep.runs} >= {"sb3", "tianshou"}, path


def test_a_missing_peer_library_is_reported_before_launch(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "stable_baselines3", None)  # import fails as if not installed
    with pytest.raises(SweepError) as error:
        run_sweep(write_sweep(tmp_path, SMALL), root=tmp_path / "out", quiet=True)
    assert "sb3:PPO × rlsuite/CartPole-v1: sb3:PPO needs the 'stable_baselines3' package" in str(error.value)
    assert "pip install 'rlsuite[sb3]'" in str(error.value) and not (tmp_path / "out").exists()


def test_ctrl_c_stops_the_sweep_and_the_next_invocation_finishes_it(tmp_path):
    """A real interruption: SIGINT to ``rlsuite sweep`` while its second run trains."""
    import signal
    import subprocess
    import time

    ppo = {"env.num_envs": 4, "algo.num_steps": 64}
    data = {
        **SMALL,
        "seeds": [0],
        "envs": ["rlsuite/CartPole-v1"],
        "base": {**SMALL["base"], "checkpoint": {"every_steps": 100_000}},
        "algorithms": [  # run one by one: a short run, then a long one (interrupted)
            {"name": "ppo", "label": "short", "overrides": {**ppo, "total_steps": 1024}},
            {"name": "ppo", "label": "long", "overrides": {**ppo, "total_steps": 60_000}},
        ],
    }
    first_dir = tmp_path / "out" / "small" / "short" / "rlsuite_CartPole-v1" / "seed0"
    second_dir = tmp_path / "out" / "small" / "long" / "rlsuite_CartPole-v1" / "seed0"
    sweep_file = write_sweep(tmp_path, data)
    command = [sys.executable, "-m", "rlsuite.cli", "sweep", str(sweep_file), "--root", str(tmp_path / "out")]
    # A shell without job control starts background commands with SIGINT ignored, and children inherit
    # that (a suite launched with `&` would make the sweep deaf to Ctrl-C): give the sweep the default.
    process = subprocess.Popen(
        [*command, "--workers", "1", "--no-report", "--quiet"],
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 240
    while not (second_dir / "metrics.csv").exists() and time.time() < deadline:
        time.sleep(0.1)  # until the second run is in its training loop
    assert process.poll() is None, f"the sweep ended (code {process.returncode}) before the interrupt"
    process.send_signal(signal.SIGINT)
    code = process.wait(timeout=120)
    assert code == 130, f"exit code {code}; second run status {run_status(second_dir)}"
    assert run_status(first_dir) == "done" and run_status(second_dir) == "partial"
    kept = (first_dir / "summary.json").stat().st_mtime_ns
    result = run_sweep(sweep_file, root=tmp_path / "out", quiet=True)
    assert [o.id for o in result.outcomes] == ["long/rlsuite_CartPole-v1/seed0"]
    assert result.outcomes[0].status == "done" and (first_dir / "summary.json").stat().st_mtime_ns == kept
    assert "resuming" in (second_dir / "train.log").read_text()


def test_only_runs_the_matching_runs(tmp_path, capsys):
    code = main(
        [
            "sweep",
            str(write_sweep(tmp_path, SMALL)),
            "--root",
            str(tmp_path),
            "--dry-run",
            "--only",
            "sb3_PPO/*/seed1",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "2 to run" in out
    with pytest.raises(SweepError, match="--only nothing/\\* matches no run; run ids look like ppo/"):
        run_sweep(write_sweep(tmp_path, SMALL), root=tmp_path, only=["nothing/*"], quiet=True)
