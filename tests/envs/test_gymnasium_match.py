"""Gymnasium's own equivalence checker against the originals: MuJoCo v5, CartPole-v1, Taxi-v4.

``gymnasium.utils.env_match.check_environments_match`` compares observations, rewards, terminations and
infos *with their types* (``data_equivalence`` refuses a Python ``float`` where Gymnasium gives
``numpy.float64``), plus rendered frames when both envs render ``rgb_array``.
"""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_match import check_environments_match

import rlsuite
from rlsuite.envs.builtin import MUJOCO_TASKS


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MuJoCo's deprecation notes on some XMLs; check_env's advice
        yield


@pytest.mark.parametrize("task", MUJOCO_TASKS)
def test_mujoco_matches_gymnasium_with_types(task):
    original, ours = gym.make(f"{task}-v5"), rlsuite.make(f"rlsuite/{task}-v5")
    check_environments_match(original, ours, num_steps=300, seed=MUJOCO_TASKS.index(task))
    _, reward, *_, info = ours.step(ours.action_space.sample())
    expected = int if task == "InvertedPendulum" else np.float64
    assert type(reward) is expected
    if task in ("Hopper", "InvertedDoublePendulum"):
        assert type(info["reward_survive"]) is float  # Gymnasium's bool * float


@pytest.mark.parametrize("task", ["Hopper", pytest.param("Ant", marks=pytest.mark.slow)])
def test_mujoco_frames_match_gymnasium(task):
    """Frames show the data as mj_step leaves it, as Gymnasium draws it (Ant's batch keeps mjData anyway)."""
    original = gym.make(f"{task}-v5", render_mode="rgb_array", width=96, height=80)
    ours = rlsuite.make(f"rlsuite/{task}-v5", render_mode="rgb_array", width=96, height=80)
    check_environments_match(original, ours, num_steps=12, seed=3)


def test_mujoco_envs_survive_close():
    env = rlsuite.make("rlsuite/Hopper-v5", render_mode="rgb_array", width=64, height=64)
    first, _ = env.reset(seed=4)
    env.step(env.action_space.sample())
    assert env.render().shape == (64, 64, 3)
    env.close()
    env.step(env.action_space.sample())  # Gymnasium's env keeps its simulation after close()
    assert env.render().shape == (64, 64, 3)  # a new GL context
    np.testing.assert_array_equal(env.reset(seed=4)[0], first)
    env.close()
    env.close()

    vec = rlsuite.make_vec("rlsuite/Hopper-v5", 3)
    obs, _ = vec.reset(seed=4)
    vec.close()
    with pytest.raises(gym.error.ResetNeeded):
        vec.step(vec.action_space.sample())
    again, _ = vec.reset(seed=4)  # a new batch
    np.testing.assert_array_equal(again, obs)
    vec.step(vec.action_space.sample())
    vec.close()
    assert vec.closed


@pytest.mark.parametrize(
    "task", [t if t == "Hopper" else pytest.param(t, marks=pytest.mark.slow) for t in MUJOCO_TASKS]
)
def test_sb3_check_env_with_render_check(task):
    from stable_baselines3.common.env_checker import check_env

    env = rlsuite.make(f"rlsuite/{task}-v5", render_mode="rgb_array", width=48, height=48)
    check_env(env, warn=True, skip_render_check=False)  # closes, then resets again


@pytest.mark.parametrize("seed", [0, 7])
def test_cartpole_with_gymnasium_stream_matches_gymnasium(seed):
    ours = rlsuite.make("rlsuite/CartPole-v1", random_stream="gymnasium")
    check_environments_match(gym.make("CartPole-v1"), ours, num_steps=1200, seed=seed)


@pytest.mark.parametrize(
    "options",
    [{}, {"is_rainy": True}, {"fickle_passenger": True}, {"is_rainy": True, "fickle_passenger": True}],
)
def test_taxi_with_gymnasium_stream_matches_gymnasium(options):
    original = gym.make("Taxi-v4", **options)
    ours = rlsuite.make("rlsuite/Taxi-v0", random_stream="gymnasium", observation="index", **options)
    # our info adds ``is_success``; every key Gymnasium gives must be equal, of the same type
    check_environments_match(original, ours, num_steps=1500, seed=11, info_comparison="superset")


def test_default_streams_differ_and_vector_forms_refuse_the_gymnasium_stream():
    core = rlsuite.make("rlsuite/CartPole-v1")
    assert not np.array_equal(core.reset(seed=0)[0], gym.make("CartPole-v1").reset(seed=0)[0])
    for env_id in ("rlsuite/CartPole-v1", "rlsuite/Taxi-v0"):
        with pytest.raises(ValueError, match="random_stream='gymnasium' is offered by the single env only"):
            rlsuite.make_vec(env_id, 2, random_stream="gymnasium")
    with pytest.raises(ValueError, match="random_stream must be one of"):
        rlsuite.make("rlsuite/Taxi-v0", random_stream="pcg")
