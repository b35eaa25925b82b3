"""Optimal solutions: breadth-first search for Sokoban (fewest moves), Maze (shortest path) and Taxi.

* :func:`solve_sokoban` - BFS over (player cell, box cells) states, moves-optimal (every step counts,
  pushes and plain moves alike). Pushes into "dead" cells (from which no push sequence can bring a box to
  any target, ignoring other boxes) are pruned; that never removes a solution, so optimality holds.
* :func:`maze_distances` - BFS distances on a grid of walls.
* :func:`taxi_shortest_path` - BFS over Taxi's 500 states under the deterministic rules.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from numba import njit

from rlsuite.envs.gridworlds._hashset import pack_state, set_add, set_new, set_reserve, unpack_state

DIRECTION_NAMES = ("up", "down", "left", "right")
UNSOLVABLE, LIMIT_REACHED = -1, -2


@njit(cache=True)
def _live_cells(walls, targets, w):
    """Cells from which a lone box can be pushed onto some target (reverse pulls from the targets)."""
    moves = np.array([-w, w, -1, 1], dtype=np.int64)
    live = np.zeros(walls.size, dtype=np.bool_)
    queue = np.empty(walls.size, dtype=np.int64)
    tail = 0
    for t in targets:
        if not live[t]:
            live[t] = True
            queue[tail] = t
            tail += 1
    head = 0
    while head < tail:
        b = queue[head]
        head += 1
        for d in range(4):
            p = b - moves[d]  # the box came from p, pushed by a player standing at p - move
            q = p - moves[d]
            if 0 <= q < walls.size and not walls[p] and not walls[q] and not live[p]:
                live[p] = True
                queue[tail] = p
                tail += 1
    return live


@njit(cache=True)
def _grow(arr):
    bigger = np.empty(arr.size * 2, dtype=arr.dtype)
    bigger[: arr.size] = arr
    return bigger


@njit(cache=True)
def _all_on_targets(boxes, is_target):
    for b in boxes:
        if not is_target[b]:
            return False
    return True


@njit(cache=True)
def _path(parent, action, node):
    length = 0
    j = node
    while parent[j] >= 0:
        length += 1
        j = parent[j]
    out = np.empty(length, dtype=np.int64)
    j = node
    for k in range(length - 1, -1, -1):
        out[k] = action[j]
        j = parent[j]
    return out


@njit(cache=True)
def sokoban_bfs(walls, is_target, player, boxes, w, max_states):
    """``(status, actions)``: status = number of moves, -1 unsolvable, -2 ``max_states`` reached."""
    nb = boxes.size
    targets = np.flatnonzero(is_target)
    live = _live_cells(walls, targets, w)
    moves = np.array([-w, w, -1, 1], dtype=np.int64)
    scratch = np.empty(nb, dtype=np.int64)
    cur = np.empty(nb, dtype=np.int64)
    keys = np.empty(1024, dtype=np.uint64)
    parent = np.empty(1024, dtype=np.int64)
    action = np.empty(1024, dtype=np.int64)
    table = set_new()
    keys[0] = pack_state(player, boxes, scratch)
    parent[0] = -1
    set_add(table, keys[0])
    if _all_on_targets(boxes, is_target):
        return 0, np.empty(0, dtype=np.int64)
    head, tail = 0, 1
    while head < tail:
        p = unpack_state(keys[head], cur)
        for d in range(4):
            nxt = p + moves[d]
            if nxt < 0 or nxt >= walls.size or walls[nxt]:
                continue
            bi = -1
            for k in range(nb):
                if cur[k] == nxt:
                    bi = k
            if bi >= 0:
                beyond = nxt + moves[d]
                if beyond < 0 or beyond >= walls.size or walls[beyond] or not live[beyond]:
                    continue
                blocked = False
                for k in range(nb):
                    blocked |= cur[k] == beyond
                if blocked:
                    continue
                cur[bi] = beyond
                key = pack_state(nxt, cur, scratch)
                solved = _all_on_targets(cur, is_target)
                cur[bi] = nxt
            else:
                key = pack_state(nxt, cur, scratch)
                solved = False
            if not set_add(table, key):
                continue
            if tail >= max_states:
                return -2, np.empty(0, dtype=np.int64)
            if tail == keys.size:
                keys, parent, action = _grow(keys), _grow(parent), _grow(action)
            keys[tail], parent[tail], action[tail] = key, head, d
            tail += 1
            table = set_reserve(table, tail)
            if solved:
                path = _path(parent, action, tail - 1)
                return path.size, path
        head += 1
    return -1, np.empty(0, dtype=np.int64)


def solve_sokoban(fixed: np.ndarray, state: np.ndarray, max_states: int = 2_000_000) -> list[int] | None:
    """A moves-optimal solution of a Sokoban room, as directions (0 up, 1 down, 2 left, 3 right).

    ``fixed``/``state`` use gym-sokoban's cell codes (see :mod:`.sokoban_kernels`). Returns ``None`` if
    the level is unsolvable or the search met ``max_states`` states; ``[]`` if it is already solved.
    """
    status, path = _solve(fixed, state, max_states)
    return None if status < 0 else [int(a) for a in path]


def sokoban_optimal_length(fixed: np.ndarray, state: np.ndarray, max_states: int = 2_000_000) -> int:
    """The fewest moves that solve the room; -1 if unsolvable, -2 if the search met ``max_states``."""
    return int(_solve(fixed, state, max_states)[0])


def _solve(fixed: np.ndarray, state: np.ndarray, max_states: int) -> tuple[int, np.ndarray]:
    fixed = np.asarray(fixed)
    state = np.asarray(state)
    if fixed.shape != state.shape or fixed.ndim != 2:
        raise ValueError(f"fixed and state must be 2-D arrays of one shape, got {fixed.shape}, {state.shape}")
    walls = np.pad(fixed == 0, 1, constant_values=True)  # a wall border keeps flat moves in the room
    is_target = np.pad(fixed == 2, 1, constant_values=False)
    padded = np.pad(state, 1, constant_values=0)
    if walls.size > 256:
        raise ValueError(f"rooms are limited to 254 cells with the border (got {fixed.shape})")
    w = padded.shape[1]
    boxes = np.flatnonzero((padded == 3) | (padded == 4)).astype(np.int64)
    players = np.flatnonzero(padded == 5)
    if players.size != 1 or not 1 <= boxes.size <= 7 or boxes.size != int(is_target.sum()):
        raise ValueError("a room needs one player, 1-7 boxes and as many targets as boxes")
    return sokoban_bfs(walls.ravel(), is_target.ravel(), int(players[0]), boxes, w, int(max_states))


# ---------------------------------------------------------------------------------------------------
@njit(cache=True)
def bfs_grid(walls, w, start, dist):
    """BFS distances from cell ``start`` over the flat ``walls`` grid into ``dist`` (-1: unreachable)."""
    h = walls.size // w
    dist[:] = -1
    queue = np.empty(walls.size, dtype=np.int64)
    queue[0] = start
    dist[start] = 0
    head, tail = 0, 1
    while head < tail:
        cell = queue[head]
        head += 1
        r, c = cell // w, cell % w
        for d in range(4):
            rr = r + (-1 if d == 0 else (1 if d == 1 else 0))
            cc = c + (-1 if d == 2 else (1 if d == 3 else 0))
            if 0 <= rr < h and 0 <= cc < w:
                nxt = rr * w + cc
                if not walls[nxt] and dist[nxt] < 0:
                    dist[nxt] = dist[cell] + 1
                    queue[tail] = nxt
                    tail += 1


def maze_distances(walls: np.ndarray, start: tuple[int, int]) -> np.ndarray:
    """BFS step counts from ``start`` to every cell of a 2-D wall grid (``-1`` where unreachable)."""
    walls = np.ascontiguousarray(np.asarray(walls, dtype=np.bool_))
    h, w = walls.shape
    dist = np.empty(h * w, dtype=np.int64)
    bfs_grid(walls.ravel(), w, int(start[0]) * w + int(start[1]), dist)
    return dist.reshape(h, w)


# ---------------------------------------------------------------------------------------------------
def taxi_shortest_path(state: int) -> list[int] | None:
    """Fewest Taxi actions from encoded ``state`` to a successful drop-off (deterministic rules)."""
    from rlsuite.envs.gridworlds.taxi import TRANSITIONS

    next_state, _, _, terminal, _ = TRANSITIONS["dry"]
    parent: dict[int, tuple[int, int]] = {int(state): (-1, -1)}
    queue = deque([int(state)])
    while queue:
        s = queue.popleft()
        for a in range(6):
            t = int(next_state[s, a, 0])
            if terminal[s, a, 0]:
                path = [a]
                while parent[s][0] >= 0:
                    s, a_prev = parent[s]
                    path.append(a_prev)
                return path[::-1]
            if t not in parent:
                parent[t] = (s, a)
                queue.append(t)
    return None
