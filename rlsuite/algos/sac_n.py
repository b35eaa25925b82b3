"""SAC-N and EDAC (An, Moon, Kim and Song, 2021, "Uncertainty-Based Offline Reinforcement Learning
with Diversified Q-Ensemble", arXiv:2110.01548).

SAC-N is SAC trained on a fixed dataset with N critics instead of two: the clipped target and the
actor's Q are the minimum over all N members, which penalises actions the ensemble is uncertain
about (out-of-distribution actions). EDAC adds an ensemble-diversity term that spreads the members'
action gradients, so far fewer members are needed:

    J_Q = sum_k E_D[(Q_k(s, a) - y)^2] + eta / (N - 1) E_D[ sum_{i != j} <g_i, g_j> ],
    y   = r + gamma (1 - d) [ min_k Qbar_k(s', a') - alpha log pi(a'|s') ],   a' ~ pi(.|s'),
    g_k = grad_a Q_k(s, a) / ||grad_a Q_k(s, a)||   (at the dataset action a).

The N critics are one vectorised ensemble (``EnsembleQ``: one batched matmul per layer for all N).
Defaults follow the EDAC paper's MuJoCo settings: 3 x 256 ReLU layers, lr 3e-4, batch 256, automatic
temperature (initial 1.0, target -dim(A)), tau 0.005; N = 10 and eta = 1.0 for EDAC, N = 10 and
eta = 0 for SAC-N (the paper tunes N per task: up to 500 for SAC-N, 10-50 for EDAC). SO2 fine-tunes
online from these checkpoints (``rlsuite/algos/so2.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rlsuite.algos.offline import OFFLINE_CAPABILITIES, dataset_problems, dataset_replay
from rlsuite.algos.replay_sources import ReplaySource
from rlsuite.algos.sac import SAC, SACConfig
from rlsuite.config import OfflineConfig, param
from rlsuite.core.replay import ReplaySample


@dataclass
class SACNConfig(SACConfig):
    """SAC-N's settings: SAC's with an N-member ensemble and EDAC's diversity weight (0)."""

    name: str = param("sac_n", help="algorithm name (fixed)", choices=("sac_n",))
    learning_starts: int = param(0, help="unused offline (no env steps are taken)", min=0)
    num_q: int = param(10, help="critics N in the ensemble; target and actor use the min over all N", min=1)
    hidden_sizes: tuple[int, ...] = param((256, 256, 256), help="hidden widths of actor and critics", min=1)
    eta: float = param(0.0, help="weight of EDAC's ensemble-diversity term (0 = SAC-N)", min=0.0)


@dataclass
class EDACConfig(SACNConfig):
    """EDAC's settings: SAC-N's with the diversity term on (eta 1)."""

    name: str = param("edac", help="algorithm name (fixed)", choices=("edac",))
    eta: float = param(1.0, help="weight of the ensemble-diversity term (the paper's eta)", min=0.0)


class SACN(SAC):
    """SAC with an N-critic ensemble, trained on ``offline.dataset`` (one gradient step per iteration)."""

    name = "sac_n"
    description = "Offline: SAC with an N-critic ensemble, minimum over the N"
    config_cls = SACNConfig
    capabilities = OFFLINE_CAPABILITIES
    reads_offline_section = True  # trains from offline.dataset

    @classmethod
    def offline_problems(cls, offline: OfflineConfig) -> list[str]:
        return dataset_problems(cls.name, offline)

    def make_replay(self) -> ReplaySource:
        return dataset_replay(self)

    def critic_loss(self, batch: ReplaySample, alpha: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """J_Q of the module docstring: the TD error of every member against the min-over-N target, plus
        eta times the diversity of the members' action gradients (EDAC's code sums the per-member MSE)."""
        with torch.no_grad():
            next_actions, next_logp = self.actor.sample(batch.next_obs)
            next_q = self.critic_target(batch.next_obs, next_actions).min(0).values
            target = batch.rewards + batch.discount * (next_q - alpha * next_logp)
        if self.config.eta == 0.0:
            q = self.critic(batch.obs, batch.actions)
            return (q - target).square().mean(1).sum(), q
        # one copy of the actions per member, so each member's action gradient can be taken separately
        actions = batch.actions.unsqueeze(0).expand(self.critic.num_q, -1, -1).clone().requires_grad_(True)
        q = self.critic.per_member(batch.obs, actions)
        loss = (q - target).square().mean(1).sum() + self.config.eta * self.diversity(q, actions)
        return loss, q

    @staticmethod
    def diversity(q: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """1/(N-1) E[ sum_{i != j} <g_i, g_j> ] with g_k the normalised grad_a Q_k (kept in the graph)."""
        num_q = q.shape[0]
        grads = torch.autograd.grad(q.sum(), actions, create_graph=True)[0]  # [N, B, A]
        grads = grads / (grads.norm(dim=-1, keepdim=True) + 1e-10)
        cosines = torch.einsum("ibd,jbd->bij", grads, grads)  # [B, N, N]
        off_diagonal = cosines.sum((1, 2)) - cosines.diagonal(dim1=1, dim2=2).sum(-1)
        return off_diagonal.mean() / max(num_q - 1, 1)


class EDAC(SACN):
    """SAC-N plus EDAC's ensemble-diversity term (``algo.name: edac``)."""

    name = "edac"
    description = "Offline: SAC-N plus the ensemble-diversity (gradient decorrelation) term"
    config_cls = EDACConfig
