"""Small optimisation helpers shared by algorithms."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def clip_grad_norm(parameters: Sequence[torch.nn.Parameter], max_norm: float) -> torch.Tensor:
    """Scale gradients so their global L2 norm is at most ``max_norm``; return the norm before clipping.

    Same rule as ``torch.nn.utils.clip_grad_norm_`` (``g *= min(1, max_norm / (norm + 1e-6))``) with
    less per-call bookkeeping, which matters when a step's math takes microseconds.
    """
    grads = [p.grad for p in parameters if p.grad is not None]
    if len(grads) == 1:
        norm = torch.linalg.vector_norm(grads[0])
    else:
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    scale = torch.clamp(max_norm / (norm + 1e-6), max=1.0)
    for grad in grads:
        grad.mul_(scale)
    return norm


@torch.no_grad()
def polyak_update(target: torch.nn.Module, source: torch.nn.Module, tau: float) -> None:
    """Soft (Polyak) target-network update (Lillicrap et al., 2016, arXiv:1509.02971), every parameter:

        theta_target <- tau * theta + (1 - tau) * theta_target

    ``tau = 1`` copies; modules without parameters (e.g. VDN's additive mixer) are left as they are.
    """
    targets = list(target.parameters())
    if targets:
        torch._foreach_lerp_(targets, list(source.parameters()), tau)
