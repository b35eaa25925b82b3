"""The Google Research Football academy scenarios: line-ups, ball, episode rules, controlled players.

Positions are the scenario files' (``gfootball/scenarios/academy_*.py``), with the right team already
mirrored into the global frame ((x, y) -> (-x, -y), as the engine does; scenario files:
https://github.com/google-research/football/tree/master/gfootball/scenarios). The
pitch is x in [-1, 1] (the left team attacks the goal at x = +1) and y in [-0.42, 0.42]; the goal mouth
is |y| <= 0.044. "Top" is negative y, as in the engine.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np

# Player roles (gfootball's e_PlayerRole order).
GK, CB, LB, RB, DM, CM, LM, RM, AM, CF = range(10)
ROLE_NAMES = ("GK", "CB", "LB", "RB", "DM", "CM", "LM", "RM", "AM", "CF")

# Game modes (observation one-hot order).
MODE_NORMAL, MODE_KICKOFF, MODE_GOAL_KICK, MODE_FREE_KICK, MODE_CORNER, MODE_THROW_IN, MODE_PENALTY = range(7)
GAME_MODE_NAMES = ("normal", "kickoff", "goal_kick", "free_kick", "corner", "throw_in", "penalty")

MAX_TEAM = 11  # slots per team in every observation (missing players are -1)

Player = tuple[float, float, int]  # x, y, role


@dataclass(frozen=True)
class Scenario:
    """One academy scenario: who stands where, the ball, and the episode-end rules."""

    name: str
    ball: tuple[float, float]
    left: tuple[Player, ...]
    right: tuple[Player, ...]  # global frame (already mirrored)
    default_agents: int
    game_duration: int = 400
    end_on_possession_change: bool = True
    start_mode: int = MODE_NORMAL
    right_difficulty: float = 0.6
    description: str = ""

    @property
    def n_left(self) -> int:
        return len(self.left)

    @property
    def n_right(self) -> int:
        return len(self.right)

    @property
    def max_agents(self) -> int:
        """The engine lets agents control up to every left player (the goalkeeper last)."""
        return len(self.left)

    def positions(self) -> np.ndarray:
        """``[22, 2]`` start positions: left players in slots 0-10, right players in 11-21, -1 padding."""
        out = np.full((2 * MAX_TEAM, 2), -1.0)
        for k, (x, y, _) in enumerate(self.left):
            out[k] = (x, y)
        for k, (x, y, _) in enumerate(self.right):
            out[MAX_TEAM + k] = (x, y)
        return out

    def roles(self) -> np.ndarray:
        out = np.full(2 * MAX_TEAM, -1, dtype=np.int64)
        for k, (_, _, role) in enumerate(self.left):
            out[k] = role
        for k, (_, _, role) in enumerate(self.right):
            out[MAX_TEAM + k] = role
        return out


def _mirror(players: tuple[Player, ...]) -> tuple[Player, ...]:
    """Scenario files give the right team in its own frame; the engine mirrors it."""
    return tuple((-x if x else 0.0, -y if y else 0.0, role) for x, y, role in players)


_COUNTER_LEFT: tuple[Player, ...] = (
    (-1.0, 0.0, GK),
    (-0.672, -0.196, LB),
    (-0.75, -0.064, CB),
    (-0.75, 0.064, CB),
    (-0.672, 0.196, RB),
    (-0.434, -0.106, CM),
    (-0.434, 0.106, CM),
    (0.5, -0.316, CM),
    (0.25, -0.1, LM),
    (0.25, 0.1, RM),
    (0.35, 0.316, CF),
)


def _counter_right(second_cb_x: float) -> tuple[Player, ...]:
    return _mirror(
        (
            (-1.0, 0.0, GK),
            (0.128, -0.196, LB),
            (0.4, -0.064, CB),
            (second_cb_x, 0.064, CB),
            (0.128, -0.196, RB),
            (0.365, -0.106, CM),
            (0.282, 0.0, CM),
            (0.365, 0.106, CM),
            (0.54, -0.316, LM),
            (0.51, 0.0, RM),
            (0.54, 0.316, CF),
        )
    )


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "academy_3_vs_1_with_keeper",
            ball=(0.62, 0.0),
            left=((-1.0, 0.0, GK), (0.6, 0.0, CM), (0.7, 0.2, CM), (0.7, -0.2, CM)),
            right=_mirror(((-1.0, 0.0, GK), (-0.75, 0.0, CB))),
            default_agents=3,
            description="3 attackers, the centre one with the ball facing a defender, vs a keeper",
        ),
        Scenario(
            "academy_pass_and_shoot_with_keeper",
            ball=(0.7, -0.28),
            left=((-1.0, 0.0, GK), (0.7, 0.0, CB), (0.7, -0.3, CB)),
            right=_mirror(((-1.0, 0.0, GK), (-0.75, 0.3, CB))),
            default_agents=2,
            description="the ball carrier on the wing is marked; a free attacker in the centre",
        ),
        Scenario(
            "academy_run_pass_and_shoot_with_keeper",
            ball=(0.7, -0.28),
            left=((-1.0, 0.0, GK), (0.7, 0.0, CB), (0.7, -0.3, CB)),
            right=_mirror(((-1.0, 0.0, GK), (-0.75, 0.1, CB))),
            default_agents=2,
            description="the centre attacker is marked; the ball carrier on the wing is free",
        ),
        Scenario(
            "academy_counterattack_easy",
            ball=(0.26, -0.11),
            left=_COUNTER_LEFT,
            right=_counter_right(-0.4),
            default_agents=4,
            description="11 v 11 line-ups, a 4 v 1 (+ keeper) counterattack",
        ),
        Scenario(
            "academy_counterattack_hard",
            ball=(0.26, -0.11),
            left=_COUNTER_LEFT,
            right=_counter_right(0.4),
            default_agents=4,
            description="11 v 11 line-ups, a 4 v 2 (+ keeper) counterattack",
        ),
        Scenario(
            "academy_corner",
            ball=(0.99, 0.41),
            left=(
                (-1.0, 0.0, GK),
                (1.0, 0.42, LB),
                (0.7, 0.15, CB),
                (0.7, 0.05, CB),
                (0.7, -0.05, RB),
                (0.0, 0.0, CM),
                (0.6, 0.35, CM),
                (0.8, 0.07, CM),
                (0.8, -0.03, LM),
                (0.8, -0.13, RM),
                (0.7, -0.3, CF),
            ),
            right=_mirror(
                (
                    (-1.0, 0.0, GK),
                    (-0.75, -0.18, LB),
                    (-0.75, -0.08, CB),
                    (-0.75, 0.02, CB),
                    (-1.0, -0.1, RB),
                    (-0.8, -0.25, CM),
                    (-0.88, -0.07, CM),
                    (-0.88, 0.03, CM),
                    (-0.88, 0.13, LM),
                    (-0.75, 0.25, RM),
                    (-0.2, 0.0, CF),
                )
            ),
            default_agents=10,
            end_on_possession_change=False,
            start_mode=MODE_CORNER,
            description="a corner kick, 11 v 11; a possession change does not end the episode",
        ),
    )
}

SCENARIO_NAMES = tuple(SCENARIOS)


def get_scenario(name: str) -> Scenario:
    """The scenario called ``name``; an unknown name raises naming the closest and all accepted ones."""
    if isinstance(name, Scenario):
        return name
    if name in SCENARIOS:
        return SCENARIOS[name]
    close = difflib.get_close_matches(str(name), SCENARIO_NAMES, n=3, cutoff=0.4)
    hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
    raise ValueError(f"unknown football scenario {name!r}{hint}; accepted: {', '.join(SCENARIO_NAMES)}")


def check_agent_count(scenario: Scenario, n_agents: int | None) -> int:
    """The number of controlled left players: the scenario's default, or 1..(left players)."""
    if n_agents is None:
        return scenario.default_agents
    if isinstance(n_agents, bool) or not isinstance(n_agents, (int, np.integer)):
        raise ValueError(f"n_agents must be an int in [1, {scenario.max_agents}], got {n_agents!r}")
    if not 1 <= n_agents <= scenario.max_agents:
        raise ValueError(
            f"{scenario.name} has {scenario.n_left} left players: n_agents (controlled players) must be in "
            f"[1, {scenario.max_agents}], got {n_agents} (default {scenario.default_agents})"
        )
    return int(n_agents)
