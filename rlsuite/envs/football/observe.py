"""The simple115v2 observation of every agent, written by one numba kernel
(gfootball/doc/observation.md, https://github.com/google-research/football).

Per agent: ``[0:22]`` left positions (x, y) x 11, ``[22:44]`` left directions (velocity per step),
``[44:66]`` right positions, ``[66:88]`` right directions, ``[88:91]`` ball x, y, z, ``[91:94]`` ball
direction, ``[94:97]`` ownership one-hot (none, left, right), ``[97:108]`` the agent's active player
one-hot, ``[108:115]`` game mode one-hot. Players a scenario lacks are -1 (v2's fixed positions).
"""

from __future__ import annotations

from numba import njit

from rlsuite.envs.football.physics import A_PLAYER, G_MODE, G_OWNER, P_VX, P_VY, P_X, P_Y, TEAM

LEFT_POS, LEFT_DIR, RIGHT_POS, RIGHT_DIR, BALL, BALL_DIR, OWNER, ACTIVE, MODE = (
    0,
    22,
    44,
    66,
    88,
    91,
    94,
    97,
    108,
)


@njit(cache=True)
def observe_kernel(players, ball, game, agents, exists, out):
    """Fill ``out[B, N, 115]``."""
    for b in range(out.shape[0]):
        for k in range(out.shape[1]):
            row = out[b, k]
            row[:] = 0.0
            for p in range(2 * TEAM):
                pos = (LEFT_POS if p < TEAM else RIGHT_POS) + 2 * (p % TEAM)
                vel = (LEFT_DIR if p < TEAM else RIGHT_DIR) + 2 * (p % TEAM)
                if exists[p]:
                    row[pos], row[pos + 1] = players[b, p, P_X], players[b, p, P_Y]
                    row[vel], row[vel + 1] = players[b, p, P_VX], players[b, p, P_VY]
                else:
                    row[pos] = row[pos + 1] = row[vel] = row[vel + 1] = -1.0
            for j in range(3):
                row[BALL + j] = ball[b, j]
                row[BALL_DIR + j] = ball[b, 3 + j]
            owner = game[b, G_OWNER]
            row[OWNER + (0 if owner < 0 else (1 if owner < TEAM else 2))] = 1.0
            row[ACTIVE + agents[b, k, A_PLAYER]] = 1.0
            row[MODE + game[b, G_MODE]] = 1.0
