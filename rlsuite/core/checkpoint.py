"""Atomic checkpoint files and their rotation inside a run folder.

Checkpoints are plain data (see :mod:`rlsuite.core.plain_data`) and are read with
``torch.load(weights_only=True)``: loading one never runs code. A file holding anything else (a pickled
object, a ``__reduce__`` payload) is refused with :class:`UnsafeCheckpointError` before any of it runs.
"""

from __future__ import annotations

import json
import os
import pickle
import pickletools
import re
import shutil
import warnings
from pathlib import Path
from typing import Any

import torch

from rlsuite.core import plain_data
from rlsuite.core.atomic import atomic_write, atomic_write_text

CHECKPOINT_DIR = "checkpoints"
LATEST = "latest.pt"
_STEP_FILE = re.compile(r"^step_(\d+)\.pt$")


def atomic_write_json(path: str | Path, data: Any) -> None:
    text = json.dumps(data, indent=2, sort_keys=False, default=_json_default) + "\n"
    atomic_write_text(path, text)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read (damaged, or not an rlsuite checkpoint)."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint file holding objects other than plain data: loading it could run code."""


def save_checkpoint(state: dict[str, Any], path: str | Path) -> None:
    """Write ``state`` (plain data and NumPy values only; anything else is refused) atomically."""
    data = plain_data.encode(state)
    atomic_write(path, lambda handle: torch.save(data, handle))


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint file (or a run folder's latest one) without running any code from it.

    Raises :class:`UnsafeCheckpointError` for a file that holds anything but plain data, and
    :class:`CheckpointError` for one that is not a readable checkpoint.
    """
    path = Path(path)
    if path.is_dir():
        found = latest_checkpoint(path)
        if found is None:
            raise FileNotFoundError(f"no checkpoint in {path} (looked for {CHECKPOINT_DIR}/{LATEST})")
        path = found
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        with warnings.catch_warnings():  # torch's note on unusual pickle protocols: the error below says it
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise _unreadable(path, exc) from None
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: not a readable rlsuite checkpoint ({first_line})") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: not an rlsuite checkpoint (it holds a {type(data).__name__})")
    try:
        return plain_data.decode(data, torch.device(map_location))
    except (TypeError, ValueError, KeyError, RuntimeError) as exc:  # a stored array that is not one
        raise CheckpointError(f"{path}: a damaged rlsuite checkpoint ({type(exc).__name__}: {exc})") from None


def _unreadable(path: Path, exc: Exception) -> CheckpointError:
    """The error for a file the safe unpickler refused: the objects it names, when it names any."""
    message = str(exc)
    try:  # a zip checkpoint: list every global it would import (read without running anything)
        names = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except Exception:  # not a zip file: a bare pickle (or not a pickle at all)
        names = _pickled_globals(path)
    with path.open("rb") as handle:
        pickled = handle.read(1) == b"\x80"  # pickle protocol 2+ (bare pickles, old torch files)
    if not names and not (pickled and "Unsupported operand" in message):
        first_line = message.strip().splitlines()[0] if message.strip() else type(exc).__name__
        return CheckpointError(f"{path}: not a readable rlsuite checkpoint ({first_line})")
    listing = ", ".join(names) if names else "pickle instructions the safe loader does not accept"
    return UnsafeCheckpointError(
        f"{path} contains non-data objects ({listing}); rlsuite loads only tensors, arrays, numbers, "
        "strings, lists and dicts from checkpoints, so it refuses this file (loading it could run code)"
    )


def _pickled_globals(path: Path) -> list[str]:
    """The globals a bare pickle file would import, read by ``pickletools`` (which runs nothing)."""
    names, strings = set(), []
    with path.open("rb") as handle:
        try:
            for opcode, arg, _ in pickletools.genops(handle):
                if isinstance(arg, str | bytes) and ("UNICODE" in opcode.name or "STRING" in opcode.name):
                    strings.append(str(arg))
                elif opcode.name in ("GLOBAL", "INST"):
                    names.add(str(arg).replace(" ", "."))
                elif opcode.name == "STACK_GLOBAL" and len(strings) >= 2:
                    names.add(f"{strings[-2]}.{strings[-1]}")
        except Exception:  # a damaged or non-pickle stream: what was read so far
            pass
    return sorted(names)


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """``run_dir/checkpoints/latest.pt`` (or the file itself if ``run_dir`` is a checkpoints folder)."""
    run_dir = Path(run_dir)
    for candidate in (run_dir / CHECKPOINT_DIR / LATEST, run_dir / LATEST):
        if candidate.is_file():
            return candidate
    return None


def _replace_with_link(source: Path, target: Path) -> None:
    """Point ``target`` at ``source``'s bytes atomically (a hard link; a copy where links are refused)."""
    tmp = target.with_name(f".{target.name}.link")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)


class CheckpointManager:
    """Writes ``step_<N>.pt`` and ``latest.pt`` into ``<run>/checkpoints``, keeping the newest ``keep``."""

    def __init__(self, run_dir: str | Path, keep: int = 3) -> None:
        self.directory = Path(run_dir) / CHECKPOINT_DIR
        self.keep = keep

    def save(self, state: dict[str, Any], step: int) -> Path:
        path = self.directory / f"step_{step}.pt"
        save_checkpoint(state, path)
        _replace_with_link(path, self.directory / LATEST)
        self._prune()
        return path

    def _prune(self) -> None:
        numbered = sorted(
            (int(m.group(1)), p) for p in self.directory.iterdir() if (m := _STEP_FILE.match(p.name))
        )
        for _, old in numbered[: max(0, len(numbered) - self.keep)]:
            old.unlink(missing_ok=True)
