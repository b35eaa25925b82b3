"""Sokoban numba kernels: level generation by reverse play and the batched step, as gym-sokoban does them.

Cell codes (gym-sokoban's, as its code uses them): 0 wall, 1 floor, 2 target, 3 box on target, 4 box off
target, 5 player. ``fixed`` holds walls/floor/targets, ``state`` the full room.

Generation (gym-sokoban ``room_utils.generate_room``; seeds are this suite's splitmix64 streams):

1. topology: a random walk of ``num_gen_steps`` steps from a random cell (direction changes with
   probability ``p_change``), stamping one of five 3x3 masks as floor at each step; border walls;
2. the player and ``num_boxes`` targets on random floor cells;
3. reverse play: boxes start on their targets and a depth-first search (depth ``search_depth``, at most
   ``max_states`` distinct states) moves the player, optionally pulling the box behind it. A state scores
   ``box_swaps * sum(Manhattan(box, its target))`` when every target is uncovered (no box, no player),
   else 0; ``box_swaps`` counts changes of the pulled box (RAGEN's reading: the recursion sees the new
   last-pulled box). The best state is the level; every box is then off its target.

Up to ``max_tries`` topologies are tried until one scores above 0.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.experimental import structref

from rlsuite.envs.batched import KernelStateType
from rlsuite.envs.gridworlds._common import mix64, rand_float, rand_int
from rlsuite.envs.gridworlds._hashset import pack_state, set_add, set_new, set_reserve

WALL, FLOOR, TARGET, BOX_ON_TARGET, BOX, PLAYER = 0, 1, 2, 3, 4, 5
PLAYER_ON_TARGET = 6  # only in observations / renders
NUM_CELL_TYPES = 7
DR = np.array([-1, 1, 0, 0], dtype=np.int64)  # up, down, left, right (row, col)
DC = np.array([0, 0, -1, 1], dtype=np.int64)
MASKS = np.array(
    [
        [[0, 0, 0], [1, 1, 1], [0, 0, 0]],
        [[0, 1, 0], [0, 1, 0], [0, 1, 0]],
        [[0, 0, 0], [1, 1, 0], [0, 1, 0]],
        [[0, 0, 0], [1, 1, 0], [1, 1, 0]],
        [[0, 0, 0], [0, 1, 1], [0, 1, 0]],
    ],
    dtype=np.int64,
)
# int64 generation parameters, in this order
GP_NUM_BOXES, GP_GEN_STEPS, GP_SEARCH_DEPTH, GP_MAX_STATES, GP_MAX_TRIES = range(5)


# ---------------------------------------------------------------------------------------------------
# generation
@njit(cache=True)
def _topology(rng, i, level, num_steps, p_change):
    h, w = level.shape
    level[:] = 0
    d = rand_int(rng, i, 4)
    r = 1 + rand_int(rng, i, h - 1)
    c = 1 + rand_int(rng, i, w - 1)
    for _ in range(num_steps):
        if rand_float(rng, i) < p_change:
            d = rand_int(rng, i, 4)
        r = min(max(r + DR[d], 1), h - 2)
        c = min(max(c + DC[d], 1), w - 2)
        m = rand_int(rng, i, 5)
        for a in range(3):
            for b in range(3):
                level[r - 1 + a, c - 1 + b] += MASKS[m, a, b]
    for r in range(h):
        for c in range(w):
            border = r == 0 or c == 0 or r == h - 1 or c == w - 1
            level[r, c] = FLOOR if (level[r, c] > 0 and not border) else WALL


@njit(cache=True)
def _random_floor(rng, i, flat):
    count = 0
    for v in flat:
        count += v == FLOOR
    k = rand_int(rng, i, count)
    for j in range(flat.size):
        if flat[j] == FLOOR:
            if k == 0:
                return j
            k -= 1
    return -1


@njit(cache=True)
def _place(rng, i, flat, num_boxes, targets):
    """Player and targets on random floor cells of ``flat`` (modified); the player's cell, or -1."""
    free = 0
    for v in flat:
        free += v == FLOOR
    if free <= num_boxes + 1:
        return -1
    player = _random_floor(rng, i, flat)
    flat[player] = PLAYER
    for k in range(num_boxes):
        targets[k] = _random_floor(rng, i, flat)
        flat[targets[k]] = TARGET
    flat[player] = FLOOR
    return player


@njit(cache=True)
def _score(player, boxes, targets, box_at, swaps, w):
    for t in targets:
        if box_at[t] >= 0 or player == t:
            return 0
    displacement = 0
    for k in range(boxes.size):
        displacement += abs(boxes[k] // w - targets[k] // w) + abs(boxes[k] % w - targets[k] % w)
    return swaps * displacement


@njit(cache=True)
def reverse_play(flat, w, targets, player0, search_depth, max_states, best_boxes):
    """Depth-first reverse play from all boxes on ``targets``; returns ``(best score, best player)``."""
    nb = targets.size
    box_at = np.full(flat.size, -1, dtype=np.int64)
    boxes = targets.copy()
    for k in range(nb):
        box_at[targets[k]] = k
    scratch = np.empty(nb, dtype=np.int64)
    moves = np.array([-w, w, -1, 1], dtype=np.int64)
    table = set_new()
    set_add(table, pack_state(player0, boxes, scratch))
    count = 1
    best_score, best_player = 0, player0
    best_boxes[:] = boxes
    f_action = np.zeros(search_depth, dtype=np.int64)
    f_swaps = np.zeros(search_depth, dtype=np.int64)
    f_last = np.full(search_depth, -1, dtype=np.int64)
    f_prev = np.zeros(search_depth, dtype=np.int64)
    f_pulled = np.full(search_depth, -1, dtype=np.int64)
    f_box_prev = np.zeros(search_depth, dtype=np.int64)
    player, d = player0, 0
    while d >= 0:
        a = f_action[d]
        if a >= 8 or d + 1 >= search_depth - 1:  # children would have ttl <= 0
            if d > 0:
                k = f_pulled[d]
                if k >= 0:
                    box_at[boxes[k]] = -1
                    boxes[k] = f_box_prev[d]
                    box_at[boxes[k]] = k
                player = f_prev[d]
            d -= 1
            continue
        f_action[d] = a + 1
        nxt = player + moves[a % 4]
        if flat[nxt] == WALL or box_at[nxt] >= 0:
            continue
        pulled = box_at[player - moves[a % 4]] if a < 4 else -1
        if count >= max_states:
            break
        prev, box_prev = player, 0
        player = nxt
        if pulled >= 0:
            box_prev = boxes[pulled]
            box_at[box_prev] = -1
            boxes[pulled] = prev
            box_at[prev] = pulled
        if not set_add(table, pack_state(player, boxes, scratch)):
            if pulled >= 0:
                box_at[prev] = -1
                boxes[pulled] = box_prev
                box_at[box_prev] = pulled
            player = prev
            continue
        count += 1
        table = set_reserve(table, count)
        last = pulled if pulled >= 0 else f_last[d]
        swaps = f_swaps[d] + (1 if last != f_last[d] else 0)
        d += 1
        f_action[d], f_swaps[d], f_last[d] = 0, swaps, last
        f_prev[d], f_pulled[d], f_box_prev[d] = prev, pulled, box_prev
        score = _score(player, boxes, targets, box_at, swaps, w)
        if score > best_score:
            best_score, best_player = score, player
            best_boxes[:] = boxes
    return best_score, best_player


@njit(cache=True)
def generate_level(rng, i, gparams, p_change, out_fixed, out_state):
    """Generate one level with env ``i``'s stream into ``out_fixed``/``out_state`` (``uint8[h, w]``).

    Returns ``(score, player_row, player_col)``; ``score == 0`` means every try failed.
    """
    h, w = out_fixed.shape
    nb = gparams[GP_NUM_BOXES]
    level = np.zeros((h, w), dtype=np.int64)
    targets = np.zeros(nb, dtype=np.int64)
    best_boxes = np.zeros(nb, dtype=np.int64)
    for _ in range(gparams[GP_MAX_TRIES]):
        _topology(rng, i, level, gparams[GP_GEN_STEPS], p_change)
        flat = level.ravel()
        player = _place(rng, i, flat, nb, targets)
        if player < 0:
            continue
        score, best_player = reverse_play(
            flat, w, targets, player, gparams[GP_SEARCH_DEPTH], gparams[GP_MAX_STATES], best_boxes
        )
        if score <= 0:
            continue
        for r in range(h):
            for c in range(w):
                out_fixed[r, c] = level[r, c]
                out_state[r, c] = level[r, c]
        for k in range(nb):
            out_state[best_boxes[k] // w, best_boxes[k] % w] = BOX
        out_state[best_player // w, best_player % w] = PLAYER
        return score, best_player // w, best_player % w
    return 0, 0, 0


# ---------------------------------------------------------------------------------------------------
# episodes and dynamics
# The kernel state of a SokobanCore: its rooms, counters, level pool and rules, one numba value.
SOKOBAN_STATE = KernelStateType(
    [
        ("fixed", types.uint8[:, :, ::1]),  # walls, floor, targets
        ("state", types.uint8[:, :, ::1]),  # the full room
        ("player", types.int64[:, ::1]),  # (row, col) per env
        ("steps", types.int64[::1]),
        ("on_target", types.int64[::1]),  # boxes on targets
        ("n_targets", types.int64[::1]),
        ("rng", types.uint64[::1]),
        ("pool_fixed", types.uint8[:, :, ::1]),  # levels episodes start from (empty: generate each one)
        ("pool_state", types.uint8[:, :, ::1]),
        ("generation", types.int64[::1]),  # generation parameters, indexed by GP_*
        ("p_change", types.float64),  # direction-change probability of the topology walk
        ("rewards", types.float64[::1]),  # per step, box on target, box off target, finished
        ("action_offset", types.int64),  # 1 for the 4-action space (no no-op, no pure moves)
        ("max_steps", types.int64),
        ("action_mask", types.int8[:, ::1]),  # info rows
        ("is_success", types.boolean[::1]),
        ("final_obs", types.uint8[:, :, :, ::1]),  # rows of the envs that finished on the last step
        ("final_action_mask", types.int8[:, ::1]),
        ("final_is_success", types.boolean[::1]),
        ("done_idx", types.int64[::1]),
        ("failures", types.int64[::1]),  # level generations that failed during autoreset
    ]
)


@njit(cache=True)
def sokoban_state(
    fixed,
    state,
    player,
    steps,
    on_target,
    n_targets,
    rng,
    pool_fixed,
    pool_state,
    generation,
    p_change,
    rewards,
    action_offset,
    max_steps,
    action_mask,
    is_success,
    final_obs,
    final_action_mask,
    final_is_success,
    done_idx,
    failures,
):
    """Bundle a SokobanCore's arrays (shared, not copied) and rules as its kernel state."""
    sokoban = structref.new(SOKOBAN_STATE)
    sokoban.fixed, sokoban.state, sokoban.player, sokoban.steps = fixed, state, player, steps
    sokoban.on_target, sokoban.n_targets, sokoban.rng = on_target, n_targets, rng
    sokoban.pool_fixed, sokoban.pool_state = pool_fixed, pool_state
    sokoban.generation, sokoban.p_change, sokoban.rewards = generation, p_change, rewards
    sokoban.action_offset, sokoban.max_steps = action_offset, max_steps
    sokoban.action_mask, sokoban.is_success, sokoban.final_obs = action_mask, is_success, final_obs
    sokoban.final_action_mask, sokoban.final_is_success = final_action_mask, final_is_success
    sokoban.done_idx, sokoban.failures = done_idx, failures
    return sokoban


@njit(cache=True)
def _new_episode(sokoban, i, pool_fixed, pool_state):
    """Start env ``i`` on a pool level (if there is a pool) or a freshly generated one; False on failure."""
    fixed, state, player = sokoban.fixed, sokoban.state, sokoban.player
    h, w = fixed.shape[1], fixed.shape[2]
    if pool_fixed.shape[0] > 0:
        j = rand_int(sokoban.rng, i, pool_fixed.shape[0])
        fixed[i] = pool_fixed[j]
        state[i] = pool_state[j]
    else:
        score, _, _ = generate_level(sokoban.rng, i, sokoban.generation, sokoban.p_change, fixed[i], state[i])
        if score == 0:
            return False
    sokoban.steps[i] = 0
    on_target, n_targets = sokoban.on_target, sokoban.n_targets
    on_target[i] = 0
    n_targets[i] = 0
    for r in range(h):
        for c in range(w):
            s = state[i, r, c]
            if s == PLAYER:
                player[i, 0], player[i, 1] = r, c
            on_target[i] += s == BOX_ON_TARGET
            n_targets[i] += fixed[i, r, c] == TARGET
    return True


# The hot helpers index the room directly (no small helper calls: numba's per-call array overhead would
# dominate). Rooms are enclosed by walls (the generator and parse_level guarantee it), so the player is
# never on the border and a cell two steps away is only read after the adjacent one held a box.
@njit(cache=True)
def write_info(i, state, player, on_target, n_targets, offset, masks, success):
    """Action mask (actions that change the state) and success flag of env ``i``."""
    r, c = player[i, 0], player[i, 1]
    for a in range(masks.shape[1]):
        act = a + offset
        ok = False
        if act > 0:
            d = (act - 1) % 4
            r1, c1 = r + DR[d], c + DC[d]
            v = state[i, r1, c1]
            ok = v == FLOOR or v == TARGET
            if act < 5 and (v == BOX or v == BOX_ON_TARGET):
                v2 = state[i, r1 + DR[d], c1 + DC[d]]
                ok = v2 == FLOOR or v2 == TARGET
        masks[i, a] = ok
    success[i] = on_target[i] == n_targets[i]


@njit(cache=True)
def write_obs(i, fixed, state, obs, j):
    """One-hot cell types of env ``i`` into ``obs[j]`` (``7 x h x w``: wall, floor, target, box on target,
    box, player, player on target)."""
    h, w = fixed.shape[1], fixed.shape[2]
    obs[j] = 0
    for r in range(h):
        for c in range(w):
            t = state[i, r, c]
            if t == PLAYER and fixed[i, r, c] == TARGET:
                t = PLAYER_ON_TARGET
            obs[j, t, r, c] = 1


@njit(cache=True)
def _move(i, fixed, state, player, act):
    """gym-sokoban's ``_push``/``_move`` for action id ``act`` (0-8); the change in boxes on target."""
    if act == 0:
        return 0
    d = (act - 1) % 4
    r0, c0 = player[i, 0], player[i, 1]
    r1, c1 = r0 + DR[d], c0 + DC[d]
    v = state[i, r1, c1]
    delta = 0
    if act < 5 and (v == BOX or v == BOX_ON_TARGET):
        r2, c2 = r1 + DR[d], c1 + DC[d]
        v2 = state[i, r2, c2]
        if v2 != FLOOR and v2 != TARGET:
            return 0
        state[i, r2, c2] = BOX_ON_TARGET if fixed[i, r2, c2] == TARGET else BOX
        delta = (fixed[i, r2, c2] == TARGET) - (fixed[i, r1, c1] == TARGET)
    elif v != FLOOR and v != TARGET:
        return 0
    state[i, r1, c1] = PLAYER
    state[i, r0, c0] = fixed[i, r0, c0]
    player[i, 0], player[i, 1] = r1, c1
    return delta


@njit(cache=True)
def step_kernel(sokoban, actions, autoreset, obs, rewards, terminated, truncated):
    """Advance every env one step (see the module docstring); returns the number of finished envs."""
    fixed, state, player = sokoban.fixed, sokoban.state, sokoban.player
    on_target, n_targets, steps = sokoban.on_target, sokoban.n_targets, sokoban.steps
    masks, success, offset, reward_of = (
        sokoban.action_mask,
        sokoban.is_success,
        sokoban.action_offset,
        sokoban.rewards,
    )
    max_steps = sokoban.max_steps
    ndone = 0
    for i in range(actions.shape[0]):
        delta = _move(i, fixed, state, player, actions[i] + offset)
        reward = reward_of[0]
        if delta > 0:
            reward += reward_of[1]
        elif delta < 0:
            reward += reward_of[2]
        on_target[i] += delta
        won = on_target[i] == n_targets[i]
        if won:
            reward += reward_of[3]
        steps[i] += 1
        rewards[i] = reward
        terminated[i] = won
        truncated[i] = steps[i] >= max_steps
        if won or truncated[i]:
            sokoban.done_idx[ndone] = i
            if autoreset:
                write_obs(i, fixed, state, sokoban.final_obs, ndone)
                write_info(i, state, player, on_target, n_targets, offset, masks, success)
                sokoban.final_action_mask[ndone] = masks[i]
                sokoban.final_is_success[ndone] = success[i]
                if not _new_episode(sokoban, i, sokoban.pool_fixed, sokoban.pool_state):
                    sokoban.failures[0] += 1
            ndone += 1
        write_info(i, state, player, on_target, n_targets, offset, masks, success)
        write_obs(i, fixed, state, obs, i)
    return ndone


@njit(cache=True)
def reset_kernel(sokoban, pool_fixed, pool_state, mask):
    """New episodes for the masked envs, from ``pool_*`` (or generated); returns the generation failures."""
    failures = 0
    for i in range(mask.shape[0]):
        if mask[i]:
            if not _new_episode(sokoban, i, pool_fixed, pool_state):
                failures += 1
            write_info(
                i,
                sokoban.state,
                sokoban.player,
                sokoban.on_target,
                sokoban.n_targets,
                sokoban.action_offset,
                sokoban.action_mask,
                sokoban.is_success,
            )
    return failures


@njit(cache=True)
def observe_kernel(fixed, state, obs):
    for i in range(fixed.shape[0]):
        write_obs(i, fixed, state, obs, i)


@njit(cache=True)
def generate_pool(seed_values, gparams, p_change, h, w):
    """Levels ``j = 0..P-1``, level ``j`` generated from the stream seeded with ``seed_values[j]``."""
    p = seed_values.size
    rng = np.empty(p, dtype=np.uint64)
    for j in range(p):
        rng[j] = mix64(seed_values[j])
    fixed = np.zeros((p, h, w), dtype=np.uint8)
    state = np.zeros((p, h, w), dtype=np.uint8)
    ok = np.zeros(p, dtype=np.bool_)
    for j in range(p):
        score, _, _ = generate_level(rng, j, gparams, p_change, fixed[j], state[j])
        ok[j] = score > 0
    return fixed, state, ok
