"""Seeded problem generators: arithmetic, countdown, linear equations and compound (several in one).

Every task's ``sample(rng)`` draws one :class:`Problem` from a ``numpy.random.Generator``; the same
generator state gives the same problem. Ground truths are computed exactly (fractions), never guessed.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np

from rlsuite.envs.reasoning.expressions import evaluate_expression, random_expression
from rlsuite.envs.reasoning.jsonl import JSONLTask
from rlsuite.envs.reasoning.problem import Problem, Task, check_choice, check_int_range

__all__ = ["TASKS", "ArithmeticTask", "CompoundTask", "CountdownTask", "LinearEquationTask", "make_task"]

ARITHMETIC_OPS = ("+", "-", "*")


class ArithmeticTask(Task):
    """Multi-digit arithmetic: ``What is 123 + 456?`` -> ``579``.

    ``min_digits``/``max_digits``: digits of each operand; ``ops``: operators drawn from ``+ - *``;
    ``num_operands``: operands per expression (usual precedence; ``*`` binds tighter);
    ``allow_negative``: if False, expressions with a negative result are redrawn.
    """

    name = "arithmetic"

    def __init__(
        self,
        min_digits: int = 2,
        max_digits: int = 3,
        ops: Sequence[str] = ("+",),
        num_operands: int = 2,
        allow_negative: bool = False,
    ) -> None:
        self.min_digits, self.max_digits = check_int_range(
            "(min_digits, max_digits)", (min_digits, max_digits)
        )
        self.ops = tuple(ops)
        if not self.ops or any(op not in ARITHMETIC_OPS for op in self.ops):
            raise ValueError(f"ops={ops!r}; each op must be one of {', '.join(ARITHMETIC_OPS)}")
        check_int_range("num_operands", num_operands, low=2)
        self.num_operands = int(num_operands)
        self.allow_negative = bool(allow_negative)

    def _operand(self, rng: np.random.Generator) -> int:
        digits = int(rng.integers(self.min_digits, self.max_digits + 1))
        low = 0 if digits == 1 else 10 ** (digits - 1)
        return int(rng.integers(low, 10**digits))

    def sample(self, rng: np.random.Generator) -> Problem:
        for _ in range(1000):
            terms = [str(self._operand(rng))]
            for _ in range(self.num_operands - 1):
                terms += [self.ops[int(rng.integers(len(self.ops)))], str(self._operand(rng))]
            expression = " ".join(terms)
            value = evaluate_expression(expression)
            if self.allow_negative or value >= 0:
                break
        answer = str(int(value))
        return Problem(f"What is {expression}?", answer, self.name, f"{expression} = {answer}")


class LinearEquationTask(Task):
    """``Solve for x: 3x + 5 = 20`` -> ``5``: ``a*x + b = c`` with an integer solution.

    ``x`` uniform in ``[-x_max, x_max]`` (``[0, x_max]`` without ``negative``), ``a`` in
    ``[1, a_max]`` (random sign with ``negative``), ``b`` in ``[-b_max, b_max]``; ``c`` follows.
    """

    name = "linear_equation"

    def __init__(self, x_max: int = 10, a_max: int = 9, b_max: int = 20, negative: bool = True) -> None:
        check_int_range("x_max", x_max)
        check_int_range("a_max", a_max)
        check_int_range("b_max", b_max, low=0)
        self.x_max, self.a_max, self.b_max, self.negative = int(x_max), int(a_max), int(b_max), bool(negative)

    def sample(self, rng: np.random.Generator) -> Problem:
        x = int(rng.integers(-self.x_max if self.negative else 0, self.x_max + 1))
        a = int(rng.integers(1, self.a_max + 1)) * (int(rng.choice((-1, 1))) if self.negative else 1)
        b = int(rng.integers(-self.b_max, self.b_max + 1))
        c = a * x + b
        ax = {1: "x", -1: "-x"}.get(a, f"{a}x")
        lhs = ax if b == 0 else f"{ax} {'+' if b > 0 else '-'} {abs(b)}"
        steps = [f"{ax} = {c} - ({b}) = {c - b}"] if b else []
        steps.append(f"x = {c - b} / {a} = {x}" if a != 1 else f"x = {x}")
        return Problem(f"Solve for x: {lhs} = {c}", str(x), self.name, ", ".join(steps))


class CountdownTask(Task):
    """TinyZero's Countdown: reach ``target`` with each given number used once and ``+ - * /``.

    ``num_count``: how many numbers (an int or an inclusive ``(low, high)`` range); numbers uniform in
    ``[1, max_number]``. The target is the value of a random expression over all the numbers whose
    intermediate values are positive integers, so every problem is solvable (the expression is stored
    as ``solution`` and ``meta["answer_text"]``); targets outside ``target_range`` are redrawn.
    """

    name = "countdown"
    default_template = "tinyzero"
    default_reward = "countdown"

    def __init__(
        self,
        num_count: int | tuple[int, int] = (3, 4),
        max_number: int = 100,
        target_range: tuple[int, int] = (1, 1000),
    ) -> None:
        self.num_count = check_int_range("num_count", num_count, low=2)
        check_int_range("max_number", max_number)
        self.max_number = int(max_number)
        self.target_range = check_int_range("target_range", target_range)

    def sample(self, rng: np.random.Generator) -> Problem:
        for _ in range(1000):
            count = int(rng.integers(self.num_count[0], self.num_count[1] + 1))
            nums = [int(n) for n in rng.integers(1, self.max_number + 1, size=count)]
            found = random_expression(nums, rng)
            if found is not None and self.target_range[0] <= found[1] <= self.target_range[1]:
                break
        else:
            raise RuntimeError(f"no countdown problem with a target in {self.target_range} after 1000 draws")
        expression, value = found
        target = int(value)
        question = (
            f"Using the numbers {nums}, create an equation that equals {target}. "
            "You can use basic arithmetic operations (+, -, *, /) and each number can only be used once."
        )
        meta = {"nums": nums, "target": target, "answer_text": expression}
        return Problem(question, str(target), self.name, f"{expression} = {target}", meta)


COMPOUND_SCORING = ("all", "fraction")


class CompoundTask(Task):
    """STAND-IN for DialogueReason's Compound-QA (arXiv 2505.07049), whose exact construction is not
    public: ``k`` independent sub-problems from ``tasks`` are numbered in one question and must be
    answered in order. ``answer`` is the sub-answers joined by ``", "``; ``meta["answers"]`` lists them.
    ``scoring``: ``"all"`` (reward 1 iff every sub-answer is correct) or ``"fraction"`` (share correct).
    ``task_kwargs`` maps a sub-task name to its constructor arguments.
    """

    name = "compound"
    default_reward = "compound"

    def __init__(
        self,
        k: int = 3,
        tasks: Sequence[str | Task] = ("arithmetic", "linear_equation"),
        scoring: str = "all",
        task_kwargs: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        check_int_range("k", k)
        self.k = int(k)
        self.scoring = check_choice("scoring", scoring, COMPOUND_SCORING)
        task_kwargs = task_kwargs or {}
        self.tasks = tuple(
            make_task(t, **task_kwargs.get(t, {})) if isinstance(t, str) else make_task(t) for t in tasks
        )
        if not self.tasks or any(isinstance(t, CompoundTask) for t in self.tasks):
            raise ValueError("tasks must name at least one task, and compound tasks cannot nest")

    def sample(self, rng: np.random.Generator) -> Problem:
        subs = [self.tasks[int(rng.integers(len(self.tasks)))].sample(rng) for _ in range(self.k)]
        lines = [f"Answer each of the following {self.k} problems, in order."]
        lines += [f"Problem {i + 1}: {sub.question}" for i, sub in enumerate(subs)]
        lines.append(
            f"Give the {self.k} answers in order, separated by commas (one \\boxed{{}} each if boxed)."
        )
        meta = {
            "answers": [s.answer for s in subs],
            "answer_texts": [s.answer_text for s in subs],
            "subproblems": [s.to_dict() for s in subs],
            "scoring": self.scoring,
            "answer_text": ", ".join(s.answer_text for s in subs),
        }
        solution = "\n".join(f"Problem {i + 1}: {s.solution or s.answer_text}" for i, s in enumerate(subs))
        return Problem("\n".join(lines), ", ".join(meta["answers"]), self.name, solution, meta)


TASKS: dict[str, Any] = {
    "arithmetic": ArithmeticTask,
    "countdown": CountdownTask,
    "linear_equation": LinearEquationTask,
    "compound": CompoundTask,
    "jsonl": JSONLTask,
}


def make_task(name_or_task: str | Task, **kwargs: Any) -> Task:
    """A task by name (``arithmetic``, ``countdown``, ``linear_equation``, ``compound``, ``jsonl``) built
    with ``kwargs``, or a :class:`Task` instance as is (then no kwargs)."""
    if isinstance(name_or_task, Task):
        if kwargs:
            raise ValueError(f"task options {sorted(kwargs)} given with a ready-made task {name_or_task!r}")
        return name_or_task
    if name_or_task not in TASKS:
        raise ValueError(f"unknown task {name_or_task!r}; accepted names: {', '.join(TASKS)} (or a Task)")
    factory = TASKS[name_or_task]
    accepted = list(inspect.signature(factory).parameters)
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for task {name_or_task!r}; accepted: {accepted}")
    return factory(**kwargs)
