"""``StarCraft2Env``: SMAC's own interface on the simulator, so PyMARL-style code runs unchanged.

    from rlsuite.envs.smac import StarCraft2Env
    env = StarCraft2Env(map_name="3m", seed=0)
    info = env.get_env_info()            # state_shape, obs_shape, n_actions, n_agents, episode_limit
    env.reset()
    reward, terminated, info = env.step(actions)   # info: battle_won, dead_allies, dead_enemies

Methods and semantics follow oxwhirl/smac ``StarCraft2Env``: a timeout ends the episode
(``terminated=True``; ``info["episode_limit"]`` only with ``continuing_episode=True``), a chosen
action must be available, ``get_stats()`` counts battles, wins, draws and timeouts.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlsuite.envs.smac import observe
from rlsuite.envs.smac.battle import Battles, Scenario, split_options
from rlsuite.envs.smac.heuristic import smac_heuristic_actions
from rlsuite.envs.smac.interface import SMACInterface
from rlsuite.envs.smac.maps import MapSpec


class StarCraft2Env(SMACInterface):
    """One SMAC battle on the simulator, with SMAC's methods and keyword arguments."""

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
        self.n_actions_no_attack = observe.N_ACTIONS_NO_ATTACK
        self._episode_steps = 0
        self._episode_count = 0
        self._total_steps = 0
        self.battles_won = self.battles_game = self.timeouts = self.force_restarts = 0
        self._over = True
        self._avail: np.ndarray | None = None
        self._heuristic_targets = np.full(self.n_agents, -1, dtype=np.int64)

    # ----- episode ------------------------------------------------------------------------------
    def reset(self, episode_config: dict | None = None) -> tuple[list[np.ndarray], np.ndarray]:
        """Start a battle; returns ``(obs, state)`` as SMAC does."""
        streams = self._battles.streams
        if not streams.seeded[0]:
            if self._seed is None:
                streams.seed_unseeded_randomly()
            else:
                streams.seed([int(self._seed)], 0)
        self._battles.reset(np.ones(1, dtype=np.bool_))
        self._episode_steps = 0
        self._over = False
        self._avail = None
        self._heuristic_targets[:] = -1
        return self.get_obs(), self.get_state()

    def step(self, actions) -> tuple[float, bool, dict[str, Any]]:
        """Apply one action per agent; returns ``(reward, terminated, info)``."""
        if self._over:
            raise RuntimeError("the episode is over (or never started); call reset() first")
        actions = np.asarray([int(a) for a in actions], dtype=np.int64)
        if actions.shape != (self.n_agents,):
            raise ValueError(f"step expects {self.n_agents} actions (one per agent), got {actions.shape[0]}")
        avail = self._avail_array()
        if self.options.heuristic_ai:
            actions = smac_heuristic_actions(
                self._battles, self._heuristic_targets, avail[0], self.options.heuristic_rest
            )
        else:
            for a, act in enumerate(actions):
                if not 0 <= act < self.n_actions or not avail[0, a, act]:
                    allowed = np.flatnonzero(avail[0, a]).tolist()
                    raise ValueError(f"Agent {a} cannot perform action {act}; available actions: {allowed}")
        result = self._battles.step(actions[None, :], np.ones(1, dtype=np.bool_))
        self._avail = None
        self._episode_steps += 1
        self._total_steps += 1
        terminated, info = self._record_outcome(result)
        return float(result["reward"][0]), terminated, info

    # ----- observations -------------------------------------------------------------------------
    def _avail_array(self) -> np.ndarray:
        if self._avail is None:
            self._avail = self._battles.avail_actions()
        return self._avail

    def get_obs(self) -> list[np.ndarray]:
        obs = self._battles.obs(self._avail_array())[0]
        return [obs[a] for a in range(self.n_agents)]

    def get_state(self) -> np.ndarray:
        return self._battles.state()[0]

    # ----- units (for scripted policies and rendering) -----------------------------------------
    # ----- SMAC's remaining methods -------------------------------------------------------------
    def close(self) -> None:
        self._over = True

    def render(self, mode: str = "rgb_array") -> np.ndarray:
        from rlsuite.envs.smac.frames import render_frame

        if mode != "rgb_array":
            raise ValueError(f"render mode {mode!r} is not supported; accepted: 'rgb_array'")
        return render_frame(self._battles, 0)

    def save_replay(self) -> None:
        raise NotImplementedError("the simulator writes no SC2 replays; record frames with render() instead")

    def full_restart(self) -> None:
        self.force_restarts += 1
        self.reset()

    def get_state_dict(self) -> dict[str, np.ndarray]:
        """The battle's full state (for checkpoints); ``set_state_dict`` restores it."""
        return self._battles.get_state()

    def set_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self._battles.set_state(state)
        self._avail = None
        self._over = False
        self._episode_steps = int(self._battles.steps[0])
