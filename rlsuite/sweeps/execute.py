"""One sweep run, end to end: ``rlsuite train`` in a child process, its outcome from its run folder.

Every run is its own process (``python -m rlsuite.cli train <run_dir>/config.yaml``, with the progress
bar off), whichever backend starts it: a crash, a segfault or an out-of-memory kill ends that run only.
Its output goes to ``<run_dir>/train.log``; a run that exits without writing ``summary.json`` gets an
``error.json`` with the exit code and the end of the log, and the sweep goes on.

The child dies with the process that started it (:mod:`rlsuite.core.lifeline`), so a killed sweep
driver leaves no run training on; and a folder whose lock another process holds
(:mod:`rlsuite.core.runlock`) is neither cleared nor started again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rlsuite.core.atomic import atomic_write_text
from rlsuite.core.checkpoint import latest_checkpoint
from rlsuite.core.lifeline import lifeline_environment
from rlsuite.core.runlock import LockHolder, lock_holder
from rlsuite.training.run import CONFIG_FILE, SUMMARY_FILE

LOG_FILE = "train.log"
ERROR_FILE = "error.json"
LOG_TAIL_LINES = 40
_PRIVATE_VARIABLES = ("RAY_AUTH_TOKEN",)  # the local Ray cluster's secret: runs do not need it


@dataclass
class RunOutcome:
    """How one run ended."""

    id: str
    status: str  # "done" or "failed"
    seconds: float
    returncode: int | None = None
    error: str | None = None
    eval_return: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_status(run_dir: Path) -> str:
    """``done`` (summary.json), ``failed`` (error.json), ``partial`` (a checkpoint) or ``pending``."""
    if (run_dir / SUMMARY_FILE).exists():
        return "done"
    if (run_dir / ERROR_FILE).exists():
        return "failed"
    if latest_checkpoint(run_dir) is not None:
        return "partial"
    return "pending"


class RunFolderBusy(Exception):
    """The run folder is being written by a live process (e.g. a run an earlier sweep started)."""

    def __init__(self, run_dir: Path, holder: LockHolder) -> None:
        super().__init__(f"{run_dir} is being written by {holder.describe()}")
        self.holder = holder


def prepare_run_dir(run_dir: Path, config_text: str) -> None:
    """Ready a folder for a (re-)run: keep a checkpoint to resume from, else start from an empty folder.

    Raises RunFolderBusy, touching nothing, when another process holds the folder's lock.
    """
    if (holder := lock_holder(run_dir)) is not None:
        raise RunFolderBusy(run_dir, holder)
    if run_dir.exists() and latest_checkpoint(run_dir) is None:
        shutil.rmtree(run_dir)  # a run killed before its first checkpoint: nothing to keep
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / ERROR_FILE).unlink(missing_ok=True)
    atomic_write_text(run_dir / CONFIG_FILE, config_text)


def child_environment(threads: int) -> dict[str, str]:
    """The parent's environment with thread pools sized to the run's share of the machine."""
    env = {key: value for key, value in os.environ.items() if key not in _PRIVATE_VARIABLES}
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env[name] = str(threads)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_run(run_dir: Path, threads: int) -> subprocess.Popen:
    """Launch ``rlsuite train`` on the run folder's config; output to ``train.log``.

    The child gets its own session (a terminal's Ctrl-C reaches it through the sweep, which asks it to
    checkpoint) and dies with this process (it binds itself to it on start-up).
    """
    command = [sys.executable, "-m", "rlsuite.cli", "train", str(run_dir / CONFIG_FILE)]
    with (run_dir / LOG_FILE).open("ab") as log:
        log.write(f"$ {' '.join(command)}\n".encode())
        return subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**child_environment(threads), **lifeline_environment()},
            start_new_session=True,
        )


def finish_run(run_id: str, run_dir: Path, returncode: int | None, seconds: float) -> RunOutcome:
    """Read the outcome from the folder; record an ``error.json`` for a run without a summary."""
    summary_path = run_dir / SUMMARY_FILE
    if returncode == 0 and summary_path.exists():
        summary = json.loads(summary_path.read_text())
        return RunOutcome(run_id, "done", seconds, 0, eval_return=summary.get("eval_return_mean"))
    error = _last_error_line(_log_tail(run_dir / LOG_FILE))
    return record_failure(
        run_id, run_dir, error or f"exited with code {returncode} without {SUMMARY_FILE}", returncode, seconds
    )


def record_failure(
    run_id: str, run_dir: Path, error: str, returncode: int | None, seconds: float
) -> RunOutcome:
    """Write ``error.json`` (the error line, exit code and the end of ``train.log``) for a failed run."""
    record = {
        "error": error,
        "returncode": returncode,
        "seconds": round(seconds, 3),
        "log_tail": _log_tail(run_dir / LOG_FILE),
    }
    atomic_write_text(run_dir / ERROR_FILE, json.dumps(record, indent=2) + "\n")
    return RunOutcome(run_id, "failed", seconds, returncode, error=error)


def execute_run(run_id: str, run_dir: str, threads: int) -> dict[str, Any]:
    """Run one prepared run to its end (blocking); the Ray backend's task body."""
    started = time.perf_counter()
    try:
        process = start_run(Path(run_dir), threads)
        returncode = process.wait()
    except OSError as exc:
        return RunOutcome(run_id, "failed", time.perf_counter() - started, None, error=str(exc)).to_dict()
    return finish_run(run_id, Path(run_dir), returncode, time.perf_counter() - started).to_dict()


def _log_tail(path: Path) -> str:
    if not path.exists():
        return ""
    lines = path.read_text(errors="replace").splitlines()
    return "\n".join(lines[-LOG_TAIL_LINES:])


def _last_error_line(tail: str) -> str | None:
    """The error message of a Python traceback (its last non-empty line), or the CLI's error line."""
    lines = [line.strip() for line in tail.splitlines() if line.strip() and not line.startswith("$ ")]
    return lines[-1] if lines else None
