"""TD3+BC (Fujimoto and Gu, 2021, "A Minimalist Approach to Offline Reinforcement Learning",
arXiv:2106.06860).

TD3 trained on a fixed dataset with two changes: a behaviour-cloning term in the actor's loss, scaled
so the Q term has unit size,

    pi = argmax_pi E_{(s, a) ~ D}[ lambda Q(s, pi(s)) - (pi(s) - a)^2 ],
    lambda = alpha / mean_D |Q(s, pi(s))|

(lambda is computed on each minibatch and not differentiated), and states standardised with the
dataset's mean and std (std + 1e-3). The critic is TD3's (clipped double-Q with target policy
smoothing, actor and targets every ``policy_delay`` critic steps). Defaults are the paper's: alpha 2.5,
lr 3e-4, batch 256, 256-256 ReLU, tau 0.005, noise 0.2 clipped at 0.5, delay 2, 1M gradient steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from rlsuite.agents.continuous import ContinuousPolicyAgent, InputNormalizedActor
from rlsuite.algos.offline import OFFLINE_CAPABILITIES, dataset_problems, dataset_replay
from rlsuite.algos.replay_sources import ReplaySource
from rlsuite.algos.td3 import TD3, TD3Config
from rlsuite.config import OfflineConfig, param
from rlsuite.core.replay import ReplaySample
from rlsuite.offline.dataset import OfflineDataset

STD_EPS = 1e-3  # the paper's code: std + 1e-3


@dataclass
class TD3BCConfig(TD3Config):
    """TD3-BC's settings: TD3's plus the BC weight and state standardisation."""

    name: str = param("td3bc", help="algorithm name (fixed)", choices=("td3bc",))
    learning_starts: int = param(0, help="unused offline (no env steps are taken)", min=0)
    alpha: float = param(2.5, help="alpha in lambda = alpha / mean|Q|: weight of Q against BC", min=0.0)
    normalize_obs: bool = param(True, help="standardise states with the dataset's mean and std")


class TD3BC(TD3):
    """TD3 plus behaviour cloning, trained on ``offline.dataset`` (one gradient step per iteration)."""

    name = "td3bc"
    description = "Offline: TD3 + behaviour cloning on dataset-standardised states"
    config_cls = TD3BCConfig
    capabilities = OFFLINE_CAPABILITIES
    reads_offline_section = True  # trains from offline.dataset

    @classmethod
    def offline_problems(cls, offline: OfflineConfig) -> list[str]:
        return dataset_problems(cls.name, offline)

    def make_replay(self) -> ReplaySource:
        """The dataset, with observations standardised by its statistics (``normalize_obs``)."""
        return dataset_replay(self, observations=self.prepare_observations)

    def build(self) -> None:
        super().build()
        # the agent sees raw env observations; the networks train on standardised ones
        self.obs_normalizer = InputNormalizedActor(self.actor, self.obs_dim).to(self.device)
        self.agent = ContinuousPolicyAgent(self.obs_normalizer, self.env.single_action_space).to(self.device)

    def prepare_observations(self, dataset: OfflineDataset) -> tuple[np.ndarray, np.ndarray] | None:
        """Set the agent's input statistics from ``dataset``; return its standardised observations."""
        if not self.config.normalize_obs:
            return None
        mean = dataset.observations.mean(0)
        std = dataset.observations.std(0) + STD_EPS
        self.obs_normalizer.set_statistics(mean, std)
        return (dataset.observations - mean) / std, (dataset.next_observations - mean) / std

    def policy_loss(self, batch: ReplaySample) -> torch.Tensor:
        """J = -lambda E[Q_1(s, pi(s))] + E[(pi(s) - a)^2],  lambda = alpha / mean|Q_1(s, pi(s))|, constant"""
        action = self.actor(batch.obs)
        q = self.critic(batch.obs, action)[0]
        lam = self.config.alpha / q.abs().mean().detach()
        return -lam * q.mean() + (action - batch.actions).square().mean()

    def networks_state(self) -> dict[str, Any]:
        state = super().networks_state()
        state["obs_statistics"] = (self.obs_normalizer.mean.clone(), self.obs_normalizer.std.clone())
        return state

    def load_networks_state(self, state: dict[str, Any]) -> None:
        super().load_networks_state(state)
        mean, std = state["obs_statistics"]
        self.obs_normalizer.set_statistics(mean.cpu().numpy(), std.cpu().numpy())
