"""Twin Delayed DDPG (Fujimoto, van Hoof and Meger, 2018, arXiv:1802.09477).

DDPG plus the paper's three fixes against value overestimation: clipped double-Q learning (the minimum
of twin target critics), delayed policy and target updates (every ``policy_delay`` critic steps), and
target policy smoothing (clipped Gaussian noise on the target action). Exploration adds Gaussian noise
of std ``exploration_noise`` to the deterministic policy. Defaults are the paper's as updated in the
authors' code and CleanRL: lr 3e-4, batch 256, 256-256 ReLU, tau 0.005, noise 0.1 / 0.2 (clip 0.5);
noises are in units of half the action range, since actors act in [-1, 1].
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from rlsuite.agents.continuous import ContinuousPolicyAgent, DeterministicActor, EnsembleQ
from rlsuite.algos.off_policy import OffPolicyAlgorithm, OffPolicyConfig
from rlsuite.config import param
from rlsuite.core.checkpointed import Checkpointed
from rlsuite.core.optim import polyak_update
from rlsuite.core.replay import ReplaySample


@dataclass
class TD3Config(OffPolicyConfig):
    """TD3's settings (module docstring for the defaults' sources)."""

    name: str = param("td3", help="algorithm name (fixed)", choices=("td3",))
    learning_starts: int = param(
        25_000, help="env steps of uniform random actions before the first gradient step", min=0
    )
    actor_lr: float = param(3e-4, help="Adam learning rate of the actor", min=0.0, min_exclusive=True)
    critic_lr: float = param(3e-4, help="Adam learning rate of the twin critics", min=0.0, min_exclusive=True)
    policy_delay: int = param(2, help="critic steps per actor and target update", min=1)
    exploration_noise: float = param(0.1, help="std of the Gaussian acting noise", min=0.0)
    policy_noise: float = param(0.2, help="std of the target policy smoothing noise", min=0.0)
    noise_clip: float = param(0.5, help="clip of the target policy smoothing noise", min=0.0)


class TD3(OffPolicyAlgorithm):
    """Twin Delayed DDPG (``algo.name: td3``)."""

    name = "td3"
    description = "Twin Delayed DDPG: clipped double Q, delayed policy updates, target smoothing"
    config_cls = TD3Config

    def build(self) -> None:
        cfg = self.config
        self.actor = DeterministicActor(
            self.obs_dim, self.act_dim, cfg.hidden_sizes, activation=cfg.activation
        ).to(self.device)
        self.actor_target = copy.deepcopy(self.actor).requires_grad_(False)
        self.critic = EnsembleQ(
            self.obs_dim, self.act_dim, cfg.hidden_sizes, num_q=2, activation=cfg.activation
        ).to(self.device)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=cfg.actor_lr)
        self.critic_optimizer = torch.optim.Adam(self.critic.parameters(), lr=cfg.critic_lr)
        self.agent = ContinuousPolicyAgent(self.actor, self.env.single_action_space).to(self.device)
        self.last_actor_loss = torch.zeros((), device=self.device)

    def exploration_action(self, obs: torch.Tensor) -> torch.Tensor:
        """a = clip(mu(s) + N(0, sigma_explore^2), -1, 1)."""
        action = self.actor(obs)
        return (action + self.config.exploration_noise * torch.randn_like(action)).clamp(-1.0, 1.0)

    def train_step(self, batch: ReplaySample) -> dict[str, torch.Tensor]:
        critic_loss, q_mean = self.critic_update(batch)
        if self.gradient_steps % self.config.policy_delay == 0:
            self.last_actor_loss = self.actor_update(batch)
            polyak_update(self.critic_target, self.critic, self.config.tau)
            polyak_update(self.actor_target, self.actor, self.config.tau)
        return {"critic_loss": critic_loss, "actor_loss": self.last_actor_loss, "q_mean": q_mean}

    def critic_update(self, batch: ReplaySample) -> tuple[torch.Tensor, torch.Tensor]:
        """Clipped double-Q with target policy smoothing (paper eqs. 10, 14):

        a' = clip(mu'(s') + clip(eps, -c, c), -1, 1),  eps ~ N(0, sigma^2)
        y = r + gamma (1 - d) min_{k=1,2} Q'_k(s', a');   J_Q = sum_k E[(Q_k(s, a) - y)^2]
        """
        cfg = self.config
        with torch.no_grad():
            target_action = self.actor_target(batch.next_obs)
            noise = (cfg.policy_noise * torch.randn_like(target_action)).clamp(
                -cfg.noise_clip, cfg.noise_clip
            )
            next_action = (target_action + noise).clamp(-1.0, 1.0)
            next_q = self.critic_target(batch.next_obs, next_action).min(0).values
            target = batch.rewards + batch.discount * next_q
        q = self.critic(batch.obs, batch.actions)
        loss = (q - target).square().mean(1).sum()
        self.critic_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.critic_optimizer.step()
        return loss.detach(), q.detach().mean()

    def actor_update(self, batch: ReplaySample) -> torch.Tensor:
        """One Adam step on ``policy_loss`` with the critic frozen (gradients reach the actor only)."""
        self.critic.requires_grad_(False)
        loss = self.policy_loss(batch)
        self.critic.requires_grad_(True)
        self.actor_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.actor_optimizer.step()
        return loss.detach()

    def policy_loss(self, batch: ReplaySample) -> torch.Tensor:
        """Deterministic policy gradient through the first critic: J_mu = -E[Q_1(s, mu(s))]."""
        obs = batch.obs
        return -self.critic(obs, self.actor(obs))[0].mean()

    # --- checkpoint ---------------------------------------------------------------------------------
    checkpointed = Checkpointed(
        modules=("actor", "actor_target", "critic", "critic_target", "actor_optimizer", "critic_optimizer"),
        values=("last_actor_loss",),  # the delayed actor update's last loss, logged between updates
    )
