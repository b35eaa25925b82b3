"""Prompt templates: the text a policy is conditioned on, a gold response (SFT target) and stop strings.

* ``orz``: Open-Reasoner-Zero's base-model prompt (no BOS, no chat template): the R1-Zero-style
  preamble, ``User:`` with the ``<answer>``/``\\boxed{}`` instruction, ``This is the problem:`` and the
  question, then ``Assistant: <think>``. Stops at ``User:``, ``Human:``, ``Assistant:``, ``</answer>``.
* ``tinyzero``: TinyZero's Countdown base template, ending ``Assistant: Let me solve this step by
  step.\\n<think>``; the answer (a countdown expression) goes in ``<answer> </answer>``.
* ``compact``: for small models trained from scratch: ``question\\n`` then ``<answer>answer</answer>``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rlsuite.envs.reasoning.problem import Problem

__all__ = ["TEMPLATES", "PromptTemplate", "get_template", "is_finished"]

_R1_PREAMBLE = (
    "A conversation between User and Assistant. The User asks a question, and the Assistant solves it. "
    "The Assistant first thinks about the reasoning process in the mind and then provides the User with "
    "the answer. The reasoning process is enclosed within <think> </think> and answer is enclosed within "
    "<answer> </answer> tags, respectively, i.e., <think> reasoning process here </think> "
    "<answer> answer here </answer>."
)
_ORZ_INSTRUCTION = (
    "User: You must put your answer inside <answer> </answer> tags, i.e., <answer> answer here </answer>. "
    "And your final answer will be extracted automatically by the \\boxed{} tag.\nThis is the problem:\n"
)
_TINYZERO_PREAMBLE = (
    "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
    "The assistant first thinks about the reasoning process in the mind and then provides the user with "
    "the answer.\n"
)


def _answer_body(problem: Problem, boxed: bool) -> str:
    """What a gold response writes inside ``<answer>``: one box per sub-answer for compound problems."""
    items = list(problem.meta["answer_texts"]) if problem.task == "compound" else [problem.answer_text]
    return ", ".join(f"\\boxed{{{item}}}" if boxed else item for item in items)


def _orz_prompt(problem: Problem) -> str:
    return f"{_R1_PREAMBLE} {_ORZ_INSTRUCTION}{problem.question}\nAssistant: <think>"


def _orz_response(problem: Problem) -> str:
    return (
        f"{problem.solution or problem.answer_text} </think> <answer> {_answer_body(problem, True)} </answer>"
    )


def _tinyzero_prompt(problem: Problem) -> str:
    example = ", for example <answer> (1 + 2) / 3 </answer>" if problem.task == "countdown" else ""
    return (
        f"{_TINYZERO_PREAMBLE}User: {problem.question} Show your work in <think> </think> tags. "
        f"And return the final answer in <answer> </answer> tags{example}.\n"
        "Assistant: Let me solve this step by step.\n<think>"
    )


def _tinyzero_response(problem: Problem) -> str:
    reasoning = problem.solution or problem.answer_text
    return f" {reasoning} </think>\n<answer> {_answer_body(problem, False)} </answer>"


def _compact_prompt(problem: Problem) -> str:
    return f"{problem.question}\n"


def _compact_response(problem: Problem) -> str:
    return f"<answer>{_answer_body(problem, False)}</answer>"


@dataclass(frozen=True)
class PromptTemplate:
    """A named prompt format. ``stop_strings``: generation ends at (and keeps) the first of these."""

    name: str
    prompt_fn: Callable[[Problem], str]
    response_fn: Callable[[Problem], str]
    stop_strings: tuple[str, ...]
    description: str = ""

    def prompt(self, problem: Problem) -> str:
        """The text the model is conditioned on."""
        return self.prompt_fn(problem)

    def response(self, problem: Problem) -> str:
        """A gold response in this template's format (an SFT target), ending with a stop string."""
        return self.response_fn(problem)

    def finished(self, response: str) -> bool:
        """Whether ``response`` ended by a stop string (after ``rstrip``); always True without stops."""
        return is_finished(response, self.stop_strings)


def is_finished(response: str, stop_strings: tuple[str, ...]) -> bool:
    if not stop_strings:
        return True
    return response.rstrip().endswith(stop_strings)


TEMPLATES: dict[str, PromptTemplate] = {
    "orz": PromptTemplate(
        "orz", _orz_prompt, _orz_response, ("User:", "Human:", "Assistant:", "</answer>"),
        "Open-Reasoner-Zero base-model prompt; answer in <answer> \\boxed{} </answer>",
    ),
    "tinyzero": PromptTemplate(
        "tinyzero", _tinyzero_prompt, _tinyzero_response, ("</answer>",),
        "TinyZero Countdown base prompt; answer in <answer> </answer>",
    ),
    "compact": PromptTemplate(
        "compact", _compact_prompt, _compact_response, ("</answer>",),
        "question then <answer>answer</answer>; for small from-scratch models",
    ),
}  # fmt: skip


def get_template(name: str | PromptTemplate) -> PromptTemplate:
    """A template by name (or a :class:`PromptTemplate` as is)."""
    if isinstance(name, PromptTemplate):
        return name
    if name not in TEMPLATES:
        raise ValueError(f"unknown prompt template {name!r}; accepted names: {', '.join(TEMPLATES)}")
    return TEMPLATES[name]
