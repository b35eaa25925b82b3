"""SMACv2's per-episode armies and start positions, drawn by numba kernels from each battle's stream.

The rules (teams, *surrounded* and *reflect* layouts, spreading on a hexagonal lattice, agent order) are
stated in :mod:`rlsuite.envs.smac.smacv2`; :class:`V2Scenario` is what ``Battles`` calls at each reset.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from rlsuite.envs.batched import rand_float, rand_int
from rlsuite.envs.smac import units as ut
from rlsuite.envs.smac.maps import MAP_SIZE
from rlsuite.envs.smac.smacv2_config import (
    _MODE_REFLECT,
    _MODE_SURROUNDED,
    EDGE,
    RACE_UNITS,
    REFLECT_GAP,
    START_MODES,
    SURROUND_OFFSET,
    CapabilityConfig,
)


# ----- per-episode armies (numba) -----------------------------------------------------------------
def _rl_rank() -> np.ndarray:
    """SMACv2's ally ``*_RL`` unit-type ids are alphabetical; the sort key per unit-type index."""
    names = sorted(n for names in RACE_UNITS.values() for n in names)
    rank = np.full(len(ut.UNIT_TYPES), len(names), dtype=np.int64)
    for i, n in enumerate(names):
        rank[ut.TYPE_INDEX[n]] = i
    return rank


def _lattice(spacing: float = 0.25, extent: float = 8.0) -> np.ndarray:
    """Hexagonal-lattice offsets within ``extent``, nearest first (ties in a fixed order)."""
    n = int(extent / spacing) + 1
    i, j = np.meshgrid(np.arange(-n, n + 1), np.arange(-n, n + 1), indexing="ij")
    dx = ((i + 0.5 * (j % 2)) * spacing).ravel()
    dy = (j * spacing * math.sqrt(3.0) / 2.0).ravel()
    d2 = np.round(dx * dx + dy * dy, 9)
    keep = d2 <= extent * extent
    dx, dy, d2 = dx[keep], dy[keep], d2[keep]
    order = np.lexsort((dy, dx, d2))
    return np.ascontiguousarray(np.stack([dx[order], dy[order]], axis=1))


@njit(cache=True)
def _draw_team(rng, b, types, start, count, type_ids, cum_w, exc):
    """``count`` i.i.d. types into ``types[b, start:start+count]``, redrawn while all are exceptions."""
    if count <= 0:
        return
    k = cum_w.shape[0]
    while True:
        all_exc = True
        for j in range(count):
            r = rand_float(rng, b)
            c = k - 1
            for i in range(k):
                if r < cum_w[i]:
                    c = i
                    break
            types[b, start + j] = type_ids[c]
            if not exc[c]:
                all_exc = False
        if not all_exc:
            return


@njit(cache=True)
def _clip(v, lo, hi):
    return min(max(v, lo), hi)


@njit(cache=True)
def _spread(xy, types, b, u, placed, n_placed, radius, air, lattice, lo, hi):
    """Move unit ``u`` to the nearest lattice spot to its point that overlaps no placed unit of its layer."""
    t = types[b, u]
    px, py = xy[b, u, 0], xy[b, u, 1]
    for c in range(lattice.shape[0]):
        x, y = px + lattice[c, 0], py + lattice[c, 1]
        if x < lo or x > hi or y < lo or y > hi:
            continue
        free = True
        for k in range(n_placed):
            v = placed[k]
            tv = types[b, v]
            if air[tv] != air[t]:
                continue
            dx, dy = xy[b, v, 0] - x, xy[b, v, 1] - y
            reach = radius[t] + radius[tv]
            if dx * dx + dy * dy < reach * reach - 1e-9:
                free = False
                break
        if free:
            xy[b, u, 0], xy[b, u, 1] = x, y
            return
    xy[b, u, 0], xy[b, u, 1] = px, py  # no room within the lattice: the core pushes units apart


@njit(cache=True)
def _sort_allies(types, xy, b, n_units, rank):
    """Insertion sort of the ally slots by (RL unit-type id, x, y)."""
    for i in range(1, n_units):
        t, x, y = types[b, i], xy[b, i, 0], xy[b, i, 1]
        j = i - 1
        while j >= 0:
            tj = types[b, j]
            later = rank[tj] > rank[t] or (
                rank[tj] == rank[t] and (xy[b, j, 0] > x or (xy[b, j, 0] == x and xy[b, j, 1] > y))
            )
            if not later:
                break
            types[b, j + 1] = tj
            xy[b, j + 1, 0], xy[b, j + 1, 1] = xy[b, j, 0], xy[b, j, 1]
            j -= 1
        types[b, j + 1] = t
        xy[b, j + 1, 0], xy[b, j + 1, 1] = x, y


@njit(cache=True)
def _draw_armies(rng, b, types, n_units, n_enemies, type_ids, cum_w, exc):
    """Allies, then the enemy copy of them (or its truncation) plus extras; returns the copied count."""
    _draw_team(rng, b, types, 0, n_units, type_ids, cum_w, exc)
    n_copy = min(n_units, n_enemies)
    for j in range(n_copy):
        types[b, n_units + j] = types[b, j]
    _draw_team(rng, b, types, n_units + n_copy, n_enemies - n_copy, type_ids, cum_w, exc)
    return n_copy


@njit(cache=True)
def _place_surrounded(rng, b, xy, n_units, n_enemies, map_size):
    """Allies at the centre; enemies in 1-4 groups, each on its own diagonal between a corner and the
    centre ± ``SURROUND_OFFSET``."""
    lo, hi = EDGE, map_size - EDGE
    half = map_size / 2.0
    for u in range(n_units):
        xy[b, u, 0], xy[b, u, 1] = half, half
    n_groups = 1 + rand_int(rng, b, 4)
    counts = np.zeros(4, dtype=np.int64)
    for _ in range(n_enemies):
        counts[rand_int(rng, b, n_groups)] += 1
    diag = np.arange(4)
    for g in range(n_groups):  # distinct diagonals: partial Fisher-Yates
        k = g + rand_int(rng, b, 4 - g)
        diag[g], diag[k] = diag[k], diag[g]
    u = n_units
    for g in range(n_groups):
        f = rand_float(rng, b)
        d = diag[g]
        sx = -1.0 if (d == 0 or d == 1) else 1.0  # diagonals 0:(0,0) 1:(0,32) 2:(32,32) 3:(32,0)
        sy = -1.0 if (d == 0 or d == 3) else 1.0
        cx, cy = half + sx * SURROUND_OFFSET, half + sy * SURROUND_OFFSET
        kx, ky = (0.0 if sx < 0 else map_size), (0.0 if sy < 0 else map_size)
        px = _clip(cx * f + kx * (1.0 - f), lo, hi)
        py = _clip(cy * f + ky * (1.0 - f), lo, hi)
        for _ in range(counts[g]):
            xy[b, u, 0], xy[b, u, 1] = px, py
            u += 1


@njit(cache=True)
def _place_reflected(rng, b, xy, n_units, n_copy, n_all, map_size):
    """Allies uniform in the left half (less ``REFLECT_GAP``), extra enemies uniform in the right half
    (the copies are mirrored after spreading)."""
    lo, hi = EDGE, map_size - EDGE
    half = map_size / 2.0
    for u in range(n_units):
        xy[b, u, 0] = _clip(rand_float(rng, b) * (half - REFLECT_GAP), lo, hi)
        xy[b, u, 1] = _clip(rand_float(rng, b) * map_size, lo, hi)
    for u in range(n_units + n_copy, n_all):
        xy[b, u, 0] = _clip(half + rand_float(rng, b) * half, lo, hi)
        xy[b, u, 1] = _clip(rand_float(rng, b) * map_size, lo, hi)


@njit(cache=True)
def _spread_and_mirror(xy, types, b, n_units, n_copy, n_all, surrounded, spread, placed, footprint, map_size):
    """Spread the allies, mirror the enemy copies in reflect mode, then spread the other enemies.
    ``footprint`` is ``(radius per unit type, air per unit type, lattice offsets)``."""
    radius, air, lattice = footprint
    lo, hi = EDGE, map_size - EDGE
    n_placed = 0
    if spread:
        for u in range(n_units):
            _spread(xy, types, b, u, placed, n_placed, radius, air, lattice, lo, hi)
            placed[n_placed] = u
            n_placed += 1
    if not surrounded:
        for j in range(n_copy):
            xy[b, n_units + j, 0] = map_size - xy[b, j, 0]
            xy[b, n_units + j, 1] = xy[b, j, 1]
            placed[n_placed] = n_units + j
            n_placed += 1
    if spread:
        first = n_units if surrounded else n_units + n_copy
        for u in range(first, n_all):
            _spread(xy, types, b, u, placed, n_placed, radius, air, lattice, lo, hi)
            placed[n_placed] = u
            n_placed += 1


@njit(cache=True)
def fill_kernel(
    rng,
    mask,
    types,
    xy,
    surrounded,
    n_units,
    n_enemies,
    type_ids,
    cum_w,
    exc,
    mode,
    p_surrounded,
    spread,
    radius,
    air,
    rank,
    lattice,
    map_size,
):
    """Draw teams and start positions of the battles in ``mask`` (see :mod:`rlsuite.envs.smac.smacv2`)."""
    n_all = n_units + n_enemies
    placed = np.empty(n_all, dtype=np.int64)
    for b in range(types.shape[0]):
        if not mask[b]:
            continue
        n_copy = _draw_armies(rng, b, types, n_units, n_enemies, type_ids, cum_w, exc)
        if mode == _MODE_SURROUNDED:
            sur = True
        elif mode == _MODE_REFLECT:
            sur = False
        else:
            sur = rand_float(rng, b) < p_surrounded
        surrounded[b] = sur
        if sur:
            _place_surrounded(rng, b, xy, n_units, n_enemies, map_size)
        else:
            _place_reflected(rng, b, xy, n_units, n_copy, n_all, map_size)
        _spread_and_mirror(
            xy, types, b, n_units, n_copy, n_all, sur, spread, placed, (radius, air, lattice), map_size
        )
        _sort_allies(types, xy, b, n_units, rank)


class V2Scenario:
    """The per-episode army generator ``Battles`` calls at each reset (its ``scenario`` argument).

    ``spread=False`` keeps the raw SMACv2 points (units of a group stacked on one point; the core's
    spawn jitter and collisions then separate them). ``last_surrounded[b]`` tells which layout battle
    ``b`` got at its latest reset.
    """

    def __init__(self, config: CapabilityConfig, spread: bool = True) -> None:
        self.config = config
        self.spread = bool(spread)
        self.n_units, self.n_enemies = config.n_units, config.n_enemies
        self._type_ids = np.array([ut.TYPE_INDEX[t] for t in config.unit_types], dtype=np.int64)
        w = np.asarray(config.weights, dtype=np.float64)
        cum = np.cumsum(w / w.sum())
        cum[int(np.flatnonzero(w > 0)[-1]) :] = 2.0  # rounding can never fall past the last possible type
        self._cum = np.ascontiguousarray(cum)
        self._exc = np.array([t in config.exception_unit_types for t in config.unit_types], dtype=np.bool_)
        self._mode = START_MODES.index(config.start_positions)
        table = ut.unit_table()
        self._radius = np.ascontiguousarray(table[:, ut.F_RADIUS])
        self._air = np.ascontiguousarray(table[:, ut.F_AIR] > 0)
        self._rank = _rl_rank()
        self._lattice = _lattice()
        self.last_surrounded = np.zeros(0, dtype=np.bool_)

    def fill(self, rng: np.ndarray, mask: np.ndarray, types: np.ndarray, xy: np.ndarray) -> None:
        n_all = self.n_units + self.n_enemies
        if types.ndim != 2 or types.shape[1] != n_all or xy.shape != (*types.shape, 2):
            raise ValueError(
                f"{self.config.name} needs types [B, {n_all}] and xy [B, {n_all}, 2]; "
                f"got {types.shape} and {xy.shape}"
            )
        if self.last_surrounded.shape[0] != types.shape[0]:
            self.last_surrounded = np.zeros(types.shape[0], dtype=np.bool_)
        fill_kernel(
            rng,
            np.asarray(mask, dtype=np.bool_),
            types,
            xy,
            self.last_surrounded,
            self.n_units,
            self.n_enemies,
            self._type_ids,
            self._cum,
            self._exc,
            self._mode,
            self.config.p_surrounded,
            self.spread,
            self._radius,
            self._air,
            self._rank,
            self._lattice,
            float(MAP_SIZE),
        )
