"""Running statistics for observation and reward normalisation (parallel Welford, float64, NumPy).

NumPy rather than torch: updates run once per environment step on small arrays, where NumPy's
per-call cost is a fraction of torch's.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def _merge_batch(mean, var, count, batch):
    """Chan et al.'s parallel update of (mean, var, count) with a ``[n, d]`` batch, in place."""
    n, d = batch.shape
    total = count + n
    for j in range(d):
        batch_mean = 0.0
        for i in range(n):
            batch_mean += batch[i, j]
        batch_mean /= n
        batch_m2 = 0.0
        for i in range(n):
            diff = batch[i, j] - batch_mean
            batch_m2 += diff * diff
        delta = batch_mean - mean[j]
        m2 = var[j] * count + batch_m2 + delta * delta * count * n / total
        mean[j] += delta * n / total
        var[j] = m2 / total
    return total


class RunningMeanStd:
    """Mean and variance of a stream of batches shaped ``[batch, *shape]``."""

    def __init__(self, shape: tuple[int, ...] = (), epsilon: float = 1e-4) -> None:
        self.mean = np.zeros(shape, np.float64)
        self.var = np.ones(shape, np.float64)
        self.count = float(epsilon)

    def update(self, batch: np.ndarray) -> None:
        batch = np.asarray(batch, np.float64).reshape(-1, *self.mean.shape)
        batch_count = batch.shape[0]
        delta = batch.mean(axis=0) - self.mean
        total = self.count + batch_count
        m2 = (
            self.var * self.count
            + batch.var(axis=0) * batch_count
            + delta**2 * self.count * batch_count / total
        )
        self.mean = self.mean + delta * batch_count / total
        self.var = m2 / total
        self.count = total

    def state_dict(self) -> dict[str, np.ndarray | float]:
        return {"mean": self.mean.copy(), "var": self.var.copy(), "count": self.count}

    def load_state_dict(self, state: dict) -> None:
        self.mean = np.array(state["mean"], np.float64)
        self.var = np.array(state["var"], np.float64)
        self.count = float(state["count"])


class RewardScaler:
    """Divides rewards by the running std of the discounted return (Gymnasium's NormalizeReward rule).

    ``r_t / sqrt(Var[G] + eps)`` with ``G_t = gamma * G_{t-1} * (1 - done_{t-1}) + r_t`` per env, clipped.
    """

    def __init__(self, num_envs: int, gamma: float, clip: float = 10.0, epsilon: float = 1e-8) -> None:
        self.returns = np.zeros(num_envs, np.float64)
        self.stats = RunningMeanStd(())
        self.gamma, self.clip, self.epsilon = gamma, clip, epsilon

    def __call__(self, rewards: np.ndarray, dones: np.ndarray) -> np.ndarray:
        self.returns = self.returns * self.gamma + rewards
        self.stats.update(self.returns)
        self.returns[dones] = 0.0
        scaled = rewards / np.sqrt(self.stats.var + self.epsilon)
        return np.clip(scaled, -self.clip, self.clip).astype(np.float32)

    def state_dict(self) -> dict:
        return {"returns": self.returns.copy(), "stats": self.stats.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.returns = np.array(state["returns"], np.float64)
        self.stats.load_state_dict(state["stats"])
