"""Policy evaluation on a vector env: exactly ``episodes`` complete episodes, spread evenly over envs."""

from __future__ import annotations

from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np

from rlsuite.agents.base import Agent
from rlsuite.core.episodes import SUCCESS_KEYS, WIN_KEYS, episode_flag


@dataclass
class EvalResult:
    returns: list[float]
    lengths: list[int]
    successes: list[bool] = field(default_factory=list)
    wins: list[bool] = field(default_factory=list)

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
        return out


def evaluate_policy(
    agent: Agent,
    env: gym.vector.VectorEnv,
    episodes: int,
    *,
    deterministic: bool = True,
    seed: int | None = None,
) -> EvalResult:
    """Run ``agent`` until ``episodes`` episodes have finished.

    Env ``i`` of ``n`` contributes ``(episodes + i) // n`` episodes, so short episodes are not
    over-represented (a plain "first N to finish" count would favour them).
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    n = env.num_envs
    targets = np.array([(episodes + i) // n for i in range(n)])
    counts = np.zeros(n, int)
    running_return = np.zeros(n)
    running_length = np.zeros(n, int)
    result = EvalResult([], [])
    obs, _ = env.reset(seed=seed)
    while (counts < targets).any():
        obs, reward, terminated, truncated, infos = env.step(agent.act(obs, deterministic=deterministic))
        running_return += reward
        running_length += 1
        for i in np.flatnonzero(np.logical_or(terminated, truncated)):
            if counts[i] < targets[i]:
                _record(result, infos, i, running_return[i], running_length[i])
                counts[i] += 1
            running_return[i], running_length[i] = 0.0, 0
    return result


def _record(result: EvalResult, infos: dict, i: int, episode_return: float, length: int) -> None:
    result.returns.append(float(episode_return))
    result.lengths.append(int(length))
    if (success := episode_flag(infos, i, SUCCESS_KEYS)) is not None:
        result.successes.append(success)
    if (won := episode_flag(infos, i, WIN_KEYS)) is not None:
        result.wins.append(won)
