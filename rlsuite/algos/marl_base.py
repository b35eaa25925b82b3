"""What every cooperative multi-agent learner shares: the team vector env, its bookkeeping, win rates.

A team vector env (``rlsuite.make_vec`` on a multi-agent id: the SMAC simulator natively, any PettingZoo
Parallel env through ``ParallelVectorEnv``) steps ``num_envs`` team games at once with same-step
autoreset. Learners see it only through the typed records of :mod:`rlsuite.core.team`:

    self.team_spec                 # TeamSpec: n_agents, n_actions, obs/state sizes, episode limit, entities
    self.observation               # TeamObservation: obs [N, n, obs], state [N, S], action_mask [N, n, A]
    step = self.step_env(actions)  # TeamStep: next observation, reward, terminated, truncated, won, and
                                   # step.final_observation(): the observation each finished game ended in

``reward``, ``terminated`` (won, lost, draw) and ``truncated`` (time limit) are per team. The agent is a
:class:`~rlsuite.agents.base.Policy` over team observations; recurrent agents keep the training rollout's
memory in ``agent.memory`` (checkpointed), evaluation keeps its own. :class:`MultiAgentAlgorithm` builds
the env, tracks returns and wins, and evaluates win rates (``summary.json`` gets ``win_rate``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

import rlsuite
from rlsuite.algos.base import EVAL_SEED_OFFSET, Algorithm
from rlsuite.core.episodes import EpisodeTracker
from rlsuite.core.team import TeamObservation, TeamSpec, TeamStep, team_reset, team_spec_of, team_step
from rlsuite.training.evaluation import EvalResult, evaluate_policy

TEAM_ENV_ATTRIBUTES = ("num_envs", "n_agents", "n_actions", "obs_size", "state_size", "episode_limit")


class MultiAgentAlgorithm(Algorithm):
    """Base of the cooperative MARL learners: team env, episode/win tracking, win-rate evaluation."""

    team_spec: TeamSpec
    observation: TeamObservation  # the current observation of the training envs
    info: Mapping[str, Any]  # the env's last info dict (checkpoints keep its arrays as "team_info")

    # --- env ------------------------------------------------------------------------------------
    def env_kwargs(self) -> dict[str, Any]:
        """Extra env constructor arguments the learner needs (e.g. ACE's entity features)."""
        return {}

    def _make_env(self, num_envs: int) -> Any:
        cfg = self.env_config
        if self._env_instance is not None:
            env = self._env_instance.make(num_envs)
            if not self._env_instance.multi_agent:
                raise ValueError(f"{self.name} needs a multi-agent env; got a {type(env).__name__}")
            return env
        if not rlsuite.spec(cfg.id).multi_agent:
            raise ValueError(
                f"{self.name} needs a multi-agent env like 'rlsuite/SMAC-3m-v0'; {cfg.id!r} is single-agent "
                f"(multi-agent ids: {', '.join(rlsuite.list_envs(multi_agent=True)[:5])}, ...)"
            )
        kwargs = {**cfg.kwargs, **self.env_kwargs()}
        env = rlsuite.make_vec(cfg.id, num_envs, vectorization=cfg.vectorization, **kwargs)
        if not hasattr(env, "team_spec"):
            missing = [a for a in TEAM_ENV_ATTRIBUTES if not hasattr(env, a)]
            if missing:
                raise ValueError(
                    f"{self.name} needs a multi-agent vector env (a multi-agent id like "
                    "'rlsuite/SMAC-3m-v0'); "
                    f"{cfg.id!r} gives {type(env).__name__}, which lacks team_spec and {', '.join(missing)}"
                )
        return env

    def _build_training_env(self) -> None:
        self.env = self._make_env(self.env_config.num_envs)
        self._check_supported(self.env.single_action_space)
        self.team_spec = team_spec_of(self.env)
        self.episodes = EpisodeTracker(self.env.num_envs)
        self.recent_wins: deque[bool] = deque(maxlen=100)
        self._set_observation(*team_reset(self.env, self.seed))
        self.n_agents, self.n_actions = self.team_spec.n_agents, self.team_spec.n_actions
        # The SMAC simulator's numba kernels run on OpenMP, which torch's CPU build shares: a parallel
        # kernel call resets the thread count torch reads, and torch's small kernels then fight numba's
        # spinning threads (a ReLU on a 300k-element tensor: 0.3 ms -> 12 ms on a 2-core box). Every env
        # step therefore goes through ``step_env``, which puts torch's thread count back.
        self.torch_threads = torch.get_num_threads()

    def _set_observation(self, observation: TeamObservation, info: Mapping[str, Any]) -> None:
        self.observation, self.obs, self.info = observation, observation.obs, info

    def restore_torch_threads(self) -> None:
        if torch.get_num_threads() != self.torch_threads:
            torch.set_num_threads(self.torch_threads)

    def step_env(self, actions: np.ndarray) -> TeamStep:
        """Step the training envs with joint ``actions`` [N, n_agents] (torch's thread count kept, see
        ``_build_training_env``); the current observation becomes the step's."""
        step = team_step(self.env, actions)
        self.restore_torch_threads()
        self._set_observation(step.observation, step.info)
        return step

    def track(self, step: TeamStep) -> np.ndarray:
        """Per-step bookkeeping of returns, lengths and wins; returns the envs whose game ended."""
        ended = self.episodes.step(step.reward, step.done)
        if step.won is not None:
            self.recent_wins.extend(bool(step.won[i]) for i in ended)
        return ended

    # --- evaluation and logging -----------------------------------------------------------------
    def evaluate(self, episodes: int | None = None, deterministic: bool | None = None) -> EvalResult:
        episodes = episodes or self.eval_config.episodes
        deterministic = self.eval_config.deterministic if deterministic is None else deterministic
        if self._eval_env is None:
            self._eval_env = self._make_eval_env(self.eval_config.num_envs or min(episodes, 16))
        seed = self.seed + EVAL_SEED_OFFSET + self.global_step
        with torch.inference_mode():
            return evaluate_policy(
                self.agent, self._eval_env, episodes, deterministic=deterministic, seed=seed
            )

    def rollout_stats(self) -> dict[str, float]:
        return {"rollout/win_rate": float(np.mean(self.recent_wins))} if self.recent_wins else {}

    # --- checkpoints: the current team observation dict travels with the env state ---------------
    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["team_info"] = {k: np.copy(v) for k, v in self.info.items() if isinstance(v, np.ndarray)}
        state["recent_wins"] = list(self.recent_wins)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        info = {k: np.copy(v) for k, v in state["team_info"].items()}
        self._set_observation(TeamObservation.from_info(self.obs, info), info)
        self.recent_wins.clear()
        self.recent_wins.extend(state["recent_wins"])
