"""Numba pieces of one football step: agents' actions, kicks, player motion, ball flight, possession.

State of a batch of ``B`` matches (see :mod:`rlsuite.envs.football.core` for the step order):

* ``players[B, 22, P_*]`` float64: position, velocity (per step), facing (unit vector), cooldown (steps
  during which the player cannot touch the ball: after a kick or a slide). Slots 0-10 are the left team,
  11-21 the right team; ``exists[22]`` marks the slots the scenario fills.
* ``ball[B, 6]``: x, y, z (height units; a resting ball is at 0.11), velocity per step.
* ``game[B, G_*]`` int64: ball owner slot (-1 free), last owning team, last touching team, game mode,
  steps played, score, set-piece wait, whether the episode is over, whether the ball was kicked this step.
* ``agents[B, N, A_*]`` int64: controlled slot, sticky direction (0 none, 1-8), sticky sprint and
  dribble, checkpoints collected, the pass or shot being wound up and the steps until the ball leaves
  (the engine plays a kick a few steps after the action: 3 for a shot, 4 for a pass, measured).
"""

from __future__ import annotations

import math

from numba import njit

from rlsuite.envs.batched import rand_float
from rlsuite.envs.football import params as pr
from rlsuite.envs.football.actions import (
    DIRECTIONS,
    DRIBBLE,
    HIGH_PASS,
    LONG_PASS,
    RELEASE_DIRECTION,
    RELEASE_DRIBBLE,
    RELEASE_SPRINT,
    SHORT_PASS,
    SHOT,
    SLIDING,
    SPRINT,
)

P_X, P_Y, P_VX, P_VY, P_FX, P_FY, P_COOL = range(7)
N_P = 7
B_X, B_Y, B_Z, B_VX, B_VY, B_VZ = range(6)
(G_OWNER, G_PREV_TEAM, G_TOUCH_TEAM, G_MODE, G_STEPS, G_SCORE_L, G_SCORE_R, G_WAIT, G_OVER, G_KICKED) = range(
    10
)
N_G = 10
A_PLAYER, A_DIR, A_SPRINT, A_DRIBBLE, A_CHECKPOINTS, A_KICK, A_KICK_WAIT = range(7)
N_A = 7

TEAM = 11  # slots per team
PITCH_X, PITCH_Y, GOAL_Y = 1.0, 0.42, 0.044
_DIRS = DIRECTIONS


@njit(cache=True, inline="always")
def team_of(slot):
    return -1 if slot < 0 else (0 if slot < TEAM else 1)


@njit(cache=True)
def gauss(rng, b):
    """An approximately standard normal draw (sum of four uniforms, rescaled)."""
    s = rand_float(rng, b) + rand_float(rng, b) + rand_float(rng, b) + rand_float(rng, b)
    return (s - 2.0) * 1.7320508075688772


@njit(cache=True)
def update_sticky(agents, b, k, action):
    """Sticky movement, sprint and dribble flags of agent ``k`` (the engine's 10 sticky actions)."""
    if 1 <= action <= 8:
        agents[b, k, A_DIR] = action
    elif action == RELEASE_DIRECTION:
        agents[b, k, A_DIR] = 0
    elif action == SPRINT:
        agents[b, k, A_SPRINT] = 1
    elif action == RELEASE_SPRINT:
        agents[b, k, A_SPRINT] = 0
    elif action == DRIBBLE:
        agents[b, k, A_DRIBBLE] = 1
    elif action == RELEASE_DRIBBLE:
        agents[b, k, A_DRIBBLE] = 0


@njit(cache=True)
def agent_desired_velocity(players, game, agents, b, k, prm, desired):
    """The velocity agent ``k``'s player wants: its sticky direction at run or sprint speed."""
    p = agents[b, k, A_PLAYER]
    d = agents[b, k, A_DIR]
    if d == 0:
        desired[p, 0] = 0.0
        desired[p, 1] = 0.0
        return
    speed = prm[pr.SPRINT_SPEED] if agents[b, k, A_SPRINT] else prm[pr.RUN_SPEED]
    if game[b, G_OWNER] == p:
        speed *= prm[pr.CARRY_FACTOR]
        if agents[b, k, A_DRIBBLE]:
            speed *= prm[pr.DRIBBLE_FACTOR]
    desired[p, 0] = _DIRS[d, 0] * speed
    desired[p, 1] = _DIRS[d, 1] * speed


@njit(cache=True)
def kick(players, ball, game, b, kicker, vx, vy, vz, prm):
    """The ball leaves ``kicker`` with velocity (vx, vy, vz); he cannot touch it for a few steps."""
    ball[b, B_VX] = vx
    ball[b, B_VY] = vy
    ball[b, B_VZ] = vz
    game[b, G_OWNER] = -1
    game[b, G_TOUCH_TEAM] = team_of(kicker)
    game[b, G_KICKED] = 1
    players[b, kicker, P_COOL] = prm[pr.KICK_COOLDOWN]


@njit(cache=True)
def aim_direction(players, agents, b, k, kicker):
    """Where agent ``k`` aims: its sticky direction, else its player's facing."""
    if k >= 0 and agents[b, k, A_DIR] != 0:
        d = agents[b, k, A_DIR]
        return _DIRS[d, 0], _DIRS[d, 1]
    return players[b, kicker, P_FX], players[b, kicker, P_FY]


@njit(cache=True)
def pass_receiver(players, exists, b, kicker, ax, ay, long_kind):
    """The teammate a pass aimed along (ax, ay) goes to: best alignment, shorter (or, for long and high
    passes, longer) distances preferred. -1 if the kicker has no teammate."""
    lo = 0 if kicker < TEAM else TEAM
    best, best_score = -1, -1e9
    for q in range(lo, lo + TEAM):
        if q == kicker or not exists[q]:
            continue
        dx = players[b, q, P_X] - players[b, kicker, P_X]
        dy = players[b, q, P_Y] - players[b, kicker, P_Y]
        dist = math.sqrt(dx * dx + dy * dy) + 1e-9
        score = (dx * ax + dy * ay) / dist + (0.2 * dist if long_kind else -0.5 * dist)
        if score > best_score:
            best, best_score = q, score
    return best


@njit(cache=True)
def make_pass(players, ball, game, exists, b, kicker, kind, ax, ay, prm):
    """Short, long or high pass toward the receiver's position one flight time ahead."""
    q = pass_receiver(players, exists, b, kicker, ax, ay, kind != SHORT_PASS)
    if q < 0:
        tx, ty = ball[b, B_X] + ax * 0.3, ball[b, B_Y] + ay * 0.3
    else:
        tx, ty = players[b, q, P_X], players[b, q, P_Y]
    dx, dy = tx - ball[b, B_X], ty - ball[b, B_Y]
    dist = math.sqrt(dx * dx + dy * dy) + 1e-9
    if kind == SHORT_PASS:
        speed, lift = (
            min(prm[pr.SHORT_PASS_SPEED] + prm[pr.SHORT_PASS_PER_DISTANCE] * dist, prm[pr.SHORT_PASS_MAX]),
            0.0,
        )
    elif kind == LONG_PASS:
        speed = min(prm[pr.LONG_PASS_SPEED] + prm[pr.LONG_PASS_PER_DISTANCE] * dist, prm[pr.LONG_PASS_MAX])
        lift = prm[pr.LONG_PASS_LIFT]
    else:  # high pass: lands on the receiver after its flight time
        lift = prm[pr.HIGH_PASS_LIFT]
        speed = min(dist / (2.0 * lift / prm[pr.GRAVITY]), prm[pr.LONG_PASS_MAX])
    if q >= 0:  # lead the receiver by his velocity over the flight
        t = dist / max(speed, 1e-6)
        dx += players[b, q, P_VX] * t
        dy += players[b, q, P_VY] * t
        dist = math.sqrt(dx * dx + dy * dy) + 1e-9
    kick(players, ball, game, b, kicker, dx / dist * speed, dy / dist * speed, lift, prm)


@njit(cache=True)
def shoot(players, ball, game, rng, b, kicker, ax, ay, prm):
    """A shot at the goal the kicker attacks, aimed toward the side his direction points to."""
    goal_x = PITCH_X if kicker < TEAM else -PITCH_X
    aim_y = 0.6 * GOAL_Y * ay
    dx = goal_x - ball[b, B_X]
    dist_goal = math.sqrt(dx * dx + ball[b, B_Y] ** 2)
    spread = prm[pr.SHOT_SPREAD] + prm[pr.SHOT_SPREAD_PER_DISTANCE] * max(0.0, dist_goal - 0.1)
    aim_y += spread * gauss(rng, b)
    dy = aim_y - ball[b, B_Y]
    dist = math.sqrt(dx * dx + dy * dy) + 1e-9
    speed = prm[pr.SHOT_SPEED]
    lift = prm[pr.SHOT_LIFT] * (1.0 + 0.5 * gauss(rng, b))
    kick(players, ball, game, b, kicker, dx / dist * speed, dy / dist * speed, max(lift, 0.0), prm)


@njit(cache=True)
def _is_kick(action):
    return action == SHORT_PASS or action == LONG_PASS or action == HIGH_PASS or action == SHOT


@njit(cache=True)
def agent_ball_action(players, ball, game, agents, exists, rng, b, k, action, prm, slide):
    """Agent ``k``'s ball actions: a carrier winds up a pass or shot (played ``kick_delay`` steps later if
    he still has the ball, aimed by his direction then); a player without the ball may slide."""
    p = agents[b, k, A_PLAYER]
    kind = agents[b, k, A_KICK]
    if kind != 0:
        if game[b, G_OWNER] != p:  # lost the ball during the wind-up
            agents[b, k, A_KICK] = 0
        else:
            agents[b, k, A_KICK_WAIT] -= 1
            if agents[b, k, A_KICK_WAIT] <= 0:
                agents[b, k, A_KICK] = 0
                ax, ay = aim_direction(players, agents, b, k, p)
                if kind == SHOT:
                    shoot(players, ball, game, rng, b, p, ax, ay, prm)
                else:
                    make_pass(players, ball, game, exists, b, p, kind, ax, ay, prm)
        return
    if game[b, G_OWNER] == p and _is_kick(action):
        agents[b, k, A_KICK] = action
        agents[b, k, A_KICK_WAIT] = int(prm[pr.SHOT_DELAY] if action == SHOT else prm[pr.PASS_DELAY])
    elif game[b, G_OWNER] != p and action == SLIDING and players[b, p, P_COOL] <= 0.0:
        slide[p] = True
        players[b, p, P_VX] = players[b, p, P_FX] * prm[pr.SPRINT_SPEED] * 1.2
        players[b, p, P_VY] = players[b, p, P_FY] * prm[pr.SPRINT_SPEED] * 1.2


@njit(cache=True)
def move_players(players, exists, b, desired, prm, frozen):
    """Velocities close part of the gap to the desired ones; positions advance; facing follows motion."""
    acc = prm[pr.ACCELERATION]
    for p in range(2 * TEAM):
        if not exists[p]:
            continue
        if players[b, p, P_COOL] > 0.0:
            players[b, p, P_COOL] -= 1.0
        if p == frozen:  # a set-piece taker stands still until he kicks
            players[b, p, P_VX] = 0.0
            players[b, p, P_VY] = 0.0
            continue
        players[b, p, P_VX] += acc * (desired[p, 0] - players[b, p, P_VX])
        players[b, p, P_VY] += acc * (desired[p, 1] - players[b, p, P_VY])
        players[b, p, P_X] = min(max(players[b, p, P_X] + players[b, p, P_VX], -1.1), 1.1)
        players[b, p, P_Y] = min(max(players[b, p, P_Y] + players[b, p, P_VY], -0.5), 0.5)
        speed = math.sqrt(players[b, p, P_VX] ** 2 + players[b, p, P_VY] ** 2)
        if speed > 1e-4:
            players[b, p, P_FX] = players[b, p, P_VX] / speed
            players[b, p, P_FY] = players[b, p, P_VY] / speed


@njit(cache=True)
def move_ball(players, ball, game, b, prm):
    """A carried ball sits in front of its carrier; a free ball flies, bounces and rolls."""
    owner = game[b, G_OWNER]
    if owner >= 0:
        off = prm[pr.BALL_OFFSET]
        ball[b, B_VX] = players[b, owner, P_X] + players[b, owner, P_FX] * off - ball[b, B_X]
        ball[b, B_VY] = players[b, owner, P_Y] + players[b, owner, P_FY] * off - ball[b, B_Y]
        ball[b, B_VZ] = 0.0
        ball[b, B_X] += ball[b, B_VX]
        ball[b, B_Y] += ball[b, B_VY]
        ball[b, B_Z] = prm[pr.BALL_RADIUS]
        return
    ball[b, B_X] += ball[b, B_VX]
    ball[b, B_Y] += ball[b, B_VY]
    ball[b, B_Z] += ball[b, B_VZ]
    radius = prm[pr.BALL_RADIUS]
    airborne = ball[b, B_Z] > radius + 1e-6 or ball[b, B_VZ] > 0.0
    if airborne:
        ball[b, B_VZ] -= prm[pr.GRAVITY]
        ball[b, B_VX] *= prm[pr.AIR_DRAG]
        ball[b, B_VY] *= prm[pr.AIR_DRAG]
    else:
        ball[b, B_VX] *= prm[pr.GROUND_FRICTION]
        ball[b, B_VY] *= prm[pr.GROUND_FRICTION]
    if ball[b, B_Z] <= radius:
        ball[b, B_Z] = radius
        bounce = -ball[b, B_VZ] * prm[pr.BOUNCE]
        ball[b, B_VZ] = bounce if bounce > 0.1 else 0.0


@njit(cache=True)
def segment_distance(px, py, x0, y0, x1, y1):
    """Distance from (px, py) to the segment (x0, y0)-(x1, y1): the ball's path during the step."""
    dx, dy = x1 - x0, y1 - y0
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 < 1e-12 else min(max(((px - x0) * dx + (py - y0) * dy) / length2, 0.0), 1.0)
    cx, cy = x0 + t * dx - px, y0 + t * dy - py
    return math.sqrt(cx * cx + cy * cy)
