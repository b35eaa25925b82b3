"""Atomic checkpoint files and their rotation inside a run folder."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import torch

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


def save_checkpoint(state: dict[str, Any], path: str | Path) -> None:
    atomic_write(path, lambda handle: torch.save(state, handle))


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    path = Path(path)
    if path.is_dir():
        found = latest_checkpoint(path)
        if found is None:
            raise FileNotFoundError(f"no checkpoint in {path} (looked for {CHECKPOINT_DIR}/{LATEST})")
        path = found
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    # Checkpoints hold numpy RNG states and config dicts besides tensors: they are our own files.
    return torch.load(path, map_location=map_location, weights_only=False)


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
