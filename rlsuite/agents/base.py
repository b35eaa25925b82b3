"""The acting contract every algorithm's agent satisfies."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import torch


@runtime_checkable
class Agent(Protocol):
    """Maps a batch of observations to a batch of actions, on whatever torch device it lives on.

    ``act`` takes raw environment observations (NumPy or torch, leading batch dimension) and returns
    a NumPy array of actions ready for ``VectorEnv.step``; any observation normalisation is inside.
    """

    device: torch.device

    def act(self, obs: np.ndarray | torch.Tensor, deterministic: bool = False) -> np.ndarray: ...
