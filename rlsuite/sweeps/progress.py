"""Sweep progress: runs done / running / failed, a line per finished run, a bar on terminals."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rlsuite.sweeps.execute import RunOutcome


class SweepProgress:
    """Counts and shows the state of a sweep's runs; ``outcomes`` keeps how each ended."""

    def __init__(
        self, name: str, total: int, already_done: int, *, enabled: bool = True, running_word: str = "running"
    ) -> None:
        self.running_word = running_word  # Ray queues tasks itself: "in flight" there
        self.total = total
        self.done = already_done
        self.running = 0
        self.failed = 0
        self.outcomes: list[RunOutcome] = []
        self.enabled = enabled
        self._console = Console(file=sys.stderr, soft_wrap=True)
        self._bar: Progress | None = None
        if not enabled:
            return
        if already_done:
            self._console.print(f"sweep {name}: {already_done} of {total} runs already finished (kept)")
        if self._console.is_terminal:
            self._bar = Progress(
                TextColumn(f"[bold]sweep {name}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[state]}"),
                TimeElapsedColumn(),
                console=self._console,
            )
            self._task = self._bar.add_task(name, total=total, completed=already_done, state=self.state())
            self._bar.start()

    def state(self) -> str:
        return f"{self.done} done · {self.running} {self.running_word} · {self.failed} failed"

    def started(self, run_id: str) -> None:
        self.running += 1
        self._refresh()

    def finished(self, outcome: RunOutcome) -> None:
        self.outcomes.append(outcome)
        self.running -= 1
        if outcome.status == "done":
            self.done += 1
            detail = f"eval return {outcome.eval_return:.2f}" if outcome.eval_return is not None else "done"
        else:
            self.failed += 1
            detail = f"FAILED: {outcome.error}"
        self._refresh()
        if self.enabled:
            count = f"[{self.done + self.failed}/{self.total}]"
            self._console.print(
                f"{count} {outcome.id}: {detail} ({outcome.seconds:.0f} s) — {self.state()}",
                highlight=False,
                markup=False,
            )

    def _refresh(self) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done + self.failed, state=self.state())

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
