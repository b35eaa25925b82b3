"""Seeding and RNG-state capture, so a resumed run draws exactly the numbers the straight run would."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import rich.style  # noqa: F401  (see below)
import torch

# rich draws one number from Python's global generator when rich.style is first imported. Importing it
# here, before any seeding, keeps that draw out of the seeded stream, so a resumed run (which imports
# rich after restoring the generator) holds the same generator state as the run that never stopped.


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy's global generator and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


# Evaluation envs are seeded apart from the training env's seed (a large prime keeps the two streams from
# meeting for any realistic seed and step count).
EVAL_SEED_OFFSET = 1_000_003


def eval_seed(seed: int, global_step: int = 0) -> int:
    """The seed of an evaluation at ``global_step`` of a run seeded ``seed``: ``seed + 1_000_003 + step``.

    Evaluations at different steps see different episodes, a re-run evaluation at the same step the same
    ones, and none shares a seed with the training env. Learners whose evaluation draws its own random
    numbers (e.g. ACE's agent-order shuffling) seed that stream with ``eval_seed(seed)``.
    """
    return seed + EVAL_SEED_OFFSET + global_step


def capture_rng_state() -> dict[str, Any]:
    """The states of Python's, NumPy's global and torch's (CPU and CUDA) generators."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Put back the generator states ``capture_rng_state`` returned."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
