"""Processes that must not outlive the process that started them.

Two mechanisms, both surviving a SIGKILL of the starter (which runs no clean-up code of its own):

* **Children that bind themselves to their parent.** A launcher puts :func:`lifeline_environment`
  into the child's environment; the child (``rlsuite train``) calls :func:`bind_to_parent` first
  thing. On Linux the kernel then sends it SIGKILL when the parent dies (``PR_SET_PDEATHSIG``), and
  on every POSIX system a watcher thread kills it once its parent process is gone. A parent that died
  before the child got there is caught by comparing ``getppid()`` with the pid the launcher recorded.
* **A reaper for processes we do not control** (a local Ray cluster's GCS, raylet, agents and
  workers). :class:`Reaper` starts a small watchdog process that keeps a snapshot of the starter's
  process tree and, once the starter is gone (its pipe reaches end-of-file), SIGKILLs whatever of
  that tree is still alive.

This module imports only the standard library: the reaper runs it as a script (``python
lifeline.py reap PID``) without importing rlsuite's heavy modules.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

LIFELINE_ENV = "RLSUITE_PARENT"  # "<parent pid>:<1 if PR_SET_PDEATHSIG is safe else 0>"
_POLL_SECONDS = 0.5
_PR_SET_PDEATHSIG = 1


# --- children bound to their parent ------------------------------------------------------------
def lifeline_environment() -> dict[str, str]:
    """Variables that make a child started now (from this thread) die with this process.

    ``PR_SET_PDEATHSIG`` fires when the *thread* that forked the child exits, so it is only used when
    the launcher is the main thread; children of other threads rely on the watcher thread alone.
    """
    on_main_thread = threading.current_thread() is threading.main_thread()
    return {LIFELINE_ENV: f"{os.getpid()}:{int(on_main_thread)}"}


def bind_to_parent() -> bool:
    """Die with the parent named in this process's environment (if any); True when bound.

    The variable is removed from ``os.environ`` so that this process's own children do not bind to
    the wrong parent.
    """
    value = os.environ.pop(LIFELINE_ENV, None)
    if not value or os.name != "posix":
        return False
    pid_text, _, deathsig_ok = value.partition(":")
    if not pid_text.isdigit():
        return False
    parent = int(pid_text)
    if deathsig_ok == "1" and sys.platform.startswith("linux"):
        _set_parent_death_signal(signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the signal was armed
        _die()
    threading.Thread(target=_watch_parent, args=(parent,), name="rlsuite-lifeline", daemon=True).start()
    return True


def _set_parent_death_signal(signum: int) -> None:
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0)
    except (OSError, AttributeError):
        pass  # no prctl: the watcher thread still ends this process


def _watch_parent(parent: int) -> None:
    event = threading.Event()
    while not event.wait(_POLL_SECONDS):
        if os.getppid() != parent:
            _die()


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


# --- a reaper for a process tree ---------------------------------------------------------------
class Reaper:
    """Kill what this process starts from now on, when this process ends (even by SIGKILL).

    Processes that are this process's children when the reaper starts, and their descendants, are
    left alone; everything started later (and everything those start) is tracked. :meth:`stop` (at a
    normal end) kills what is still alive of that tree and waits for the watchdog.
    """

    def __init__(self) -> None:
        keep = sorted(_children(os.getpid()))
        script = str(Path(__file__).resolve())  # -I: stdlib only, not this folder's modules
        command = [sys.executable, "-I", script, "reap", str(os.getpid()), *map(str, keep)]
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, start_new_session=True, close_fds=True
        )

    @property
    def pid(self) -> int:
        return self._process.pid

    def stop(self, timeout: float = 30.0) -> None:
        if self._process.stdin is not None and not self._process.stdin.closed:
            self._process.stdin.close()  # end-of-file: the watchdog reaps and exits
        try:
            self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def _reap_main(driver: int, keep: set[int]) -> None:
    """The watchdog: snapshot ``driver``'s new process tree until stdin closes, then kill it."""
    import select

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is for the driver
    me = os.getpid()
    tracked: dict[int, int] = {}
    while True:
        ready, _, _ = select.select([sys.stdin.buffer], [], [], _POLL_SECONDS)
        tracked.update(_tree(driver, exclude=keep | {me}))
        if ready and not sys.stdin.buffer.read1(4096):
            break  # the driver closed the pipe or died
    tracked.update(_tree(driver, exclude=keep | {me}))
    for pid, started in tracked.items():
        if _start_time(pid) == started:  # the same process, not a reused pid
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def _tree(root: int, exclude: set[int]) -> dict[int, int]:
    """``{pid: start time}`` of ``root``'s descendants, without the subtrees of ``exclude``."""
    children: dict[int, list[int]] = {}
    for pid, parent in _process_table().items():
        children.setdefault(parent, []).append(pid)
    found: dict[int, int] = {}
    stack = [pid for pid in children.get(root, []) if pid not in exclude]
    while stack:
        pid = stack.pop()
        started = _start_time(pid)
        if started is not None:
            found[pid] = started
        stack.extend(child for child in children.get(pid, []) if child not in exclude)
    return found


def _children(pid: int) -> set[int]:
    return {child for child, parent in _process_table().items() if parent == pid}


def _process_table() -> dict[int, int]:
    """``{pid: parent pid}`` of every process (``/proc`` on Linux, ``ps`` elsewhere)."""
    table: dict[int, int] = {}
    proc = Path("/proc")
    if proc.is_dir() and (proc / "self" / "stat").exists():
        for entry in proc.iterdir():
            if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))) is not None:
                table[int(entry.name)] = int(fields[1])
        return table
    out = subprocess.run(["ps", "-A", "-o", "pid=,ppid="], capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
            table[int(parts[0])] = int(parts[1])
    return table


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of ``/proc/PID/stat`` after the command name: [state, ppid, ...]; None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()


def _start_time(pid: int) -> int | None:
    """A process's start time (clock ticks since boot on Linux; 0 where unknown); None if gone."""
    if Path("/proc/self/stat").exists():
        fields = _stat_fields(pid)
        return int(fields[19]) if fields is not None and len(fields) > 19 else None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return 0


if __name__ == "__main__" and len(sys.argv) >= 3 and sys.argv[1] == "reap":
    _reap_main(int(sys.argv[2]), {int(pid) for pid in sys.argv[3:]})
