"""Rule-based reward functions ``(response, problem, finished) -> RewardResult`` and their registry.

Built-ins:

* ``math`` (Open-Reasoner-Zero): 1.0 iff the response finished (ended by a stop string) and its
  extracted answer equals the ground truth (:func:`~rlsuite.envs.reasoning.checking.answers_equal`).
* ``countdown`` (TinyZero): no ``<answer>`` -> 0; an answer with illegal characters (allowed: digits,
  ``+ - * / ( ) .`` and spaces), numbers other than exactly the given multiset, or a wrong value -> 0.1
  (the format score); ``|value - target| < 1e-5`` -> 1.0. Expressions are parsed, never ``eval``-ed.
* ``compound``: each sub-answer checked in order against its sub-problem; ``meta["scoring"]`` picks
  ``"all"`` (1 iff all correct) or ``"fraction"`` (share correct); ``compound_all`` /
  ``compound_fraction`` force one rule.

A truncated response (``finished=False``) always scores 0 and counts as not correct.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from rlsuite.envs.reasoning.checking import answers_equal, extract_answer, extract_answers
from rlsuite.envs.reasoning.expressions import ExpressionError, evaluate_expression, expression_numbers
from rlsuite.envs.reasoning.problem import Problem

__all__ = [
    "RewardFn",
    "RewardResult",
    "compound_reward",
    "countdown_check",
    "countdown_reward",
    "get_reward",
    "list_rewards",
    "math_reward",
    "register_reward",
]


@dataclass
class RewardResult:
    """One scored response: the reward, whether it counts as correct, the extracted answer, details."""

    reward: float
    correct: bool
    extracted: str | None
    info: dict[str, Any] = field(default_factory=dict)


RewardFn = Callable[[str, Problem, bool], RewardResult]
_REWARDS: dict[str, RewardFn] = {}


def register_reward(name: str, fn: RewardFn, *, override: bool = False) -> None:
    """Make ``fn`` available as ``reward=name`` in the reasoning environments."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"reward name must be a non-empty string, got {name!r}")
    if not callable(fn):
        raise TypeError(f"reward {name!r} must be callable (response, problem, finished) -> RewardResult")
    if name in _REWARDS and not override:
        raise ValueError(f"reward {name!r} is already registered; pass override=True to replace it")
    _REWARDS[name] = fn


def get_reward(name: str | RewardFn) -> RewardFn:
    """A registered reward function by name (a callable is returned as is)."""
    if callable(name):
        return name
    if name not in _REWARDS:
        raise ValueError(f"unknown reward {name!r}; registered rewards: {', '.join(sorted(_REWARDS))}")
    return _REWARDS[name]


def list_rewards() -> list[str]:
    return sorted(_REWARDS)


def math_reward(
    response: str, problem: Problem, finished: bool, *, use_math_verify: bool | None = None
) -> RewardResult:
    """ORZ's reward: 1.0 iff finished and the extracted answer equals ``problem.answer``."""
    extracted = extract_answer(response)
    correct = bool(finished) and answers_equal(extracted, problem.answer, use_math_verify=use_math_verify)
    return RewardResult(float(correct), correct, extracted, {"finished": bool(finished)})


def countdown_check(expression: str | None, nums: list[int], target: float) -> str:
    """Classify a countdown answer: ``no_answer``, ``illegal``, ``numbers``, ``wrong_value``, ``correct``."""
    if expression is None:
        return "no_answer"
    try:
        used = expression_numbers(expression)
        if Counter(used) != Counter(Fraction(n) for n in nums):
            return "numbers"
        value = evaluate_expression(expression)
    except ExpressionError:
        return "illegal"
    return "correct" if abs(float(value) - float(target)) < 1e-5 else "wrong_value"


def countdown_reward(
    response: str, problem: Problem, finished: bool, *, format_score: float = 0.1
) -> RewardResult:
    """TinyZero's countdown score (see the module docstring); needs ``meta["nums"]``/``meta["target"]``."""
    if "nums" not in problem.meta or "target" not in problem.meta:
        raise ValueError(
            f"the countdown reward needs problem.meta['nums'] and ['target']; task {problem.task!r} has "
            f"meta keys {sorted(problem.meta)}"
        )
    blocks = "<answer>" in response and "</answer>" in response
    extracted = extract_answer(response) if blocks else None
    verdict = countdown_check(extracted, list(problem.meta["nums"]), problem.meta["target"])
    if not finished:
        return RewardResult(0.0, False, extracted, {"finished": False, "verdict": verdict})
    reward = {"no_answer": 0.0, "correct": 1.0}.get(verdict, float(format_score))
    return RewardResult(reward, verdict == "correct", extracted, {"finished": True, "verdict": verdict})


def _sub_correct(answer: str, sub: Problem) -> bool:
    if sub.task == "countdown":
        return countdown_check(answer, list(sub.meta["nums"]), sub.meta["target"]) == "correct"
    return answers_equal(answer, sub.answer)


def compound_reward(
    response: str, problem: Problem, finished: bool, *, scoring: str | None = None
) -> RewardResult:
    """Per-sub-answer checking of a compound problem; ``scoring`` overrides ``meta["scoring"]``."""
    if "subproblems" not in problem.meta:
        raise ValueError(
            f"the compound reward needs a compound problem (meta['subproblems']); got task {problem.task!r}"
        )
    scoring = scoring or problem.meta.get("scoring", "all")
    if scoring not in ("all", "fraction"):
        raise ValueError(f"compound scoring={scoring!r}; accepted values: 'all', 'fraction'")
    subs = [Problem.from_dict(d) for d in problem.meta["subproblems"]]
    answers = extract_answers(response)
    flags = [i < len(answers) and _sub_correct(answers[i], sub) for i, sub in enumerate(subs)]
    fraction = sum(flags) / len(subs)
    all_correct = all(flags) and len(answers) == len(subs)
    reward = (float(all_correct) if scoring == "all" else fraction) if finished else 0.0
    info = {
        "finished": bool(finished),
        "sub_correct": flags,
        "fraction_correct": fraction,
        "scoring": scoring,
    }
    extracted = ", ".join(answers) if answers else None
    return RewardResult(reward, bool(finished) and all_correct, extracted, info)


register_reward("math", math_reward)
register_reward("countdown", countdown_reward)
register_reward("compound", compound_reward)
register_reward("compound_all", functools.partial(compound_reward, scoring="all"))
register_reward("compound_fraction", functools.partial(compound_reward, scoring="fraction"))
