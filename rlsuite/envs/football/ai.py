"""Numba behaviour of the players no agent controls: the right team's keeper and defenders, the left
team's keeper and uncontrolled outfield players, and any uncontrolled ball carrier.

A deliberately simple model of the engine's built-in AI (docs/football.md): the right player nearest the
ball presses it from the goal side, the other right outfield players mark the nearest attacker goal-side,
keepers guard their line, come out for a carrier close to goal and move across for shots; uncontrolled
left outfield players keep their start shape shifted with the ball along x. An uncontrolled carrier
clears the ball upfield at once.
"""

from __future__ import annotations

import math

from numba import njit

from rlsuite.envs.batched import rand_float
from rlsuite.envs.football import params as pr
from rlsuite.envs.football.physics import (
    B_VX,
    B_VY,
    B_X,
    B_Y,
    G_OWNER,
    P_X,
    P_Y,
    PITCH_X,
    TEAM,
    kick,
)
from rlsuite.envs.football.scenarios import GK


@njit(cache=True)
def _seek(players, b, p, tx, ty, speed, desired):
    """Desired velocity toward (tx, ty) at ``speed``, slowing to arrive."""
    dx, dy = tx - players[b, p, P_X], ty - players[b, p, P_Y]
    dist = math.sqrt(dx * dx + dy * dy)
    if dist < 1e-6:
        desired[p, 0] = 0.0
        desired[p, 1] = 0.0
        return
    v = min(speed, dist)
    desired[p, 0] = dx / dist * v
    desired[p, 1] = dy / dist * v


@njit(cache=True)
def _keeper(players, ball, game, b, p, prm, desired):
    side = 1.0 if p >= TEAM else -1.0  # the goal this keeper guards is at x = side
    line_x = side * (PITCH_X - 0.01)
    bx, by = ball[b, B_X], ball[b, B_Y]
    owner = game[b, G_OWNER]
    toward_goal = ball[b, B_VX] * side
    if owner < 0 and toward_goal > 0.02:  # a shot or pass toward goal: move across to its line
        t = (line_x - bx) / ball[b, B_VX]
        cross_y = min(max(by + ball[b, B_VY] * t, -0.07), 0.07)
        _seek(players, b, p, line_x, cross_y, prm[pr.SPRINT_SPEED], desired)
        return
    attacker = owner >= 0 and (owner >= TEAM) != (p >= TEAM)
    if attacker and math.sqrt((bx - side) ** 2 + by * by) < prm[pr.KEEPER_RUSH_DISTANCE]:
        _seek(players, b, p, bx, by, 0.9 * prm[pr.SPRINT_SPEED], desired)
        return
    _seek(players, b, p, line_x, min(max(0.25 * by, -0.035), 0.035), prm[pr.RUN_SPEED], desired)


@njit(cache=True)
def _nearest(players, exists, roles, b, lo, x, y, skip_keeper):
    best, best_d = -1, 1e9
    for q in range(lo, lo + TEAM):
        if not exists[q] or (skip_keeper and roles[q] == GK):
            continue
        d = (players[b, q, P_X] - x) ** 2 + (players[b, q, P_Y] - y) ** 2
        if d < best_d:
            best, best_d = q, d
    return best


@njit(cache=True)
def _right_outfield(players, ball, exists, roles, b, p, presser, prm, desired):
    difficulty = prm[pr.RIGHT_DIFFICULTY]
    speed = prm[pr.RUN_SPEED] * (prm[pr.DEFENDER_SPEED] + prm[pr.DEFENDER_SPEED_DIFFICULTY] * difficulty)
    if p == presser:  # close down the ball from the goal side
        tx, ty = ball[b, B_X], ball[b, B_Y]
    else:  # mark the nearest attacker, goal side
        a = _nearest(players, exists, roles, b, 0, players[b, p, P_X], players[b, p, P_Y], True)
        if a < 0:
            return
        tx, ty = players[b, a, P_X], players[b, a, P_Y]
        speed *= 0.85
    gx, gy = PITCH_X - tx, -ty
    norm = math.sqrt(gx * gx + gy * gy) + 1e-9
    offset = 0.012 if p == presser else 0.04
    _seek(players, b, p, tx + gx / norm * offset, ty + gy / norm * offset, speed, desired)


@njit(cache=True)
def ai_desired(players, ball, game, exists, roles, controlled, home, home_ball_x, b, prm, desired):
    """Desired velocities of every player not in ``controlled`` (bool[22])."""
    presser = _nearest(players, exists, roles, b, TEAM, ball[b, B_X], ball[b, B_Y], True)
    for p in range(2 * TEAM):
        if not exists[p] or controlled[p]:
            continue
        if roles[p] == GK:
            _keeper(players, ball, game, b, p, prm, desired)
        elif p >= TEAM:
            _right_outfield(players, ball, exists, roles, b, p, presser, prm, desired)
        else:  # uncontrolled left outfield player: start shape, shifted with the ball along x
            tx = min(max(home[p, 0] + ball[b, B_X] - home_ball_x, -0.95), 0.9)
            _seek(players, b, p, tx, home[p, 1], prm[pr.RUN_SPEED], desired)


@njit(cache=True)
def ai_carrier_clears(players, ball, game, rng, b, controlled, prm):
    """An uncontrolled ball carrier (a keeper, or a right player in academy_corner) clears upfield."""
    owner = game[b, G_OWNER]
    if owner < 0 or controlled[owner]:
        return
    forward = 1.0 if owner < TEAM else -1.0
    vy = (rand_float(rng, b) - 0.5) * 0.04
    speed = 0.75 * prm[pr.LONG_PASS_MAX]
    kick(players, ball, game, b, owner, forward * speed, vy, prm[pr.HIGH_PASS_LIFT] * 0.6, prm)
