"""Progress displays (rich): the training bar, and sub-task bars for long work inside or outside it.

The training bar shows steps, steps/s, the latest episode return and the time left on one line that
fits 80 columns (long labels are shortened, the bar takes what is left). Long work that happens
*inside* a training iteration (an LLM's SFT warm-up, a model pretraining phase) or in a command of its
own (dataset collection, report building) opens a :func:`task`: a second bar under the training bar
while one is shown, a bar of its own otherwise, and nothing at all when progress is off (``--quiet``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

LABEL_WIDTH = 24  # the label column; with the others the line fits 80 columns
_active: list[Progress] = []  # the training display now on screen (at most one)
_state = {"enabled": True}


def _shorten(label: str, width: int = LABEL_WIDTH) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def _compact(number: float) -> str:
    """``12345`` -> ``12.3k``; ``2_000_000`` -> ``2M``: step counts that stay short."""
    for unit, scale in (("M", 1e6), ("k", 1e3)):
        if abs(number) >= scale:
            text = f"{number / scale:.1f}".rstrip("0").rstrip(".")
            return f"{text}{unit}"
    return f"{number:.0f}"


class TrainingProgress:
    """The one-line training bar: ``ppo CartPole-v1 ━━━━━ 40k/100k  12,345 sps  ret 312.5  0:00:05``."""

    def __init__(
        self,
        total_steps: int,
        start_step: int = 0,
        *,
        enabled: bool = True,
        label: str = "train",
        console: Console | None = None,
    ):
        self.enabled = enabled
        self.total_steps = total_steps
        self._progress: Progress | None = None
        if not enabled:
            return
        self._progress = Progress(
            TextColumn("[bold]{task.description}", table_column=None),
            BarColumn(bar_width=None),
            TextColumn("{task.fields[count]:>11}"),
            TextColumn("{task.fields[sps]:>10}"),
            TextColumn("{task.fields[ret]:<12}"),
            TimeRemainingColumn(),
            transient=False,
            expand=True,
            console=console,
        )
        self._task = self._progress.add_task(
            _shorten(label), total=total_steps, completed=start_step, sps="", ret="", count=""
        )
        self._set_count(start_step)
        self._progress.start()
        _active.append(self._progress)

    def _set_count(self, step: int) -> None:
        count = f"{_compact(step)}/{_compact(self.total_steps)}"
        self._progress.update(self._task, count=count)

    def update(self, step: int, sps: float, latest_return: float | None) -> None:
        if self._progress is None:
            return
        ret = "" if latest_return is None or not math.isfinite(latest_return) else f"ret {latest_return:.1f}"
        self._progress.update(self._task, completed=step, sps=f"{sps:,.0f} sps", ret=ret)
        self._set_count(step)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            if self._progress in _active:
                _active.remove(self._progress)
            self._progress = None


class TaskHandle:
    """What :func:`task` yields: ``advance(n, note=...)`` moves the bar and sets its note."""

    def __init__(self, progress: Progress | None, task_id: int | None) -> None:
        self._progress, self._task_id = progress, task_id
        self.completed = 0

    def advance(self, amount: int = 1, note: str | None = None) -> None:
        self.completed += amount
        if self._progress is None:
            return
        fields = {} if note is None else {"note": note}
        self._progress.update(self._task_id, advance=amount, **fields)


@contextmanager
def task(description: str, total: int | None, *, enabled: bool = True) -> Iterator[TaskHandle]:
    """A progress bar for ``total`` units of long work (None: unknown total, a spinner-like bar).

    Shown under the training bar when one is on screen, else on its own; nothing when ``enabled`` is
    false or progress is switched off (:func:`progress_enabled`).
    """
    if not (enabled and _state["enabled"]):
        yield TaskHandle(None, None)
        return
    if _active:
        progress = _active[-1]
        task_id = progress.add_task(_shorten(description), total=total, sps="", ret="", count="", note="")
        try:
            yield _CountingHandle(progress, task_id, total)
        finally:
            progress.remove_task(task_id)
        return
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(bar_width=None),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeRemainingColumn(),
        expand=True,
        transient=total is None,  # a bar without a total says nothing once done
    )
    task_id = progress.add_task(_shorten(description, 32), total=total, note="")
    with progress:
        yield TaskHandle(progress, task_id)


class _CountingHandle(TaskHandle):
    """A sub-task on the training display: its note shows in the return column, its count in the count's."""

    def __init__(self, progress: Progress, task_id: int, total: int | None) -> None:
        super().__init__(progress, task_id)
        self.total = total

    def advance(self, amount: int = 1, note: str | None = None) -> None:
        self.completed += amount
        count = (
            f"{_compact(self.completed)}/{_compact(self.total)}" if self.total else _compact(self.completed)
        )
        fields = {"count": count}
        if note is not None:
            fields["ret"] = note
        self._progress.update(self._task_id, advance=amount, **fields)


@contextmanager
def progress_enabled(enabled: bool) -> Iterator[None]:
    """Switch every :func:`task` display off (``enabled=False``) inside the block."""
    previous, _state["enabled"] = _state["enabled"], enabled and _state["enabled"]
    try:
        yield
    finally:
        _state["enabled"] = previous
