"""A stochastic actor with a value critic, for Discrete or Box action spaces (PPO, later MAPPO).

Separate actor and critic MLPs (no shared trunk), orthogonal init with a small policy-output gain, and a
state-independent log-std for continuous actions: the network of the PPO implementation-details study
that CleanRL and SB3 follow. Distributions are written out by hand (log-softmax / Gaussian log-density)
rather than through ``torch.distributions``, whose argument validation costs more than the MLP itself at
rollout batch sizes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from rlsuite.agents.base import MemorylessPolicy
from rlsuite.agents.networks import ObservationNormalizer, StackedMLP, make_encoder

LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


class ActorCriticAgent(MemorylessPolicy, nn.Module):
    """PPO's actor and critic as one stacked MLP; a memoryless :class:`~rlsuite.agents.base.Policy`."""

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        *,
        hidden_sizes: Sequence[int] = (64, 64),
        activation: str = "tanh",
        log_std_init: float = 0.0,
        normalize_obs: bool = False,
        obs_clip: float = 10.0,
        encoder: str = "mlp",
        conv_channels: Sequence[int] = (32, 64),
    ) -> None:
        super().__init__()
        if not isinstance(observation_space, spaces.Box):
            raise TypeError(f"ActorCriticAgent needs a Box observation space, got {observation_space}")
        if not isinstance(action_space, (spaces.Discrete, spaces.Box)):
            raise TypeError(f"ActorCriticAgent supports Discrete or Box actions, got {action_space}")
        self.observation_space, self.action_space = observation_space, action_space
        self.discrete = isinstance(action_space, spaces.Discrete)
        obs_dim = int(np.prod(observation_space.shape))
        out_dim = int(action_space.n) if self.discrete else int(np.prod(action_space.shape))
        self.obs_normalizer = ObservationNormalizer((obs_dim,), clip=obs_clip, enabled=normalize_obs)
        # "conv": a shared convolutional torso over (channels, height, width) grids (Sokoban, Maze, Taxi);
        # "mlp": the flat observation goes straight to the heads.
        self.encoder = make_encoder(encoder, observation_space.shape, conv_channels)
        # Actor (policy-output gain 0.01) and critic (gain 1), evaluated together as a stacked pair.
        self.actor_critic = StackedMLP(
            self.encoder.out_dim, hidden_sizes, (out_dim, 1), activation=activation, output_gains=(0.01, 1.0)
        )
        if self.discrete:
            self.action_offset = int(action_space.start)
        else:
            self.log_std = nn.Parameter(torch.full((out_dim,), float(log_std_init)))
            self.action_low = np.asarray(action_space.low, np.float32)
            self.action_high = np.asarray(action_space.high, np.float32)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    # --- learner-side API: inputs are already-normalised observation tensors ---------------------
    def heads(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(policy output, V(obs))``: logits or Gaussian means, and state values."""
        policy_out, value = self.actor_critic(self.encoder(obs))
        return policy_out, value.squeeze(-1)

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.heads(obs)[1]

    def sample(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Draw actions; return ``(action, log pi(action|obs), V(obs))``."""
        out, value = self.heads(obs)
        if self.discrete:
            log_probs = torch.log_softmax(out, dim=-1)
            gumbel = -torch.log(-torch.log(torch.rand_like(out)))
            action = torch.argmax(out + gumbel, dim=-1)
            logp = log_probs.gather(-1, action.unsqueeze(-1)).squeeze(-1)
        else:
            std = self.log_std.exp()
            noise = torch.randn_like(out)
            action = out + std * noise
            logp = (-0.5 * noise.square() - self.log_std - LOG_SQRT_2PI).sum(-1)
        return action, logp, value

    def evaluate(
        self, obs: torch.Tensor, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(log pi(actions|obs), entropy, V(obs))`` with gradients, for the PPO loss."""
        out, value = self.heads(obs)
        if self.discrete:
            log_probs = torch.log_softmax(out, dim=-1)
            logp = log_probs.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)
            entropy = -(log_probs.exp() * log_probs).sum(-1)
        else:
            z = (actions - out) / self.log_std.exp()
            logp = (-0.5 * z.square() - self.log_std - LOG_SQRT_2PI).sum(-1)
            entropy = (0.5 + LOG_SQRT_2PI + self.log_std).sum().expand(obs.shape[0])
        return logp, entropy, value

    def to_env_action(self, action: np.ndarray) -> np.ndarray:
        """Map sampled actions to what the env accepts: index offset, or clipping to the Box bounds."""
        if self.discrete:
            return action + self.action_offset if self.action_offset else action
        return np.clip(action, self.action_low, self.action_high)

    # --- acting API (Policy via act): raw observations in, env actions out -----------------------
    @torch.inference_mode()
    def act(self, obs: np.ndarray | torch.Tensor, deterministic: bool = False) -> np.ndarray:
        if isinstance(obs, torch.Tensor):
            obs_t = obs.to(self.device, torch.float32)
        else:
            obs_t = torch.as_tensor(np.asarray(obs, np.float32), device=self.device)
        obs_t = self.obs_normalizer(obs_t.reshape(obs_t.shape[0], -1))
        if deterministic:
            out = self.heads(obs_t)[0]
            action = out.argmax(-1) if self.discrete else out
        else:
            action = self.sample(obs_t)[0]
        return self.to_env_action(action.cpu().numpy())
