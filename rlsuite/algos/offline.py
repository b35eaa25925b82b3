"""What the offline learners (TD3-BC, SAC-N, EDAC) share: training from a fixed dataset.

An offline learner is an off-policy learner whose replay buffer is the dataset and which never steps
the training env. The shared loop still drives it: one iteration is one gradient step, so for these
algorithms ``total_steps``, ``eval.every_steps``, ``checkpoint.every_steps`` and ``log.every_steps``
count **gradient steps**. Evaluation plays the policy in the real env as for any learner.

The dataset comes from the experiment's ``offline.dataset`` (``rlsuite train CONFIG offline.dataset=PATH``).
Dataset actions are stored in env units and mapped to the learners' ``[-1, 1]`` box here. Checkpoints
hold the networks and the sampler's state but not the dataset (it is reloaded from its file on resume).
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
import torch

from rlsuite.agents.continuous import check_box_actions
from rlsuite.algos.base import Capabilities
from rlsuite.config import ConfigError, OfflineConfig
from rlsuite.core.replay import ReplayBuffer
from rlsuite.core.threads import single_threaded_blas
from rlsuite.offline.dataset import DatasetError, OfflineDataset, load_dataset, unit_box_actions

OFFLINE_CAPABILITIES = Capabilities(
    discrete_actions=False, continuous_actions=True, on_policy=False, offline=True
)


def check_dataset_matches_env(dataset: OfflineDataset, env, env_id: str, path: str) -> None:
    """Observation and action widths must match the env; a different recorded env id only warns."""
    obs_dim = int(np.prod(env.single_observation_space.shape))
    act_dim = int(np.prod(env.single_action_space.shape))
    if dataset.obs_dim != obs_dim:
        raise DatasetError(
            f"dataset {path}: field 'observations' has width {dataset.obs_dim}, "
            f"but {env_id} observes {obs_dim}"
        )
    if dataset.act_dim != act_dim:
        raise DatasetError(
            f"dataset {path}: field 'actions' has width {dataset.act_dim}, but {env_id} takes {act_dim}"
        )
    recorded = dataset.metadata.get("env_id")
    if recorded and recorded != env_id:
        warnings.warn(f"dataset {path} was collected on {recorded!r}; training on {env_id!r}", stacklevel=3)


def dataset_buffer(
    dataset: OfflineDataset,
    action_space,
    *,
    capacity: int | None = None,
    device: torch.device,
    n_step: int,
    gamma: float,
    seed: int,
    observations: tuple[np.ndarray, np.ndarray] | None = None,
) -> ReplayBuffer:
    """A single-stream replay buffer holding ``dataset`` (room for ``capacity`` transitions in all).

    ``observations`` replaces ``(observations, next_observations)`` (e.g. standardised for TD3-BC).
    Timeouts become truncations: bootstrapped, but they end the episode for n-step returns.
    """
    capacity = max(capacity or len(dataset), len(dataset))
    buffer = ReplayBuffer(
        capacity,
        1,
        (dataset.obs_dim,),
        (dataset.act_dim,),
        device=device,
        n_step=n_step,
        gamma=gamma,
        seed=seed,
    )
    obs, next_obs = observations or (dataset.observations, dataset.next_observations)
    actions = unit_box_actions(dataset.actions, check_box_actions(action_space))
    buffer.extend(obs, actions, dataset.rewards, next_obs, dataset.terminals, dataset.timeouts)
    return buffer


class OfflineTraining:
    """Mixin for an ``OffPolicyAlgorithm`` subclass: train on ``offline.dataset``, one gradient step per
    iteration. Put it first in the bases (``class TD3BC(OfflineTraining, TD3)``)."""

    capabilities: ClassVar[Capabilities] = OFFLINE_CAPABILITIES
    reads_offline_section: ClassVar[bool] = True
    default_log_every: ClassVar[int] = 1000
    dataset: OfflineDataset | None

    @classmethod
    def offline_problems(cls, offline: OfflineConfig) -> list[str]:
        if not offline.dataset:
            return [
                f"offline.dataset: {cls.name} trains from a dataset; give offline.dataset=PATH "
                "(make one with `rlsuite data collect`, or point to a D4RL HDF5 file)"
            ]
        return []

    def setup(self) -> None:
        self.setup_counters()
        self.dataset, self.buffer = None, None
        self.build()
        if self.offline_config.dataset:
            self.attach_dataset(load_dataset(self.offline_config.dataset), self.offline_config.dataset)

    def attach_dataset(self, dataset: OfflineDataset, path: str = "<memory>") -> None:
        """Check ``dataset`` against the env and make it the replay buffer."""
        check_dataset_matches_env(dataset, self.env, self.env_config.id, path)
        self.dataset = dataset
        self.buffer = dataset_buffer(
            dataset,
            self.env.single_action_space,
            device=self.device,
            n_step=self.config.n_step,
            gamma=self.config.gamma,
            seed=self.seed,
            observations=self.prepare_observations(dataset),
        )

    def prepare_observations(self, dataset: OfflineDataset) -> tuple[np.ndarray, np.ndarray] | None:
        """Hook: observations as the learner trains on them (None: as stored)."""
        return None

    def collect(self) -> dict[str, float]:
        """No env interaction: one iteration is one gradient step."""
        if self.buffer is None:
            raise ConfigError(
                f"offline.dataset: {self.name} has no dataset to train on (offline.dataset=PATH)"
            )
        self.global_step += 1
        return {}

    def update(self) -> dict[str, float]:
        with single_threaded_blas():
            self._accumulate(self.train_step(self.buffer.sample(self.config.batch_size)))
        self.gradient_steps += 1
        return {}

    # --- checkpoint: networks and the sampler, never the dataset ------------------------------------
    def algorithm_state(self) -> dict[str, Any]:
        return {
            "networks": self.networks_state(),
            "sampler": None if self.buffer is None else self.buffer.generator.get_state(),
            "gradient_steps": self.gradient_steps,
            "stats": ({k: v.clone() for k, v in self._stat_sums.items()}, self._stat_count),
            "dataset_metadata": None if self.dataset is None else dict(self.dataset.metadata),
        }

    def load_algorithm_state(self, state: dict[str, Any]) -> None:
        self.load_networks_state(state["networks"])
        if self.buffer is not None and state["sampler"] is not None:
            self.buffer.generator.set_state(state["sampler"])
        self.gradient_steps = int(state["gradient_steps"])
        sums, count = state["stats"]
        self._stat_sums, self._stat_count = {k: v.to(self.device) for k, v in sums.items()}, int(count)
