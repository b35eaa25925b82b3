"""Shared multi-agent machinery: padded episode storage, agent-id features, masked action choice.

Multi-agent vector envs (``rlsuite.make_vec`` on a multi-agent id) hand out arrays shaped
``[num_envs, n_agents, ...]`` with same-step autoreset. Value-decomposition learners (QMIX, VDN) and
ACE learn from whole episodes or from n-step windows inside them, so experience is stored as episodes
padded to the env's episode limit:

* *state fields* (observations, global state, action masks, entity features...) have ``T + 1`` entries per
  episode: the observation before each step and the one after the last step (the final observation
  of a finished episode, taken from ``info["final_*"]``);
* *step fields* (actions, rewards, terminal flags...) have ``T`` entries;
* ``length[e]`` is the number of steps episode ``e`` holds; everything past it is zero padding, and
  :meth:`EpisodeBuffer.step_mask` marks the real steps.

Envs write into a per-env staging area step by step; an episode moves into the ring of ``capacity``
episodes when it ends (oldest overwritten first).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch


@dataclass(frozen=True)
class Field:
    """One stored quantity: its per-entry shape and dtype; ``per_state`` fields have ``T + 1`` entries."""

    shape: tuple[int, ...]
    dtype: Any = np.float32
    per_state: bool = True


class EpisodeBuffer:
    """A ring of ``capacity`` episodes, each padded to ``max_len`` steps, filled from ``num_envs`` envs."""

    def __init__(self, fields: Mapping[str, Field], max_len: int, capacity: int, num_envs: int) -> None:
        if capacity < 1 or max_len < 1 or num_envs < 1:
            raise ValueError(
                f"capacity, max_len and num_envs must be >= 1, got {capacity}, {max_len}, {num_envs}"
            )
        self.fields = dict(fields)
        self.max_len, self.capacity, self.num_envs = max_len, capacity, num_envs
        self.data = {k: self._zeros(capacity, f) for k, f in self.fields.items()}
        self.length = np.zeros(capacity, np.int64)
        self._stage = {k: self._zeros(num_envs, f) for k, f in self.fields.items()}
        self._t = np.zeros(num_envs, np.int64)
        self.next_slot = 0
        self.episodes = 0  # episodes stored (at most capacity)
        self.total_episodes = 0  # episodes ever committed

    def _zeros(self, rows: int, field: Field) -> np.ndarray:
        steps = self.max_len + 1 if field.per_state else self.max_len
        return np.zeros((rows, steps, *field.shape), dtype=field.dtype)

    @property
    def state_fields(self) -> list[str]:
        return [k for k, f in self.fields.items() if f.per_state]

    @property
    def step_fields(self) -> list[str]:
        return [k for k, f in self.fields.items() if not f.per_state]

    def __len__(self) -> int:
        return self.episodes

    @property
    def stored_steps(self) -> int:
        return int(self.length[: self.episodes].sum())

    # --- writing -----------------------------------------------------------------------------------
    def begin(self, states: Mapping[str, np.ndarray], rows: np.ndarray | None = None) -> None:
        """Start new episodes in env ``rows`` (all envs when None) from their first observations."""
        rows = np.arange(self.num_envs) if rows is None else np.asarray(rows)
        if rows.size == 0:
            return
        for k in self.state_fields:
            self._stage[k][rows] = 0
            self._stage[k][rows, 0] = np.asarray(states[k])[rows]
        for k in self.step_fields:
            self._stage[k][rows] = 0
        self._t[rows] = 0

    def append(
        self,
        step: Mapping[str, np.ndarray],
        next_states: Mapping[str, np.ndarray],
        done: np.ndarray,
        reset_states: Mapping[str, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Record one step of every env; commit the episodes that ``done`` ends and start new ones.

        ``next_states`` are the observations after the step (for finished envs: their *final*
        observations); ``reset_states`` the first observations of the episodes that start in place of
        the finished ones (same-step autoreset), by default ``next_states``. Returns the finished rows.
        """
        rows, t = np.arange(self.num_envs), self._t
        if (t >= self.max_len).any():
            raise RuntimeError(f"an episode ran past max_len={self.max_len} without ending")
        for k in self.step_fields:
            self._stage[k][rows, t] = step[k]
        for k in self.state_fields:
            self._stage[k][rows, t + 1] = next_states[k]
        self._t += 1
        finished = np.flatnonzero(np.asarray(done, bool) | (self._t >= self.max_len))
        for row in finished:
            self._commit(row)
        self.begin(reset_states if reset_states is not None else next_states, finished)
        return finished

    def _commit(self, row: int) -> None:
        slot = self.next_slot
        for k in self.fields:
            self.data[k][slot] = self._stage[k][row]
        self.length[slot] = self._t[row]
        self.next_slot = (slot + 1) % self.capacity
        self.episodes = min(self.episodes + 1, self.capacity)
        self.total_episodes += 1

    # --- reading -----------------------------------------------------------------------------------
    def step_mask(self, slots: np.ndarray, steps: int) -> np.ndarray:
        """``[len(slots), steps]`` bool: which steps of those episodes are real (not padding)."""
        return np.arange(steps)[None, :] < self.length[slots][:, None]

    def sample_episodes(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        """Uniformly drawn episode slots (with replacement when the buffer holds fewer than asked)."""
        if self.episodes == 0:
            raise RuntimeError("the episode buffer is empty")
        replace = self.episodes < batch_size
        return rng.choice(self.episodes, size=batch_size, replace=replace)

    def sample_steps(self, batch_size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``(slots, t)`` of ``batch_size`` steps drawn uniformly over all stored steps."""
        if self.episodes == 0:
            raise RuntimeError("the episode buffer is empty")
        lengths = self.length[: self.episodes]
        flat = rng.integers(0, int(lengths.sum()), size=batch_size)
        ends = np.cumsum(lengths)
        slots = np.searchsorted(ends, flat, side="right")
        t = flat - (ends[slots] - lengths[slots])
        return slots, t

    def episodes_batch(
        self, slots: np.ndarray, device: torch.device | str = "cpu"
    ) -> dict[str, torch.Tensor]:
        """Torch tensors of the given episodes, trimmed to their longest length, plus ``mask`` [B, T]."""
        steps = int(self.length[slots].max())
        out = {}
        for k, f in self.fields.items():
            end = steps + 1 if f.per_state else steps
            out[k] = torch.as_tensor(self.data[k][slots, :end], device=device)
        out["mask"] = torch.as_tensor(self.step_mask(slots, steps), device=device)
        return out

    # --- checkpoints ---------------------------------------------------------------------------------
    def state_dict(self, include_episodes: bool = True) -> dict[str, Any]:
        """Everything needed to continue; without ``include_episodes`` only the episodes in progress
        (and the episode count) are kept: a small checkpoint whose replay restarts empty."""
        n = self.episodes if include_episodes else 0
        return {
            "data": {k: v[:n].copy() for k, v in self.data.items()},
            "length": self.length[:n].copy(),
            "stage": {k: v.copy() for k, v in self._stage.items()},
            "t": self._t.copy(),
            "next_slot": self.next_slot if include_episodes else 0,
            "episodes": n,
            "total_episodes": self.total_episodes,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        n = int(state["episodes"])
        if n > self.capacity:
            raise ValueError(
                f"checkpoint holds {n} episodes, more than this buffer's capacity {self.capacity}"
            )
        for k in self.fields:
            self.data[k][:n] = state["data"][k]
            self._stage[k][:] = state["stage"][k]
        self.length[:n] = state["length"]
        self._t[:] = state["t"]
        self.next_slot, self.episodes = int(state["next_slot"]), n
        self.total_episodes = int(state["total_episodes"])


def agent_id_features(n_agents: int, leading: tuple[int, ...] = ()) -> np.ndarray:
    """One-hot agent ids ``[*leading, n_agents, n_agents]`` (float32), appended to shared-network inputs."""
    eye = np.eye(n_agents, dtype=np.float32)
    return np.broadcast_to(eye, (*leading, n_agents, n_agents)).copy()


def masked_argmax(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Argmax over the last axis among ``mask``-allowed entries (rows with none allowed give 0)."""
    return values.masked_fill(~mask, -torch.inf).argmax(-1) * mask.any(-1)


def random_available(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A uniformly drawn allowed action per row of ``mask`` [..., A] (0 for rows with nothing allowed)."""
    scores = rng.random(mask.shape) * mask
    return scores.argmax(-1)


def epsilon_greedy(
    greedy: np.ndarray, mask: np.ndarray, epsilon: float, rng: np.random.Generator
) -> np.ndarray:
    """Replace each entry of ``greedy`` by a random allowed action with probability ``epsilon``."""
    explore = rng.random(greedy.shape) < epsilon
    if not explore.any():
        return greedy
    return np.where(explore, random_available(mask, rng), greedy)
