"""The one training loop every algorithm shares: collect -> update -> log -> evaluate -> checkpoint.

The loop drives any :class:`Learner` (``rlsuite.algos.base.Algorithm`` is one) through the hooks listed
there; it imports no learner.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, Protocol

import rlsuite
from rlsuite.config import EnvConfig
from rlsuite.core.episodes import EpisodeTracker
from rlsuite.core.progress import TrainingProgress
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
    algo: Learner, total_steps: int, *, horizon: int | None = None, run: Run | None = None, callback=None
) -> None:
    algo.total_steps = total_steps if horizon is None else horizon
    wall_start = time.perf_counter()
    progress = TrainingProgress(
        total_steps,
        algo.global_step,
        enabled=bool(run and run.progress),
        label=f"{algo.name} {algo.env_config.id}",
    )
    with _graceful_interrupt() as interrupt:
        try:
            _iterate(algo, total_steps, run, callback, progress, interrupt)
        finally:
            progress.close()
    if run is not None:
        _finish(algo, run, time.perf_counter() - wall_start)


def _iterate(algo: Learner, total_steps: int, run: Run | None, callback, progress, interrupt) -> None:
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
                run.checkpoints.save(algo.state_dict(), algo.global_step)
        progress.update(algo.global_step, sps, stats.get("rollout/ep_return_mean"))
        if interrupt["stop"]:
            raise KeyboardInterrupt
        if callback is not None and callback(algo, stats) is False:
            break


def _log_and_evaluate(algo: Learner, run: Run, previous: int, stats: dict[str, Any], sps: float) -> None:
    """Evaluate if an eval point was crossed; log if a log or eval point was."""
    step, cfg = algo.global_step, run.config
    evaluated = _crossed(previous, step, cfg.eval.every_steps)
    if evaluated:
        run.last_eval = (step, algo.evaluate())
        stats.update(run.last_eval[1].metrics())
    log_every = cfg.log.every_steps or algo.default_log_every
    if log_every == 0 or evaluated or _crossed(previous, step, log_every):
        stats.update(algo.logged_stats())
        # Wall-clock figures ("time/..." keys) go to TensorBoard only; metrics.csv holds what the seed fixes.
        timing = {key: stats.pop(key) for key in [k for k in stats if k.startswith("time/")]}
        run.logger.log(step, stats, timing={"time/sps": sps, **timing})


def _finish(algo: Learner, run: Run, session_wall: float) -> None:
    """Final evaluation (unless one just ran at this step), checkpoint and ``summary.json``."""
    step = algo.global_step
    if run.last_eval is not None and run.last_eval[0] == step:
        result = run.last_eval[1]
    else:
        result = algo.evaluate()
        run.logger.log(step, result.metrics())
    run.checkpoints.save(algo.state_dict(), step)
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
    score = rlsuite.spec(algo.env_config.id).normalized_score(result.mean)
    if score is not None:  # D4RL's normalised score, for the tasks whose family declares reference returns
        summary["normalized_score"] = round(score, 4)
    if result.successes:
        summary["success_rate"] = sum(result.successes) / len(result.successes)
    if result.wins:
        summary["win_rate"] = sum(result.wins) / len(result.wins)
    run.write_summary(summary)
