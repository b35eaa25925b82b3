"""``Matches``: a batch of academy matches on the numba core, shared by the PettingZoo env and the
vector env (one source of truth for both)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from rlsuite.envs.batched import BatchedCore, EnvStreams
from rlsuite.envs.football.actions import N_ACTIONS, OBS_SIZE, global_state, parse_rewards, state_size
from rlsuite.envs.football.core import match_state, reset_kernel, step_kernel
from rlsuite.envs.football.observe import observe_kernel
from rlsuite.envs.football.params import Physics
from rlsuite.envs.football.physics import (
    A_DIR,
    A_DRIBBLE,
    A_PLAYER,
    A_SPRINT,
    G_MODE,
    G_OWNER,
    G_SCORE_L,
    G_SCORE_R,
    G_STEPS,
    N_A,
    N_G,
    N_P,
)
from rlsuite.envs.football.scenarios import Scenario, check_agent_count, get_scenario

_STATE_KEYS = ("players", "ball", "game", "agents", "rng", "seeded")


def _drop_stale_kernel_caches() -> None:
    """Numba's on-disk cache of a kernel is keyed on its own file only, but the kernels read constants
    (column indices, parameter slots) from sibling modules: when any football source changes, drop the
    package's cached kernels so none runs with stale constants. Runs before any kernel is called."""
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(here.glob("*.py")))).hexdigest()
    cache = here / "__pycache__"
    stamp = cache / "football-kernels.sha256"
    try:
        if stamp.read_text() == digest:
            return
    except OSError:
        pass
    try:
        for path in [*cache.glob("*.nbi"), *cache.glob("*.nbc")]:
            path.unlink(missing_ok=True)
        cache.mkdir(exist_ok=True)
        stamp.write_text(digest)
    except OSError:  # a read-only install: numba then caches elsewhere or not at all
        pass


_drop_stale_kernel_caches()


class MatchCore(BatchedCore):
    """``num_envs`` matches of one scenario with ``n_agents`` controlled left players each."""

    def __init__(
        self,
        scenario: str | Scenario,
        num_envs: int,
        *,
        n_agents: int | None = None,
        rewards: str = "scoring,checkpoints",
        physics: Physics | dict[str, Any] | None = None,
        game_duration: int | None = None,
        end_episode_on_possession_change: bool | None = None,
    ) -> None:
        self.scenario = get_scenario(scenario)
        self.n_agents = check_agent_count(self.scenario, n_agents)
        self.checkpoints = parse_rewards(rewards)
        self.physics = Physics.from_any(physics)
        self.params = self.physics.to_array(self.scenario.right_difficulty)
        self.game_duration = int(game_duration or self.scenario.game_duration)
        if self.game_duration < 1:
            raise ValueError(f"game_duration must be a positive int, got {game_duration!r}")
        # The engine's first observation reports game_duration + 1 steps left and the episode is cut when
        # they run out: 401 steps for the academy's 400.
        self.episode_limit = self.game_duration + 1
        on_change = self.scenario.end_on_possession_change
        self.end_on_possession_change = bool(
            on_change if end_episode_on_possession_change is None else end_episode_on_possession_change
        )
        self.num_envs = num_envs
        self.streams = EnvStreams(num_envs)
        self.home = self.scenario.positions()
        self.roles = self.scenario.roles()
        self.exists = self.roles >= 0
        self.home_ball = np.array(self.scenario.ball, dtype=np.float64)
        self.players = np.zeros((num_envs, 22, N_P))
        self.ball = np.zeros((num_envs, 6))
        self.game = np.zeros((num_envs, N_G), dtype=np.int64)
        self.agents = np.zeros((num_envs, self.n_agents, N_A), dtype=np.int64)
        self.reward = np.zeros((num_envs, self.n_agents))
        self.terminated = np.zeros(num_envs, dtype=np.bool_)
        self.truncated = np.zeros(num_envs, dtype=np.bool_)
        self.goals = np.zeros(num_envs, dtype=np.int64)
        self._obs = np.zeros((num_envs, self.n_agents, OBS_SIZE), dtype=np.float32)
        self.obs_size, self.n_actions = OBS_SIZE, N_ACTIONS
        self.state_size = state_size(self.n_agents)

    def _kernel_state(self):
        return match_state(
            self.players,
            self.ball,
            self.game,
            self.agents,
            self.exists,
            self.roles,
            self.home,
            self.home_ball,
            self.scenario.start_mode,
            self.streams.rng,
            self.params,
            self.checkpoints,
            self.episode_limit,
            self.end_on_possession_change,
            self.reward,
            self.terminated,
            self.truncated,
            self.goals,
        )

    def reset(self, mask: np.ndarray) -> None:
        reset_kernel(self.kernel_state, mask)

    def step(self, actions: np.ndarray) -> dict[str, np.ndarray]:
        """Advance every match by one step with ``actions`` int64 ``[num_envs, n_agents]`` in [0, 19)."""
        step_kernel(self.kernel_state, actions)
        return {
            "reward": self.reward.copy(),
            "terminated": self.terminated.copy(),
            "truncated": self.truncated.copy(),
            "goal": self.goals.copy(),
        }

    def obs(self) -> np.ndarray:
        """simple115v2 rows ``float32 [num_envs, n_agents, 115]``."""
        observe_kernel(self.players, self.ball, self.game, self.agents, self.exists, self._obs)
        return self._obs.copy()

    @staticmethod
    def state(obs: np.ndarray) -> np.ndarray:
        return global_state(obs)

    def score(self) -> np.ndarray:
        return self.game[:, [G_SCORE_L, G_SCORE_R]].copy()

    def details(self, b: int) -> dict[str, Any]:
        """Match ``b``'s raw facts (the engine's raw-observation names): for tests, rendering, debugging."""
        owner = int(self.game[b, G_OWNER])
        return {
            "ball_owned_team": -1 if owner < 0 else int(owner >= 11),
            "ball_owned_player": -1 if owner < 0 else owner % 11,
            "game_mode": int(self.game[b, G_MODE]),
            "steps": int(self.game[b, G_STEPS]),
            "score": self.score()[b].tolist(),
            "active": self.agents[b, :, A_PLAYER].tolist(),
            "sticky_direction": self.agents[b, :, A_DIR].tolist(),
            "sticky_sprint": self.agents[b, :, A_SPRINT].tolist(),
            "sticky_dribble": self.agents[b, :, A_DRIBBLE].tolist(),
        }

    def get_state(self) -> dict[str, np.ndarray]:
        return {
            "players": self.players.copy(),
            "ball": self.ball.copy(),
            "game": self.game.copy(),
            "agents": self.agents.copy(),
            "rng": self.streams.rng.copy(),
            "seeded": self.streams.seeded.copy(),
        }

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        missing = [k for k in _STATE_KEYS if k not in state]
        if missing:
            raise ValueError(f"football state lacks {missing}; expected keys {list(_STATE_KEYS)}")
        if state["agents"].shape != self.agents.shape:
            raise ValueError(f"state holds agents {state['agents'].shape}, this batch {self.agents.shape}")
        self.players[:], self.ball[:], self.game[:] = state["players"], state["ball"], state["game"]
        self.agents[:] = state["agents"]
        self.streams.rng[:], self.streams.seeded[:] = state["rng"], state["seeded"]


Matches = MatchCore  # the name before the batched cores shared one (BatchedCore)
