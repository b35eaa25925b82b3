"""The machinery shared by the Tianshou peers (``tianshou:PPO``, ``tianshou:SAC``); see ``tianshou.py``."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import torch

from rlsuite.algos.peers.base import PeerAgent, PeerAlgorithm, require
from rlsuite.core.object_state import (
    StateCaptureError,
    StateRestoreError,
    capture_object,
    is_plain,
    restore_object,
)

EXTRA = "tianshou"
TRAIN_PREFIX = "train/"
ACTIVATIONS = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}
_NOT_STATISTICS = ("train_time", "smoothed_loss")  # timing (not reproducible) and moving averages


class StopTraining(Exception):
    """Raised from the trainer's ``training_fn`` when rlsuite asks training to stop."""


class TianshouAlgorithm(PeerAlgorithm):
    """One Tianshou algorithm behind rlsuite's ``Algorithm`` interface (see the module docstring)."""

    library = "tianshou"
    extra = EXTRA
    tianshou_class: ClassVar[str]  # the class in tianshou.algorithm
    built_here: ClassVar[frozenset[str]]  # its arguments the adapter sets (networks, optimisers)

    @classmethod
    def config_problems(cls, config: Any) -> list[str]:
        """Keyword arguments Tianshou's class does not take, and settings that cannot work together."""
        import inspect

        problems = super().config_problems(config)
        if problems:
            return problems
        algorithms = require("tianshou.algorithm", cls.name, EXTRA)
        accepted = set(inspect.signature(getattr(algorithms, cls.tianshou_class)).parameters) - cls.built_here
        unknown = sorted(set(config.kwargs) - accepted)
        if unknown:
            problems.append(
                f"algo.kwargs: Tianshou {cls.tianshou_class} takes no {', '.join(unknown)}; "
                f"accepted: {', '.join(sorted(accepted))}"
            )
        if config.buffer_size < config.collection_step_num_env_steps:
            problems.append(
                f"algo.buffer_size={config.buffer_size} is smaller than one collection step "
                f"(algo.collection_step_num_env_steps={config.collection_step_num_env_steps})"
            )
        return problems

    def setup(self) -> None:
        require("tianshou", self.name, EXTRA)
        from tianshou.data import Collector
        from tianshou.env import DummyVectorEnv, VectorEnvNormObs

        problems = self.config_problems(self.config)
        if problems:
            raise ValueError(f"{self.name}: {'; '.join(problems)}")
        envs = DummyVectorEnv([self.make_single_env] * self.env_config.num_envs)
        envs.seed(self.seed)
        self.train_envs = VectorEnvNormObs(envs) if getattr(self.config, "obs_norm", False) else envs
        self._steps = 0
        self._collector_ready = False
        self._latest: dict[str, Any] = {}
        try:
            self.algorithm = self.build_algorithm(dict(self.config.kwargs))
        except TypeError as exc:  # a kwarg of the wrong type
            raise ValueError(
                f"{self.name}: bad algo.kwargs for Tianshou {self.tianshou_class} ({exc})"
            ) from exc
        self.policy = self.algorithm.policy
        self.collector = Collector(
            self.algorithm,
            self.train_envs,
            self._make_buffer(),
            exploration_noise=True,
            on_step_hook=self._on_step,
        )
        self.agent = PeerAgent(self._predict, self.device)

    def build_algorithm(self, kwargs: dict[str, Any]) -> Any:
        """The Tianshou algorithm (networks, policy, optimiser factories), ``kwargs`` passed through."""
        raise NotImplementedError

    def trainer_params(self, remaining: int, training_fn: Callable[[int, int], None], logger: Any) -> Any:
        """Tianshou's ``*TrainerParams`` for one epoch of ``remaining`` env steps."""
        raise NotImplementedError

    def common_trainer_params(
        self, remaining: int, training_fn: Callable[[int, int], None], logger: Any
    ) -> dict[str, Any]:
        """One epoch of ``remaining`` steps, no test collector, Tianshou's own output silenced."""
        return {
            "training_collector": self.collector,
            "test_collector": None,
            "max_epochs": 1,
            "epoch_num_steps": remaining,
            "collection_step_num_env_steps": self.collect_size(),
            "batch_size": self.config.batch_size,
            "training_fn": training_fn,
            "logger": logger,
            "verbose": False,
            "show_progress": False,
        }

    def _make_buffer(self) -> Any:
        from tianshou.data import ReplayBuffer, VectorReplayBuffer

        num_envs = self.env_config.num_envs
        if self.config.buffer_size < self.collect_size():
            raise ValueError(
                f"{self.name}: algo.buffer_size={self.config.buffer_size} is smaller than one collection "
                f"step ({self.collect_size()} env steps with env.num_envs={num_envs})"
            )
        if num_envs == 1:
            return ReplayBuffer(self.config.buffer_size)
        return VectorReplayBuffer(self.config.buffer_size, num_envs)

    def collect_size(self) -> int:
        """Env steps per collection step: what Tianshou collects (every env steps the same number)."""
        return round_up(self.config.collection_step_num_env_steps, self.env_config.num_envs)

    # --- acting ------------------------------------------------------------------------------------
    def _predict(self, obs: np.ndarray, deterministic: bool) -> np.ndarray:
        """Env-ready actions: the policy's mode or a sample, mapped into the action space as collectors do."""
        from tianshou.data import Batch, to_numpy
        from tianshou.utils.torch_utils import policy_within_training_step, torch_train_mode

        if getattr(self.config, "obs_norm", False):
            obs = self.train_envs.get_obs_rms().norm(obs)
        policy, saved = self.policy, self.policy.deterministic_eval
        policy.deterministic_eval = deterministic
        try:
            with torch.no_grad(), policy_within_training_step(policy, False), torch_train_mode(policy, False):
                act = policy(Batch(obs=np.asarray(obs, np.float32), info=Batch())).act
        finally:
            policy.deterministic_eval = saved
        return policy.map_action(to_numpy(act))

    # --- the peer's training call ------------------------------------------------------------------
    def _on_step(self, action_batch: Any, rollout_batch: Any) -> None:
        """Collector step hook: one vector step of all envs (``n_step`` collection steps every env)."""
        rewards = np.asarray(rollout_batch.rew, np.float64).reshape(-1)
        self.episodes.step(rewards, np.asarray(rollout_batch.done, bool).reshape(-1))
        self._steps += len(rewards)

    def train_target(self, pause: Callable[[int], bool]) -> None:

        def training_fn(epoch: int, env_step: int) -> None:
            # env_step counts this trainer's steps; self._steps also holds warm-up and pre-resume steps.
            if not pause(self._steps):
                raise StopTraining

        if not self._collector_ready:  # first call, or restored: new episodes (a later learn() continues)
            self.collector.reset(reset_buffer=False)
            self._collector_ready = True
        try:
            self.warm_up(pause)
            remaining = self.total_steps - self._steps
            if remaining > 0:
                params = self.trainer_params(remaining, training_fn, _capturing_logger(self._latest))
                self.algorithm.create_trainer(params).run(reset_collectors=False)
        except StopTraining:
            pass

    def warm_up(self, pause: Callable[[int], bool]) -> None:
        """Steps before the trainer runs (SAC's random ones); none by default."""

    def peer_step(self) -> int:
        return self._steps

    def rollout_steps(self) -> int:
        return self.collect_size()

    def peer_stats(self) -> dict[str, float]:
        stats = {}
        for key, value in self._latest.items():
            if isinstance(value, dict) and "mean" in value:
                value = value["mean"]
            if key not in _NOT_STATISTICS and _is_number(value):
                stats[TRAIN_PREFIX + key] = float(value)
        for scheduler in self.algorithm.lr_schedulers[:1]:
            stats[TRAIN_PREFIX + "learning_rate"] = float(scheduler.get_last_lr()[0])
        return stats

    # --- checkpoints -------------------------------------------------------------------------------
    def algorithm_state(self) -> dict[str, Any]:
        state = {
            "algorithm": self.algorithm.state_dict(),  # networks, target networks, optimisers
            "lr_schedulers": [s.state_dict() for s in self.algorithm.lr_schedulers],
            "env_steps": self._steps,
            "obs_rms": None,
            "replay_buffer": None,
        }
        if getattr(self.config, "obs_norm", False):
            state["obs_rms"] = capture_object(self.train_envs.get_obs_rms(), "obs_rms")
        return state

    def load_algorithm_state(self, state: dict[str, Any]) -> None:
        if self._training is not None:  # a paused trainer of the state being replaced
            self._training.stop()
            self._training = None  # the next collect starts a trainer on the restored state
        self.algorithm.load_state_dict(dict(state["algorithm"]))
        for scheduler, saved in zip(self.algorithm.lr_schedulers, state["lr_schedulers"], strict=True):
            scheduler.load_state_dict(saved)
        self._steps = int(state["env_steps"])
        if state.get("obs_rms") is not None:
            restore_object(self.train_envs.get_obs_rms(), state["obs_rms"], "obs_rms")
        if state.get("replay_buffer") is not None:
            restore_buffer(self.collector.buffer, state["replay_buffer"])
        self.train_envs.seed(self.seed + self._steps)
        self._collector_ready = False

    def close_peer(self) -> None:
        self.collector.close()


def buffer_state(buffer: Any) -> dict[str, Any]:
    """A Tianshou ``ReplayBuffer`` (or ``VectorReplayBuffer``) as plain data: its data ``Batch`` as a
    dict of arrays, its counters and its sampler's state (what Tianshou's pickling keeps)."""
    children = list(getattr(buffer, "buffers", []))
    return {
        "type": f"{type(buffer).__module__}.{type(buffer).__qualname__}",
        "meta": copy.deepcopy(buffer._meta.to_dict(recursive=True)),
        **_buffer_scalars(buffer, skip=("_meta", "buffers")),
        "children": [_buffer_scalars(child, skip=("_meta",)) for child in children],
    }


def restore_buffer(buffer: Any, state: dict[str, Any]) -> None:
    """Write a :func:`buffer_state` into ``buffer``, a buffer built with the same settings."""
    from tianshou.data import Batch

    kind = f"{type(buffer).__module__}.{type(buffer).__qualname__}"
    children = list(getattr(buffer, "buffers", []))
    if kind != state["type"] or len(children) != len(state["children"]):
        raise StateRestoreError(
            f"replay_buffer: the checkpoint holds a {state['type']}, this run has a {kind}"
        )
    buffer._meta = Batch(copy.deepcopy(state["meta"]))
    _restore_scalars(buffer, state)
    for child, saved in zip(children, state["children"], strict=True):
        _restore_scalars(child, saved)
    if children:
        buffer._set_batch_for_children()  # the children's data are views of the manager's


def _buffer_scalars(buffer: Any, skip: tuple[str, ...]) -> dict[str, Any]:
    attributes = {}
    for name, value in vars(buffer).items():
        if name in skip or name == "_random_state":
            continue
        if not is_plain(value):
            raise StateCaptureError(f"replay_buffer.{name} is a {type(value).__name__}, not plain data")
        attributes[name] = copy.deepcopy(value)
    return {"attributes": attributes, "random_state": buffer._random_state.get_state()}


def _restore_scalars(buffer: Any, saved: dict[str, Any]) -> None:
    for name, value in saved["attributes"].items():
        setattr(buffer, name, copy.deepcopy(value))
    buffer._random_state.set_state(saved["random_state"])


def round_up(steps: int, multiple: int) -> int:
    return math.ceil(steps / multiple) * multiple


def _is_number(value: Any) -> bool:
    numeric = isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool)
    return numeric and bool(np.isfinite(value))


def _capturing_logger(latest: dict[str, Any]) -> Any:
    """A Tianshou logger that writes nothing and keeps the trainer's latest update statistics."""
    from tianshou.utils import LazyLogger

    class CapturingLogger(LazyLogger):
        def log_update_data(self, log_data: dict, step: int) -> None:
            latest.clear()
            latest.update(log_data)

    return CapturingLogger()
