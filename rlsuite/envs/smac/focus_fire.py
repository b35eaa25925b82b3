"""A stronger scripted SMAC expert than attack-nearest: focus fire, kiting, pulling back, healing.

:func:`focus_fire_actions` has the interface of
:func:`~rlsuite.envs.smac.heuristic.attack_nearest_actions` (batched ``[B, n_agents]``, only *available*
actions), so it runs through the normal env interface wherever the scripted heuristic does
(``policy: focus_fire`` in a data-pipeline expert file, ``rlsuite data collect --policy focus_fire``, the
varied-policy downstream task). Per living agent, in order:

1. **medivac**: heal the ally with the largest missing health among those it may heal (the action mask's
   heal targets); with none injured, follow the centroid of the other allies at a distance.
2. **kite** (ranged units): while the weapon cools down (more than ``kite_cooldown`` game loops left)
   and a melee enemy *slower* than the unit is within ``kite_gap`` map units (edge to edge), take the
   available move that keeps the most distance from those enemies with open ground ahead (so units
   slide along walls instead of being cornered); attack again when the weapon is ready.
3. **dodge / pull back**: a ranged unit cooling down that some enemy in reach would target (it is that
   enemy's nearest ally: the simulator's enemy AI attacks the nearest unit; at least ``dodge_min`` such
   enemies, 0 disables), or any unit below ``retreat_fraction`` of its health + shield (0 disables) that
   one would target, steps away from the enemies within their weapon range + 1, one env step at a time.
3b. **decoy** (``decoy`` > 0, the ``focus_fire_decoy`` policy): a ranged unit, with another ally alive,
   that some enemy within its weapon range + ``decoy`` would target (it is that enemy's nearest ally) and
   that has a melee enemy *no faster* than itself within ``decoy`` map units (edge to edge) keeps running
   from such melee enemies whatever its cooldown, with step 2's escape move; the melee enemy keeps
   chasing its target (the enemy AI keeps a target in reach) while the other allies shoot it. Marines
   facing zealots (equal speed) cannot kite them by step 2, but can lead them around (3m2s_vs_3m3z
   50 -> 94%, 3s6z_vs_3s7z 20 -> 58% with step 4b; stalkers, faster than zealots, too: 3s_vs_5z 72 -> 100%).
4. **focus fire**: among the enemies it may attack (mask) and its weapon can hit (melee units: those
   within reach first), banelings first (they explode on the group), then the lowest health + shield,
   then the one nearest the allies' centroid. Every agent reads the same values, so all agents share the
   weakest target and keep it until it dies (a damaged target only gets weaker).
4b. **shared-out focus fire** (``spread``, the ``focus_fire_spread`` policy; before step 4): among the
   enemies already in the agent's weapon range, the one with the least health + shield left after the
   volleys already booked this env step by earlier agents (banelings first), skipping enemies those
   volleys already kill; an agent whose weapon is ready books its volley (damage with bonus, less armour
   once shields are down). So a large group stops pouring 25 volleys into one 45-life marine (SMAC's
   25m: 0% with step 4 alone, 97% with 4b; corridor 39 -> 84%), and units out of range still close in on
   the shared target of step 4.
5. otherwise step toward the nearest enemy its weapon can hit; during the first ``hold_loops`` game
   loops, a team with a ranged unit facing mobile enemies (they attack-move at the allies' start) holds a
   common front instead: only units more than 0.3 further from their nearest enemy than the frontmost
   ally step forward. Kiting units (ranged facing slower melee) do not hold.

What it reads: the same simulator arrays as the attack-nearest heuristic (``fs``/``ist``/``table``:
positions, health, shield, unit types of the living units, the unit table's speed, range, radius and
weapon) plus each agent's *own* weapon cooldown (SMAC's state vector carries it), the map's pathing grid
(SMAC's ``get_pathing_grid``), the episode's game-loop count (an agent can count its steps) and the action
mask. It reads no enemy orders or targets.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from rlsuite.envs.smac import units as ut
from rlsuite.envs.smac.core import FS_COOLDOWN, FS_HEALTH, FS_SHIELD, FS_X, FS_Y, IS_ALIVE, IS_TYPE

_NO_ATTACK = 6
_MELEE_RANGE = 0.25  # weapon range at or below which a unit is melee (as the simulator's enemy AI)
# (dx, dy) of the move actions 2..5: north, south, east, west.
_MOVE_DX = np.array([0.0, 0.0, 1.0, -1.0])
_MOVE_DY = np.array([1.0, -1.0, 0.0, 0.0])

# Default parameters: kite_gap (map units), kite_cooldown (game loops), retreat_fraction (0 disables),
# hold_loops (game loops; 0 disables), dodge_min (enemies; 0 disables), spread (1: shots in reach are
# shared out without overkill; 0: every agent takes the one shared target), decoy (map units; 0 disables).
DEFAULT_PARAMS = np.array([3.0, 8.0, 0.0, 400.0, 1.0, 0.0, 0.0])
# The scripted policies this module provides, by name (``rlsuite.envs.smac.downstream.SCRIPTED_POLICIES``):
# "focus_fire_spread" shares out the volleys of units already in range (step 4b of the module docstring),
# "focus_fire_decoy" also leads melee enemies around (step 3b; decoy 1.5 did best of 1-3 on the maps it
# changes, benchmarks/reports/maskma-experts).
POLICY_PARAMS = {
    "focus_fire": DEFAULT_PARAMS,
    "focus_fire_spread": np.array([3.0, 8.0, 0.0, 400.0, 1.0, 1.0, 0.0]),
    "focus_fire_decoy": np.array([3.0, 8.0, 0.0, 400.0, 1.0, 1.0, 1.5]),
}
# Which enemies an escape runs from (_is_threat's ``mode``).
THREAT_IN_REACH, THREAT_SLOWER_MELEE, THREAT_MELEE_NOT_FASTER = 0, 1, 2
_READY_LOOPS = 8.0  # a weapon within this many game loops of ready fires during the coming env step


@njit(cache=True, inline="always")
def _gap(fs, ist, table, b, u, v):
    d = math.hypot(fs[b, v, FS_X] - fs[b, u, FS_X], fs[b, v, FS_Y] - fs[b, u, FS_Y])
    return d - table[ist[b, u, IS_TYPE], ut.F_RADIUS] - table[ist[b, v, IS_TYPE], ut.F_RADIUS]


@njit(cache=True, inline="always")
def _hits(table, ist, b, u, v):
    """Whether ``u``'s weapon can hit ``v`` (ground/air)."""
    tu, tv = ist[b, u, IS_TYPE], ist[b, v, IS_TYPE]
    if table[tu, ut.F_WEAPON] == ut.WEAPON_NONE or table[tu, ut.F_WEAPON] == ut.WEAPON_HEAL:
        return False
    return table[tu, ut.F_HITS_AIR] > 0 if table[tv, ut.F_AIR] > 0 else table[tu, ut.F_HITS_GROUND] > 0


@njit(cache=True)
def _step_along(avail, b, a, dx, dy):
    """The available move action closest to direction (dx, dy) with a positive component; -1: none."""
    best, best_dot = -1, 1e-6
    for k in range(4):
        if avail[b, a, 2 + k] == 0:
            continue
        dot = _MOVE_DX[k] * dx + _MOVE_DY[k] * dy
        if dot > best_dot:
            best, best_dot = 2 + k, dot
    return best


@njit(cache=True, inline="always")
def _walkable(grid, x, y):
    if x < 0.0 or y < 0.0 or x >= grid.shape[0] or y >= grid.shape[1]:
        return False
    return grid[int(x), int(y)]


@njit(cache=True)
def _is_threat(fs, ist, table, b, a, v, mode, reach):
    """Whether enemy ``v`` threatens ``a``: it can hit ``a`` and is within ``reach`` beyond its weapon
    range (``THREAT_IN_REACH``), or is a melee enemy slower than ``a`` (``THREAT_SLOWER_MELEE``) or no
    faster (``THREAT_MELEE_NOT_FASTER``) within ``reach`` edge to edge."""
    if ist[b, v, IS_ALIVE] == 0 or not _hits(table, ist, b, v, a):
        return False
    tv = ist[b, v, IS_TYPE]
    if mode == THREAT_IN_REACH:
        return _gap(fs, ist, table, b, v, a) <= table[tv, ut.F_RANGE] + reach
    own_speed = table[ist[b, a, IS_TYPE], ut.F_SPEED]
    if mode == THREAT_SLOWER_MELEE:
        outrun = table[tv, ut.F_SPEED] < own_speed
    else:
        outrun = table[tv, ut.F_SPEED] <= own_speed
    return table[tv, ut.F_RANGE] <= _MELEE_RANGE and outrun and _gap(fs, ist, table, b, v, a) <= reach


@njit(cache=True)
def _escape(fs, ist, table, grid, avail, b, a, n_agents, n_units, mode, reach, move):
    """The available move that best escapes the threatening enemies (largest nearest-threat distance
    after the move, plus open ground ahead so units slide along walls instead of being cornered);
    -1 when nothing threatens ``a`` or no move is available."""
    ax, ay = fs[b, a, FS_X], fs[b, a, FS_Y]
    air = table[ist[b, a, IS_TYPE], ut.F_AIR] > 0
    threatened = False
    for v in range(n_agents, n_units):
        if _is_threat(fs, ist, table, b, a, v, mode, reach):
            threatened = True
            break
    if not threatened:
        return -1
    best, best_score = -1, -1e18
    for k in range(4):
        if avail[b, a, 2 + k] == 0:
            continue
        px, py = ax + _MOVE_DX[k] * move, ay + _MOVE_DY[k] * move
        nearest = 1e18
        for v in range(n_agents, n_units):
            if _is_threat(fs, ist, table, b, a, v, mode, reach):
                nearest = min(nearest, math.hypot(fs[b, v, FS_X] - px, fs[b, v, FS_Y] - py))
        open_ahead = 0.0
        for ahead in range(1, 4):
            qx, qy = px + _MOVE_DX[k] * move * ahead, py + _MOVE_DY[k] * move * ahead
            if air or _walkable(grid, qx, qy):
                open_ahead += 1.0
        score = nearest + 0.5 * open_ahead
        if score > best_score:
            best, best_score = 2 + k, score
    return best


@njit(cache=True)
def _heal_action(fs, ist, table, avail, b, a, n_agents):
    """The medivac's action: heal the most injured healable ally, else follow the allies' centroid."""
    best, best_missing = -1, 0.0
    cx, cy, n = 0.0, 0.0, 0
    for v in range(n_agents):
        if ist[b, v, IS_ALIVE] == 0 or v == a:
            continue
        tv = ist[b, v, IS_TYPE]
        if table[tv, ut.F_WEAPON] == ut.WEAPON_HEAL:
            continue
        cx += fs[b, v, FS_X]
        cy += fs[b, v, FS_Y]
        n += 1
        if _NO_ATTACK + v < avail.shape[2] and avail[b, a, _NO_ATTACK + v]:
            missing = table[tv, ut.F_HEALTH] - fs[b, v, FS_HEALTH]
            if missing > best_missing:
                best, best_missing = v, missing
    if best >= 0:
        return _NO_ATTACK + best
    if n == 0:
        return 1
    dx, dy = cx / n - fs[b, a, FS_X], cy / n - fs[b, a, FS_Y]
    if math.hypot(dx, dy) < 2.0:
        return 1
    step = _step_along(avail, b, a, dx, dy)
    return 1 if step < 0 else step


@njit(cache=True)
def _target_action(fs, ist, table, avail, b, a, n_agents, n_units, cx, cy):
    """Focus fire: the available attack on the best target (see the module docstring); -1: none.
    Ties (full health) go to the enemy nearest the allies' centroid ``(cx, cy)``, the same for all."""
    ta = ist[b, a, IS_TYPE]
    melee = table[ta, ut.F_RANGE] <= _MELEE_RANGE
    best, best_key = -1, (2.0, 2.0, 1e18, 1e18)
    for v in range(n_agents, n_units):
        k = _NO_ATTACK + v - n_agents
        if k >= avail.shape[2] or avail[b, a, k] == 0 or not _hits(table, ist, b, a, v):
            continue
        out_of_reach = 0.0
        if melee and _gap(fs, ist, table, b, a, v) > table[ta, ut.F_RANGE] + 0.5:
            out_of_reach = 1.0
        not_bane = 0.0 if table[ist[b, v, IS_TYPE], ut.F_WEAPON] == ut.WEAPON_BURST else 1.0
        shared = math.hypot(fs[b, v, FS_X] - cx, fs[b, v, FS_Y] - cy)
        key = (out_of_reach, not_bane, fs[b, v, FS_HEALTH] + fs[b, v, FS_SHIELD], shared)
        if key < best_key:
            best, best_key = k, key
    return best


@njit(cache=True)
def _shot_damage(fs, ist, table, b, a, v):
    """Expected damage of one volley of ``a`` on ``v`` (shields absorb first, armour cuts the rest)."""
    ta, tv = ist[b, a, IS_TYPE], ist[b, v, IS_TYPE]
    per_hit = table[ta, ut.F_DAMAGE]
    if int(table[tv, ut.F_ATTR]) & int(table[ta, ut.F_BONUS_ATTR]):
        per_hit += table[ta, ut.F_BONUS]
    if fs[b, v, FS_SHIELD] <= 0.0:
        per_hit = max(per_hit - table[tv, ut.F_ARMOR], 0.5)
    return per_hit * table[ta, ut.F_ATTACKS]


@njit(cache=True)
def _spread_target_action(fs, ist, table, avail, b, a, n_agents, n_units, pending):
    """Shared-out focus fire among the enemies already in ``a``'s weapon range: the one with the least
    health + shield left after the volleys already assigned this step (``pending``), skipping those the
    booked volleys kill, banelings first; books ``a``'s volley when its weapon is ready. -1: none in range."""
    ta = ist[b, a, IS_TYPE]
    best, best_key = -1, (2.0, 2.0, 1e18)
    for v in range(n_agents, n_units):
        k = _NO_ATTACK + v - n_agents
        if k >= avail.shape[2] or avail[b, a, k] == 0 or not _hits(table, ist, b, a, v):
            continue
        if _gap(fs, ist, table, b, a, v) > table[ta, ut.F_RANGE]:
            continue
        left = fs[b, v, FS_HEALTH] + fs[b, v, FS_SHIELD] - pending[v]
        overkill = 1.0 if left <= 0.0 else 0.0
        not_bane = 0.0 if table[ist[b, v, IS_TYPE], ut.F_WEAPON] == ut.WEAPON_BURST else 1.0
        key = (overkill, not_bane, left)
        if key < best_key:
            best, best_key = k, key
    if best >= 0 and fs[b, a, FS_COOLDOWN] <= _READY_LOOPS:
        v = best - _NO_ATTACK + n_agents
        pending[v] += _shot_damage(fs, ist, table, b, a, v)
    return best


@njit(cache=True)
def _nearest_enemy(fs, ist, table, b, a, n_agents, n_units):
    """The nearest living enemy ``a``'s weapon can hit (any living enemy when none) and its distance."""
    near, near_d, near_hit = -1, 1e18, False
    for v in range(n_agents, n_units):
        if ist[b, v, IS_ALIVE] == 0:
            continue
        hit = _hits(table, ist, b, a, v)
        d = math.hypot(fs[b, v, FS_X] - fs[b, a, FS_X], fs[b, v, FS_Y] - fs[b, a, FS_Y])
        if (hit and not near_hit) or (hit == near_hit and d < near_d):
            near, near_d, near_hit = v, d, hit
    return near, near_d


@njit(cache=True)
def _approach_action(fs, ist, table, avail, b, a, n_agents, n_units, hold):
    """Step toward the nearest enemy (stop when there is none). With ``hold`` and a mobile enemy (it
    comes to the allies: enemies attack-move at their start), only units more than one map unit further
    from their nearest enemy than the frontmost ally step forward; the others wait, so the group meets
    the enemy on one front instead of one unit at a time."""
    near, near_d = _nearest_enemy(fs, ist, table, b, a, n_agents, n_units)
    if near < 0:
        return 1
    tn, ta = ist[b, near, IS_TYPE], ist[b, a, IS_TYPE]
    kiter = table[ta, ut.F_RANGE] > _MELEE_RANGE and table[tn, ut.F_RANGE] <= _MELEE_RANGE
    kiter = kiter and table[tn, ut.F_SPEED] < table[ta, ut.F_SPEED]
    if hold and table[tn, ut.F_STATIC] == 0 and not kiter:
        front = near_d
        for u in range(n_agents):
            if u == a or ist[b, u, IS_ALIVE] == 0 or table[ist[b, u, IS_TYPE], ut.F_WEAPON] == ut.WEAPON_HEAL:
                continue
            front = min(front, _nearest_enemy(fs, ist, table, b, u, n_agents, n_units)[1])
        if near_d <= front + 0.3:
            return 1
    step = _step_along(avail, b, a, fs[b, near, FS_X] - fs[b, a, FS_X], fs[b, near, FS_Y] - fs[b, a, FS_Y])
    return 1 if step < 0 else step


@njit(cache=True)
def _predicted_attackers(fs, ist, table, b, a, n_agents, n_units, margin):
    """How many enemies within ``margin`` beyond their weapon range have ``a`` as their nearest ally
    they can hit (the enemy AI attacks the nearest unit in reach; this reads positions, not orders)."""
    count = 0
    for v in range(n_agents, n_units):
        if ist[b, v, IS_ALIVE] == 0 or not _hits(table, ist, b, v, a):
            continue
        mine = _gap(fs, ist, table, b, v, a)
        if mine > table[ist[b, v, IS_TYPE], ut.F_RANGE] + margin:
            continue
        nearest = True
        for u in range(n_agents):
            if u != a and ist[b, u, IS_ALIVE] != 0 and _hits(table, ist, b, v, u):
                if _gap(fs, ist, table, b, v, u) < mine:
                    nearest = False
                    break
        count += nearest
    return count


@njit(cache=True)
def _max_life(table, t):
    return table[t, ut.F_HEALTH] + table[t, ut.F_SHIELD]


@njit(cache=True)
def focus_fire_actions(fs, ist, table, grid, loops, avail, n_agents, move, params, out):
    """``out[B, n_agents]``: an available action per agent (see the module docstring). ``grid``: the
    map's pathing grid (walkable cells), ``move``: the move actions' step (map units); ``params``:
    ``[kite_gap, kite_cooldown, retreat_fraction, hold_loops, dodge_min, spread, decoy]``
    (:data:`DEFAULT_PARAMS`; :data:`POLICY_PARAMS` by policy name)."""
    kite_gap, kite_cooldown, retreat_fraction, hold_loops = params[0], params[1], params[2], params[3]
    dodge_min, spread = params[4], params[5] > 0.0
    decoy = params[6]
    n_batch, n_units = ist.shape[0], ist.shape[1]
    pending = np.zeros(n_units)
    for b in range(n_batch):
        pending[:] = 0.0
        allies_alive, cx, cy, team_ranged = 0, 0.0, 0.0, False
        for a in range(n_agents):
            if ist[b, a, IS_ALIVE] != 0:
                allies_alive += 1
                t = ist[b, a, IS_TYPE]
                if table[t, ut.F_RANGE] > _MELEE_RANGE and table[t, ut.F_WEAPON] != ut.WEAPON_HEAL:
                    team_ranged = True
                cx += fs[b, a, FS_X]
                cy += fs[b, a, FS_Y]
        cx /= max(allies_alive, 1)
        cy /= max(allies_alive, 1)
        for a in range(n_agents):
            if ist[b, a, IS_ALIVE] == 0:
                out[b, a] = 0
                continue
            ta = ist[b, a, IS_TYPE]
            if table[ta, ut.F_WEAPON] == ut.WEAPON_HEAL:
                out[b, a] = _heal_action(fs, ist, table, avail, b, a, n_agents)
                continue
            chosen = -1
            ranged = table[ta, ut.F_RANGE] > _MELEE_RANGE
            if ranged and fs[b, a, FS_COOLDOWN] > kite_cooldown:
                chosen = _escape(
                    fs, ist, table, grid, avail, b, a, n_agents, n_units, THREAT_SLOWER_MELEE, kite_gap, move
                )
            life = fs[b, a, FS_HEALTH] + fs[b, a, FS_SHIELD]
            injured = life < retreat_fraction * _max_life(table, ta)
            cooling = ranged and fs[b, a, FS_COOLDOWN] > kite_cooldown
            if chosen < 0 and allies_alive > 1 and (injured or (cooling and dodge_min > 0)):
                focus = _predicted_attackers(fs, ist, table, b, a, n_agents, n_units, 1.0)
                if focus >= 1 and (injured or focus >= dodge_min):
                    chosen = _escape(
                        fs, ist, table, grid, avail, b, a, n_agents, n_units, THREAT_IN_REACH, 1.0, move
                    )
            if chosen < 0 and decoy > 0.0 and ranged and allies_alive > 1:
                if _predicted_attackers(fs, ist, table, b, a, n_agents, n_units, decoy) >= 1:
                    mode = THREAT_MELEE_NOT_FASTER
                    chosen = _escape(fs, ist, table, grid, avail, b, a, n_agents, n_units, mode, decoy, move)
            if chosen < 0 and spread:
                chosen = _spread_target_action(fs, ist, table, avail, b, a, n_agents, n_units, pending)
            if chosen < 0:
                chosen = _target_action(fs, ist, table, avail, b, a, n_agents, n_units, cx, cy)
            if chosen < 0:
                hold = loops[b] < hold_loops and team_ranged
                chosen = _approach_action(fs, ist, table, avail, b, a, n_agents, n_units, hold)
            out[b, a] = chosen
