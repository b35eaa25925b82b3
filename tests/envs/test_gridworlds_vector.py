"""The batched vector envs of all three worlds against ``SyncVectorEnv(SAME_STEP)`` over their single envs:
identical observations, rewards, flags and infos (``final_obs``/``final_info`` included), reset masks,
checkpoints, renders, and the registry/``make_vec`` wiring."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, SyncVectorEnv

import rlsuite
from rlsuite.envs.gridworlds.maze import MazeEnv, MazeVectorEnv
from rlsuite.envs.gridworlds.sokoban import SokobanEnv, SokobanVectorEnv
from rlsuite.envs.gridworlds.taxi import TaxiEnv, TaxiVectorEnv

WORLDS = {
    "sokoban": (SokobanEnv, SokobanVectorEnv, {"max_steps": 12}),
    "sokoban-pool": (SokobanEnv, SokobanVectorEnv, {"max_steps": 12, "pool_size": 6, "num_boxes": 2}),
    "maze": (MazeEnv, MazeVectorEnv, {"max_steps": 9, "size": 6}),
    "taxi": (TaxiEnv, TaxiVectorEnv, {"max_steps": 10}),
    "taxi-rainy-index": (TaxiEnv, TaxiVectorEnv, {"max_steps": 10, "is_rainy": True, "observation": "index"}),
}


def assert_same(a: Any, b: Any, path: str = "") -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{path}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            assert_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, np.ndarray) and a.dtype == object:
        assert isinstance(b, np.ndarray) and a.shape == b.shape, path
        for i, (x, y) in enumerate(zip(a, b)):
            assert (x is None) == (y is None), f"{path}[{i}]"
            if x is not None:
                np.testing.assert_array_equal(x, y, err_msg=f"{path}[{i}]")
    else:
        np.testing.assert_array_equal(a, b, err_msg=path)
        if isinstance(a, np.ndarray):
            assert a.dtype == np.asarray(b).dtype, f"{path}: dtype {a.dtype} != {np.asarray(b).dtype}"


@pytest.mark.parametrize("world", sorted(WORLDS))
def test_vector_env_equals_sync_vector_env_of_single_envs(world):
    single_cls, vector_cls, kwargs = WORLDS[world]
    n = 4
    ours = vector_cls(num_envs=n, **kwargs)
    sync = SyncVectorEnv(
        [lambda: single_cls(**kwargs) for _ in range(n)], autoreset_mode=AutoresetMode.SAME_STEP
    )
    assert ours.single_observation_space == sync.single_observation_space
    assert ours.single_action_space == sync.single_action_space
    assert_same(ours.reset(seed=11), sync.reset(seed=11))
    rng = np.random.default_rng(0)
    finished = 0
    for _ in range(60):
        actions = rng.integers(0, ours.single_action_space.n, size=n)
        got, expected = ours.step(actions), sync.step(actions)
        assert_same(got, expected)
        finished += int((got[2] | got[3]).sum())
    assert finished >= n  # autoresets were exercised
    mask = np.array([True, False, True, False])
    assert_same(ours.reset(options={"reset_mask": mask}), sync.reset(options={"reset_mask": mask}))
    for _ in range(5):
        actions = rng.integers(0, ours.single_action_space.n, size=n)
        assert_same(ours.step(actions), sync.step(actions))


@pytest.mark.parametrize("world", ["sokoban", "maze", "taxi"])
def test_checkpoint_round_trip(world):
    _, vector_cls, kwargs = WORLDS[world]
    env = vector_cls(num_envs=3, **kwargs)
    env.reset(seed=2)
    rng = np.random.default_rng(1)
    for _ in range(7):
        env.step(rng.integers(0, env.single_action_space.n, size=3))
    state = env.get_state()
    actions = rng.integers(0, env.single_action_space.n, size=(20, 3))
    first = [env.step(a) for a in actions]
    restored = vector_cls(num_envs=3, **kwargs)
    restored.set_state(state)
    for a, expected in zip(actions, first):
        assert_same(restored.step(a), expected)


def test_registry_ids_and_make_vec():
    assert set(rlsuite.list_envs("gridworld")) == {"rlsuite/Sokoban-v0", "rlsuite/Maze-v0", "rlsuite/Taxi-v0"}
    assert set(rlsuite.list_envs("text")) >= {
        "rlsuite/SokobanText-v0",
        "rlsuite/MazeText-v0",
        "rlsuite/TaxiText-v0",
    }
    venv = rlsuite.make_vec("rlsuite/Sokoban-v0", 8, dim_room=(7, 7), num_boxes=2, pool_size=8)
    assert isinstance(venv, SokobanVectorEnv) and venv.observation_space.shape == (8, 7, 7, 7)
    assert venv.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    env = gym.make("rlsuite/Maze-v0", size=9, kind="perfect")
    obs, info = env.reset(seed=0)
    assert obs.shape == (5, 9, 9) and info["action_mask"].shape == (4,)
    taxi = rlsuite.make("rlsuite/Taxi-v0", observation="index")
    assert taxi.observation_space == gym.spaces.Discrete(500)


@pytest.mark.parametrize("world", ["sokoban", "maze", "taxi"])
def test_renders(world):
    _, vector_cls, kwargs = WORLDS[world]
    for mode in ("rgb_array", "ansi", "text"):
        env = vector_cls(num_envs=2, render_mode=mode, **kwargs)
        env.reset(seed=0)
        out = env.render()
        if mode == "rgb_array":
            assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3 and out.std() > 0
        else:
            assert isinstance(out, str) and ("\x1b[" in out) == (mode == "ansi")
