"""The football simulator's numba kernels: reset and step a batch of academy matches.

One step of one match, in order (state layout in :mod:`rlsuite.envs.football.physics`):

1. each agent's action updates its sticky flags and its player's desired velocity; the players no agent
   controls get theirs from the AI (:mod:`rlsuite.envs.football.ai`);
2. ball actions: a carrier's pass or shot, a sliding tackle; a set piece (academy_corner) starts with the
   first kick and is taken with a short pass after 20 steps of waiting; uncontrolled carriers clear;
3. players move (a set-piece taker stands still), the ball follows its carrier or flies;
4. possession: opponents challenge the carrier; a free ball goes to the nearest player within reach;
5. the ball crossing a line: goal (inside the posts, under the bar) or out of play, which sets the game
   mode; agents switch to an uncontrolled team-mate who gained the ball;
6. rewards (scoring, checkpoints) and the episode-end rules of gfootball's scenario files and
   ``CheckpointRewardWrapper`` (https://github.com/google-research/football, gfootball/scenarios,
   gfootball/env/wrappers.py).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.experimental import structref

from rlsuite.envs.batched import KernelStateType, rand_int
from rlsuite.envs.football import params as pr
from rlsuite.envs.football.actions import CHECKPOINT_REWARD, NUM_CHECKPOINTS, SHORT_PASS
from rlsuite.envs.football.ai import ai_carrier_clears, ai_desired
from rlsuite.envs.football.physics import (
    A_CHECKPOINTS,
    A_DRIBBLE,
    A_PLAYER,
    B_VX,
    B_VY,
    B_VZ,
    B_X,
    B_Y,
    B_Z,
    G_KICKED,
    G_MODE,
    G_OVER,
    G_OWNER,
    G_PREV_TEAM,
    G_SCORE_L,
    G_SCORE_R,
    G_STEPS,
    G_TOUCH_TEAM,
    G_WAIT,
    GOAL_Y,
    P_COOL,
    P_FX,
    P_FY,
    P_VX,
    P_VY,
    P_X,
    P_Y,
    PITCH_X,
    PITCH_Y,
    TEAM,
    agent_ball_action,
    agent_desired_velocity,
    make_pass,
    move_ball,
    move_players,
    update_sticky,
)
from rlsuite.envs.football.possession import challenge, control_free_ball
from rlsuite.envs.football.scenarios import (
    GK,
    MODE_CORNER,
    MODE_GOAL_KICK,
    MODE_KICKOFF,
    MODE_NORMAL,
    MODE_THROW_IN,
)

# In a set piece (academy_corner) the player this close to the ball at reset takes it; otherwise the ball
# starts free, as on the engine, and the nearest player controls it within the first steps.
START_OWNER_RADIUS = 0.03


# The kernel state of a MatchCore: its arrays and the match settings, one numba value (see KernelState).
MATCH_STATE = KernelStateType(
    [
        ("players", types.float64[:, :, ::1]),  # [B, 22, P_*]
        ("ball", types.float64[:, ::1]),  # [B, B_*]
        ("game", types.int64[:, ::1]),  # [B, G_*]
        ("agents", types.int64[:, :, ::1]),  # [B, n_agents, A_*]
        ("exists", types.boolean[::1]),  # [22] the scenario's players
        ("roles", types.int64[::1]),
        ("home", types.float64[:, ::1]),  # [22, 2] start positions
        ("home_ball", types.float64[::1]),
        ("start_mode", types.int64),
        ("rng", types.uint64[::1]),
        ("params", types.float64[::1]),  # physics and AI parameters, indexed by params.*
        ("checkpoints", types.boolean),  # checkpoint rewards on
        ("duration", types.int64),  # steps before truncation
        ("end_on_possession", types.boolean),
        ("reward", types.float64[:, ::1]),  # outputs of the last step: [B, n_agents]
        ("terminated", types.boolean[::1]),
        ("truncated", types.boolean[::1]),
        ("goals", types.int64[::1]),
    ]
)


@njit(cache=True)
def match_state(
    players,
    ball,
    game,
    agents,
    exists,
    roles,
    home,
    home_ball,
    start_mode,
    rng,
    params,
    checkpoints,
    duration,
    end_on_possession,
    reward,
    terminated,
    truncated,
    goals,
):
    """Bundle a MatchCore's arrays (shared, not copied) and settings as its kernel state."""
    match = structref.new(MATCH_STATE)
    match.players, match.ball, match.game, match.agents = players, ball, game, agents
    match.exists, match.roles, match.home, match.home_ball = exists, roles, home, home_ball
    match.start_mode, match.rng, match.params, match.checkpoints = start_mode, rng, params, checkpoints
    match.duration, match.end_on_possession = duration, end_on_possession
    match.reward, match.terminated, match.truncated, match.goals = reward, terminated, truncated, goals
    return match


@njit(cache=True)
def _reset_one(players, ball, game, agents, exists, roles, home, home_ball, start_mode, rng, b, prm):
    n_agents = agents.shape[1]
    owner, owner_d = -1, START_OWNER_RADIUS
    for p in range(2 * TEAM):
        players[b, p, P_X] = home[p, 0]
        players[b, p, P_Y] = home[p, 1]
        players[b, p, P_VX] = 0.0
        players[b, p, P_VY] = 0.0
        players[b, p, P_COOL] = 0.0
        gx = PITCH_X if p < TEAM else -PITCH_X  # everyone faces the goal his team attacks
        dx, dy = gx - home[p, 0], -home[p, 1]
        norm = math.sqrt(dx * dx + dy * dy) + 1e-9
        players[b, p, P_FX] = dx / norm if exists[p] else 0.0
        players[b, p, P_FY] = dy / norm if exists[p] else 0.0
        if exists[p] and p < TEAM and start_mode != MODE_NORMAL:  # a set-piece taker holds the ball
            d = math.sqrt((home[p, 0] - home_ball[0]) ** 2 + (home[p, 1] - home_ball[1]) ** 2)
            if d <= owner_d:
                owner, owner_d = p, d
    ball[b, B_X], ball[b, B_Y], ball[b, B_Z] = home_ball[0], home_ball[1], prm[pr.BALL_RADIUS]
    ball[b, B_VX] = ball[b, B_VY] = ball[b, B_VZ] = 0.0
    game[b, :] = 0
    game[b, G_OWNER] = owner
    game[b, G_PREV_TEAM] = -1 if owner < 0 else 0
    game[b, G_TOUCH_TEAM] = -1 if owner < 0 else 0
    game[b, G_MODE] = start_mode
    max_delay = int(prm[pr.START_CONTROL_DELAY])
    if owner < 0 and max_delay > 0:  # a free ball: nobody may control it for 0..max_delay more steps
        delay = rand_int(rng, b, max_delay + 1)
        if delay > 0:  # a cooldown of c steps blocks control in the first c - 1 steps
            for p in range(2 * TEAM):
                players[b, p, P_COOL] = delay + 1.0
    chosen = np.zeros(TEAM, dtype=np.bool_)
    for _ in range(n_agents):  # the N left players nearest the ball, keeper last
        best, best_d = -1, 1e9
        for p in range(TEAM):
            if exists[p] and not chosen[p]:
                d = (home[p, 0] - home_ball[0]) ** 2 + (home[p, 1] - home_ball[1]) ** 2
                d += 100.0 if roles[p] == GK else 0.0
                if d < best_d:
                    best, best_d = p, d
        chosen[best] = True
    k = 0
    for p in range(TEAM):
        if chosen[p]:
            agents[b, k, :] = 0
            agents[b, k, A_PLAYER] = p
            k += 1


@njit(cache=True)
def reset_kernel(match, mask):
    """Kick-off positions (or the set piece) for the masked matches."""
    for b in range(mask.shape[0]):
        if mask[b]:
            _reset_one(
                match.players,
                match.ball,
                match.game,
                match.agents,
                match.exists,
                match.roles,
                match.home,
                match.home_ball,
                match.start_mode,
                match.rng,
                b,
                match.params,
            )


@njit(cache=True)
def _line_crossing(ball, game, b, x0, y0, z0, prm):
    """Goal (+1 left scores, -1 right scores) or out of play (the game mode changes); 0 otherwise."""
    x, y = ball[b, B_X], ball[b, B_Y]
    if abs(x) > PITCH_X:
        side = 1.0 if x > 0 else -1.0
        t = (side * PITCH_X - x0) / (x - x0) if abs(x - x0) > 1e-12 else 1.0
        t = min(max(t, 0.0), 1.0)
        cy, cz = y0 + t * (y - y0), z0 + t * (ball[b, B_Z] - z0)
        game[b, G_OWNER] = -1
        if abs(cy) <= GOAL_Y and cz <= prm[pr.CROSSBAR]:
            game[b, G_MODE] = MODE_KICKOFF
            if side > 0:
                game[b, G_SCORE_L] += 1
                return 1
            game[b, G_SCORE_R] += 1
            return -1
        defending_team = 1 if side > 0 else 0  # the team whose goal line it is
        last_touch = game[b, G_TOUCH_TEAM]
        game[b, G_MODE] = MODE_CORNER if last_touch == defending_team else MODE_GOAL_KICK
    elif abs(y) > PITCH_Y:
        game[b, G_OWNER] = -1
        game[b, G_MODE] = MODE_THROW_IN
    return 0


@njit(cache=True)
def _switch_to_carrier(players, game, agents, roles, b):
    """An uncontrolled left outfield player who gained the ball is taken over by the agent whose player is
    farthest from it (the engine switches control to the carrier; never to the keeper during play)."""
    owner = game[b, G_OWNER]
    if owner < 0 or owner >= TEAM or roles[owner] == GK:
        return
    far, far_d = -1, -1.0
    for k in range(agents.shape[1]):
        p = agents[b, k, A_PLAYER]
        if p == owner:
            return
        d = (players[b, p, P_X] - players[b, owner, P_X]) ** 2 + (
            players[b, p, P_Y] - players[b, owner, P_Y]
        ) ** 2
        if d > far_d:
            far, far_d = k, d
    agents[b, far, A_PLAYER] = owner


@njit(cache=True)
def _rewards(ball, game, agents, b, goal, checkpoints, reward):
    """Scoring (+1 / -1 to every agent) and checkpoint rewards (gfootball ``CheckpointRewardWrapper``)."""
    owner = game[b, G_OWNER]
    d = math.sqrt((ball[b, B_X] - 1.0) ** 2 + ball[b, B_Y] ** 2)
    for k in range(agents.shape[1]):
        r = float(goal)
        if checkpoints:
            collected = agents[b, k, A_CHECKPOINTS]
            if goal == 1:  # a goal pays the checkpoints not yet collected
                r += CHECKPOINT_REWARD * (NUM_CHECKPOINTS - collected)
                collected = NUM_CHECKPOINTS
            elif owner >= 0 and owner == agents[b, k, A_PLAYER]:
                while collected < NUM_CHECKPOINTS and d <= 0.99 - 0.8 / (NUM_CHECKPOINTS - 1) * collected:
                    r += CHECKPOINT_REWARD
                    collected += 1
            agents[b, k, A_CHECKPOINTS] = collected
        reward[b, k] = r


@njit(cache=True)
def _kicks(players, ball, game, agents, exists, rng, b, actions, prm, slide, controlled):
    owner_before = game[b, G_OWNER]
    for k in range(agents.shape[1]):
        agent_ball_action(players, ball, game, agents, exists, rng, b, k, actions[b, k], prm, slide)
    if game[b, G_MODE] != MODE_NORMAL and game[b, G_OVER] == 0:
        if game[b, G_OWNER] != owner_before:  # the taker kicked: play is on
            game[b, G_MODE] = MODE_NORMAL
        else:
            game[b, G_WAIT] += 1
            if game[b, G_WAIT] >= prm[pr.SET_PIECE_WAIT] and owner_before >= 0:
                fx, fy = players[b, owner_before, P_FX], players[b, owner_before, P_FY]
                make_pass(players, ball, game, exists, b, owner_before, SHORT_PASS, fx, fy, prm)
                game[b, G_MODE] = MODE_NORMAL
    elif game[b, G_MODE] == MODE_NORMAL:
        ai_carrier_clears(players, ball, game, rng, b, controlled, prm)


@njit(cache=True)
def _step_one(match, b, actions, desired):
    """One step of match ``b`` (the order in the module docstring); outputs in ``match``'s rows."""
    players, ball, game, agents, exists = match.players, match.ball, match.game, match.agents, match.exists
    roles, rng, prm = match.roles, match.rng, match.params
    desired[:, :] = 0.0
    game[b, G_KICKED] = 0
    slide = np.zeros(2 * TEAM, dtype=np.bool_)
    controlled = np.zeros(2 * TEAM, dtype=np.bool_)
    for k in range(agents.shape[1]):
        controlled[agents[b, k, A_PLAYER]] = True
        update_sticky(agents, b, k, actions[b, k])
        agent_desired_velocity(players, game, agents, b, k, prm, desired)
    ai_desired(
        players, ball, game, exists, roles, controlled, match.home, match.home_ball[0], b, prm, desired
    )
    mode_before = game[b, G_MODE]
    _kicks(players, ball, game, agents, exists, rng, b, actions, prm, slide, controlled)
    frozen = game[b, G_OWNER] if game[b, G_MODE] != MODE_NORMAL else -1
    move_players(players, exists, b, desired, prm, frozen)
    x0, y0, z0 = ball[b, B_X], ball[b, B_Y], ball[b, B_Z]
    move_ball(players, ball, game, b, prm)
    carrier_dribbling = False
    for k in range(agents.shape[1]):
        if agents[b, k, A_PLAYER] == game[b, G_OWNER] and agents[b, k, A_DRIBBLE]:
            carrier_dribbling = True
    if game[b, G_MODE] == MODE_NORMAL:
        challenge(players, ball, game, exists, roles, rng, b, prm, slide, carrier_dribbling)
        control_free_ball(players, ball, game, exists, roles, rng, b, prm, x0, y0)
    for p in range(2 * TEAM):
        if slide[p]:
            players[b, p, P_COOL] = prm[pr.SLIDE_COOLDOWN]
    goal = _line_crossing(ball, game, b, x0, y0, z0, prm) if game[b, G_MODE] == MODE_NORMAL else 0
    _switch_to_carrier(players, game, agents, roles, b)
    game[b, G_STEPS] += 1
    _rewards(ball, game, agents, b, goal, match.checkpoints, match.reward)
    owner = game[b, G_OWNER]
    team = -1 if owner < 0 else (0 if owner < TEAM else 1)
    ended = goal != 0 or (mode_before == MODE_NORMAL and game[b, G_MODE] != MODE_NORMAL)
    prev = game[b, G_PREV_TEAM]
    if match.end_on_possession and team != -1 and prev != -1 and team != prev:
        ended = True
    if team != -1:
        game[b, G_PREV_TEAM] = team
    match.goals[b] = goal
    match.terminated[b] = ended
    match.truncated[b] = (not ended) and game[b, G_STEPS] >= match.duration
    if match.terminated[b] or match.truncated[b]:
        game[b, G_OVER] = 1


@njit(cache=True)
def step_kernel(match, actions):
    """Step every match whose episode is not over (finished ones must be reset first)."""
    desired = np.zeros((2 * TEAM, 2))
    for b in range(actions.shape[0]):
        match.reward[b, :] = 0.0
        match.terminated[b] = False
        match.truncated[b] = False
        match.goals[b] = 0
        if match.game[b, G_OVER]:
            continue
        _step_one(match, b, actions, desired)
