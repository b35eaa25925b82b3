"""oxwhirl/smac's ``StarCraft2Env`` surface, shared by the simulator's env and the real-SC2 adapter.

Both keep one battle in ``self._battles`` (a :class:`~rlsuite.envs.smac.battle.Battles` of size 1, which the
adapter fills from the game) and implement ``_avail_array()`` and ``_unit_state_vector()``; everything SMAC
reads (sizes, feature layouts, the state dict, stats, unit records, options as attributes) comes from here.
docs/smac.md lists the surface and the documented differences.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlsuite.core.team import TeamObservation, TeamSpec
from rlsuite.envs.smac import observe
from rlsuite.envs.smac import units as ut
from rlsuite.envs.smac.core import FS_HEALTH, FS_SHIELD, FS_X, FS_Y, IS_ALIVE, IS_TYPE
from rlsuite.envs.smac.heuristic import smac_heuristic_actions
from rlsuite.envs.smac.multiagentenv import MultiAgentEnv
from rlsuite.envs.smac.sc2_data import unit_command
from rlsuite.envs.smac.unit_api import SMACUnitAPI
from rlsuite.envs.smac.units import UNIT_TYPES

RENDER_FPS = 8  # frames per second of the "human" window

#: SMAC constructor flags exposed as (read-only) attributes of the same name.
SMAC_OPTION_ATTRIBUTES = (
    "continuing_episode",
    "obs_all_health",
    "obs_own_health",
    "obs_last_action",
    "obs_pathing_grid",
    "obs_terrain_height",
    "obs_instead_of_state",
    "obs_timestep_number",
    "state_last_action",
    "state_timestep_number",
    "reward_sparse",
    "reward_only_positive",
    "reward_death_value",
    "reward_win",
    "reward_defeat",
    "reward_negative_scale",
    "reward_scale",
    "reward_scale_rate",
    "heuristic_ai",
    "heuristic_rest",
)


class SMACInterface(SMACUnitAPI, MultiAgentEnv):
    """Sizes, feature layouts, state dict, availability, env info, stats and bookkeeping in SMAC's formats."""

    n_actions_no_attack = observe.N_ACTIONS_NO_ATTACK
    n_actions_move = 4
    n_obs_pathing = 8
    n_obs_height = 9
    last_stats = None  # SMAC initialises it and never updates it

    def _init_bookkeeping(self) -> None:
        """Counters and per-episode records SMAC keeps (called by the host's ``__init__``)."""
        self._episode_steps = 0
        self._episode_count = 0
        self._total_steps = 0
        self.battles_won = self.battles_game = self.timeouts = self.force_restarts = 0
        self.reward = 0
        self.win_counted = self.defeat_counted = False
        self.renderer = None
        self._battle_reward: float = 0.0
        self._over = True
        self._avail: np.ndarray | None = None
        self._heuristic_targets = np.full(self.n_agents, -1, dtype=np.int64)

    def _start_episode(self) -> None:
        """SMAC's per-episode resets (trackers live in the arrays), once the battle's units exist."""
        self._episode_steps = 0
        self._over = False
        self._avail = None
        self._previous = None
        self._battle_reward = 0.0
        self.win_counted = self.defeat_counted = False
        self._heuristic_targets[:] = -1
        self.init_units()

    def _record_outcome(self, result: dict[str, np.ndarray]) -> tuple[bool, dict[str, Any]]:
        """SMAC's ``step`` bookkeeping from a battle outcome: ``terminated``, the info dict (battle_won,
        dead counts, ``episode_limit`` only with ``continuing_episode``), the counters and ``reward``."""
        info: dict[str, Any] = {"battle_won": False}
        terminated = False
        code = int(result["end_code"][0])
        if code != observe.END_NONE:
            terminated = True
            self.battles_game += 1
            if code == observe.END_WON:
                self.battles_won += 1
                self.win_counted = True
                info["battle_won"] = True
            elif code == observe.END_LOST:
                self.defeat_counted = True
        elif result["timeout"][0]:
            terminated = True
            self.battles_game += 1
            self.timeouts += 1
            if self.options.continuing_episode:
                info["episode_limit"] = True
        info["dead_allies"] = int(result["dead_allies"][0])
        info["dead_enemies"] = int(result["dead_enemies"][0])
        self._battle_reward = float(result["battle_reward"][0])
        self.reward = float(result["reward"][0])
        if terminated:
            self._episode_count += 1
            self._over = True
        return terminated, info

    def reward_battle(self) -> float:
        """The battle part of the last step's reward (SMAC's ``reward_battle``): damage dealt and
        ``reward_death_value`` per kill (minus the scaled ally terms when ``reward_only_positive=False``),
        before the win/defeat term and the scaling; 0 with ``reward_sparse``. Read-only here, unlike SMAC's,
        which recomputes it from the death trackers and so must be called once per step."""
        return 0 if self.options.reward_sparse else self._battle_reward

    # ----- sizes and feature layouts -------------------------------------------------------------------
    def get_obs_move_feats_size(self) -> int:
        o = self.options
        return (
            self.n_actions_move
            + self.n_obs_pathing * o.obs_pathing_grid
            + self.n_obs_height * (o.obs_terrain_height)
        )

    def get_obs_enemy_feats_size(self) -> tuple[int, int]:
        """``(n_enemies, features per enemy)``."""
        lay = self._battles.layout
        return self.n_enemies, 4 + lay.unit_type_bits + (1 + lay.shield_enemy) * self.options.obs_all_health

    def get_obs_ally_feats_size(self) -> tuple[int, int]:
        """``(n_agents - 1, features per other agent)``."""
        lay, o = self._battles.layout, self.options
        nf_al = 4 + lay.unit_type_bits + (1 + lay.shield_ally) * o.obs_all_health
        return self.n_agents - 1, nf_al + self.n_actions * o.obs_last_action

    def get_obs_own_feats_size(self) -> int:
        lay, o = self._battles.layout, self.options
        return lay.unit_type_bits + (1 + lay.shield_ally) * o.obs_own_health + o.obs_timestep_number

    def get_obs_size(self) -> int:
        return self._battles.layout.obs_size

    def get_state_size(self) -> int:
        return self._battles.layout.state_size

    def get_ally_num_attributes(self) -> int:
        return len(self.ally_state_attr_names)

    def get_enemy_num_attributes(self) -> int:
        return len(self.enemy_state_attr_names)

    @property
    def ally_state_attr_names(self) -> list[str]:
        """Names of an agent's state features: health, energy/cooldown, rel_x, rel_y[, shield], type bits."""
        names = ["health", "energy/cooldown", "rel_x", "rel_y"]
        if self._battles.layout.shield_ally:
            names.append("shield")
        return names + [f"type_{k}" for k in range(self._battles.layout.unit_type_bits)]

    @property
    def enemy_state_attr_names(self) -> list[str]:
        names = ["health", "rel_x", "rel_y"]
        if self._battles.layout.shield_enemy:
            names.append("shield")
        return names + [f"type_{k}" for k in range(self._battles.layout.unit_type_bits)]

    # ----- observations, state, availability --------------------------------------------------------------
    def get_obs_agent(self, agent_id: int) -> np.ndarray:
        return self.get_obs()[agent_id]

    def get_state_dict(self) -> dict[str, Any]:
        """SMAC's state as a dict: ``allies`` ``(n_agents, nf)``, ``enemies`` ``(n_enemies, nf)``, plus
        ``last_action`` (one-hot) with ``state_last_action`` and ``timestep`` with ``state_timestep_number``
        (built from the units even with ``obs_instead_of_state``, as in SMAC)."""
        vector = np.asarray(self._unit_state_vector(), dtype=np.float64)
        n_al, n_en = (
            self.n_agents * self.get_ally_num_attributes(),
            self.n_enemies * self.get_enemy_num_attributes(),
        )
        state: dict[str, Any] = {
            "allies": vector[:n_al].reshape(self.n_agents, -1),
            "enemies": vector[n_al : n_al + n_en].reshape(self.n_enemies, -1),
        }
        if self.options.state_last_action:
            state["last_action"] = self.last_action
        if self.options.state_timestep_number:
            state["timestep"] = self._episode_steps / self.episode_limit
        return state

    def get_avail_actions(self) -> list[list[int]]:
        return self._avail_array()[0].tolist()

    def get_avail_agent_actions(self, agent_id: int) -> list[int]:
        return self._avail_array()[0, agent_id].tolist()

    def get_total_actions(self) -> int:
        return self.n_actions

    def get_env_info(self) -> dict[str, Any]:
        return {
            "state_shape": self.get_state_size(),
            "obs_shape": self.get_obs_size(),
            "n_actions": self.n_actions,
            "n_agents": self.n_agents,
            "episode_limit": self.episode_limit,
            "agent_features": self.ally_state_attr_names,
            "enemy_features": self.enemy_state_attr_names,
        }

    @property
    def team_spec(self) -> TeamSpec:
        """The typed form of :meth:`get_env_info` (what team learners read)."""
        return TeamSpec(
            self.n_agents, self.n_actions, self.get_obs_size(), self.get_state_size(), self.episode_limit
        )

    def team_observation(self) -> TeamObservation:
        """The current observation, state and action mask as a typed observation of one battle."""
        obs = np.asarray(self.get_obs(), dtype=np.float32)[None]
        state = np.asarray(self.get_state(), dtype=np.float32)[None]
        return TeamObservation(obs, state, self._avail_array().astype(bool))

    def get_stats(self) -> dict[str, Any]:
        games = self.battles_game
        return {
            "battles_won": self.battles_won,
            "battles_game": games,
            "battles_draw": self.timeouts,
            "win_rate": self.battles_won / games if games else 0.0,
            "timeouts": self.timeouts,
            "restarts": self.force_restarts,
        }

    # ----- SMAC attributes read from the battle -----------------------------------------------------------
    @property
    def shield_bits_ally(self) -> int:
        return self._battles.layout.shield_ally

    @property
    def shield_bits_enemy(self) -> int:
        return self._battles.layout.shield_enemy

    @property
    def unit_type_bits(self) -> int:
        return self._battles.layout.unit_type_bits

    @property
    def map_type(self) -> str:
        return self._battles.spec.map_type

    @property
    def max_reward(self) -> float:
        """SMAC's reward normaliser: ``n_enemies * reward_death_value + reward_win`` plus the enemies'
        ``health_max + shield_max`` once a battle has started."""
        o = self.options
        started = float(self._battles.max_reward[0])
        return started if started > 0 else self.n_enemies * o.reward_death_value + o.reward_win

    @property
    def heuristic_targets(self) -> list[int | None]:
        """SMAC's heuristic targets per agent (an enemy id, or an ally id for medivacs; None: none yet)."""
        return [None if t < 0 else int(t) for t in self._heuristic_targets]

    @property
    def _move_amount(self) -> float:
        return self.options.move_amount

    @property
    def _step_mul(self) -> int:
        return self.options.step_mul

    # ----- actions (SMAC's checks, commands and heuristic) ------------------------------------------------
    def _checked_actions(self, actions) -> np.ndarray:
        """``actions`` as int64 ``[n_agents]``: SMAC's heuristic's with ``heuristic_ai``, else each checked
        against the available actions (a ``ValueError`` names the agent and its allowed actions)."""
        try:
            values = [int(a) for a in actions]
        except (TypeError, ValueError) as exc:
            raise ValueError(f"step expects {self.n_agents} integer actions, got {actions!r}") from exc
        if len(values) != self.n_agents:
            raise ValueError(f"step expects {self.n_agents} actions (one per agent), got {len(values)}")
        avail = self._avail_array()
        if self.options.heuristic_ai:
            return smac_heuristic_actions(
                self._battles, self._heuristic_targets, avail[0], self.options.heuristic_rest
            )
        for a, act in enumerate(values):
            if not 0 <= act < self.n_actions or not avail[0, a, act]:
                allowed = np.flatnonzero(avail[0, a]).tolist()
                raise ValueError(f"Agent {a} cannot perform action {act}; available actions: {allowed}")
        return np.asarray(values, dtype=np.int64)

    def get_agent_action(self, a_id: int, action: int) -> dict[str, Any] | None:
        """The raw unit command of agent ``a_id``'s ``action`` (SMAC returns it as an ``sc_pb.Action``
        protobuf; without the game it is the same fields as a dict: ``ability_id`` (move 16, attack 23,
        stop 4, heal 386), ``unit_tags``, ``queue_command``, and ``target_world_space_pos`` (x, y) or
        ``target_unit_tag``). None for the no-op. An unavailable action raises, as SMAC asserts."""
        avail = self.get_avail_agent_actions(a_id)
        if not 0 <= int(action) < self.n_actions or not avail[int(action)]:
            raise ValueError(f"Agent {a_id} cannot perform action {action}")
        return self._as_action(self._command(a_id, int(action)))

    def _as_action(self, command: dict[str, Any] | None) -> Any:
        """A command as this env hands it out (the simulator: the dict; the game adapter: a protobuf)."""
        return command

    def _command(self, a_id: int, action: int) -> dict[str, Any] | None:
        b, tags = self._battles, self._unit_tags() or list(range(1, self.n_agents + self.n_enemies + 1))
        fs, ist = b.fs[0], b.ist[0]
        healer = b.table[ist[a_id, IS_TYPE], ut.F_WEAPON] == ut.WEAPON_HEAL
        return unit_command(
            action,
            tags[a_id],
            float(fs[a_id, FS_X]),
            float(fs[a_id, FS_Y]),
            bool(healer),
            float(self.options.move_amount),
            tags[: self.n_agents],
            tags[self.n_agents :],
        )

    def get_agent_action_heuristic(self, a_id: int, action: int) -> tuple[dict[str, Any] | None, int]:
        """SMAC's heuristic for agent ``a_id``: ``(command, action number)``; the target persists across
        steps until it dies (medivacs: until the ally is healed). ``(None, 0)`` when nothing is left."""
        targets = self._heuristic_targets
        chosen = smac_heuristic_actions(
            self._battles, targets, self._avail_array()[0], self.options.heuristic_rest
        )
        act = int(chosen[a_id])
        if targets[a_id] < 0 or not self._battles.ist[0, a_id, IS_ALIVE]:
            return None, 0
        return self._as_action(self._command(a_id, act)), act

    def _avail_array(self) -> np.ndarray:
        if self._avail is None:
            self._avail = self._battles.avail_actions()
        return self._avail

    def get_obs(self) -> list[np.ndarray]:
        obs = self._battles.obs(self._avail_array())[0]
        return [obs[a] for a in range(self.n_agents)]

    def render(self, mode: str = "human") -> np.ndarray | None:
        """SMAC's ``render``: ``"human"`` shows the battle in a window (pygame), ``"rgb_array"`` returns the
        frame (``uint8 (H, W, 3)``, see docs/smac.md); the mode must stay the same across calls."""
        from rlsuite.envs.human_window import ModeRenderer
        from rlsuite.envs.smac.frames import render_frame

        if self.renderer is None:
            self.renderer = ModeRenderer(
                mode, lambda: render_frame(self._battles, 0), f"SMAC {self.map_name}", RENDER_FPS
            )
        elif mode != self.renderer.mode:
            raise ValueError(
                f"mode must be consistent across render calls: {self.renderer.mode!r}, got {mode!r}"
            )
        return self.renderer.render()

    # ----- rlsuite extras (scripted policies, rendering) --------------------------------------------------
    def unit_arrays(self) -> dict[str, np.ndarray]:
        """Positions, health, shields, types and alive flags of all units (allies first)."""
        fs, ist = self._battles.fs[0], self._battles.ist[0]
        return {
            "x": fs[:, FS_X].copy(),
            "y": fs[:, FS_Y].copy(),
            "health": fs[:, FS_HEALTH].copy(),
            "shield": fs[:, FS_SHIELD].copy(),
            "type": ist[:, IS_TYPE].copy(),
            "alive": ist[:, IS_ALIVE].astype(bool),
            "n_agents": np.int64(self.n_agents),
        }

    def unit_type_names(self) -> list[str]:
        return [UNIT_TYPES[t].name for t in self._battles.ist[0, :, IS_TYPE]]

    def seed(self) -> int | None:
        """The seed the env was built with (SMAC's ``seed()``)."""
        return self._seed


def _option_property(name: str) -> property:
    def get(self: SMACInterface) -> Any:
        return getattr(self.options, name)

    return property(get, doc=f"SMAC's ``{name}`` (read-only: the layout is fixed at construction)")


for _name in SMAC_OPTION_ATTRIBUTES:
    setattr(SMACInterface, _name, _option_property(_name))
