"""Metrics logging: ``metrics.csv`` (one row per log step, ``step`` first) and TensorBoard.

``metrics.csv`` holds only what the seed determines (returns, losses, learning rate...), so two runs
with the same seed on the CPU write identical files; wall-clock figures (steps/s) go to TensorBoard,
the progress bar and ``summary.json``.

Crash safety: a row is appended in one write; the whole file is rewritten (when a column appears, and
when a run resumes) atomically, through a temp file renamed over it, so a kill leaves either the old
or the new file. :meth:`MetricsLogger.sync` makes the rows durable; the training loop calls it before
each checkpoint, so every row a checkpoint covers is on disk first. On resume, rows after the
checkpoint's step are dropped (the resumed run makes them again) and so is a torn last row (a write
cut short by a power loss or a full disk).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

from rlsuite.core.atomic import atomic_write_text, fsync_file

METRICS_FILE = "metrics.csv"


class MetricsLogger:
    def __init__(self, run_dir: str | Path, *, tensorboard: bool = True, resume_step: int | None = None):
        self.path = Path(run_dir) / METRICS_FILE
        self.columns: list[str] = []
        self.rows: list[dict[str, Any]] = []
        if resume_step is not None and self.path.exists():
            self._load_until(resume_step)
        purge = None if resume_step is None else resume_step + 1  # TensorBoard drops later events
        self._writer = _make_tensorboard_writer(Path(run_dir) / "tb", purge) if tensorboard else None
        # Further sinks (W&B): objects with log(step, metrics) and close().
        self.sinks: list = []

    def _load_until(self, step: int) -> None:
        """On resume, keep the rows up to the checkpoint's step; later rows are re-made by the resumed run."""
        self.columns, rows = read_metrics(self.path)
        self.rows = [row for row in rows if int(row["step"]) <= step]
        self._rewrite()

    def log(self, step: int, metrics: dict[str, float], timing: dict[str, float] | None = None) -> None:
        row = {"step": step, **{k: _plain(v) for k, v in metrics.items()}}
        new_columns = [k for k in row if k not in self.columns]
        self.rows.append(row)
        if new_columns:
            self.columns += new_columns
            self._rewrite()
        else:
            line = io.StringIO()
            csv.DictWriter(line, self.columns).writerow(row)
            with self.path.open("a", newline="") as handle:
                handle.write(line.getvalue())  # the whole row in one write
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

    def has_value(self, step: int, key: str) -> bool:
        """True if a row at ``step`` already holds ``key`` (e.g. the final evaluation, before a kill)."""
        return any(int(row["step"]) == step and row.get(key) not in (None, "") for row in self.rows)

    def sync(self) -> None:
        """Flush ``metrics.csv`` to disk (before a checkpoint, so no row it covers can be lost)."""
        if self.path.exists():
            fsync_file(self.path)

    def _rewrite(self) -> None:
        text = io.StringIO()
        writer = csv.DictWriter(text, self.columns)
        writer.writeheader()
        writer.writerows(self.rows)
        atomic_write_text(self.path, text.getvalue())

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        for sink in self.sinks:
            sink.close()
        self.sinks = []


def read_metrics(path: str | Path) -> tuple[list[str], list[dict[str, str]]]:
    """The columns and rows of a ``metrics.csv``, without a torn last row.

    A row is complete when its line ends with a newline: a write cut short (power loss, full disk)
    leaves a last line without one, possibly padded with NUL bytes by the filesystem; that line is
    dropped. A complete row with the wrong number of fields is damage this module never makes, so it
    raises ValueError naming the file and line.
    """
    path = Path(path)
    data = path.read_bytes()
    if b"\0" in data:
        data = data[: data.index(b"\0")]
    data = data[: data.rfind(b"\n") + 1]  # drop an unterminated (torn) last line
    reader = csv.reader(io.StringIO(data.decode("utf-8", errors="replace"), newline=""))
    lines = list(reader)
    if not lines:
        return [], []
    columns, rows = lines[0], []
    for number, values in enumerate(lines[1:], start=2):
        if len(values) != len(columns) or not values[0].lstrip("-").isdigit():
            raise ValueError(
                f"{path}: line {number} has {len(values)} fields (header has {len(columns)}) or no integer "
                "step; the file was changed by something other than rlsuite"
            )
        rows.append(dict(zip(columns, values)))
    return columns, rows


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        return float(f"{value:.9g}")
    return value


def _make_tensorboard_writer(directory: Path, purge_step: int | None):
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=str(directory), purge_step=purge_step)
