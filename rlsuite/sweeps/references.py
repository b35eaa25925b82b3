"""Reference scores for normalising returns: ``100 * (x - random) / (reference - random)``.

0 is a uniformly random policy and 100 the reference. Sources:

* CartPole-v1: the reference is 500, the maximum return (the 500-step time limit). The random score
  was measured with ``measure_random_score(env_id, episodes=100, seed=0)`` (uniform random actions,
  ``env.action_space.seed(0)``, episode ``i`` reset with ``seed=i``).
* Pendulum-v1: no official reference exists; -150 is roughly the final return of a well-trained SAC
  (well-tuned SAC/TD3 runs end between about -140 and -170). The random score was measured as above.
* MuJoCo v5 HalfCheetah, Hopper, Walker2d, Ant: the D4RL random / expert reference returns (Fu et al.
  2020, ``REF_MIN_SCORE`` / ``REF_MAX_SCORE``), measured on the v2 tasks; v5 dynamics are close but not
  identical, so treat normalised MuJoCo scores as approximate.

A sweep's ``sweep.json`` ``references`` and the ``references`` argument of the report override this
table (the argument wins).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Reference:
    """Scores that map to 0 (``random``) and 100 (``reference``) after normalisation."""

    random: float
    reference: float
    source: str = ""

    def normalise(self, values: np.ndarray | float) -> np.ndarray:
        return 100.0 * (np.asarray(values, dtype=np.float64) - self.random) / (self.reference - self.random)


_MEASURED = "uniform random actions, 100 episodes, seed 0 (measure_random_score)"
_D4RL = "D4RL random/expert reference returns (Fu et al. 2020), measured on the v2 task"


def _table() -> dict[str, Reference]:
    table = {
        "rlsuite/CartPole-v1": Reference(23.82, 500.0, f"random: {_MEASURED}; reference: 500 = max return"),
        "CartPole-v1": Reference(23.68, 500.0, f"random: {_MEASURED}; reference: 500 = max return"),
        "Pendulum-v1": Reference(
            -1207.56, -150.0, f"random: {_MEASURED}; reference: -150 ≈ a well-trained SAC (chosen)"
        ),
    }
    d4rl = {
        "HalfCheetah": (-280.178953, 12135.0),
        "Hopper": (-20.272305, 3234.3),
        "Walker2d": (1.629008, 4592.3),
        "Ant": (-325.6, 3879.7),
    }
    for task, (random, expert) in d4rl.items():
        for env_id in (f"rlsuite/{task}-v5", f"{task}-v5"):
            table[env_id] = Reference(random, expert, _D4RL)
    return table


REFERENCES: dict[str, Reference] = _table()


def as_reference(value: Any, where: str) -> Reference:
    """A ``Reference`` from ``{"random": r, "reference": s[, "source": ...]}``, a pair or a Reference."""
    if isinstance(value, Reference):
        ref = value
    elif isinstance(value, Mapping):
        missing = [key for key in ("random", "reference") if key not in value]
        if missing:
            raise ValueError(f"{where}: missing {', '.join(repr(k) for k in missing)}")
        source = str(value.get("source", ""))
        ref = Reference(_number(value["random"], where), _number(value["reference"], where), source)
    elif isinstance(value, (list, tuple)) and len(value) in (2, 3):
        source = str(value[2]) if len(value) == 3 else ""
        ref = Reference(_number(value[0], where), _number(value[1], where), source)
    else:
        raise ValueError(f"{where}: expected {{'random': ..., 'reference': ...}}, got {value!r}")
    if ref.reference == ref.random:
        raise ValueError(f"{where}: reference and random scores are equal ({ref.random})")
    return ref


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise ValueError(f"{where}: scores must be finite numbers, got {value!r}")
    return float(value)


def resolve_references(
    *overrides: Mapping[str, Any] | None, where: tuple[str, ...] = ()
) -> dict[str, Reference]:
    """The built-in table updated by each mapping of ``overrides`` in turn (later ones win)."""
    table = dict(REFERENCES)
    for index, override in enumerate(overrides):
        if not override:
            continue
        name = where[index] if index < len(where) else "references"
        if not isinstance(override, Mapping):
            raise ValueError(f"{name}: expected a mapping of env id to scores, got {type(override).__name__}")
        for env_id, value in override.items():
            ref = as_reference(value, f"{name}[{env_id!r}]")
            table[str(env_id)] = ref if ref.source else Reference(ref.random, ref.reference, name)
    return table


def measure_random_score(env_id: str, *, episodes: int = 100, seed: int = 0) -> float:
    """Mean return of uniform random actions over ``episodes`` episodes (episode i reset with seed=i)."""
    import rlsuite

    env = rlsuite.make(env_id)
    env.action_space.seed(seed)
    returns = []
    try:
        for episode in range(episodes):
            env.reset(seed=seed + episode)
            total, done = 0.0, False
            while not done:
                _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
                total += float(reward)
                done = terminated or truncated
            returns.append(total)
    finally:
        env.close()
    return float(np.mean(returns))
