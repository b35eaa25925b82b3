"""The learning-side contract: an ``Algorithm`` owns an agent, its envs and its optimiser state.

Subclasses implement four hooks: ``setup`` (networks, optimisers, buffers), ``collect`` (gather
experience, advancing ``global_step``), ``update`` (learn from it) and the pair
``algorithm_state``/``load_algorithm_state`` (what a checkpoint must hold beyond what the base class
saves). The outer loop (collect -> update -> log -> evaluate -> checkpoint) lives once, in
``rlsuite.training.loop``; evaluation is :func:`rlsuite.training.evaluation.evaluate_policy`. Learners build
their envs through the public ``rlsuite.make_vec`` and read declared specs, never an env family's modules.
"""

from __future__ import annotations

import pickle
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

import rlsuite
from rlsuite.agents.base import Policy
from rlsuite.config import EnvConfig, EvalConfig, OfflineConfig, to_dict
from rlsuite.core.checkpoint import load_checkpoint, save_checkpoint
from rlsuite.core.device import resolve_device
from rlsuite.core.episodes import EpisodeTracker
from rlsuite.core.seeding import capture_rng_state, restore_rng_state, seed_everything
from rlsuite.training.evaluation import EvalResult, evaluate_policy

if TYPE_CHECKING:
    from rlsuite.training.run import Run

CHECKPOINT_FORMAT = 1
EVAL_SEED_OFFSET = 1_000_003


@dataclass(frozen=True)
class Capabilities:
    """What an algorithm can train on; sweeps use it to reject impossible algorithm x env pairs early."""

    discrete_actions: bool
    continuous_actions: bool
    multi_agent: bool = False
    on_policy: bool = True
    offline: bool = False
    text: bool = False

    def problems(self, action_space: spaces.Space, multi_agent: bool = False) -> list[str]:
        found = []
        if isinstance(action_space, spaces.Text) or self.text:
            if not self.text:
                found.append("the env has text actions and the algorithm needs numeric ones")
            elif not isinstance(action_space, spaces.Text):
                found.append("the algorithm trains language models and needs a text env (Text actions)")
            return found
        if multi_agent and not self.multi_agent:
            found.append("the env is multi-agent and the algorithm is single-agent")
        if isinstance(action_space, spaces.Discrete) and not self.discrete_actions:
            found.append("the env has discrete actions and the algorithm needs continuous ones")
        if isinstance(action_space, spaces.Box) and not self.continuous_actions:
            found.append("the env has continuous actions and the algorithm needs discrete ones")
        if not isinstance(action_space, (spaces.Discrete, spaces.Box)):
            found.append(f"action space {type(action_space).__name__} is not supported")
        return found


class Algorithm(ABC):
    """Base class of every learner. ``learn(total_steps)`` trains until ``global_step >= total_steps``."""

    name: ClassVar[str]
    config_cls: ClassVar[type]
    capabilities: ClassVar[Capabilities]
    agent: Policy  # the acting side (rlsuite.agents.Policy): what evaluation and rollouts drive
    # Env steps between metric rows when the run's ``log.every_steps`` is 0 (0: every iteration).
    # Off-policy learners iterate every env step and set this so metrics.csv stays readable.
    default_log_every: ClassVar[int] = 0
    # Whether checkpoints hold the replay buffer (off-policy learners; set from checkpoint config).
    save_replay_buffer: bool = True

    def __init__(
        self,
        env: str | EnvConfig,
        config: Any = None,
        *,
        seed: int = 0,
        device: str | torch.device = "auto",
        eval_config: EvalConfig | None = None,
        offline: OfflineConfig | None = None,
    ) -> None:
        self.config = self.config_cls() if config is None else config
        if not isinstance(self.config, self.config_cls):
            raise TypeError(
                f"{type(self).__name__} takes a {self.config_cls.__name__}, got {type(config).__name__}"
            )
        self.env_config = EnvConfig(id=env) if isinstance(env, str) else env
        self.eval_config = eval_config or EvalConfig()
        self.offline_config = offline or OfflineConfig()  # dataset / pretrained checkpoint (offline learners)
        self.seed = seed
        self.device = resolve_device(device)
        seed_everything(seed)
        self.global_step = 0
        self.iteration = 0
        self.total_steps = 0  # the planned length of the run: the horizon of schedules
        self.train_seconds = 0.0
        self._eval_env: gym.vector.VectorEnv | None = None
        self._build_training_env()
        self.setup()

    # --- hooks ---------------------------------------------------------------------------------
    @abstractmethod
    def setup(self) -> None:
        """Build networks, optimisers and buffers (``self.agent`` among them)."""

    @abstractmethod
    def collect(self) -> dict[str, float]:
        """Gather experience with the current policy; advance ``global_step``; return rollout statistics."""

    @abstractmethod
    def update(self) -> dict[str, float]:
        """Learn from what ``collect`` gathered; return training statistics (losses, learning rate...)."""

    @abstractmethod
    def algorithm_state(self) -> dict[str, Any]:
        """Everything beyond the base state a checkpoint needs (weights, optimisers, normalisers)."""

    @abstractmethod
    def load_algorithm_state(self, state: dict[str, Any]) -> None: ...

    @classmethod
    def config_problems(cls, config: Any) -> list[str]:
        """Problems with ``config`` that only this algorithm can see (checked before a sweep starts)."""
        return []

    @classmethod
    def offline_problems(cls, offline: OfflineConfig) -> list[str]:
        """What the ``offline`` section lacks for this algorithm (checked before a run folder is made)."""
        return []

    def logged_stats(self) -> dict[str, float]:
        """Statistics accumulated since the last metrics row (e.g. mean losses); called when logging."""
        return {}

    # --- public API ----------------------------------------------------------------------------
    def learn(
        self, total_steps: int, *, horizon: int | None = None, run: Run | None = None, callback=None
    ) -> Algorithm:
        """Train until ``global_step >= total_steps`` (an absolute count: calling again continues).

        ``horizon`` is the run's planned length, over which schedules such as PPO's learning-rate
        annealing run; it defaults to ``total_steps``. Pass it when training in chunks
        (``learn(50_000, horizon=200_000)`` then ``learn(100_000, horizon=200_000)``...), so the
        schedule does not restart with every call. ``run`` attaches a run folder (metrics, evaluation,
        checkpoints, summary); ``callback(algo, stats)`` runs after each iteration and stops training by
        returning ``False``.
        """
        from rlsuite.training.loop import run_training_loop

        run_training_loop(self, total_steps, horizon=horizon, run=run, callback=callback)
        return self

    def evaluate(self, episodes: int | None = None, deterministic: bool | None = None) -> EvalResult:
        """Play ``episodes`` full episodes on a separate eval env, seeded by the current step."""
        episodes = episodes or self.eval_config.episodes
        deterministic = self.eval_config.deterministic if deterministic is None else deterministic
        if self._eval_env is None:
            num_envs = self.eval_config.num_envs or min(episodes, 16)
            self._eval_env = self._make_env(num_envs)
        seed = self.seed + EVAL_SEED_OFFSET + self.global_step
        return evaluate_policy(self.agent, self._eval_env, episodes, deterministic=deterministic, seed=seed)

    def state_dict(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "algo": self.name,
            "config": to_dict(self.config),
            "env_config": to_dict(self.env_config),
            "seed": self.seed,
            "global_step": self.global_step,
            "iteration": self.iteration,
            "total_steps": self.total_steps,
            "train_seconds": self.train_seconds,
            "episodes": self.episodes.state_dict(),
            "obs": np.copy(self.obs),
            "env_state": self._env_state(),
            "rng": capture_rng_state(),
            "algorithm": self.algorithm_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("algo") != self.name:
            raise ValueError(f"checkpoint is for algorithm {state.get('algo')!r}, not {self.name!r}")
        self.global_step = int(state["global_step"])
        self.iteration = int(state["iteration"])
        self.total_steps = int(state["total_steps"])
        self.train_seconds = float(state["train_seconds"])
        self.episodes.load_state_dict(state["episodes"])
        self.load_algorithm_state(state["algorithm"])
        self._restore_env_state(state["env_state"], state["obs"])
        restore_rng_state(state["rng"])

    def save(self, path: str | Path) -> None:
        """Write a complete checkpoint (atomic)."""
        save_checkpoint(self.state_dict(), path)

    def load(self, path: str | Path) -> None:
        """Restore a checkpoint file (or a run folder's latest checkpoint) into this algorithm."""
        self.load_state_dict(load_checkpoint(path, map_location=self.device))

    def close(self) -> None:
        self.env.close()
        if self._eval_env is not None:
            self._eval_env.close()

    # --- helpers -------------------------------------------------------------------------------
    def _build_training_env(self) -> None:
        """``self.env`` (checked against the capabilities), its episode tracker and first observations."""
        self.env = self._make_env(self.env_config.num_envs)
        self._check_supported(self.env.single_action_space)
        self.episodes = EpisodeTracker(self.env.num_envs)
        self.obs, _ = self.env.reset(seed=self.seed)

    def _make_env(self, num_envs: int) -> gym.vector.VectorEnv:
        cfg = self.env_config
        return rlsuite.make_vec(cfg.id, num_envs, vectorization=cfg.vectorization, **cfg.kwargs)

    def _check_supported(self, action_space: spaces.Space) -> None:
        problems = self.capabilities.problems(action_space, rlsuite.spec(self.env_config.id).multi_agent)
        if problems:
            raise ValueError(f"{self.name} cannot train on {self.env_config.id!r}: {'; '.join(problems)}")

    def _env_state(self) -> Any:
        """The vector env's full state: its own ``get_state`` or a pickle of its sub-envs."""
        if hasattr(self.env, "get_state"):
            return {"kind": "native", "state": self.env.get_state()}
        try:
            return {"kind": "pickle", "state": pickle.dumps(self.env.envs)}
        except Exception as exc:  # sub-envs holding OS handles or C objects without pickle support
            return {"kind": "none", "reason": f"{type(exc).__name__}: {exc}"}

    def _restore_env_state(self, saved: dict[str, Any], obs: np.ndarray) -> None:
        if saved["kind"] == "native":
            self.env.set_state(saved["state"])
            self.obs = np.copy(obs)
        elif saved["kind"] == "pickle":
            for env in self.env.envs:
                env.close()
            self.env.envs = pickle.loads(saved["state"])
            self.obs = np.copy(obs)
        else:
            warnings.warn(
                f"the env state could not be saved ({saved['reason']}); the resumed run starts new episodes",
                stacklevel=2,
            )
            self.episodes.returns[:] = 0.0
            self.episodes.lengths[:] = 0
            self.obs, _ = self.env.reset(seed=self.seed + self.global_step)

    @classmethod
    def from_checkpoint(cls, path: str | Path, *, device: str | torch.device = "auto") -> Algorithm:
        """Rebuild the algorithm stored in a checkpoint (its class, config and env) and load it."""
        from rlsuite.algos import get_algorithm
        from rlsuite.config import from_dict

        state = load_checkpoint(path, map_location="cpu")
        algo_cls = get_algorithm(state["algo"]) if cls is Algorithm else cls
        algo = algo_cls(
            from_dict(EnvConfig, state["env_config"]),
            from_dict(algo_cls.config_cls, state["config"]),
            seed=state["seed"],
            device=device,
        )
        algo.load_state_dict(state)
        return algo
