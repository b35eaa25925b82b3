"""The acting contract: one :class:`Policy` protocol for single-agent, team and text policies.

A policy maps one step's batch of observations from a vector env to a batch of actions, on whatever torch
device it lives on; what it remembers between steps (a recurrent hidden state, the last actions) is an
explicit *state* the caller holds, one row per env::

    state = policy.initial_state(env.num_envs)              # None for policies without memory
    actions, state = policy.step(obs, state, deterministic=True)
    state = policy.reset_state(state, finished_rows)         # forget the episodes that ended

``obs`` is what the env observes: an array ``[N, ...]`` for single-agent envs, a
:class:`~rlsuite.core.team.TeamObservation` for team envs, a sequence of prompts for text envs; the
actions are what the env's ``step`` takes (an array ``[N, ...]``, joint actions ``[N, n_agents]``, or a
:class:`~rlsuite.agents.text.policy.Generation` for text envs). Any observation normalisation is inside the
policy. One evaluator (:func:`rlsuite.training.evaluation.evaluate_policy`) drives any policy on any vector
env; learners (``rlsuite.algos``) own a policy and train it.

Policies without memory implement ``act(obs, deterministic) -> actions`` (the :class:`Agent` shorthand) and
inherit :class:`MemorylessPolicy`, which supplies the rest.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

PolicyState = Any  # a policy's per-env memory: None, a tensor, or a tuple / dict of them


@runtime_checkable
class Policy(Protocol):
    """Maps a batch of observations and the policy's memory to a batch of actions and the new memory."""

    device: torch.device

    def initial_state(self, num_envs: int) -> PolicyState:
        """The memory of ``num_envs`` fresh episodes (None for policies without memory)."""

    def reset_state(self, state: PolicyState, rows: np.ndarray) -> PolicyState:
        """``state`` with the env ``rows`` (indices) back at the start of an episode; never modified in
        place, so a caller may keep the old one."""

    def step(self, obs: Any, state: PolicyState, deterministic: bool = False) -> tuple[Any, PolicyState]:
        """Actions for one batch of observations, and the memory after them."""


@runtime_checkable
class Agent(Protocol):
    """The memoryless shorthand: ``act(obs, deterministic) -> actions`` (NumPy, ready for ``env.step``)."""

    device: torch.device

    def act(self, obs: np.ndarray | torch.Tensor, deterministic: bool = False) -> np.ndarray: ...


class MemorylessPolicy:
    """Mixin making an :class:`Agent` (a policy with ``act``) a :class:`Policy` whose state is None."""

    def initial_state(self, num_envs: int) -> None:
        return None

    def reset_state(self, state: PolicyState, rows: np.ndarray) -> PolicyState:
        return state

    def step(
        self, obs: Any, state: PolicyState = None, deterministic: bool = False
    ) -> tuple[Any, PolicyState]:
        return self.act(obs, deterministic=deterministic), state  # type: ignore[attr-defined]


class _ActingPolicy(MemorylessPolicy):
    """A :class:`Policy` face for an object that only has ``act(obs, deterministic)``."""

    def __init__(self, agent: Any) -> None:
        self.agent = agent

    @property
    def device(self) -> torch.device:
        return getattr(self.agent, "device", torch.device("cpu"))

    def act(self, obs: Any, deterministic: bool = False) -> Any:
        return self.agent.act(obs, deterministic=deterministic)


def as_policy(agent: Any) -> Policy:
    """``agent`` itself if it is a :class:`Policy`; an agent with only ``act(obs, deterministic)`` wrapped
    as a memoryless one. Anything else is a TypeError naming what is missing."""
    if all(callable(getattr(agent, name, None)) for name in ("initial_state", "reset_state", "step")):
        return agent
    if callable(getattr(agent, "act", None)):
        return _ActingPolicy(agent)
    raise TypeError(
        f"{type(agent).__name__} is not a policy: it needs step, initial_state and reset_state "
        "(rlsuite.agents.base.Policy) "
        "or act(obs, deterministic)"
    )
