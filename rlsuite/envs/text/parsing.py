"""Parse an LLM agent's reply into env actions, RAGEN-style: ``<think>...</think> <answer>A || B</answer>``.

* The answer is the first ``<answer>...</answer>`` block after the think block (tags are matched
  case-insensitively; prose around the tags is ignored).
* ``think="optional"`` (default) accepts replies with or without a think block, ``"required"`` needs a
  ``<think>...</think>`` block before the answer (RAGEN's ``enable_think=True``), ``"forbidden"`` rejects
  replies that contain one (RAGEN's answer-only format).
* The answer is split on the separator (``"||"``); items are stripped of whitespace, quotes and trailing
  punctuation, empty items are skipped, at most ``max_actions`` items are kept (RAGEN keeps the first
  ``max_actions_per_turn``) and each is matched case-insensitively against the action names and aliases.
  Unknown items are dropped and reported.

A reply is *valid* when the format matched, every kept item named an action and there was at least one;
the text env charges its format penalty for invalid replies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["THINK_MODES", "ActionParser", "ParseResult"]

THINK_MODES = ("optional", "required", "forbidden")
_THINK = re.compile(r"<think>(.*?)</think>", re.DOTALL | re.IGNORECASE)
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)
_STRIP = " \t\r\n'\"`.,;!*"


@dataclass(frozen=True)
class ParseResult:
    """What a reply asked for. ``actions`` are env action ids, ``names`` their canonical names."""

    actions: tuple[int, ...] = ()
    names: tuple[str, ...] = ()
    think: str | None = None
    answer: str | None = None
    format_ok: bool = False
    invalid: tuple[str, ...] = ()
    dropped: int = 0
    error: str = ""

    @property
    def valid(self) -> bool:
        """Format matched, every kept item was an action, and there was at least one action."""
        return self.format_ok and not self.invalid and len(self.actions) > 0


def _normalise(name: str) -> str:
    return " ".join(name.lower().split())


class ActionParser:
    """Maps replies to action ids for one env's action names (index = action id) plus aliases."""

    def __init__(
        self,
        action_names: Sequence[str],
        aliases: Mapping[str, int] | None = None,
        *,
        think: str = "optional",
        separator: str = "||",
        max_actions: int = 5,
    ):
        if think not in THINK_MODES:
            raise ValueError(f"think must be one of {THINK_MODES}, got {think!r}")
        if not separator:
            raise ValueError("separator must be a non-empty string")
        if max_actions < 1:
            raise ValueError(f"max_actions must be >= 1, got {max_actions!r}")
        self.action_names = tuple(action_names)
        self.think, self.separator, self.max_actions = think, separator, int(max_actions)
        self.lookup = {_normalise(n): i for i, n in enumerate(self.action_names)}
        for alias, action in (aliases or {}).items():
            self.lookup.setdefault(_normalise(alias), int(action))

    def format_hint(self) -> str:
        """The reply format the parser expects, for the prompt."""
        if self.think == "forbidden":
            return "<answer> [your answer] </answer>"
        return "<think> [Your thoughts] </think> <answer> [your answer] </answer>"

    def parse(self, text: str) -> ParseResult:
        if not isinstance(text, str) or not text.strip():
            return ParseResult(error="empty reply")
        think_match = _THINK.search(text)
        think = think_match.group(1).strip() if think_match else None
        if self.think == "forbidden" and think_match:
            return ParseResult(think=think, error="a <think> block is not allowed; reply with <answer> only")
        if self.think == "required" and not think_match:
            return ParseResult(error="missing <think>...</think> block before the answer")
        answer_match = _ANSWER.search(text, think_match.end() if think_match else 0)
        if answer_match is None:
            return ParseResult(think=think, error="missing <answer>...</answer> block")
        answer = answer_match.group(1)
        items = [item.strip(_STRIP) for item in answer.split(self.separator)]
        items = [item for item in items if item]
        kept, dropped = items[: self.max_actions], max(0, len(items) - self.max_actions)
        actions, names, invalid = [], [], []
        for item in kept:
            action = self.lookup.get(_normalise(item))
            if action is None:
                invalid.append(item)
            else:
                actions.append(action)
                names.append(self.action_names[action])
        error = ""
        if invalid:
            error = "unknown actions: " + ", ".join(repr(i) for i in invalid)
        elif not actions:
            error = "no action in the answer"
        return ParseResult(
            actions=tuple(actions),
            names=tuple(names),
            think=think,
            answer=answer.strip(),
            format_ok=True,
            invalid=tuple(invalid),
            dropped=dropped,
            error=error,
        )
