"""A replay buffer for off-policy learners, stored on the training device, with optional n-step returns.

Transitions from a vector env of ``N`` envs are written one vector step at a time into ring arrays of
shape ``[T, N, ...]`` (``T = capacity // N``), so the steps of one env stay in order along the first
axis. That makes n-step returns a lookup at sampling time rather than per-env bookkeeping at insertion:

    G_t^(n) = sum_{k=0}^{m-1} gamma^k r_{t+k},    bootstrap discount = gamma^m * (1 - terminated_{t+m-1})

where ``m <= n`` stops early at the end of an episode (terminated or truncated) and at the newest step
written. Every sample therefore carries its own ``discount``; learners compute targets as
``reward + discount * V(next_obs)``, which is the usual ``r + gamma (1 - d) V(s')`` when ``n = 1``.

``next_obs`` is the true successor: for a step that ended an episode it is the terminal observation
(``final_obs`` of same-step autoreset), not the first observation of the next episode. Truncated steps
keep ``terminated = False`` so their value is bootstrapped.
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np
import torch

REPLAY_FIELDS = ("obs", "actions", "rewards", "next_obs", "terminated", "dones")


class ReplaySample(NamedTuple):
    """A minibatch of transitions drawn from a :class:`ReplayBuffer` (``B`` samples, ``m <= n_step``)."""

    obs: torch.Tensor  # [B, *obs_shape]     s_t
    actions: torch.Tensor  # [B, *action_shape]  a_t (in [-1, 1]^d for the continuous learners)
    rewards: torch.Tensor  # [B]     sum_{k<m} gamma^k r_{t+k} (r_t when n_step = 1)
    next_obs: torch.Tensor  # [B, *obs_shape]     s_{t+m}: the true successor, terminal obs at an episode end
    discount: torch.Tensor  # [B]     gamma^m (1 - terminated_{t+m-1}): the weight of V(next_obs) in targets

    def concat(self, other: ReplaySample) -> ReplaySample:
        """This sample followed by ``other`` (field by field, along the batch axis)."""
        return ReplaySample(*(torch.cat([mine, theirs]) for mine, theirs in zip(self, other, strict=True)))


class StoredTransitions(NamedTuple):
    """Every one-step transition a buffer holds, oldest first (``L`` = ``len(buffer)``; model fitting)."""

    obs: torch.Tensor  # [L, *obs_shape]
    actions: torch.Tensor  # [L, *action_shape]
    rewards: torch.Tensor  # [L]
    next_obs: torch.Tensor  # [L, *obs_shape]
    terminated: torch.Tensor  # [L] bool: the episode ended by the task (not by a time limit) at this step


class ReplayBuffer:
    """Ring buffer of ``capacity`` transitions (rounded down to a multiple of ``num_envs``)."""

    def __init__(
        self,
        capacity: int,
        num_envs: int,
        obs_shape: tuple[int, ...],
        action_shape: tuple[int, ...],
        *,
        device: torch.device | str = "cpu",
        n_step: int = 1,
        gamma: float = 0.99,
        seed: int = 0,
    ) -> None:
        if capacity < num_envs:
            raise ValueError(f"replay capacity ({capacity}) must be at least num_envs ({num_envs})")
        if n_step < 1:
            raise ValueError(f"n_step must be >= 1, got {n_step}")
        self.device = torch.device(device)
        self.num_envs, self.n_step, self.gamma = num_envs, n_step, gamma
        self.rows = capacity // num_envs
        self.capacity = self.rows * num_envs
        shape = (self.rows, num_envs)
        self.obs = torch.zeros(*shape, *obs_shape, device=self.device)
        self.next_obs = torch.zeros(*shape, *obs_shape, device=self.device)
        self.actions = torch.zeros(*shape, *action_shape, device=self.device)
        self.rewards = torch.zeros(shape, device=self.device)
        self.terminated = torch.zeros(shape, dtype=torch.bool, device=self.device)
        self.dones = torch.zeros(shape, dtype=torch.bool, device=self.device)  # terminated or truncated
        self.pos = 0  # next row to write
        self.full = False
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(seed)

    def __len__(self) -> int:
        return (self.rows if self.full else self.pos) * self.num_envs

    def add(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_obs: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
    ) -> None:
        """Write one vector step (arrays with leading dimension ``num_envs``)."""
        self._write(self.pos, obs, actions, rewards, next_obs, terminated, truncated)
        self.pos = (self.pos + 1) % self.rows
        self.full = self.full or self.pos == 0

    def extend(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_obs: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
    ) -> None:
        """Write many transitions at once into a single-env buffer (``num_envs == 1``), in order.

        Used for offline datasets (one contiguous stream of episodes, so n-step returns still work) and
        for SO2's pool of offline plus online data. Past capacity the oldest rows are overwritten.
        """
        if self.num_envs != 1:
            raise ValueError(f"extend writes single-env streams; this buffer has num_envs={self.num_envs}")
        count = len(rewards)
        keep = slice(max(0, count - self.rows), count)  # more than capacity: only the newest fit
        rows = (self.pos + torch.arange(count, device=self.device)[keep]) % self.rows
        fields = (obs, actions, rewards, next_obs, terminated, truncated)
        self._write((rows, 0), *(np.asarray(value)[keep] for value in fields))
        self.full = self.full or self.pos + count >= self.rows
        self.pos = (self.pos + count) % self.rows

    def _write(self, index, obs, actions, rewards, next_obs, terminated, truncated) -> None:
        """Store one transition per index (a row of every env, or ``(rows, 0)`` for a single env)."""
        self.obs[index] = _tensor(obs, self.device)
        self.actions[index] = _tensor(actions, self.device)
        self.rewards[index] = _tensor(rewards, self.device)
        self.next_obs[index] = _tensor(next_obs, self.device)
        terminated_t = torch.as_tensor(np.asarray(terminated, bool), device=self.device)
        self.terminated[index] = terminated_t
        self.dones[index] = terminated_t | torch.as_tensor(np.asarray(truncated, bool), device=self.device)

    def sample(self, batch_size: int) -> ReplaySample:
        """Uniform sample of stored transitions, with n-step rewards and discounts (module docstring)."""
        if len(self) == 0:
            raise RuntimeError("cannot sample from an empty replay buffer")
        flat = torch.randint(len(self), (batch_size,), device=self.device, generator=self.generator)
        rows, envs = flat // self.num_envs, flat % self.num_envs
        if self.n_step == 1:
            return ReplaySample(
                obs=self.obs[rows, envs],
                actions=self.actions[rows, envs],
                rewards=self.rewards[rows, envs],
                next_obs=self.next_obs[rows, envs],
                discount=self.gamma * (~self.terminated[rows, envs]).float(),
            )
        return self._n_step_sample(rows, envs)

    def _n_step_sample(self, rows: torch.Tensor, envs: torch.Tensor) -> ReplaySample:
        gamma = self.gamma
        newer = (self.pos - 1 - rows) % self.rows  # steps of the same env written after row t
        rewards = self.rewards[rows, envs].clone()
        discount = gamma * (~self.terminated[rows, envs]).float()
        last = rows.clone()
        running = ~self.dones[rows, envs]
        for k in range(1, self.n_step):
            rows_k = (rows + k) % self.rows
            use = running & (newer >= k)
            rewards += torch.where(use, gamma**k * self.rewards[rows_k, envs], 0.0)
            discount = torch.where(use, gamma ** (k + 1) * (~self.terminated[rows_k, envs]).float(), discount)
            last = torch.where(use, rows_k, last)
            running = use & ~self.dones[rows_k, envs]
        return ReplaySample(
            obs=self.obs[rows, envs],
            actions=self.actions[rows, envs],
            rewards=rewards,
            next_obs=self.next_obs[last, envs],
            discount=discount,
        )

    def all_transitions(self) -> StoredTransitions:
        """Every stored one-step transition, oldest first, flattened to ``[len, ...]`` (model fitting)."""
        order = np.arange(self.rows)
        if self.full:
            order = np.roll(order, -self.pos)
        else:
            order = order[: self.pos]
        index = torch.as_tensor(order, device=self.device)
        return StoredTransitions(
            *(getattr(self, name)[index].flatten(0, 1) for name in StoredTransitions._fields)
        )

    # --- checkpointing -----------------------------------------------------------------------------
    def state_dict(self, first_row: int = 0) -> dict[str, Any]:
        """The filled rows only (CPU tensors), positions and the sampling generator's state.

        ``first_row`` leaves out rows the owner can rebuild itself (SO2's pool starts with a dataset
        that is reloaded from its file); it is ignored once the buffer has wrapped.
        """
        filled = self.rows if self.full else self.pos
        first_row = 0 if self.full else min(first_row, filled)
        # clone: saving a view would write the whole underlying (capacity-sized) storage
        state: dict[str, Any] = {
            name: getattr(self, name)[first_row:filled].cpu().clone() for name in REPLAY_FIELDS
        }
        state.update(pos=self.pos, full=self.full, rows=self.rows, num_envs=self.num_envs)
        state["first_row"] = first_row
        state["generator"] = self.generator.get_state()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore ``state_dict()``'s rows, positions and sampler; the layout must match this buffer."""
        if state["rows"] != self.rows or state["num_envs"] != self.num_envs:
            raise ValueError(
                f"replay buffer layout mismatch: checkpoint has {state['rows']} rows x {state['num_envs']} "
                f"envs, this buffer {self.rows} x {self.num_envs} (buffer_size or num_envs changed)"
            )
        first_row = int(state.get("first_row", 0))
        for name in REPLAY_FIELDS:
            saved = state[name]
            getattr(self, name)[first_row : first_row + len(saved)] = saved.to(self.device)
        self.pos, self.full = int(state["pos"]), bool(state["full"])
        self.generator.set_state(state["generator"])


class ReplayNotRestoredWarning(UserWarning):
    """A checkpoint without its replay was loaded: training from it will not match an uninterrupted run."""


def warn_replay_not_restored(contents: str = "replay buffer") -> None:
    """Warn that a resumed run starts from empty replay (the checkpoint was saved without it)."""
    warnings.warn(
        f"the checkpoint holds no {contents} (checkpoint.save_replay_buffer=false): training continues "
        "from an empty buffer, so it will not match an uninterrupted run",
        ReplayNotRestoredWarning,
        stacklevel=3,
    )


def _tensor(array: Any, device: torch.device) -> torch.Tensor:
    return torch.as_tensor(np.asarray(array, np.float32), device=device)
