"""Peers: other libraries' algorithms, trained by their own code inside rlsuite's loop.

A peer algorithm (``sb3:PPO``, ``tianshou:SAC``...) lets a sweep put Stable-Baselines3 or Tianshou
next to rlsuite's own algorithms and read the numbers the same way:

- **Training is the peer's own.** Its ``learn``/trainer call runs unchanged, once, for the whole budget,
  on its own vectorization (SB3 ``DummyVecEnv``, Tianshou ``DummyVectorEnv``) of single
  ``rlsuite.make(id)`` envs: the way that library's users run it. The call runs in a worker thread
  that pauses at the peer's own safe points (the start of a rollout) every ``chunk_steps`` env steps,
  so learning-rate schedules and counters see one uninterrupted run.
- **Everything around it is rlsuite's.** While the peer is paused, the shared loop logs, evaluates (on
  the same eval envs, seeds and episode counts as every rlsuite algorithm), checkpoints and finally
  writes ``metrics.csv`` and ``summary.json``. Steps/s is measured by the same clock.

The thread hand-off is strict (one side runs at a time), so a peer run is as deterministic as the peer.
"""

from __future__ import annotations

import queue
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

import rlsuite
from rlsuite.agents.base import MemorylessPolicy
from rlsuite.algos.base import Algorithm
from rlsuite.config import param
from rlsuite.core.episodes import EpisodeTracker

DEFAULT_OFF_POLICY_CHUNK = 1000


@dataclass
class PeerConfig:
    """Settings shared by every peer; its hyperparameters go in ``kwargs``, under the peer's own names."""

    name: str = param("", help="the peer algorithm, e.g. 'sb3:PPO' (set from algo.name)")
    kwargs: dict[str, Any] = param(
        default_factory=dict,
        help="keyword arguments of the peer's algorithm, in its own names (e.g. SB3 PPO: n_steps, "
        "learning_rate, policy_kwargs); defaults are the peer's",
    )
    chunk_steps: int = param(
        0,
        help="env steps the peer trains between two pauses (log/eval/checkpoint points); "
        "0 = one rollout for on-policy peers, 1000 for off-policy ones",
        min=0,
    )


class MissingPeerError(ImportError):
    """The library behind a peer algorithm is not installed."""


def require(module: str, algo: str, extra: str) -> Any:
    """Import ``module`` for peer ``algo``, or fail naming the extra that installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingPeerError(
            f"{algo} needs the {module!r} package ({exc}); install it with: pip install 'rlsuite[{extra}]'"
        ) from exc


class PausableTraining:
    """Runs a blocking training call in a thread and pauses it at step boundaries the caller picks.

    ``target(pause)`` trains; at each safe point it calls ``pause(step)``, which returns at once while
    ``step`` is below the current goal, and otherwise blocks until :meth:`advance` sets a new goal. It
    returns ``False`` when training should stop (after :meth:`stop`). Exactly one side runs at a time.
    """

    def __init__(self, target: Callable[[Callable[[int], bool]], None]) -> None:
        self._target = target
        self._goal = 0
        self._to_worker: queue.Queue[int | None] = queue.Queue()
        self._to_caller: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.finished = False

    def advance(self, goal: int) -> None:
        """Let training run until it pauses at a step >= ``goal`` or ends; re-raise its errors."""
        if self.finished:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="peer-training", daemon=True)
            self._thread.start()
        self._to_worker.put(goal)
        kind, value = self._to_caller.get()
        if kind == "error":
            self.finished = True
            raise value
        if kind == "finished":
            self.finished = True

    def stop(self) -> None:
        """Ask a paused training call to end, and wait for it."""
        if self._thread is not None and not self.finished:
            self._to_worker.put(None)
            self._to_caller.get()
            self.finished = True
        if self._thread is not None:
            self._thread.join()

    def _pause(self, step: int) -> bool:
        if step < self._goal:
            return True
        self._to_caller.put(("paused", step))
        goal = self._to_worker.get()
        if goal is None:
            return False
        self._goal = goal
        return True

    def _work(self) -> None:
        goal = self._to_worker.get()
        if goal is None:
            self._to_caller.put(("finished", None))
            return
        self._goal = goal
        try:
            self._target(self._pause)
        except BaseException as exc:  # handed to the caller's thread
            self._to_caller.put(("error", exc))
            return
        self._to_caller.put(("finished", None))


class PeerAgent(MemorylessPolicy):
    """The rlsuite :class:`~rlsuite.agents.base.Policy` face of a peer's policy:
    ``act(obs_batch, deterministic)``."""

    def __init__(self, predict: Callable[[np.ndarray, bool], np.ndarray], device: Any) -> None:
        self._predict = predict
        self.device = device

    def act(self, obs: np.ndarray, deterministic: bool = False) -> np.ndarray:
        return np.asarray(self._predict(np.asarray(obs), deterministic))


class PeerAlgorithm(Algorithm):
    """Base of the peer adapters: a peer trains in chunks through :class:`PausableTraining`.

    Subclasses implement ``setup`` (build the peer's model on ``self.make_peer_env``), ``train_target``
    (the peer's own training call for ``self.total_steps`` steps, calling ``pause(step)`` at safe
    points and ``self.episodes.step(rewards, dones)`` after each env step), ``peer_step`` (its step
    counter), ``peer_stats`` (its latest training statistics) and the checkpoint pair.
    """

    config_cls: ClassVar[type] = PeerConfig
    on_policy_chunk: ClassVar[bool] = True  # chunk_steps=0 means one rollout (else 1000 steps)
    library: ClassVar[str] = ""  # the module the peer needs, e.g. "stable_baselines3"
    extra: ClassVar[str] = ""  # the rlsuite extra that installs it

    @classmethod
    def config_problems(cls, config: Any) -> list[str]:
        """A missing peer library is a problem of every run (found before a sweep starts)."""
        try:
            require(cls.library, cls.name, cls.extra)
        except MissingPeerError as exc:
            return [str(exc)]
        return []

    def __init__(self, env: Any, config: Any = None, **kwargs: Any) -> None:
        config = self.config_cls(name=self.name) if config is None else config
        if config.name not in ("", self.name):
            raise ValueError(f"{type(self).__name__} is {self.name!r}; its config names {config.name!r}")
        config.name = self.name
        super().__init__(env, config, **kwargs)

    # --- set-up: the peer vectorizes plain envs itself ------------------------------------------
    def _build_training_env(self) -> None:
        probe = self.make_single_env()
        try:
            self.single_observation_space = probe.observation_space
            self.single_action_space = probe.action_space
        finally:
            probe.close()
        self._check_supported(self.single_action_space)
        self.env = None
        self.obs = np.zeros(0, np.float32)  # the peer holds its own observations
        self.episodes = EpisodeTracker(self.env_config.num_envs)
        self._training: PausableTraining | None = None

    def make_single_env(self) -> gym.Env:
        """One env exactly as ``rlsuite.make`` builds it, with the run's env kwargs."""
        return rlsuite.make(self.env_config.id, **self.env_config.kwargs)

    # --- the peer's side -----------------------------------------------------------------------
    def train_target(self, pause: Callable[[int], bool]) -> None:
        raise NotImplementedError

    def peer_step(self) -> int:
        raise NotImplementedError

    def peer_stats(self) -> dict[str, float]:
        return {}

    def rollout_steps(self) -> int:
        """Env steps in one of the peer's rollouts (on-policy peers)."""
        raise NotImplementedError

    # --- the shared loop's hooks ---------------------------------------------------------------
    def chunk(self) -> int:
        if self.config.chunk_steps:
            return self.config.chunk_steps
        return self.rollout_steps() if self.on_policy_chunk else DEFAULT_OFF_POLICY_CHUNK

    def collect(self) -> dict[str, float]:
        if self._training is not None and self._training.finished and self._trained_for < self.total_steps:
            self._training = None  # an earlier learn() call's training ended at its budget: start another
        if self._training is None:
            self._trained_for = self.total_steps
            self._training = PausableTraining(self.train_target)
        self._training.advance(self.global_step + self.chunk())
        self.global_step = self.peer_step()
        if self._training.finished and self.global_step < self.total_steps:
            raise RuntimeError(
                f"{self.name} stopped at step {self.global_step} of {self.total_steps} without an error"
            )
        return {}

    def update(self) -> dict[str, float]:
        return self.peer_stats()

    # --- checkpoints: the peer's own save format; its envs restart episodes on resume ------------
    def _env_state(self) -> Any:
        return {"kind": "none", "reason": f"{self.name} keeps its envs inside the peer library"}

    def _restore_env_state(self, saved: dict[str, Any], obs: Any) -> None:
        warnings.warn(
            f"{self.name}: the peer's envs are not checkpointed; the resumed run starts new episodes",
            stacklevel=2,
        )
        self.episodes.returns[:] = 0.0
        self.episodes.lengths[:] = 0

    def close(self) -> None:
        if self._training is not None:
            self._training.stop()
            self._training = None
        self.close_peer()
        if self._eval_env is not None:
            self._eval_env.close()

    def close_peer(self) -> None:
        """Close the peer's training envs."""
