"""Torch device selection."""

from __future__ import annotations

import re

import torch

_DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """``"auto"`` picks CUDA when available, else CPU; explicit names must be usable on this machine."""
    if isinstance(name, torch.device):
        return name
    if not _DEVICE_PATTERN.match(name):
        raise ValueError(f"device={name!r}; accepted values: 'auto', 'cpu', 'cuda', 'cuda:N', 'mps'")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={name!r} but torch sees no CUDA device; use device=cpu or device=auto")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device='mps' but the MPS backend is not available; use device=cpu or device=auto")
    return torch.device(name)
