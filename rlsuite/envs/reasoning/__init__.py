"""Verifiable LLM-reasoning tasks, prompt templates, rule-based answer checking and single-turn envs.

See docs/reasoning.md. Everything public is importable from this package.
"""

from __future__ import annotations

from pathlib import Path

from rlsuite.envs.reasoning.checking import (
    answers_equal,
    extract_answer,
    extract_answers,
    has_math_verify,
    last_boxed,
    normalize_answer,
)
from rlsuite.envs.reasoning.env import ReasoningEnv, ReasoningVectorEnv
from rlsuite.envs.reasoning.expressions import ExpressionError, evaluate_expression
from rlsuite.envs.reasoning.jsonl import JSONLTask, load_problems
from rlsuite.envs.reasoning.problem import Problem, Task
from rlsuite.envs.reasoning.rewards import (
    RewardFn,
    RewardResult,
    compound_reward,
    countdown_reward,
    get_reward,
    list_rewards,
    math_reward,
    register_reward,
)
from rlsuite.envs.reasoning.stream import DEFAULT_TEST_SEED, ProblemStream
from rlsuite.envs.reasoning.tasks import (
    TASKS,
    ArithmeticTask,
    CompoundTask,
    CountdownTask,
    LinearEquationTask,
    make_task,
)
from rlsuite.envs.reasoning.templates import TEMPLATES, PromptTemplate, get_template

SAMPLE_DATA = Path(__file__).parent / "data" / "sample_problems.jsonl"
"""A small problem file shipped with the package (the default of ``rlsuite/ReasoningJSONL-v0``)."""

__all__ = [
    "DEFAULT_TEST_SEED",
    "SAMPLE_DATA",
    "TASKS",
    "TEMPLATES",
    "ArithmeticTask",
    "CompoundTask",
    "CountdownTask",
    "ExpressionError",
    "JSONLTask",
    "LinearEquationTask",
    "Problem",
    "ProblemStream",
    "PromptTemplate",
    "ReasoningEnv",
    "ReasoningVectorEnv",
    "RewardFn",
    "RewardResult",
    "Task",
    "answers_equal",
    "compound_reward",
    "countdown_reward",
    "evaluate_expression",
    "extract_answer",
    "extract_answers",
    "get_reward",
    "get_template",
    "has_math_verify",
    "last_boxed",
    "list_rewards",
    "load_problems",
    "make_task",
    "math_reward",
    "normalize_answer",
    "register_reward",
]
