"""The real Google Research Football engine (gfootball) as a PettingZoo ``ParallelEnv``.

    env = rlsuite.make("rlsuite/GRF-academy_3_vs_1_with_keeper-v0")     # needs gfootball: see below
    obs, infos = env.reset(seed=0)        # obs[agent]: simple115v2 float32[115]

The same face as the simulator (:class:`~rlsuite.envs.football.pettingzoo_env.GRFSimParallelEnv`): agents
``player_0..N-1`` controlling N left players (``number_of_left_players_agent_controls``; the engine's
dynamic player selection picks which), simple115v2 observations, the default 19 actions, rewards
``"scoring,checkpoints"`` (or ``"scoring"``), ``state()`` the MAPPO-style global state built from the
agents' observations. A goal, out of play or a possession change terminates; the engine's step limit
truncates (told apart by the raw observation's ``steps_left``).

Seeding: ``reset(seed=s)`` sets the engine's ``game_engine_random_seed`` to ``s`` (the env is rebuilt when
the seed changes; the engine then advances the seed each episode). The academy scenarios run the engine
with ``deterministic=False``, so two runs from one seed can still differ (see docs/football.md).

gfootball compiles a C++ engine and needs an old gym; install it into its own virtualenv with
``scripts/install_football.sh`` (docs/football.md). Without it, constructing this env raises an
ImportError that says so.
"""

from __future__ import annotations

import importlib.util
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from rlsuite.envs.football.actions import (
    N_ACTIONS,
    OBS_SIZE,
    agent_names,
    check_action,
    global_state,
    parse_rewards,
    state_size,
)
from rlsuite.envs.football.pettingzoo_env import team_spaces
from rlsuite.envs.football.scenarios import check_agent_count, get_scenario
from rlsuite.envs.inputs import EpisodeOver, check_reset_options, check_reset_seed

INSTALL_HINT = (
    "the real Google Research Football engine is not installed: run scripts/install_football.sh "
    "(builds gfootball into its own virtualenv; see docs/football.md), or use the built-in "
    "simulator 'rlsuite/GRFSim-<scenario>-v0'"
)
_ALL_ACTIONS = np.ones(N_ACTIONS, dtype=np.int8)


def gfootball_available() -> bool:
    return importlib.util.find_spec("gfootball") is not None


class GRFParallelEnv(ParallelEnv):
    """One academy match on the real gfootball engine behind PettingZoo's Parallel API."""

    metadata: ClassVar[dict[str, Any]] = {
        "name": "rlsuite_grf_v0",
        "render_modes": [],
        "is_parallelizable": True,
    }

    def __init__(
        self,
        scenario: str = "academy_3_vs_1_with_keeper",
        n_agents: int | None = None,
        rewards: str = "scoring,checkpoints",
        render_mode: str | None = None,
        seed: int | None = None,
        other_config_options: dict[str, Any] | None = None,
    ) -> None:
        if render_mode is not None:
            raise ValueError(f"render_mode={render_mode!r}; accepted: None")
        self.scenario = get_scenario(scenario)
        self.n_agents = check_agent_count(self.scenario, n_agents)
        parse_rewards(rewards)
        if not gfootball_available():
            raise ImportError(INSTALL_HINT)
        self.rewards = rewards
        self.render_mode = None
        self.episode_limit = self.scenario.game_duration + 1  # the first observation says 401 steps left
        self.possible_agents = agent_names(self.n_agents)
        self.agents: list[str] = []
        self.observation_spaces, self.action_spaces, self.state_space = team_spaces(
            self.possible_agents, state_size(self.n_agents)
        )
        self._config = dict(other_config_options or {})
        self._seed = seed
        self._env: Any = None
        self._env_seed: int | None = None
        self._obs = np.zeros((self.n_agents, OBS_SIZE), np.float32)

    def observation_space(self, agent: str) -> spaces.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self.action_spaces[agent]

    def _build(self, seed: int | None) -> None:
        import gfootball.env as football_env

        if self._env is not None:
            self._env.close()
        config = dict(self._config)
        if seed is not None:
            config["game_engine_random_seed"] = int(seed)
        self._env = football_env.create_environment(
            env_name=self.scenario.name,
            representation="simple115v2",
            rewards=self.rewards,
            number_of_left_players_agent_controls=self.n_agents,
            render=False,
            other_config_options=config,
        )
        self._env_seed = seed

    def reset(self, seed: int | None = None, options: dict | None = None):
        check_reset_options(options)
        seed = check_reset_seed(seed)
        if seed is None and self._env is None:
            seed = self._seed
        if self._env is None or (seed is not None and seed != self._env_seed):
            self._build(seed)
        self._obs = self._rows(self._env.reset())
        self.agents = list(self.possible_agents)
        return {a: self._obs[k].copy() for k, a in enumerate(self.agents)}, self._infos(False)

    def step(self, actions: dict[str, Any]):
        if not self.agents:
            raise EpisodeOver()
        missing = [a for a in self.possible_agents if a not in actions]
        if missing:
            raise ValueError(f"no action for agents {missing}; agents: {self.agents}")
        joint = [check_action(a, actions[a]) for a in self.possible_agents]
        obs, reward, done, info = self._env.step(joint)
        self._obs = self._rows(obs)
        reward = np.asarray(reward, dtype=np.float64).reshape(self.n_agents)
        raw = self.raw_observation()
        timeout = bool(done) and int(raw["steps_left"]) <= 0
        ended = bool(done) and not timeout
        observations = {a: self._obs[k].copy() for k, a in enumerate(self.agents)}
        rewards = {a: float(reward[k]) for k, a in enumerate(self.agents)}
        terminations = {a: ended for a in self.agents}
        truncations = {a: timeout for a in self.agents}
        infos = self._infos(float(info.get("score_reward", 0.0)) > 0)
        if done:
            self.agents = []
        return observations, rewards, terminations, truncations, infos

    def _rows(self, obs: Any) -> np.ndarray:
        return np.asarray(obs, dtype=np.float32).reshape(self.n_agents, OBS_SIZE)

    def raw_observation(self) -> dict[str, Any]:
        """The engine's raw observation of the first controlled player (score, ownership, steps left...)."""
        return self._env.unwrapped.observation()[0]

    def _infos(self, won: bool) -> dict[str, dict[str, Any]]:
        raw = self.raw_observation()
        shared = {
            "score": [int(s) for s in raw["score"]],
            "battle_won": won,
            "game_mode": int(raw["game_mode"]),
        }
        return {a: {"action_mask": _ALL_ACTIONS.copy(), **shared} for a in self.possible_agents}

    def state(self) -> np.ndarray:
        return global_state(self._obs)

    def render(self) -> None:
        return None

    def __getstate__(self) -> dict[str, Any]:
        # A running C++ game cannot be pickled; saying so up front (even before the first reset builds it)
        # lets vector envs and checkpoints know that this env's state cannot be saved.
        raise TypeError("GRFParallelEnv holds a running gfootball engine, which cannot be pickled")

    def close(self) -> None:
        self.agents = []
        if self._env is not None:
            self._env.close()
            self._env = None
