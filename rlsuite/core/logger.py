"""Metrics logging: ``metrics.csv`` (one row per log step, ``step`` first) and TensorBoard.

``metrics.csv`` holds only what the seed determines (returns, losses, learning rate...), so two runs
with the same seed on the CPU write identical files; wall-clock figures (steps/s) go to TensorBoard,
the progress bar and ``summary.json``.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

METRICS_FILE = "metrics.csv"


class MetricsLogger:
    def __init__(self, run_dir: str | Path, *, tensorboard: bool = True, resume_step: int | None = None):
        self.path = Path(run_dir) / METRICS_FILE
        self.columns: list[str] = []
        self.rows: list[dict[str, Any]] = []
        if resume_step is not None and self.path.exists():
            self._load_until(resume_step)
        self._writer = _make_tensorboard_writer(Path(run_dir) / "tb") if tensorboard else None
        # Further sinks (W&B): objects with log(step, metrics) and close().
        self.sinks: list = []

    def _load_until(self, step: int) -> None:
        """On resume, keep the rows up to the checkpoint's step; later rows are re-made by the resumed run."""
        with self.path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            self.columns = list(reader.fieldnames or [])
            self.rows = [row for row in reader if int(row["step"]) <= step]
        self._rewrite()

    def log(self, step: int, metrics: dict[str, float], timing: dict[str, float] | None = None) -> None:
        row = {"step": step, **{k: _plain(v) for k, v in metrics.items()}}
        new_columns = [k for k in row if k not in self.columns]
        self.rows.append(row)
        if new_columns:
            self.columns += new_columns
            self._rewrite()
        else:
            with self.path.open("a", newline="") as handle:
                csv.DictWriter(handle, self.columns).writerow(row)
        if self._writer is not None:
            for key, value in {**metrics, **(timing or {})}.items():
                if isinstance(value, (int, float)) and math.isfinite(value):
                    self._writer.add_scalar(key, value, step)
        for sink in self.sinks:
            sink.log(step, {**row, **(timing or {})})

    def log_tensorboard(self, step: int, metrics: dict[str, float]) -> None:
        """Scalars for TensorBoard only, at ``step`` of their own axis (e.g. a warm-up's step count)."""
        if self._writer is None:
            return
        for key, value in metrics.items():
            value = _plain(value)
            if isinstance(value, (int, float)) and math.isfinite(value):
                self._writer.add_scalar(key, value, step)
        self._writer.flush()

    def _rewrite(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, self.columns)
            writer.writeheader()
            writer.writerows(self.rows)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        for sink in self.sinks:
            sink.close()
        self.sinks = []


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        return float(f"{value:.9g}")
    return value


def _make_tensorboard_writer(directory: Path):
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=str(directory))
