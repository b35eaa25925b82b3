"""The checks every rlsuite env applies to its inputs, so that bad input gets the same clear error in every
family (single-agent Gymnasium envs, their vector forms, the PettingZoo envs and their team vector forms):

* ``step`` after the episode ended (``terminated`` or ``truncated``, or every agent done) without a
  ``reset``: :class:`EpisodeOver` (a ``gymnasium.error.ResetNeeded`` and a ``RuntimeError``);
* ``reset(options=...)`` that is not a dict (or None): ``ValueError``;
* a ``reset`` seed that is not a non-negative int (``True``, ``"3"``, ``1.5``), or for a vector env not
  such an int, None, or a list of one per env: ``ValueError`` naming ``seed``;
* a discrete action that is not an integer (a string, a float, a bool, None) or is out of range:
  ``ValueError`` naming the agent and the accepted range.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium.error import ResetNeeded

EPISODE_OVER_MESSAGE = (
    "the episode is over (terminated or truncated) or was never started; call reset() first"
)


class EpisodeOver(ResetNeeded, RuntimeError):
    """``step()`` was called after the episode ended (or before the first ``reset()``)."""

    def __init__(self, message: str = EPISODE_OVER_MESSAGE) -> None:
        super().__init__(message)


def check_reset_options(options: Any) -> dict[str, Any]:
    """``reset``'s ``options`` as a fresh dict (None → ``{}``); a ``ValueError`` for anything else."""
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise ValueError(
            f"reset(options=...) must be a dict or None, got {type(options).__name__} {options!r}"
        )
    return dict(options)


def check_seed_value(seed: Any, name: str = "seed") -> int:
    """One seed: a non-negative int (numpy ints too, not bools)."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{name} must be a non-negative int or None, got {type(seed).__name__} {seed!r}")
    return int(seed)


def check_reset_seed(seed: Any) -> int | None:
    """A single env's ``reset(seed=...)``: None or a non-negative int."""
    return None if seed is None else check_seed_value(seed)


def check_vector_seed(seed: Any, num_envs: int) -> list[int | None] | int | None:
    """A vector env's ``reset(seed=...)``: None, a non-negative int (env ``i`` gets ``seed + i``) or a list
    or tuple of ``num_envs`` entries, each None or a non-negative int. Returns the int, the list, or None."""
    if seed is None:
        return None
    if isinstance(seed, (list, tuple)):
        if len(seed) != num_envs:
            raise ValueError(
                f"seed as a list must have num_envs={num_envs} entries (one per env), got {len(seed)}"
            )
        return [None if s is None else check_seed_value(s, f"seed[{i}]") for i, s in enumerate(seed)]
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, (bool, np.bool_)):
        return check_seed_value(seed)
    raise ValueError(
        f"seed must be None, a non-negative int or a list of num_envs={num_envs} seeds, "
        f"got {type(seed).__name__} {seed!r}"
    )


def discrete_action(agent: str, action: Any, n: int, names: Sequence[str] | None = None) -> int:
    """One agent's action in ``Discrete(n)``: an int (numpy ints and 0-d integer arrays too) in ``[0, n)``."""
    value = action
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iu":
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(
            f"agent {agent!r}: action {action!r} ({type(action).__name__}) is not an integer in [0, {n})"
        )
    if not 0 <= value < n:
        accepted = f"; accepted: {', '.join(f'{i} {s}' for i, s in enumerate(names))}" if names else ""
        raise ValueError(f"agent {agent!r}: action {action!r} is outside [0, {n}){accepted}")
    return int(value)
