"""SMAC's read-only ``StarCraft2Env`` methods, shared by the simulator's env and the real-SC2 adapter.

Both keep one battle in ``self._battles`` (a :class:`~rlsuite.envs.smac.battle.Battles` of size 1, which the
adapter fills from the game) and implement ``_avail_array()``; everything else SMAC's API reads from there.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlsuite.core.team import TeamObservation, TeamSpec
from rlsuite.envs.smac import observe
from rlsuite.envs.smac.core import FS_HEALTH, FS_SHIELD, FS_X, FS_Y, IS_ALIVE, IS_TYPE
from rlsuite.envs.smac.units import UNIT_TYPES


class SMACInterface:
    """Sizes, availability, env info, stats and unit arrays in SMAC's formats."""

    def _record_outcome(self, result: dict[str, np.ndarray]) -> tuple[bool, dict[str, Any]]:
        """SMAC's ``step`` bookkeeping from a battle outcome: ``terminated``, the info dict (battle_won,
        dead counts, ``episode_limit`` only with ``continuing_episode``) and the counters."""
        info: dict[str, Any] = {"battle_won": False}
        terminated = False
        code = int(result["end_code"][0])
        if code != observe.END_NONE:
            terminated = True
            self.battles_game += 1
            if code == observe.END_WON:
                self.battles_won += 1
                info["battle_won"] = True
        elif result["timeout"][0]:
            terminated = True
            self.battles_game += 1
            self.timeouts += 1
            if self.options.continuing_episode:
                info["episode_limit"] = True
        info["dead_allies"] = int(result["dead_allies"][0])
        info["dead_enemies"] = int(result["dead_enemies"][0])
        if terminated:
            self._episode_count += 1
            self._over = True
        return terminated, info

    def get_obs_agent(self, agent_id: int) -> np.ndarray:
        return self.get_obs()[agent_id]

    def get_obs_size(self) -> int:
        return self._battles.layout.obs_size

    def get_state_size(self) -> int:
        return self._battles.layout.state_size

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
            "agent_features": self.ally_state_attr_names(),
            "enemy_features": self.enemy_state_attr_names(),
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

    def ally_state_attr_names(self) -> list[str]:
        names = ["health", "energy/cooldown", "rel_x", "rel_y"]
        if self._battles.layout.shield_ally:
            names.append("shield")
        names += [f"type_{k}" for k in range(self._battles.layout.unit_type_bits)]
        return names

    def enemy_state_attr_names(self) -> list[str]:
        names = ["health", "rel_x", "rel_y"]
        if self._battles.layout.shield_enemy:
            names.append("shield")
        names += [f"type_{k}" for k in range(self._battles.layout.unit_type_bits)]
        return names

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
        return self._seed
