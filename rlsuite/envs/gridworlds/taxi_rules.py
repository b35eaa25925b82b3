"""Taxi's rules as Gymnasium's ``Taxi-v4`` defines them, built into tables for the batched core.

The 5x5 map with its walls, the depots R(0,0) G(0,4) Y(4,0) B(4,3), the state encoding
``((row * 5 + col) * 5 + passenger) * 4 + destination``, the pickup/dropoff rewards, the rainy drift
(``is_rainy`` / ``rainy_probability``) and the ``action_mask`` follow Gymnasium's
``gymnasium/envs/toy_text/taxi.py``; :func:`build_transitions` tabulates every (state, action) outcome
so that :mod:`rlsuite.envs.gridworlds.taxi` steps by table lookups.
"""

from __future__ import annotations

import numpy as np

MAP = [
    "+---------+",
    "|R: | : :G|",
    "| : | : : |",
    "| : : : : |",
    "| | : | : |",
    "|Y| : |B: |",
    "+---------+",
]
DESC = np.asarray(MAP, dtype="c")
LOCS = ((0, 0), (0, 4), (4, 0), (4, 3))
LOC_NAMES = ("R", "G", "Y", "B")
ACTION_NAMES = ("South", "North", "East", "West", "Pickup", "Dropoff")
NUM_STATES = 500
OBSERVATIONS = ("grid", "index")


def encode(row: int, col: int, passenger: int, destination: int) -> int:
    return ((row * 5 + col) * 5 + passenger) * 4 + destination


def decode(state: int) -> tuple[int, int, int, int]:
    return state // 100, (state // 20) % 5, (state // 4) % 5, state % 4


def _open(row: int, col: int) -> tuple[bool, bool]:
    """Can the taxi go east / west from (row, col)? (Gymnasium reads ':' in the map.)"""
    return DESC[1 + row, 2 * col + 2] == b":", DESC[1 + row, 2 * col] == b":"


def _pick_drop(row: int, col: int, p: int, d: int, action: int) -> tuple[int, int, bool]:
    """``(new passenger, reward, terminated)`` of pickup (4) / dropoff (5), as Gymnasium computes them."""
    loc = (row, col)
    if action == 4:
        return (4, -1, False) if p < 4 and loc == LOCS[p] else (p, -10, False)
    if loc == LOCS[d] and p == 4:
        return d, 20, True
    if loc in LOCS and p == 4:
        return LOCS.index(loc), -1, False
    return p, -10, False


def _lateral(row: int, col: int, dr: int, dc: int) -> tuple[int, int]:
    """Gymnasium's ``_calc_new_position`` (rainy drift)."""
    nr, nc = max(0, min(row + dr, 4)), max(0, min(col + dc, 4))
    if dc == 1 and DESC[1 + nr, 2 * nc] != b":":
        return row, col
    if dc == -1 and DESC[1 + nr, 2 * nc + 2] != b":":
        return row, col
    return nr, nc


_RAINY_MOVES = {  # (forward, left, right) per heading, Gymnasium's table
    0: ((1, 0), (0, 1), (0, -1)),
    1: ((-1, 0), (0, -1), (0, 1)),
    2: ((0, 1), (-1, 0), (1, 0)),
    3: ((0, -1), (1, 0), (-1, 0)),
}


def _outcomes(s: int, a: int, rainy: bool, p_rain: float) -> list[tuple[float, int, int, bool]]:
    row, col, p, d = decode(s)
    east, west = _open(row, col)
    possible = (a == 0 and row < 4) or (a == 1 and row > 0) or (a == 2 and east) or (a == 3 and west)
    if a >= 4:
        np_, reward, term = _pick_drop(row, col, p, d, a)
        return [(1.0, encode(row, col, np_, d), reward, term)]
    if not possible:
        return (
            [(1.0, s, -1, False)]
            if not rainy
            else [(p_rain, s, -1, False)] + [((1 - p_rain) / 2, s, -1, False)] * 2
        )
    (fr, fc), left, right = _RAINY_MOVES[a]
    main = encode(max(0, min(row + fr, 4)), max(0, min(col + fc, 4)), p, d)
    if not rainy:
        return [(1.0, main, -1, False)]
    lat = (1.0 - p_rain) / 2.0
    return [(p_rain, main, -1, False)] + [
        (lat, encode(*_lateral(row, col, *m), p, d), -1, False) for m in (left, right)
    ]


def action_mask(s: int) -> np.ndarray:
    """Gymnasium's ``TaxiEnv.action_mask``: ``int8[6]``, the actions that change the state."""
    row, col, p, _ = decode(s)
    east, west = _open(row, col)
    mask = np.zeros(6, dtype=np.int8)
    mask[0], mask[1] = row < 4, row > 0
    mask[2], mask[3] = col < 4 and east, col > 0 and west
    mask[4] = p < 4 and (row, col) == LOCS[p]
    mask[5] = p == 4 and (row, col) in LOCS
    return mask


def build_transitions(is_rainy: bool = False, rainy_probability: float = 0.8) -> tuple[np.ndarray, ...]:
    """``(next_state, prob, reward, terminated)`` as ``[500, 6, k]`` arrays and ``count[500, 6]`` outcomes."""
    k = 3 if is_rainy else 1
    nxt = np.zeros((NUM_STATES, 6, k), dtype=np.int64)
    prob = np.zeros((NUM_STATES, 6, k), dtype=np.float64)
    reward = np.zeros((NUM_STATES, 6, k), dtype=np.float64)
    term = np.zeros((NUM_STATES, 6, k), dtype=np.bool_)
    count = np.zeros((NUM_STATES, 6), dtype=np.int64)
    for s in range(NUM_STATES):
        for a in range(6):
            outs = _outcomes(s, a, is_rainy, rainy_probability)
            count[s, a] = len(outs)
            for j, (pr, t, r, done) in enumerate(outs):
                prob[s, a, j], nxt[s, a, j], reward[s, a, j], term[s, a, j] = pr, t, r, done
    return nxt, prob, reward, term, count


TRANSITIONS = {"dry": build_transitions(False)}
MASKS = np.stack([action_mask(s) for s in range(NUM_STATES)])
INITIAL_STATES = np.array(
    [s for s in range(NUM_STATES) if decode(s)[2] < 4 and decode(s)[2] != decode(s)[3]], dtype=np.int64
)
#: Gymnasium's ``initial_state_distrib``: uniform over the initial states, built as Gymnasium builds it.
INITIAL_DISTRIBUTION = np.zeros(NUM_STATES)
INITIAL_DISTRIBUTION[INITIAL_STATES] += 1
INITIAL_DISTRIBUTION /= INITIAL_DISTRIBUTION.sum()
