"""One writer per run folder: an exclusive ``flock`` on ``<run>/train.lock``.

``rlsuite train`` takes the lock before it reads a checkpoint or writes anything in the folder and
holds it until training ends; the kernel drops it when the process dies, however it dies (a SIGKILL
or an out-of-memory kill included), so a lock is never left stale. The file holds the holder's pid
and host, for the error a second writer gets. The sweep runner asks :func:`lock_holder` before it
clears or starts a run folder, so a re-run never starts a second process on a folder that is still
being trained, nor deletes it.

``flock`` works across processes on one machine and, on Linux, across NFS clients (the kernel maps
it to NFS byte-range locks). Platforms without ``fcntl`` (Windows) run without the lock.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from rlsuite.core.atomic import FILE_MODE

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

LOCK_FILE = "train.lock"
_RETRY_SECONDS = 1.0  # a sweep driver probing the lock holds it for microseconds: retry that long


class RunFolderLockedError(FileExistsError):
    """The run folder already has a writer (another ``rlsuite train`` process)."""


@dataclass(frozen=True)
class LockHolder:
    """Who holds a run folder's lock, as the holder wrote it into the lock file."""

    pid: int | None
    host: str

    def describe(self) -> str:
        who = f"process {self.pid}" if self.pid is not None else "another process"
        return f"{who} on {self.host}" if self.host else who


class RunLock:
    """The held lock of one run folder; :meth:`release` (or process exit) frees it."""

    def __init__(self, directory: Path, fd: int | None) -> None:
        self.directory = directory
        self._fd = fd

    @classmethod
    def acquire(cls, directory: str | os.PathLike) -> RunLock:
        """Lock ``directory`` (created if missing) for this process, or raise RunFolderLockedError."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        if fcntl is None:  # pragma: no cover - Windows
            return cls(directory, None)
        path = directory / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        deadline = time.monotonic() + _RETRY_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                holder = _read_holder(path)
                os.close(fd)
                raise RunFolderLockedError(
                    f"run folder {directory} is being written by {holder.describe()} (lock {path}); "
                    "one run folder takes one writer at a time: wait for that run to end or stop it"
                ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {socket.gethostname()}\n".encode(), 0)
        return cls(directory, fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Free the lock (the file stays; an unlocked file means no writer)."""
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def lock_holder(directory: str | os.PathLike) -> LockHolder | None:
    """Who is writing ``directory`` now, or None when nobody holds its lock."""
    path = Path(directory) / LOCK_FILE
    if fcntl is None or not path.is_file():
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(path)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_holder(path: Path) -> LockHolder:
    try:
        fields = path.read_text(errors="replace").split()
    except OSError:
        fields = []
    pid = int(fields[0]) if fields and fields[0].isdigit() else None
    return LockHolder(pid, fields[1] if len(fields) > 1 else "")
