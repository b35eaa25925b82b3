"""SO2: offline-to-online fine-tuning with better Q-value estimation (Zhang et al., AAAI 2024,
"A Perspective of Q-value Estimation on Offline-to-Online Reinforcement Learning", arXiv:2312.07685).

Start from an offline SAC-N/EDAC checkpoint (``offline.init_from``) and fine-tune online with SAC-N
updates, fixing the two Q-value problems the paper diagnoses (bias and wrong ranking inherited from
offline training) with, as the official code (``opendilab/SO2``, ``code`` branch) implements them:

* **Perturbed value update (PVU)**: noise on the target action, the log-prob of the unperturbed one,
  and every member bootstrapped from its own target member (no min over the ensemble):

      a' ~ pi(.|s'),   a~' = clip(a' + clip(eps, -c, c), -1, 1),   eps ~ N(0, sigma^2)   (sigma 0.3, c 0.6)
      y_k = r + gamma (1 - d) [ Qbar_k(s', a~') - alpha log pi(a'|s') ]
      J_Q = mean_{k, batch} (Q_k(s, a) - y_k)^2

* **Increased frequency of Q updates (IFQU)**: 10 critic updates per env step (``utd_ratio``), the
  actor every 10 critic updates (``actor_update_freq``): J_pi = E[alpha log pi(a~|s) - min_k Q_k(s, a~)].
* **Data**: minibatches of 2560 = 10% from the online-only buffer and 90% from a pool that holds the
  whole offline dataset plus every online transition (``online_ratio``); the first 5000 env steps are
  collected with the pretrained stochastic policy before any update (``learning_starts``,
  ``initial_policy``). The first N members of the checkpoint's ensemble are used.

alpha is fixed at 0.2 and both learning rates are 1e-3 (DI-engine's MuJoCo SAC defaults that the code
inherits; whether the paper tuned them is not known). Every choice is a config flag, so *naive*
fine-tuning is the same class with ``pvu=false utd_ratio=1 actor_update_freq=1 online_ratio=1``
(experiments/so2/*_naive.yaml).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from rlsuite.agents.continuous import polyak_update
from rlsuite.algos.offline import check_dataset_matches_env, dataset_buffer
from rlsuite.algos.sac import SAC, SACConfig
from rlsuite.config import ConfigError, OfflineConfig, param
from rlsuite.core.checkpoint import load_checkpoint
from rlsuite.offline.dataset import load_dataset

PRETRAINED_ALGOS = ("sac_n", "edac", "so2")


@dataclass
class SO2Config(SACConfig):
    name: str = param("so2", help="algorithm name (fixed)", choices=("so2",))
    hidden_sizes: tuple[int, ...] = param(
        (256, 256, 256), help="hidden widths (must match the checkpoint)", min=1
    )
    num_q: int = param(10, help="ensemble members N used (the checkpoint's first N)", min=1)
    actor_lr: float = param(1e-3, help="Adam learning rate of the actor", min=0.0, min_exclusive=True)
    critic_lr: float = param(1e-3, help="Adam learning rate of the critics", min=0.0, min_exclusive=True)
    autotune_alpha: bool = param(False, help="tune alpha (SO2's code keeps it fixed at init_alpha)")
    init_alpha: float = param(0.2, help="entropy temperature alpha", min=0.0, min_exclusive=True)
    batch_size: int = param(2560, help="transitions per gradient step (online + pool parts)", min=1)
    utd_ratio: float = param(
        10.0, help="critic updates per env step (IFQU; 1 = naive)", min=0.0, min_exclusive=True
    )
    actor_update_freq: int = param(10, help="critic updates per actor update (IFQU; 1 = naive)", min=1)
    learning_starts: int = param(
        5000, help="env steps collected with initial_policy before the first update", min=0
    )
    initial_policy: str = param(
        "pretrained", help="policy of the initial collection", choices=("pretrained", "random")
    )
    pvu: bool = param(True, help="perturbed value update: noise on the target action")
    pvu_noise: float = param(0.3, help="std sigma of the PVU noise (actions in [-1, 1])", min=0.0)
    pvu_clip: float = param(0.6, help="clip c of the PVU noise", min=0.0)
    target: str = param(
        "per_member",
        help="critic target: 'per_member' (member k bootstraps from target member k, SO2) or 'min' (SAC-N)",
        choices=("per_member", "min"),
    )
    online_ratio: float = param(
        0.1,
        help="fraction of each minibatch from the online-only buffer; the rest from the pool of offline "
        "data plus online data (1 = online data only, no offline data: naive)",
        min=0.0,
        max=1.0,
        min_exclusive=True,
    )

    def validate(self) -> None:
        if self.online_ratio < 1.0 and self.n_step != 1:
            raise ConfigError("n_step: the offline+online pool holds one-step transitions; use n_step=1")


class SO2(SAC):
    name = "so2"
    config_cls = SO2Config
    reads_offline_section = True
    MISSING_DATASET = (
        "offline.dataset: so2 with online_ratio < 1 mixes in offline data; give offline.dataset=PATH "
        "(or algo.online_ratio=1 for online data only)"
    )

    @classmethod
    def offline_problems(cls, offline: OfflineConfig) -> list[str]:
        problems = []
        if not offline.init_from:
            problems.append(
                "offline.init_from: so2 fine-tunes an offline checkpoint; give "
                f"offline.init_from=RUN_DIR_OR_PT of a {' or '.join(PRETRAINED_ALGOS[:2])} run"
            )
        return problems

    def setup(self) -> None:
        super().setup()
        self.last_actor_loss = torch.zeros((), device=self.device)
        self.last_entropy = torch.zeros((), device=self.device)
        self.pool, self.pool_base = None, 0  # offline + online pool; rows below pool_base are the dataset
        mixing = self.config.online_ratio < 1.0
        if mixing and self.offline_config.dataset:
            self.attach_pool(self.offline_config.dataset)
        elif mixing and self.offline_config.init_from:  # a new fine-tuning run (not a rebuilt checkpoint)
            raise ConfigError(self.MISSING_DATASET)
        if self.offline_config.init_from:
            self.load_pretrained(self.offline_config.init_from)

    def attach_pool(self, path: str) -> None:
        dataset = load_dataset(path)
        check_dataset_matches_env(dataset, self.env, self.env_config.id, path)
        self.pool = dataset_buffer(
            dataset,
            self.env.single_action_space,
            capacity=len(dataset) + self.config.buffer_size,
            device=self.device,
            n_step=1,
            gamma=self.config.gamma,
            seed=self.seed + 1,
        )
        self.pool_base = len(dataset)

    def load_pretrained(self, path: str) -> None:
        """Actor, critics and target critics (first N members) of an offline checkpoint; new optimisers."""
        state = load_checkpoint(path, map_location=self.device)
        if state.get("algo") not in PRETRAINED_ALGOS:
            raise ConfigError(
                f"offline.init_from: {path} is a {state.get('algo')!r} checkpoint; so2 starts from "
                f"{', '.join(PRETRAINED_ALGOS)} checkpoints (a stochastic actor and a Q ensemble)"
            )
        hidden = tuple(state["config"]["hidden_sizes"])
        if hidden != tuple(self.config.hidden_sizes):
            raise ConfigError(
                f"algo.hidden_sizes: {list(self.config.hidden_sizes)} differs from the checkpoint's "
                f"{list(hidden)}"
            )
        networks = state["algorithm"]["networks"]
        try:
            self.actor.load_state_dict(networks["actor"])
            self.critic.load_first_members(networks["critic"]["net.flat"])
            self.critic_target.load_first_members(networks["critic_target"]["net.flat"])
        except (RuntimeError, ValueError) as exc:
            raise ConfigError(f"offline.init_from: {path} does not fit this env/config ({exc})") from exc

    # --- data -------------------------------------------------------------------------------------
    def warmup_action(self, obs: np.ndarray) -> np.ndarray:
        """Initial collection with the pretrained stochastic policy (or uniform actions)."""
        if self.config.initial_policy == "random":
            return super().warmup_action(obs)
        return self.actor.sample(torch.as_tensor(obs, device=self.device))[0].cpu().numpy()

    def store_transition(self, obs, action, reward, next_obs, terminated, truncated) -> None:
        """Online data goes to the online-only buffer and to the pool."""
        super().store_transition(obs, action, reward, next_obs, terminated, truncated)
        if self.pool is not None:
            self.pool.extend(obs, action, np.asarray(reward), next_obs, terminated, truncated)

    def online_batch_size(self) -> int:
        return round(self.config.batch_size * self.config.online_ratio)

    def can_sample(self) -> bool:
        """The online part of a batch must fit in the online buffer (the pool holds the dataset already)."""
        return len(self.buffer) >= max(self.online_batch_size(), 1)

    def sample_batch(self) -> dict[str, torch.Tensor]:
        """``online_ratio`` of the batch from the online buffer, the rest from the offline+online pool."""
        size = self.config.batch_size
        if self.config.online_ratio >= 1.0:
            return self.buffer.sample(size)
        if self.pool is None:
            raise ConfigError(self.MISSING_DATASET)
        online = self.online_batch_size()
        first, second = self.buffer.sample(online), self.pool.sample(size - online)
        return {key: torch.cat([first[key], second[key]]) for key in first}

    # --- updates ----------------------------------------------------------------------------------
    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        cfg = self.config
        alpha = self.log_alpha.detach().exp()
        critic_loss, q_mean = self.critic_update(batch, alpha)
        alpha_loss = torch.zeros((), device=self.device)
        if self.gradient_steps % cfg.actor_update_freq == 0:
            self.last_actor_loss, logp = self.actor_update(batch["obs"], alpha)
            self.last_entropy = -logp.mean()
            alpha_loss = self.temperature_update(logp)
        if self.gradient_steps % cfg.target_update_interval == 0:
            polyak_update(self.critic_target, self.critic, cfg.tau)
        return {
            "critic_loss": critic_loss,
            "actor_loss": self.last_actor_loss,
            "alpha": alpha,
            "alpha_loss": alpha_loss,
            "q_mean": q_mean,
            "entropy": self.last_entropy,
        }

    def td_target(
        self, batch: dict[str, torch.Tensor], alpha: torch.Tensor, noise: torch.Tensor | None = None
    ) -> torch.Tensor:
        """y_k (module docstring): ``[N, B]`` per member, ``[B]`` with ``target='min'``.

        ``noise`` fixes eps (before clipping) instead of drawing it (tests check the target by hand).
        """
        cfg = self.config
        with torch.no_grad():
            next_actions, next_logp = self.actor.sample(batch["next_obs"])
            if cfg.pvu:
                eps = cfg.pvu_noise * torch.randn_like(next_actions) if noise is None else noise
                next_actions = (next_actions + eps.clamp(-cfg.pvu_clip, cfg.pvu_clip)).clamp(-1.0, 1.0)
            next_q = self.critic_target(batch["next_obs"], next_actions)
            if cfg.target == "min":
                next_q = next_q.min(0).values
            return batch["rewards"] + batch["discount"] * (next_q - alpha * next_logp)

    def critic_loss(
        self, batch: dict[str, torch.Tensor], alpha: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """J_Q = mean over members and batch of (Q_k(s, a) - y_k)^2."""
        q = self.critic(batch["obs"], batch["actions"])
        return (q - self.td_target(batch, alpha)).square().mean(), q

    # --- checkpoint ---------------------------------------------------------------------------------
    def networks_state(self) -> dict[str, Any]:
        state = super().networks_state()
        state["last_actor"] = (self.last_actor_loss, self.last_entropy)
        return state

    def load_networks_state(self, state: dict[str, Any]) -> None:
        super().load_networks_state(state)
        self.last_actor_loss, self.last_entropy = (t.to(self.device) for t in state["last_actor"])

    def algorithm_state(self) -> dict[str, Any]:
        state = super().algorithm_state()
        keep = self.pool is not None and self.save_replay_buffer
        state["pool"] = self.pool.state_dict(first_row=self.pool_base) if keep else None  # not the dataset
        return state

    def load_algorithm_state(self, state: dict[str, Any]) -> None:
        super().load_algorithm_state(state)
        if self.pool is not None and state.get("pool") is not None:
            self.pool.load_state_dict(state["pool"])
