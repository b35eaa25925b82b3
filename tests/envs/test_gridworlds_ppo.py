"""PPO learns 7x7 random mazes from one-hot grid observations (a fixed-seed learning test on the batched
core; about 15 s on one CPU thread). Random play succeeds in about half the episodes within 30 steps."""

from __future__ import annotations

from rlsuite.algos.ppo import PPO, PPOConfig
from rlsuite.config import EnvConfig
from rlsuite.envs.gridworlds.maze import MazeVectorEnv


def success_rate(result) -> float:
    return sum(result.successes) / len(result.successes)


def test_ppo_learns_7x7_mazes(margin):
    env = EnvConfig(id="rlsuite/Maze-v0", num_envs=64, kwargs={"size": 7, "max_steps": 30})
    config = PPOConfig(
        num_steps=32, minibatch_size=512, update_epochs=4, lr=1e-3, gamma=0.95, ent_coef=0.01,
        hidden_sizes=(128, 128), activation="relu", normalize_obs=True,
    )  # fmt: skip
    algo = PPO(env, config, seed=0, device="cpu")
    assert isinstance(algo.env, MazeVectorEnv)
    before = success_rate(algo.evaluate(200, deterministic=False))
    algo.learn(150_000)
    after = success_rate(algo.evaluate(500, deterministic=False))
    assert margin("success before training", before, 0.6, above=False)
    assert margin("success after training", after, 0.8)
