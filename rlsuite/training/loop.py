"""The one training loop every algorithm shares: collect -> update -> log -> evaluate -> checkpoint.

The loop drives any :class:`Learner` (``rlsuite.algos.base.Algorithm`` is one) through the hooks listed
there; it imports no learner.
"""

from __future__ import annotations

import math
import signal
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, Protocol

import rlsuite
from rlsuite.config import EnvConfig
from rlsuite.core.episodes import EpisodeTracker
from rlsuite.core.progress import TrainingProgress, progress_enabled, task
from rlsuite.core.seeding import eval_seed
from rlsuite.training.callbacks import BaseCallback, as_callback
from rlsuite.training.evaluation import EvalResult
from rlsuite.training.run import Run


class Learner(Protocol):
    """What the loop reads and calls on a learner (every ``Algorithm`` has it)."""

    name: ClassVar[str]
    default_log_every: ClassVar[int]
    env_config: EnvConfig
    seed: int
    device: Any
    global_step: int  # advanced by collect
    iteration: int
    total_steps: int  # the planned length of the run (schedules' horizon)
    train_seconds: float
    episodes: EpisodeTracker

    def collect(self) -> dict[str, float]: ...

    def update(self) -> dict[str, float]: ...

    def logged_stats(self) -> dict[str, float]: ...

    def evaluate(self) -> EvalResult: ...

    def state_dict(self) -> dict[str, Any]: ...


def _crossed(previous: int, current: int, every: int) -> bool:
    """True when a multiple of ``every`` lies in (previous, current]; ``every == 0`` never fires."""
    return every > 0 and previous // every < current // every


@contextmanager
def _graceful_interrupt() -> Iterator[dict[str, bool]]:
    """First Ctrl-C: finish the iteration, checkpoint, then stop. Second Ctrl-C: stop at once."""
    request = {"stop": False}
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handler(signum, frame):
        if request["stop"]:
            raise KeyboardInterrupt
        request["stop"] = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield request
    finally:
        signal.signal(signal.SIGINT, previous)


def run_training_loop(
    algo: Learner,
    total_steps: int,
    *,
    horizon: int | None = None,
    run: Run | None = None,
    callback=None,
    progress_bar: bool = False,
) -> None:
    """Train ``algo`` until ``global_step >= total_steps``; a progress bar shows when ``run`` asks for one
    (``log.progress``, not ``--quiet``) or, without a run, when ``progress_bar`` is true."""
    algo.total_steps = total_steps if horizon is None else horizon
    wall_start = time.perf_counter()
    show = bool(run.progress) if run is not None else bool(progress_bar)
    progress = TrainingProgress(
        total_steps,
        algo.global_step,
        enabled=show,
        label=f"{algo.name} {algo.env_config.id.split('/')[-1]}",
    )
    algo.side_logger = run.logger.log_tensorboard if run is not None else None
    hooks = as_callback(callback) if callback is not None else None
    if hooks is not None:
        hooks.on_training_start(algo, total_steps)
    with _graceful_interrupt() as interrupt, progress_enabled(show):
        try:
            _iterate(algo, total_steps, run, hooks, progress, interrupt)
        finally:
            progress.close()
            algo.side_logger = None
            if hooks is not None:
                hooks.on_training_end()
    if run is not None:
        _finish(algo, run, time.perf_counter() - wall_start)


def _iterate(
    algo: Learner, total_steps: int, run: Run | None, callback: BaseCallback | None, progress, interrupt
) -> None:
    session_start, session_step = algo.train_seconds, algo.global_step
    while algo.global_step < total_steps:
        previous = algo.global_step
        started = time.perf_counter()
        stats = algo.collect()
        stats.update(algo.update())
        algo.iteration += 1
        algo.train_seconds += time.perf_counter() - started
        stats.update(algo.episodes.summary())
        sps = (algo.global_step - session_step) / max(algo.train_seconds - session_start, 1e-9)
        if run is not None:
            _log_and_evaluate(algo, run, previous, stats, sps)
            if interrupt["stop"] or _crossed(previous, algo.global_step, run.config.checkpoint.every_steps):
                _checkpoint(algo, run)
        progress.update(algo.global_step, sps, stats.get("rollout/ep_return_mean"))
        if interrupt["stop"]:
            raise KeyboardInterrupt
        if callback is not None:
            callback.update_locals(stats)
            if not callback.on_step():
                break


def _log_and_evaluate(algo: Learner, run: Run, previous: int, stats: dict[str, Any], sps: float) -> None:
    """Evaluate if an eval point was crossed; log if a log or eval point was."""
    step, cfg = algo.global_step, run.config
    evaluated = _crossed(previous, step, cfg.eval.every_steps)
    if evaluated:
        with task(f"evaluating {cfg.eval.episodes} episodes", None):
            run.record_eval(step, algo.evaluate())
        stats.update(run.last_eval[1].metrics())
    if _crossed(previous, step, cfg.eval.video_every_steps):
        _record_training_video(algo, run, step)
    log_every = cfg.log.every_steps or algo.default_log_every
    if log_every == 0 or evaluated or _crossed(previous, step, log_every):
        stats.update(algo.logged_stats())
        # Wall-clock figures ("time/..." keys) go to TensorBoard only; metrics.csv holds what the seed fixes.
        timing = {key: stats.pop(key) for key in [k for k in stats if k.startswith("time/")]}
        run.logger.log(step, stats, timing={"time/sps": sps, **timing})


def _record_training_video(algo: Learner, run: Run, step: int) -> None:
    """``<run>/videos/train-step<N>``: a video (a transcript for text runs); a failure warns once and
    switches training videos off for the run (a machine without a GL backend, say)."""
    from rlsuite.training.media import default_media_path, record_policy_media

    if run.video_error is not None:
        return
    path = default_media_path(run.directory, step, algo, prefix="train")
    try:
        with task("recording video", None):
            record_policy_media(
                algo,
                path,
                episodes=run.config.eval.video_episodes,
                seed=eval_seed(algo.seed, step),
                deterministic=run.config.eval.deterministic,
            )
    except (RuntimeError, ValueError, OSError) as exc:  # VideoError is a RuntimeError
        run.video_error = f"{type(exc).__name__}: {exc}"
        warnings.warn(f"eval.video_every_steps: no training videos for this run ({exc})", stacklevel=2)


def _checkpoint(algo: Learner, run: Run) -> None:
    """Save a checkpoint once the metrics rows it covers are on disk."""
    run.logger.sync()
    run.checkpoints.save(algo.state_dict(), algo.global_step)


def _finish(algo: Learner, run: Run, session_wall: float) -> None:
    """Final evaluation (unless one already ran at this step), checkpoint and ``summary.json``.

    Safe to repeat after a kill anywhere in it: a resumed run takes the recorded evaluation at this
    step (``checkpoints/last_eval.json``) instead of evaluating again, and logs its row only if
    ``metrics.csv`` does not hold it yet.
    """
    step = algo.global_step
    if run.last_eval is not None and run.last_eval[0] == step:
        result = run.last_eval[1]
    else:
        with task(f"final eval, {run.config.eval.episodes} episodes", None):
            result = algo.evaluate()
        run.record_eval(step, result)
    metrics = result.metrics()
    if not all(run.logger.has_value(step, key) for key in metrics):
        run.logger.log(step, metrics)
    _checkpoint(algo, run)
    summary = {
        "algo": algo.name,
        "env": algo.env_config.id,
        "seed": algo.seed,
        "total_steps": step,
        "requested_steps": algo.total_steps,
        "wall_s": round(session_wall, 3),
        "train_s": round(algo.train_seconds, 3),
        "sps": round(step / algo.train_seconds, 1) if algo.train_seconds > 0 else math.nan,
        "eval_return_mean": result.mean,
        "eval_return_std": result.std,
        "eval_episodes": len(result.returns),
        "eval_returns": [round(float(r), 6) for r in result.returns],  # per episode, for IQM / bootstrap
        "iterations": algo.iteration,
        "device": str(algo.device),
        "rlsuite_version": rlsuite.__version__,
    }
    try:
        score = rlsuite.spec(algo.env_config.id).normalized_score(result.mean)
    except rlsuite.UnknownEnvError:  # an env instance without a registered id
        score = None
    if score is not None:  # D4RL's normalised score, for the tasks whose family declares reference returns
        summary["normalized_score"] = round(score, 4)
    if result.successes:
        summary["success_rate"] = sum(result.successes) / len(result.successes)
    if result.wins:
        summary["win_rate"] = sum(result.wins) / len(result.wins)
    summary.update({key: value for key, value in result.extras.items() if key not in summary})
    run.write_summary(summary)
