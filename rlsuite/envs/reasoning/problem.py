"""The problem record shared by tasks, prompt templates, reward functions and environments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Problem", "Task", "check_choice", "check_int_range"]


@dataclass(frozen=True)
class Problem:
    """One verifiable problem.

    ``question``: the bare problem text. ``answer``: the canonical ground truth (countdown: the target).
    ``task``: the task family name. ``solution``: optional worked reasoning (SFT targets). ``meta``: task
    data; known keys: ``answer_text`` (what a gold response puts in the answer tags when it is not
    ``answer``, e.g. a countdown expression), countdown ``nums``/``target``, compound ``answers``,
    ``answer_texts``, ``subproblems`` (as :meth:`to_dict` records) and ``scoring``.
    """

    question: str
    answer: str
    task: str
    solution: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def answer_text(self) -> str:
        """What a gold response states as its answer (the expression for countdown, else ``answer``)."""
        return str(self.meta.get("answer_text", self.answer))

    def to_dict(self) -> dict[str, Any]:
        """A plain-data copy (for checkpoints and files); :meth:`from_dict` inverts it."""
        return {
            "question": self.question,
            "answer": self.answer,
            "task": self.task,
            "solution": self.solution,
            "meta": dict(self.meta),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Problem:
        missing = [k for k in ("question", "answer", "task") if k not in data]
        if missing:
            raise ValueError(f"problem record lacks {missing}; it needs question, answer and task")
        return cls(
            question=str(data["question"]),
            answer=str(data["answer"]),
            task=str(data["task"]),
            solution=str(data.get("solution", "")),
            meta=dict(data.get("meta", {})),
        )


class Task:
    """A source of problems. Subclasses implement :meth:`sample` and set the class attributes.

    ``default_template`` / ``default_reward`` name what an environment uses when not told otherwise.
    Finite tasks (files) also expose ``problems``: the full ordered list.
    """

    name: str = "task"
    default_template: str = "orz"
    default_reward: str = "math"
    problems: Sequence[Problem] | None = None

    def sample(self, rng: np.random.Generator) -> Problem:
        raise NotImplementedError

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({params})"


def check_int_range(name: str, value: Any, low: int = 1) -> tuple[int, int]:
    """``value`` as an inclusive ``(lo, hi)`` int range (an int means ``(v, v)``); clear error if bad."""
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if (
        len(pair) != 2
        or not all(isinstance(v, (int, np.integer)) for v in pair)
        or pair[0] > pair[1]
        or pair[0] < low
    ):
        raise ValueError(f"{name} must be an int >= {low} or a (low, high) pair of such ints, got {value!r}")
    return int(pair[0]), int(pair[1])


def check_choice(name: str, value: Any, accepted: Sequence[Any]) -> Any:
    if value not in accepted:
        raise ValueError(f"{name}={value!r}; accepted values: {', '.join(map(repr, accepted))}")
    return value
