"""What every cooperative multi-agent learner shares: the team vector env, its bookkeeping, win rates.

A multi-agent vector env (``rlsuite.make_vec`` on a multi-agent id: the SMAC simulator natively, any
PettingZoo Parallel env through :class:`rlsuite.wrappers.multi_agent.ParallelVectorEnv`) steps
``num_envs`` team games at once with same-step autoreset:

    obs, info = env.reset(seed=s)             # obs [N, n_agents, obs_size]
    info["state"]                             # [N, state_size] global state (centralised training)
    info["action_mask"]                       # [N, n_agents, n_actions] bool; dead agents: only action 0
    obs, reward, terminated, truncated, info = env.step(actions)     # actions int [N, n_agents]

``reward``, ``terminated`` (won, lost, draw) and ``truncated`` (time limit) are per team. Finished
games' last observation, state and mask are in ``info["final_obs"|"final_state"|"final_action_mask"]``;
``info["battle_won"]`` says whether each game was won on this step.

A :class:`MultiAgentAgent` acts on the whole observation dict (recurrent agents keep per-env hidden
state in an attribute ``memory`` and clear rows of it with ``reset``). :class:`MultiAgentAlgorithm`
builds the env, tracks returns and wins, and evaluates win rates (``summary.json`` gets ``win_rate``).
"""

from __future__ import annotations

from collections import deque
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from rlsuite.algos.base import Algorithm
from rlsuite.core.episodes import EpisodeTracker
from rlsuite.core.evaluation import EvalResult
from rlsuite.envs.registry import list_envs, make_vec, spec

TEAM_ENV_ATTRIBUTES = ("num_envs", "n_agents", "n_actions", "obs_size", "state_size", "episode_limit")


@runtime_checkable
class MultiAgentAgent(Protocol):
    """Maps a batch of team observations to a batch of joint actions ``[num_envs, n_agents]``."""

    device: torch.device

    def reset(self, num_envs: int, rows: np.ndarray | None = None) -> None:
        """Forget per-episode memory (recurrent state) of env ``rows`` (all when None)."""

    def act(self, obs: np.ndarray, info: dict[str, Any], deterministic: bool = False) -> np.ndarray: ...


def team_obs(obs: np.ndarray, info: dict[str, Any]) -> dict[str, np.ndarray]:
    """The per-step observation dict learners store: ``obs``, ``state`` and ``action_mask``."""
    return {"obs": obs, "state": info["state"], "action_mask": info["action_mask"]}


def final_team_obs(obs: np.ndarray, info: dict[str, Any], done: np.ndarray) -> dict[str, np.ndarray]:
    """Observations *after* the step: the final ones for envs whose game just ended, else the new ones."""
    out = team_obs(obs, info)
    if not np.any(done):
        return out
    rows = np.asarray(done, bool)
    for key, final_key in (
        ("obs", "final_obs"),
        ("state", "final_state"),
        ("action_mask", "final_action_mask"),
    ):
        value = out[key].copy()
        value[rows] = info[final_key][rows]
        out[key] = value
    return out


def evaluate_team(
    agent: MultiAgentAgent, env: Any, episodes: int, *, deterministic: bool = True, seed: int | None = None
) -> EvalResult:
    """Play exactly ``episodes`` games (env ``i`` of ``n`` plays ``(episodes + i) // n``): returns, wins."""
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    n = env.num_envs
    targets = np.array([(episodes + i) // n for i in range(n)])
    counts, running, lengths = np.zeros(n, int), np.zeros(n), np.zeros(n, int)
    result = EvalResult([], [], wins=[])
    obs, info = env.reset(seed=seed)
    agent.reset(n)
    threads = torch.get_num_threads()  # kept across env steps (see MultiAgentAlgorithm.step_env)
    while (counts < targets).any():
        obs, reward, terminated, truncated, info = env.step(agent.act(obs, info, deterministic=deterministic))
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        running += reward
        lengths += 1
        done = np.flatnonzero(np.logical_or(terminated, truncated))
        for i in done:
            if counts[i] < targets[i]:
                result.returns.append(float(running[i]))
                result.lengths.append(int(lengths[i]))
                result.wins.append(bool(info.get("battle_won", np.zeros(n, bool))[i]))
                counts[i] += 1
            running[i], lengths[i] = 0.0, 0
        agent.reset(n, done)
    return result


class MultiAgentAlgorithm(Algorithm):
    """Base of the cooperative MARL learners: team env, episode/win tracking, win-rate evaluation."""

    agent: MultiAgentAgent

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
        if not spec(cfg.id).multi_agent:
            raise ValueError(
                f"{self.name} needs a multi-agent env like 'rlsuite/SMAC-3m-v0'; {cfg.id!r} is single-agent "
                f"(multi-agent ids: {', '.join(list_envs(multi_agent=True)[:5])}, ...)"
            )
        kwargs = {**cfg.kwargs, **self.env_kwargs()}
        env = make_vec(cfg.id, num_envs, vectorization=cfg.vectorization, **kwargs)
        missing = [a for a in TEAM_ENV_ATTRIBUTES if not hasattr(env, a)]
        if missing:
            raise ValueError(
                f"{self.name} needs a multi-agent vector env (a multi-agent id like 'rlsuite/SMAC-3m-v0'); "
                f"{cfg.id!r} gives {type(env).__name__}, which lacks {', '.join(missing)}"
            )
        return env

    def _build_training_env(self) -> None:
        self.env = self._make_env(self.env_config.num_envs)
        self._check_supported(self.env.single_action_space)
        self.episodes = EpisodeTracker(self.env.num_envs)
        self.recent_wins: deque[bool] = deque(maxlen=100)
        self.obs, self.info = self.env.reset(seed=self.seed)
        self.n_agents, self.n_actions = self.env.n_agents, self.env.n_actions
        # The SMAC simulator's numba kernels run on OpenMP, which torch's CPU build shares: a parallel
        # kernel call resets the thread count torch reads, and torch's small kernels then fight numba's
        # spinning threads (a ReLU on a 300k-element tensor: 0.3 ms -> 12 ms on a 2-core box). Every env
        # step therefore goes through ``step_env``, which puts torch's thread count back.
        self.torch_threads = torch.get_num_threads()

    def restore_torch_threads(self) -> None:
        if torch.get_num_threads() != self.torch_threads:
            torch.set_num_threads(self.torch_threads)

    def step_env(self, actions: np.ndarray) -> tuple:
        """``env.step(actions)`` with torch's thread count kept (see ``_build_training_env``)."""
        result = self.env.step(actions)
        self.restore_torch_threads()
        return result

    def track(
        self, reward: np.ndarray, terminated: np.ndarray, truncated: np.ndarray, info: dict
    ) -> np.ndarray:
        """Per-step bookkeeping of returns, lengths and wins; returns the envs whose game ended."""
        done = np.logical_or(terminated, truncated)
        ended = self.episodes.step(reward, done)
        won = info.get("battle_won")
        if won is not None:
            self.recent_wins.extend(bool(won[i]) for i in ended)
        return ended

    # --- evaluation and logging -----------------------------------------------------------------
    def evaluate(self, episodes: int | None = None, deterministic: bool | None = None) -> EvalResult:
        from rlsuite.algos.base import EVAL_SEED_OFFSET

        episodes = episodes or self.eval_config.episodes
        deterministic = self.eval_config.deterministic if deterministic is None else deterministic
        if self._eval_env is None:
            self._eval_env = self._make_env(self.eval_config.num_envs or min(episodes, 16))
        seed = self.seed + EVAL_SEED_OFFSET + self.global_step
        # Recurrent agents keep their training envs' hidden state in ``memory``: set it aside meanwhile.
        memory = getattr(self.agent, "memory", None)
        try:
            with torch.inference_mode():
                return evaluate_team(
                    self.agent, self._eval_env, episodes, deterministic=deterministic, seed=seed
                )
        finally:
            if memory is not None:
                self.agent.memory = memory

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
        self.info = {k: np.copy(v) for k, v in state["team_info"].items()}
        self.recent_wins.clear()
        self.recent_wins.extend(state["recent_wins"])
