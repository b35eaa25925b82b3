"""MaskMA: one masked transformer over units, cloned from experts of several maps, played zero-shot anywhere.

Liu, Zhang, Li et al., "MaskMA: Towards Zero-Shot Multi-Agent Decision Making with Mask-Based Collaborative
Learning", arXiv 2310.11846 (TMLR 2024). The baseline it beats is MADT (Meng et al., arXiv 2112.02845;
``rlsuite.algos.madt``). No code of MaskMA is public: the network is in ``rlsuite.agents.maskma``, the masks
in ``rlsuite.agents.unit_views``, and every choice the paper leaves open is a config key (docs/maskma.md).

Training is behaviour cloning on expert episodes of the training maps (``algo.datasets``: team datasets of
``rlsuite data collect``, one or more files per map). Every gradient step draws one map, ``batch_size`` of its
steps and, per step, a training mask (``mask_mode``); the policies of all *unmasked, living* allies are
learned jointly in one pass:

    L(θ) = − (1 / |U|) Σ_b Σ_{i ∈ U_b} log π_θ(a_{b,i} | units of view_b visible to i)
    U_b  = { ally i : alive_b(i) ∧ i unmasked in sample b }            (masked and dead units add nothing)

with π_θ the softmax over the entity-layout logits (intrinsic head on the unit's token, pairwise head for
interactive actions) restricted by the env's action mask. Evaluation plays the real env with ``execution``
(``"decentralized"``: each agent attends only to the units in its sight; ``"centralized"``: all units).

Like the other offline learners, one iteration is one gradient step: ``total_steps``, ``eval.every_steps``
and ``checkpoint.every_steps`` count gradient steps; the env (``env.id``, any map with entity features) is
only played for evaluation. Checkpoints hold the network, the optimiser, the batch sampler's and the mask
generator's states (not the datasets, reloaded from their files), so a resumed run continues exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from rlsuite.agents.maskma import (
    ACTION_HEADS,
    DEFAULT_TOKEN_FEATURES,
    MaskMAAgent,
    MaskMANetwork,
    NetworkShape,
    masked_logits,
)
from rlsuite.agents.unit_views import (
    EXECUTION_MODES,
    MASK_MODES,
    random_attention,
    random_unit_view,
    sight_view,
    view_attention,
)
from rlsuite.algos.base import Capabilities
from rlsuite.algos.marl_base import MultiAgentAlgorithm
from rlsuite.algos.team_steps import MAP_SAMPLING, MapData, MapSampler, UnitSteps, load_maps
from rlsuite.config import param
from rlsuite.core.checkpointed import Checkpointed
from rlsuite.core.optim import clip_grad_norm
from rlsuite.core.training_stats import MeanAccumulator

__all__ = ["MaskMA", "MaskMAConfig", "bc_loss", "training_view"]


@dataclass
class MaskMAConfig:
    """MaskMA's settings. The paper gives no model size, mask distribution or optimiser: defaults are ours
    (CPU scale; experiments/maskma/paper_scale.yaml has a larger model for a GPU)."""

    name: str = param("maskma", help="algorithm name (fixed)", choices=("maskma",))
    datasets: list[str] = param(
        [], help="team dataset files of the training maps (rlsuite data collect; one or more per map)"
    )
    map_sampling: str = param(
        "uniform",
        help="map of each batch: 'uniform' over maps or 'proportional' to steps",
        choices=MAP_SAMPLING,
    )
    # model
    width: int = param(64, help="token width (our choice; the paper does not give it)", min=4)
    depth: int = param(2, help="transformer blocks", min=1)
    heads: int = param(4, help="attention heads (must divide width)", min=1)
    token_features: list[str] = param(
        list(DEFAULT_TOKEN_FEATURES),
        help="map-independent entity columns a token reads, by name (never the per-map type one-hot)",
    )
    action_head: str = param(
        "pairwise",
        help="'pairwise': interactive action on unit j scored from tokens (i, j) (MaskMA's action "
        "representation); 'fixed': a fixed-size head indexed by slot (ablation)",
        choices=ACTION_HEADS,
    )
    fixed_actions: int = param(
        64, help="outputs of the fixed-size head (action_head='fixed'): intrinsic actions + unit slots", min=2
    )
    # masking
    mask_mode: str = param(
        "units",
        help="training mask: 'units' (hide random units from all others), 'attention' (drop random "
        "entries of the attention matrix), 'none' (ablation: no masking)",
        choices=MASK_MODES,
    )
    mask_ratio_min: float = param(
        0.0, help="lowest per-sample mask ratio (drawn uniformly)", min=0.0, max=1.0
    )
    mask_ratio_max: float = param(0.8, help="highest per-sample mask ratio", min=0.0, max=1.0)
    sight_view_prob: float = param(
        0.5,
        help="'units' mode: chance that a sample's view is one random ally's sight instead of random units",
        min=0.0,
        max=1.0,
    )
    execution: str = param(
        "decentralized",
        help="how evaluation acts: 'decentralized' (each agent attends only to units in its sight) or "
        "'centralized' (every unit sees every unit)",
        choices=EXECUTION_MODES,
    )
    # optimisation
    batch_size: int = param(64, help="steps per gradient step (all allies of each step are learned)", min=1)
    lr: float = param(3e-4, help="AdamW learning rate", min=0.0)
    weight_decay: float = param(1e-4, help="AdamW weight decay", min=0.0)
    max_grad_norm: float = param(1.0, help="global gradient-norm clip (0 disables)", min=0.0)


def training_view(
    steps: UnitSteps, cfg: MaskMAConfig, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(allowed[B, E, E], learned[B, E])`` of a batch: the attention mask and the unmasked living units."""
    alive = steps.units.alive
    low, high = cfg.mask_ratio_min, cfg.mask_ratio_max
    if cfg.mask_mode == "none":
        return view_attention(alive), alive
    if cfg.mask_mode == "attention":
        return random_attention(alive, low, high, generator), alive
    members = random_unit_view(alive, low, high, generator)
    if cfg.sight_view_prob > 0:
        B, n = alive.shape[0], steps.n_agents
        ally_alive = alive[:, :n].float() + 1e-6  # a random living ally (any ally when all are dead)
        agent = torch.multinomial(ally_alive, 1, generator=generator)[:, 0]
        use_sight = torch.rand(B, generator=generator) < cfg.sight_view_prob
        sight = sight_view(steps.visible, alive, agent)
        members = torch.where(use_sight[:, None], sight, members)
    return view_attention(members), members


def bc_loss(logits: torch.Tensor, steps: UnitSteps, learned: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """Cross-entropy of the expert actions over the learned allies (module docstring), and statistics."""
    n = steps.n_agents
    logits = masked_logits(logits, steps.action_mask)
    taken_available = steps.action_mask.gather(2, steps.actions[..., None])[..., 0]
    weight = (learned[:, :n] & taken_available).float()
    nll = F.cross_entropy(logits.flatten(0, 1), steps.actions.flatten(), reduction="none").view_as(weight)
    count = weight.sum().clamp_min(1.0)
    loss = (nll * weight).sum() / count
    correct = ((logits.argmax(-1) == steps.actions).float() * weight).sum() / count
    return loss, {
        "loss/bc": float(loss.detach()),
        "train/accuracy": float(correct),
        "train/learned_units": float(count),
    }


class MaskMA(MultiAgentAlgorithm):
    """Behaviour cloning of a masked unit transformer over several maps (``algo.name: maskma``)."""

    name = "maskma"
    description = "Masked unit transformer cloned from experts of several maps; zero-shot on unseen maps"
    config_cls = MaskMAConfig
    capabilities = Capabilities(
        discrete_actions=True, continuous_actions=False, multi_agent=True, on_policy=False, offline=True
    )
    default_log_every = 100

    def env_kwargs(self) -> dict[str, Any]:
        return {"entity_features": True}

    @classmethod
    def config_problems(cls, config: MaskMAConfig) -> list[str]:
        problems = []
        if not config.datasets:
            problems.append("algo.datasets: MaskMA trains from team datasets; give algo.datasets=[PATH, ...]")
        if config.width % config.heads:
            problems.append(f"algo.heads ({config.heads}) must divide algo.width ({config.width})")
        if config.mask_ratio_min > config.mask_ratio_max:
            problems.append("algo.mask_ratio_min must not exceed algo.mask_ratio_max")
        return problems

    def setup(self) -> None:
        cfg, entities = self.config, self.team_spec.entities
        if entities is None:
            raise ValueError(
                f"MaskMA needs entity observations (team_spec.entities); {self.env_config.id!r} has none"
            )
        if cfg.width % cfg.heads:
            raise ValueError(f"algo.heads ({cfg.heads}) must divide algo.width ({cfg.width})")
        shape = NetworkShape(
            tuple(cfg.token_features),
            entities.unit_types,
            entities.n_intrinsic_actions,
            cfg.width,
            cfg.depth,
            cfg.heads,
            cfg.action_head,
            cfg.fixed_actions,
        )
        self.net = MaskMANetwork(shape).to(self.device)
        self.optimizer = torch.optim.AdamW(self.net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.agent = MaskMAAgent(self.net, cfg.execution, self.seed, self.device)
        self.agent.bind_env(self.team_spec)
        self.mask_generator = torch.Generator()
        self.mask_generator.manual_seed(self.seed)
        self._sampler: MapSampler | None = None  # the datasets load on the first gradient step
        self._sampler_state: dict[str, Any] | None = None
        self.gradient_steps = 0
        self.stats = MeanAccumulator()

    # --- data -------------------------------------------------------------------------------------
    @property
    def sampler(self) -> MapSampler:
        if self._sampler is None:
            maps = load_maps(self.config.datasets, self.net.shape.unit_types)
            self._sampler = MapSampler(maps, self.config.map_sampling, self.seed)
            if self._sampler_state is not None:
                self._sampler.load_state_dict(self._sampler_state)
        return self._sampler

    def columns_of(self, data: MapData):
        cache = self.__dict__.setdefault("_columns", {})
        if data.name not in cache:
            cache[data.name] = data.columns(self.net.shape.token_features)
        return cache[data.name]

    # --- the loop's hooks -------------------------------------------------------------------------
    def collect(self) -> dict[str, float]:
        self.global_step += 1  # offline: one iteration is one gradient step
        return {}

    def update(self) -> dict[str, float]:
        cfg = self.config
        data, rows = self.sampler.draw(cfg.batch_size)
        steps = data.unit_steps(rows, self.columns_of(data), self.device)
        allowed, learned = training_view(steps, cfg, self.mask_generator)
        logits = self.net.joint_logits(
            steps.units, allowed.to(self.device), learned.to(self.device), steps.n_agents
        )
        loss, stats = bc_loss(logits, steps, learned.to(self.device))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.max_grad_norm > 0:
            stats["train/grad_norm"] = float(clip_grad_norm(list(self.net.parameters()), cfg.max_grad_norm))
        self.optimizer.step()
        self.gradient_steps += 1
        self.stats.add(stats)
        return {"loss/bc": stats["loss/bc"], "gradient_steps": float(self.gradient_steps)}

    def logged_stats(self) -> dict[str, float]:
        return self.stats.pop_means()

    # --- checkpoints --------------------------------------------------------------------------------
    # net, optimiser, counter and random streams are declared (``checkpointed``); the batch sampler's
    # state (built lazily with the datasets) and the unit vocabulary the network embeds are added here.
    checkpointed = Checkpointed(
        modules=("net", "optimizer"),
        values=("gradient_steps",),
        generators=("mask_generator", "agent.generator"),
    )

    def algorithm_state(self) -> dict[str, Any]:
        sampler = self._sampler.state_dict() if self._sampler is not None else self._sampler_state
        return {
            **super().algorithm_state(),
            "sampler": sampler,
            "unit_types": list(self.net.shape.unit_types),
        }

    def load_algorithm_state(self, state: dict[str, Any]) -> None:
        if tuple(state["unit_types"]) != self.net.shape.unit_types:
            raise ValueError(
                f"the checkpoint's unit vocabulary {state['unit_types']} differs from this env's "
                f"{list(self.net.shape.unit_types)}"
            )
        super().load_algorithm_state(state)
        self._sampler_state = state["sampler"]
        if self._sampler is not None and state["sampler"] is not None:
            self._sampler.load_state_dict(state["sampler"])
