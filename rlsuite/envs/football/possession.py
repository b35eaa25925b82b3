"""Numba possession rules: challenges on the ball carrier and the control of a free ball."""

from __future__ import annotations

import math

from numba import njit

from rlsuite.envs.batched import rand_float
from rlsuite.envs.football import params as pr
from rlsuite.envs.football.physics import (
    B_VX,
    B_VY,
    B_VZ,
    B_X,
    B_Y,
    B_Z,
    G_KICKED,
    G_OWNER,
    G_TOUCH_TEAM,
    P_COOL,
    P_X,
    P_Y,
    TEAM,
    segment_distance,
    team_of,
)
from rlsuite.envs.football.scenarios import GK

LEFT_DIFFICULTY = 1.0  # the engine's default left-team difficulty: challenges of uncontrolled left players


@njit(cache=True)
def _take(players, ball, game, b, p, prm):
    game[b, G_OWNER] = p
    game[b, G_TOUCH_TEAM] = team_of(p)
    ball[b, B_VX] = 0.0
    ball[b, B_VY] = 0.0
    ball[b, B_VZ] = 0.0
    ball[b, B_Z] = prm[pr.BALL_RADIUS]


@njit(cache=True)
def challenge(players, ball, game, exists, roles, rng, b, prm, slide, carrier_dribbling):
    """Opponents near the carried ball try to win it: agents by sliding, everyone by a standing tackle
    whose chance grows with the team's difficulty (halved, by default, against a dribbling carrier)."""
    owner = game[b, G_OWNER]
    if owner < 0:
        return
    lo = TEAM if owner < TEAM else 0
    for q in range(lo, lo + TEAM):
        if not exists[q] or (players[b, q, P_COOL] > 0.0 and not slide[q]):
            continue
        d = math.sqrt((players[b, q, P_X] - ball[b, B_X]) ** 2 + (players[b, q, P_Y] - ball[b, B_Y]) ** 2)
        chance = 0.0
        if slide[q] and d <= prm[pr.SLIDE_RADIUS]:
            chance = prm[pr.SLIDE_CHANCE]
        elif d <= prm[pr.TACKLE_RADIUS]:
            difficulty = prm[pr.RIGHT_DIFFICULTY] if q >= TEAM else LEFT_DIFFICULTY
            chance = prm[pr.TACKLE_CHANCE] + prm[pr.TACKLE_CHANCE_DIFFICULTY] * difficulty
            if roles[q] == GK:
                chance *= 1.5
        if carrier_dribbling:
            chance *= prm[pr.DRIBBLE_PROTECTION]
        if chance > 0.0 and rand_float(rng, b) < chance:
            _take(players, ball, game, b, q, prm)
            return


@njit(cache=True)
def _control_chance(game, roles, b, p, speed, prm):
    """The chance player ``p`` controls a free ball moving at ``speed`` that passes within his reach."""
    if speed <= prm[pr.SLOW_BALL]:
        return 1.0
    team_mate = team_of(p) == game[b, G_TOUCH_TEAM]
    if roles[p] == GK and not team_mate:  # a save
        difficulty = prm[pr.RIGHT_DIFFICULTY] if p >= TEAM else LEFT_DIFFICULTY
        return prm[pr.KEEPER_SAVE] + prm[pr.KEEPER_SAVE_DIFFICULTY] * difficulty
    if roles[p] == GK or (team_mate and speed <= prm[pr.FAST_BALL]):
        return prm[pr.RECEIVE_CHANCE]
    if speed > prm[pr.FAST_BALL]:
        return prm[pr.FAST_BALL_CONTROL]
    return prm[pr.INTERCEPT_CHANCE]


@njit(cache=True)
def control_free_ball(players, ball, game, exists, roles, rng, b, prm, x0, y0):
    """A free ball that passed within reach of players (nearest first) is controlled: always when slow,
    else by chance (``_control_chance``; keepers save shots with a difficulty-dependent chance).
    ``(x0, y0)`` is where the ball started the step, so fast balls cannot jump past a player."""
    if game[b, G_OWNER] >= 0:
        return
    speed = math.sqrt(ball[b, B_VX] ** 2 + ball[b, B_VY] ** 2)
    taken = 0  # bit mask of players already tried this step
    for _ in range(2 * TEAM):
        best, best_d = -1, 1e9
        for p in range(2 * TEAM):
            if not exists[p] or players[b, p, P_COOL] > 0.0 or (taken >> p) & 1:
                continue
            if game[b, G_KICKED] and team_of(p) != game[b, G_TOUCH_TEAM]:
                continue  # a ball kicked this step gets past the opponents around the kicker
            keeper = roles[p] == GK
            reach = (
                prm[pr.KEEPER_REACH] + 0.01 * prm[pr.RIGHT_DIFFICULTY] if keeper else prm[pr.CONTROL_RADIUS]
            )
            height = prm[pr.CROSSBAR] + 0.3 if keeper else prm[pr.CONTROL_HEIGHT]
            if ball[b, B_Z] > height:
                continue
            d = segment_distance(players[b, p, P_X], players[b, p, P_Y], x0, y0, ball[b, B_X], ball[b, B_Y])
            if d <= reach and d < best_d:
                best, best_d = p, d
        if best < 0:
            return
        taken |= 1 << best
        if rand_float(rng, b) < _control_chance(game, roles, b, best, speed, prm):
            ball[b, B_X] = players[b, best, P_X]
            ball[b, B_Y] = players[b, best, P_Y]
            _take(players, ball, game, b, best, prm)
            return
