"""A growable open-addressing set of non-zero ``uint64`` keys for numba searches (generation, solvers).

Search states are packed exactly into one ``uint64`` (player cell and sorted box cells, 8 bits each), so
membership is exact: no hash collisions are possible between distinct states.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from rlsuite.envs.gridworlds._common import mix64

INITIAL_CAPACITY = 1024


@njit(cache=True)
def set_new():
    return np.zeros(INITIAL_CAPACITY, dtype=np.uint64)


@njit(cache=True)
def set_add(table, key):
    """Insert ``key`` (non-zero); ``True`` if it was not present. The caller keeps the load below 1/2."""
    mask = np.uint64(table.size - 1)
    h = mix64(key) & mask
    while True:
        v = table[h]
        if v == 0:
            table[h] = key
            return True
        if v == key:
            return False
        h = (h + np.uint64(1)) & mask


@njit(cache=True)
def set_contains(table, key):
    mask = np.uint64(table.size - 1)
    h = mix64(key) & mask
    while True:
        v = table[h]
        if v == 0:
            return False
        if v == key:
            return True
        h = (h + np.uint64(1)) & mask


@njit(cache=True)
def set_reserve(table, count):
    """``table`` itself, or a doubled copy once ``count`` keys would fill half of it."""
    if 2 * (count + 1) < table.size:
        return table
    bigger = np.zeros(table.size * 2, dtype=np.uint64)
    for v in table:
        if v != 0:
            set_add(bigger, v)
    return bigger


@njit(cache=True)
def pack_state(player, boxes, scratch):
    """``player`` then the sorted ``boxes`` (cell indices < 256), 8 bits each, into one ``uint64``."""
    nb = boxes.size
    for k in range(nb):
        scratch[k] = boxes[k]
    for k in range(1, nb):  # insertion sort: nb <= 7
        v = scratch[k]
        j = k - 1
        while j >= 0 and scratch[j] > v:
            scratch[j + 1] = scratch[j]
            j -= 1
        scratch[j + 1] = v
    key = np.uint64(player)
    for k in range(nb):
        key = (key << np.uint64(8)) | np.uint64(scratch[k])
    return key


@njit(cache=True)
def unpack_state(key, boxes):
    """Inverse of :func:`pack_state`: fills ``boxes`` (sorted) and returns the player cell."""
    nb = boxes.size
    for k in range(nb - 1, -1, -1):
        boxes[k] = np.int64(key & np.uint64(255))
        key = key >> np.uint64(8)
    return np.int64(key & np.uint64(255))
