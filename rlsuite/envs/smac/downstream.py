"""MaskMA's downstream tasks (Liu et al., arXiv 2310.11846) as options of the SMAC simulator's envs.

* **Ally malfunction** (``malfunction_agents``, ``malfunction_step``): from env step ``k`` of each
  episode on, the chosen agents stop acting: their only available action is *stop* (no-op once dead) and
  the env plays it whatever the policy chose.
* **Ad hoc team play** (``join_agents`` with ``join_step`` or ``join_fraction``): the chosen agents start
  absent (not on the map: no one sees, targets or counts them; their observation is a dead agent's) and
  spawn at their usual start point with full health when the episode reaches step ``join_step`` (or
  ``join_fraction`` of the episode limit, rounded; the paper's marine joins one fifth into the episode).
  Until then ``info["dead_allies"]`` counts them as dead; their absence gives no reward.
* **Varied-policy collaboration** (:class:`VariedPolicyTeamEnv`): a wrapper over a team vector env in
  which some agents are driven by another policy (the scripted heuristic, or any
  :class:`~rlsuite.agents.base.Policy` such as a different expert); the policy under test still chooses
  actions for every agent, and the driven agents' choices are replaced.

    env = SMACVectorEnv("8m_vs_9m", 16, downstream={"join_agents": [7], "join_fraction": 0.2})
    env = SMACVectorEnv("3m", 16, downstream=DownstreamOptions(malfunction_agents=(0,), malfunction_step=10))
    env = VariedPolicyTeamEnv(SMACVectorEnv("3m", 16), "heuristic", agents=(2,))

The options are keyword arguments of ``rlsuite.make_vec("rlsuite/SMAC-<map>-v0", n, downstream={...})``
(and of ``env.kwargs`` in an experiment file). docs/smac.md, "Downstream tasks".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch

from rlsuite.core.team import TeamObservation
from rlsuite.envs.smac import core
from rlsuite.envs.smac import units as ut
from rlsuite.envs.smac.focus_fire import DEFAULT_PARAMS, POLICY_PARAMS, focus_fire_actions
from rlsuite.envs.smac.heuristic import attack_nearest_actions
from rlsuite.envs.smac.rollout import ROLLOUT_POLICIES, RolloutPlanner

STOP_ACTION, NOOP_ACTION = 1, 0


@dataclass(frozen=True)
class DownstreamOptions:
    """Which agents malfunction or join late, and when (env steps since the episode started)."""

    malfunction_agents: tuple[int, ...] = ()
    malfunction_step: int = 0
    join_agents: tuple[int, ...] = ()
    join_step: int | None = None
    join_fraction: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "malfunction_agents", tuple(int(a) for a in self.malfunction_agents))
        object.__setattr__(self, "join_agents", tuple(int(a) for a in self.join_agents))
        if self.malfunction_step < 0:
            raise ValueError(f"downstream.malfunction_step must be >= 0, got {self.malfunction_step}")
        if self.join_agents and (self.join_step is None) == (self.join_fraction is None):
            raise ValueError("downstream.join_agents needs exactly one of join_step or join_fraction")
        if self.join_step is not None and self.join_step < 1:
            raise ValueError(f"downstream.join_step must be >= 1, got {self.join_step}")
        if self.join_fraction is not None and not 0.0 < self.join_fraction < 1.0:
            raise ValueError(f"downstream.join_fraction must be in (0, 1), got {self.join_fraction}")
        if set(self.malfunction_agents) & set(self.join_agents):
            raise ValueError("an agent cannot both malfunction and join late")

    @classmethod
    def parse(cls, value: DownstreamOptions | Mapping[str, Any] | None) -> DownstreamOptions | None:
        """``value`` as options; a mapping with unknown keys raises a ValueError listing the known ones."""
        if value is None or isinstance(value, DownstreamOptions):
            return value
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"downstream: unknown options {unknown}; known: {', '.join(sorted(known))}")
        return cls(**value)

    @property
    def active(self) -> bool:
        return bool(self.malfunction_agents or self.join_agents)

    def check_agents(self, n_agents: int) -> None:
        for name in ("malfunction_agents", "join_agents"):
            bad = [a for a in getattr(self, name) if not 0 <= a < n_agents]
            if bad:
                raise ValueError(
                    f"downstream.{name}: agents {bad} out of range; the map has {n_agents} agents"
                )

    def join_at(self, episode_limit: int) -> int:
        """The env step at which the late agents spawn."""
        if self.join_step is not None:
            return self.join_step
        return max(1, round(self.join_fraction * episode_limit))


class Downstream:
    """Applies :class:`DownstreamOptions` to a ``Battles`` batch (called by ``SMACVectorEnv``)."""

    def __init__(self, options: DownstreamOptions, battles: Any) -> None:
        options.check_agents(battles.layout.n_agents)
        self.options, self.battles = options, battles
        self.join_step = options.join_at(battles.episode_limit) if options.join_agents else -1

    def after_reset(self, rows: np.ndarray) -> None:
        """Take the late agents off the map in the battles just reset."""
        b = self.battles
        for agent in self.options.join_agents:
            b.ist[rows, agent, core.IS_ALIVE] = 0
            b.ist[rows, agent, core.IS_DEAD] = 1  # no death reward or penalty for an absent unit
            b.ist[rows, agent, core.IS_ORDER] = 0
            b.fs[rows, agent, core.FS_HEALTH] = 0.0
            b.fs[rows, agent, core.FS_SHIELD] = 0.0
            b.fs[rows, agent, core.FS_PREV_HS] = 0.0

    def after_step(self, running: np.ndarray) -> None:
        """Spawn the late agents in the ``running`` battles that just reached the join step."""
        if not self.options.join_agents:
            return
        b = self.battles
        rows = np.flatnonzero(running & (b.steps == self.join_step))
        for agent in self.options.join_agents:
            t = b.spawn_types[rows, agent]
            b.ist[rows, agent, core.IS_ALIVE] = 1
            b.ist[rows, agent, core.IS_DEAD] = 0
            b.ist[rows, agent, core.IS_ORDER] = 0
            b.ist[rows, agent, core.IS_TARGET] = -1
            b.fs[rows, agent, core.FS_X] = b.spawn_xy[rows, agent, 0]
            b.fs[rows, agent, core.FS_Y] = b.spawn_xy[rows, agent, 1]
            b.fs[rows, agent, core.FS_HEALTH] = b.table[t, ut.F_HEALTH]
            b.fs[rows, agent, core.FS_SHIELD] = b.table[t, ut.F_SHIELD]
            b.fs[rows, agent, core.FS_ENERGY] = b.table[t, ut.F_ENERGY_START]
            b.fs[rows, agent, core.FS_COOLDOWN] = 0.0
            b.fs[rows, agent, core.FS_PREV_HS] = b.table[t, ut.F_HEALTH] + b.table[t, ut.F_SHIELD]
            b.last_action[rows, agent] = -1

    def malfunctioning(self) -> np.ndarray:
        """``[B]`` bool: battles whose malfunction has started."""
        return self.battles.steps >= self.options.malfunction_step

    def restrict_mask(self, avail: np.ndarray) -> np.ndarray:
        """The action mask with malfunctioning agents limited to stop (no-op once dead)."""
        if not self.options.malfunction_agents:
            return avail
        rows = np.flatnonzero(self.malfunctioning())
        avail = avail.copy()
        for agent in self.options.malfunction_agents:
            alive = self.battles.ist[rows, agent, core.IS_ALIVE] != 0
            avail[rows, agent] = 0
            avail[rows[alive], agent, STOP_ACTION] = 1
            avail[rows[~alive], agent, NOOP_ACTION] = 1
        return avail

    def override_actions(self, actions: np.ndarray) -> np.ndarray:
        """The joint actions with the malfunctioning agents' replaced by stop (no-op once dead)."""
        if not self.options.malfunction_agents:
            return actions
        rows = np.flatnonzero(self.malfunctioning())
        actions = actions.copy()
        for agent in self.options.malfunction_agents:
            alive = self.battles.ist[rows, agent, core.IS_ALIVE] != 0
            actions[rows, agent] = np.where(alive, STOP_ACTION, NOOP_ACTION)
        return actions


# the scripted experts' names (pipeline, data collect): attack-nearest, the focus-fire variants, then the
# planning experts over them (rlsuite.envs.smac.rollout)
SCRIPTED_POLICIES = ("heuristic", *POLICY_PARAMS, *ROLLOUT_POLICIES)


class HeuristicTeamPolicy:
    """A scripted SMAC policy as a memoryless team policy bound to one
    :class:`~rlsuite.envs.smac.vector.SMACVectorEnv` (it reads that env's battles, so it must act on the
    env's current observation). ``kind``: ``"heuristic"`` (attack-nearest: attack the nearest attackable
    enemy, else step toward it; medivacs heal the most injured ally in reach;
    ``rlsuite.envs.smac.heuristic.attack_nearest_actions``) or ``"focus_fire"`` (focus fire, kiting,
    pulling back injured units, healing; ``rlsuite.envs.smac.focus_fire``), ``"focus_fire_spread"``
    (the same, with the volleys of units in range shared out without overkill) or ``"focus_fire_decoy"``
    (spread, and ranged units lead melee enemies no faster than them around), or ``"focus_fire_rollout"``
    (multiagent rollout over the decoy script with the simulator as its model:
    ``rlsuite.envs.smac.rollout``); ``params`` overrides the focus-fire kernel's parameters
    (``rlsuite.envs.smac.focus_fire.POLICY_PARAMS`` gives each name's)."""

    device = torch.device("cpu")

    def __init__(self, env: Any, kind: str = "heuristic", params: Sequence[float] | None = None) -> None:
        if kind not in SCRIPTED_POLICIES:
            raise ValueError(f"scripted policy {kind!r}; accepted: {', '.join(SCRIPTED_POLICIES)}")
        battles = getattr(getattr(env, "unwrapped_team_env", env), "battles", None)
        if battles is None:
            raise ValueError(f"the {kind} policy plays the SMAC simulator; got {type(env).__name__}")
        self.battles, self.kind = battles, kind
        named = POLICY_PARAMS.get(kind, DEFAULT_PARAMS)
        self.params = np.array(named if params is None else params, dtype=np.float64)
        rollout = ROLLOUT_POLICIES.get(kind)
        if rollout is not None and params is not None:
            raise ValueError(
                f"params: the planning expert {kind!r} takes none (its RolloutConfig sets it up)"
            )
        self.planner = None if rollout is None else RolloutPlanner(battles, rollout)
        if self.params.shape != DEFAULT_PARAMS.shape:
            raise ValueError(
                f"params: give {len(DEFAULT_PARAMS)} numbers (kite_gap, kite_cooldown, retreat_fraction, "
                "hold_loops, dodge_min, spread, decoy)"
            )

    def act(self, obs: TeamObservation, deterministic: bool = True) -> np.ndarray:
        b = self.battles
        out = np.zeros(obs.action_mask.shape[:2], dtype=np.int64)
        avail = obs.action_mask.astype(np.int64)
        if self.planner is not None:
            out[:] = self.planner.act(avail)
        elif self.kind in POLICY_PARAMS:
            move = float(b.options.move_amount)
            focus_fire_actions(
                b.fs, b.ist, b.table, b.grid, b.loops, avail, b.layout.n_agents, move, self.params, out
            )
        else:
            attack_nearest_actions(b.fs, b.ist, b.table, avail, b.layout.n_agents, out)
        return out

    def initial_state(self, num_envs: int) -> None:
        return None

    def reset_state(self, state: Any, rows: np.ndarray) -> Any:
        return state

    def step(
        self, obs: TeamObservation, state: Any = None, deterministic: bool = True
    ) -> tuple[np.ndarray, Any]:
        return self.act(obs, deterministic), state


def _checked_policy(policy: Any) -> Any:
    """``policy`` if it has the Policy protocol's methods (rlsuite.agents.base.Policy; wrap an
    ``act``-only agent with ``rlsuite.agents.base.as_policy`` first); a TypeError naming what is missing."""
    missing = [
        name for name in ("initial_state", "reset_state", "step") if not callable(getattr(policy, name, None))
    ]
    if missing:
        raise TypeError(
            f"policy: {type(policy).__name__} lacks {', '.join(missing)}; pass 'heuristic' or a "
            "rlsuite.agents.base.Policy (wrap act-only agents with rlsuite.agents.base.as_policy)"
        )
    return policy


class VariedPolicyTeamEnv:
    """A team vector env in which ``agents`` are driven by ``policy`` (a scripted policy's name,
    one of :data:`SCRIPTED_POLICIES`, or a Policy).

    It has the wrapped env's interface (``reset``, ``step``, ``team_spec`` and the other attributes);
    ``step`` replaces the driven agents' actions by the policy's (computed on the current observation)
    and reports them in ``info["driven_actions"]`` ``[N, len(agents)]``.
    """

    def __init__(self, env: Any, policy: Any, agents: Sequence[int], *, deterministic: bool = True) -> None:
        self.env, self.agents = env, np.array(sorted({int(a) for a in agents}), dtype=np.int64)
        n_agents = env.team_spec.n_agents
        if len(self.agents) == 0 or self.agents.min() < 0 or self.agents.max() >= n_agents:
            raise ValueError(f"agents {list(agents)}: give agent indices in 0..{n_agents - 1}")
        if isinstance(policy, str):
            self.policy = HeuristicTeamPolicy(env, policy)
        else:
            self.policy = _checked_policy(policy)
        self.deterministic = deterministic
        self._observation: TeamObservation | None = None
        self._state: Any = None

    @property
    def unwrapped_team_env(self) -> Any:
        return getattr(self.env, "unwrapped_team_env", self.env)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.env, name)

    def reset(self, *, seed: Any = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        obs, info = self.env.reset(seed=seed, options=options)
        self._observation = TeamObservation.from_info(obs, info)
        self._state = self.policy.initial_state(self.env.num_envs)
        return obs, info

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        if self._observation is None:
            raise RuntimeError("call reset() before step()")
        with torch.inference_mode():
            driven, self._state = self.policy.step(self._observation, self._state, self.deterministic)
        actions = np.array(actions, dtype=np.int64, copy=True)
        chosen = np.asarray(driven, dtype=np.int64)[:, self.agents]
        actions[:, self.agents] = chosen
        obs, reward, terminated, truncated, info = self.env.step(actions)
        info["driven_actions"] = chosen
        self._observation = TeamObservation.from_info(obs, info)
        self._state = self.policy.reset_state(self._state, np.flatnonzero(terminated | truncated))
        return obs, reward, terminated, truncated, info

    def close(self) -> None:
        self.env.close()
