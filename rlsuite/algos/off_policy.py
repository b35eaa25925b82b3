"""What SAC, TD3 and MPDP share: replay collection, the update-to-data schedule and checkpointing.

One iteration collects ``train_freq`` vector steps (``train_freq * num_envs`` env steps) and then takes
``utd_ratio`` gradient steps per env step collected. Until ``learning_starts`` env steps have been taken
actions are uniform in the action box and no gradient step is taken (SB3 and CleanRL do the same).
Subclasses implement ``build`` (networks and optimisers, ``self.agent``), ``exploration_action`` and
``train_step`` (one gradient step on a replay batch).
"""

from __future__ import annotations

import warnings
from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from rlsuite.agents.continuous import ContinuousPolicyAgent, check_box_actions
from rlsuite.algos.base import Algorithm, Capabilities
from rlsuite.config import param
from rlsuite.core.episodes import final_observations
from rlsuite.core.replay import ReplayBuffer
from rlsuite.core.threads import single_threaded_blas


@dataclass
class OffPolicyConfig:
    """Replay and schedule settings shared by the off-policy learners."""

    buffer_size: int = param(1_000_000, help="replay capacity in transitions", min=1)
    batch_size: int = param(256, help="transitions per gradient step", min=1)
    learning_starts: int = param(
        5000, help="env steps of uniform random actions before the first gradient step", min=0
    )
    train_freq: int = param(1, help="vector-env steps collected per iteration", min=1)
    utd_ratio: float = param(
        1.0, help="gradient steps per env step collected (update-to-data ratio)", min=0.0, min_exclusive=True
    )
    gamma: float = param(0.99, help="discount factor", min=0.0, max=1.0)
    tau: float = param(0.005, help="Polyak rate of the target networks", min=0.0, max=1.0)
    n_step: int = param(1, help="n-step returns for the critic target (1 = one-step TD)", min=1)
    hidden_sizes: tuple[int, ...] = param((256, 256), help="hidden widths of actor and critics", min=1)
    activation: str = param("relu", help="hidden activation", choices=("relu", "tanh", "elu", "silu"))


class OffPolicyAlgorithm(Algorithm):
    capabilities = Capabilities(discrete_actions=False, continuous_actions=True, on_policy=False)
    default_log_every: ClassVar[int] = 1000
    agent: ContinuousPolicyAgent

    # --- hooks for subclasses ----------------------------------------------------------------------
    @abstractmethod
    def build(self) -> None:
        """Networks, optimisers and ``self.agent`` (a ``ContinuousPolicyAgent``)."""

    @abstractmethod
    def exploration_action(self, obs: torch.Tensor) -> torch.Tensor:
        """Behaviour-policy actions in ``[-1, 1]^d`` for a batch of observations."""

    @abstractmethod
    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """One gradient step; return detached scalar tensors to average into the logs."""

    @abstractmethod
    def networks_state(self) -> dict[str, Any]: ...

    @abstractmethod
    def load_networks_state(self, state: dict[str, Any]) -> None: ...

    # --- Algorithm hooks -----------------------------------------------------------------------------
    def setup(self) -> None:
        cfg, env = self.config, self.env
        self.setup_counters()
        self.buffer = ReplayBuffer(
            cfg.buffer_size,
            env.num_envs,
            (self.obs_dim,),
            (self.act_dim,),
            device=self.device,
            n_step=cfg.n_step,
            gamma=cfg.gamma,
            seed=self.seed,
        )
        self.build()

    def setup_counters(self) -> None:
        """Action/observation sizes, the random-action generator and the gradient-step bookkeeping."""
        check_box_actions(self.env.single_action_space)
        self.obs_dim = int(np.prod(self.env.single_observation_space.shape))
        self.act_dim = int(np.prod(self.env.single_action_space.shape))
        self.random_actions = np.random.default_rng(self.seed)
        self.gradient_steps = 0
        self.update_debt = 0.0  # fractional gradient steps owed by utd_ratio
        self._stat_sums: dict[str, torch.Tensor] = {}
        self._stat_count = 0

    def collect(self) -> dict[str, float]:
        with single_threaded_blas(), torch.inference_mode():
            for _ in range(self.config.train_freq):
                self._collect_step()
        return {}

    def _collect_step(self) -> None:
        n = self.env.num_envs
        obs = np.asarray(self.obs, np.float32).reshape(n, -1)
        if self.global_step < self.config.learning_starts:
            action = self.warmup_action(obs)
        else:
            action = self.exploration_action(torch.as_tensor(obs, device=self.device)).cpu().numpy()
        if not np.isfinite(action).all():
            raise FloatingPointError(
                f"{self.name}: the policy produced non-finite actions at step {self.global_step} "
                "(diverged networks; try a lower learning rate or check the observations for NaN)"
            )
        next_obs, reward, terminated, truncated, infos = self.env.step(self.agent.to_env_action(action))
        done = np.logical_or(terminated, truncated)
        successor = np.asarray(next_obs, np.float32).reshape(n, -1)
        ended = np.flatnonzero(done)
        if ended.size:
            successor = successor.copy()
            successor[ended] = final_observations(infos, ended).reshape(ended.size, -1)
        self.store_transition(obs, action, reward, successor, terminated, truncated)
        self.episodes.step(reward, done)
        self.obs = next_obs
        self.global_step += n

    def warmup_action(self, obs: np.ndarray) -> np.ndarray:
        """Actions for the first ``learning_starts`` env steps: uniform in ``[-1, 1]^d``."""
        return self.random_actions.uniform(-1.0, 1.0, (len(obs), self.act_dim)).astype(np.float32)

    def store_transition(
        self,
        obs: np.ndarray,
        action: np.ndarray,
        reward: np.ndarray,
        next_obs: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
    ) -> None:
        """Where one collected vector step goes (the replay buffer; SO2 also feeds its data pool)."""
        self.buffer.add(obs, action, reward, next_obs, terminated, truncated)

    def update(self) -> dict[str, float]:
        if self.global_step <= self.config.learning_starts or not self.can_sample():
            return {}
        self.update_debt += self.config.utd_ratio * self.config.train_freq * self.env.num_envs
        steps = int(self.update_debt)
        self.update_debt -= steps
        with single_threaded_blas():
            for _ in range(steps):
                stats = self.train_step(self.sample_batch())
                self.gradient_steps += 1
                self._accumulate(stats)
        return {}

    def can_sample(self) -> bool:
        """Whether ``sample_batch`` has enough data (a full batch in the replay buffer)."""
        return len(self.buffer) >= self.config.batch_size

    def sample_batch(self) -> dict[str, torch.Tensor]:
        """One minibatch for ``train_step`` (uniform from the replay buffer; SO2 mixes in offline data)."""
        return self.buffer.sample(self.config.batch_size)

    def _accumulate(self, stats: dict[str, torch.Tensor]) -> None:
        for key, value in stats.items():
            self._stat_sums[key] = self._stat_sums[key] + value if key in self._stat_sums else value
        self._stat_count += 1

    def logged_stats(self) -> dict[str, float]:
        """Mean of each training statistic over the gradient steps since the last metrics row."""
        if not self._stat_count:
            return {}
        out = {f"train/{k}": float(v) / self._stat_count for k, v in self._stat_sums.items()}
        out["train/gradient_steps"] = self.gradient_steps
        out["train/buffer_size"] = len(self.buffer)
        self._stat_sums, self._stat_count = {}, 0
        return out

    # --- checkpoint ---------------------------------------------------------------------------------
    def algorithm_state(self) -> dict[str, Any]:
        return {
            "networks": self.networks_state(),
            "replay": self.buffer.state_dict() if self.save_replay_buffer else None,
            "random_actions": self.random_actions.bit_generator.state,
            "gradient_steps": self.gradient_steps,
            "update_debt": self.update_debt,
            "stats": ({k: v.clone() for k, v in self._stat_sums.items()}, self._stat_count),
        }

    def load_algorithm_state(self, state: dict[str, Any]) -> None:
        self.load_networks_state(state["networks"])
        if state["replay"] is not None:
            self.buffer.load_state_dict(state["replay"])
        else:
            warnings.warn(
                "the checkpoint holds no replay buffer (checkpoint.save_replay_buffer=false): training "
                "continues from an empty buffer, so it will not match an uninterrupted run",
                stacklevel=2,
            )
        self.random_actions.bit_generator.state = state["random_actions"]
        self.gradient_steps = int(state["gradient_steps"])
        self.update_debt = float(state["update_debt"])
        sums, count = state["stats"]
        self._stat_sums, self._stat_count = {k: v.to(self.device) for k, v in sums.items()}, int(count)
