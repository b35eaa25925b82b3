"""Bad env inputs get the same clear errors in every family (rlsuite.envs.inputs): a step after the episode
ended, non-integer actions in the PettingZoo forms, ``reset(options=<not a dict>)``, and seeds that are not
non-negative ints in ``reset`` and ``make_vec(...).reset``."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rlsuite
from rlsuite.envs.inputs import EpisodeOver

SINGLE = ["rlsuite/CartPole-v1", "rlsuite/InvertedPendulum-v5", "rlsuite/Maze-v0", "rlsuite/TaxiText-v0",
          "rlsuite/Arithmetic-v0"]  # fmt: skip
MULTI = ["rlsuite/SMAC-3m-v0", "rlsuite/SMAC-10gen_zerg_5_vs_5-v0", "rlsuite/GRFSim-academy_corner-v0"]


@pytest.mark.parametrize("env_id", SINGLE)
def test_single_envs_refuse_a_step_after_the_end_bad_options_and_bad_seeds(env_id):
    env = rlsuite.make(env_id)
    with pytest.raises(EpisodeOver, match="call reset"):  # before the first reset too
        env.unwrapped.step(env.action_space.sample())
    env.reset(seed=0)
    env.action_space.seed(0)
    done = False
    while not done:
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        done = terminated or truncated
    with pytest.raises(gym.error.ResetNeeded, match="the episode is over"):
        env.step(env.action_space.sample())
    with pytest.raises(ValueError, match=r"reset\(options=...\) must be a dict or None, got list"):
        env.reset(options=[("low", -0.1)])
    for bad in (True, "3", 2.0, -1):
        with pytest.raises(ValueError, match="seed must be a non-negative int or None"):
            env.reset(seed=bad)
    env.reset(seed=1)
    env.step(env.action_space.sample())  # a reset starts a new episode


@pytest.mark.parametrize("env_id", [*SINGLE, *MULTI])
@pytest.mark.parametrize("vectorization", ["auto", "sync"])
def test_every_vector_form_refuses_bad_seeds_and_options(env_id, vectorization):
    vec = rlsuite.make_vec(env_id, 2, vectorization=vectorization)
    for bad in (True, "3", 1.5):
        with pytest.raises(ValueError, match="seed must be None, a non-negative int or a list of num_envs=2"):
            vec.reset(seed=bad)
    with pytest.raises(ValueError, match="num_envs=2 entries"):
        vec.reset(seed=[0])
    with pytest.raises(ValueError, match="seed\\[1\\] must be a non-negative int"):
        vec.reset(seed=[0, "1"])
    with pytest.raises(ValueError, match="must be a dict or None"):
        vec.reset(options=3)
    vec.reset(seed=[4, None])
    vec.close()


@pytest.mark.parametrize("env_id", MULTI)
def test_pettingzoo_forms_refuse_non_integer_actions_and_a_step_after_the_end(env_id):
    env = rlsuite.make(env_id)
    with pytest.raises(EpisodeOver):
        env.step({})
    obs, infos = env.reset(seed=0)
    agent = env.agents[0]
    ok = {a: int(np.flatnonzero(_mask(obs[a], infos[a]))[0]) for a in env.agents}
    for bad in ("1", 1.0, True, None, [1], np.float32(1)):
        with pytest.raises(ValueError, match=rf"agent {agent!r}: action .* is not an integer"):
            env.step({**ok, agent: bad})
    with pytest.raises(ValueError, match=rf"agent {agent!r}: action .* is outside"):
        env.step({**ok, agent: 10_000})
    env.step({**ok, agent: np.int64(ok[agent])})  # numpy integers are integers
    with pytest.raises(ValueError, match="must be a dict or None"):
        env.reset(options="fast")
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        env.reset(seed=True)
    rng = np.random.default_rng(0)
    obs, infos = env.reset(seed=1)
    while env.agents:
        actions = {a: int(rng.choice(np.flatnonzero(_mask(obs[a], infos[a])))) for a in env.agents}
        obs, _, _, _, infos = env.step(actions)
    with pytest.raises(EpisodeOver, match="call reset"):
        env.step(ok)


def _mask(obs, info):
    return obs["action_mask"] if isinstance(obs, dict) else info["action_mask"]


def test_the_smac_api_refuses_non_integer_actions_and_a_step_after_the_end():
    from rlsuite.envs.smac import StarCraft2Env

    env = StarCraft2Env("3m", seed=0)
    with pytest.raises(EpisodeOver):
        env.step([1, 1, 1])
    env.reset()
    with pytest.raises(ValueError, match="integer actions"):
        env.step(["stop", 1, 1])
    with pytest.raises(ValueError, match="3 actions"):
        env.step([1, 1])
