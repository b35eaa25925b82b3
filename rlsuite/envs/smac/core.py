"""The combat simulator's numba core: one kernel steps a batch of battles, game loop by game loop.

State of a batch of ``B`` battles with ``U`` units each (allies first, then enemies):

* ``fs[B, U, FS_*]`` float64: position, health, shield, energy, weapon cooldown (loops), order point,
  health + shield at the previous env step (for the reward);
* ``ist[B, U, IS_*]`` int64: unit type, alive, order, order target, acquired target (enemy AI), last
  attacker, loop of the last damage taken, death tracker;
* ``loops[B]`` game-loop counters and ``rng[B]`` splitmix64 states (one stream per battle).

Per game loop: units act in a random order (drawn from the battle's stream); each follows its order
(move / attack / heal / attack-move / hunt / idle), fires when in range with its weapon ready,
then overlapping ground units are pushed apart, and shields, Zerg life, energy and cooldowns tick.
Allies are passive (SMAC's ``*_RL`` units: no auto-acquire, no response); enemies use SC2's built-in
unit AI, modelled as in SMAClite (https://github.com/uoe-agents/smaclite): acquire the nearest target
within the acquire range, healers first; keep a target that attacks them; answer attackers; attack-move
otherwise.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from rlsuite.envs.batched import rand_float, rand_int
from rlsuite.envs.smac import units as ut

# Float state fields.
FS_X, FS_Y, FS_HEALTH, FS_SHIELD, FS_ENERGY, FS_COOLDOWN, FS_ORDER_X, FS_ORDER_Y, FS_PREV_HS = range(9)
N_FS = 9
# Int state fields.
IS_TYPE, IS_ALIVE, IS_ORDER, IS_TARGET, IS_AI_TARGET, IS_ATTACKER, IS_LAST_HIT, IS_DEAD = range(8)
N_IS = 8

# Orders.
O_IDLE, O_MOVE, O_ATTACK, O_HEAL, O_ATTACK_MOVE, O_HUNT = range(6)

LOOPS_PER_STEP = 8
RESCAN_LOOPS = 4  # an enemy engaged with a target in reach looks for a better one every 4 game loops
_ARRIVE_EPS = 1e-3
_NEVER = -(10**9)

# Unit-table columns, bound as module constants for numba.
_HP, _SH, _ARMOR, _SPEED, _RADIUS = ut.F_HEALTH, ut.F_SHIELD, ut.F_ARMOR, ut.F_SPEED, ut.F_RADIUS
_ATTR, _AIR, _DMG, _BONUS, _BONUS_ATTR = ut.F_ATTR, ut.F_AIR, ut.F_DAMAGE, ut.F_BONUS, ut.F_BONUS_ATTR
_ATTACKS, _CD, _RANGE, _WEAPON = ut.F_ATTACKS, ut.F_COOLDOWN, ut.F_RANGE, ut.F_WEAPON
_HITS_GROUND, _HITS_AIR, _EMAX, _REGEN = ut.F_HITS_GROUND, ut.F_HITS_AIR, ut.F_ENERGY_MAX, ut.F_REGEN
_ACQUIRE, _SPLASH, _STATIC = ut.F_ACQUIRE, ut.F_SPLASH, ut.F_STATIC
_W_DIRECT, _W_BEAM, _W_BURST, _W_HEAL = ut.WEAPON_DIRECT, ut.WEAPON_BEAM, ut.WEAPON_BURST, ut.WEAPON_HEAL
_BIO = ut.BIOLOGICAL
_SHIELD_REGEN, _SHIELD_DELAY = ut.SHIELD_REGEN_PER_LOOP, ut.SHIELD_REGEN_DELAY_LOOPS
_ENERGY_REGEN, _HEAL_RATE, _HEAL_COST = ut.ENERGY_REGEN_PER_LOOP, ut.HEAL_PER_LOOP, ut.HEAL_ENERGY_PER_HP
# Colossus beam (SMAClite): a 2.8-wide, 0.3-deep strip centred on the target, across the line of fire.
BEAM_HALF_WIDTH, BEAM_HALF_DEPTH = 1.4, 0.15


@njit(cache=True, inline="always")
def _team(u, n_agents):
    return 0 if u < n_agents else 1


@njit(cache=True, inline="always")
def _dist(fs, b, u, v):
    return math.hypot(fs[b, v, FS_X] - fs[b, u, FS_X], fs[b, v, FS_Y] - fs[b, u, FS_Y])


@njit(cache=True, inline="always")
def _gap(fs, ist, table, b, u, v):
    """Edge-to-edge distance between units ``u`` and ``v``."""
    return _dist(fs, b, u, v) - table[ist[b, u, IS_TYPE], _RADIUS] - table[ist[b, v, IS_TYPE], _RADIUS]


@njit(cache=True, inline="always")
def _can_hit(table, ist, b, u, v):
    tv = ist[b, v, IS_TYPE]
    tu = ist[b, u, IS_TYPE]
    if table[tv, _AIR] > 0:
        return table[tu, _HITS_AIR] > 0
    return table[tu, _HITS_GROUND] > 0


@njit(cache=True, inline="always")
def _walkable(grid, x, y):
    if x < 0.0 or y < 0.0 or x >= grid.shape[0] or y >= grid.shape[1]:
        return False
    return grid[int(x), int(y)]


@njit(cache=True, inline="always")
def _place(fs, ist, table, grid, b, u, nx, ny):
    """Move ``u`` to (nx, ny), sliding along an axis when the cell is not walkable (air flies anywhere)."""
    x, y = fs[b, u, FS_X], fs[b, u, FS_Y]
    if table[ist[b, u, IS_TYPE], _AIR] > 0:
        fs[b, u, FS_X] = min(max(nx, 0.0), grid.shape[0] - 1e-6)
        fs[b, u, FS_Y] = min(max(ny, 0.0), grid.shape[1] - 1e-6)
    elif _walkable(grid, nx, ny):
        fs[b, u, FS_X], fs[b, u, FS_Y] = nx, ny
    elif _walkable(grid, nx, y):
        fs[b, u, FS_X] = nx
    elif _walkable(grid, x, ny):
        fs[b, u, FS_Y] = ny


@njit(cache=True, inline="always")
def _move_toward(fs, ist, table, grid, b, u, gx, gy):
    """One loop of movement toward (gx, gy); True when the point is reached."""
    speed = table[ist[b, u, IS_TYPE], _SPEED]
    dx, dy = gx - fs[b, u, FS_X], gy - fs[b, u, FS_Y]
    d = math.hypot(dx, dy)
    if d <= max(speed, _ARRIVE_EPS):
        _place(fs, ist, table, grid, b, u, gx, gy)
        return True
    _place(fs, ist, table, grid, b, u, fs[b, u, FS_X] + dx / d * speed, fs[b, u, FS_Y] + dy / d * speed)
    return False


@njit(cache=True)
def _hit(fs, ist, table, b, attacker, v, damage, bonus, bonus_attr, attacks, loop):
    """Apply ``attacks`` hits: shields absorb first; armour reduces the health part (at least 0.5)."""
    tv = ist[b, v, IS_TYPE]
    per_hit = damage + (bonus if (int(table[tv, _ATTR]) & bonus_attr) else 0.0)
    for _ in range(attacks):
        absorbed = min(fs[b, v, FS_SHIELD], per_hit)
        fs[b, v, FS_SHIELD] -= absorbed
        rest = per_hit - absorbed
        if rest > 0.0:
            fs[b, v, FS_HEALTH] -= max(rest - table[tv, _ARMOR], 0.5)
    ist[b, v, IS_ATTACKER] = attacker
    ist[b, v, IS_LAST_HIT] = loop
    if fs[b, v, FS_HEALTH] <= 0.0:
        _kill(fs, ist, b, v)


@njit(cache=True, inline="always")
def _kill(fs, ist, b, v):
    fs[b, v, FS_HEALTH] = 0.0
    fs[b, v, FS_SHIELD] = 0.0
    ist[b, v, IS_ALIVE] = 0


@njit(cache=True)
def _fire(fs, ist, table, b, u, v, n_agents, n_units, loop):
    """``u`` fires its weapon at ``v`` (cooldown already checked)."""
    tu = ist[b, u, IS_TYPE]
    kind = int(table[tu, _WEAPON])
    dmg, bonus, battr = table[tu, _DMG], table[tu, _BONUS], int(table[tu, _BONUS_ATTR])
    attacks = int(table[tu, _ATTACKS])
    if kind == _W_BEAM:
        # Thermal lances: every enemy ground unit in the strip across the line of fire at the target.
        ux, uy = fs[b, u, FS_X], fs[b, u, FS_Y]
        d = max(_dist(fs, b, u, v), 1e-9)
        fx, fy = (fs[b, v, FS_X] - ux) / d, (fs[b, v, FS_Y] - uy) / d
        for w in range(n_units):
            if ist[b, w, IS_ALIVE] == 0 or _team(w, n_agents) == _team(u, n_agents):
                continue
            if table[ist[b, w, IS_TYPE], _AIR] > 0:
                continue
            rx, ry = fs[b, w, FS_X] - fs[b, v, FS_X], fs[b, w, FS_Y] - fs[b, v, FS_Y]
            along, across = rx * fx + ry * fy, -rx * fy + ry * fx
            rw = table[ist[b, w, IS_TYPE], _RADIUS]
            if w == v or (abs(along) <= BEAM_HALF_DEPTH + rw and abs(across) <= BEAM_HALF_WIDTH + rw):
                _hit(fs, ist, table, b, u, w, dmg, bonus, battr, attacks, loop)
    elif kind == _W_BURST:
        # Volatile burst: the baneling dies; enemy ground units within the splash radius take damage.
        radius = table[tu, _SPLASH]
        for w in range(n_units):
            if ist[b, w, IS_ALIVE] == 0 or _team(w, n_agents) == _team(u, n_agents):
                continue
            if table[ist[b, w, IS_TYPE], _AIR] > 0:
                continue
            if _dist(fs, b, u, w) - table[ist[b, w, IS_TYPE], _RADIUS] <= radius:
                _hit(fs, ist, table, b, u, w, dmg, bonus, battr, attacks, loop)
        _kill(fs, ist, b, u)
    else:
        _hit(fs, ist, table, b, u, v, dmg, bonus, battr, attacks, loop)
    fs[b, u, FS_COOLDOWN] = table[tu, _CD]


@njit(cache=True)
def _engage(fs, ist, table, grid, b, u, v, n_agents, n_units, loop):
    """Attack ``v``: close in until in weapon range, then fire whenever the weapon is ready."""
    tu = ist[b, u, IS_TYPE]
    if _gap(fs, ist, table, b, u, v) <= table[tu, _RANGE]:
        if fs[b, u, FS_COOLDOWN] <= 0.0:
            _fire(fs, ist, table, b, u, v, n_agents, n_units, loop)
    elif table[tu, _STATIC] == 0:
        _move_toward(fs, ist, table, grid, b, u, fs[b, v, FS_X], fs[b, v, FS_Y])


@njit(cache=True)
def _heal(fs, ist, table, grid, b, u, v):
    """Medivac heal: 9 hp per normal second at 1 energy per 3 hp, within heal range."""
    tu, tv = ist[b, u, IS_TYPE], ist[b, v, IS_TYPE]
    if _gap(fs, ist, table, b, u, v) > table[tu, _RANGE]:
        _move_toward(fs, ist, table, grid, b, u, fs[b, v, FS_X], fs[b, v, FS_Y])
        return
    missing = table[tv, _HP] - fs[b, v, FS_HEALTH]
    amount = min(_HEAL_RATE, missing, fs[b, u, FS_ENERGY] / _HEAL_COST)
    if amount > 0.0:
        fs[b, v, FS_HEALTH] += amount
        fs[b, u, FS_ENERGY] -= amount * _HEAL_COST


@njit(cache=True, inline="always")
def _valid_target(fs, ist, table, b, u, v, n_agents):
    return (
        v >= 0
        and ist[b, v, IS_ALIVE] == 1
        and _team(v, n_agents) != _team(u, n_agents)
        and _can_hit(table, ist, b, u, v)
    )


@njit(cache=True, inline="always")
def _melee(table, t):
    return table[t, _RANGE] <= 0.25


@njit(cache=True, inline="always")
def _saturated(ist, table, claims, b, u, v):
    """Whether melee attackers already surround ``v`` (as many as fit around it: π(r_v + r_u) / r_u),
    so a melee unit picks another target, as blocked melee units do in SC2."""
    tu, tv = ist[b, u, IS_TYPE], ist[b, v, IS_TYPE]
    if not _melee(table, tu):
        return False
    ru = table[tu, _RADIUS]
    return claims[v] >= math.floor(math.pi * (table[tv, _RADIUS] + ru) / ru)


@njit(cache=True)
def _acquire(fs, ist, table, claims, b, u, n_agents, n_units, anywhere):
    """Enemy AI target choice: healers first, then nearest; within the acquire range unless ``anywhere``;
    melee units skip targets already surrounded while another is available."""
    tu = ist[b, u, IS_TYPE]
    reach = max(table[tu, _ACQUIRE], table[tu, _RANGE])
    best, best_gap, best_healer, best_full = -1, 1e18, False, True
    for v in range(n_units):
        if not _valid_target(fs, ist, table, b, u, v, n_agents):
            continue
        gap = _gap(fs, ist, table, b, u, v)
        if not anywhere and gap > reach:
            continue
        healer = table[ist[b, v, IS_TYPE], _WEAPON] == _W_HEAL
        full = v != ist[b, u, IS_AI_TARGET] and _saturated(ist, table, claims, b, u, v)
        if full != best_full:
            better = not full
        elif healer != best_healer:
            better = healer
        else:
            better = gap < best_gap
        if better:
            best, best_gap, best_healer, best_full = v, gap, healer, full
    return best


@njit(cache=True)
def _set_ai_target(ist, table, claims, b, u, v):
    old = ist[b, u, IS_AI_TARGET]
    if old == v:
        return
    if _melee(table, ist[b, u, IS_TYPE]):
        if old >= 0:
            claims[old] -= 1
        if v >= 0:
            claims[v] += 1
    ist[b, u, IS_AI_TARGET] = v


@njit(cache=True)
def _ai_target(fs, ist, table, claims, b, u, n_agents, n_units, hunt, loop):
    """Keep a target that is still in reach or attacking us, unless a healer or (for melee units) a free
    target is available instead; otherwise acquire one; otherwise answer the last attacker.
    A unit with a valid target in reach rescans only every ``RESCAN_LOOPS`` loops."""
    current = ist[b, u, IS_AI_TARGET]
    if (loop + u) % RESCAN_LOOPS != 0 and _valid_target(fs, ist, table, b, u, current, n_agents):
        tu = ist[b, u, IS_TYPE]
        if _gap(fs, ist, table, b, u, current) <= max(table[tu, _ACQUIRE], table[tu, _RANGE]):
            return current
    best = _acquire(fs, ist, table, claims, b, u, n_agents, n_units, hunt)
    if _valid_target(fs, ist, table, b, u, current, n_agents):
        tu = ist[b, u, IS_TYPE]
        reach = max(table[tu, _ACQUIRE], table[tu, _RANGE])
        keep = _gap(fs, ist, table, b, u, current) <= reach or ist[b, u, IS_ATTACKER] == current or hunt
        best_is_healer = best >= 0 and table[ist[b, best, IS_TYPE], _WEAPON] == _W_HEAL
        current_is_healer = table[ist[b, current, IS_TYPE], _WEAPON] == _W_HEAL
        if keep and not (best_is_healer and not current_is_healer):
            return current
    if best < 0 and _valid_target(fs, ist, table, b, u, ist[b, u, IS_ATTACKER], n_agents):
        best = ist[b, u, IS_ATTACKER]
    _set_ai_target(ist, table, claims, b, u, best)
    return best


@njit(cache=True)
def _ai_medivac(fs, ist, table, grid, b, u, n_agents, n_units):
    """Enemy medivac: heal the most injured biological ally within 6; otherwise follow the army."""
    team = _team(u, n_agents)
    best, best_missing = -1, 0.0
    cx, cy, n = 0.0, 0.0, 0
    for v in range(n_units):
        if ist[b, v, IS_ALIVE] == 0 or _team(v, n_agents) != team or v == u:
            continue
        tv = ist[b, v, IS_TYPE]
        if table[tv, _WEAPON] == _W_HEAL:
            continue
        cx += fs[b, v, FS_X]
        cy += fs[b, v, FS_Y]
        n += 1
        missing = table[tv, _HP] - fs[b, v, FS_HEALTH]
        if (int(table[tv, _ATTR]) & _BIO) and missing > best_missing and _dist(fs, b, u, v) <= 6.0:
            best, best_missing = v, missing
    if best >= 0:
        _heal(fs, ist, table, grid, b, u, best)
    elif n > 0:
        _move_toward(fs, ist, table, grid, b, u, cx / n, cy / n)


@njit(cache=True)
def _act_enemy(fs, ist, table, grid, claims, b, u, n_agents, n_units, loop):
    order = ist[b, u, IS_ORDER]
    if table[ist[b, u, IS_TYPE], _WEAPON] == _W_HEAL:
        _ai_medivac(fs, ist, table, grid, b, u, n_agents, n_units)
        return
    target = _ai_target(fs, ist, table, claims, b, u, n_agents, n_units, order == O_HUNT, loop)
    if target >= 0:
        _engage(fs, ist, table, grid, b, u, target, n_agents, n_units, loop)
    elif order == O_ATTACK_MOVE:
        if _move_toward(fs, ist, table, grid, b, u, fs[b, u, FS_ORDER_X], fs[b, u, FS_ORDER_Y]):
            ist[b, u, IS_ORDER] = O_IDLE


@njit(cache=True)
def _act_ally(fs, ist, table, grid, b, u, n_agents, n_units, loop):
    """Passive agent units follow their order and nothing else."""
    order = ist[b, u, IS_ORDER]
    if order == O_MOVE:
        if _move_toward(fs, ist, table, grid, b, u, fs[b, u, FS_ORDER_X], fs[b, u, FS_ORDER_Y]):
            ist[b, u, IS_ORDER] = O_IDLE
    elif order == O_ATTACK:
        v = ist[b, u, IS_TARGET]
        if _valid_target(fs, ist, table, b, u, v, n_agents):
            _engage(fs, ist, table, grid, b, u, v, n_agents, n_units, loop)
        else:  # target dead, or one this weapon cannot hit (the order is refused in SC2)
            ist[b, u, IS_ORDER] = O_IDLE
    elif order == O_HEAL:
        v = ist[b, u, IS_TARGET]
        if ist[b, v, IS_ALIVE] == 1:
            _heal(fs, ist, table, grid, b, u, v)
        else:
            ist[b, u, IS_ORDER] = O_IDLE


@njit(cache=True)
def _separate(fs, ist, table, grid, b, n_units):
    """Push overlapping ground units apart (half the overlap each; static structures do not move)."""
    for u in range(n_units):
        if ist[b, u, IS_ALIVE] == 0 or table[ist[b, u, IS_TYPE], _AIR] > 0:
            continue
        for v in range(u + 1, n_units):
            if ist[b, v, IS_ALIVE] == 0 or table[ist[b, v, IS_TYPE], _AIR] > 0:
                continue
            dx = fs[b, v, FS_X] - fs[b, u, FS_X]
            dy = fs[b, v, FS_Y] - fs[b, u, FS_Y]
            d = math.hypot(dx, dy)
            overlap = table[ist[b, u, IS_TYPE], _RADIUS] + table[ist[b, v, IS_TYPE], _RADIUS] - d
            if overlap <= 0.0:
                continue
            if d < 1e-9:  # exactly on top: split along a fixed axis
                dx, dy, d = 1.0, 0.0, 1.0
            nx, ny = dx / d, dy / d
            su, sv = table[ist[b, u, IS_TYPE], _STATIC] > 0, table[ist[b, v, IS_TYPE], _STATIC] > 0
            share_u = 0.0 if su else (1.0 if sv else 0.5)
            share_v = 0.0 if sv else (1.0 if su else 0.5)
            px, py = fs[b, u, FS_X], fs[b, u, FS_Y]
            _place(fs, ist, table, grid, b, u, px - nx * overlap * share_u, py - ny * overlap * share_u)
            qx, qy = fs[b, v, FS_X], fs[b, v, FS_Y]
            _place(fs, ist, table, grid, b, v, qx + nx * overlap * share_v, qy + ny * overlap * share_v)


@njit(cache=True)
def _tick_regen(fs, ist, table, b, n_units, loop):
    for u in range(n_units):
        if ist[b, u, IS_ALIVE] == 0:
            continue
        t = ist[b, u, IS_TYPE]
        if fs[b, u, FS_COOLDOWN] > 0.0:
            fs[b, u, FS_COOLDOWN] = max(fs[b, u, FS_COOLDOWN] - 1.0, 0.0)
        if table[t, _SH] > 0.0 and loop - ist[b, u, IS_LAST_HIT] >= _SHIELD_DELAY:
            fs[b, u, FS_SHIELD] = min(fs[b, u, FS_SHIELD] + _SHIELD_REGEN, table[t, _SH])
        if table[t, _REGEN] > 0.0:
            fs[b, u, FS_HEALTH] = min(fs[b, u, FS_HEALTH] + table[t, _REGEN], table[t, _HP])
        if table[t, _EMAX] > 0.0:
            fs[b, u, FS_ENERGY] = min(fs[b, u, FS_ENERGY] + _ENERGY_REGEN, table[t, _EMAX])


@njit(cache=True)
def _game_loop(fs, ist, table, grid, loops, rng, b, n_agents, n_units, order, claims):
    """One game loop of battle ``b``: units act in a fresh random order, then collisions and regen."""
    loop = loops[b]
    for i in range(n_units):  # Fisher-Yates shuffle of the acting order; melee claims on each target
        order[i] = i
        claims[i] = 0
    for u in range(n_units):
        v = ist[b, u, IS_AI_TARGET]
        melee = _melee(table, ist[b, u, IS_TYPE])
        if melee and v >= 0 and ist[b, u, IS_ALIVE] == 1 and ist[b, v, IS_ALIVE] == 1:
            claims[v] += 1
    for i in range(n_units - 1, 0, -1):
        j = rand_int(rng, b, i + 1)
        order[i], order[j] = order[j], order[i]
    for i in range(n_units):
        u = order[i]
        if ist[b, u, IS_ALIVE] == 0:
            continue
        if u < n_agents:
            _act_ally(fs, ist, table, grid, b, u, n_agents, n_units, loop)
        else:
            _act_enemy(fs, ist, table, grid, claims, b, u, n_agents, n_units, loop)
    _separate(fs, ist, table, grid, b, n_units)
    _tick_regen(fs, ist, table, b, n_units, loop)
    loops[b] = loop + 1


@njit(cache=True)
def _apply_action(fs, ist, table, b, u, a, move_amount, n_agents):
    """SMAC's action → order: 0 no-op, 1 stop, 2–5 move N/S/E/W by ``move_amount``, 6+i attack/heal i."""
    if ist[b, u, IS_ALIVE] == 0 or a == 0:
        return
    x, y = fs[b, u, FS_X], fs[b, u, FS_Y]
    if a == 1:
        ist[b, u, IS_ORDER] = O_IDLE
    elif a <= 5:
        ist[b, u, IS_ORDER] = O_MOVE
        fs[b, u, FS_ORDER_X] = x + (move_amount if a == 4 else (-move_amount if a == 5 else 0.0))
        fs[b, u, FS_ORDER_Y] = y + (move_amount if a == 2 else (-move_amount if a == 3 else 0.0))
    elif table[ist[b, u, IS_TYPE], _WEAPON] == _W_HEAL:
        ist[b, u, IS_ORDER] = O_HEAL
        ist[b, u, IS_TARGET] = a - 6
    else:
        ist[b, u, IS_ORDER] = O_ATTACK
        ist[b, u, IS_TARGET] = n_agents + a - 6


@njit(cache=True, parallel=True)
def simulate(fs, ist, table, grid, loops, rng, actions, active, n_agents, move_amount, loops_per_step):
    """Apply the agents' actions ``[B, n_agents]`` and run ``loops_per_step`` game loops per active battle.
    Battles run in parallel threads; each draws only from its own stream, so results do not depend on
    the thread count."""
    n_batch, n_units = ist.shape[0], ist.shape[1]
    order = np.empty((n_batch, n_units), dtype=np.int64)
    claims = np.zeros((n_batch, n_units), dtype=np.int64)
    for b in prange(n_batch):
        if not active[b]:
            continue
        for u in range(n_agents):
            _apply_action(fs, ist, table, b, u, actions[b, u], move_amount, n_agents)
        for _ in range(loops_per_step):
            _game_loop(fs, ist, table, grid, loops, rng, b, n_agents, n_units, order[b], claims[b])


@njit(cache=True)
def spawn(fs, ist, table, loops, rng, mask, types, base_xy, jitter, enemy_order, order_points, n_agents):
    """Reset the battles where ``mask``: units of ``types[b, u]`` at ``base_xy[b, u]`` ± ``jitter``,
    full health/shields, starting energy, enemy opening order; loop counters to 0."""
    n_batch, n_units = ist.shape[0], ist.shape[1]
    for b in range(n_batch):
        if not mask[b]:
            continue
        loops[b] = 0
        for u in range(n_units):
            t = types[b, u]
            ist[b, u, IS_TYPE] = t
            ist[b, u, IS_ALIVE] = 1
            ist[b, u, IS_ORDER] = O_IDLE
            ist[b, u, IS_TARGET] = -1
            ist[b, u, IS_AI_TARGET] = -1
            ist[b, u, IS_ATTACKER] = -1
            ist[b, u, IS_LAST_HIT] = _NEVER
            ist[b, u, IS_DEAD] = 0
            jx = (2.0 * rand_float(rng, b) - 1.0) * jitter if table[t, _STATIC] == 0 else 0.0
            jy = (2.0 * rand_float(rng, b) - 1.0) * jitter if table[t, _STATIC] == 0 else 0.0
            fs[b, u, FS_X] = base_xy[b, u, 0] + jx
            fs[b, u, FS_Y] = base_xy[b, u, 1] + jy
            fs[b, u, FS_HEALTH] = table[t, _HP]
            fs[b, u, FS_SHIELD] = table[t, _SH]
            fs[b, u, FS_ENERGY] = table[t, ut.F_ENERGY_START]
            fs[b, u, FS_COOLDOWN] = 0.0
            fs[b, u, FS_PREV_HS] = table[t, _HP] + table[t, _SH]
        _opening_orders(fs, ist, rng, b, n_agents, n_units, enemy_order, order_points)


@njit(cache=True)
def _opening_orders(fs, ist, rng, b, n_agents, n_units, enemy_order, order_points):
    """The one order the map gives the enemy at the start (the SMAC map's trigger; docs/smac.md)."""
    if enemy_order == 1 or enemy_order == 2:  # attack-move to a point / a random point between two
        px, py = order_points[0, 0], order_points[0, 1]
        if enemy_order == 2:
            f = rand_float(rng, b)
            px += f * (order_points[1, 0] - order_points[0, 0])
            py += f * (order_points[1, 1] - order_points[0, 1])
        for u in range(n_agents, n_units):
            ist[b, u, IS_ORDER] = O_ATTACK_MOVE
            fs[b, u, FS_ORDER_X] = px
            fs[b, u, FS_ORDER_Y] = py
    elif enemy_order == 3:  # hunt: attack the ally group wherever it is
        for u in range(n_agents, n_units):
            ist[b, u, IS_ORDER] = O_HUNT
