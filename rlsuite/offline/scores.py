"""D4RL normalised scores: 100 * (return - random) / (expert - random).

Reference returns are D4RL's (``d4rl/infos.py``, the MuJoCo locomotion ``-v2`` entries; Fu et al., 2020,
arXiv:2004.07219). They were measured on the ``-v2``
(mujoco-py) envs; the suite's ``-v5`` envs have the same reward definitions, so the scale carries over,
but small differences between simulator versions mean a score is comparable, not identical, to a
paper's.
"""

from __future__ import annotations

REFERENCE_RETURNS: dict[str, tuple[float, float]] = {
    # task name: (random policy return, expert policy return)
    "HalfCheetah": (-280.178953, 12135.0),
    "Hopper": (-20.272305, 3234.3),
    "Walker2d": (1.629008, 4592.3),
}


def task_name(env_id: str) -> str:
    """``rlsuite/Hopper-v5`` or ``Hopper-v4`` -> ``Hopper``."""
    return env_id.split("/")[-1].rsplit("-v", 1)[0]


def reference_returns(env_id: str) -> tuple[float, float] | None:
    return REFERENCE_RETURNS.get(task_name(env_id))


def normalized_score(env_id: str, episode_return: float) -> float | None:
    """D4RL's normalised score of ``episode_return`` on ``env_id``; None if the env has no reference."""
    refs = reference_returns(env_id)
    if refs is None:
        return None
    random_return, expert_return = refs
    return 100.0 * (episode_return - random_return) / (expert_return - random_return)
