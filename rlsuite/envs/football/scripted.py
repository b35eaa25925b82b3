"""A scripted attacking policy that reads only simple115v2 observations, so it plays the simulator and
the real engine alike (the two are compared with it in benchmarks/bench_football_compare.py).

The carrier runs at the goal, sidesteps a defender straight ahead, passes (short) when a defender is on
him, and shoots inside ``shoot_distance`` of the goal; the nearest player to a free ball goes for it; the
others run to a spot in front of the goal on their side and stop there.
"""

from __future__ import annotations

import math

import numpy as np

from rlsuite.envs.football.actions import IDLE, RELEASE_DIRECTION, SHORT_PASS, SHOT
from rlsuite.envs.football.observe import ACTIVE, BALL, LEFT_POS, OWNER, RIGHT_POS

# Movement actions by the octant of the wanted direction, counter-clockwise from "right" in (x, y) with
# y down: right, bottom_right, bottom, bottom_left, left, top_left, top, top_right.
_OCTANT_ACTIONS = (5, 6, 7, 8, 1, 2, 3, 4)


def direction_action(dx: float, dy: float) -> int:
    """The movement action (1-8) closest to the direction (dx, dy)."""
    octant = round(math.atan2(dy, dx) / (math.pi / 4)) % 8
    return _OCTANT_ACTIONS[octant]


def _players(row: np.ndarray, start: int) -> np.ndarray:
    xy = row[start : start + 22].reshape(11, 2)
    return xy[(xy != -1).any(axis=1)]


def scripted_action(row: np.ndarray, *, shoot_distance: float = 0.25, pressure: float = 0.05) -> int:
    """One agent's action from its simple115v2 row."""
    me_idx = int(np.argmax(row[ACTIVE : ACTIVE + 11]))
    me = row[LEFT_POS + 2 * me_idx : LEFT_POS + 2 * me_idx + 2]
    ball = row[BALL : BALL + 2]
    team = _players(row, LEFT_POS)
    opponents = _players(row, RIGHT_POS)[1:]  # outfield only (the keeper is listed first)
    to_ball = np.linalg.norm(team - ball, axis=1)
    nearest_to_ball = float(np.linalg.norm(me - ball)) <= to_ball.min() + 1e-6
    owner = int(np.argmax(row[OWNER : OWNER + 3]))  # 0 none, 1 left, 2 right
    if owner == 1 and nearest_to_ball:
        return _carrier_action(me, opponents, shoot_distance, pressure)
    if owner == 0 and nearest_to_ball:
        return direction_action(*(ball - me))
    spot = np.array([0.85, 0.12 if me[1] >= 0 else -0.12])
    if np.linalg.norm(spot - me) < 0.03:
        return RELEASE_DIRECTION
    return direction_action(*(spot - me))


def _carrier_action(me: np.ndarray, opponents: np.ndarray, shoot_distance: float, pressure: float) -> int:
    to_goal = np.array([1.0, 0.0]) - me
    if np.linalg.norm(to_goal) < shoot_distance:
        return SHOT
    if len(opponents):
        gaps = opponents - me
        dist = np.linalg.norm(gaps, axis=1)
        k = int(np.argmin(dist))
        if dist[k] < pressure:
            return SHORT_PASS
        ahead = gaps[k, 0] > 0 and dist[k] < 0.12 and abs(gaps[k, 1]) < 0.06
        if ahead:  # sidestep to the side away from the defender
            side = -1.0 if gaps[k, 1] > 0 else 1.0
            return direction_action(1.0, side)
    return direction_action(*to_goal) if np.linalg.norm(to_goal) > 1e-6 else IDLE


def scripted_actions(obs: np.ndarray, **kwargs: float) -> np.ndarray:
    """Actions ``int64[..., N]`` for observations ``[..., N, 115]``."""
    obs = np.asarray(obs)
    flat = obs.reshape(-1, obs.shape[-1])
    actions = np.array([scripted_action(row, **kwargs) for row in flat], dtype=np.int64)
    return actions.reshape(obs.shape[:-1])
