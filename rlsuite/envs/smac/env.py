"""``StarCraft2Env``: oxwhirl/smac's ``StarCraft2Env`` on the simulator, so SMAC-based code runs unchanged.

    from rlsuite.envs.smac import StarCraft2Env
    env = StarCraft2Env(map_name="3m", seed=0)
    info = env.get_env_info()            # state_shape, obs_shape, n_actions, n_agents, episode_limit
    env.reset()
    reward, terminated, info = env.step(actions)   # info: battle_won, dead_allies, dead_enemies

Every public method and attribute of SMAC's ``StarCraft2Env`` (v1.0.0) is here with SMAC's arguments,
semantics and return types (docs/smac.md lists them and the few documented differences): a timeout ends
the episode (``terminated=True``; ``info["episode_limit"]`` only with ``continuing_episode=True``), a chosen
action must be available, ``get_stats()`` counts battles, wins, draws and timeouts; ``agents`` /
``enemies`` hold unit records (:class:`~rlsuite.envs.smac.records.Unit`) read from the battle's arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlsuite.envs.inputs import EpisodeOver
from rlsuite.envs.smac.battle import Battles, Scenario, split_options
from rlsuite.envs.smac.interface import SMACInterface
from rlsuite.envs.smac.maps import MAP_SIZE, MapSpec
from rlsuite.envs.smac.records import ALLY_MIN_UNIT_TYPE


class StarCraft2Env(SMACInterface):
    """One SMAC battle on the simulator, with SMAC's methods, attributes and keyword arguments."""

    def __init__(
        self, map_name: str | MapSpec = "8m", scenario: Scenario | None = None, **kwargs: Any
    ) -> None:
        options, game_kwargs = split_options(kwargs)
        self._seed = game_kwargs.get("seed")
        self._battles = Battles(map_name, 1, options, scenario=scenario)
        self.options = options
        self.map_name = self._battles.spec.name
        lay = self._battles.layout
        self.n_agents, self.n_enemies, self.n_actions = lay.n_agents, lay.n_enemies, lay.n_actions
        self.episode_limit = self._battles.episode_limit
        # SMAC's game-process settings: kept for reference, no process uses them.
        self.difficulty = str(game_kwargs.get("difficulty", "7"))
        self.game_version = game_kwargs.get("game_version")
        self.debug = bool(game_kwargs.get("debug", False))
        self.replay_dir = game_kwargs.get("replay_dir") or ""
        self.replay_prefix = game_kwargs.get("replay_prefix") or ""
        self.window_size = (
            int(game_kwargs.get("window_size_x", 1920)),
            int(game_kwargs.get("window_size_y", 1200)),
        )
        # The simulator's map: 32 x 32, all of it playable; pathing and (flat) height as [x, y] arrays.
        self.map_x = self.map_y = MAP_SIZE
        self.max_distance_x = self.max_distance_y = MAP_SIZE
        self.pathing_grid = self._battles.grid
        self.terrain_height = self._battles.height
        self._min_unit_type = ALLY_MIN_UNIT_TYPE
        self._init_bookkeeping()

    # ----- episode ------------------------------------------------------------------------------
    def reset(self, episode_config: dict | None = None) -> tuple[list[np.ndarray], np.ndarray]:
        """Start a battle; returns ``(obs, state)`` as SMAC does. The battle's stream is seeded from the
        ``seed`` argument on the first reset (and after ``full_restart``), else continues."""
        streams = self._battles.streams
        if not streams.seeded[0]:
            if self._seed is None:
                streams.seed_unseeded_randomly()
            else:
                streams.seed([int(self._seed)], 0)
        self._battles.reset(np.ones(1, dtype=np.bool_))
        self._start_episode()
        return self.get_obs(), self.get_state()

    def full_restart(self) -> None:
        """SMAC's ``full_restart`` (a new game process there): the next ``reset()`` seeds the battle's stream
        from ``_seed`` again, as a relaunched game starts from its seed. The current episode is over."""
        self._battles.streams.seeded[:] = False
        self.force_restarts += 1
        self._over = True

    def step(self, actions) -> tuple[float, bool, dict[str, Any]]:
        """Apply one action per agent; returns ``(reward, terminated, info)``."""
        if self._over:
            raise EpisodeOver()
        actions = self._checked_actions(actions)
        self._remember_units()
        result = self._battles.step(actions[None, :], np.ones(1, dtype=np.bool_))
        self._avail = None
        self._episode_steps += 1
        self._total_steps += 1
        terminated, info = self._record_outcome(result)
        return float(result["reward"][0]), terminated, info

    def get_state(self) -> np.ndarray:
        return self._battles.state()[0]

    def _unit_state_vector(self) -> np.ndarray:
        return self._battles.unit_state(float(MAP_SIZE), float(MAP_SIZE))[0]

    # ----- process, rendering, checkpoints ------------------------------------------------------------
    def close(self) -> None:
        """End the episode and close the render window, if any (the env can be reset again)."""
        self._over = True
        if self.renderer is not None:
            self.renderer.close()
            self.renderer = None

    def save_replay(self) -> None:
        raise NotImplementedError(
            "the simulator writes no SC2 replays; record frames with render('rgb_array') or "
            "rlsuite.envs.smac.render.record_episode instead (SC2StarCraft2Env saves real replays)"
        )

    def get_battle_state(self) -> dict[str, np.ndarray]:
        """The battle's full state (for checkpoints, random stream included); ``set_battle_state``
        restores it."""
        return self._battles.get_state()

    def set_battle_state(self, state: dict[str, np.ndarray]) -> None:
        self._battles.set_state(state)
        self._avail = None
        self._over = False
        self._episode_steps = int(self._battles.steps[0])
