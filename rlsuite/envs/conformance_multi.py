"""Conformance checks of multi-agent ids (PettingZoo ``ParallelEnv`` and their team vector forms); see
:mod:`rlsuite.envs.checks`."""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from rlsuite.envs.conformance_single import EPISODE_CAP, SEED, CheckSkipped, _expect
from rlsuite.envs.inputs import EpisodeOver
from rlsuite.envs.registry import make, make_vec, spec


def _quiet(fn: Callable[[], Any]) -> Any:
    """Run one of PettingZoo's tests without its advisory warnings and progress prints."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        return fn()


def parallel_api_test(env_id: str, steps: int) -> None:
    from pettingzoo.test import parallel_api_test as test

    _quiet(lambda: test(make(env_id), num_cycles=steps))


def parallel_seed_test(env_id: str, steps: int) -> None:
    from pettingzoo.test import parallel_seed_test as test

    _quiet(lambda: test(lambda: make(env_id)))


def render_test(env_id: str, steps: int) -> None:
    """PettingZoo's render test on the AEC form, every declared mode (``human`` under the current SDL video
    driver: ``SDL_VIDEODRIVER=dummy`` on a headless machine)."""
    from pettingzoo.test import render_test as test
    from pettingzoo.utils.conversions import parallel_to_aec

    if not make(env_id).metadata.get("render_modes"):
        raise CheckSkipped("the env declares no render modes")
    _quiet(lambda: test(lambda render_mode=None: parallel_to_aec(make(env_id, render_mode=render_mode))))


def aec_api_test(env_id: str, steps: int) -> None:
    """The AEC conversion (``parallel_to_aec``) through PettingZoo's ``api_test``."""
    from pettingzoo.test import api_test
    from pettingzoo.utils.conversions import parallel_to_aec

    _quiet(lambda: api_test(parallel_to_aec(make(env_id)), num_cycles=steps))


def _agent_obs(obs: Any) -> np.ndarray:
    return np.asarray(obs["observation"] if isinstance(obs, dict) else obs, dtype=np.float64)


def _masked_actions(env: Any, obs: dict, infos: dict, rng: np.random.Generator) -> dict[str, int]:
    actions = {}
    for agent in env.agents:
        mask = obs[agent]["action_mask"] if isinstance(obs[agent], dict) else infos[agent].get("action_mask")
        choices = np.flatnonzero(mask) if mask is not None else np.arange(env.action_space(agent).n)
        actions[agent] = int(rng.choice(choices))
    return actions


def vector_seeding(env_id: str, steps: int, n: int = 3) -> None:
    """Every team vector form: ``make_vec(id, n).reset(seed=s)`` gives env ``i`` what the PettingZoo env gives
    after ``reset(seed=s + i)``, and the same actions keep them equal to the end of that first episode."""
    modes = ["auto", "sync"] if spec(env_id).has_native_vector else ["auto"]
    rng = np.random.default_rng(SEED)
    for mode in modes:
        vec = make_vec(env_id, n, vectorization=mode)
        obs, info = vec.reset(seed=SEED)
        singles = [make(env_id) for _ in range(n)]
        single_obs = [s.reset(seed=SEED + i)[0] for i, s in enumerate(singles)]
        offset = vec.single_action_space.n - singles[0].action_space(singles[0].possible_agents[0]).n
        running = [True] * n
        for t in range(min(steps, 200) + 1):
            for i, single in enumerate(singles):
                if running[i]:
                    for k, agent in enumerate(single.possible_agents):
                        if agent in single.agents:
                            same = np.array_equal(
                                _agent_obs(single_obs[i][agent]), obs[i, k].astype(np.float64)
                            )
                            assert same, f"{mode}: env {i}, agent {agent}: observation at step {t}"
            mask = np.asarray(info["action_mask"], dtype=bool)
            actions = np.array([[int(rng.choice(np.flatnonzero(m))) for m in env] for env in mask])
            obs, reward, terminated, truncated, info = vec.step(actions)
            for i, single in enumerate(singles):
                if not running[i]:
                    continue
                joint = {agent: int(actions[i, k]) - offset for k, agent in enumerate(single.possible_agents)}
                out = single.step({a: joint[a] for a in single.agents})
                single_obs[i], rewards = out[0], out[1]
                assert np.isclose(float(np.mean(list(rewards.values()))), float(reward[i]), atol=1e-5), (
                    f"{mode}: env {i}: reward at step {t}"
                )
                assert (not single.agents) == bool(terminated[i] or truncated[i]), f"{mode}: env {i} end"
                running[i] = bool(single.agents)
            if not any(running):
                break
        vec.close()


def _trace(env_id: str, steps: int) -> list[Any]:
    env = make(env_id)
    rng = np.random.default_rng(SEED)
    obs, infos = env.reset(seed=SEED)
    trace: list[Any] = []
    for _ in range(steps):
        if not env.agents:
            obs, infos = env.reset()
        obs, rewards, terms, truncs, infos = env.step(_masked_actions(env, obs, infos, rng))
        trace.append(({a: _agent_obs(o) for a, o in obs.items()}, rewards, terms, truncs))
    return trace


def determinism(env_id: str, steps: int) -> None:
    """Two seeded runs of the PettingZoo env (``steps`` steps, resets included, seeded masked actions) are
    identical, and so are two seeded runs of its team vector env."""
    first, second = _trace(env_id, steps), _trace(env_id, steps)
    for t, (a, b) in enumerate(zip(first, second)):
        assert a[1:] == b[1:] and a[0].keys() == b[0].keys(), f"step {t}: rewards or ends differ"
        assert all(np.array_equal(a[0][k], b[0][k]) for k in a[0]), f"step {t}: observations differ"
    runs = []
    for _ in range(2):
        vec, rng = make_vec(env_id, 2), np.random.default_rng(SEED)
        obs, info = vec.reset(seed=SEED)
        trace = [obs]
        for _ in range(min(steps, 200)):
            mask = np.asarray(info["action_mask"], dtype=bool)
            actions = np.array([[int(rng.choice(np.flatnonzero(m))) for m in env] for env in mask])
            obs, reward, terminated, truncated, info = vec.step(actions)
            trace += [obs, reward, terminated, truncated]
        runs.append(trace)
        vec.close()
    assert all(np.array_equal(x, y) for x, y in zip(*runs)), "the team vector env is not reproducible"


def inputs(env_id: str, steps: int) -> None:
    """Bad inputs get rlsuite's clear errors: string, float and bool actions, options not a dict, bad
    seeds (single and vector), a step after every agent is done."""
    env = make(env_id)
    obs, infos = env.reset(seed=SEED)
    rng = np.random.default_rng(SEED)
    valid = _masked_actions(env, obs, infos, rng)
    agent = env.agents[0]
    for bad in (str(valid[agent]), float(valid[agent]) + 0.5, True, None):
        _expect(ValueError, agent, lambda b=bad: env.step({**valid, agent: b}))
    _expect(ValueError, "options", lambda: env.reset(options=[1]))
    for bad in (True, "3", -1):
        _expect(ValueError, "seed", lambda b=bad: env.reset(seed=b))
    vec = make_vec(env_id, 2)
    for bad in (True, "3", [0]):
        _expect(ValueError, "seed", lambda b=bad: vec.reset(seed=b))
    _expect(ValueError, "options", lambda: vec.reset(options="x"))
    vec.close()
    obs, infos = env.reset(seed=SEED)
    for _ in range(EPISODE_CAP):
        obs, _, _, _, infos = env.step(_masked_actions(env, obs, infos, rng))
        if not env.agents:
            _expect(EpisodeOver, "call reset", lambda: env.step(valid))
            return
    raise CheckSkipped(f"no episode ended within {EPISODE_CAP} random steps")


MULTI_AGENT_CHECKS: dict[str, Callable[[str, int], None]] = {
    "parallel_api_test": parallel_api_test,
    "parallel_seed_test": parallel_seed_test,
    "render_test": render_test,
    "aec_api_test": aec_api_test,
    "vector_seeding": vector_seeding,
    "determinism": determinism,
    "inputs": inputs,
}
