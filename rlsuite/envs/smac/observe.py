"""SMAC's interface arithmetic on the battle arrays: available actions, observations, state, reward
and episode end, exactly in the layouts of oxwhirl/smac ``starcraft2.py``
(https://github.com/oxwhirl/smac/blob/master/smac/env/starcraft2/starcraft2.py).

Everything here reads the state arrays of :mod:`rlsuite.envs.smac.core` and writes into caller-owned
output arrays, so the single env, the PettingZoo env, the batched vector env and the real-SC2 adapter
(which fills the same arrays from the game) share one implementation.
"""

from __future__ import annotations

import math

from numba import njit, types
from numba.experimental import structref

from rlsuite.envs.batched import KernelStateType
from rlsuite.envs.smac import units as ut
from rlsuite.envs.smac.core import (
    FS_COOLDOWN,
    FS_ENERGY,
    FS_HEALTH,
    FS_PREV_HS,
    FS_SHIELD,
    FS_X,
    FS_Y,
    IS_ALIVE,
    IS_DEAD,
    IS_TYPE,
)

SIGHT_RANGE = 9.0
SHOOT_RANGE = 6.0
N_ACTIONS_NO_ATTACK = 6

# Layout flags (indices into the ``flags`` array).
(
    OBS_ALL_HEALTH,
    OBS_OWN_HEALTH,
    OBS_LAST_ACTION,
    OBS_PATHING_GRID,
    OBS_TERRAIN_HEIGHT,
    OBS_TIMESTEP_NUMBER,
    STATE_LAST_ACTION,
    STATE_TIMESTEP_NUMBER,
) = range(8)
N_FLAGS = 8

# Reward parameters (indices into the ``reward_params`` array).
R_SPARSE, R_ONLY_POSITIVE, R_DEATH_VALUE, R_WIN, R_DEFEAT, R_NEG_SCALE, R_SCALE, R_SCALE_RATE = range(8)
N_REWARD_PARAMS = 8

# Game-end codes.
END_NONE, END_WON, END_LOST, END_DRAW = 0, 1, -1, 2


@njit(cache=True)
def _in_bounds(grid, x, y):
    return 0 <= x < grid.shape[0] and 0 <= y < grid.shape[1]


@njit(cache=True)
def _can_move(fs, grid, b, u, direction, move_amount):
    """SMAC's ``can_move``: the cell half a move away (integer-truncated) is in bounds and pathable."""
    m = move_amount / 2.0
    x, y = fs[b, u, FS_X], fs[b, u, FS_Y]
    if direction == 0:
        cx, cy = int(x), int(y + m)
    elif direction == 1:
        cx, cy = int(x), int(y - m)
    elif direction == 2:
        cx, cy = int(x + m), int(y)
    else:
        cx, cy = int(x - m), int(y)
    return _in_bounds(grid, cx, cy) and grid[cx, cy]


@njit(cache=True)
def avail_actions(fs, ist, table, grid, n_agents, n_actions, move_amount, out):
    """``out[B, n_agents, n_actions]``: 1 where SMAC's ``get_avail_agent_actions`` allows the action."""
    n_batch, n_units = ist.shape[0], ist.shape[1]
    for b in range(n_batch):
        for a in range(n_agents):
            for k in range(n_actions):
                out[b, a, k] = 0
            if ist[b, a, IS_ALIVE] == 0:
                out[b, a, 0] = 1
                continue
            out[b, a, 1] = 1
            for d in range(4):
                out[b, a, 2 + d] = 1 if _can_move(fs, grid, b, a, d, move_amount) else 0
            medivac = table[ist[b, a, IS_TYPE], ut.F_WEAPON] == ut.WEAPON_HEAL
            lo, hi = (0, n_agents) if medivac else (n_agents, n_units)
            for t in range(lo, hi):
                if ist[b, t, IS_ALIVE] == 0:
                    continue
                if medivac and table[ist[b, t, IS_TYPE], ut.F_WEAPON] == ut.WEAPON_HEAL:
                    continue
                d = math.hypot(fs[b, t, FS_X] - fs[b, a, FS_X], fs[b, t, FS_Y] - fs[b, a, FS_Y])
                if d <= SHOOT_RANGE:
                    out[b, a, N_ACTIONS_NO_ATTACK + t - lo] = 1


@njit(cache=True)
def _surrounding(fs, b, u, move_amount, k):
    """SMAC's ``get_surrounding_points``: 8 cells at 2·move on the axes and move on the diagonals
    (then the unit's own cell when ``k == 8``)."""
    x, y = int(fs[b, u, FS_X]), int(fs[b, u, FS_Y])
    ma = int(move_amount)
    if k == 0:
        return x, y + 2 * ma
    if k == 1:
        return x, y - 2 * ma
    if k == 2:
        return x + 2 * ma, y
    if k == 3:
        return x - 2 * ma, y
    if k == 4:
        return x + ma, y + ma
    if k == 5:
        return x - ma, y - ma
    if k == 6:
        return x + ma, y - ma
    if k == 7:
        return x - ma, y + ma
    return x, y


# What SMAC's get_obs reads: the battle arrays and the observation layout, one numba value (KernelState).
OBSERVED_BATTLES = KernelStateType(
    [
        ("fs", types.float64[:, :, ::1]),  # [B, U, FS_*] unit floats (core.py)
        ("ist", types.int64[:, :, ::1]),  # [B, U, IS_*] unit ints
        ("table", types.float64[:, ::1]),  # unit-type table (units.py)
        ("grid", types.boolean[:, ::1]),  # pathing grid [x, y]
        ("height", types.float64[:, ::1]),  # terrain height [x, y]
        ("last_action", types.int64[:, ::1]),  # [B, n_agents], -1 before the first step
        ("steps", types.int64[::1]),
        ("episode_limit", types.int64),
        ("n_agents", types.int64),
        ("n_actions", types.int64),
        ("unit_type_bits", types.int64),
        ("shield_ally", types.int64),  # 1 if allies have shields (a feature column)
        ("shield_enemy", types.int64),
        ("ally_ids", types.int64[::1]),  # unit type -> one-hot column (allies)
        ("enemy_ids", types.int64[::1]),
        ("flags", types.int64[::1]),  # OBS_* / STATE_* layout flags
        ("move_amount", types.float64),
    ]
)


@njit(cache=True)
def observed_battles(
    fs,
    ist,
    table,
    grid,
    height,
    last_action,
    steps,
    episode_limit,
    n_agents,
    n_actions,
    unit_type_bits,
    shield_ally,
    shield_enemy,
    ally_ids,
    enemy_ids,
    flags,
    move_amount,
):
    """Bundle a BattleCore's arrays (shared, not copied) and observation layout for :func:`agent_obs`."""
    battles = structref.new(OBSERVED_BATTLES)
    battles.fs, battles.ist, battles.table, battles.grid, battles.height = fs, ist, table, grid, height
    battles.last_action, battles.steps, battles.episode_limit = last_action, steps, episode_limit
    battles.n_agents, battles.n_actions, battles.unit_type_bits = n_agents, n_actions, unit_type_bits
    battles.shield_ally, battles.shield_enemy = shield_ally, shield_enemy
    battles.ally_ids, battles.enemy_ids, battles.flags, battles.move_amount = (
        ally_ids,
        enemy_ids,
        flags,
        move_amount,
    )
    return battles


@njit(cache=True)
def _feature_sizes(battles):
    """Widths of one enemy block and one ally block of an observation."""
    flags, utb = battles.flags, battles.unit_type_bits
    health = flags[OBS_ALL_HEALTH]
    enemy = 4 + utb + ((1 + battles.shield_enemy) if health else 0)
    ally = 4 + utb + ((1 + battles.shield_ally) if health else 0)
    return enemy, ally + (battles.n_actions if flags[OBS_LAST_ACTION] else 0)


# One pass per block of the observation rows, each over every live agent of every battle (a helper call
# per agent or per unit pair instead made the kernel 1.5-2 times slower).
@njit(cache=True)
def _move_features(fs, ist, grid, height, flags, move_amount, avail, out):
    """Available moves, then the pathing and terrain-height cells around each agent."""
    for b in range(out.shape[0]):
        for a in range(out.shape[1]):
            if ist[b, a, IS_ALIVE] == 0:
                continue
            for d in range(4):
                out[b, a, d] = avail[b, a, 2 + d]
            ind = 4
            if flags[OBS_PATHING_GRID]:
                for k in range(8):
                    px, py = _surrounding(fs, b, a, move_amount, k)
                    out[b, a, ind + k] = grid[px, py] if _in_bounds(grid, px, py) else 1.0
                ind += 8
            if flags[OBS_TERRAIN_HEIGHT]:
                for k in range(9):
                    px, py = _surrounding(fs, b, a, move_amount, k)
                    out[b, a, ind + k] = height[px, py] if _in_bounds(grid, px, py) else 1.0


@njit(cache=True)
def _unit_blocks(
    fs, ist, table, health, shield, utb, type_ids, enemies, avail, last_action, out, start, size
):
    """Per unit in sight of each live agent (the enemies, or the other agents in id order): a flag
    (attackable for enemies, 1 for agents), distance and relative x/y over the sight range, health and shield
    (when observed), type one-hot and, for agents, the last action one-hot (when ``last_action`` is given)."""
    n_agents = out.shape[1]
    first, count = (n_agents, ist.shape[1] - n_agents) if enemies else (0, n_agents)
    for b in range(out.shape[0]):
        for a in range(n_agents):
            if ist[b, a, IS_ALIVE] == 0:
                continue
            slot = 0
            for v in range(first, first + count):
                if v == a:
                    continue
                o = start + slot * size
                slot += 1
                if ist[b, v, IS_ALIVE] == 0:
                    continue
                dx, dy = fs[b, v, FS_X] - fs[b, a, FS_X], fs[b, v, FS_Y] - fs[b, a, FS_Y]
                dist = math.hypot(dx, dy)
                if dist >= SIGHT_RANGE:
                    continue
                out[b, a, o] = avail[b, a, N_ACTIONS_NO_ATTACK + v - n_agents] if enemies else 1.0
                out[b, a, o + 1] = dist / SIGHT_RANGE
                out[b, a, o + 2] = dx / SIGHT_RANGE
                out[b, a, o + 3] = dy / SIGHT_RANGE
                ind, tv = o + 4, ist[b, v, IS_TYPE]
                if health:
                    out[b, a, ind] = fs[b, v, FS_HEALTH] / table[tv, ut.F_HEALTH]
                    ind += 1
                    if shield:  # a shieldless unit on a Protoss side (custom mixed maps) reads 0
                        if table[tv, ut.F_SHIELD] > 0:
                            out[b, a, ind] = fs[b, v, FS_SHIELD] / table[tv, ut.F_SHIELD]
                        ind += 1
                if utb:
                    out[b, a, ind + type_ids[tv]] = 1.0
                    ind += utb
                if last_action.shape[0] > 0 and last_action[b, v] >= 0:
                    out[b, a, ind + last_action[b, v]] = 1.0


@njit(cache=True)
def _own_features(fs, ist, table, health, shield, utb, type_ids, progress, out, start):
    """Own health and shield (when observed), type one-hot, episode progress ``progress[b]`` (when given)."""
    for b in range(out.shape[0]):
        for a in range(out.shape[1]):
            if ist[b, a, IS_ALIVE] == 0:
                continue
            ta, o = ist[b, a, IS_TYPE], start
            if health:
                out[b, a, o] = fs[b, a, FS_HEALTH] / table[ta, ut.F_HEALTH]
                o += 1
                if shield:
                    if table[ta, ut.F_SHIELD] > 0:
                        out[b, a, o] = fs[b, a, FS_SHIELD] / table[ta, ut.F_SHIELD]
                    o += 1
            if utb:
                out[b, a, o + type_ids[ta]] = 1.0
                o += utb
            if progress.shape[0] > 0:
                out[b, a, o] = progress[b]


@njit(cache=True)
def agent_obs(battles, avail, out):
    """``out[B, n_agents, obs_size]``: SMAC's ``get_obs_agent`` for every agent of every battle (dead
    agents: zeros): move features, one block per enemy, one per other agent, own features."""
    fs, ist, table, flags, utb = battles.fs, battles.ist, battles.table, battles.flags, battles.unit_type_bits
    n_agents, health = battles.n_agents, flags[OBS_ALL_HEALTH]
    enemy_size, ally_size = _feature_sizes(battles)
    enemy_start = 4 + (8 if flags[OBS_PATHING_GRID] else 0) + (9 if flags[OBS_TERRAIN_HEIGHT] else 0)
    ally_start = enemy_start + (ist.shape[1] - n_agents) * enemy_size
    own_start = ally_start + (n_agents - 1) * ally_size
    out[:] = 0.0
    no_actions = battles.last_action[:0]
    last_action = battles.last_action if flags[OBS_LAST_ACTION] else no_actions
    progress = (
        battles.steps / battles.episode_limit if flags[OBS_TIMESTEP_NUMBER] else battles.steps[:0] * 0.0
    )
    _move_features(fs, ist, battles.grid, battles.height, flags, battles.move_amount, avail, out)
    args = (fs, ist, table, health)
    _unit_blocks(
        *args,
        battles.shield_enemy,
        utb,
        battles.enemy_ids,
        True,
        avail,
        no_actions,
        out,
        enemy_start,
        enemy_size,
    )
    _unit_blocks(
        *args,
        battles.shield_ally,
        utb,
        battles.ally_ids,
        False,
        avail,
        last_action,
        out,
        ally_start,
        ally_size,
    )
    own_health = flags[OBS_OWN_HEALTH]
    _own_features(
        fs, ist, table, own_health, battles.shield_ally, utb, battles.ally_ids, progress, out, own_start
    )


@njit(cache=True)
def global_state(
    fs,
    ist,
    table,
    last_action,
    steps,
    episode_limit,
    n_agents,
    n_actions,
    utb,
    shield_ally,
    shield_enemy,
    ally_ids,
    enemy_ids,
    flags,
    map_x,
    map_y,
    out,
):
    """``out[B, state_size]``: SMAC's ``get_state`` (ally rows, enemy rows, last actions, timestep)."""
    n_batch, n_units = ist.shape[0], ist.shape[1]
    n_enemies = n_units - n_agents
    nf_al = 4 + shield_ally + utb
    nf_en = 3 + shield_enemy + utb
    cx, cy = map_x / 2.0, map_y / 2.0
    for b in range(n_batch):
        for k in range(out.shape[1]):
            out[b, k] = 0.0
        for a in range(n_agents):
            if ist[b, a, IS_ALIVE] == 0:
                continue
            t = ist[b, a, IS_TYPE]
            o = a * nf_al
            out[b, o] = fs[b, a, FS_HEALTH] / table[t, ut.F_HEALTH]
            if table[t, ut.F_WEAPON] == ut.WEAPON_HEAL:
                out[b, o + 1] = fs[b, a, FS_ENERGY] / table[t, ut.F_COOLDOWN_NORM]
            else:
                out[b, o + 1] = fs[b, a, FS_COOLDOWN] / table[t, ut.F_COOLDOWN_NORM]
            out[b, o + 2] = (fs[b, a, FS_X] - cx) / map_x
            out[b, o + 3] = (fs[b, a, FS_Y] - cy) / map_y
            ind = 4
            if shield_ally:
                if table[t, ut.F_SHIELD] > 0:
                    out[b, o + 4] = fs[b, a, FS_SHIELD] / table[t, ut.F_SHIELD]
                ind += 1
            if utb:
                out[b, o + ind + ally_ids[t]] = 1.0
        base = n_agents * nf_al
        for e in range(n_enemies):
            v = n_agents + e
            if ist[b, v, IS_ALIVE] == 0:
                continue
            t = ist[b, v, IS_TYPE]
            o = base + e * nf_en
            out[b, o] = fs[b, v, FS_HEALTH] / table[t, ut.F_HEALTH]
            out[b, o + 1] = (fs[b, v, FS_X] - cx) / map_x
            out[b, o + 2] = (fs[b, v, FS_Y] - cy) / map_y
            ind = 3
            if shield_enemy:
                if table[t, ut.F_SHIELD] > 0:
                    out[b, o + 3] = fs[b, v, FS_SHIELD] / table[t, ut.F_SHIELD]
                ind += 1
            if utb:
                out[b, o + ind + enemy_ids[t]] = 1.0
        ind = base + n_enemies * nf_en
        if flags[STATE_LAST_ACTION]:
            for a in range(n_agents):
                if last_action[b, a] >= 0:
                    out[b, ind + a * n_actions + last_action[b, a]] = 1.0
            ind += n_agents * n_actions
        if flags[STATE_TIMESTEP_NUMBER]:
            out[b, ind] = steps[b] / episode_limit


@njit(cache=True)
def _only_healers_left(ist, table, lo, hi, exactly_one):
    """SMAC's ``only_medivac_left``: allies — no non-medivac alive; enemies — exactly one unit alive
    and it is a medivac."""
    others, healers = 0, 0
    for u in range(lo, hi):
        if ist[u, IS_ALIVE] == 0:
            continue
        if table[ist[u, IS_TYPE], ut.F_WEAPON] == ut.WEAPON_HEAL:
            healers += 1
        else:
            others += 1
    if exactly_one:
        return others == 0 and healers == 1
    return others == 0


@njit(cache=True)
def _reward_battle(fs, ist, n_agents, params):
    """SMAC's ``reward_battle`` for one battle (``fs``/``ist`` its rows): marks new deaths, stores each
    unit's health + shield as the previous value, and returns ``(reward, allies alive, enemies alive)``."""
    neg = params[R_NEG_SCALE]
    delta_deaths, delta_ally, delta_enemy = 0.0, 0.0, 0.0
    n_ally, n_enemy = 0, 0
    for u in range(ist.shape[0]):
        hs = fs[u, FS_HEALTH] + fs[u, FS_SHIELD]
        ally = u < n_agents
        if ist[u, IS_ALIVE] == 1:
            if ally:
                n_ally += 1
            else:
                n_enemy += 1
        if ist[u, IS_DEAD] == 0:
            prev = fs[u, FS_PREV_HS]
            if ist[u, IS_ALIVE] == 0:
                ist[u, IS_DEAD] = 1
                if ally:
                    if params[R_ONLY_POSITIVE] == 0:
                        delta_deaths -= params[R_DEATH_VALUE] * neg
                    delta_ally += prev * neg
                else:
                    delta_deaths += params[R_DEATH_VALUE]
                    delta_enemy += prev
            elif ally:
                delta_ally += neg * (prev - hs)
            else:
                delta_enemy += prev - hs
        fs[u, FS_PREV_HS] = hs
    if params[R_SPARSE] != 0:
        r = 0.0
    elif params[R_ONLY_POSITIVE] != 0:
        r = abs(delta_enemy + delta_deaths)
    else:
        r = delta_enemy + delta_deaths - delta_ally
    return r, n_ally, n_enemy


@njit(cache=True)
def _end_code(ist, table, n_agents, n_ally, n_enemy, medivac_rule):
    """SMAC's game-end check: lost (allies dead, or only healers left), won, draw or none."""
    lost = (n_ally == 0 and n_enemy > 0) or (
        medivac_rule != 0 and _only_healers_left(ist, table, 0, n_agents, False)
    )
    won = (n_ally > 0 and n_enemy == 0) or (
        medivac_rule != 0 and _only_healers_left(ist, table, n_agents, ist.shape[0], medivac_rule == 1)
    )
    if lost:
        return END_LOST
    if won:
        return END_WON
    if n_ally == 0 and n_enemy == 0:
        return END_DRAW
    return END_NONE


@njit(cache=True)
def battle_outcome(
    fs,
    ist,
    table,
    active,
    steps,
    n_agents,
    episode_limit,
    medivac_rule,
    params,
    max_reward,
    reward,
    battle_reward,
    end_code,
    timeout,
    dead_allies,
    dead_enemies,
):
    """After a step: SMAC's ``reward_battle`` (updating death trackers and previous health; written to
    ``battle_reward``), the game-end code, the win/defeat terms, scaling, the episode-limit timeout and the
    dead counts."""
    n_batch, n_units = ist.shape[0], ist.shape[1]
    for b in range(n_batch):
        if not active[b]:
            continue
        steps[b] += 1
        r, n_ally, n_enemy = _reward_battle(fs[b], ist[b], n_agents, params)
        battle_reward[b] = r
        code = _end_code(ist[b], table, n_agents, n_ally, n_enemy, medivac_rule)
        if code == END_WON:
            r = 1.0 if params[R_SPARSE] != 0 else r + params[R_WIN]
        elif code == END_LOST:
            r = -1.0 if params[R_SPARSE] != 0 else r + params[R_DEFEAT]
        if params[R_SCALE] != 0:  # SMAC scales sparse rewards too
            r /= max_reward[b] / params[R_SCALE_RATE]
        reward[b] = r
        end_code[b] = code
        timeout[b] = code == END_NONE and steps[b] >= episode_limit
        dead_allies[b] = n_agents - n_ally
        dead_enemies[b] = n_units - n_agents - n_enemy
