"""A MADT-style decision transformer: the baseline MaskMA is compared with (Meng et al., arXiv 2112.02845).

Each agent reads its own SMAC observation vector, zero-padded to a fixed width ``obs_pad`` so that maps of
different observation sizes fit one network (MADT's code pads local observations across maps), and the
last ``context`` of them (MADT's released code uses a context of 1) go through a small causal transformer
(width 32, 2 blocks, 2 heads in MADT's code). The actions come from a *per-map* head: one linear head per
action count the model was trained with. The padded observation has no fixed meaning across maps and the
head cannot produce another number of actions, which is why such a model does not transfer: on a map whose
action count has no head the policy refuses to act with a clear error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from rlsuite.agents.maskma import Block, masked_logits
from rlsuite.core.team import TeamObservation, TeamSpec


@dataclass(frozen=True)
class MADTShape:
    obs_pad: int
    action_sizes: tuple[int, ...]
    context: int = 1
    width: int = 32
    depth: int = 2
    heads: int = 2


class MADTNetwork(nn.Module):
    """Causal transformer over one agent's last ``context`` padded observations, one head per action count."""

    def __init__(self, shape: MADTShape) -> None:
        super().__init__()
        self.shape = shape
        self.embed = nn.Linear(shape.obs_pad, shape.width)
        self.time = nn.Parameter(torch.zeros(shape.context, shape.width))
        self.blocks = nn.ModuleList(Block(shape.width, shape.heads) for _ in range(shape.depth))
        self.norm = nn.LayerNorm(shape.width)
        self.action_heads = nn.ModuleDict({str(a): nn.Linear(shape.width, a) for a in shape.action_sizes})

    def head_for(self, n_actions: int) -> nn.Module:
        if str(n_actions) not in self.action_heads:
            raise ValueError(
                f"this MADT model has action heads for {list(self.shape.action_sizes)} actions (one per "
                f"training map); the env has {n_actions}: a per-map action head does not transfer to "
                "another action count"
            )
        return self.action_heads[str(n_actions)]

    def forward(self, obs: torch.Tensor, valid: torch.Tensor, n_actions: int) -> torch.Tensor:
        """``obs[B, L, n, O]``, ``valid[B, L]`` -> logits ``[B, n, n_actions]`` of the last step."""
        head = self.head_for(n_actions)
        B, L, n, width = obs.shape
        x = self.embed(obs.permute(0, 2, 1, 3).reshape(B * n, L, width)) + self.time[-L:]
        causal = torch.ones(L, L, dtype=torch.bool, device=obs.device).tril()
        keys = valid.repeat_interleave(n, dim=0)[:, None, :] | torch.eye(
            L, dtype=torch.bool, device=obs.device
        )
        allowed = causal[None] & keys
        for block in self.blocks:
            x = block(x, allowed)
        return head(self.norm(x[:, -1])).view(B, n, n_actions)


def pad_observations(obs: np.ndarray, width: int) -> np.ndarray:
    """``[..., O]`` -> ``[..., width]`` zero-padded; an observation wider than ``width`` is an error."""
    if obs.shape[-1] > width:
        raise ValueError(
            f"observations have {obs.shape[-1]} values; the model pads to {width} (algo.obs_pad)"
        )
    out = np.zeros((*obs.shape[:-1], width), dtype=np.float32)
    out[..., : obs.shape[-1]] = obs
    return out


class MADTAgent:
    """A team :class:`~rlsuite.agents.base.Policy` whose memory is the last ``context`` observations."""

    def __init__(self, net: MADTNetwork, device: torch.device) -> None:
        self.net, self.device = net, device
        self.n_actions: int | None = None

    def bind_env(self, spec: TeamSpec) -> None:
        """Check the env's observation width and action count against the model (errors name both)."""
        self.net.head_for(spec.n_actions)
        if spec.obs_size > self.net.shape.obs_pad:
            raise ValueError(
                f"the env observes {spec.obs_size} values per agent; the model pads to "
                f"{self.net.shape.obs_pad}"
            )
        self.n_actions = spec.n_actions

    def initial_state(self, num_envs: int) -> None:
        return None  # the history starts with the first observation (see step)

    def reset_state(self, state, rows: np.ndarray):
        if state is None or len(rows) == 0:
            return state
        obs, valid = state[0].clone(), state[1].clone()
        obs[rows], valid[rows] = 0.0, False
        return obs, valid

    @torch.no_grad()
    def step(self, observation: TeamObservation, state=None, deterministic: bool = True):
        N = observation.obs.shape[0]
        L = self.net.shape.context
        padded = torch.as_tensor(
            pad_observations(observation.obs, self.net.shape.obs_pad), device=self.device
        )
        if state is None:
            state = (
                torch.zeros((N, L, *padded.shape[1:]), device=self.device),
                torch.zeros((N, L), dtype=torch.bool, device=self.device),
            )
        obs = torch.cat([state[0][:, 1:], padded[:, None]], dim=1)
        valid = torch.cat([state[1][:, 1:], torch.ones((N, 1), dtype=torch.bool, device=self.device)], dim=1)
        n_actions = self.n_actions or observation.action_mask.shape[-1]
        logits = masked_logits(
            self.net(obs, valid, n_actions),
            torch.as_tensor(observation.action_mask, device=self.device).bool(),
        )
        if deterministic:
            chosen = logits.argmax(-1)
        else:
            chosen = torch.distributions.Categorical(logits=logits).sample()
        return chosen.cpu().numpy(), (obs, valid)


def action_sizes_of(sizes: Sequence[int], env_actions: int) -> tuple[int, ...]:
    """The heads a model is built with: the configured action counts and the env's own."""
    return tuple(sorted({*sizes, env_actions}))
