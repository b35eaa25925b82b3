"""SMAC as a PettingZoo ``ParallelEnv`` (ids ``rlsuite/SMAC-<map>-v0``).

Follows SMAC's own PettingZoo wrapper (``smac.env.pettingzoo.StarCraft2PZEnv``): agents are named
``<unit type>_<k>``; the action space is ``Discrete(n_actions - 1)`` because no-op (SMAC action 0, only
for dead units) is dropped, so PettingZoo action ``k`` is SMAC action ``k + 1``; observations are
``Dict(observation=Box, action_mask=Box(0, 1, int8))``; the shared team reward goes to every agent.
Dead agents are removed from ``agents`` (``terminations[agent] = True`` on the step they die); the
battle's end terminates everyone, the episode limit truncates everyone. ``state()`` is SMAC's global
state. ``infos[agent]`` carries ``action_mask``, ``battle_won``, ``dead_allies`` and ``dead_enemies``.

Every action of the action space is accepted, as PettingZoo expects (its seed test samples unmasked):
with ``invalid_action="stop"`` (default) an unavailable action becomes stop (always available to a
living unit) and ``infos[agent]["invalid_action"]`` is True; ``invalid_action="raise"`` raises, as
SMAC's ``StarCraft2Env`` does. Anything outside the action space (a string, a float, a bool, an int out
of range) raises ``ValueError`` naming the agent (``rlsuite.envs.inputs``). ``render_mode`` is
``"rgb_array"`` (``render()`` returns the frame) or ``"human"`` (a pygame window).
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from rlsuite.envs.human_window import RENDER_MODES, ModeRenderer, check_render_mode
from rlsuite.envs.inputs import EpisodeOver, check_reset_options, check_reset_seed, discrete_action
from rlsuite.envs.smac import observe
from rlsuite.envs.smac.battle import Battles, Scenario, split_options
from rlsuite.envs.smac.core import IS_ALIVE
from rlsuite.envs.smac.interface import RENDER_FPS
from rlsuite.envs.smac.maps import MapSpec
from rlsuite.envs.smac.units import UNIT_TYPES


class SMACParallelEnv(ParallelEnv):
    """One SMAC battle behind PettingZoo's Parallel API, with action masks and ``state()``."""

    metadata: ClassVar[dict[str, Any]] = {
        "name": "rlsuite_smac_v0",
        "render_modes": RENDER_MODES,
        "render_fps": RENDER_FPS,
        "is_parallelizable": True,
    }

    def __init__(
        self,
        map_name: str | MapSpec = "3m",
        render_mode: str | None = None,
        invalid_action: str = "stop",
        scenario: Scenario | None = None,
        **kwargs: Any,
    ) -> None:
        options, game_kwargs = split_options(kwargs)
        if invalid_action not in ("stop", "raise"):
            raise ValueError(f"invalid_action={invalid_action!r}; accepted: 'stop', 'raise'")
        self.invalid_action = invalid_action
        self.render_mode = check_render_mode(render_mode)
        self._renderer: ModeRenderer | None = None
        self._default_seed = game_kwargs.get("seed")
        self.battles = Battles(map_name, 1, options, scenario=scenario)
        self.episode_limit = self.battles.episode_limit
        lay = self.battles.layout
        self.map_name = self.battles.spec.name
        self.n_actions = lay.n_actions
        types = self.battles.spawn_types[0, : lay.n_agents]
        counts: dict[str, int] = {}
        names = []
        for t in types:  # generated armies change types every episode: generic names
            name = "agent" if scenario is not None else UNIT_TYPES[int(t)].name
            names.append(f"{name}_{counts.get(name, 0)}")
            counts[name] = counts.get(name, 0) + 1
        self.possible_agents = names
        self.agents: list[str] = []
        self._index = {name: i for i, name in enumerate(names)}
        obs_box = spaces.Box(-np.inf, np.inf, (lay.obs_size,), np.float32)
        mask_box = spaces.Box(0, 1, (lay.n_actions - 1,), np.int8)
        self.observation_spaces = {
            a: spaces.Dict({"observation": obs_box, "action_mask": mask_box}) for a in names
        }
        self.action_spaces = {a: spaces.Discrete(lay.n_actions - 1) for a in names}
        self.state_space = spaces.Box(-np.inf, np.inf, (lay.state_size,), np.float32)
        self._obs: np.ndarray | None = None
        self._avail: np.ndarray | None = None

    def observation_space(self, agent: str) -> spaces.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self.action_spaces[agent]

    def reset(self, seed: int | None = None, options: dict | None = None):
        check_reset_options(options)
        seed = check_reset_seed(seed)
        streams = self.battles.streams
        if seed is not None:
            streams.seed([seed], 0)
        elif not streams.seeded[0] and self._default_seed is not None:
            streams.seed([int(self._default_seed)], 0)
        else:
            streams.seed_unseeded_randomly()
        self.battles.reset(np.ones(1, dtype=np.bool_))
        self.agents = list(self.possible_agents)
        self._refresh()
        infos = {a: self._info(a, {}) for a in self.agents}
        return {a: self._agent_obs(a) for a in self.agents}, infos

    def step(self, actions: dict[str, Any]):
        if not self.agents:
            raise EpisodeOver()
        if not isinstance(actions, dict):
            raise ValueError(f"actions must be a dict {{agent: action}}, got {type(actions).__name__}")
        smac_actions = np.zeros((1, len(self.possible_agents)), dtype=np.int64)
        invalid = set()
        for agent in self.agents:
            if agent not in actions:
                raise ValueError(f"no action for live agent {agent!r}; live agents: {self.agents}")
            act = discrete_action(agent, actions[agent], self.n_actions - 1) + 1
            i = self._index[agent]
            if not self._avail[0, i, act]:
                if self.invalid_action == "raise":
                    allowed = (np.flatnonzero(self._avail[0, i, 1:])).tolist()
                    raise ValueError(
                        f"agent {agent!r}: action {act - 1} is not available; available: {allowed}"
                    )
                act = 1
                invalid.add(agent)
            smac_actions[0, i] = act
        result = self.battles.step(smac_actions, np.ones(1, dtype=np.bool_))
        ended = int(result["end_code"][0]) != observe.END_NONE
        timeout = bool(result["timeout"][0])
        self._refresh()
        step_info = {
            "battle_won": bool(result["end_code"][0] == observe.END_WON),
            "dead_allies": int(result["dead_allies"][0]),
            "dead_enemies": int(result["dead_enemies"][0]),
        }
        reward = float(result["reward"][0])
        alive = self.battles.ist[0, :, IS_ALIVE]
        observations, rewards, terminations, truncations, infos = {}, {}, {}, {}, {}
        for agent in self.agents:
            observations[agent] = self._agent_obs(agent)
            rewards[agent] = reward
            terminations[agent] = ended or not alive[self._index[agent]]
            truncations[agent] = timeout and not terminations[agent]
            infos[agent] = self._info(agent, {**step_info, "invalid_action": agent in invalid})
        self.agents = [a for a in self.agents if not (terminations[a] or truncations[a])]
        return observations, rewards, terminations, truncations, infos

    def _refresh(self) -> None:
        self._avail = self.battles.avail_actions()
        self._obs = self.battles.obs(self._avail)

    def _agent_obs(self, agent: str) -> dict[str, np.ndarray]:
        i = self._index[agent]
        return {"observation": self._obs[0, i].copy(), "action_mask": self._avail[0, i, 1:].astype(np.int8)}

    def _info(self, agent: str, extra: dict[str, Any]) -> dict[str, Any]:
        return {"action_mask": self._avail[0, self._index[agent], 1:].astype(np.int8), **extra}

    def state(self) -> np.ndarray:
        return self.battles.state()[0]

    def render(self) -> np.ndarray | None:
        """The battle's frame (``"rgb_array"``: ``uint8 (H, W, 3)``) or a window (``"human"``: None)."""
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='rgb_array' or 'human'")
            return None
        if self._renderer is None:
            from rlsuite.envs.smac.frames import render_frame

            self._renderer = ModeRenderer(
                self.render_mode, lambda: render_frame(self.battles, 0), f"SMAC {self.map_name}", RENDER_FPS
            )
        return self._renderer.render()

    def close(self) -> None:
        self.agents = []
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
