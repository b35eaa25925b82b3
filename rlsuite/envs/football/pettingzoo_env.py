"""The football simulator as a PettingZoo ``ParallelEnv`` (ids ``rlsuite/GRFSim-<scenario>-v0``).

    env = rlsuite.make("rlsuite/GRFSim-academy_3_vs_1_with_keeper-v0")    # 3 agents: player_0..2
    obs, infos = env.reset(seed=0)        # obs[agent]: simple115v2 float32[115]
    obs, rewards, terms, truncs, infos = env.step({a: 5 for a in env.agents})   # 19 actions each

Agents are the controlled left players (``n_agents``, default per scenario: 3v1 -> 3, the pass-and-shoot
scenarios -> 2, the counterattacks -> 4, the corner -> 10). Rewards are per agent: scoring (+1 / -1)
and, with ``rewards="scoring,checkpoints"`` (default), checkpoint rewards for the agent whose player
carries the ball. A goal, the ball going out of play or (except in academy_corner) a possession change
terminates every agent; the step limit (401 steps, the engine's for game_duration 400) truncates every
agent. ``state()`` is the MAPPO-style global state (115 + 11 (N - 1) floats). ``infos[agent]`` carries
``action_mask`` (all 19 actions are always available), ``score`` ([left, right]), ``battle_won`` (the
left team scored on this step: the key multi-agent learners count wins by) and ``game_mode``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from rlsuite.envs.football.actions import N_ACTIONS, OBS_SIZE, agent_names, check_action
from rlsuite.envs.football.match import MatchCore
from rlsuite.envs.football.scenarios import Scenario
from rlsuite.envs.human_window import RENDER_MODES, ModeRenderer, check_render_mode
from rlsuite.envs.inputs import EpisodeOver, check_reset_options, check_reset_seed

_ALL_ACTIONS = np.ones(N_ACTIONS, dtype=np.int8)
RENDER_FPS = 10  # the engine's 10 steps per second of game time


def team_spaces(names: list[str], state_len: int) -> tuple[dict, dict, spaces.Box]:
    """Per-agent observation and action spaces and the state space of a football ParallelEnv."""
    obs_box = spaces.Box(-np.inf, np.inf, (OBS_SIZE,), np.float32)
    return (
        {a: obs_box for a in names},
        {a: spaces.Discrete(N_ACTIONS) for a in names},
        spaces.Box(-np.inf, np.inf, (state_len,), np.float32),
    )


class GRFSimParallelEnv(ParallelEnv):
    """One academy match of the built-in simulator behind PettingZoo's Parallel API."""

    metadata: ClassVar[dict[str, Any]] = {
        "name": "rlsuite_grfsim_v0",
        "render_modes": RENDER_MODES,
        "render_fps": RENDER_FPS,
        "is_parallelizable": True,
    }

    def __init__(
        self,
        scenario: str | Scenario = "academy_3_vs_1_with_keeper",
        n_agents: int | None = None,
        rewards: str = "scoring,checkpoints",
        render_mode: str | None = None,
        seed: int | None = None,
        **match_kwargs: Any,
    ) -> None:
        self.render_mode = check_render_mode(render_mode)
        self._renderer: ModeRenderer | None = None
        self.match = MatchCore(scenario, 1, n_agents=n_agents, rewards=rewards, **match_kwargs)
        self.scenario = self.match.scenario
        self.episode_limit = self.match.episode_limit
        self._default_seed = seed
        self.possible_agents = agent_names(self.match.n_agents)
        self.agents: list[str] = []
        self.observation_spaces, self.action_spaces, self.state_space = team_spaces(
            self.possible_agents, self.match.state_size
        )
        self._obs = np.zeros((1, self.match.n_agents, OBS_SIZE), np.float32)

    def observation_space(self, agent: str) -> spaces.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self.action_spaces[agent]

    def reset(self, seed: int | None = None, options: dict | None = None):
        check_reset_options(options)
        self.match.streams.seed_for_reset(check_reset_seed(seed), self._default_seed)
        self.match.reset(np.ones(1, dtype=np.bool_))
        self.agents = list(self.possible_agents)
        self._obs = self.match.obs()
        infos = self._infos(goal=0)
        return {a: self._obs[0, k].copy() for k, a in enumerate(self.agents)}, infos

    def step(self, actions: dict[str, Any]):
        if not self.agents:
            raise EpisodeOver()
        joint = np.zeros((1, len(self.possible_agents)), dtype=np.int64)
        for k, agent in enumerate(self.possible_agents):
            if agent not in actions:
                raise ValueError(f"no action for agent {agent!r}; agents: {self.agents}")
            joint[0, k] = check_action(agent, actions[agent])
        result = self.match.step(joint)
        self._obs = self.match.obs()
        ended, cut = bool(result["terminated"][0]), bool(result["truncated"][0])
        observations = {a: self._obs[0, k].copy() for k, a in enumerate(self.agents)}
        rewards = {a: float(result["reward"][0, k]) for k, a in enumerate(self.agents)}
        terminations = {a: ended for a in self.agents}
        truncations = {a: cut for a in self.agents}
        infos = self._infos(goal=int(result["goal"][0]))
        if ended or cut:
            self.agents = []
        return observations, rewards, terminations, truncations, infos

    def _infos(self, goal: int) -> dict[str, dict[str, Any]]:
        details = self.match.details(0)
        shared = {"score": details["score"], "battle_won": goal == 1, "game_mode": details["game_mode"]}
        return {a: {"action_mask": _ALL_ACTIONS.copy(), **shared} for a in self.possible_agents}

    def state(self) -> np.ndarray:
        return self.match.state(self._obs)[0]

    def render(self) -> np.ndarray | None:
        """A top-down frame (``"rgb_array"``: ``uint8 (H, W, 3)``) or a window (``"human"``: None)."""
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='rgb_array' or 'human'")
            return None
        if self._renderer is None:
            from rlsuite.envs.football.render import render_match_frame

            caption = f"GRFSim {self.scenario.name}"
            self._renderer = ModeRenderer(
                self.render_mode, lambda: render_match_frame(self.match, 0), caption, RENDER_FPS
            )
        return self._renderer.render()

    def close(self) -> None:
        self.agents = []
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
