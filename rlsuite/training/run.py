"""A run folder: resolved config, metrics, TensorBoard events, checkpoints and ``summary.json``.

runs/<experiment>/<algo>-<env>-s<seed>-<timestamp>/
    config.yaml  metrics.csv  tb/  checkpoints/{step_N.pt, latest.pt, last_eval.json}  summary.json
    train.lock   (held by the one process writing the folder)

A run folder has one writer at a time: :meth:`Run.open` takes the folder's lock (or is handed the one
``rlsuite train`` took before reading the checkpoint) and :meth:`Run.close` frees it. With the lock
held, temp files that a killed writer left behind are removed.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rlsuite.config import ExperimentConfig, experiment_to_dict, save_yaml
from rlsuite.core.atomic import remove_stale_temporaries
from rlsuite.core.checkpoint import CHECKPOINT_DIR, CheckpointManager, atomic_write_json
from rlsuite.core.logger import MetricsLogger
from rlsuite.core.runlock import RunLock
from rlsuite.training.evaluation import EvalResult

CONFIG_FILE = "config.yaml"
SUMMARY_FILE = "summary.json"
LAST_EVAL_FILE = "last_eval.json"  # in checkpoints/: the latest evaluation, for an exact resume


def run_prefix(config: ExperimentConfig) -> str:
    """``<algo>-<env name>-s<seed>-``: what every run folder of this experiment starts with."""
    return f"{config.algo.name}-{config.env.id.split('/')[-1]}-s{config.seed}-"


def run_name(config: ExperimentConfig) -> str:
    return run_prefix(config) + time.strftime("%Y%m%d-%H%M%S")


@dataclass
class Run:
    """What the training loop writes to, for one experiment."""

    directory: Path
    config: ExperimentConfig
    logger: MetricsLogger
    checkpoints: CheckpointManager
    progress: bool = True
    last_eval: tuple[int, EvalResult] | None = None  # (step, result) of the latest evaluation
    video_error: str | None = None  # why training videos were switched off for this run, if they were
    lock: RunLock | None = None

    @classmethod
    def open(
        cls,
        directory: Path,
        config: ExperimentConfig,
        *,
        resume_step: int | None = None,
        quiet: bool = False,
        lock: RunLock | None = None,
    ) -> Run:
        """Open ``directory`` for writing (taking its lock unless ``lock`` is the one already held)."""
        lock = lock if lock is not None and lock.held else RunLock.acquire(directory)
        try:
            for folder in (directory, directory / CHECKPOINT_DIR):
                remove_stale_temporaries(folder)
            save_yaml(experiment_to_dict(config), directory / CONFIG_FILE)
            logger = MetricsLogger(directory, tensorboard=config.log.tensorboard, resume_step=resume_step)
            if config.log.wandb:
                from rlsuite.core.wandb_sink import WandbSink

                sink = WandbSink.open(
                    directory, config, experiment_to_dict(config), resume=resume_step is not None
                )
                logger.sinks.append(sink)
        except BaseException:
            lock.release()
            raise
        run = cls(
            directory=directory,
            config=config,
            logger=logger,
            checkpoints=CheckpointManager(directory, keep=config.checkpoint.keep),
            progress=config.log.progress and not quiet,
            lock=lock,
        )
        if resume_step is not None:
            run.last_eval = _read_last_eval(directory, resume_step)
        return run

    def record_eval(self, step: int, result: EvalResult) -> None:
        """Keep an evaluation (in memory and in ``checkpoints/last_eval.json``) before it is logged.

        A run killed after its final checkpoint and before ``summary.json`` resumes with this result
        instead of evaluating again, so it neither logs the final evaluation twice nor reports one that
        differs from the logged row.
        """
        self.last_eval = (step, result)
        record = {"step": step, **asdict(result)}
        atomic_write_json(self.directory / CHECKPOINT_DIR / LAST_EVAL_FILE, record)

    def write_summary(self, summary: dict[str, Any]) -> Path:
        path = self.directory / SUMMARY_FILE
        atomic_write_json(path, summary)
        return path

    def close(self) -> None:
        self.logger.close()
        if self.lock is not None:
            self.lock.release()


def _read_last_eval(directory: Path, step: int) -> tuple[int, EvalResult] | None:
    """The recorded evaluation at ``step`` (the step being resumed from), if there is one."""
    path = directory / CHECKPOINT_DIR / LAST_EVAL_FILE
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("step") != step:
        return None
    try:
        result = EvalResult(
            returns=[float(r) for r in record["returns"]],
            lengths=[int(n) for n in record["lengths"]],
            successes=[bool(s) for s in record.get("successes", [])],
            wins=[bool(w) for w in record.get("wins", [])],
            extras={str(k): float(v) for k, v in record.get("extras", {}).items()},
        )
    except (KeyError, TypeError, ValueError):
        return None
    return (step, result) if result.returns else None
