"""D4RL normalised scores: 100 * (return - random) / (expert - random).

The reference returns are task knowledge of the MuJoCo family, declared with its registrations
(``score_reference`` of ``rlsuite.spec(id)``; the numbers are D4RL's ``d4rl/infos.py`` locomotion ``-v2``
entries; Fu et al., 2020, arXiv:2004.07219). Gymnasium's ``-v4``/``-v5`` ids of the same tasks share them.
They were measured on the ``-v2`` (mujoco-py) envs; the ``-v5`` envs have the same reward definitions, so
the scale carries over, but small differences between simulator versions mean a score is comparable, not
identical, to a paper's.
"""

from __future__ import annotations

from rlsuite.envs.builtin import D4RL_REFERENCE_RETURNS as REFERENCE_RETURNS
from rlsuite.envs.registry import UnknownEnvError, spec

__all__ = ["REFERENCE_RETURNS", "normalized_score", "reference_returns", "task_name"]


def task_name(env_id: str) -> str:
    """``rlsuite/Hopper-v5`` or ``Hopper-v4`` -> ``Hopper``."""
    return env_id.split("/")[-1].rsplit("-v", 1)[0]


def reference_returns(env_id: str) -> tuple[float, float] | None:
    """(random, expert) returns of ``env_id``'s task, or None (unknown ids included)."""
    try:
        return spec(env_id).score_reference
    except UnknownEnvError:
        return None


def normalized_score(env_id: str, episode_return: float) -> float | None:
    """D4RL's normalised score of ``episode_return`` on ``env_id``; None if the env has no reference."""
    try:
        return spec(env_id).normalized_score(episode_return)
    except UnknownEnvError:
        return None
