"""Conformance checks of single-agent ids (Gymnasium ``Env`` and their vector forms); see
:mod:`rlsuite.envs.checks`. Each check raises on failure and :class:`CheckSkipped` when it cannot apply."""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.utils.env_checker import data_equivalence

from rlsuite.envs.inputs import EpisodeOver
from rlsuite.envs.registry import make, make_vec, spec

SEED = 123
EPISODE_CAP = 5000  # steps a check plays at most to see an episode end


class CheckSkipped(Exception):
    """A check that does not apply here (the reason is reported)."""


# Gymnasium originals of rlsuite ids: (original id, kwargs of the rlsuite env, info comparison).
def gymnasium_original(env_id: str) -> tuple[str, dict[str, Any], str] | None:
    entry = spec(env_id)
    name = env_id.split("/")[-1]
    if entry.family == "mujoco":
        return name, {}, "equivalence"
    if env_id == "rlsuite/CartPole-v1":
        return "CartPole-v1", {"random_stream": "gymnasium"}, "equivalence"
    if env_id == "rlsuite/Taxi-v0":
        return "Taxi-v4", {"random_stream": "gymnasium", "observation": "index"}, "superset"
    return None


def _render_mode(env_id: str) -> str | None:
    modes = [m for m in (make(env_id).metadata.get("render_modes") or []) if m != "human"]
    return modes[0] if modes else None


def _quiet(fn: Callable[[], Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the checkers' advisory warnings are not failures
        return fn()


def gymnasium_check_env(env_id: str, steps: int) -> None:
    """Gymnasium's ``check_env`` on the unwrapped env, with its render check in the env's first mode."""
    from gymnasium.utils.env_checker import check_env

    mode = _render_mode(env_id)
    env = make(env_id, render_mode=mode) if mode else make(env_id)
    try:
        _quiet(lambda: check_env(env.unwrapped, skip_render_check=mode is None))
    finally:
        env.close()


def gymnasium_env_match(env_id: str, steps: int) -> None:
    """``check_environments_match`` against the Gymnasium original over ``steps`` steps (types included),
    then rendered frames over a few steps where the env renders ``rgb_array``."""
    from gymnasium.utils.env_match import check_environments_match

    original = gymnasium_original(env_id)
    if original is None:
        raise CheckSkipped("no Gymnasium original")
    name, kwargs, info = original
    _quiet(
        lambda: check_environments_match(
            gym.make(name), make(env_id, **kwargs), steps, SEED, info_comparison=info
        )
    )
    if spec(env_id).family == "mujoco":
        size = {"width": 64, "height": 48}
        a = gym.make(name, render_mode="rgb_array", **size)
        b = make(env_id, render_mode="rgb_array", **kwargs, **size)
        _quiet(lambda: check_environments_match(a, b, 3, SEED, info_comparison=info))


def sb3_check_env(env_id: str, steps: int) -> None:
    """Stable-Baselines3's ``check_env`` with its render check."""
    if importlib.util.find_spec("stable_baselines3") is None:
        raise CheckSkipped("stable-baselines3 is not installed (pip install 'rlsuite[sb3]')")
    from stable_baselines3.common.env_checker import check_env

    probe = make(env_id)
    if isinstance(probe.observation_space, gym.spaces.Text) or isinstance(
        probe.action_space, gym.spaces.Text
    ):
        raise CheckSkipped("SB3 has no Text spaces (LLM text envs)")
    mode = _render_mode(env_id)
    env = make(env_id, render_mode=mode) if mode else probe
    _quiet(lambda: check_env(env, warn=True, skip_render_check=mode is None))


def vector_api(env_id: str, steps: int) -> None:
    """``make_vec`` keeps the single env's spaces, batches correctly and reproduces under a seed."""
    rollouts = []
    for _ in range(2):
        env, single = make_vec(env_id, 3), make(env_id)
        try:
            assert env.single_observation_space == single.observation_space, "vector obs space differs"
            assert env.single_action_space == single.action_space, "vector action space differs"
            env.action_space.seed(0)
            obs, _ = env.reset(seed=SEED)
            trace = [obs]
            for _ in range(min(steps, 100)):
                obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
                assert obs in env.observation_space, f"observation outside the space: {obs}"
                assert reward.shape == (3,) and terminated.shape == (3,) == truncated.shape
                trace.append(obs)
            rollouts.append(trace)
        finally:
            env.close()
            single.close()
    assert data_equivalence(rollouts[0], rollouts[1], exact=True), "same seed gave different vector rollouts"


def vector_seeding(env_id: str, steps: int, n: int = 3) -> None:
    """Every vector form: ``make_vec(id, n).reset(seed=s)`` gives env ``i`` what the env reset with ``s + i``
    gives, and the same actions keep them equal to the end of that first episode."""
    modes = ["auto", "sync"] if spec(env_id).has_native_vector else ["auto"]
    for mode in modes:
        vec = make_vec(env_id, n, vectorization=mode)
        vec.action_space.seed(SEED)
        obs, _ = vec.reset(seed=SEED)
        singles = [make(env_id) for _ in range(n)]
        first = [s.reset(seed=SEED + i)[0] for i, s in enumerate(singles)]
        running = [True] * n
        for i in range(n):
            assert data_equivalence(obs[i], first[i]), (
                f"{mode}: reset of env {i} differs from seed {SEED + i}"
            )
        for t in range(min(steps, 200)):
            actions = vec.action_space.sample()
            obs, rewards, terminated, truncated, _ = vec.step(actions)
            for i, single in enumerate(singles):
                if not running[i]:
                    continue
                o, r, te, tr, _ = single.step(actions[i])
                assert bool(te) == bool(terminated[i]) and bool(tr) == bool(truncated[i]), (
                    f"{mode}: env {i} end"
                )
                assert np.isclose(float(r), float(rewards[i])), f"{mode}: env {i} reward at step {t}"
                if te or tr:
                    running[i] = False
                else:
                    assert data_equivalence(obs[i], o), f"{mode}: env {i} observation at step {t}"
            if not any(running):
                break
        vec.close()


def _trace(env_id: str, steps: int) -> list[Any]:
    env = make(env_id)
    env.action_space.seed(SEED)
    obs, _ = env.reset(seed=SEED)
    trace: list[Any] = [obs]
    for _ in range(steps):
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        trace += [obs, float(reward), bool(terminated), bool(truncated)]
        if terminated or truncated:
            trace.append(env.reset()[0])
    env.close()
    return trace


def determinism(env_id: str, steps: int) -> None:
    """Two seeded runs of ``steps`` steps (resets included) under the same seeded actions are identical."""
    first, second = _trace(env_id, steps), _trace(env_id, steps)
    assert data_equivalence(first, second, exact=True), "same seed and actions gave different trajectories"


def inputs(env_id: str, steps: int) -> None:
    """Bad inputs get rlsuite's clear errors: options not a dict, seeds that are not non-negative ints
    (single and vector), a step after the episode ended."""
    env = make(env_id)
    env.reset(seed=SEED)  # Gymnasium's passive checker needs one good reset before a failing one
    for bad in ([1], "x"):
        _expect(ValueError, "options", lambda b=bad: env.reset(options=b))
    for bad in (True, "3", 1.5):
        _expect(ValueError, "seed", lambda b=bad: env.reset(seed=b))
    vec = make_vec(env_id, 2)
    for bad in (True, "3", [0]):
        _expect(ValueError, "seed", lambda b=bad: vec.reset(seed=b))
    vec.close()
    env.reset(seed=SEED)
    env.action_space.seed(SEED)
    for _ in range(EPISODE_CAP):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            _expect(EpisodeOver, "call reset", lambda: env.step(env.action_space.sample()))
            return
    raise CheckSkipped(f"no episode ended within {EPISODE_CAP} random steps")


def _expect(error: type[Exception], text: str, fn: Callable[[], Any]) -> None:
    try:
        fn()
    except error as exc:
        assert text in str(exc), f"{type(exc).__name__} without {text!r}: {exc}"
        return
    except Exception as exc:  # the wrong kind of error
        raise AssertionError(f"expected {error.__name__} ({text}), got {type(exc).__name__}: {exc}") from exc
    raise AssertionError(f"expected {error.__name__} ({text}); nothing was raised")


SINGLE_AGENT_CHECKS: dict[str, Callable[[str, int], None]] = {
    "gymnasium_check_env": gymnasium_check_env,
    "gymnasium_env_match": gymnasium_env_match,
    "sb3_check_env": sb3_check_env,
    "vector_api": vector_api,
    "vector_seeding": vector_seeding,
    "determinism": determinism,
    "inputs": inputs,
}
