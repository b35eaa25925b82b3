"""Where an off-policy learner's minibatches come from: online replay, an offline dataset, or a mixed pool.

An :class:`~rlsuite.algos.off_policy.OffPolicyAlgorithm` is given one :class:`ReplaySource` (its
``make_replay`` hook) and talks to it only through this small interface: ``add`` one collected vector
step, ``ready`` for a batch, ``sample`` a :class:`~rlsuite.core.replay.ReplaySample`, and the checkpoint
entries it owns. The source also decides the training schedule: a source that ``takes_env_steps`` is fed
by the env (iterations collect ``train_freq`` vector steps, then ``utd_ratio`` gradient steps per env
step); a dataset is not (every iteration is exactly one gradient step, and ``global_step`` counts them).

* :class:`OnlineReplay`: one replay buffer filled from the env (SAC, TD3, MPDP).
* :class:`DatasetReplay`: a fixed dataset, never written to (TD3-BC, SAC-N, EDAC).
* :class:`MixedReplay`: SO2's online-only buffer plus a pool of the offline dataset and every online
  transition; each batch takes ``online_ratio`` of its rows from the first and the rest from the pool.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from rlsuite.config import ConfigError
from rlsuite.core.replay import ReplayBuffer, ReplaySample, warn_replay_not_restored
from rlsuite.offline.dataset import OfflineDataset


class ReplaySource(ABC):
    """The data an off-policy learner trains on. ``buffer`` is the store the learner's statistics report
    (``train/buffer_size``) and tests inspect: the online buffer, or the dataset's."""

    takes_env_steps: ClassVar[bool] = True
    buffer: ReplayBuffer | None

    def add(
        self,
        obs: np.ndarray,
        action: np.ndarray,
        reward: np.ndarray,
        next_obs: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
    ) -> None:
        """Store one collected vector step (arrays with leading dimension ``num_envs``)."""
        raise TypeError(f"{type(self).__name__} holds fixed data; it takes no env steps")

    @abstractmethod
    def ready(self, batch_size: int) -> bool:
        """Whether ``sample(batch_size)`` can be drawn."""

    @abstractmethod
    def sample(self, batch_size: int) -> ReplaySample:
        """A minibatch of ``batch_size`` transitions."""

    @abstractmethod
    def checkpoint_entries(self, save_replay: bool) -> dict[str, Any]:
        """The entries of the learner's checkpoint this source owns (``save_replay``: include stored
        transitions that cannot be rebuilt, when the run's ``checkpoint.save_replay_buffer`` says so)."""

    @abstractmethod
    def restore(self, state: Mapping[str, Any]) -> None:
        """Restore from the learner's checkpoint state (the entries ``checkpoint_entries`` wrote)."""


class OnlineReplay(ReplaySource):
    """A replay buffer filled by the env; uniform minibatches once it holds ``batch_size`` transitions."""

    def __init__(self, buffer: ReplayBuffer) -> None:
        self.buffer = buffer

    def add(self, obs, action, reward, next_obs, terminated, truncated) -> None:
        self.buffer.add(obs, action, reward, next_obs, terminated, truncated)

    def ready(self, batch_size: int) -> bool:
        return len(self.buffer) >= batch_size

    def sample(self, batch_size: int) -> ReplaySample:
        return self.buffer.sample(batch_size)

    def checkpoint_entries(self, save_replay: bool) -> dict[str, Any]:
        return {"replay": self.buffer.state_dict() if save_replay else None}

    def restore(self, state: Mapping[str, Any]) -> None:
        if state["replay"] is not None:
            self.buffer.load_state_dict(state["replay"])
        else:
            warn_replay_not_restored()


class DatasetReplay(ReplaySource):
    """A fixed dataset loaded into a single-stream buffer (``None`` when the learner was rebuilt without
    one, e.g. from a checkpoint to evaluate: it can act but not train). Checkpoints hold the sampler's
    state and the dataset's metadata, never the data (it is reloaded from its file on resume)."""

    takes_env_steps: ClassVar[bool] = False

    def __init__(self, buffer: ReplayBuffer | None, dataset: OfflineDataset | None, learner: str) -> None:
        self.buffer, self.dataset, self.learner = buffer, dataset, learner

    def ready(self, batch_size: int) -> bool:
        return self.buffer is not None

    def sample(self, batch_size: int) -> ReplaySample:
        if self.buffer is None:
            raise ConfigError(
                f"offline.dataset: {self.learner} has no dataset to train on (offline.dataset=PATH)"
            )
        return self.buffer.sample(batch_size)

    def checkpoint_entries(self, save_replay: bool) -> dict[str, Any]:
        return {
            "sampler": None if self.buffer is None else self.buffer.generator.get_state(),
            "dataset_metadata": None if self.dataset is None else dict(self.dataset.metadata),
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        if self.buffer is not None and state["sampler"] is not None:
            self.buffer.generator.set_state(state["sampler"])


class MixedReplay(ReplaySource):
    """SO2's data: an online-only buffer and a pool (the offline dataset, then every online transition).

    A batch of ``B`` takes ``round(B * online_ratio)`` rows from the online buffer and the rest from the
    pool; with ``online_ratio = 1`` there is no pool and this is :class:`OnlineReplay`. The pool's first
    ``pool_base`` rows are the dataset: checkpoints hold only the rows after them.
    """

    def __init__(
        self,
        online: ReplayBuffer,
        pool: ReplayBuffer | None,
        pool_base: int,
        online_ratio: float,
        missing_pool: str,
    ) -> None:
        self.buffer, self.pool, self.pool_base = online, pool, pool_base
        self.online_ratio, self.missing_pool = online_ratio, missing_pool

    def add(self, obs, action, reward, next_obs, terminated, truncated) -> None:
        """Online data goes to the online-only buffer and to the pool."""
        self.buffer.add(obs, action, reward, next_obs, terminated, truncated)
        if self.pool is not None:
            self.pool.extend(obs, action, np.asarray(reward), next_obs, terminated, truncated)

    def online_rows(self, batch_size: int) -> int:
        """Rows of a ``batch_size`` batch drawn from the online-only buffer."""
        return round(batch_size * self.online_ratio)

    def ready(self, batch_size: int) -> bool:
        """The online part of a batch must fit in the online buffer (the pool holds the dataset already)."""
        return len(self.buffer) >= max(self.online_rows(batch_size), 1)

    def sample(self, batch_size: int) -> ReplaySample:
        if self.online_ratio >= 1.0:
            return self.buffer.sample(batch_size)
        if self.pool is None:
            raise ConfigError(self.missing_pool)
        online = self.online_rows(batch_size)
        return self.buffer.sample(online).concat(self.pool.sample(batch_size - online))

    def checkpoint_entries(self, save_replay: bool) -> dict[str, Any]:
        keep_pool = self.pool is not None and save_replay
        return {
            "replay": self.buffer.state_dict() if save_replay else None,
            "pool": self.pool.state_dict(first_row=self.pool_base) if keep_pool else None,  # not the dataset
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        if state["replay"] is not None:
            self.buffer.load_state_dict(state["replay"])
        else:
            warn_replay_not_restored()
        if self.pool is not None and state.get("pool") is not None:
            self.pool.load_state_dict(state["pool"])
