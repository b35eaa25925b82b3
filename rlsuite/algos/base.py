"""The learning-side contract: an ``Algorithm`` owns an agent, its envs and its optimiser state.

Subclasses implement three hooks: ``setup`` (networks, optimisers, buffers), ``collect`` (gather
experience, advancing ``global_step``) and ``update`` (learn from it), and declare in ``checkpointed``
(a :class:`~rlsuite.core.checkpointed.Checkpointed`: networks, optimisers, counters and random streams, by
attribute name) what a checkpoint must hold beyond what the base class saves; the base class writes and
reads those members. State a declaration cannot express (a replay buffer saved only on request, recurrent
memory) goes into overrides of ``algorithm_state``/``load_algorithm_state`` that extend ``super()``'s.
The outer loop (collect -> update -> log -> evaluate -> checkpoint) lives once, in
``rlsuite.training.loop``; evaluation is :func:`rlsuite.training.evaluation.evaluate_policy`. Learners build
their envs through the public ``rlsuite.make_vec`` and read declared specs, never an env family's modules.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

import rlsuite
from rlsuite.agents.base import Policy
from rlsuite.algos.env_source import resolve_env
from rlsuite.config import EnvConfig, EvalConfig, OfflineConfig, to_dict
from rlsuite.core.checkpoint import load_checkpoint, save_checkpoint
from rlsuite.core.checkpointed import Checkpointed
from rlsuite.core.device import resolve_device
from rlsuite.core.episodes import EpisodeTracker
from rlsuite.core.object_state import StateCaptureError, StateRestoreError, capture_object, restore_object
from rlsuite.core.replay import ReplayNotRestoredWarning
from rlsuite.core.seeding import EVAL_SEED_OFFSET as EVAL_SEED_OFFSET  # re-exported (marl_base evaluation)
from rlsuite.core.seeding import capture_rng_state, eval_seed, restore_rng_state, seed_everything
from rlsuite.training.evaluation import EvalResult, evaluate_policy

if TYPE_CHECKING:
    from rlsuite.training.run import Run

CHECKPOINT_FORMAT = 2  # 2: plain data only, read with torch.load(weights_only=True)


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

    def summary(self) -> str:
        """A short reading of the flags, e.g. ``on-policy, discrete + continuous``."""
        if self.text:
            return "language model, text actions"
        actions = " + ".join(
            kind
            for kind, ok in (("discrete", self.discrete_actions), ("continuous", self.continuous_actions))
            if ok
        )
        learning = "offline" if self.offline else ("on-policy" if self.on_policy else "off-policy")
        return ", ".join(
            part for part in ("multi-agent" if self.multi_agent else "", learning, actions) if part
        )


class _ClassOrInstanceMethod:
    """A method that calls ``class_method`` on the class and ``instance_method`` on an instance."""

    def __init__(self, class_method: str, instance_method: str) -> None:
        self.class_method, self.instance_method = class_method, instance_method

    def __get__(self, obj: Any, owner: type) -> Callable[..., Any]:
        if obj is None:
            return getattr(owner, self.class_method)
        return getattr(obj, self.instance_method)


class Algorithm(ABC):
    """Base class of every learner. ``learn(total_steps)`` trains until ``global_step >= total_steps``.

    ``global_step`` is the counter the loop schedules on (``total_steps``, every ``every_steps``, learning
    rate schedules) and the ``step`` of metrics and ``summary.json``: env steps for RL learners (all
    envs together); gradient steps for the offline learners, which take no env steps (their gradient
    steps are also counted apart, as ``gradient_steps``, like the online off-policy learners'); for the
    text learners one text-env step is one prompt answered by one response, so it counts responses.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""  # one line for `rlsuite algos`
    config_cls: ClassVar[type]
    capabilities: ClassVar[Capabilities]
    agent: Policy  # the acting side (rlsuite.agents.Policy): what evaluation and rollouts drive
    # Env steps between metric rows when the run's ``log.every_steps`` is 0 (0: every iteration).
    # Off-policy learners iterate every env step and set this so metrics.csv stays readable.
    default_log_every: ClassVar[int] = 0
    # Whether checkpoints hold the replay buffer (off-policy learners; set from checkpoint config).
    save_replay_buffer: bool = True
    # Set by the training loop while a run is attached: ``side_logger(step, scalars)`` sends scalars of
    # long work inside an iteration (an SFT warm-up's loss...) to TensorBoard on that work's own step axis.
    side_logger: Callable[[int, dict[str, float]], None] | None = None
    # Applied to the eval env when :meth:`evaluate` first builds it (e.g. a downstream task's
    # ``VariedPolicyTeamEnv``, in which some agents are driven by another policy).
    eval_env_wrapper: Callable[[Any], Any] | None = None
    # Whether the learner reads the experiment's ``offline`` section (dataset, pretrained checkpoint); a
    # config that sets it for any other learner is refused before the run starts.
    reads_offline_section: ClassVar[bool] = False
    # What the checkpoint holds beyond the base state (the ``algorithm`` entry), by attribute name.
    checkpointed: ClassVar[Checkpointed] = Checkpointed()

    def __init__(
        self,
        env: str | EnvConfig | Any,
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
        # an env id / EnvConfig, or an env object trained as it is (rlsuite.algos.env_source)
        self.env_config, self._env_instance = resolve_env(env)
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

    def algorithm_state(self) -> dict[str, Any]:
        """Everything beyond the base state a checkpoint needs: the ``checkpointed`` members."""
        return self.checkpointed.capture(self)

    def load_algorithm_state(self, state: dict[str, Any]) -> None:
        """Restore what ``algorithm_state`` returned."""
        self.checkpointed.restore(self, state, self.device)

    @classmethod
    def config_problems(cls, config: Any) -> list[str]:
        """Problems with ``config`` that only this algorithm can see (checked before a sweep starts)."""
        return []

    @classmethod
    def offline_problems(cls, offline: OfflineConfig) -> list[str]:
        """What the ``offline`` section lacks for this algorithm (checked before a run folder is made)."""
        return []

    def log_side_metrics(self, step: int, scalars: dict[str, float]) -> None:
        """Send scalars of long work inside an iteration to TensorBoard (no-op without a run)."""
        if self.side_logger is not None:
            self.side_logger(step, scalars)

    def logged_stats(self) -> dict[str, float]:
        """Statistics accumulated since the last metrics row (e.g. mean losses); called when logging."""
        return {}

    def total_steps_schedules(self) -> list[str]:
        """Config keys of the schedules that run over ``total_steps`` (e.g. ``algo.anneal_lr``).

        Extending a run (``resume=RUN total_steps=...``) stretches these schedules, so the continuation
        differs from an uninterrupted run of the new length; ``rlsuite train`` warns about it.
        """
        return []

    # --- public API ----------------------------------------------------------------------------
    def learn(
        self,
        total_steps: int,
        callback: Any = None,
        progress_bar: bool = False,
        *,
        horizon: int | None = None,
        run: Run | None = None,
    ) -> Algorithm:
        """Train until ``global_step >= total_steps`` (an absolute count: calling again continues).

        ``callback``: a :class:`rlsuite.callbacks.BaseCallback`, a list of them, or a function
        ``callback(algo, stats)``; called after every iteration, it stops training by returning
        ``False``. ``progress_bar`` shows the training bar (a run attached with ``run`` decides for
        itself). ``horizon`` is the run's planned length, over which schedules such as PPO's
        learning-rate annealing run; it defaults to ``total_steps``. Pass it when training in chunks
        (``learn(50_000, horizon=200_000)`` then ``learn(100_000, horizon=200_000)``...), so the schedule
        does not restart with every call. ``run`` attaches a run folder (metrics, evaluation,
        checkpoints, summary).
        """
        from rlsuite.training.loop import run_training_loop

        run_training_loop(
            self, total_steps, horizon=horizon, run=run, callback=callback, progress_bar=progress_bar
        )
        return self

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
        *,
        info: dict[str, Any] | None = None,
    ) -> tuple[Any, Any]:
        """``(action, state)`` for ``observation``, as Stable-Baselines3's ``predict``.

        One observation gives one action, a batch a batch. Team (multi-agent) policies also need the
        env's ``info`` (global state, action masks) or a dict observation with ``obs``, ``state`` and
        ``action_mask``; recurrent ones return their hidden ``state``, to be passed back with
        ``episode_start`` marking new games. Text policies take a prompt (or a list) and return
        responses. See :mod:`rlsuite.agents.predict`.
        """
        from rlsuite.agents.predict import predict_actions

        shape = getattr(getattr(self.env, "single_observation_space", None), "shape", None)
        return predict_actions(
            self.agent,
            observation,
            kind=self.policy_kind,
            observation_shape=shape,
            state=state,
            episode_start=episode_start,
            deterministic=deterministic,
            info=info,
        )

    @property
    def policy_kind(self) -> str:
        """``"single"``, ``"team"`` (multi-agent) or ``"text"``: what ``predict`` takes and returns."""
        if self.capabilities.text:
            return "text"
        return "team" if self.capabilities.multi_agent else "single"

    def evaluate(self, episodes: int | None = None, deterministic: bool | None = None) -> EvalResult:
        """Play ``episodes`` full episodes on a separate eval env, seeded by the current step."""
        episodes = episodes or self.eval_config.episodes
        deterministic = self.eval_config.deterministic if deterministic is None else deterministic
        if self._eval_env is None:
            num_envs = self.eval_config.num_envs or min(episodes, 16)
            self._eval_env = self._make_eval_env(num_envs)
        seed = eval_seed(self.seed, self.global_step)
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
        if state.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(
                f"checkpoint format {state.get('format')!r}; this version of rlsuite reads format "
                f"{CHECKPOINT_FORMAT} (plain data, loaded without running code)"
            )
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

    def _load_into(self, path: str | Path) -> Algorithm:
        """Restore a checkpoint file (or a run folder's latest checkpoint) into this algorithm."""
        self.load_state_dict(load_checkpoint(path, map_location=self.device))
        return self

    @classmethod
    def _load_new(
        cls, path: str | Path, env: Any = None, *, device: str | torch.device = "auto"
    ) -> Algorithm:
        """A new algorithm from a checkpoint: its own env, or ``env`` (an id or an env object)."""
        return cls.from_checkpoint(path, device=device, env=env)

    # ``algo.load(path)`` restores into ``algo``; ``PPO.load(path, env=None)`` builds a new one (as SB3).
    load = _ClassOrInstanceMethod("_load_new", "_load_into")

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

    def _make_eval_env(self, num_envs: int) -> Any:
        """The eval env: ``_make_env`` wrapped by :attr:`eval_env_wrapper` when one is set."""
        env = self._make_env(num_envs)
        return env if self.eval_env_wrapper is None else self.eval_env_wrapper(env)

    def _make_env(self, num_envs: int) -> gym.vector.VectorEnv:
        if self._env_instance is not None:
            return self._env_instance.make(num_envs)
        cfg = self.env_config
        return rlsuite.make_vec(cfg.id, num_envs, vectorization=cfg.vectorization, **cfg.kwargs)

    def _env_is_multi_agent(self) -> bool:
        if self._env_instance is not None:
            return self._env_instance.multi_agent
        return rlsuite.spec(self.env_config.id).multi_agent

    def _check_supported(self, action_space: spaces.Space) -> None:
        problems = self.capabilities.problems(action_space, self._env_is_multi_agent())
        if problems:
            raise ValueError(f"{self.name} cannot train on {self.env_config.id!r}: {'; '.join(problems)}")

    def _env_state(self) -> dict[str, Any]:
        """The vector env's full state as plain data: its own ``get_state``, else its attributes.

        Envs whose state cannot be expressed as plain data (processes, engines in C extensions) are
        not saved (``kind: none``, with the reason): the resumed run then starts new episodes.
        """
        try:
            if hasattr(self.env, "get_state"):
                return {"kind": "native", "state": self.env.get_state()}
            return {"kind": "attributes", "state": capture_object(self.env, "env")}
        except StateCaptureError as exc:
            return {"kind": "none", "reason": str(exc)}

    def _restore_env_state(self, saved: dict[str, Any], obs: np.ndarray) -> None:
        kind = saved.get("kind")
        if kind in ("native", "attributes"):
            try:
                if kind == "native":
                    self.env.set_state(saved["state"])
                else:
                    restore_object(self.env, saved["state"], "env")
            except StateRestoreError as exc:
                self._restart_episodes(f"the saved env state does not fit this env ({exc})")
            else:
                self.obs = np.copy(obs)
        elif kind == "none":
            self._restart_episodes(f"the env state could not be saved ({saved['reason']})")
        else:
            raise ValueError(f"checkpoint env_state has unknown kind {kind!r}")

    def _restart_episodes(self, why: str) -> None:
        """Resume without the env's state: warn, and start new episodes seeded by the step count."""
        warnings.warn(f"{why}; the resumed run starts new episodes", stacklevel=3)
        self.episodes.returns[:] = 0.0
        self.episodes.lengths[:] = 0
        self.obs, _ = self.env.reset(seed=self.seed + self.global_step)

    @classmethod
    def for_evaluation(
        cls,
        path: str | Path,
        env: str,
        *,
        device: str | torch.device = "auto",
        config_overrides: dict[str, Any] | None = None,
        env_kwargs: dict[str, Any] | None = None,
    ) -> Algorithm:
        """A checkpoint's learner rebuilt on the env ``env`` (an id) to be evaluated there (zero-shot).

        Only what acts is restored (networks and counters, through ``load_algorithm_state``), not the
        training env's state, so the env may be another map. ``config_overrides`` replace algorithm config
        keys first (validated, e.g. ``{"execution": "centralized"}``); ``env_kwargs`` are the env's
        constructor keywords (e.g. SMAC's ``downstream={...}`` tasks). A learner whose networks do not fit
        the env (other observation or action sizes) fails with a ValueError naming both envs.
        """
        from rlsuite.algos import get_algorithm
        from rlsuite.config import from_dict

        state = load_checkpoint(path, map_location="cpu")
        algo_cls = get_algorithm(state["algo"])
        config = from_dict(
            algo_cls.config_cls, {**state["config"], **(config_overrides or {})}, prefix="algo"
        )
        stored = from_dict(EnvConfig, state["env_config"])
        target = EnvConfig(
            id=env,
            num_envs=stored.num_envs,
            vectorization=stored.vectorization,
            kwargs=dict(env_kwargs or {}),
        )
        algo = algo_cls(target, config, seed=state["seed"], device=device)
        try:
            algo.load_algorithm_state(state["algorithm"])
        except (RuntimeError, ValueError, KeyError) as exc:
            algo.close()
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ValueError(
                f"the {state['algo']} model trained on {stored.id} cannot act on {env}: {reason}"
            ) from None
        algo.global_step = int(state["global_step"])
        algo.total_steps = int(state["total_steps"])
        return algo

    @classmethod
    def from_checkpoint(
        cls,
        path: str | Path,
        *,
        device: str | torch.device = "auto",
        env: Any = None,
        inference: bool = False,
    ) -> Algorithm:
        """Rebuild the algorithm stored in a checkpoint (its class, config and env) and load it.

        ``env`` (an id, an EnvConfig or an env object) replaces the stored env, e.g. for a checkpoint
        trained on an env instance that has no registered id. ``inference=True`` (evaluation, export,
        data collection) drops the warning that a checkpoint without its replay buffer cannot continue
        training exactly: the loaded learner only acts.
        """
        from rlsuite.algos import get_algorithm
        from rlsuite.config import from_dict

        state = load_checkpoint(path, map_location="cpu")
        algo_cls = get_algorithm(state["algo"]) if cls is Algorithm else cls
        if env is None and str(state["env_config"]["id"]).startswith("instance/"):
            raise ValueError(
                f"{path} was trained on an env object without a registered id "
                f"({state['env_config']['id']}): load it with env=<the env> (Algo.load(path, env=env))"
            )
        algo = algo_cls(
            from_dict(EnvConfig, state["env_config"]) if env is None else env,
            from_dict(algo_cls.config_cls, state["config"]),
            seed=state["seed"],
            device=device,
        )
        with warnings.catch_warnings():
            if inference:
                warnings.simplefilter("ignore", ReplayNotRestoredWarning)
            algo.load_state_dict(state)
        return algo
