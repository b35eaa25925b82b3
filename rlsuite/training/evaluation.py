"""The one evaluator: any :class:`~rlsuite.agents.base.Policy` on any vector env, exactly N episodes.

Three kinds of vector env are played the same way (reset, then step until every env has finished its share
of episodes, recording each finished episode's return, length, success and win):

* single-agent ``gymnasium.vector.VectorEnv`` (same-step autoreset): observations are arrays; success and
  wins come from ``final_info["is_success"|"success"]`` / ``["battle_won"|"won"]`` where the env gives them;
* team vector envs (``team_spec``; :mod:`rlsuite.core.team`): the policy sees a
  :class:`~rlsuite.core.team.TeamObservation`, joint actions go back, every game records a win flag;
* text envs (``Text`` action spaces): prompts in, a :class:`~rlsuite.agents.text.policy.Generation` out; an
  episode is one response, its length the response's token count, its success ``info["correct"]``.

Env ``i`` of ``n`` contributes ``(episodes + i) // n`` episodes, so short episodes are not over-represented
(a plain "first N to finish" count would favour them). Text envs deal their held-out problems in order, one
per env per step, so there env ``i`` answers ``episodes // n + (i < episodes % n)``: the first ``episodes``
problems.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from rlsuite.agents.base import Policy, as_policy
from rlsuite.core.episodes import SUCCESS_KEYS, WIN_KEYS, episode_flag
from rlsuite.core.team import team_reset, team_step


@dataclass
class EvalResult:
    returns: list[float]
    lengths: list[int]
    successes: list[bool] = field(default_factory=list)
    wins: list[bool] = field(default_factory=list)
    responses: list[str] = field(default_factory=list)  # text envs: each episode's response
    prompts: list[str] = field(default_factory=list)  # text envs: the prompt each response answered
    # Learner-specific figures over the same episodes (e.g. WMAct's single-turn success rate): logged as
    # ``eval/<key>`` and written to summary.json as ``<key>``.
    extras: dict[str, float] = field(default_factory=dict)

    @property
    def mean(self) -> float:
        return float(np.mean(self.returns))

    @property
    def std(self) -> float:
        return float(np.std(self.returns))

    def metrics(self, prefix: str = "eval/") -> dict[str, float]:
        out = {
            f"{prefix}return_mean": self.mean,
            f"{prefix}return_std": self.std,
            f"{prefix}length_mean": float(np.mean(self.lengths)),
        }
        if self.successes:
            out[f"{prefix}success_rate"] = float(np.mean(self.successes))
        if self.wins:
            out[f"{prefix}win_rate"] = float(np.mean(self.wins))
        out.update({f"{prefix}{key}": float(value) for key, value in self.extras.items()})
        return out


@dataclass
class _Step:
    """One vector step as the evaluator needs it."""

    obs: Any  # what the policy sees next
    reward: np.ndarray  # [N]
    done: np.ndarray  # [N] bool
    record: Callable[[EvalResult, int], None]  # adds env i's success / win / response to the result
    lengths: np.ndarray | None = None  # per-env episode lengths when they are not step counts (text)


class _VectorEnvPlay:
    """Single-agent ``gymnasium.vector.VectorEnv``."""

    def __init__(self, env: Any) -> None:
        self.env, self.num_envs = env, env.num_envs

    def quota(self, episodes: int) -> np.ndarray:
        return np.array([(episodes + i) // self.num_envs for i in range(self.num_envs)])

    def reset(self, seed: int | None) -> Any:
        return self.env.reset(seed=seed)[0]

    def step(self, actions: Any) -> _Step:
        obs, reward, terminated, truncated, infos = self.env.step(actions)

        def record(result: EvalResult, i: int) -> None:
            if (success := episode_flag(infos, i, SUCCESS_KEYS)) is not None:
                result.successes.append(success)
            if (won := episode_flag(infos, i, WIN_KEYS)) is not None:
                result.wins.append(won)

        return _Step(obs, reward, np.logical_or(terminated, truncated), record)


class _TeamEnvPlay(_VectorEnvPlay):
    """Team vector envs: typed observations, a win flag for every game."""

    def reset(self, seed: int | None) -> Any:
        return team_reset(self.env, seed)[0]

    def step(self, actions: Any) -> _Step:
        step = team_step(self.env, actions)
        won = np.zeros(self.num_envs, bool) if step.won is None else step.won

        def record(result: EvalResult, i: int) -> None:
            result.wins.append(bool(won[i]))

        return _Step(step.observation, step.reward, step.done, record)


class _TextEnvPlay(_VectorEnvPlay):
    """Single-turn text envs: one response per prompt is one episode."""

    def quota(self, episodes: int) -> np.ndarray:
        n = self.num_envs
        return np.array([episodes // n + (i < episodes % n) for i in range(n)])

    def reset(self, seed: int | None) -> Any:
        self._asked = list(super().reset(seed))
        return self._asked

    def step(self, generation: Any) -> _Step:
        asked = self._asked
        prompts, rewards, terminated, truncated, infos = self.env.step(
            generation.texts, finished=generation.finished
        )
        self._asked = list(prompts)
        correct, texts = infos["correct"], generation.texts

        def record(result: EvalResult, i: int) -> None:
            result.successes.append(bool(correct[i]))
            result.responses.append(texts[i])
            result.prompts.append(asked[i])

        lengths = np.array([len(r) for r in generation.response_ids])
        return _Step(prompts, rewards, np.logical_or(terminated, truncated), record, lengths)


def _play_for(env: Any) -> _VectorEnvPlay:
    if isinstance(getattr(env, "single_action_space", None), spaces.Text):
        return _TextEnvPlay(env)
    if hasattr(env, "team_spec") or hasattr(env, "n_agents"):
        return _TeamEnvPlay(env)
    return _VectorEnvPlay(env)


def evaluate_policy(
    policy: Policy | Any,
    env: Any,
    episodes: int,
    *,
    deterministic: bool = True,
    seed: int | None = None,
) -> EvalResult:
    """Run ``policy`` on the vector ``env`` (reset with ``seed``) until ``episodes`` episodes have finished.

    ``policy`` is a :class:`~rlsuite.agents.base.Policy` (or any object with ``act(obs, deterministic)``).
    A policy with ``bind_env(team_spec)`` is first given the team env's declared spec (a policy that picks
    entity columns by name, such as MaskMA's, plays any map this way).
    The policy's memory starts fresh and is cleared for every env whose episode ends.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    policy, play = as_policy(policy), _play_for(env)
    bind_env = getattr(policy, "bind_env", None)  # policies that read the env's declared spec (MaskMA)
    if callable(bind_env) and hasattr(env, "team_spec"):
        bind_env(env.team_spec)
    n = play.num_envs
    targets, counts = play.quota(episodes), np.zeros(n, int)
    running_return, running_length = np.zeros(n), np.zeros(n, int)
    result = EvalResult([], [])
    obs = play.reset(seed)
    state = policy.initial_state(n)
    threads = torch.get_num_threads()  # numba's OpenMP kernels (SMAC) may change it: put it back
    while (counts < targets).any():
        actions, state = policy.step(obs, state, deterministic=deterministic)
        step = play.step(actions)
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        obs = step.obs
        running_return += step.reward
        running_length += 1 if step.lengths is None else step.lengths
        done = np.flatnonzero(step.done)
        for i in done:
            if counts[i] < targets[i]:
                result.returns.append(float(running_return[i]))
                result.lengths.append(int(running_length[i]))
                step.record(result, i)
                counts[i] += 1
            running_return[i], running_length[i] = 0.0, 0
        state = policy.reset_state(state, done)
    return result
