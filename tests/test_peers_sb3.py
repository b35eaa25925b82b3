"""Peers: the pausable training hand-off and the Stable-Baselines3 adapters inside rlsuite's loop."""

import csv
import json
import threading

import pytest

from rlsuite.algos import get_algorithm
from rlsuite.algos.base import Algorithm
from rlsuite.algos.peers.base import MissingPeerError, PausableTraining, require
from rlsuite.training.experiment import build_experiment, train

pytest.importorskip("stable_baselines3")


# --- the hand-off ------------------------------------------------------------------------------
def counting_target(log, steps=10, error_at=None):
    def target(pause):
        for step in range(steps):
            if not pause(step):
                log.append(("stopped", step))
                return
            if step == error_at:
                raise RuntimeError(f"boom at {step}")
            log.append(step)
        log.append("end")

    return target


def test_pausable_training_stops_at_each_goal_and_runs_one_side_at_a_time():
    log, caller = [], threading.current_thread()
    training = PausableTraining(counting_target(log))
    training.advance(3)
    assert log == [0, 1, 2] and not training.finished  # paused at step 3, before running it
    training.advance(7)
    assert log == [0, 1, 2, 3, 4, 5, 6]
    training.advance(100)
    assert log[-4:] == [7, 8, 9, "end"] and training.finished
    training.advance(200)  # nothing left to run
    assert threading.current_thread() is caller


def test_pausable_training_stop_ends_a_paused_call():
    log = []
    training = PausableTraining(counting_target(log))
    training.advance(2)
    training.stop()
    assert log == [0, 1, ("stopped", 2)] and training.finished


def test_pausable_training_hands_errors_to_the_caller():
    training = PausableTraining(counting_target([], error_at=4))
    training.advance(2)
    with pytest.raises(RuntimeError, match="boom at 4"):
        training.advance(9)
    assert training.finished


def test_missing_peer_library_names_the_extra(monkeypatch):
    with pytest.raises(MissingPeerError, match=r"pip install 'rlsuite\[tianshou\]'"):
        require("no_such_module_for_rlsuite", "tianshou:PPO", "tianshou")


# --- SB3 through rlsuite's loop ----------------------------------------------------------------
CARTPOLE = {
    "seed": 0,
    "device": "cpu",
    "torch_threads": 1,
    "env": {"id": "rlsuite/CartPole-v1", "num_envs": 8},
    "eval": {"episodes": 10},
    "log": {"tensorboard": False, "progress": False},
}
# RL Zoo's CartPole PPO, with 256-step rollouts of 8 envs.
PPO_KWARGS = {
    "n_steps": 256,
    "batch_size": 256,
    "n_epochs": 10,
    "gamma": 0.98,
    "gae_lambda": 0.8,
    "learning_rate": "lin_0.001",
    "ent_coef": 0.0,
}


def run(tmp_path, name, total_steps, kwargs, **extra):
    data = {**CARTPOLE, "total_steps": total_steps, "algo": {"name": name, "kwargs": kwargs}, **extra}
    data["run_dir"] = str(tmp_path)
    return train(build_experiment(data), quiet=True)


def rows(run_dir):
    with (run_dir / "metrics.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_sb3_ppo_learns_cartpole_through_the_loop(tmp_path, margin):
    run_dir = run(tmp_path, "sb3:PPO", 20_000, PPO_KWARGS)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["algo"] == "sb3:PPO" and summary["total_steps"] == 20_480  # whole 2048-step rollouts
    assert summary["eval_episodes"] == 10 and summary["sps"] > 0
    assert margin("eval return", summary["eval_return_mean"], 300)  # measured 474.0 (seed 0)


def test_sb3_runs_one_learn_call_so_schedules_span_the_run(tmp_path):
    """``lin_0.001`` decays over the whole run: SB3 logs lr = 1e-3 * (1 - steps / total) at each update."""
    table = rows(run(tmp_path, "sb3:PPO", 4096, {**PPO_KWARGS, "n_epochs": 1}))
    table = [r for r in table if r["train/learning_rate"]]  # not the final evaluation's own row
    assert [int(r["step"]) for r in table] == [2048 * (k + 1) for k in range(2)]
    # One row per 2048-step rollout; the lr logged is the one of that rollout's update.
    assert [float(r["train/learning_rate"]) for r in table] == pytest.approx([5e-4, 0.0])
    assert all(float(r["rollout/ep_return_mean"]) > 0 for r in table)


def test_sb3_same_seed_same_metrics(tmp_path):
    kwargs = {**PPO_KWARGS, "n_epochs": 2}
    first = rows(run(tmp_path / "a", "sb3:PPO", 4096, kwargs))
    second = rows(run(tmp_path / "b", "sb3:PPO", 4096, kwargs))
    assert first == second and len(first) == 3  # two rollouts and the final evaluation


def test_sb3_checkpoint_restores_the_model_and_continues(tmp_path):
    kwargs = {**PPO_KWARGS, "n_epochs": 2}
    run_dir = run(tmp_path, "sb3:PPO", 2048, kwargs)
    with pytest.warns(UserWarning, match="the peer's envs are not checkpointed"):
        algo = Algorithm.from_checkpoint(run_dir, device="cpu")
    try:
        assert algo.name == "sb3:PPO" and algo.global_step == algo.model.num_timesteps == 2048
        assert len(algo.evaluate(4).returns) == 4
        algo.learn(4096)
        assert algo.global_step == algo.model.num_timesteps == 4096
    finally:
        algo.close()


def test_sb3_sac_trains_off_policy_in_thousand_step_chunks(tmp_path):
    data = {
        "env": {"id": "Pendulum-v1", "num_envs": 1},
        "eval": {"episodes": 2},
    }
    kwargs = {"learning_starts": 1000, "buffer_size": 5000, "policy_kwargs": {"net_arch": [32, 32]}}
    run_dir = run(tmp_path, "sb3:SAC", 1500, kwargs, **data)
    table = rows(run_dir)
    assert [int(r["step"]) for r in table] == [1000, 1500, 1500]  # chunks, then the final evaluation
    assert float(table[1]["train/critic_loss"]) > 0 and float(table[1]["train/ent_coef"]) > 0
    with pytest.warns(UserWarning, match="starts new episodes"):
        algo = Algorithm.from_checkpoint(run_dir, device="cpu")
    try:
        assert algo.model.replay_buffer.size() == 1500  # saved with checkpoint.save_replay_buffer
    finally:
        algo.close()


def test_sb3_config_problems_name_unknown_keyword_arguments():
    algo_cls = get_algorithm("sb3:PPO")
    config = build_experiment(
        {"env": {"id": "x"}, "algo": {"name": "sb3:PPO", "kwargs": {"n_stpes": 8}}}
    ).algo
    (problem,) = algo_cls.config_problems(config)
    assert "SB3 PPO takes no n_stpes" in problem and "n_steps" in problem


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"learning_rate": "cos_1e-3"}, "learning_rate='cos_1e-3'; expected a number or 'lin_<number>'"),
        ({"policy_kwargs": {"activation_fn": "gelu"}}, "activation_fn='gelu'; accepted: tanh, relu"),
        ({"n_steps": "many"}, "sb3:PPO"),
    ],
)
def test_sb3_bad_keyword_values_are_reported(tmp_path, kwargs, message):
    with pytest.raises((ValueError, TypeError), match=None) as error:
        run(tmp_path, "sb3:PPO", 512, kwargs)
    assert message in str(error.value)


def test_sb3_rejects_an_impossible_pair():
    with pytest.raises(
        ValueError, match="sb3:SAC cannot train on 'rlsuite/CartPole-v1': the env has discrete"
    ):
        get_algorithm("sb3:SAC")("rlsuite/CartPole-v1", seed=0, device="cpu")


def test_sb3_vecnormalize_keeps_raw_returns_and_checkpoints_its_statistics(tmp_path):
    data = {"total_steps": 2048, "algo": {"name": "sb3:PPO", "kwargs": {**PPO_KWARGS, "n_epochs": 1}}}
    data["algo"].update(normalize_obs=True, normalize_reward=True)
    run_dir = train(build_experiment({**CARTPOLE, **data, "run_dir": str(tmp_path)}), quiet=True)
    row = rows(run_dir)[0]
    # CartPole pays 1 per step: raw episode returns equal episode lengths (scaled rewards would not).
    assert float(row["rollout/ep_return_mean"]) == float(row["rollout/ep_length_mean"]) > 10
    with pytest.warns(UserWarning):
        algo = Algorithm.from_checkpoint(run_dir, device="cpu")
    try:
        assert algo.normalizer is not None and algo.normalizer.obs_rms.count > 2048
        assert abs(algo.normalizer.obs_rms.var - 1.0).max() > 1e-3  # restored, not fresh statistics
    finally:
        algo.close()


def test_sb3_learn_called_again_continues_training():
    algo_cls = get_algorithm("sb3:PPO")
    config = algo_cls.config_cls(kwargs={"n_steps": 64, "n_epochs": 1})  # 8 envs x 64 = 512 per rollout
    algo = algo_cls("rlsuite/CartPole-v1", config, seed=0, device="cpu")
    try:
        algo.learn(1024)
        algo.learn(2048)
        assert algo.global_step == algo.model.num_timesteps == 2048
    finally:
        algo.close()
