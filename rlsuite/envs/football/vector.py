"""The batched football simulator for training: ``num_envs`` matches stepped by one numba call.

    env = rlsuite.make_vec("rlsuite/GRFSim-academy_3_vs_1_with_keeper-v0", 64)
    obs, info = env.reset(seed=0)        # obs [64, 3, 115]; info["state"] [64, 137], info["action_mask"]
    obs, reward, terminated, truncated, info = env.step(actions)    # actions int [64, 3] in [0, 19)

``reward`` is the team reward: the mean of the agents' rewards (as ``ParallelVectorEnv`` gives it for
any PettingZoo env), with every agent's own reward in ``info["agent_rewards"]`` ``[num_envs, n_agents]``.
``terminated`` (goal, out of play, possession change) and ``truncated`` (step limit) are per match.
``info["battle_won"]`` marks matches the left team won on this step (it scored), ``info["score"]`` the
score. Same-step autoreset: a finished match is reset inside ``step``; its last observation, state and
mask are in ``info["final_obs"|"final_state"|"final_action_mask"]``, with ``info["_final"]`` marking them.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode

from rlsuite.core.team import TeamSpec
from rlsuite.envs.batched import check_positive_int, check_team_actions, pop_reset_mask, team_env_info
from rlsuite.envs.football.actions import N_ACTIONS, OBS_SIZE
from rlsuite.envs.football.match import MatchCore
from rlsuite.envs.football.scenarios import Scenario
from rlsuite.envs.inputs import check_reset_options


class GRFSimVectorEnv:
    """``num_envs`` academy matches with team arrays and same-step autoreset."""

    metadata: ClassVar[dict[str, Any]] = {
        "autoreset_mode": AutoresetMode.SAME_STEP,
        "render_modes": [],
        "render_fps": 10,  # the engine's 10 steps per second of play: videos in real time
    }
    # When true, ``step`` puts each finished match's last frame in ``info["final_frames"]`` (videos).
    render_final_frames: bool = False

    def __init__(
        self,
        scenario: str | Scenario = "academy_3_vs_1_with_keeper",
        num_envs: int = 1,
        seed: int | None = None,
        **match_kwargs: Any,
    ) -> None:
        self.num_envs = check_positive_int("num_envs", num_envs)
        self.match = MatchCore(scenario, self.num_envs, **match_kwargs)
        self.scenario = self.match.scenario
        self._seed = seed
        self.n_agents, self.n_actions = self.match.n_agents, N_ACTIONS
        self.obs_size, self.state_size = OBS_SIZE, self.match.state_size
        self.episode_limit = self.match.episode_limit
        self.single_observation_space = spaces.Box(-np.inf, np.inf, (OBS_SIZE,), np.float32)
        self.single_action_space = spaces.Discrete(N_ACTIONS)
        # Joint actions of all matches (every action is always available): `rlsuite bench` samples these.
        self.action_space = spaces.MultiDiscrete(np.full((self.num_envs, self.n_agents), N_ACTIONS))
        self.state_space = spaces.Box(-np.inf, np.inf, (self.state_size,), np.float32)
        self.team_spec = TeamSpec(self.n_agents, N_ACTIONS, OBS_SIZE, self.state_size, self.episode_limit)
        self._mask = np.ones((self.num_envs, self.n_agents, N_ACTIONS), dtype=np.bool_)
        self._started = False

    def get_env_info(self) -> dict[str, Any]:
        """SMAC-style ``get_env_info`` keys, plus ``num_envs``."""
        return team_env_info(self)

    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset all matches (or those in ``options["reset_mask"]``). ``seed=s`` seeds match ``i`` with
        ``s + i``; a list gives one seed (or None) per match."""
        mask = pop_reset_mask(check_reset_options(options), self.num_envs)
        self.match.streams.seed_for_reset(seed, self._seed)
        self.match.reset(mask)
        self._started = True
        obs = self.match.obs()
        return obs, self._info(obs, {})

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if not self._started:
            raise RuntimeError("call reset() before step()")
        actions = check_team_actions(actions, self._mask, env_word="match")
        result = self.match.step(actions)
        terminated, truncated = result["terminated"], result["truncated"]
        info: dict[str, Any] = {
            "battle_won": result["goal"] == 1,
            "goal": result["goal"],
            "score": self.match.score(),
            "agent_rewards": result["reward"].astype(np.float32),
        }
        done = terminated | truncated
        if done.any():
            final = self.match.obs()
            info["final_obs"] = np.where(done[:, None, None], final, np.float32(0.0))
            info["final_state"] = np.where(done[:, None], self.match.state(final), np.float32(0.0))
            info["final_action_mask"] = np.where(done[:, None, None], self._mask, False)
            info["_final"] = done.copy()
            if self.render_final_frames:  # video recording: the last frame, before the autoreset
                info["final_frames"] = {int(i): self.render_frame(int(i)) for i in np.flatnonzero(done)}
            self.match.reset(done)
        obs = self.match.obs()
        reward = result["reward"].mean(axis=1).astype(np.float32)
        return obs, reward, terminated, truncated, self._info(obs, info)

    def _info(self, obs: np.ndarray, info: dict[str, Any]) -> dict[str, Any]:
        info["state"] = self.match.state(obs)
        info["action_mask"] = self._mask.copy()
        return info

    def render_frame(self, index: int = 0) -> np.ndarray:
        """A top-down RGB frame of match ``index`` (:mod:`rlsuite.envs.football.render`)."""
        from rlsuite.envs.football.render import render_match_frame

        return render_match_frame(self.match, index)

    def get_state(self) -> dict[str, np.ndarray]:
        """All matches' state for checkpoints (``set_state`` restores it, random streams included)."""
        return self.match.get_state()

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        self.match.set_state(state)
        self._started = True

    def close(self) -> None:
        self._started = False
