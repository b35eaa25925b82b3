"""MADT-style baseline of MaskMA: a decision transformer over padded per-agent observations, per-map heads.

Meng et al., "Offline Pre-trained Multi-Agent Decision Transformer" (MADT), arXiv 2112.02845; the baseline of
MaskMA (arXiv 2310.11846). Trained here exactly as MaskMA is, by behaviour cloning on the same team datasets
(``algo.datasets``), from each agent's own SMAC observation vector instead of unit tokens:

    L(θ) = − (1 / |U|) Σ_b Σ_{i ∈ U_b} log π_θ^{A_b}(a_{b,i} | o_{b,i}^{t-L+1..t}),  U_b = living agents of b

with ``π^{A}`` the head of the map's action count ``A`` (network: ``rlsuite.agents.madt``). Every training
map's action count must have a head (``algo.action_sizes``); a map with another action count cannot be played
(``rlsuite eval RUN --env MAP`` says so), which is the point of the comparison. Defaults are MADT's released
settings (width 32, 2 blocks, 2 heads, context 1, batch 128, lr 5e-4). One iteration is one gradient step.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F

from rlsuite.agents.madt import MADTAgent, MADTNetwork, MADTShape, action_sizes_of
from rlsuite.agents.maskma import masked_logits
from rlsuite.algos.base import Capabilities
from rlsuite.algos.marl_base import MultiAgentAlgorithm
from rlsuite.algos.team_steps import MAP_SAMPLING, MapSampler, load_maps
from rlsuite.config import ConfigError, param
from rlsuite.core.checkpointed import Checkpointed
from rlsuite.core.optim import clip_grad_norm
from rlsuite.core.training_stats import MeanAccumulator


@dataclass
class MADTConfig:
    """MADT-style baseline settings (defaults: MADT's released code where it gives them)."""

    name: str = param("madt", help="algorithm name (fixed)", choices=("madt",))
    datasets: list[str] = param([], help="team dataset files of the training maps (one or more per map)")
    map_sampling: str = param(
        "uniform", help="map of each batch: 'uniform' or 'proportional'", choices=MAP_SAMPLING
    )
    action_sizes: list[int] = param(
        [], help="action counts that get a head (every training map's; the env's own is added)", min=1
    )
    obs_pad: int = param(
        256, help="observations are zero-padded to this width (the largest map's must fit)", min=1
    )
    context: int = param(1, help="observations of history per decision (MADT's code: 1)", min=1)
    width: int = param(32, help="transformer width (MADT: 32)", min=2)
    depth: int = param(2, help="transformer blocks (MADT: 2)", min=1)
    heads: int = param(2, help="attention heads (MADT: 2)", min=1)
    batch_size: int = param(128, help="steps per gradient step (MADT: 128)", min=1)
    lr: float = param(5e-4, help="AdamW learning rate (MADT: 5e-4)", min=0.0)
    weight_decay: float = param(1e-4, help="AdamW weight decay", min=0.0)
    max_grad_norm: float = param(1.0, help="global gradient-norm clip (0 disables)", min=0.0)


class MADT(MultiAgentAlgorithm):
    """Behaviour-cloned MADT-style decision transformer (``algo.name: madt``)."""

    name = "madt"
    description = (
        "MADT-style decision transformer (padded observations, per-map action heads): MaskMA's baseline"
    )
    config_cls = MADTConfig
    capabilities = Capabilities(
        discrete_actions=True, continuous_actions=False, multi_agent=True, on_policy=False, offline=True
    )
    default_log_every = 100

    @classmethod
    def config_problems(cls, config: MADTConfig) -> list[str]:
        problems = [] if config.datasets else ["algo.datasets: MADT trains from team datasets; give PATHs"]
        if config.width % config.heads:
            problems.append(f"algo.heads ({config.heads}) must divide algo.width ({config.width})")
        return problems

    def setup(self) -> None:
        cfg, spec = self.config, self.team_spec
        if spec.obs_size > cfg.obs_pad:
            raise ValueError(
                f"{self.env_config.id} observes {spec.obs_size} values per agent > algo.obs_pad={cfg.obs_pad}"
            )
        shape = MADTShape(
            cfg.obs_pad,
            action_sizes_of(cfg.action_sizes, spec.n_actions),
            cfg.context,
            cfg.width,
            cfg.depth,
            cfg.heads,
        )
        self._build(shape)
        self._sampler: MapSampler | None = None
        self._sampler_state: dict[str, Any] | None = None
        self.gradient_steps = 0
        self.stats = MeanAccumulator()

    def _build(self, shape: MADTShape) -> None:
        self.net = MADTNetwork(shape).to(self.device)
        self.optimizer = torch.optim.AdamW(
            self.net.parameters(), lr=self.config.lr, weight_decay=self.config.weight_decay
        )
        self.agent = MADTAgent(self.net, self.device)
        self.agent.bind_env(self.team_spec)

    @property
    def sampler(self) -> MapSampler:
        if self._sampler is None:
            maps = load_maps(self.config.datasets, None)
            for data in maps:
                if str(data.meta.n_actions) not in self.net.action_heads:
                    raise ConfigError(
                        f"algo.action_sizes must list every training map's action count: {data.name} has "
                        f"{data.meta.n_actions} (heads: {list(self.net.shape.action_sizes)})"
                    )
                if data.meta.obs_size > self.config.obs_pad:
                    raise ConfigError(
                        f"algo.obs_pad={self.config.obs_pad} < {data.name}'s {data.meta.obs_size}"
                    )
            self._sampler = MapSampler(maps, self.config.map_sampling, self.seed)
            if self._sampler_state is not None:
                self._sampler.load_state_dict(self._sampler_state)
        return self._sampler

    def collect(self) -> dict[str, float]:
        self.global_step += 1
        return {}

    def update(self) -> dict[str, float]:
        cfg = self.config
        data, rows = self.sampler.draw(cfg.batch_size)
        steps = data.obs_steps(rows, cfg.context, cfg.obs_pad, self.device)
        logits = masked_logits(self.net(steps.obs, steps.valid, data.meta.n_actions), steps.action_mask)
        nll = F.cross_entropy(logits.flatten(0, 1), steps.actions.flatten(), reduction="none")
        weight = steps.alive.flatten().float()
        loss = (nll * weight).sum() / weight.sum().clamp_min(1.0)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.max_grad_norm > 0:
            clip_grad_norm(list(self.net.parameters()), cfg.max_grad_norm)
        self.optimizer.step()
        self.gradient_steps += 1
        self.stats.add({"loss/bc": float(loss.detach())})
        return {"loss/bc": float(loss.detach()), "gradient_steps": float(self.gradient_steps)}

    def logged_stats(self) -> dict[str, float]:
        return self.stats.pop_means()

    # net, optimiser and counter are declared (``checkpointed``); the batch sampler's state and the action
    # sizes the per-map heads were built for are added here.
    checkpointed = Checkpointed(modules=("net", "optimizer"), values=("gradient_steps",))

    def algorithm_state(self) -> dict[str, Any]:
        sampler = self._sampler.state_dict() if self._sampler is not None else self._sampler_state
        return {
            **super().algorithm_state(),
            "sampler": sampler,
            "action_sizes": list(self.net.shape.action_sizes),
        }

    def load_algorithm_state(self, state: dict[str, Any]) -> None:
        sizes = tuple(int(a) for a in state["action_sizes"])
        if self.team_spec.n_actions not in sizes:
            raise ValueError(
                f"MADT has action heads for {list(sizes)} actions (per-map heads) and this env has "
                f"{self.team_spec.n_actions}: it cannot act here"
            )
        if sizes != self.net.shape.action_sizes:
            self._build(replace(self.net.shape, action_sizes=sizes))
        super().load_algorithm_state(state)
        self._sampler_state = state["sampler"]
        if self._sampler is not None and state["sampler"] is not None:
            self._sampler.load_state_dict(state["sampler"])
