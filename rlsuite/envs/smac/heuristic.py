"""Scripted policies for SMAC battles.

* :func:`smac_heuristic_actions`: SMAC's own ``heuristic_ai`` mode (``get_agent_action_heuristic``):
  each unit keeps attacking its nearest enemy until it dies (marauders skip medivacs; medivacs heal the
  nearest injured ally), issuing the attack even out of shoot range; with ``heuristic_rest`` it moves
  toward the target instead while the attack is unavailable.
* :func:`attack_nearest_actions`: a policy that only picks *available* actions, so it runs through
  the normal interface: attack the nearest attackable enemy, else step toward the nearest enemy;
  medivacs heal the most injured ally in reach. Batched over ``[B, n_agents]``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from rlsuite.envs.batched import rand_int
from rlsuite.envs.smac import units as ut
from rlsuite.envs.smac.core import FS_HEALTH, FS_X, FS_Y, IS_ALIVE, IS_TYPE

_NO_ATTACK = 6


def _direction_action(dx: float, dy: float) -> int:
    if abs(dx) > abs(dy):
        return 4 if dx > 0 else 5
    return 2 if dy > 0 else 3


def smac_heuristic_actions(battles, targets: np.ndarray, avail: np.ndarray, rest: bool) -> np.ndarray:
    """SMAC's heuristic actions for battle 0; ``targets`` (one per agent, −1 = none) persist between calls."""
    fs, ist, table = battles.fs[0], battles.ist[0], battles.table
    n_agents = battles.layout.n_agents
    n_units = ist.shape[0]
    actions = np.zeros(n_agents, dtype=np.int64)
    for a in range(n_agents):
        if not ist[a, IS_ALIVE]:
            continue
        medivac = table[ist[a, IS_TYPE], ut.F_WEAPON] == ut.WEAPON_HEAL
        t = targets[a]
        if medivac:
            lost = t < 0 or not ist[t, IS_ALIVE] or fs[t, FS_HEALTH] >= table[ist[t, IS_TYPE], ut.F_HEALTH]
            candidates = [
                v
                for v in range(n_agents)
                if table[ist[v, IS_TYPE], ut.F_WEAPON] != ut.WEAPON_HEAL
                and ist[v, IS_ALIVE]
                and fs[v, FS_HEALTH] < table[ist[v, IS_TYPE], ut.F_HEALTH]
            ]
            offset = 0
        else:
            lost = t < 0 or not ist[n_agents + t, IS_ALIVE]
            skip_medivac = ist[a, IS_TYPE] == ut.MARAUDER
            candidates = [
                v
                for v in range(n_agents, n_units)
                if ist[v, IS_ALIVE] and not (skip_medivac and ist[v, IS_TYPE] == ut.MEDIVAC)
            ]
            offset = n_agents
        if lost:
            if not candidates:
                targets[a] = -1
                continue
            dists = [math.hypot(fs[v, FS_X] - fs[a, FS_X], fs[v, FS_Y] - fs[a, FS_Y]) for v in candidates]
            targets[a] = candidates[int(np.argmin(dists))] - offset
        action = targets[a] + _NO_ATTACK
        if rest and not avail[a, action]:
            v = targets[a] + offset
            action = _direction_action(fs[v, FS_X] - fs[a, FS_X], fs[v, FS_Y] - fs[a, FS_Y])
        actions[a] = action
    return actions


@njit(cache=True)
def attack_nearest_actions(fs, ist, table, avail, n_agents, out):
    """``out[B, n_agents]``: an available action per agent (see the module docstring)."""
    n_batch, n_units = ist.shape[0], ist.shape[1]
    for b in range(n_batch):
        for a in range(n_agents):
            if ist[b, a, IS_ALIVE] == 0:
                out[b, a] = 0
                continue
            ax, ay = fs[b, a, FS_X], fs[b, a, FS_Y]
            medivac = table[ist[b, a, IS_TYPE], ut.F_WEAPON] == ut.WEAPON_HEAL
            best, best_key = -1, 1e18
            lo = 0 if medivac else n_agents
            for v in range(lo, lo + avail.shape[2] - _NO_ATTACK):
                if v >= n_units or avail[b, a, _NO_ATTACK + v - lo] == 0:
                    continue
                if medivac:  # most injured first
                    key = fs[b, v, FS_HEALTH] - table[ist[b, v, IS_TYPE], ut.F_HEALTH]
                    if key >= 0.0:
                        continue
                else:
                    key = math.hypot(fs[b, v, FS_X] - ax, fs[b, v, FS_Y] - ay)
                if key < best_key:
                    best, best_key = v, key
            if best >= 0:
                out[b, a] = _NO_ATTACK + best - lo
                continue
            # Step toward the nearest living enemy (the medivac toward the nearest ally).
            near, near_d = -1, 1e18
            for v in range(n_units):
                if ist[b, v, IS_ALIVE] == 0 or v == a or ((v < n_agents) != medivac):
                    continue
                d = math.hypot(fs[b, v, FS_X] - ax, fs[b, v, FS_Y] - ay)
                if d < near_d:
                    near, near_d = v, d
            out[b, a] = 1
            if near < 0 or (medivac and near_d < 2.0):
                continue
            dx, dy = fs[b, near, FS_X] - ax, fs[b, near, FS_Y] - ay
            first = (4 if dx > 0 else 5) if abs(dx) > abs(dy) else (2 if dy > 0 else 3)
            second = (2 if dy > 0 else 3) if abs(dx) > abs(dy) else (4 if dx > 0 else 5)
            if avail[b, a, first]:
                out[b, a] = first
            elif avail[b, a, second]:
                out[b, a] = second


@njit(cache=True)
def random_available_actions(avail, rng, out):
    """``out[B, n_agents]``: a uniform draw among each agent's available actions, from battle ``b``'s
    splitmix64 stream ``rng[b]`` (the policy for throughput benchmarks and random baselines)."""
    n_batch, n_agents, n_actions = avail.shape
    for b in range(n_batch):
        for a in range(n_agents):
            count = 0
            for k in range(n_actions):
                count += avail[b, a, k]
            pick = rand_int(rng, b, count)
            for k in range(n_actions):
                if avail[b, a, k]:
                    if pick == 0:
                        out[b, a] = k
                        break
                    pick -= 1
