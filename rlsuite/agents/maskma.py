"""MaskMA's network and policy: a transformer over unit tokens with generalizable action heads.

MaskMA (Liu et al., arXiv 2310.11846, TMLR 2024). What is fixed by the method and what is chosen here
(choices are config keys of ``rlsuite.algos.maskma`` and are listed in docs/maskma.md):

* **Tokens are units**, allies first (the ``n`` agents), then the other units. A token is built from the
  unit's own map-independent features only (:data:`DEFAULT_TOKEN_FEATURES`, selected *by name* from the
  env's declared :class:`~rlsuite.core.team.EntitySpec`; SMAC's per-map type one-hot is never read), its
  position relative to the centre of the view it is seen in, its weapon range, plus a learned embedding of
  its unit type in the *global* vocabulary (``EntitySpec.unit_types``) and of its side (ally / enemy).
* **Encoder**: ``depth`` pre-norm transformer blocks (``heads`` heads, width ``width``) whose self-attention
  obeys an attention mask (:mod:`rlsuite.agents.unit_views`): random masks in training, the agent's sight at
  decentralized execution.
* **Generalizable action representation**: intrinsic actions (no-op, stop, 4 moves) are ``MLP(h_i)``; the
  interactive action on unit ``j`` (attack an enemy, heal an ally) is ``MLP([h_i, h_j, g_ij])`` with
  ``g_ij`` the pair's geometry (offset and distance in sight-range units, whether ``j`` is within ``i``'s
  range). Logits are in the env's *entity action layout* (``K`` intrinsic, then one per unit), the env's
  action mask is applied and one softmax is taken, so one network acts on any unit count and action size.
  The ablation ``action_head="fixed"`` replaces the pair score with a linear head of ``fixed_actions``
  outputs indexed by slot (what a network without the action representation does).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from rlsuite.agents.base import MemorylessPolicy
from rlsuite.agents.unit_views import EXECUTION_MODES, decentralized_views, view_attention
from rlsuite.core.team import EntityObservation, TeamObservation, TeamSpec

# Map-independent entity columns a token reads (SMAC's simulator names; other team envs may declare them).
DEFAULT_TOKEN_FEATURES = (
    "health",
    "shield",
    "shielded",
    "cooldown",
    *(f"last_action_{k}" for k in range(7)),
    *(f"pathing_{k}" for k in range(9)),
    *(f"height_{k}" for k in range(9)),
)
DISTANCE_SCALE = 9.0  # positions and ranges in units of SMAC's sight range
PAIR_GEOMETRY = 4  # dx, dy, distance, j within i's range
MASKED_LOGIT = -1e9
ACTION_HEADS = ("pairwise", "fixed")


@dataclass
class UnitBatch:
    """Unit tokens' inputs as tensors (``S`` sequences of ``E`` units)."""

    features: torch.Tensor  # [S, E, F] map-independent columns
    position: torch.Tensor  # [S, E, 2] map coordinates
    attack_range: torch.Tensor  # [S, E]
    alive: torch.Tensor  # [S, E] bool
    is_enemy: torch.Tensor  # [S, E] bool
    unit_type: torch.Tensor  # [S, E] int64, index into the network's unit vocabulary

    def repeat_per_agent(self, n: int) -> UnitBatch:
        """Each sequence repeated ``n`` times (row ``b * n + i``): one copy per agent's view."""
        return UnitBatch(*(t.repeat_interleave(n, dim=0) for t in vars(self).values()))


@dataclass(frozen=True)
class NetworkShape:
    """What fixes a MaskMA network's parameters (stored in checkpoints, so a model rebuilds anywhere)."""

    token_features: tuple[str, ...]
    unit_types: tuple[str, ...]
    n_intrinsic_actions: int
    width: int = 64
    depth: int = 2
    heads: int = 4
    action_head: str = "pairwise"
    fixed_actions: int = 0  # outputs of the fixed-size head (action_head="fixed")


def _mlp(inp: int, hidden: int, out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inp, hidden), nn.ReLU(), nn.Linear(hidden, out))


class MaskedAttention(nn.Module):
    """Multi-head self-attention where query ``q`` reads key ``k`` only if ``allowed[s, q, k]``."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"width ({width}) must be divisible by heads ({heads})")
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        S, E, W = x.shape
        q, k, v = self.qkv(x).view(S, E, 3, self.heads, W // self.heads).permute(2, 0, 3, 1, 4)
        scores = (q @ k.transpose(-1, -2)) / (W // self.heads) ** 0.5
        scores = scores.masked_fill(~allowed[:, None], float("-inf"))
        mixed = torch.softmax(scores, dim=-1) @ v  # [S, h, E, d]
        return self.out(mixed.transpose(1, 2).reshape(S, E, W))


class Block(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.attention = MaskedAttention(width, heads)
        self.mlp = _mlp(width, 4 * width, width)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.norm1(x), allowed)
        return x + self.mlp(self.norm2(x))


class MaskMANetwork(nn.Module):
    """Unit-token transformer with intrinsic and interactive (pairwise) action heads."""

    def __init__(self, shape: NetworkShape) -> None:
        super().__init__()
        if shape.action_head not in ACTION_HEADS:
            raise ValueError(f"action_head must be one of {ACTION_HEADS}, got {shape.action_head!r}")
        W = shape.width
        self.shape = shape
        self.token = nn.Linear(len(shape.token_features) + 3, W)
        self.type_embedding = nn.Embedding(len(shape.unit_types), W)
        self.side_embedding = nn.Embedding(2, W)
        self.blocks = nn.ModuleList(Block(W, shape.heads) for _ in range(shape.depth))
        self.norm = nn.LayerNorm(W)
        self.intrinsic = _mlp(W, W, shape.n_intrinsic_actions)
        if shape.action_head == "pairwise":
            self.interactive = _mlp(2 * W + PAIR_GEOMETRY, W, 1)
        else:
            self.fixed = nn.Linear(W, shape.fixed_actions - shape.n_intrinsic_actions)

    def encode(self, units: UnitBatch, allowed: torch.Tensor, members: torch.Tensor) -> torch.Tensor:
        """Token embeddings ``[S, E, W]`` after the encoder; positions centred on each view's members."""
        weight = members.float()[..., None]
        centre = (units.position * weight).sum(1, keepdim=True) / weight.sum(1, keepdim=True).clamp_min(1.0)
        inputs = torch.cat(
            [
                units.features,
                (units.position - centre) / DISTANCE_SCALE,
                units.attack_range[..., None] / DISTANCE_SCALE,
            ],
            dim=-1,
        )
        x = self.token(inputs) + self.type_embedding(units.unit_type)
        x = x + self.side_embedding(units.is_enemy.long())
        for block in self.blocks:
            x = block(x, allowed)
        return self.norm(x)

    def action_logits(self, h: torch.Tensor, units: UnitBatch, actors: torch.Tensor) -> torch.Tensor:
        """Entity-layout logits ``[S, m, K + E]`` of the actor rows ``actors[S, m]`` (unmasked)."""
        S, E = h.shape[:2]
        rows = torch.arange(S, device=h.device)[:, None]
        actor = h[rows, actors]  # [S, m, W]
        intrinsic = self.intrinsic(actor)
        if self.shape.action_head == "fixed":
            slots = self.shape.fixed_actions - self.shape.n_intrinsic_actions
            if E > slots:
                raise ValueError(
                    f"the fixed-size action head has {slots} target slots and this map has {E} units: "
                    "a fixed head cannot act on maps with more units than it was built for"
                )
            return torch.cat([intrinsic, self.fixed(actor)[..., :E]], dim=-1)
        offset = units.position[:, None, :, :] - units.position[rows, actors][:, :, None, :]  # [S, m, E, 2]
        distance = torch.linalg.vector_norm(offset, dim=-1, keepdim=True)
        in_range = (distance[..., 0] <= units.attack_range[rows, actors][..., None]).float()[..., None]
        geometry = torch.cat([offset / DISTANCE_SCALE, distance / DISTANCE_SCALE, in_range], dim=-1)
        m = actors.shape[1]
        pair = torch.cat(
            [actor[:, :, None].expand(-1, -1, E, -1), h[:, None].expand(-1, m, -1, -1), geometry], dim=-1
        )
        return torch.cat([intrinsic, self.interactive(pair)[..., 0]], dim=-1)

    def joint_logits(self, units: UnitBatch, allowed: torch.Tensor, members: torch.Tensor, n_agents: int):
        """One pass with attention mask ``allowed``: logits ``[B, n, K + E]`` of every ally (training)."""
        h = self.encode(units, allowed, members)
        actors = torch.arange(n_agents, device=h.device).expand(h.shape[0], -1)
        return self.action_logits(h, units, actors)

    def decentralized_logits(self, units: UnitBatch, visible: torch.Tensor) -> torch.Tensor:
        """One pass per agent over the units in its sight (``visible[B, n, E]``): logits ``[B, n, K + E]``."""
        B, n, E = visible.shape
        members = decentralized_views(visible, units.alive).reshape(B * n, E)
        per_agent = units.repeat_per_agent(n)
        h = self.encode(per_agent, view_attention(members), members)
        actors = torch.arange(n, device=h.device).repeat(B)[:, None]
        logits = self.action_logits(h, per_agent, actors).view(B, n, -1)
        out_of_sight = ~members.view(B, n, E)  # no interactive action on a unit the agent does not see
        return torch.cat([logits[..., :-E], logits[..., -E:].masked_fill(out_of_sight, MASKED_LOGIT)], -1)

    def centralized_logits(self, units: UnitBatch, n_agents: int) -> torch.Tensor:
        """One pass in which every living unit sees every living unit: logits ``[B, n, K + E]``."""
        return self.joint_logits(units, view_attention(units.alive), units.alive, n_agents)


def masked_logits(logits: torch.Tensor, action_mask: torch.Tensor) -> torch.Tensor:
    return logits.masked_fill(~action_mask, MASKED_LOGIT)


class UnitColumns:
    """How one env's declared entity rows map onto a network's inputs (feature columns, unit vocabulary)."""

    def __init__(self, spec: TeamSpec, token_features: Sequence[str], unit_types: Sequence[str]) -> None:
        entities = spec.entities
        if entities is None:
            raise ValueError(
                "MaskMA needs entity observations: a team env whose team_spec declares entities "
                "(the SMAC simulator with entity_features=True)"
            )
        try:
            self.columns = entities.columns(token_features)
        except KeyError as exc:
            raise ValueError(f"this env cannot feed the model's unit tokens: {exc.args[0]}") from None
        vocabulary = {name: i for i, name in enumerate(unit_types)}
        unknown = [name for name in entities.unit_types if name not in vocabulary]
        if unknown:
            raise ValueError(
                f"unit types {unknown} are not in the model's vocabulary ({', '.join(unit_types)})"
            )
        self.type_map = np.array([vocabulary[name] for name in entities.unit_types], dtype=np.int64)
        self.n_agents = spec.n_agents

    def units(self, entities: EntityObservation, device: torch.device) -> UnitBatch:
        def tensor(x: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(np.ascontiguousarray(x), device=device)

        return UnitBatch(
            tensor(entities.features[..., self.columns]).float(),
            tensor(entities.position).float(),
            tensor(entities.attack_range).float(),
            tensor(entities.alive).bool(),
            tensor(entities.is_enemy).bool(),
            tensor(self.type_map[entities.unit_type]),
        )


class MaskMAAgent(MemorylessPolicy):
    """Acts with a MaskMA network on any team env that declares entities (a memoryless team Policy).

    The evaluator calls :meth:`bind_env` with the env's :class:`TeamSpec` before playing, which picks the
    token columns by name; ``execution`` is ``"decentralized"`` (each agent attends only to units in its
    sight) or ``"centralized"``. Deterministic steps take the most likely available action; stochastic ones
    sample from the agent's own generator (seeded).
    """

    def __init__(self, net: MaskMANetwork, execution: str, seed: int, device: torch.device) -> None:
        if execution not in EXECUTION_MODES:
            raise ValueError(f"execution must be one of {EXECUTION_MODES}, got {execution!r}")
        self.net, self.execution, self.device = net, execution, device
        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(seed)
        self.inputs: UnitColumns | None = None
        self.last_entity_actions: np.ndarray | None = None

    def bind_env(self, spec: TeamSpec) -> None:
        """Read the env's declared entity columns and unit vocabulary (a clear error if they do not fit)."""
        shape = self.net.shape
        if spec.entities is not None and spec.entities.n_intrinsic_actions != shape.n_intrinsic_actions:
            raise ValueError(
                f"the model has {shape.n_intrinsic_actions} intrinsic actions; this env declares "
                f"{spec.entities.n_intrinsic_actions}"
            )
        self.inputs = UnitColumns(spec, shape.token_features, shape.unit_types)

    @torch.no_grad()
    def logits(self, entities: EntityObservation) -> torch.Tensor:
        """Masked entity-layout logits ``[N, n, K + E]`` for one step (the bound env's entity rows)."""
        if self.inputs is None:
            raise RuntimeError("MaskMAAgent.bind_env(team_spec) must be called before acting on an env")
        units = self.inputs.units(entities, self.device)
        if self.execution == "decentralized":
            visible = torch.as_tensor(entities.visible, device=self.device).bool()
            raw = self.net.decentralized_logits(units, visible)
        else:
            raw = self.net.centralized_logits(units, self.inputs.n_agents)
        return masked_logits(raw, torch.as_tensor(entities.action_mask, device=self.device).bool())

    def step(
        self, observation: TeamObservation, state: None = None, deterministic: bool = False
    ) -> tuple[np.ndarray, None]:
        entities = observation.entities
        if entities is None:
            raise ValueError("MaskMA acts on entity observations; this env gives none (entity_features=True)")
        logits = self.logits(entities)
        if deterministic:
            chosen = logits.argmax(-1)
        else:
            flat = torch.softmax(logits.flatten(0, 1), -1)
            chosen = torch.multinomial(flat, 1, generator=self.generator).view(logits.shape[:2])
        self.last_entity_actions = chosen.cpu().numpy()
        return entities.env_actions(self.last_entity_actions), state
