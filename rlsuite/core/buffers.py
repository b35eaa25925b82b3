"""On-policy rollout storage and generalised advantage estimation.

Storage is NumPy on the host during collection (one cheap copy per step) and moves to the training
device once per update.
"""

from __future__ import annotations

from collections.abc import Iterator

import numba
import numpy as np
import torch


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


class RolloutBuffer:
    """``[num_steps, num_envs]`` arrays of one rollout."""

    def __init__(
        self,
        num_steps: int,
        num_envs: int,
        obs_shape: tuple[int, ...],
        action_shape: tuple[int, ...],
        action_dtype: np.dtype,
    ) -> None:
        self.num_steps, self.num_envs = num_steps, num_envs
        self.obs = np.zeros((num_steps, num_envs, *obs_shape), np.float32)
        self.actions = np.zeros((num_steps, num_envs, *action_shape), action_dtype)
        self.logprobs = np.zeros((num_steps, num_envs), np.float32)
        self.rewards = np.zeros((num_steps, num_envs), np.float32)
        self.dones = np.zeros((num_steps, num_envs), np.float32)
        self.values = np.zeros((num_steps, num_envs), np.float32)
        self.advantages = np.zeros((num_steps, num_envs), np.float32)
        self.returns = np.zeros((num_steps, num_envs), np.float32)

    def compute_returns(self, last_values: np.ndarray, gamma: float, gae_lambda: float) -> None:
        self.advantages = generalized_advantages(
            self.rewards, self.values, self.dones, last_values.astype(np.float32), gamma, gae_lambda
        )
        self.returns = self.advantages + self.values

    def flat_tensors(self, device: torch.device) -> dict[str, torch.Tensor]:
        """Every field flattened to ``[num_steps * num_envs, ...]`` on ``device``."""
        fields = ("obs", "actions", "logprobs", "values", "advantages", "returns")
        batch = self.num_steps * self.num_envs
        return {
            name: torch.from_numpy(getattr(self, name).reshape(batch, *getattr(self, name).shape[2:])).to(
                device
            )
            for name in fields
        }


def minibatch_indices(
    batch_size: int, minibatch_size: int, generator: torch.Generator | None = None
) -> Iterator[torch.Tensor]:
    """A random permutation of ``range(batch_size)`` cut into minibatches (the last may be smaller)."""
    permutation = torch.randperm(batch_size, generator=generator)
    for start in range(0, batch_size, minibatch_size):
        yield permutation[start : start + minibatch_size]
