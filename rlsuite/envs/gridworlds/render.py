"""Renderers for the grid worlds: plain text, ANSI-coloured text and RGB arrays (numpy only).

Sokoban text uses RAGEN's symbols (``#`` wall, ``_`` floor, ``O`` target, ``X`` box, ``√`` box on target,
``P`` player, ``S`` player on target) or, with ``symbols="xsb"``, the classic ones (``#``, space, ``.``,
``$``, ``*``, ``@``, ``+``). RGB frames draw each cell as a ``tile x tile`` block.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

# Sokoban cell type (observation channel) -> symbol; types: wall, floor, target, box on target, box,
# player, player on target.
SOKOBAN_SYMBOLS = {
    "ragen": ("#", "_", "O", "√", "X", "P", "S"),
    "xsb": ("#", " ", ".", "*", "$", "@", "+"),
}
_ANSI = {
    "reset": "\x1b[0m",
    "wall": "\x1b[90m",
    "target": "\x1b[31m",
    "box": "\x1b[33m",
    "done": "\x1b[32m",
    "player": "\x1b[1;36m",
}
_SOKOBAN_ANSI = ("wall", None, "target", "done", "box", "player", "player")
# RGB colours per Sokoban cell type
_SOKOBAN_COLORS = (
    (90, 60, 40),  # wall
    (235, 225, 205),  # floor
    (235, 225, 205),  # target (floor with a red mark)
    (80, 170, 80),  # box on target
    (200, 140, 60),  # box
    (40, 90, 200),  # player
    (40, 90, 200),  # player on target
)


def sokoban_types(fixed: np.ndarray, state: np.ndarray) -> np.ndarray:
    """Cell types 0-6 (the observation channels) from gym-sokoban's ``fixed``/``state`` codes."""
    types = np.asarray(state, dtype=np.int64).copy()
    types[(types == 5) & (np.asarray(fixed) == 2)] = 6
    return types


def grid_text(types: np.ndarray, symbols: tuple[str, ...], sep: str = "") -> str:
    return "\n".join(sep.join(symbols[t] for t in row) for row in types)


def sokoban_text(fixed: np.ndarray, state: np.ndarray, symbols: str = "ragen") -> str:
    """The room as text, one line per row."""
    return grid_text(sokoban_types(fixed, state), SOKOBAN_SYMBOLS[symbols])


def _ansi_grid(types, symbols, colours) -> str:
    """Rows of cell types as text, each symbol wrapped in its type's ANSI colour (``None``: plain)."""
    lines = []
    for row in types:
        cells = []
        for t in row:
            colour = colours[t]
            cells.append(symbols[t] if colour is None else f"{_ANSI[colour]}{symbols[t]}{_ANSI['reset']}")
        lines.append("".join(cells))
    return "\n".join(lines) + "\n"


def sokoban_ansi(fixed: np.ndarray, state: np.ndarray) -> str:
    """RAGEN symbols with ANSI colours (walls grey, targets red, boxes yellow/green, player cyan)."""
    return _ansi_grid(sokoban_types(fixed, state), SOKOBAN_SYMBOLS["ragen"], _SOKOBAN_ANSI)


@lru_cache(maxsize=16)
def _tiles(kind: str, tile: int) -> np.ndarray:
    """``uint8[num_types, tile, tile, 3]`` cell images."""
    yy, xx = np.mgrid[0:tile, 0:tile] + 0.5
    centre = tile / 2.0
    disc = (yy - centre) ** 2 + (xx - centre) ** 2 <= (0.35 * tile) ** 2
    inset = (np.abs(yy - centre) <= 0.38 * tile) & (np.abs(xx - centre) <= 0.38 * tile)
    ring = inset & ~((np.abs(yy - centre) <= 0.22 * tile) & (np.abs(xx - centre) <= 0.22 * tile))
    floor = (235, 225, 205)
    if kind == "sokoban":
        tiles = np.empty((7, tile, tile, 3), dtype=np.uint8)
        for t in range(7):
            tiles[t] = floor
        tiles[0] = _SOKOBAN_COLORS[0]
        tiles[2][ring] = (200, 40, 40)
        tiles[3][inset] = _SOKOBAN_COLORS[3]
        tiles[4][inset] = _SOKOBAN_COLORS[4]
        tiles[5][disc] = _SOKOBAN_COLORS[5]
        tiles[6][ring] = (200, 40, 40)
        tiles[6][disc] = _SOKOBAN_COLORS[6]
        return tiles
    # maze: wall, floor, goal, agent, agent on goal
    tiles = np.empty((5, tile, tile, 3), dtype=np.uint8)
    for t in range(5):
        tiles[t] = floor
    tiles[0] = (50, 50, 60)
    tiles[2][inset] = (60, 180, 60)
    tiles[3][disc] = (40, 90, 200)
    tiles[4][inset] = (60, 180, 60)
    tiles[4][disc] = (40, 90, 200)
    return tiles


def tiles_to_image(types: np.ndarray, kind: str, tile: int) -> np.ndarray:
    """Compose ``types[h, w]`` into a ``uint8[h * tile, w * tile, 3]`` image."""
    h, w = types.shape
    blocks = _tiles(kind, tile)[types]  # (h, w, tile, tile, 3)
    return np.ascontiguousarray(blocks.transpose(0, 2, 1, 3, 4).reshape(h * tile, w * tile, 3))


def sokoban_rgb(fixed: np.ndarray, state: np.ndarray, tile: int = 16) -> np.ndarray:
    return tiles_to_image(sokoban_types(fixed, state), "sokoban", tile)


# ---------------------------------------------------------------------------------------------------
MAZE_SYMBOLS = ("#", "_", "G", "P", "P")  # wall, floor, goal, player, player on goal


def maze_types(walls: np.ndarray, agent: np.ndarray, goal: np.ndarray) -> np.ndarray:
    types = np.where(np.asarray(walls, dtype=bool), 0, 1).astype(np.int64)
    types[goal[0], goal[1]] = 2
    types[agent[0], agent[1]] = 4 if tuple(agent) == tuple(goal) else 3
    return types


def maze_text(walls: np.ndarray, agent: np.ndarray, goal: np.ndarray) -> str:
    return grid_text(maze_types(walls, agent, goal), MAZE_SYMBOLS)


def maze_ansi(walls: np.ndarray, agent: np.ndarray, goal: np.ndarray) -> str:
    return _ansi_grid(
        maze_types(walls, agent, goal), MAZE_SYMBOLS, ("wall", None, "done", "player", "player")
    )


def maze_rgb(walls: np.ndarray, agent: np.ndarray, goal: np.ndarray, tile: int = 16) -> np.ndarray:
    return tiles_to_image(maze_types(walls, agent, goal), "maze", tile)


# ---------------------------------------------------------------------------------------------------
_TAXI_DEPOTS = ((0, 0), (0, 4), (4, 0), (4, 3))
_TAXI_DEPOT_COLORS = ((255, 170, 170), (170, 255, 170), (255, 255, 170), (170, 170, 255))
# Interior walls: the taxi cannot cross the east edge of these (row, col) cells (Gymnasium's map).
_TAXI_EAST_WALLS = ((0, 1), (1, 1), (3, 0), (3, 2), (4, 0), (4, 2))


def taxi_rgb(decoded: tuple[int, int, int, int], tile: int = 32) -> np.ndarray:
    """Draw a Taxi state ``(row, col, passenger, destination)`` as a ``uint8[5 * tile, 5 * tile, 3]`` image:
    tinted depots, a magenta frame on the destination, the waiting passenger as a blue disc, the taxi as a
    yellow square (green while carrying the passenger), interior walls and the border in black."""
    row, col, passenger, destination = decoded
    img = np.full((5 * tile, 5 * tile, 3), 245, dtype=np.uint8)
    yy, xx = np.mgrid[0:tile, 0:tile] + 0.5
    centre = tile / 2.0
    disc = (yy - centre) ** 2 + (xx - centre) ** 2 <= (0.25 * tile) ** 2
    inset = (np.abs(yy - centre) <= 0.3 * tile) & (np.abs(xx - centre) <= 0.3 * tile)
    edge = max(1, tile // 10)
    frame = np.zeros((tile, tile), dtype=bool)
    frame[:edge], frame[-edge:], frame[:, :edge], frame[:, -edge:] = True, True, True, True

    def cell(r: int, c: int) -> np.ndarray:
        return img[r * tile : (r + 1) * tile, c * tile : (c + 1) * tile]

    for (r, c), colour in zip(_TAXI_DEPOTS, _TAXI_DEPOT_COLORS):
        cell(r, c)[:] = colour
    cell(*_TAXI_DEPOTS[destination])[frame] = (200, 0, 200)
    taxi = cell(row, col)
    taxi[inset] = (60, 170, 60) if passenger == 4 else (240, 200, 0)
    if passenger < 4:
        cell(*_TAXI_DEPOTS[passenger])[disc] = (30, 60, 220)
    for r, c in _TAXI_EAST_WALLS:
        x = (c + 1) * tile
        img[r * tile : (r + 1) * tile, x - edge : x + edge] = 0
    img[:edge], img[-edge:], img[:, :edge], img[:, -edge:] = 0, 0, 0, 0
    return img
