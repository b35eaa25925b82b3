"""Training callbacks in Stable-Baselines3's shape: compose them, pass them to ``learn(callback=...)``.

    from rlsuite.callbacks import CheckpointCallback, EvalCallback, StopTrainingOnRewardThreshold

    stop = StopTrainingOnRewardThreshold(reward_threshold=475)
    algo.learn(200_000, callback=[
        EvalCallback(eval_freq=10_000, best_model_save_path="best/", callback_on_new_best=stop),
        CheckpointCallback(save_freq=50_000, save_path="checkpoints/"),
    ])

rlsuite's loop calls ``on_step`` once per training *iteration* (one collect + update: a PPO rollout,
an off-policy step of every env), not once per env step, and ``num_timesteps`` is the algorithm's
``global_step``. Frequencies (``eval_freq``, ``save_freq``, ``video_freq``) are therefore in env steps and
fire when an iteration crosses a multiple of them. ``on_step`` returning ``False`` stops training after
the current iteration. A plain function ``callback(algo, stats) -> bool | None`` works too.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

# Any rlsuite ``Algorithm`` (not imported: the training layer imports no learner).
Algorithm = Any

__all__ = [
    "BaseCallback",
    "CallbackList",
    "CheckpointCallback",
    "EvalCallback",
    "EveryNSteps",
    "FunctionCallback",
    "StopTrainingOnNoModelImprovement",
    "StopTrainingOnRewardThreshold",
    "VideoCallback",
    "as_callback",
]


class BaseCallback:
    """Hooks around training. Subclasses override ``_on_step`` (and optionally the others).

    Attributes while training: ``algo``, ``num_timesteps`` (env steps so far), ``n_calls`` (iterations
    seen), ``locals`` (the last iteration's statistics: losses, returns...), ``parent`` (the callback
    that owns this one, e.g. the :class:`EvalCallback` of a ``callback_on_new_best``).
    """

    def __init__(self, verbose: int = 0) -> None:
        self.verbose = verbose
        self.algo: Algorithm | None = None
        self.n_calls = 0
        self.locals: dict[str, Any] = {}
        self.parent: BaseCallback | None = None
        self.previous_step = 0  # global_step before the latest iteration

    # --- what the loop calls ------------------------------------------------------------------------
    def init_callback(self, algo: Algorithm) -> None:
        self.algo = algo
        self.previous_step = algo.global_step
        self._init_callback()

    def on_training_start(self, algo: Algorithm, total_steps: int) -> None:
        if self.algo is not algo:
            self.init_callback(algo)
        self._on_training_start(total_steps)

    def update_locals(self, stats: dict[str, Any]) -> None:
        self.locals = stats
        self._update_child_locals(stats)

    def on_step(self) -> bool:
        self.n_calls += 1
        keep_going = self._on_step()
        self.previous_step = self.num_timesteps
        return keep_going is not False

    def on_training_end(self) -> None:
        self._on_training_end()

    # --- hooks --------------------------------------------------------------------------------------
    def _init_callback(self) -> None: ...

    def _on_training_start(self, total_steps: int) -> None: ...

    def _on_step(self) -> bool:
        return True

    def _on_training_end(self) -> None: ...

    def _update_child_locals(self, stats: dict[str, Any]) -> None: ...

    @property
    def num_timesteps(self) -> int:
        return 0 if self.algo is None else int(self.algo.global_step)

    def crossed(self, every: int) -> bool:
        """Whether the latest iteration crossed a multiple of ``every`` env steps (0 never fires)."""
        return every > 0 and self.previous_step // every < self.num_timesteps // every


class CallbackList(BaseCallback):
    """Several callbacks in order; training stops when any of them says so (all still run that step)."""

    def __init__(self, callbacks: Sequence[BaseCallback]) -> None:
        super().__init__()
        self.callbacks = [as_callback(c) for c in callbacks]

    def _init_callback(self) -> None:
        for callback in self.callbacks:
            callback.init_callback(self.algo)

    def _on_training_start(self, total_steps: int) -> None:
        for callback in self.callbacks:
            callback.on_training_start(self.algo, total_steps)

    def _update_child_locals(self, stats: dict[str, Any]) -> None:
        for callback in self.callbacks:
            callback.update_locals(stats)

    def _on_step(self) -> bool:
        results = [callback.on_step() for callback in self.callbacks]
        return all(results)

    def _on_training_end(self) -> None:
        for callback in self.callbacks:
            callback.on_training_end()


class FunctionCallback(BaseCallback):
    """``fn(algo, stats)`` after each iteration; returning ``False`` stops training."""

    def __init__(self, fn: Callable[[Any, dict[str, Any]], bool | None]) -> None:
        super().__init__()
        self.fn = fn

    def _on_step(self) -> bool:
        return self.fn(self.algo, self.locals) is not False


class EveryNSteps(BaseCallback):
    """Run ``callback`` whenever an iteration crosses a multiple of ``n_steps`` env steps."""

    def __init__(self, n_steps: int, callback: BaseCallback) -> None:
        super().__init__()
        self.n_steps = _positive("n_steps", n_steps)
        self.callback = as_callback(callback)
        self.callback.parent = self

    def _init_callback(self) -> None:
        self.callback.init_callback(self.algo)

    def _on_step(self) -> bool:
        return self.callback.on_step() if self.crossed(self.n_steps) else True


def as_callback(callback: Any) -> BaseCallback:
    """``None``, a callback, a list of them or a function ``fn(algo, stats)`` as one :class:`BaseCallback`."""
    if callback is None:
        return BaseCallback()
    if isinstance(callback, BaseCallback):
        return callback
    if isinstance(callback, list | tuple):
        return CallbackList(callback)
    if callable(callback):
        return FunctionCallback(callback)
    raise TypeError(f"callback: expected a BaseCallback, a list of them or a function, got {callback!r}")


def _positive(name: str, value: int) -> int:
    if not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int (env steps), got {value!r}")
    return value


# --- evaluation -------------------------------------------------------------------------------------
class EvalCallback(BaseCallback):
    """Evaluate every ``eval_freq`` env steps; keep the best model; hand over to other callbacks.

    ``eval_env``: None (the algorithm's own evaluation env and seeding), an env id, an
    :class:`~rlsuite.config.EnvConfig` or a vector env (a team vector env for multi-agent learners).
    After each evaluation: ``last_mean_reward``, ``best_mean_reward``, ``evaluations_timesteps``,
    ``evaluations_results`` (returns per episode) and ``evaluations_rates`` (win / success rate where the
    env reports one) are updated; with ``best_model_save_path`` a new best is saved there as
    ``best_model.pt``; with ``log_path`` the history goes to ``log_path/evaluations.json``.
    ``callback_on_new_best`` runs after a new best, ``callback_after_eval`` after every evaluation;
    either can stop training by returning ``False`` (see :class:`StopTrainingOnRewardThreshold`).
    """

    def __init__(
        self,
        eval_env: Any = None,
        *,
        eval_freq: int = 10_000,
        n_eval_episodes: int = 10,
        deterministic: bool = True,
        best_model_save_path: str | os.PathLike | None = None,
        log_path: str | os.PathLike | None = None,
        callback_on_new_best: BaseCallback | None = None,
        callback_after_eval: BaseCallback | None = None,
        verbose: int = 1,
    ) -> None:
        super().__init__(verbose)
        self.eval_env = eval_env
        self.eval_freq = _positive("eval_freq", eval_freq)
        self.n_eval_episodes = _positive("n_eval_episodes", n_eval_episodes)
        self.deterministic = deterministic
        self.best_model_save_path = Path(best_model_save_path) if best_model_save_path else None
        self.log_path = Path(log_path) if log_path else None
        self.callback_on_new_best = callback_on_new_best
        self.callback_after_eval = callback_after_eval
        for child in (callback_on_new_best, callback_after_eval):
            if child is not None:
                child.parent = self
        self.best_mean_reward = -math.inf
        self.last_mean_reward = -math.inf
        self.evaluations_timesteps: list[int] = []
        self.evaluations_results: list[list[float]] = []
        self.evaluations_rates: list[float | None] = []
        self._env = None

    def _init_callback(self) -> None:
        for child in (self.callback_on_new_best, self.callback_after_eval):
            if child is not None:
                child.init_callback(self.algo)

    def _on_step(self) -> bool:
        if not self.crossed(self.eval_freq):
            return True
        result = self.evaluate()
        self.last_mean_reward = result.mean
        self.evaluations_timesteps.append(self.num_timesteps)
        self.evaluations_results.append([float(r) for r in result.returns])
        self.evaluations_rates.append(_rate(result))
        if self.verbose:
            rate = "" if self.evaluations_rates[-1] is None else f", rate {self.evaluations_rates[-1]:.2f}"
            print(f"eval at {self.num_timesteps} steps: return {result.mean:.2f} ± {result.std:.2f}{rate}")
        self._write_log()
        keep_going = True
        if result.mean > self.best_mean_reward:
            self.best_mean_reward = result.mean
            if self.best_model_save_path is not None:
                self.algo.save(self.best_model_save_path / "best_model.pt")
            if self.callback_on_new_best is not None:
                keep_going = self.callback_on_new_best.on_step()
        if self.callback_after_eval is not None:
            keep_going = self.callback_after_eval.on_step() and keep_going
        return keep_going

    def evaluate(self):
        """One evaluation of ``n_eval_episodes`` episodes (on ``eval_env`` when one was given)."""
        if self.eval_env is None:
            return self.algo.evaluate(self.n_eval_episodes, deterministic=self.deterministic)
        return _evaluate_on(self.algo, self._eval_vector_env(), self.n_eval_episodes, self.deterministic)

    def _eval_vector_env(self):
        if self._env is None:
            import rlsuite
            from rlsuite.algos.env_source import EnvInstance
            from rlsuite.config import EnvConfig

            if isinstance(self.eval_env, str | EnvConfig):
                cfg = EnvConfig(id=self.eval_env) if isinstance(self.eval_env, str) else self.eval_env
                self._env = rlsuite.make_vec(cfg.id, min(self.n_eval_episodes, 16), **cfg.kwargs)
            else:
                self._env = EnvInstance(self.eval_env).make(1)
        return self._env

    def _write_log(self) -> None:
        if self.log_path is None:
            return
        from rlsuite.core.atomic import atomic_write_text

        history = {
            "timesteps": self.evaluations_timesteps,
            "results": self.evaluations_results,
            "rates": self.evaluations_rates,
        }
        atomic_write_text(self.log_path / "evaluations.json", json.dumps(history) + "\n")


def _rate(result) -> float | None:
    flags = result.wins or result.successes
    return float(np.mean(flags)) if flags else None


def _evaluate_on(algo, env, episodes: int, deterministic: bool):
    """The algorithm's policy on a given vector env (any kind: the one evaluator plays them all; the
    policy's memory is its own per-call state, so training's recurrent state is untouched)."""
    import torch

    from rlsuite.training.evaluation import evaluate_policy

    seed = algo.seed + algo.global_step
    with torch.inference_mode():
        return evaluate_policy(algo.agent, env, episodes, deterministic=deterministic, seed=seed)


class StopTrainingOnRewardThreshold(BaseCallback):
    """Stop once an evaluation's mean return reaches ``reward_threshold`` (an EvalCallback's
    ``callback_on_new_best``)."""

    def __init__(self, reward_threshold: float, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.reward_threshold = float(reward_threshold)

    def _on_step(self) -> bool:
        if not isinstance(self.parent, EvalCallback):
            raise TypeError("StopTrainingOnRewardThreshold must be an EvalCallback's callback_on_new_best")
        reached = self.parent.best_mean_reward >= self.reward_threshold
        if reached and self.verbose:
            print(f"stopping: mean return {self.parent.best_mean_reward:.2f} >= {self.reward_threshold}")
        return not reached


class StopTrainingOnNoModelImprovement(BaseCallback):
    """Stop after ``max_no_improvement_evals`` evaluations in a row without a new best (after ``min_evals``
    evaluations); use as an :class:`EvalCallback`'s ``callback_after_eval``."""

    def __init__(self, max_no_improvement_evals: int, min_evals: int = 0, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.max_no_improvement_evals = _positive("max_no_improvement_evals", max_no_improvement_evals)
        self.min_evals = int(min_evals)
        self.last_best = -math.inf
        self.no_improvement = 0

    def _on_step(self) -> bool:
        if not isinstance(self.parent, EvalCallback):
            raise TypeError("StopTrainingOnNoModelImprovement must be an EvalCallback's callback_after_eval")
        if self.n_calls > self.min_evals:
            improved = self.parent.best_mean_reward > self.last_best
            self.no_improvement = 0 if improved else self.no_improvement + 1
        self.last_best = self.parent.best_mean_reward
        stop = self.no_improvement >= self.max_no_improvement_evals
        if stop and self.verbose:
            print(f"stopping: no new best in {self.no_improvement} evaluations")
        return not stop


# --- files ------------------------------------------------------------------------------------------
class CheckpointCallback(BaseCallback):
    """Save a complete checkpoint every ``save_freq`` env steps: ``save_path/<name_prefix>_<N>_steps.pt``."""

    def __init__(
        self, save_freq: int, save_path: str | os.PathLike, name_prefix: str = "rl_model", verbose: int = 0
    ) -> None:
        super().__init__(verbose)
        self.save_freq = _positive("save_freq", save_freq)
        self.save_path = Path(save_path)
        self.name_prefix = name_prefix
        self.saved: list[Path] = []

    def _on_step(self) -> bool:
        if self.crossed(self.save_freq):
            path = self.save_path / f"{self.name_prefix}_{self.num_timesteps}_steps.pt"
            self.algo.save(path)
            self.saved.append(path)
            if self.verbose:
                print(f"saved {path}")
        return True


class VideoCallback(BaseCallback):
    """Record the policy every ``video_freq`` env steps to ``video_folder/video-step<N>.mp4`` (``.gif``
    without ffmpeg; a team video for SMAC / football runs, a ``.md`` transcript for text runs)."""

    def __init__(
        self,
        video_freq: int,
        video_folder: str | os.PathLike,
        *,
        episodes: int = 1,
        deterministic: bool = True,
        fps: float | None = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        self.video_freq = _positive("video_freq", video_freq)
        self.video_folder = Path(video_folder)
        self.episodes, self.deterministic, self.fps = episodes, deterministic, fps
        self.recorded: list[Path] = []

    def _on_step(self) -> bool:
        if self.crossed(self.video_freq):
            from rlsuite.training.media import default_media_path, record_policy_media

            path = default_media_path(self.video_folder, self.num_timesteps, self.algo, prefix="video")
            path = self.video_folder / path.name
            media = record_policy_media(
                self.algo,
                path,
                episodes=self.episodes,
                seed=self.algo.seed + self.num_timesteps,
                deterministic=self.deterministic,
                fps=self.fps,
            )
            self.recorded.append(media.path)
            if self.verbose:
                print(media.describe())
        return True
