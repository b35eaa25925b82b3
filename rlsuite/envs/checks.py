"""Conformance checks over the registry, and a throughput probe.

Single-agent ids go through Gymnasium's ``check_env`` (on the unwrapped env, as Gymnasium recommends)
plus a vector check of ``make_vec``; multi-agent ids through PettingZoo's ``parallel_api_test`` and
``parallel_seed_test``. Run ``rlsuite envs --check`` or ``check_all()`` on your own registrations.
"""

from __future__ import annotations

import time
import traceback
import warnings

import gymnasium as gym
import numpy as np

from rlsuite.envs.registry import list_envs, make, make_vec, spec


def check_env_id(env_id: str) -> None:
    """Raise if ``env_id`` breaks its API contract."""
    entry = spec(env_id)
    if entry.multi_agent:
        from pettingzoo.test import parallel_api_test, parallel_seed_test

        parallel_api_test(make(env_id), num_cycles=100)
        parallel_seed_test(lambda: make(env_id))
        return
    from gymnasium.utils.env_checker import check_env

    env = make(env_id)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # check_env's advisory warnings are not failures
            check_env(env.unwrapped, skip_render_check=True)
    finally:
        env.close()
    check_vector_env(env_id)


def check_vector_env(env_id: str, num_envs: int = 3, steps: int = 50) -> None:
    """``make_vec`` keeps the single env's spaces, batches correctly and reproduces under a seed."""
    rollouts = []
    for _ in range(2):
        env = make_vec(env_id, num_envs)
        single = make(env_id)
        try:
            assert env.single_observation_space == single.observation_space, "vector obs space differs"
            assert env.single_action_space == single.action_space, "vector action space differs"
            env.action_space.seed(0)
            obs, _ = env.reset(seed=123)
            trace = [obs]
            for _ in range(steps):
                obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
                assert obs in env.observation_space, f"observation outside the space: {obs}"
                assert reward.shape == (num_envs,) and terminated.shape == (num_envs,) == truncated.shape
                trace.append(obs)
            rollouts.append(np.stack(trace))
        finally:
            env.close()
            single.close()
    np.testing.assert_array_equal(rollouts[0], rollouts[1], err_msg="same seed gave different rollouts")


def check_all(ids: list[str] | None = None, *, verbose: bool = False) -> dict[str, str]:
    """Check every id (default: the whole registry); return ``{id: error}`` for the failures. Ids whose
    optional requirements (``EnvEntry.requires``) are not installed are skipped."""
    failures = {}
    for env_id in ids if ids is not None else list_envs():
        missing = spec(env_id).missing_requirements()
        if missing:  # an optional engine that is not installed: nothing to check
            if verbose:
                print(f"{env_id:42s} skipped: needs {', '.join(missing)}")
            continue
        try:
            check_env_id(env_id)
            status = "ok"
        except Exception as exc:
            failures[env_id] = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            status = f"FAILED: {failures[env_id]}"
        if verbose:
            print(f"{env_id:42s} {status}")
    return failures


def measure_throughput(
    env_id: str, num_envs: int, *, seconds: float = 1.0, vectorization: str = "auto"
) -> float:
    """Environment steps per second of ``make_vec(env_id, num_envs)`` under random actions."""
    env: gym.vector.VectorEnv = make_vec(env_id, num_envs, vectorization=vectorization)
    try:
        env.action_space.seed(0)
        actions = [env.action_space.sample() for _ in range(64)]
        env.reset(seed=0)
        for action in actions[:8]:  # warm-up (JIT compilation, caches)
            env.step(action)
        steps, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            for action in actions:
                env.step(action)
            steps += len(actions)
        return steps * num_envs / elapsed
    finally:
        env.close()
