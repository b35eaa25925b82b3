"""Actors and critics for continuous-action off-policy learners (SAC, TD3, MPDP, SO2).

Actors act in the normalised box ``[-1, 1]^d``; ``ContinuousPolicyAgent`` rescales to the env's bounds,
so replay buffers, target-policy noise and entropy targets never depend on the env's action units.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from gymnasium import spaces
from torch import nn
from torch.nn import functional as F

from rlsuite.agents.base import MemorylessPolicy
from rlsuite.agents.networks import StackedMLP, mlp

LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
LOG_2 = math.log(2.0)


def check_box_actions(action_space: spaces.Space) -> spaces.Box:
    if not isinstance(action_space, spaces.Box) or not (
        np.isfinite(action_space.low).all() and np.isfinite(action_space.high).all()
    ):
        raise TypeError(f"a bounded Box action space is required, got {action_space}")
    return action_space


class SquashedGaussianActor(nn.Module):
    """pi(a|s) = tanh(u), u ~ N(mu(s), sigma(s)^2): SAC's policy (Haarnoja et al., 2018, appendix C)."""

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        hidden_sizes: Sequence[int] = (256, 256),
        *,
        activation: str = "relu",
        log_std_bounds: tuple[float, float] = (-20.0, 2.0),
    ) -> None:
        super().__init__()
        self.act_dim = act_dim
        self.log_std_min, self.log_std_max = log_std_bounds
        self.net = mlp(obs_dim, hidden_sizes, 2 * act_dim, activation=activation, init="pytorch")

    def distribution(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_std = self.net(obs).split(self.act_dim, dim=-1)
        return mean, log_std.clamp(self.log_std_min, self.log_std_max)

    def sample(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Reparameterised ``(a, log pi(a|s))``, with the tanh change of variables:

        log pi(a|s) = sum_i [ log N(u_i; mu_i, sigma_i) - log(1 - tanh(u_i)^2) ],
        log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u))   (the numerically stable form).
        """
        mean, log_std = self.distribution(obs)
        noise = torch.randn_like(mean)
        u = mean + log_std.exp() * noise
        log_gauss = -0.5 * noise.square() - log_std - LOG_SQRT_2PI
        log_jacobian = 2.0 * (LOG_2 - u - F.softplus(-2.0 * u))
        return torch.tanh(u), (log_gauss - log_jacobian).sum(-1)

    def action(self, obs: torch.Tensor, deterministic: bool) -> torch.Tensor:
        if deterministic:
            return torch.tanh(self.distribution(obs)[0])
        return self.sample(obs)[0]


class DeterministicActor(nn.Module):
    """a = tanh(mu(s)): TD3's policy (Fujimoto et al., 2018); exploration noise is the learner's job."""

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        hidden_sizes: Sequence[int] = (256, 256),
        *,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        self.net = mlp(obs_dim, hidden_sizes, act_dim, activation=activation, init="pytorch")

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.net(obs))

    def action(self, obs: torch.Tensor, deterministic: bool) -> torch.Tensor:
        return self(obs)  # acting noise is added by the learner during collection


class EnsembleQ(nn.Module):
    """``K`` independent Q(s, a) MLPs evaluated in one batched matmul per layer (twin Q: ``K = 2``).

    All weights live in one flat parameter, so the target copy's Polyak update is a single ``lerp_``
    and freezing the critic for the actor's loss is one ``requires_grad_`` call.
    """

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        hidden_sizes: Sequence[int] = (256, 256),
        *,
        num_q: int = 2,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        self.num_q = num_q
        self.net = StackedMLP(
            obs_dim + act_dim, hidden_sizes, [1] * num_q, activation=activation, init="pytorch"
        )

    def forward(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """``Q_k(s, a)`` for every member: ``[K, B]``."""
        return torch.stack(self.net(torch.cat([obs, actions], dim=-1))).squeeze(-1)

    def per_member(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """``Q_k(s, a_k)`` with a separate action batch per member (``actions`` ``[K, B, A]``): ``[K, B]``.

        EDAC needs it to take each member's gradient with respect to its own copy of the actions.
        """
        obs_k = obs.unsqueeze(0).expand(self.num_q, *obs.shape)
        return torch.stack(self.net(torch.cat([obs_k, actions], dim=-1), per_member=True)).squeeze(-1)

    @property
    def flat(self) -> nn.Parameter:
        return self.net.flat

    @torch.no_grad()
    def load_first_members(self, source_flat: torch.Tensor) -> int:
        """Copy members ``0..K-1`` of a larger ensemble of the same widths (its ``flat`` parameter).

        SO2 fine-tunes with the first N members of the offline ensemble (docs/offline.md, "SO2").
        Returns the source's member count; raises if widths differ or it has fewer than ``K`` members.
        """
        per_member = self.flat.numel() // self.num_q
        if source_flat.numel() % per_member:
            raise ValueError(
                "the checkpoint's critic ensemble has different layer widths (hidden_sizes or obs/action "
                "sizes differ)"
            )
        members = source_flat.numel() // per_member
        if members < self.num_q:
            raise ValueError(f"the checkpoint's critic ensemble has {members} members; {self.num_q} needed")
        pieces, offset = [], 0
        for shape in self.net.shapes:
            size = math.prod(shape) // self.num_q * members
            piece = source_flat[offset : offset + size].reshape(members, *shape[1:])
            pieces.append(piece[: self.num_q].flatten())
            offset += size
        self.flat.copy_(torch.cat(pieces).to(self.flat.device))
        return members


class InputNormalizedActor(nn.Module):
    """An actor fed standardised observations: ``actor((obs - mean) / std)`` with fixed statistics.

    TD3-BC normalises states with the dataset's mean and std; the statistics are buffers, so they are
    saved with the agent and evaluation in the env sees exactly what training saw.
    """

    def __init__(self, actor: nn.Module, obs_dim: int) -> None:
        super().__init__()
        self.actor = actor
        self.register_buffer("mean", torch.zeros(obs_dim))
        self.register_buffer("std", torch.ones(obs_dim))

    @torch.no_grad()
    def set_statistics(self, mean: np.ndarray, std: np.ndarray) -> None:
        self.mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.std.copy_(torch.as_tensor(std, dtype=torch.float32))

    def normalize(self, obs: torch.Tensor) -> torch.Tensor:
        return (obs - self.mean) / self.std

    def action(self, obs: torch.Tensor, deterministic: bool) -> torch.Tensor:
        return self.actor.action(self.normalize(obs), deterministic)


class ContinuousPolicyAgent(MemorylessPolicy, nn.Module):
    """The acting side of SAC/TD3/MPDP: an actor in ``[-1, 1]^d`` plus the env's action bounds."""

    def __init__(self, actor: nn.Module, action_space: spaces.Space) -> None:
        super().__init__()
        box = check_box_actions(action_space)
        self.actor = actor
        self.action_shape = box.shape
        self._scale = ((box.high - box.low) / 2.0).astype(np.float32).flatten()
        self._center = ((box.high + box.low) / 2.0).astype(np.float32).flatten()
        self._bounds = (box.low.astype(np.float32).flatten(), box.high.astype(np.float32).flatten())

    @property
    def device(self) -> torch.device:
        return next(self.actor.parameters()).device

    def to_env_action(self, normalised: np.ndarray) -> np.ndarray:
        """Map ``[-1, 1]`` actions to the env's box, clipped against rounding."""
        action = self._center + self._scale * normalised
        action = np.clip(action, *self._bounds)
        return action.reshape(normalised.shape[0], *self.action_shape)

    def normalised_action(self, obs: np.ndarray | torch.Tensor, deterministic: bool) -> np.ndarray:
        obs_t = torch.as_tensor(np.asarray(obs, np.float32), device=self.device)
        return self.actor.action(obs_t.reshape(obs_t.shape[0], -1), deterministic).cpu().numpy()

    @torch.inference_mode()
    def act(self, obs: np.ndarray | torch.Tensor, deterministic: bool = False) -> np.ndarray:
        if isinstance(obs, torch.Tensor):
            obs = obs.cpu().numpy()
        return self.to_env_action(self.normalised_action(obs, deterministic))
