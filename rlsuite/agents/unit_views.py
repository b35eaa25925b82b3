"""Which units each unit may attend to: MaskMA's training masks and its execution-time views.

MaskMA (Liu et al., "MaskMA: Towards Zero-Shot Multi-Agent Decision Making with Mask-Based Collaborative
Learning", arXiv 2310.11846) runs one transformer over unit tokens. An *attention mask* ``allowed[B, E, E]``
says which key unit each query unit reads (``allowed[b, q, k]``); the diagonal is always set, so a unit
always sees itself (and no attention row is empty). A *view* ``members[B, E]`` is a set of units that see
each other and nothing else: ``allowed = (members ⊗ members) | I``. Positions are centred on the view (its
members' mean position), so a view carries no absolute map coordinates.

Training masks (``mask_mode``; the paper gives neither the ratio nor the distribution, these are choices,
documented in docs/maskma.md):

* ``"units"``: per sample a mask ratio ``r ~ U[ratio_min, ratio_max]``; every living unit is masked with
  probability ``r``; the unmasked living units form the view (they see each other; masked units see only
  themselves and are hidden from all others). The policies of all unmasked allies are learned jointly.
* ``"attention"``: each entry of the attention matrix between living units is dropped with probability ``r``
  (diagonal kept): the reviewers' reading of "random masks over the attention matrix". No unit is masked as
  a whole; every living ally is learned.
* ``"none"``: every living unit sees every living unit (the ablation without masking).

and, in ``"units"`` mode, with probability ``sight_view_prob`` a sample's view is instead the sight of one
random living ally (the decentralized-execution view, ``entity_visible`` of the data).

Execution (``execution``): ``"decentralized"`` runs one pass per agent whose view is the units in that
agent's sight (SMAC's sight range, from the env's ``entity_visible``): nothing outside an agent's sight
reaches its action, through any layer. ``"centralized"`` runs one pass in which every living unit sees
every living unit.
"""

from __future__ import annotations

import torch

MASK_MODES = ("units", "attention", "none")
EXECUTION_MODES = ("decentralized", "centralized")


def view_attention(members: torch.Tensor) -> torch.Tensor:
    """``allowed[..., E, E]`` of a view ``members[..., E]``: members see members; everyone sees itself."""
    eye = torch.eye(members.shape[-1], dtype=torch.bool, device=members.device)
    return (members[..., :, None] & members[..., None, :]) | eye


def random_ratios(batch: int, low: float, high: float, generator: torch.Generator | None) -> torch.Tensor:
    """``[batch, 1]`` mask ratios drawn uniformly in ``[low, high]``."""
    u = torch.rand(batch, 1, generator=generator, device=_device(generator))
    return low + (high - low) * u


def random_unit_view(
    alive: torch.Tensor, low: float, high: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``members[B, E]``: the living units left after masking each with a per-sample ratio in [low, high]."""
    ratio = random_ratios(alive.shape[0], low, high, generator).to(alive.device)
    drawn = torch.rand(alive.shape, generator=generator, device=_device(generator)).to(alive.device)
    return alive & (drawn >= ratio)


def random_attention(
    alive: torch.Tensor, low: float, high: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``allowed[B, E, E]``: attention between living units, each entry dropped with the sample's ratio."""
    B, E = alive.shape
    ratio = random_ratios(B, low, high, generator).to(alive.device)[..., None]
    drawn = torch.rand((B, E, E), generator=generator, device=_device(generator)).to(alive.device)
    keep = (drawn >= ratio) & alive[:, :, None] & alive[:, None, :]
    return keep | torch.eye(E, dtype=torch.bool, device=alive.device)


def sight_view(visible: torch.Tensor, alive: torch.Tensor, agent: torch.Tensor) -> torch.Tensor:
    """``members[B, E]``: the units ``agent[b]`` sees (``visible[B, n, E]``), itself included while alive."""
    rows = torch.arange(visible.shape[0], device=visible.device)
    view = visible[rows, agent].clone()
    view[rows, agent] |= alive[rows, agent]
    return view & alive


def decentralized_views(visible: torch.Tensor, alive: torch.Tensor) -> torch.Tensor:
    """``members[B, n, E]``: each agent's sight (a dead agent's view is empty; it sees only itself)."""
    n = visible.shape[1]
    own = torch.zeros_like(visible)
    own[:, torch.arange(n), torch.arange(n)] = True
    return (visible | (own & alive[:, None, :])) & alive[:, None, :]


def _device(generator: torch.Generator | None) -> torch.device | None:
    return None if generator is None else generator.device
