"""A rich progress bar showing steps, steps/s and the latest episode return."""

from __future__ import annotations

import math

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


class TrainingProgress:
    def __init__(self, total_steps: int, start_step: int = 0, *, enabled: bool = True, label: str = "train"):
        self.enabled = enabled
        self._progress: Progress | None = None
        if not enabled:
            return
        self._progress = Progress(
            TextColumn(f"[bold]{label}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[sps]} steps/s  return {task.fields[ret]}"),
            TimeRemainingColumn(),
            transient=False,
        )
        self._task = self._progress.add_task(label, total=total_steps, completed=start_step, sps="-", ret="-")
        self._progress.start()

    def update(self, step: int, sps: float, latest_return: float | None) -> None:
        if self._progress is None:
            return
        ret = "-" if latest_return is None or not math.isfinite(latest_return) else f"{latest_return:.1f}"
        self._progress.update(self._task, completed=step, sps=f"{sps:,.0f}", ret=ret)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
