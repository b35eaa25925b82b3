"""A run folder: resolved config, metrics, TensorBoard events, checkpoints and ``summary.json``.

runs/<experiment>/<algo>-<env>-s<seed>-<timestamp>/
    config.yaml  metrics.csv  tb/  checkpoints/{step_N.pt, latest.pt}  summary.json
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlsuite.config import ExperimentConfig, experiment_to_dict, save_yaml
from rlsuite.core.checkpoint import CheckpointManager, atomic_write_json
from rlsuite.core.logger import MetricsLogger
from rlsuite.training.evaluation import EvalResult

CONFIG_FILE = "config.yaml"
SUMMARY_FILE = "summary.json"


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

    @classmethod
    def open(
        cls, directory: Path, config: ExperimentConfig, *, resume_step: int | None = None, quiet: bool = False
    ) -> Run:
        directory.mkdir(parents=True, exist_ok=True)
        save_yaml(experiment_to_dict(config), directory / CONFIG_FILE)
        logger = MetricsLogger(directory, tensorboard=config.log.tensorboard, resume_step=resume_step)
        return cls(
            directory=directory,
            config=config,
            logger=logger,
            checkpoints=CheckpointManager(directory, keep=config.checkpoint.keep),
            progress=config.log.progress and not quiet,
        )

    def write_summary(self, summary: dict[str, Any]) -> Path:
        path = self.directory / SUMMARY_FILE
        atomic_write_json(path, summary)
        return path

    def close(self) -> None:
        self.logger.close()
