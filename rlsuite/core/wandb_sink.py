"""Weights & Biases logging (``log.wandb: true``, extra ``wandb``), offline by default.

Offline mode needs no account and no network: the run is written under ``<run>/wandb/`` and
``wandb sync <run>/wandb/offline-run-*`` uploads it later; ``log.wandb_mode: online`` logs live. The
W&B run is named after the run folder, carries the fully resolved config, and logs the same rows as
``metrics.csv`` (plus steps/s) at the same env steps. A resumed run continues the same W&B run id.
"""

from __future__ import annotations

import math
import os
import uuid
from pathlib import Path
from typing import Any

ID_FILE = "wandb_id.txt"


class WandbSink:
    """A metrics sink that forwards rows to a ``wandb`` run."""

    def __init__(self, run: Any) -> None:
        self.run = run

    @classmethod
    def open(
        cls, directory: Path, config: Any, config_dict: dict[str, Any], *, resume: bool = False
    ) -> WandbSink:
        """A W&B run for the run folder ``directory``: ``config`` is its ``ExperimentConfig`` (``log`` and
        ``experiment`` are read), ``config_dict`` its plain form (what W&B records)."""
        try:
            import wandb
        except ImportError as exc:
            raise ImportError("log.wandb: true needs Weights & Biases: pip install 'rlsuite[wandb]'") from exc
        id_path = directory / ID_FILE
        run_id = id_path.read_text().strip() if resume and id_path.is_file() else uuid.uuid4().hex[:8]
        id_path.write_text(run_id + "\n")
        os.environ.setdefault("WANDB_SILENT", "true")
        run = wandb.init(
            project=config.log.wandb_project,
            name=directory.name,
            group=config.experiment,
            id=run_id,
            resume="allow",
            dir=str(directory),
            mode=config.log.wandb_mode,
            config=config_dict,
            settings=wandb.Settings(console="off", silent=True),
        )
        return cls(run)

    def log(self, step: int, metrics: dict[str, Any]) -> None:
        scalars = {
            k: v
            for k, v in metrics.items()
            if k != "step" and isinstance(v, int | float) and math.isfinite(v)
        }
        self.run.log(scalars, step=int(step))

    def close(self) -> None:
        if self.run is not None:
            self.run.finish()
            self.run = None
