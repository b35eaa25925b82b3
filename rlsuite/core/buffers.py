"""On-policy rollout storage (its advantages come from :func:`rlsuite.core.returns.generalized_advantages`).

Storage is NumPy on the host during collection (one cheap copy per step) and moves to the training
device once per update.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np
import torch

from rlsuite.core.returns import generalized_advantages


class RolloutMinibatch(NamedTuple):
    """Rows of one on-policy rollout (``M`` of them), as torch tensors or NumPy arrays (the packed rollout's
    type). Actions are float32 in packed rows (discrete ones hold their integer index)."""

    obs: Any  # [M, obs_dim]  the (normalised) observations the policy acted on
    actions: Any  # [M] discrete or [M, act_dim] continuous
    logprobs: Any  # [M]  log pi_old(a_t | s_t) at collection
    values: Any  # [M]  V_old(s_t) at collection
    advantages: Any  # [M]  GAE A_t
    returns: Any  # [M]  A_t + V_old(s_t): the value targets


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
        """Fill ``advantages`` (GAE) and ``returns = advantages + values``; ``last_values``: V at the end."""
        self.advantages = generalized_advantages(
            self.rewards, self.values, self.dones, last_values.astype(np.float32), gamma, gae_lambda
        )
        self.returns = self.advantages + self.values

    FIELDS = RolloutMinibatch._fields

    def packed(self, device: torch.device) -> tuple[torch.Tensor, list[tuple[str, int, bool]]]:
        """All fields as one float32 ``[num_steps * num_envs, F]`` tensor on ``device``, plus its layout
        ``(name, width, scalar)`` per field. One tensor means one shuffle per epoch and free minibatch
        slices, instead of one gather per field per minibatch."""
        batch = self.num_steps * self.num_envs
        arrays = [getattr(self, name) for name in self.FIELDS]
        columns = [a.reshape(batch, -1).astype(np.float32, copy=False) for a in arrays]
        layout = [(name, c.shape[1], a.ndim == 2) for name, c, a in zip(self.FIELDS, columns, arrays)]
        return torch.from_numpy(np.concatenate(columns, axis=1)).to(device), layout


def unpack(rows, layout: list[tuple[str, int, bool]]) -> RolloutMinibatch:
    """Split rows of a packed rollout (torch or NumPy) into its fields; per-step scalars lose their
    column axis."""
    widths = [width for _, width, _ in layout]
    if isinstance(rows, torch.Tensor):
        parts = rows.split(widths, dim=1)
    else:
        parts = np.split(rows, np.cumsum(widths)[:-1], axis=1)
    fields = {name: part[:, 0] if scalar else part for (name, _, scalar), part in zip(layout, parts)}
    return RolloutMinibatch(**fields)


def shuffled_minibatches(packed, minibatch_size: int) -> Iterator:
    """One random permutation of the rows (drawn from torch's generator, for torch and NumPy batches
    alike), cut into minibatches; the last may be smaller."""
    if isinstance(packed, torch.Tensor):
        shuffled = packed[torch.randperm(packed.shape[0], device=packed.device)]
    else:
        shuffled = packed[torch.randperm(packed.shape[0]).numpy()]
    for start in range(0, shuffled.shape[0], minibatch_size):
        yield shuffled[start : start + minibatch_size]
