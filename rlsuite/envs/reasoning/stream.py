"""The problem stream behind the reasoning environments: a held-out test set and a train stream that
never yields a held-out question.

The held-out set is a fixed, ordered list of ``test_size`` problems with distinct questions drawn from
``default_rng(test_seed)`` (for file tasks: a ``test_seed``-shuffled choice of distinct rows; with
``test_size=None`` every distinct row in file order). It depends only on the task and ``test_seed``, so a
``train`` and a ``test`` stream built with the same arguments agree on it. ``test`` walks the set in
order, cycling; ``train`` draws from its own seeded generator and rejects held-out questions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlsuite.envs.reasoning.problem import Problem, Task, check_choice

__all__ = ["DEFAULT_TEST_SEED", "SPLITS", "ProblemStream", "train_stream_seed"]

DEFAULT_TEST_SEED = 12_345_678
SPLITS = ("train", "test")
_MAX_REJECTIONS = 10_000


def _held_out_generated(task: Task, test_size: int, test_seed: int) -> list[Problem]:
    rng = np.random.default_rng(test_seed)
    seen: set[str] = set()
    held_out: list[Problem] = []
    draws = 0
    while len(held_out) < test_size:
        if draws >= 20 * test_size + 100:
            raise ValueError(
                f"task {task!r} gave only {len(held_out)} distinct problems in {draws} draws; "
                f"lower test_size (now {test_size}) or widen the task's ranges"
            )
        problem = task.sample(rng)
        draws += 1
        if problem.question not in seen:
            seen.add(problem.question)
            held_out.append(problem)
    return held_out


def _held_out_finite(problems: list[Problem], test_size: int | None, test_seed: int) -> list[Problem]:
    distinct = list({p.question: p for p in reversed(problems)}.values())[::-1]  # first occurrence wins
    if test_size is None:
        return distinct
    if test_size > len(distinct):
        raise ValueError(f"test_size={test_size} exceeds the {len(distinct)} distinct problems of the file")
    order = np.random.default_rng(test_seed).permutation(len(distinct))[:test_size]
    return [distinct[i] for i in order]


def train_stream_seed(seed: int) -> int:
    """The train-stream seed of an env reset with ``seed``: the first draw of Gymnasium's ``np_random``
    seeded with ``seed`` (``default_rng(seed)``), as ``ReasoningEnv.reset`` takes it."""
    return int(np.random.default_rng(seed).integers(2**63))


class ProblemStream:
    """Problems for one environment; see the module docstring. ``seed`` re-seeds and rewinds."""

    def __init__(
        self,
        task: Task,
        split: str = "train",
        test_size: int | None = 200,
        test_seed: int = DEFAULT_TEST_SEED,
    ) -> None:
        self.task, self.split = task, check_choice("split", split, SPLITS)
        finite = list(task.problems) if task.problems is not None else None
        if test_size is None and finite is None:
            raise ValueError("test_size=None (every row) only applies to file tasks; give an int")
        if test_size is not None and (not isinstance(test_size, (int, np.integer)) or test_size < 0):
            raise ValueError(f"test_size must be a non-negative int, got {test_size!r}")
        if split == "test" and test_size == 0:
            raise ValueError("split='test' needs test_size > 0")
        if finite is not None:
            self.held_out = _held_out_finite(finite, test_size, test_seed)
        else:
            self.held_out = _held_out_generated(task, int(test_size or 0), test_seed)
        self.held_out_questions = frozenset(p.question for p in self.held_out)
        self.train_pool: list[Problem] | None = None
        if finite is not None:
            self.train_pool = [p for p in finite if p.question not in self.held_out_questions]
            if split == "train" and not self.train_pool:
                raise ValueError(f"every problem of {task!r} is held out; lower test_size (now {test_size})")
        self.rng: np.random.Generator | None = None
        self.test_pos = 0

    def seed(self, seed: int | None) -> None:
        self.rng = np.random.default_rng(seed)
        self.test_pos = 0

    def next(self) -> Problem:
        if self.split == "test":
            problem = self.held_out[self.test_pos % len(self.held_out)]
            self.test_pos = (self.test_pos + 1) % len(self.held_out)
            return problem
        if self.rng is None:
            self.rng = np.random.default_rng()
        return self.draw(self.rng)

    def draw(self, rng: np.random.Generator) -> Problem:
        """A train problem drawn with ``rng`` (never a held-out question)."""
        if self.train_pool is not None:
            return self.train_pool[int(rng.integers(len(self.train_pool)))]
        for _ in range(_MAX_REJECTIONS):
            problem = self.task.sample(rng)
            if problem.question not in self.held_out_questions:
                return problem
        raise RuntimeError(f"{_MAX_REJECTIONS} draws of {self.task!r} in a row were all held out")

    def get_state(self) -> dict[str, Any]:
        return {"rng": None if self.rng is None else self.rng.bit_generator.state, "test_pos": self.test_pos}

    def set_state(self, state: dict[str, Any]) -> None:
        if state.get("rng") is None:
            self.rng = None
        else:
            self.rng = np.random.default_rng()
            self.rng.bit_generator.state = state["rng"]
        self.test_pos = int(state["test_pos"])
