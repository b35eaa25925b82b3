"""Soft Actor-Critic (Haarnoja et al., 2018, arXiv:1801.01290; with automatic entropy tuning from
"Soft Actor-Critic Algorithms and Applications", arXiv:1812.05905).

Maximum-entropy RL: maximise E[sum_t r_t + alpha H(pi(.|s_t))]. A tanh-squashed Gaussian actor, twin
Q critics with Polyak-averaged targets (clipped double-Q), and a temperature alpha tuned so the policy's
entropy tracks a target (-dim(A) by default). Defaults are the paper's (and Stable-Baselines3's):
lr 3e-4 everywhere, batch 256, 256-256 ReLU networks, tau 0.005, gamma 0.99, one gradient step per env
step. The initial temperature (1.0) and the log-std clamp [-20, 2] follow SB3.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch

from rlsuite.agents.continuous import ContinuousPolicyAgent, EnsembleQ, SquashedGaussianActor
from rlsuite.algos.off_policy import OffPolicyAlgorithm, OffPolicyConfig
from rlsuite.algos.sac_fused import FusedSACUpdate, adam
from rlsuite.config import param
from rlsuite.core.checkpointed import Checkpointed
from rlsuite.core.optim import polyak_update
from rlsuite.core.replay import ReplaySample

UPDATE_BACKENDS = ("auto", "autograd", "fused")


@dataclass
class SACConfig(OffPolicyConfig):
    """SAC's settings (module docstring for the defaults' sources)."""

    name: str = param("sac", help="algorithm name (fixed)", choices=("sac",))
    actor_lr: float = param(3e-4, help="Adam learning rate of the actor", min=0.0, min_exclusive=True)
    critic_lr: float = param(3e-4, help="Adam learning rate of the twin critics", min=0.0, min_exclusive=True)
    alpha_lr: float = param(3e-4, help="Adam learning rate of log(alpha)", min=0.0, min_exclusive=True)
    init_alpha: float = param(1.0, help="initial entropy temperature", min=0.0, min_exclusive=True)
    autotune_alpha: bool = param(True, help="tune alpha towards target_entropy (else keep init_alpha)")
    target_entropy: float | None = param(None, help="entropy target; None = -dim(action space)")
    num_q: int = param(2, help="critics in the clipped min (2 = clipped double-Q)", min=1)
    log_std_bounds: tuple[float, float] = param((-20.0, 2.0), help="clamp of the actor's log-std")
    target_update_interval: int = param(1, help="gradient steps between target updates", min=1)
    update_backend: str = param(
        "auto",
        help="gradient steps: 'autograd' (torch autograd on the losses below), 'fused' (the same steps with "
        "the chain rule written out, about 2x faster on a CPU; tests/test_sac_fused.py checks it equals "
        "autograd), 'auto' (fused)",
        choices=UPDATE_BACKENDS,
    )


# What a checkpoint holds besides log(alpha): networks and optimisers, by attribute name.
SAC_MODULES = (
    "actor",
    "critic",
    "critic_target",
    "actor_optimizer",
    "critic_optimizer",
    "alpha_optimizer",
)


class SAC(OffPolicyAlgorithm):
    """Soft Actor-Critic with automatic entropy tuning (``algo.name: sac``)."""

    name = "sac"
    description = "Soft Actor-Critic with automatic entropy tuning (continuous actions)"
    config_cls = SACConfig

    def build(self) -> None:
        cfg = self.config
        self.actor = SquashedGaussianActor(
            self.obs_dim,
            self.act_dim,
            cfg.hidden_sizes,
            activation=cfg.activation,
            log_std_bounds=tuple(cfg.log_std_bounds),
        ).to(self.device)
        self.critic = EnsembleQ(
            self.obs_dim, self.act_dim, cfg.hidden_sizes, num_q=cfg.num_q, activation=cfg.activation
        ).to(self.device)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.log_alpha = torch.tensor(math.log(cfg.init_alpha), device=self.device, requires_grad=True)
        self.target_entropy = -float(self.act_dim) if cfg.target_entropy is None else cfg.target_entropy
        self.actor_optimizer = adam(self.actor.parameters(), cfg.actor_lr)
        self.critic_optimizer = adam(self.critic.parameters(), cfg.critic_lr)
        self.alpha_optimizer = adam([self.log_alpha], cfg.alpha_lr)
        self.agent = ContinuousPolicyAgent(self.actor, self.env.single_action_space).to(self.device)
        self.fused = None if cfg.update_backend == "autograd" else FusedSACUpdate(self)

    def exploration_action(self, obs: torch.Tensor) -> torch.Tensor:
        return self.actor.sample(obs)[0]

    def train_step(self, batch: ReplaySample) -> dict[str, torch.Tensor]:
        alpha = self.log_alpha.detach().exp()
        critic_loss, q_mean = self.critic_update(batch, alpha)
        actor_loss, logp = self.actor_update(batch.obs, alpha)
        alpha_loss = self.temperature_update(logp)
        if self.gradient_steps % self.config.target_update_interval == 0:
            polyak_update(self.critic_target, self.critic, self.config.tau)
        return {
            "critic_loss": critic_loss,
            "actor_loss": actor_loss,
            "alpha": alpha,
            "alpha_loss": alpha_loss,
            "q_mean": q_mean,
            "entropy": -logp.mean(),
        }

    def critic_update(self, batch: ReplaySample, alpha: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """One Adam step on ``critic_loss``; returns the loss and the mean Q."""
        if self.fused is not None and type(self).critic_loss is SAC.critic_loss:
            return self.fused.critic_step(batch, alpha)
        loss, q = self.critic_loss(batch, alpha)
        self.critic_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.critic_optimizer.step()
        return loss.detach(), q.detach().mean()

    def critic_loss(self, batch: ReplaySample, alpha: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Soft Bellman residual (paper eq. 5), both critics against one clipped double-Q target:

        y = r + gamma (1 - d) [ min_k Qbar_k(s', a') - alpha log pi(a'|s') ],   a' ~ pi(.|s')
        J_Q = 1/2 sum_k E[(Q_k(s, a) - y)^2]
        """
        with torch.no_grad():
            next_actions, next_logp = self.actor.sample(batch.next_obs)
            next_q = self.critic_target(batch.next_obs, next_actions).min(0).values
            target = batch.rewards + batch.discount * (next_q - alpha * next_logp)
        q = self.critic(batch.obs, batch.actions)
        return 0.5 * (q - target).square().mean(1).sum(), q

    def actor_update(self, obs: torch.Tensor, alpha: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Policy improvement by the reparameterised KL projection (paper eq. 12):

        J_pi = E_s E_{eps}[ alpha log pi(f(eps; s)|s) - min_k Q_k(s, f(eps; s)) ]
        """
        if self.fused is not None:
            return self.fused.actor_step(obs, alpha)
        actions, logp = self.actor.sample(obs)
        self.critic.requires_grad_(False)  # gradients flow through Q to the actions only
        q = self.critic(obs, actions).min(0).values
        self.critic.requires_grad_(True)
        loss = (alpha * logp - q).mean()
        self.actor_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.actor_optimizer.step()
        return loss.detach(), logp.detach()

    def temperature_update(self, logp: torch.Tensor) -> torch.Tensor:
        """J(alpha) = E[-alpha (log pi(a|s) + target_entropy)], minimised over log(alpha) (SB3's form)."""
        if not self.config.autotune_alpha:
            return torch.zeros((), device=self.device)
        if self.fused is not None:
            return self.fused.temperature_step(logp, self.target_entropy)
        loss = -(self.log_alpha * (logp + self.target_entropy)).mean()
        self.alpha_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.alpha_optimizer.step()
        return loss.detach()

    # --- checkpoint ---------------------------------------------------------------------------------
    checkpointed = Checkpointed(modules=SAC_MODULES, values=("log_alpha",))
