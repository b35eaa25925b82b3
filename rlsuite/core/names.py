"""Checks on names and paths from configs, made before anything touches the filesystem.

A name that becomes one folder (an experiment name, a sweep name or label) must stay one folder inside
its root: no separators, not ``.`` or ``..``. A path (``runs_root``, ``run_dir``, datasets) must be one
the operating system can take: no NUL byte, no component longer than a file name may be, no path longer
than a path may be. Each check returns ``None`` or the reason, so callers can name their key.
"""

from __future__ import annotations

import re

NAME_MAX_BYTES = 255  # longest file or folder name (Linux, macOS and Windows file systems)
PATH_MAX_BYTES = 4096  # longest path Linux takes
_SEPARATORS = ("/", "\\")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def folder_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be one folder inside its root, or None."""
    if not name.strip():
        return "expected a non-empty folder name"
    if name in (".", ".."):
        return "expected a folder name other than '.' and '..' (they would place runs outside their root)"
    if any(sep in name for sep in _SEPARATORS):
        return "expected one folder name, without '/' or '\\' (it must not leave its root)"
    if _CONTROL.search(name):
        return "expected a folder name without control characters"
    if len(name.encode("utf-8")) > NAME_MAX_BYTES:
        return f"expected a folder name of at most {NAME_MAX_BYTES} bytes, got {len(name.encode('utf-8'))}"
    return None


def path_problem(path: str) -> str | None:
    """Why the operating system cannot take ``path``, or None."""
    if "\x00" in path:
        return "expected a path without a NUL character"
    size = len(path.encode("utf-8"))
    if size > PATH_MAX_BYTES:
        return f"expected a path of at most {PATH_MAX_BYTES} bytes, got {size}"
    for part in re.split(r"[/\\]", path):
        if len(part.encode("utf-8")) > NAME_MAX_BYTES:
            shown = part if len(part) <= 40 else part[:37] + "..."
            return f"path component {shown!r} is longer than {NAME_MAX_BYTES} bytes"
    return None


def escapes_upward(path: str) -> bool:
    """Whether ``path`` has a ``..`` component (it could then point outside any root)."""
    return ".." in re.split(r"[/\\]", path)
