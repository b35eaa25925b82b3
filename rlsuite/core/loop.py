"""The one training loop every algorithm shares: collect -> update -> log -> evaluate -> checkpoint."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import rlsuite
from rlsuite.core.progress import TrainingProgress

if TYPE_CHECKING:
    from rlsuite.algos.base import Algorithm
    from rlsuite.core.evaluation import EvalResult
    from rlsuite.core.run import Run


def _crossed(previous: int, current: int, every: int) -> bool:
    """True when a multiple of ``every`` lies in (previous, current]; ``every == 0`` never fires."""
    return every > 0 and previous // every < current // every


def run_training_loop(algo: Algorithm, total_steps: int, *, run: Run | None = None, callback=None) -> None:
    algo.total_steps = total_steps
    progress = TrainingProgress(
        total_steps,
        algo.global_step,
        enabled=bool(run and run.progress),
        label=f"{algo.name} {algo.env_config.id}",
    )
    last_eval: tuple[int, EvalResult] | None = None
    session_start, session_step, wall_start = algo.train_seconds, algo.global_step, time.perf_counter()
    try:
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
                last_eval = _log_and_evaluate(algo, run, previous, stats, sps) or last_eval
                if _crossed(previous, algo.global_step, run.config.checkpoint.every_steps):
                    run.checkpoints.save(algo.state_dict(), algo.global_step)
            progress.update(algo.global_step, sps, stats.get("rollout/ep_return_mean"))
            if callback is not None and callback(algo, stats) is False:
                break
    except KeyboardInterrupt:
        if run is not None:
            run.checkpoints.save(algo.state_dict(), algo.global_step)
        raise
    finally:
        progress.close()
    if run is not None:
        _finish(algo, run, last_eval, time.perf_counter() - wall_start)


def _log_and_evaluate(algo: Algorithm, run: Run, previous: int, stats: dict[str, Any], sps: float):
    """Log this iteration if a log or eval point was crossed; return ``(step, result)`` if it evaluated."""
    step, cfg = algo.global_step, run.config
    evaluated = None
    if _crossed(previous, step, cfg.eval.every_steps):
        result = algo.evaluate()
        stats.update(result.metrics())
        evaluated = (step, result)
    if cfg.log.every_steps == 0 or evaluated or _crossed(previous, step, cfg.log.every_steps):
        run.logger.log(step, stats, timing={"time/sps": sps})
    return evaluated


def _finish(algo: Algorithm, run: Run, last_eval: tuple[int, EvalResult] | None, session_wall: float) -> None:
    """Final evaluation (unless one just ran at this step), checkpoint and ``summary.json``."""
    step = algo.global_step
    if last_eval is None or last_eval[0] != step:
        result = algo.evaluate()
        run.logger.log(step, result.metrics())
    else:
        result = last_eval[1]
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
        "iterations": algo.iteration,
        "device": str(algo.device),
        "rlsuite_version": rlsuite.__version__,
    }
    if result.successes:
        summary["success_rate"] = sum(result.successes) / len(result.successes)
    if result.wins:
        summary["win_rate"] = sum(result.wins) / len(result.wins)
    run.write_summary(summary)
