"""What SAC, TD3, MPDP and the offline learners share: a data source, the update schedule, checkpoints.

The learner is given its data by composition: ``make_replay`` returns a
:class:`~rlsuite.algos.replay_sources.ReplaySource` (online replay by default; a dataset for TD3-BC,
SAC-N and EDAC; SO2's mixed pool), and the source decides the schedule:

* **online** (the source takes env steps): one iteration collects ``train_freq`` vector steps
  (``train_freq * num_envs`` env steps) and then takes ``utd_ratio`` gradient steps per env step
  collected. Until ``learning_starts`` env steps have been taken actions are uniform in the action box and
  no gradient step is taken (SB3 and CleanRL do the same). ``global_step`` counts env steps.
* **offline** (a dataset): no env steps; one iteration is one gradient step, and ``global_step`` counts
  gradient steps (so ``total_steps`` and every ``every_steps`` do too).

``gradient_steps`` counts gradient steps in both cases. Subclasses implement ``build`` (networks and
optimisers, ``self.agent``), ``exploration_action`` and ``train_step`` (one gradient step on a
:class:`~rlsuite.core.replay.ReplaySample`), and declare their networks, optimisers and learned scalars in
``checkpointed`` (the checkpoint's ``networks`` entry; ``networks_state``/``load_networks_state`` extend it
with what a declaration cannot express).
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from rlsuite.agents.continuous import ContinuousPolicyAgent, check_box_actions
from rlsuite.algos.base import Algorithm, Capabilities
from rlsuite.algos.replay_sources import OnlineReplay, ReplaySource
from rlsuite.config import param
from rlsuite.core.episodes import final_observations
from rlsuite.core.replay import ReplayBuffer, ReplaySample
from rlsuite.core.threads import single_threaded_blas
from rlsuite.core.training_stats import MeanAccumulator


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
    replay: ReplaySource

    # --- hooks for subclasses ----------------------------------------------------------------------
    @abstractmethod
    def build(self) -> None:
        """Networks, optimisers and ``self.agent`` (a ``ContinuousPolicyAgent``)."""

    @abstractmethod
    def exploration_action(self, obs: torch.Tensor) -> torch.Tensor:
        """Behaviour-policy actions in ``[-1, 1]^d`` for a batch of observations."""

    @abstractmethod
    def train_step(self, batch: ReplaySample) -> dict[str, torch.Tensor]:
        """One gradient step; return detached scalar tensors to average into the logs."""

    def networks_state(self) -> dict[str, Any]:
        """The checkpoint's ``networks`` entry: the declared ``checkpointed`` members (networks,
        optimisers, learned scalars); subclasses with state a declaration cannot express extend it."""
        return self.checkpointed.capture(self)

    def load_networks_state(self, state: dict[str, Any]) -> None:
        """Restore what ``networks_state`` returned."""
        self.checkpointed.restore(self, state, self.device)

    def make_replay(self) -> ReplaySource:
        """The data source (called once, after ``build``): a replay buffer of ``buffer_size`` transitions
        filled from the env, with ``n_step`` returns."""
        cfg = self.config
        buffer = ReplayBuffer(
            cfg.buffer_size,
            self.env.num_envs,
            (self.obs_dim,),
            (self.act_dim,),
            device=self.device,
            n_step=cfg.n_step,
            gamma=cfg.gamma,
            seed=self.seed,
        )
        return OnlineReplay(buffer)

    # --- Algorithm hooks -----------------------------------------------------------------------------
    def setup(self) -> None:
        check_box_actions(self.env.single_action_space)
        self.obs_dim = int(np.prod(self.env.single_observation_space.shape))
        self.act_dim = int(np.prod(self.env.single_action_space.shape))
        self.random_actions = np.random.default_rng(self.seed)
        self.gradient_steps = 0
        self.update_debt = 0.0  # fractional gradient steps owed by utd_ratio
        self.train_stats = MeanAccumulator()  # means over the gradient steps since the last metrics row
        self.build()
        self.replay = self.make_replay()

    @property
    def buffer(self) -> ReplayBuffer | None:
        """The replay source's buffer: the online replay, or the dataset of an offline learner."""
        return self.replay.buffer

    def collect(self) -> dict[str, float]:
        """Online: ``train_freq`` vector steps into the replay. Offline: nothing (no env steps)."""
        if self.replay.takes_env_steps:
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
        self.replay.add(obs, action, reward, successor, terminated, truncated)
        self.episodes.step(reward, done)
        self.obs = next_obs
        self.global_step += n

    def warmup_action(self, obs: np.ndarray) -> np.ndarray:
        """Actions for the first ``learning_starts`` env steps: uniform in ``[-1, 1]^d``."""
        return self.random_actions.uniform(-1.0, 1.0, (len(obs), self.act_dim)).astype(np.float32)

    def update(self) -> dict[str, float]:
        """Take the gradient steps this iteration owes (see the module docstring)."""
        steps = self._gradient_steps_due()
        with single_threaded_blas():
            for _ in range(steps):
                stats = self.train_step(self.sample_batch())
                self.gradient_steps += 1
                self.train_stats.add(stats)
        if not self.replay.takes_env_steps:
            self.global_step += steps  # offline, the loop's counter is the gradient-step count
        return {}

    def _gradient_steps_due(self) -> int:
        """Online: ``utd_ratio`` per env step of this iteration (fractions carried over), none before
        ``learning_starts`` or while the source cannot fill a batch. Offline: one."""
        cfg = self.config
        if not self.replay.takes_env_steps:
            return 1
        if self.global_step <= cfg.learning_starts or not self.replay.ready(cfg.batch_size):
            return 0
        self.update_debt += cfg.utd_ratio * cfg.train_freq * self.env.num_envs
        steps = int(self.update_debt)
        self.update_debt -= steps
        return steps

    def sample_batch(self) -> ReplaySample:
        """One minibatch of ``batch_size`` transitions from the replay source."""
        return self.replay.sample(self.config.batch_size)

    def logged_stats(self) -> dict[str, float]:
        """Mean of each training statistic over the gradient steps since the last metrics row."""
        if not self.train_stats:
            return {}
        out = self.train_stats.pop_means(prefix="train/")
        out["train/gradient_steps"] = self.gradient_steps
        out["train/buffer_size"] = len(self.buffer)
        return out

    # --- checkpoint ---------------------------------------------------------------------------------
    def algorithm_state(self) -> dict[str, Any]:
        state = {
            "networks": self.networks_state(),
            **self.replay.checkpoint_entries(self.save_replay_buffer),
            "gradient_steps": self.gradient_steps,
            "stats": self.train_stats.state_dict(),
        }
        if self.replay.takes_env_steps:  # the online schedule's own state
            state["random_actions"] = self.random_actions.bit_generator.state
            state["update_debt"] = self.update_debt
        return state

    def load_algorithm_state(self, state: dict[str, Any]) -> None:
        self.load_networks_state(state["networks"])
        self.replay.restore(state)
        if self.replay.takes_env_steps:
            self.random_actions.bit_generator.state = state["random_actions"]
            self.update_debt = float(state["update_debt"])
        self.gradient_steps = int(state["gradient_steps"])
        self.train_stats.load_state_dict(state["stats"], self.device)
