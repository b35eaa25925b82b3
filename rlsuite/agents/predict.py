"""``predict``: Stable-Baselines3's acting call, ``(observation, state) -> (action, state)``, for every
kind of rlsuite policy, on top of the agents' own ``act`` methods (one function, easy to re-point).

* single-agent policies: one observation (shape of the observation space) gives one action, a batch
  ``[N, ...]`` gives ``[N, ...]`` actions; observation normalisation is inside the agent;
* team (multi-agent) policies: observations ``[n_agents, obs]`` or ``[N, n_agents, obs]`` plus the
  env's ``info`` (``state``, ``action_mask``, entity features), or a dict holding ``obs``, ``state`` and
  ``action_mask``; actions ``[n_agents]`` or ``[N, n_agents]``. Recurrent policies return their hidden
  state; pass it back as ``state`` with ``episode_start`` marking games that just began;
* text policies: a prompt (or a list of prompts) gives a response (or an array of responses).

The agent's own memory (what training or evaluation carries between steps) is left as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

_ABSENT = object()
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


def _team_inputs(observation: Any, info: Mapping[str, Any] | None) -> tuple[np.ndarray, dict, bool]:
    """The batched ``obs [N, n_agents, obs]`` and info, and whether one game (no batch axis) was given."""
    if isinstance(observation, Mapping):
        info = {**observation, **(info or {})}
        observation = observation["obs"]
    info = dict(info or {})
    missing = [key for key in TEAM_KEYS if key not in info]
    if missing:
        raise ValueError(
            f"a team policy needs the env's {', '.join(missing)} with the observations: pass info= (the "
            "info dict the env returned) or a dict observation with obs, state and action_mask"
        )
    obs = np.asarray(observation, np.float32)
    one = obs.ndim == 2
    if one:
        obs = obs[None]
        info = {k: np.asarray(v)[None] if isinstance(v, np.ndarray | list) else v for k, v in info.items()}
    return obs, info, one


def _team(agent, observation, info, state, episode_start, deterministic) -> tuple[np.ndarray, Any]:
    obs, info, one = _team_inputs(observation, info)
    num_envs = obs.shape[0]
    saved = getattr(agent, "memory", _ABSENT)
    try:
        if saved is not _ABSENT:
            if state is None:
                agent.reset(num_envs)
            else:
                agent.memory = state
            if episode_start is not None:
                starts = np.flatnonzero(np.atleast_1d(np.asarray(episode_start, bool)))
                if starts.size:
                    agent.reset(num_envs, starts)
        actions = np.asarray(agent.act(obs, info, deterministic=deterministic))
        new_state = getattr(agent, "memory", None)
    finally:
        if saved is not _ABSENT:
            agent.memory = saved
    return (actions[0] if one else actions), new_state
