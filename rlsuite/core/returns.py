"""Returns and value targets shared by the actor-critic learners: GAE, truncation bootstraps, value
normalisation and the explained-variance diagnostic.

* :func:`generalized_advantages`: GAE over ``[T, N]`` columns (Schulman et al., 2016, arXiv:1506.02438);
  :func:`multi_head_gae` runs it over ``[T, N, V]`` value heads that share their env's done flags (MAPPO's
  per-agent critics).
* :func:`bootstrap_truncated`: ``r_t += gamma * V(s_final)`` where a time limit cut the episode.
* :class:`ValueNorm`: running mean and variance of value targets, the MAPPO reference code's debiased EMA.
* :func:`explained_variance`: ``1 - Var[R - V] / Var[R]``.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np


@numba.njit(cache=True)
def generalized_advantages(
    rewards: np.ndarray,
    values: np.ndarray,
    dones: np.ndarray,
    last_values: np.ndarray,
    gamma: float,
    gae_lambda: float,
) -> np.ndarray:
    """GAE (Schulman et al., 2016), arrays shaped ``[T, N]``.

    ``dones[t]`` marks that the episode ended *after* step t (its next observation starts a new one), so
        delta_t = r_t + gamma * (1 - done_t) * V(s_{t+1}) - V(s_t)
        A_t     = delta_t + gamma * lambda * (1 - done_t) * A_{t+1}
    with ``V(s_T) = last_values``. Truncated steps are not ``done``-free: their bootstrap value is added to
    ``r_t`` by the collector, and ``done_t`` cuts the trace at the episode boundary.
    """
    steps, envs = rewards.shape
    advantages = np.zeros((steps, envs), np.float32)
    for n in range(envs):
        running = 0.0
        next_value = last_values[n]
        for t in range(steps - 1, -1, -1):
            not_done = 1.0 - dones[t, n]
            delta = rewards[t, n] + gamma * not_done * next_value - values[t, n]
            running = delta + gamma * gae_lambda * not_done * running
            advantages[t, n] = running
            next_value = values[t, n]
    return advantages


def multi_head_gae(
    rewards: np.ndarray,
    values: np.ndarray,
    dones: np.ndarray,
    last_values: np.ndarray,
    gamma: float,
    gae_lambda: float,
) -> np.ndarray:
    """Generalised advantage estimates ``[T, N, V]`` for ``V`` value heads per env (Schulman et al., 2016,
    eq. 16):

        delta_t = r_t + gamma * V(s_{t+1}) * (1 - done_t) - V(s_t)
        A_t     = delta_t + gamma * lambda * (1 - done_t) * A_{t+1}

    ``rewards`` and ``values`` are ``[T, N, V]``, ``dones [T, N]`` marks steps that ended an episode
    (truncations included: their bootstrap is already in ``rewards``), ``last_values [N, V]`` are the
    values of the observation after the rollout's last step.
    """
    steps, n_envs, n_values = rewards.shape
    # The single-head kernel over [T, N * V] columns: every head's column shares its env's done flag.
    flat_dones = np.repeat(np.asarray(dones, np.float64), n_values, axis=1)
    advantages = generalized_advantages(
        np.ascontiguousarray(rewards, np.float64).reshape(steps, -1),
        np.ascontiguousarray(values, np.float64).reshape(steps, -1),
        flat_dones,
        np.ascontiguousarray(last_values, np.float64).reshape(-1),
        gamma,
        gae_lambda,
    )
    return advantages.reshape(steps, n_envs, n_values)


def bootstrap_truncated(
    reward: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    final_values: np.ndarray,
    gamma: float,
) -> np.ndarray:
    """Per-head rewards ``[N, V]``: the team reward, plus ``gamma * V(s_final)`` where a time limit cut
    the episode (``truncated and not terminated``), so the time limit is not mistaken for an ending."""
    out = np.repeat(np.asarray(reward, np.float32)[:, None], final_values.shape[-1], axis=1)
    cut = np.logical_and(truncated, np.logical_not(terminated))
    out[cut] += gamma * final_values[cut]
    return out


class ValueNorm:
    """Running mean and variance of value targets (the MAPPO reference's ``ValueNorm``, float64, NumPy).

    Exponential moving averages of ``E[x]`` and ``E[x^2]`` with ``beta`` close to 1 and a debiasing
    term (as in Adam), so early estimates are not pulled toward 0; the variance is floored at 1e-2.
    """

    def __init__(self, beta: float = 0.99999, epsilon: float = 1e-5) -> None:
        self.beta, self.epsilon = beta, epsilon
        self.mean_acc = self.sq_acc = self.debias = 0.0

    def update(self, x: np.ndarray) -> None:
        """Fold a batch of targets into the running moments (an empty batch changes nothing)."""
        x = np.asarray(x, np.float64)
        if x.size == 0:
            return
        b = self.beta
        self.mean_acc = b * self.mean_acc + (1 - b) * float(x.mean())
        self.sq_acc = b * self.sq_acc + (1 - b) * float(np.square(x).mean())
        self.debias = b * self.debias + (1 - b)

    def mean_var(self) -> tuple[float, float]:
        """The debiased running mean and variance (variance floored at 1e-2)."""
        debias = max(self.debias, self.epsilon)
        mean = self.mean_acc / debias
        return mean, max(self.sq_acc / debias - mean**2, 1e-2)

    def normalize(self, x: Any) -> Any:
        """``(x - mean) / std`` with the running statistics."""
        mean, var = self.mean_var()
        return (x - mean) / np.sqrt(var)

    def denormalize(self, x: Any) -> Any:
        """``x * std + mean``: back to the targets' units."""
        mean, var = self.mean_var()
        return x * np.sqrt(var) + mean

    def state_dict(self) -> dict[str, float]:
        return {"mean_acc": self.mean_acc, "sq_acc": self.sq_acc, "debias": self.debias}

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.mean_acc, self.sq_acc = float(state["mean_acc"]), float(state["sq_acc"])
        self.debias = float(state["debias"])


class IdentityValueNorm:
    """Stands in for :class:`ValueNorm` when value normalisation is off: every method is the identity."""

    def update(self, x: np.ndarray) -> None:
        pass

    def normalize(self, x: Any) -> Any:
        return x

    denormalize = normalize

    def mean_var(self) -> tuple[float, float]:
        return 0.0, 1.0

    def state_dict(self) -> dict[str, float]:
        return {}

    def load_state_dict(self, state: dict[str, float]) -> None:
        pass


def explained_variance(predicted: np.ndarray, target: np.ndarray) -> float:
    """1 - Var[R - V] / Var[R]: 1 is a perfect critic, 0 no better than a constant (NaN if Var[R] = 0)."""
    var = float(np.var(target))
    return float("nan") if var == 0 else 1.0 - float(np.var(target - predicted)) / var
