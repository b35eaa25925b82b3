import numpy as np
import pytest
import torch

from rlsuite.core.buffers import generalized_advantages
from rlsuite.core.checkpoint import CheckpointManager, latest_checkpoint, load_checkpoint
from rlsuite.core.device import resolve_device
from rlsuite.core.episodes import EpisodeTracker
from rlsuite.core.logger import MetricsLogger
from rlsuite.core.running_stats import RewardScaler, RunningMeanStd
from rlsuite.envs.registry import make_vec
from rlsuite.training.evaluation import evaluate_policy


def naive_gae(rewards, values, dones, last_values, gamma, lam):
    steps, envs = rewards.shape
    out = np.zeros_like(rewards)
    for n in range(envs):
        for t in range(steps):
            total, discount = 0.0, 1.0
            for k in range(t, steps):
                next_value = last_values[n] if k == steps - 1 else values[k + 1, n]
                delta = rewards[k, n] + gamma * (1 - dones[k, n]) * next_value - values[k, n]
                total += discount * delta
                if dones[k, n]:
                    break
                discount *= gamma * lam
            out[t, n] = total
    return out


def test_gae_matches_the_definition_with_episode_cuts():
    rng = np.random.default_rng(0)
    rewards = rng.normal(size=(12, 3)).astype(np.float32)
    values = rng.normal(size=(12, 3)).astype(np.float32)
    dones = (rng.random((12, 3)) < 0.2).astype(np.float32)
    last = rng.normal(size=3).astype(np.float32)
    got = generalized_advantages(rewards, values, dones, last, 0.99, 0.95)
    np.testing.assert_allclose(got, naive_gae(rewards, values, dones, last, 0.99, 0.95), rtol=1e-5, atol=1e-5)
    # lambda = 1, gamma = 1 and no cuts: advantage = (sum of future rewards + last value) - value
    ones = generalized_advantages(rewards, values, np.zeros_like(dones), last, 1.0, 1.0)
    mc = np.cumsum(rewards[::-1], axis=0)[::-1] + last - values
    np.testing.assert_allclose(ones, mc, rtol=1e-4, atol=1e-4)


def test_running_mean_std_equals_numpy_over_batches():
    rng = np.random.default_rng(1)
    data = rng.normal(3.0, 2.0, size=(1000, 4))
    stats = RunningMeanStd((4,), epsilon=0.0)
    for chunk in np.split(data, 10):
        stats.update(chunk)
    np.testing.assert_allclose(stats.mean, data.mean(0), rtol=1e-10)
    np.testing.assert_allclose(stats.var, data.var(0), rtol=1e-10)


def test_reward_scaler_divides_by_return_std_and_resets_on_done():
    scaler = RewardScaler(2, gamma=0.5, clip=100)
    out = scaler(np.array([1.0, 2.0]), np.array([True, False]))
    assert scaler.returns.tolist() == [0.0, 2.0]
    np.testing.assert_allclose(out, np.array([1.0, 2.0]) / np.sqrt(scaler.stats.var + 1e-8), rtol=1e-6)


def test_episode_tracker_window_and_state_round_trip():
    tracker = EpisodeTracker(2, window=2)
    for _ in range(3):
        tracker.step(np.array([1.0, 2.0]), np.array([False, False]))
    ended = tracker.step(np.array([1.0, 2.0]), np.array([True, False]))
    assert ended.tolist() == [0]
    assert tracker.summary()["rollout/ep_return_mean"] == 4.0
    copy = EpisodeTracker(2, window=2)
    copy.load_state_dict(tracker.state_dict())
    assert copy.summary() == tracker.summary()
    assert copy.returns.tolist() == [0.0, 8.0]


class ConstantAgent:
    device = torch.device("cpu")

    def act(self, obs, deterministic=False):
        return np.zeros(len(obs), np.int64)


def test_evaluate_policy_runs_exactly_the_requested_episodes():
    env = make_vec("rlsuite/CartPole-v1", 4)
    result = evaluate_policy(ConstantAgent(), env, 10, seed=3)
    assert len(result.returns) == len(result.lengths) == 10
    assert all(8 <= r <= 12 for r in result.returns)  # always pushing left falls after ~9-10 steps
    again = evaluate_policy(ConstantAgent(), env, 10, seed=3)
    assert again.returns == result.returns


def test_checkpoint_manager_keeps_newest_and_latest(tmp_path):
    manager = CheckpointManager(tmp_path, keep=2)
    for step in (10, 20, 30):
        manager.save({"step": step}, step)
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert names == ["latest.pt", "step_20.pt", "step_30.pt"]
    assert load_checkpoint(latest_checkpoint(tmp_path))["step"] == 30
    assert load_checkpoint(tmp_path)["step"] == 30
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no checkpoint in"):
        load_checkpoint(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")


def test_metrics_logger_truncates_rows_after_resume_step(tmp_path):
    logger = MetricsLogger(tmp_path, tensorboard=False)
    for step in (1, 2, 3):
        logger.log(step, {"a": step * 1.5})
    logger.log(4, {"a": 1.0, "b": 2.0})  # a new column rewrites the header
    resumed = MetricsLogger(tmp_path, tensorboard=False, resume_step=2)
    assert [int(r["step"]) for r in resumed.rows] == [1, 2]
    text = (tmp_path / "metrics.csv").read_text().splitlines()
    assert text[0] == "step,a,b" and len(text) == 3


def test_device_resolution_errors():
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="accepted values"):
        resolve_device("gpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            resolve_device("cuda")
