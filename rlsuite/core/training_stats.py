"""A mean accumulator for the training statistics learners log between metrics rows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch


class MeanAccumulator:
    """Sums statistics over gradient steps and hands out their means when a metrics row is written.

    Values may be tensors (kept on their device and summed there, so a gradient step does not wait for a
    device-to-host copy) or Python floats. Every ``add`` is expected to bring the same keys: the mean of
    each key is its sum divided by the number of ``add`` calls.
    """

    def __init__(self) -> None:
        self.sums: dict[str, Any] = {}
        self.count = 0

    def add(self, stats: Mapping[str, torch.Tensor | float]) -> None:
        """Add one step's statistics."""
        for key, value in stats.items():
            self.sums[key] = self.sums[key] + value if key in self.sums else value
        self.count += 1

    def __len__(self) -> int:
        """The number of steps added since the last ``pop_means``."""
        return self.count

    def pop_means(self, prefix: str = "") -> dict[str, float]:
        """``{prefix + key: mean}`` over the steps added so far, then start over (``{}`` if none)."""
        if not self.count:
            return {}
        means = {f"{prefix}{key}": float(value) / self.count for key, value in self.sums.items()}
        self.sums, self.count = {}, 0
        return means

    # --- checkpoints: (sums, count), the layout the off-policy and QMIX checkpoints hold -----------
    def state_dict(self) -> tuple[dict[str, Any], int]:
        return {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in self.sums.items()}, self.count

    def load_state_dict(self, state: tuple[Mapping[str, Any], int], device: torch.device | str) -> None:
        """Restore ``state_dict()``'s sums (tensors moved to ``device``) and count."""
        sums, count = state
        self.sums = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in sums.items()}
        self.count = int(count)
