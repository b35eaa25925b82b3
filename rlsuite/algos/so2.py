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
(experiments/so2/*_naive.yaml). The data come from a :class:`~rlsuite.algos.replay_sources.MixedReplay`;
docs/offline.md ("SO2") lists the remaining choices.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlsuite.algos.offline import check_dataset_matches_env, dataset_buffer
from rlsuite.algos.replay_sources import MixedReplay
from rlsuite.algos.sac import SAC, SACConfig
from rlsuite.config import ConfigError, OfflineConfig, param
from rlsuite.core.checkpoint import latest_checkpoint, load_checkpoint
from rlsuite.core.optim import polyak_update
from rlsuite.core.replay import ReplayBuffer, ReplaySample
from rlsuite.offline.dataset import load_dataset

PRETRAINED_ALGOS = ("sac_n", "edac", "so2")


@dataclass
class SO2Config(SACConfig):
    """SO2's settings: SAC's plus PVU, IFQU and the data mix (module docstring)."""

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
        """The pool holds one-step transitions: n-step returns need ``online_ratio = 1``."""
        if self.online_ratio < 1.0 and self.n_step != 1:
            raise ConfigError("n_step: the offline+online pool holds one-step transitions; use n_step=1")


def pretrained_checkpoint(path: str | Path, seed: int) -> Path:
    """``offline.init_from`` as a checkpoint: a ``.pt``, a run folder, or a folder of run folders.

    In a folder of runs (``runs/edac-hopper-medium/``, one run per seed) the newest run with this
    run's seed is taken, else the newest run of any seed (with a warning naming it).
    """
    path = Path(path)
    if path.is_file() or latest_checkpoint(path) is not None or not path.is_dir():
        return path
    runs = [run for run in path.iterdir() if run.is_dir() and latest_checkpoint(run) is not None]
    if not runs:
        raise ConfigError(f"offline.init_from: {path} holds no run folder with a checkpoint")
    same_seed = [run for run in runs if f"-s{seed}-" in run.name]
    newest = max(same_seed or runs, key=lambda run: latest_checkpoint(run).stat().st_mtime)
    if not same_seed:
        warnings.warn(
            f"offline.init_from: no run with seed {seed} in {path}; starting from {newest.name}",
            stacklevel=3,
        )
    return newest


class SO2(SAC):
    """SO2 fine-tuning of an offline SAC-N/EDAC checkpoint (``algo.name: so2``)."""

    name = "so2"
    description = "Offline-to-online fine-tuning of a SAC-N/EDAC checkpoint (perturbed value update)"
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
        if self.offline_config.init_from:
            self.load_pretrained(self.offline_config.init_from)

    def make_replay(self) -> MixedReplay:
        """The online-only buffer, plus (``online_ratio < 1``) the pool of ``offline.dataset`` and all
        online data."""
        online = super().make_replay().buffer
        mixing = self.config.online_ratio < 1.0
        pool, pool_base = None, 0  # rows below pool_base are the dataset
        if mixing and self.offline_config.dataset:
            pool, pool_base = self._dataset_pool(self.offline_config.dataset)
        elif mixing and self.offline_config.init_from:  # a new fine-tuning run (not a rebuilt checkpoint)
            raise ConfigError(self.MISSING_DATASET)
        return MixedReplay(online, pool, pool_base, self.config.online_ratio, self.MISSING_DATASET)

    def _dataset_pool(self, path: str) -> tuple[ReplayBuffer, int]:
        """A single-stream buffer holding the dataset with room for ``buffer_size`` online transitions."""
        dataset = load_dataset(path)
        check_dataset_matches_env(dataset, self.env, self.env_config.id, path)
        pool = dataset_buffer(
            dataset,
            self.env.single_action_space,
            capacity=len(dataset) + self.config.buffer_size,
            device=self.device,
            n_step=1,
            gamma=self.config.gamma,
            seed=self.seed + 1,
        )
        return pool, len(dataset)

    @property
    def pool(self) -> ReplayBuffer | None:
        """The offline dataset followed by every online transition (None with ``online_ratio = 1``)."""
        return self.replay.pool

    def load_pretrained(self, path: str) -> None:
        """Actor, critics and target critics (first N members) of an offline checkpoint; new optimisers."""
        path = str(pretrained_checkpoint(path, self.seed))
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

    # --- updates ----------------------------------------------------------------------------------
    def train_step(self, batch: ReplaySample) -> dict[str, torch.Tensor]:
        cfg = self.config
        alpha = self.log_alpha.detach().exp()
        critic_loss, q_mean = self.critic_update(batch, alpha)
        alpha_loss = torch.zeros((), device=self.device)
        if self.gradient_steps % cfg.actor_update_freq == 0:
            self.last_actor_loss, logp = self.actor_update(batch.obs, alpha)
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
        self, batch: ReplaySample, alpha: torch.Tensor, noise: torch.Tensor | None = None
    ) -> torch.Tensor:
        """y_k (module docstring): ``[N, B]`` per member, ``[B]`` with ``target='min'``.

        ``noise`` fixes eps (before clipping) instead of drawing it (tests check the target by hand).
        """
        cfg = self.config
        with torch.no_grad():
            next_actions, next_logp = self.actor.sample(batch.next_obs)
            if cfg.pvu:
                eps = cfg.pvu_noise * torch.randn_like(next_actions) if noise is None else noise
                next_actions = (next_actions + eps.clamp(-cfg.pvu_clip, cfg.pvu_clip)).clamp(-1.0, 1.0)
            next_q = self.critic_target(batch.next_obs, next_actions)
            if cfg.target == "min":
                next_q = next_q.min(0).values
            return batch.rewards + batch.discount * (next_q - alpha * next_logp)

    def critic_update(self, batch: ReplaySample, alpha: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """One Adam step on ``critic_loss`` (by the fused update unless ``update_backend=autograd``)."""
        if self.fused is not None:
            return self.fused.regress_critic(batch, self.td_target(batch, alpha), reduction="mean")
        return super().critic_update(batch, alpha)

    def critic_loss(self, batch: ReplaySample, alpha: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """J_Q = mean over members and batch of (Q_k(s, a) - y_k)^2."""
        q = self.critic(batch.obs, batch.actions)
        return (q - self.td_target(batch, alpha)).square().mean(), q

    # --- checkpoint ---------------------------------------------------------------------------------
    def networks_state(self) -> dict[str, Any]:
        state = super().networks_state()
        state["last_actor"] = (self.last_actor_loss, self.last_entropy)
        return state

    def load_networks_state(self, state: dict[str, Any]) -> None:
        super().load_networks_state(state)
        self.last_actor_loss, self.last_entropy = (t.to(self.device) for t in state["last_actor"])
