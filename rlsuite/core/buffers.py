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

    FIELDS = ("obs", "actions", "logprobs", "values", "advantages", "returns")

    def packed(self, device: torch.device) -> tuple[torch.Tensor, list[tuple[str, int, bool]]]:
        """All fields as one float32 ``[num_steps * num_envs, F]`` tensor on ``device``, plus its layout
        ``(name, width, scalar)`` per field. One tensor means one shuffle per epoch and free minibatch
        slices, instead of one gather per field per minibatch."""
        batch = self.num_steps * self.num_envs
        arrays = [getattr(self, name) for name in self.FIELDS]
        columns = [a.reshape(batch, -1).astype(np.float32, copy=False) for a in arrays]
        layout = [(name, c.shape[1], a.ndim == 2) for name, c, a in zip(self.FIELDS, columns, arrays)]
        return torch.from_numpy(np.concatenate(columns, axis=1)).to(device), layout


def unpack(rows, layout: list[tuple[str, int, bool]]) -> dict:
    """Split rows of a packed rollout (torch or NumPy) into named fields; per-step scalars lose their
    column axis."""
    widths = [width for _, width, _ in layout]
    if isinstance(rows, torch.Tensor):
        parts = rows.split(widths, dim=1)
    else:
        parts = np.split(rows, np.cumsum(widths)[:-1], axis=1)
    return {name: part[:, 0] if scalar else part for (name, _, scalar), part in zip(layout, parts)}


def shuffled_minibatches(packed, minibatch_size: int) -> Iterator:
    """One random permutation of the rows (drawn from torch's generator, for torch and NumPy batches
    alike), cut into minibatches; the last may be smaller."""
    if isinstance(packed, torch.Tensor):
        shuffled = packed[torch.randperm(packed.shape[0], device=packed.device)]
    else:
        shuffled = packed[torch.randperm(packed.shape[0]).numpy()]
    for start in range(0, shuffled.shape[0], minibatch_size):
        yield shuffled[start : start + minibatch_size]
