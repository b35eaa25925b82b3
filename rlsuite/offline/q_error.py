"""Q-value estimation error of an actor-critic learner: its critic's Q(s, a) against Monte-Carlo returns.

The perspective of SO2 (Zhang et al., AAAI 2024, arXiv:2312.07685) is that offline-to-online fine-tuning
suffers from Q-values that are biased and badly ranked. This measures the bias directly: play episodes
with the learner's deterministic evaluation policy, and at every visited ``(s_t, a_t)`` compare the
critic's estimate with the discounted return that actually followed,

    G_t = sum_{k >= 0} gamma^k r_{t+k}      (to the end of the episode)
    error_t = Q(s_t, a_t) - G_t,

with ``Q`` the mean over the critic ensemble (the min over it is reported as well). An episode cut by the
time limit has no return beyond its end, so its last ``tail`` steps (``gamma^tail < 0.05``) are left out;
terminated episodes count in full. The critics estimate a soft Q-value (with the entropy bonus of the
stochastic policy) and the episodes are played with its mean action, so a small positive bias is
expected for any SAC-family learner; comparisons between learners measured the same way are what this is
for. ``relative_bias`` divides the mean error by the mean ``|G_t|``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class QEstimationError:
    """Q against Monte-Carlo returns over the kept states of ``episodes`` evaluation episodes."""

    episodes: int
    states: int
    return_mean: float  # undiscounted episode return, mean over the episodes
    mc_return_mean: float  # mean G_t over the kept states
    q_mean: float  # mean of the ensemble-mean Q over the kept states
    bias: float  # mean of Q_mean - G
    abs_error: float  # mean of |Q_mean - G|
    relative_bias: float  # bias / mean |G|
    min_q_bias: float  # mean of min_k Q_k - G

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def discounted_returns(rewards: np.ndarray, gamma: float) -> np.ndarray:
    """``G_t = r_t + gamma G_{t+1}`` backwards from the episode's last step (``G_T = r_T``)."""
    out = np.empty(len(rewards), np.float64)
    running = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        running = float(rewards[t]) + gamma * running
        out[t] = running
    return out


def truncation_tail(gamma: float, weight: float = 0.05) -> int:
    """Steps before a time-limit cut whose returns miss more than ``weight`` of their horizon."""
    return 0 if gamma <= 0.0 else math.ceil(math.log(weight) / math.log(gamma))


def play_episode(algo, env, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """One episode of ``algo``'s deterministic policy on a one-env vector ``env``: observations,
    normalised actions (as the critic takes them), rewards, and whether it terminated (not truncated)."""
    obs_list, action_list, rewards = [], [], []
    obs, _ = env.reset(seed=seed)
    while True:
        flat = np.asarray(obs, np.float32).reshape(1, -1)
        with torch.inference_mode():
            action = algo.agent.normalised_action(flat, deterministic=True)
        obs, reward, terminated, truncated, _ = env.step(algo.agent.to_env_action(action))
        obs_list.append(flat[0])
        action_list.append(action[0])
        rewards.append(float(reward[0]))
        if terminated[0] or truncated[0]:
            return np.stack(obs_list), np.stack(action_list), np.asarray(rewards), bool(terminated[0])


def q_estimation_error(algo, episodes: int = 5, seed: int = 0) -> QEstimationError:
    """Play ``episodes`` episodes with ``algo``'s deterministic policy on a fresh env and measure its
    critic (``algo.critic``: an ensemble ``Q(obs, actions) -> [K, B]``; ``algo.config.gamma``)."""
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    critic = getattr(algo, "critic", None)
    if critic is None:
        raise TypeError(f"{type(algo).__name__} has no critic ensemble to measure")
    gamma = float(algo.config.gamma)
    tail = truncation_tail(gamma)
    env = algo._make_env(1)
    mean_errors, min_errors, kept_returns, q_values, episode_returns = [], [], [], [], []
    try:
        for episode in range(episodes):
            obs, actions, rewards, terminated = play_episode(algo, env, seed + episode)
            episode_returns.append(float(rewards.sum()))
            keep = len(rewards) if terminated else max(len(rewards) - tail, 0)
            if keep == 0:
                continue
            g = discounted_returns(rewards, gamma)[:keep]
            with torch.inference_mode():
                q = critic(
                    torch.as_tensor(obs[:keep], device=algo.device),
                    torch.as_tensor(actions[:keep], device=algo.device),
                ).double()
            q_mean, q_min = q.mean(0).cpu().numpy(), q.min(0).values.cpu().numpy()
            mean_errors.append(q_mean - g)
            min_errors.append(q_min - g)
            kept_returns.append(g)
            q_values.append(q_mean)
    finally:
        env.close()
    if not mean_errors:
        nan = math.nan
        return QEstimationError(episodes, 0, float(np.mean(episode_returns)), nan, nan, nan, nan, nan, nan)
    error, g_all = np.concatenate(mean_errors), np.concatenate(kept_returns)
    return QEstimationError(
        episodes=episodes,
        states=len(error),
        return_mean=float(np.mean(episode_returns)),
        mc_return_mean=float(g_all.mean()),
        q_mean=float(np.concatenate(q_values).mean()),
        bias=float(error.mean()),
        abs_error=float(np.abs(error).mean()),
        relative_bias=float(error.mean() / max(np.abs(g_all).mean(), 1e-8)),
        min_q_bias=float(np.concatenate(min_errors).mean()),
    )
