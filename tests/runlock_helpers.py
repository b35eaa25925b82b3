"""A second process that holds a run folder's ``train.lock``, for tests of one-writer behaviour."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_HOLD_LOCK = """
    import sys, time
    from rlsuite.core.runlock import RunLock

    lock = RunLock.acquire(sys.argv[1])
    print("locked", flush=True)
    time.sleep(300)
"""


@contextmanager
def lock_held_by_another_process(folder: Path) -> Iterator[subprocess.Popen]:
    """Start a process that locks ``folder`` (created if missing), yield it once it holds the lock, and
    kill it on exit (the kernel then drops the lock)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_HOLD_LOCK), str(folder)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield holder
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
