"""Atomic file writes: a crash mid-write leaves the previous file, never a truncated one.

Every writer here puts the new bytes in a temp file beside the target (``.<name>.<random>.tmp``),
fsyncs it, renames it over the target and fsyncs the folder, so after a crash or a power loss the
target holds either the old or the new content. Files get the usual permissions (``0666`` less the
umask), not ``mkstemp``'s ``0600``. Temp files a killed writer left behind match
:func:`is_stale_temporary`; :func:`remove_stale_temporaries` clears them when a run folder is opened.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

# ``.<name>.<random>.tmp`` (atomic_write), ``.<name>.<random>.tmp<.suffix>`` (atomic_path) and
# ``.<name>.link`` (the checkpoint manager's hard link, renamed over latest.pt).
_TEMPORARY = re.compile(r"^\..+\.(tmp(\.[A-Za-z0-9]+)?|link)$")


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _current_umask()
FILE_MODE = 0o666 & ~_UMASK  # what open(path, "w") would give a new file


def atomic_write(path: str | os.PathLike, writer: Callable[[IO[bytes]], object]) -> None:
    """Write through ``writer(binary_file)`` into a temp file beside ``path``, fsync, rename over it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):  # POSIX: mkstemp makes 0600 files; give the usual permissions
            os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            writer(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temp file name beside ``path`` for writers that take a file name rather than a handle.

    The temp name keeps ``path``'s suffix (tools such as ffmpeg pick the format from it). When the
    block ends normally the file is fsynced and renamed over ``path``; on an error it is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, FILE_MODE)  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def fsync_directory(directory: str | os.PathLike) -> None:
    """Make a rename inside ``directory`` durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on a folder; the rename itself is still atomic
    finally:
        os.close(fd)


def fsync_file(path: str | os.PathLike) -> None:
    """Flush an existing file's data to disk (e.g. rows appended to ``metrics.csv``)."""
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def is_stale_temporary(name: str) -> bool:
    """True for the temp-file names this module and the checkpoint manager create."""
    return bool(_TEMPORARY.match(name))


def remove_stale_temporaries(directory: str | os.PathLike) -> list[Path]:
    """Delete the temp files interrupted writers left in ``directory`` (not recursive); return them.

    Call it only while holding the folder's writer lock: a live writer's temp file looks the same.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    removed = []
    for entry in directory.iterdir():
        if entry.is_file() and is_stale_temporary(entry.name):
            entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed
