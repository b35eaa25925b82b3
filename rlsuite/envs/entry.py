"""What the registry knows about one environment id: :class:`EnvEntry`.

Besides how to build the env, an entry carries the task knowledge its family declares for learners and
reports, so that they reach it through the registry (``rlsuite.spec(id)``) instead of importing the family:
the termination rule model-based learners use in imagined rollouts, and reference returns for normalised
scores (D4RL's, for the MuJoCo locomotion tasks).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

EntryPoint = str | Callable[..., Any]
# fn(obs, act, next_obs) -> bool tensor of next_obs's leading shape: does the transition terminate?
TerminationRule = Callable[[Any, Any, Any], Any]


def load_entry_point(entry_point: EntryPoint) -> Callable[..., Any]:
    """A callable, or the attribute ``attr`` of module ``module`` named by ``"module:attr"``."""
    if callable(entry_point):
        return entry_point
    module_name, _, attr = entry_point.partition(":")
    return getattr(importlib.import_module(module_name), attr)


@dataclass(frozen=True)
class EnvEntry:
    """What the registry knows about one id."""

    id: str
    entry_point: EntryPoint
    vector_entry_point: EntryPoint | None = None
    multi_agent: bool = False
    kwargs: dict[str, Any] = field(default_factory=dict)
    max_episode_steps: int | None = None
    family: str = "user"
    description: str = ""
    requires: tuple[str, ...] = ()  # optional modules the env needs (e.g. "gfootball")
    # Task knowledge (optional). ``termination`` names ``lookup(env_id) -> TerminationRule``;
    # ``score_reference`` is (random policy return, expert return) for 100 * (R - random) / (expert - random).
    termination: EntryPoint | None = None
    score_reference: tuple[float, float] | None = None
    gymnasium_twins: tuple[str, ...] = ()  # Gymnasium ids with the same task that share the knowledge above

    @property
    def has_native_vector(self) -> bool:
        return self.vector_entry_point is not None

    def missing_requirements(self) -> list[str]:
        """The modules of ``requires`` that are not installed."""
        return [m for m in self.requires if importlib.util.find_spec(m) is None]

    def termination_rule(self) -> TerminationRule | None:
        """The task's known termination rule (for model rollouts), or None if the family declares none."""
        if self.termination is None:
            return None
        return load_entry_point(self.termination)(self.id)

    def normalized_score(self, episode_return: float) -> float | None:
        """``100 * (return - random) / (expert - random)``; None if the task has no reference returns."""
        if self.score_reference is None:
            return None
        random_return, expert_return = self.score_reference
        return 100.0 * (episode_return - random_return) / (expert_return - random_return)
