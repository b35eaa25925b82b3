"""What the offline learners (TD3-BC, SAC-N, EDAC) share: training from a fixed dataset.

An offline learner is an off-policy learner (``OffPolicyAlgorithm``) whose replay source is the dataset
(:func:`dataset_replay`, from its ``make_replay``), so it never steps the training env. The shared loop
still drives it: one iteration is one gradient step, so for these algorithms ``total_steps``,
``eval.every_steps``, ``checkpoint.every_steps`` and ``log.every_steps`` count **gradient steps**.
Evaluation plays the policy in the real env as for any learner.

The dataset comes from the experiment's ``offline.dataset`` (``rlsuite train CONFIG offline.dataset=PATH``).
Dataset actions are stored in env units and mapped to the learners' ``[-1, 1]`` box here. Checkpoints
hold the networks and the sampler's state but not the dataset (it is reloaded from its file on resume).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch

from rlsuite.agents.continuous import check_box_actions
from rlsuite.algos.base import Capabilities
from rlsuite.algos.replay_sources import DatasetReplay
from rlsuite.config import OfflineConfig
from rlsuite.core.replay import ReplayBuffer
from rlsuite.offline.dataset import DatasetError, OfflineDataset, load_dataset, unit_box_actions

if TYPE_CHECKING:
    from rlsuite.algos.off_policy import OffPolicyAlgorithm

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


def dataset_problems(name: str, offline: OfflineConfig) -> list[str]:
    """``offline_problems`` of a learner that trains from ``offline.dataset``: the key must be given."""
    if not offline.dataset:
        return [
            f"offline.dataset: {name} trains from a dataset; give offline.dataset=PATH "
            "(make one with `rlsuite data collect`, or point to a D4RL HDF5 file)"
        ]
    return []


def dataset_replay(
    algo: OffPolicyAlgorithm,
    dataset: OfflineDataset | None = None,
    path: str = "<memory>",
    observations: Callable[[OfflineDataset], tuple[np.ndarray, np.ndarray] | None] | None = None,
) -> DatasetReplay:
    """The replay source of an offline learner: ``dataset`` (else the file ``algo.offline_config.dataset``)
    checked against the env and loaded into a buffer. ``observations(dataset)`` may give the observations as
    the learner trains on them (TD3-BC standardises them). Without a dataset (a learner rebuilt from a
    checkpoint to act) the source is empty and sampling from it raises a ``ConfigError``."""
    if dataset is None and algo.offline_config.dataset:
        path = algo.offline_config.dataset
        dataset = load_dataset(path)
    if dataset is None:
        return DatasetReplay(None, None, algo.name)
    check_dataset_matches_env(dataset, algo.env, algo.env_config.id, path)
    cfg = algo.config
    buffer = dataset_buffer(
        dataset,
        algo.env.single_action_space,
        device=algo.device,
        n_step=cfg.n_step,
        gamma=cfg.gamma,
        seed=algo.seed,
        observations=None if observations is None else observations(dataset),
    )
    return DatasetReplay(buffer, dataset, algo.name)
