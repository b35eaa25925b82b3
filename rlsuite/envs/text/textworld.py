"""A multi-turn text interface over any single-env grid world, for LLM agents (RAGEN's presentation).

:class:`TextWorldEnv` is a ``gymnasium.Env`` with ``Text`` observation and action spaces: text in, text
out, agent-agnostic. ``reset`` returns the first user message (instructions, symbol legend, available
actions, the per-turn action cap, then "Turn 1:", the rendered state, the actions left and the reply
format). Each ``step(reply)`` parses the reply (:mod:`.parsing`), executes its actions on the world one
by one until the world ends the episode or the episode's action budget is spent, and returns the next
user message: feedback on the turn (actions executed, how many changed the state, reward, any format
problem) followed by the next turn's state. The agent keeps the conversation itself.

Reward of a turn: the sum of the world rewards of the executed actions, plus ``format_penalty`` (-0.1)
when the reply was invalid (no parsable answer, unknown actions, or none). ``terminated`` when the world
terminates (solved); ``truncated`` when ``max_turns`` turns or ``max_actions_per_episode`` actions are used
up or the world truncates. ``info`` (every step) carries the metrics: ``success``, ``actions_taken``,
``effective_actions`` (actions that changed the world state), ``actions_issued`` and ``action_efficacy``
(below), ``optimal_length`` (BFS/solver optimum from the episode's start; -1 if unknown),
``optimality_ratio`` (``optimal_length / actions_taken`` on success, else 0), ``turn``, ``format_errors``,
and this turn's ``action_is_valid`` and ``executed_actions``.

Action efficacy (deterministic, counted here so learners read it from ``info``): an executed action is
*effective* when the world state changed (the world's ``world_state()`` bytes: the Sokoban room, the maze
agent's cell, Taxi's encoded state), so wall bumps, pushes of a box into a wall or another box, and Taxi
pick-ups/drop-offs in the wrong place are ineffective. ``actions_issued`` counts every action the agent
asked for: the executed ones, plus one ineffective attempt per unknown action item of a reply, plus one for a
reply with no action item at all (no ``<answer>`` block, an empty answer). Items beyond the per-turn or
per-episode caps are not issued (the env never saw them). ``action_efficacy = effective_actions /
actions_issued`` (0 before any action).

``prompt_style="compact"`` keeps contexts short for small models: a two-line header (world, symbols,
actions, per-turn cap), ``Turn k:`` with the state drawn without its outer wall frame, and one feedback line
per turn.

A world plugs in through a :class:`WorldAdapter` (instructions, legend, action names, state text, optimum,
solver plan).
"""

from __future__ import annotations

import string
from typing import Any

import gymnasium as gym
from gymnasium import spaces

from rlsuite.envs.inputs import EpisodeOver, check_reset_options, check_reset_seed
from rlsuite.envs.text.parsing import ActionParser, ParseResult

__all__ = ["ACTION_MAX_LENGTH", "CHARSET", "OBS_MAX_LENGTH", "PROMPT_STYLES", "TextWorldEnv", "WorldAdapter"]

CHARSET = frozenset(string.printable) | frozenset("√")
OBS_MAX_LENGTH = 16384
ACTION_MAX_LENGTH = 8192
PROMPT_STYLES = ("full", "compact")


class WorldAdapter:
    """What the text interface needs from one world. Subclasses set the class attributes."""

    name: str = ""
    action_names: tuple[str, ...] = ()
    aliases: dict[str, int] = {}  # noqa: RUF012 - read-only defaults
    instructions: str = ""
    legend: str = ""
    example: str = ""
    brief: str = ""  # the one-line task of the compact prompt style

    def make_world(self, **kwargs: Any) -> gym.Env:
        raise NotImplementedError

    def state_text(self, world: gym.Env) -> str:
        return world.render_text()

    def optimal_length(self, world: gym.Env) -> int:
        """Fewest actions that solve the episode from its current (start) state; -1 if unknown."""
        return -1

    def optimal_plan(self, world: gym.Env) -> list[int] | None:
        """A shortest action sequence that solves the episode from the world's current state (None if the
        world has no solver or the state cannot be solved)."""
        return None


def sanitize(text: str, max_length: int = OBS_MAX_LENGTH) -> str:
    """Keep ``text`` inside the observation space: unknown characters become ``?``; cut at ``max_length``."""
    clean = "".join(ch if ch in CHARSET else "?" for ch in text)
    return clean[:max_length]


def strip_border(text: str) -> str:
    """The state text without its outer frame: a first line of border characters (``#``, ``+``, ``-``), the
    next line of the same length, and the first and last character of the rows between them; lines after
    the frame (Taxi's passenger line) stay. Text without such a frame comes back unchanged."""
    lines = text.split("\n")
    border = set("#+-")
    if not lines or not lines[0] or not set(lines[0]) <= border:
        return text
    width = len(lines[0])
    for end in range(1, len(lines)):
        if len(lines[end]) == width and set(lines[end]) <= border:
            if end < 2 or any(len(row) != width for row in lines[1:end]):
                return text
            return "\n".join([row[1:-1] for row in lines[1:end]] + lines[end + 1 :])
    return text


class TextWorldEnv(gym.Env):
    """Multi-turn text env over ``adapter``'s world; see the module docstring for the protocol."""

    metadata = {"render_modes": ["ansi", "text"]}  # noqa: RUF012

    def __init__(
        self,
        adapter: WorldAdapter,
        *,
        max_turns: int = 5,
        max_actions_per_turn: int = 5,
        max_actions_per_episode: int = 10,
        format_penalty: float = -0.1,
        think: str = "optional",
        separator: str = "||",
        max_response_words: int = 100,
        prompt_style: str = "full",
        render_mode: str | None = None,
        **world_kwargs: Any,
    ):
        for name, value in (
            ("max_turns", max_turns),
            ("max_actions_per_turn", max_actions_per_turn),
            ("max_actions_per_episode", max_actions_per_episode),
        ):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if prompt_style not in PROMPT_STYLES:
            raise ValueError(f"prompt_style must be one of {PROMPT_STYLES}, got {prompt_style!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or one of {self.metadata['render_modes']}")
        self.adapter = adapter
        self.world = adapter.make_world(**world_kwargs)
        self.parser = ActionParser(
            adapter.action_names,
            adapter.aliases,
            think=think,
            separator=separator,
            max_actions=max_actions_per_turn,
        )
        self.max_turns, self.max_actions_per_turn = max_turns, max_actions_per_turn
        self.max_actions_per_episode = max_actions_per_episode
        self.format_penalty = float(format_penalty)
        self.max_response_words = int(max_response_words)
        self.compact = prompt_style == "compact"
        self.render_mode = render_mode
        self.observation_space = spaces.Text(OBS_MAX_LENGTH, min_length=1, charset=CHARSET)
        self.action_space = spaces.Text(ACTION_MAX_LENGTH, min_length=0, charset=CHARSET)
        self._episode: dict[str, Any] = {}

    # -- prompts --------------------------------------------------------------------------------------
    def instructions(self) -> str:
        """The episode-independent part of the first message."""
        a = self.adapter
        sep = self.parser.separator
        if self.compact:
            return (
                f"{a.name}: {a.brief}\nActions: {', '.join(a.action_names)}; up to "
                f"{self.max_actions_per_turn} per turn as <answer>A {sep} B</answer>."
            )
        lines = [a.instructions]
        if a.legend:
            lines.append(f"The meaning of each symbol in the state is:\n{a.legend}")
        lines.append(f"Your available actions are:\n{', '.join(a.action_names)}")
        lines.append(
            f"You can make up to {self.max_actions_per_turn} actions per turn, separated by the action "
            f'separator " {sep} ".'
        )
        if a.example:
            lines.append(f"Example answer: <answer>{a.example}</answer>")
        return "\n".join(lines)

    def _turn_prompt(self) -> str:
        ep = self._episode
        left = self.max_actions_per_episode - ep["actions_taken"]
        if self.compact:
            state = strip_border(self.adapter.state_text(self.world))
            return f"Turn {ep['turn'] + 1} ({left} actions left):\n{state}\n"
        return (
            f"Turn {ep['turn'] + 1}:\nState:\n{self.adapter.state_text(self.world)}\n"
            f"You have {left} actions left. Always output: {self.parser.format_hint()} with no extra text. "
            f"Strictly follow this format. Max response length: {self.max_response_words} words (tokens)."
        )

    # -- Gymnasium API --------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict]:
        """Start a world episode (``options`` go to the world's reset) and return the first message."""
        options = check_reset_options(options)
        super().reset(seed=check_reset_seed(seed))
        self.world.reset(seed=seed, options=options)
        self._episode = {
            "turn": 0,
            "actions_taken": 0,
            "effective_actions": 0,
            "actions_issued": 0,
            "format_errors": 0,
            "success": False,
            "done": False,
            "optimal_length": int(self.adapter.optimal_length(self.world)),
        }
        text = sanitize(f"{self.instructions()}\n{self._turn_prompt()}")
        return text, self._info(True, [])

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        ep = self._episode
        if not ep or ep["done"]:
            raise EpisodeOver()
        parsed = self.parser.parse(action)
        budget = self.max_actions_per_episode - ep["actions_taken"]
        reward, executed, terminated, world_truncated = 0.0, [], False, False
        for a in parsed.actions[:budget]:
            before = self.world.world_state()
            _, r, terminated, world_truncated, info = self.world.step(a)
            reward += float(r)
            executed.append(a)
            ep["actions_taken"] += 1
            ep["effective_actions"] += before != self.world.world_state()
            ep["success"] = bool(info.get("is_success", False))
            if terminated or world_truncated:
                break
        ep["actions_issued"] += len(executed) + len(parsed.invalid)
        ep["actions_issued"] += not parsed.actions and not parsed.invalid  # a reply with no action at all
        if not parsed.valid:
            reward += self.format_penalty
            ep["format_errors"] += 1
        ep["turn"] += 1
        out_of_budget = ep["turn"] >= self.max_turns or ep["actions_taken"] >= self.max_actions_per_episode
        truncated = not terminated and (world_truncated or out_of_budget)
        ep["done"] = terminated or truncated
        text = self._feedback(parsed, executed, reward, terminated, truncated)
        if not ep["done"]:
            text += "\n" + self._turn_prompt()
        return sanitize(text), reward, bool(terminated), bool(truncated), self._info(parsed.valid, executed)

    def _feedback(
        self, parsed: ParseResult, executed: list[int], reward: float, term: bool, trunc: bool
    ) -> str:
        ep = self._episode
        names = [self.adapter.action_names[a] for a in executed]
        if self.compact:
            return self._compact_feedback(parsed, names, term, trunc)
        lines = [f"Turn {ep['turn']} feedback:"]
        if names:
            lines.append(f"Executed {len(names)} action(s): {', '.join(names)}.")
        else:
            lines.append("No action was executed.")
        if not parsed.valid:
            lines.append(f"Invalid answer ({parsed.error}); format penalty {self.format_penalty:g}.")
        if parsed.dropped:
            lines.append(f"Only the first {self.max_actions_per_turn} actions of a turn are used.")
        lines.append(f"Reward: {reward:g}")
        if term:
            lines.append(f"Success: solved in {ep['actions_taken']} actions.")
        elif trunc:
            lines.append(f"Episode over: not solved after {ep['actions_taken']} actions.")
        return "\n".join(lines)

    def _compact_feedback(self, parsed: ParseResult, names: list[str], term: bool, trunc: bool) -> str:
        line = f"Did {', '.join(names)}." if names else "Did nothing."
        if not parsed.valid:
            line += f" Invalid: {parsed.error}."
        if term:
            line += " Solved."
        elif trunc:
            line += " Failed."
        return line

    def optimal_actions(self) -> list[str] | None:
        """Action names of a shortest plan from the current state (the world's solver; None when the world
        has none or the state cannot be solved). Solver-generated demonstrations read this."""
        plan = self.adapter.optimal_plan(self.world)
        return None if plan is None else [self.adapter.action_names[a] for a in plan]

    def _info(self, valid: bool, executed: list[int]) -> dict[str, Any]:
        ep = self._episode
        opt, taken = ep["optimal_length"], ep["actions_taken"]
        ratio = opt / taken if ep["success"] and taken > 0 and opt >= 0 else 0.0
        issued = ep["actions_issued"]
        return {
            "success": ep["success"],
            "is_success": ep["success"],
            "turn": ep["turn"],
            "actions_taken": taken,
            "effective_actions": ep["effective_actions"],
            "actions_issued": issued,
            "action_efficacy": ep["effective_actions"] / issued if issued else 0.0,
            "optimal_length": opt,
            "optimality_ratio": float(ratio),
            "format_errors": ep["format_errors"],
            "action_is_valid": bool(valid),
            "executed_actions": [self.adapter.action_names[a] for a in executed],
        }

    def render(self) -> str | None:
        if self.render_mode is None or not self._episode:
            return None
        return self.world.render_text(ansi=self.render_mode == "ansi")

    def close(self) -> None:
        self.world.close()
