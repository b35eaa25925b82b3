"""Typed specs and observations of cooperative team environments (multi-agent vector envs).

A team vector env steps ``num_envs`` games of ``n_agents`` agents at once, with same-step autoreset
(``rlsuite.make_vec`` on a multi-agent id: the SMAC simulator, SMACv2 scenarios, the football simulator,
and any PettingZoo Parallel env through ``ParallelVectorEnv``). Learners read only what this module
declares:

* :class:`TeamSpec` (``env.team_spec``): agents, actions, observation and state sizes, episode limit and,
  as an optional capability, :class:`EntitySpec` (per-unit feature rows);
* :class:`TeamObservation`: one step's observations ``[N, n_agents, obs_size]``, global state
  ``[N, state_size]``, action mask ``[N, n_agents, n_actions]`` and, where declared, an
  :class:`EntityObservation`;
* :class:`TeamStep`: what a step returns: the next observation, team reward, ``terminated`` (won, lost,
  drawn), ``truncated`` (episode limit), wins, and the observation each finished game ended in.

:func:`team_reset` and :func:`team_step` play a team vector env and return these records. The envs
themselves keep the Gymnasium-style ``reset() -> (obs, info)`` / ``step() -> (obs, reward, terminated,
truncated, info)`` interface; the ``info`` keys they fill are listed in :data:`OBSERVATION_KEYS`,
:data:`ENTITY_KEYS` and :data:`FINAL_PREFIX` and are read here, in one place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Protocol, runtime_checkable

import numpy as np

# info keys of a team vector env's observation (the per-agent observations are the ``obs`` array itself)
OBSERVATION_KEYS = ("state", "action_mask")
# info keys of the entity capability, in the order of EntityObservation's fields
ENTITY_KEYS = (
    "entity_state",
    "entity_pos",
    "entity_range",
    "entity_alive",
    "entity_enemy",
    "entity_type",
    "entity_visible",
    "entity_action_mask",
    "entity_action_target",
)
FINAL_PREFIX = "final_"  # info["final_<key>"]: the last observation of games that ended on this step
WIN_KEY = "battle_won"  # info["battle_won"]: [N] bool, the games won on this step


@dataclass(frozen=True)
class EntitySpec:
    """Per-unit feature rows a team env can give (a declared capability; SMAC's simulator does).

    Units are listed allies first (the ``n_agents`` agents, in agent order), then the other units.
    Env actions ``0 .. n_intrinsic_actions - 1`` target no unit (no-op, stop, moves); every other env
    action targets one unit, named per agent by :attr:`EntityObservation.action_target`. In the *entity
    action layout* action ``k < n_intrinsic_actions`` is env action ``k`` and action
    ``n_intrinsic_actions + j`` acts on unit ``j`` (attack an enemy, heal an ally).
    """

    n_entities: int
    feature_names: tuple[str, ...]  # one name per column of EntityObservation.features
    unit_types: tuple[str, ...]  # the unit-type vocabulary EntityObservation.unit_type indexes
    n_intrinsic_actions: int

    @property
    def feature_size(self) -> int:
        return len(self.feature_names)

    @property
    def n_entity_actions(self) -> int:
        return self.n_intrinsic_actions + self.n_entities

    def columns(self, names: Sequence[str]) -> np.ndarray:
        """Indices of the named feature columns; a KeyError names the missing ones and the available."""
        index = {name: i for i, name in enumerate(self.feature_names)}
        missing = [name for name in names if name not in index]
        if missing:
            raise KeyError(f"entity features {missing} are not provided; available: {', '.join(index)}")
        return np.array([index[name] for name in names], dtype=np.int64)


@dataclass(frozen=True)
class TeamSpec:
    """What a learner may know about a team env before playing it (``env.team_spec``)."""

    n_agents: int
    n_actions: int
    obs_size: int
    state_size: int
    episode_limit: int
    agent_names: tuple[str, ...] = ()
    entities: EntitySpec | None = None

    def env_info(self) -> dict[str, int]:
        """SMAC's ``get_env_info`` keys."""
        return {
            "state_shape": self.state_size,
            "obs_shape": self.obs_size,
            "n_actions": self.n_actions,
            "n_agents": self.n_agents,
            "episode_limit": self.episode_limit,
        }


@dataclass(frozen=True)
class EntityObservation:
    """One step's unit rows of ``N`` games (E units, ``n`` agents, A env actions, K intrinsic actions)."""

    features: np.ndarray  # [N, E, F] float32, columns named by EntitySpec.feature_names
    position: np.ndarray  # [N, E, 2] float32 map coordinates
    attack_range: np.ndarray  # [N, E] float32 weapon (or heal) range, in map units
    alive: np.ndarray  # [N, E] bool
    is_enemy: np.ndarray  # [N, E] bool
    unit_type: np.ndarray  # [N, E] int64 index into EntitySpec.unit_types
    visible: np.ndarray  # [N, n, E] bool: agent i sees unit j (alive, within sight)
    action_mask: np.ndarray  # [N, n, K + E] bool, the entity action layout
    action_target: np.ndarray  # [N, n, A] int64: the unit env action a targets; -1 for none

    def env_actions(self, entity_actions: np.ndarray) -> np.ndarray:
        """Entity-layout actions ``[N, n]`` -> env actions ``[N, n]`` (through ``action_target``).

        An entity action with no env action (never available) maps to -1.
        """
        actions = np.asarray(entity_actions, dtype=np.int64)
        n_entities = self.features.shape[1]
        n_intrinsic = self.action_mask.shape[-1] - n_entities
        lookup = np.full(self.action_mask.shape, -1, dtype=np.int64)
        lookup[..., :n_intrinsic] = np.arange(n_intrinsic)
        game, agent, action = np.nonzero(self.action_target >= 0)
        lookup[game, agent, n_intrinsic + self.action_target[game, agent, action]] = action
        return np.take_along_axis(lookup, actions[..., None], axis=-1)[..., 0]


@dataclass(frozen=True)
class TeamObservation:
    """One step's observation of ``N`` team games."""

    obs: np.ndarray  # [N, n_agents, obs_size] float32 local observations
    state: np.ndarray  # [N, state_size] float32 global state (for centralised training)
    action_mask: np.ndarray  # [N, n_agents, n_actions] bool; dead agents: only action 0
    entities: EntityObservation | None = None

    @property
    def num_envs(self) -> int:
        return self.obs.shape[0]

    @classmethod
    def from_info(cls, obs: np.ndarray, info: Mapping[str, Any], prefix: str = "") -> TeamObservation:
        """The observation a team vector env returned as ``(obs, info)``; ``prefix="final_"`` reads the
        last observation of finished games instead (``obs`` is then ``info["final_obs"]``)."""
        entities = None
        if f"{prefix}{ENTITY_KEYS[0]}" in info:
            entities = EntityObservation(*(info[f"{prefix}{key}"] for key in ENTITY_KEYS))
        return cls(obs, info[f"{prefix}state"], info[f"{prefix}action_mask"], entities)

    def with_rows(self, rows: np.ndarray, other: TeamObservation) -> TeamObservation:
        """A copy whose ``rows`` (bool ``[N]``) come from ``other``; no copy when no row is set."""
        if not np.any(rows):
            return self
        rows = np.asarray(rows, bool)

        def merge(mine: np.ndarray, theirs: np.ndarray) -> np.ndarray:
            out = mine.copy()
            out[rows] = theirs[rows]
            return out

        entities = self.entities
        if entities is not None and other.entities is not None:
            entities = EntityObservation(
                *(merge(getattr(entities, f.name), getattr(other.entities, f.name)) for f in fields(entities))
            )
        return TeamObservation(
            merge(self.obs, other.obs),
            merge(self.state, other.state),
            merge(self.action_mask, other.action_mask),
            entities,
        )


@dataclass(frozen=True)
class TeamStep:
    """What one step of ``N`` team games gives back."""

    observation: TeamObservation  # the next observation; games that ended have already restarted
    reward: np.ndarray  # [N] float32 team reward
    terminated: np.ndarray  # [N] bool: won, lost or drawn
    truncated: np.ndarray  # [N] bool: cut by the episode limit
    won: np.ndarray | None  # [N] bool: won on this step; None if the env does not report wins
    info: Mapping[str, Any]  # the env's full info (logging extras such as dead units or the score)

    @property
    def done(self) -> np.ndarray:
        return np.logical_or(self.terminated, self.truncated)

    def final_observation(self, rows: np.ndarray | None = None) -> TeamObservation:
        """The observation after the step: for ``rows`` (default: the games that ended) the one their game
        ended in, for the other games :attr:`observation`."""
        rows = self.done if rows is None else np.asarray(rows, bool)
        if not rows.any():
            return self.observation
        final = TeamObservation.from_info(self.info[f"{FINAL_PREFIX}obs"], self.info, FINAL_PREFIX)
        return self.observation.with_rows(rows, final)


@runtime_checkable
class TeamVectorEnv(Protocol):
    """The interface of a team vector env (``SMACVectorEnv``, ``GRFSimVectorEnv``, ``ParallelVectorEnv``)."""

    num_envs: int
    team_spec: TeamSpec

    def reset(
        self, *, seed: Any = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict]: ...

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]: ...


def team_spec_of(env: Any) -> TeamSpec:
    """``env.team_spec``, or one read from the attributes older team envs carry (``n_agents``, ...)."""
    spec = getattr(env, "team_spec", None)
    if isinstance(spec, TeamSpec):
        return spec
    return TeamSpec(env.n_agents, env.n_actions, env.obs_size, env.state_size, env.episode_limit)


def team_reset(env: Any, seed: Any = None) -> tuple[TeamObservation, dict[str, Any]]:
    """``env.reset(seed=seed)`` as a typed observation (and the env's info)."""
    obs, info = env.reset(seed=seed)
    return TeamObservation.from_info(obs, info), info


def team_step(env: Any, actions: np.ndarray) -> TeamStep:
    """``env.step(actions)`` (joint actions ``[N, n_agents]``) as a :class:`TeamStep`."""
    obs, reward, terminated, truncated, info = env.step(actions)
    return TeamStep(
        TeamObservation.from_info(obs, info), reward, terminated, truncated, info.get(WIN_KEY), info
    )
