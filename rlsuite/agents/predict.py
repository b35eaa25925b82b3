"""``predict``: Stable-Baselines3's acting call, ``(observation, state) -> (action, state)``, for every
kind of rlsuite policy, on top of the agents' own ``act`` methods (one function, easy to re-point).

* single-agent policies: one observation (shape of the observation space) gives one action, a batch
  ``[N, ...]`` gives ``[N, ...]`` actions; observation normalisation is inside the agent;
* team (multi-agent) policies: observations ``[n_agents, obs]`` or ``[N, n_agents, obs]`` plus the
  env's ``info`` (``state``, ``action_mask``, entity features), a dict holding ``obs``, ``state`` and
  ``action_mask``, or a :class:`~rlsuite.core.team.TeamObservation`; actions ``[n_agents]`` or
  ``[N, n_agents]``. Recurrent policies return their hidden
  state; pass it back as ``state`` with ``episode_start`` marking games that just began;
* text policies: a prompt (or a list of prompts) gives a response (or an array of responses).

Team policies act through the :class:`~rlsuite.agents.base.Policy` protocol with the caller's ``state``,
so the memory training carries between steps is left as it was.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from rlsuite.agents.base import as_policy
from rlsuite.core.team import TeamObservation

TEAM_KEYS = ("state", "action_mask")


def predict_actions(
    agent: Any,
    observation: Any,
    *,
    kind: str,
    observation_shape: tuple[int, ...] | None = None,
    state: Any = None,
    episode_start: Any = None,
    deterministic: bool = True,
    info: Mapping[str, Any] | None = None,
) -> tuple[Any, Any]:
    """``(actions, state)`` of ``agent`` for ``observation``; ``kind`` is ``single``, ``team`` or ``text``."""
    with torch.inference_mode():
        if kind == "text":
            return _text(agent, observation, deterministic), None
        if kind == "team":
            return _team(agent, observation, info, state, episode_start, deterministic)
        return _single(agent, observation, observation_shape, deterministic), None


def _single(agent: Any, observation: Any, shape: tuple[int, ...] | None, deterministic: bool) -> np.ndarray:
    obs = np.asarray(observation)
    one = shape is not None and obs.shape == tuple(shape)
    actions = np.asarray(agent.act(obs[None] if one else obs, deterministic=deterministic))
    return actions[0] if one else actions


def _text(agent: Any, observation: Any, deterministic: bool) -> Any:
    if isinstance(observation, str):
        return str(agent.act([observation], deterministic=deterministic)[0])
    return agent.act(list(observation), deterministic=deterministic)


def _team_observation(observation: Any, info: Mapping[str, Any] | None) -> tuple[TeamObservation, bool]:
    """The batched typed observation ``[N, ...]`` and whether one game (no batch axis) was given."""
    if isinstance(observation, TeamObservation):
        one = observation.obs.ndim == 2
        if not one:
            return observation, False
        return TeamObservation(*(None if v is None else _batched(v) for v in _fields(observation))), True
    if isinstance(observation, Mapping):
        info = {**observation, **(info or {})}
        observation = observation["obs"]
    info = dict(info or {})
    missing = [key for key in TEAM_KEYS if key not in info]
    if missing:
        raise ValueError(
            f"a team policy needs the env's {', '.join(missing)} with the observations: pass info= (the "
            "info dict the env returned), a dict observation with obs, state and action_mask, or a "
            "rlsuite.core.team.TeamObservation"
        )
    obs = np.asarray(observation, np.float32)
    one = obs.ndim == 2
    if one:
        obs = obs[None]
        info = {k: np.asarray(v)[None] if isinstance(v, np.ndarray | list) else v for k, v in info.items()}
    return TeamObservation.from_info(obs, info), one


def _fields(observation: TeamObservation) -> tuple[Any, ...]:
    return observation.obs, observation.state, observation.action_mask, observation.entities


def _batched(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value[None]
    # EntityObservation: every field gains the batch axis
    return type(value)(*(np.asarray(getattr(value, f.name))[None] for f in dataclasses.fields(value)))


def _team(agent, observation, info, state, episode_start, deterministic) -> tuple[np.ndarray, Any]:
    """One step of a team :class:`~rlsuite.agents.base.Policy` with the caller's ``state`` (fresh episodes
    when None); the policy's own training memory is never touched."""
    team_obs, one = _team_observation(observation, info)
    policy = as_policy(agent)
    if state is None:
        state = policy.initial_state(team_obs.num_envs)
    if episode_start is not None:
        starts = np.flatnonzero(np.atleast_1d(np.asarray(episode_start, bool)))
        if starts.size:
            state = policy.reset_state(state, starts)
    actions, new_state = policy.step(team_obs, state, deterministic=deterministic)
    actions = np.asarray(actions)
    return (actions[0] if one else actions), new_state
