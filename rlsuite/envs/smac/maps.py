"""The SMAC map registry: armies, spawn points, enemy orders, terrain and the derived sizes.

Facts from SMAC (https://github.com/oxwhirl/smac: ``smac_maps.py`` and the map files): team
compositions, episode limits, races, ``unit_type_bits``, map types, the points each map's trigger
spawns its groups at, and the one order the enemy gets at the start. Terrain comes from the
approximate 32×32 minimap masks shipped in ``data/terrain_masks.txt``.

Unit order inside a team follows SMAC: allies sorted by (unit-type id, x, y) of the spawn formation;
enemies in creation order (the order of the map trigger's create calls).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from rlsuite.envs.smac.units import TYPE_INDEX, UNIT_TYPES

MAP_SIZE = 32

# Enemy opening orders.
ORDER_NONE, ORDER_ATTACK_MOVE, ORDER_ATTACK_MOVE_BETWEEN, ORDER_HUNT = 0, 1, 2, 3

# One-hot unit-type ids per SMAC map type (allies; enemies differ only for stalkers_and_zealots).
_ALLY_TYPE_IDS: dict[str, tuple[str, ...]] = {
    "marines": ("marine",),
    "stalkers": ("stalker",),
    "zealots": ("zealot",),
    "hydralisks": ("hydralisk",),
    "colossus": ("colossus",),
    "stalkers_and_zealots": ("stalker", "zealot"),
    "colossi_stalkers_zealots": ("colossus", "stalker", "zealot"),
    "MMM": ("marauder", "marine", "medivac"),
    "bane": ("baneling", "zergling"),
    # SMACv2 race maps (utb 3).
    "terran_gen": ("marine", "marauder", "medivac"),
    "protoss_gen": ("stalker", "zealot", "colossus"),
    "zerg_gen": ("zergling", "hydralisk", "baneling"),
}
# SMAC's quirk: for stalkers_and_zealots the enemy one-hot is ``unit_type - 73`` (zealot 0, stalker 1).
_ENEMY_TYPE_IDS: dict[str, tuple[str, ...]] = {"stalkers_and_zealots": ("zealot", "stalker")}

_RACE_NAMES = {"T": "terran", "P": "protoss", "Z": "zerg"}


@dataclass(frozen=True)
class Group:
    """``count`` units of one type created at one point."""

    unit: str
    count: int
    x: float
    y: float


@dataclass(frozen=True)
class MapSpec:
    """One SMAC map. Sizes (``n_actions``, obs/state sizes) follow from these fields and the options."""

    name: str
    allies: tuple[Group, ...]
    enemies: tuple[Group, ...]
    episode_limit: int
    ally_race: str  # "T", "P" or "Z"
    enemy_race: str
    unit_type_bits: int
    map_type: str
    enemy_order: int = ORDER_ATTACK_MOVE
    order_points: tuple[tuple[float, float], ...] = ((9.0, 16.0),)
    terrain: str = ""  # mask name in data/terrain_masks.txt ("" = the map's own name, "open" = no walls)
    # The one-hot unit-type vocabulary of a custom map (map_type "custom"; rlsuite.envs.smac.custom_maps),
    # in one-hot column order, for both sides; empty: the SMAC map type's own lists.
    type_names: tuple[str, ...] = ()

    @property
    def n_agents(self) -> int:
        return sum(g.count for g in self.allies)

    @property
    def n_enemies(self) -> int:
        return sum(g.count for g in self.enemies)

    @property
    def n_actions(self) -> int:
        return 6 + self.n_enemies

    @property
    def shield_bits_ally(self) -> int:
        return int(self.ally_race == "P")

    @property
    def shield_bits_enemy(self) -> int:
        return int(self.enemy_race == "P")

    def ally_type_names(self) -> tuple[str, ...]:
        return self.type_names or _ALLY_TYPE_IDS[self.map_type]

    def enemy_type_names(self) -> tuple[str, ...]:
        return self.type_names or _ENEMY_TYPE_IDS.get(self.map_type, _ALLY_TYPE_IDS[self.map_type])


def _mirror(groups: tuple[Group, ...], x: float, y: float) -> tuple[Group, ...]:
    return tuple(Group(g.unit, g.count, x, y) for g in groups)


def _team_map(
    name: str,
    allies: dict[str, int],
    enemies: dict[str, int],
    limit: int,
    races: str,
    utb: int,
    map_type: str,
) -> MapSpec:
    """The "Team 1 / Team 2" maps: allies at (9, 16), enemies at (23, 16) attack-moving to (9, 16)."""
    ally_groups = tuple(Group(u, n, 9.0, 16.0) for u, n in allies.items())
    enemy_groups = tuple(Group(u, n, 23.0, 16.0) for u, n in enemies.items())
    return MapSpec(name, ally_groups, enemy_groups, limit, races[0], races[-1], utb, map_type)


_MMM = {"marine": 7, "marauder": 2, "medivac": 1}

_MAPS: tuple[MapSpec, ...] = (
    _team_map("3m", {"marine": 3}, {"marine": 3}, 60, "TvT", 0, "marines"),
    _team_map("8m", {"marine": 8}, {"marine": 8}, 120, "TvT", 0, "marines"),
    _team_map("25m", {"marine": 25}, {"marine": 25}, 150, "TvT", 0, "marines"),
    _team_map("5m_vs_6m", {"marine": 5}, {"marine": 6}, 70, "TvT", 0, "marines"),
    _team_map("8m_vs_9m", {"marine": 8}, {"marine": 9}, 120, "TvT", 0, "marines"),
    _team_map("10m_vs_11m", {"marine": 10}, {"marine": 11}, 150, "TvT", 0, "marines"),
    _team_map("27m_vs_30m", {"marine": 27}, {"marine": 30}, 180, "TvT", 0, "marines"),
    _team_map("MMM", _MMM, _MMM, 150, "TvT", 3, "MMM"),
    _team_map("MMM2", _MMM, {"marine": 8, "marauder": 3, "medivac": 1}, 180, "TvT", 3, "MMM"),
    _team_map(
        "2s3z",
        {"stalker": 2, "zealot": 3},
        {"stalker": 2, "zealot": 3},
        120,
        "PvP",
        2,
        "stalkers_and_zealots",
    ),
    _team_map(
        "3s5z",
        {"stalker": 3, "zealot": 5},
        {"stalker": 3, "zealot": 5},
        150,
        "PvP",
        2,
        "stalkers_and_zealots",
    ),
    _team_map(
        "3s5z_vs_3s6z",
        {"stalker": 3, "zealot": 5},
        {"stalker": 3, "zealot": 6},
        170,
        "PvP",
        2,
        "stalkers_and_zealots",
    ),
    _team_map("3s_vs_3z", {"stalker": 3}, {"zealot": 3}, 150, "PvP", 0, "stalkers"),
    _team_map("3s_vs_4z", {"stalker": 3}, {"zealot": 4}, 200, "PvP", 0, "stalkers"),
    _team_map("3s_vs_5z", {"stalker": 3}, {"zealot": 5}, 250, "PvP", 0, "stalkers"),
    _team_map(
        "1c3s5z",
        {"colossus": 1, "stalker": 3, "zealot": 5},
        {"colossus": 1, "stalker": 3, "zealot": 5},
        180,
        "PvP",
        3,
        "colossi_stalkers_zealots",
    ),
    MapSpec(
        "2m_vs_1z",
        (Group("marine", 1, 13.0, 12.0), Group("marine", 1, 19.0, 12.0)),
        (Group("zealot", 1, 16.0, 19.0),),
        150,
        "T",
        "P",
        0,
        "marines",
        enemy_order=ORDER_ATTACK_MOVE_BETWEEN,
        order_points=((13.0, 12.0), (19.0, 12.0)),
    ),
    MapSpec(
        "corridor",
        (Group("zealot", 6, 19.0397, 19.1198),),
        (Group("zergling", 24, 27.91, 28.24),),
        400,
        "P",
        "Z",
        0,
        "zealots",
        order_points=((4.47, 4.3298),),
    ),
    MapSpec(
        "6h_vs_8z",
        (Group("hydralisk", 6, 14.5998, 9.49),),
        (Group("zealot", 8, 14.41, 16.7597),),
        150,
        "Z",
        "P",
        0,
        "hydralisks",
        order_points=((14.5998, 9.49),),
    ),
    MapSpec(
        "2s_vs_1sc",
        (Group("stalker", 1, 11.1208, 10.338), Group("stalker", 1, 16.976, 10.3662)),
        (Group("spine_crawler", 1, 13.92, 20.0397),),
        300,
        "P",
        "Z",
        0,
        "stalkers",
        enemy_order=ORDER_NONE,
        order_points=(),
    ),
    MapSpec(
        "so_many_baneling",
        (Group("zealot", 7, 11.469, 12.0234),),
        (Group("baneling", 32, 27.91, 28.24),),
        100,
        "P",
        "Z",
        0,
        "zealots",
        order_points=((4.47, 4.3298),),
    ),
    MapSpec(
        "bane_vs_bane",
        (Group("zergling", 20, 16.0, 11.0), Group("baneling", 4, 16.0, 8.0)),
        (Group("zergling", 20, 16.0, 21.0), Group("baneling", 4, 16.0, 24.0)),
        200,
        "Z",
        "Z",
        2,
        "bane",
        order_points=((16.0, 8.0),),
    ),
    MapSpec(
        "2c_vs_64zg",
        (Group("colossus", 2, 16.0, 16.0),),
        (Group("zergling", 64, 16.0, 9.0),),
        400,
        "P",
        "Z",
        0,
        "colossus",
        enemy_order=ORDER_HUNT,
        order_points=(),
    ),
)

# Every playable map: SMAC's 23, and the custom ones added by rlsuite.envs.smac.custom_maps.register_map.
MAPS: dict[str, MapSpec] = {m.name: m for m in _MAPS}
SMAC_MAP_NAMES: tuple[str, ...] = tuple(m.name for m in _MAPS)  # the original SMAC maps


def get_map(name: str) -> MapSpec:
    """The spec of a SMAC (or registered custom) map; an unknown name lists the closest known ones."""
    if name in MAPS:
        return MAPS[name]
    close = difflib.get_close_matches(name, list(MAPS), n=3, cutoff=0.4)
    hint = f" (closest: {', '.join(close)})" if close else ""
    raise ValueError(f"unknown SMAC map {name!r}{hint}; known maps: {', '.join(MAPS)}")


@cache
def _all_masks() -> dict[str, np.ndarray]:
    text = resources.files("rlsuite.envs.smac").joinpath("data/terrain_masks.txt").read_text()
    masks: dict[str, list[str]] = {}
    current = ""
    for line in text.splitlines():
        if line.startswith("== "):
            current = line[3:].strip()
            masks[current] = []
        elif line and not line.startswith("#"):
            masks[current].append(line)
    grids = {}
    for name, rows in masks.items():
        walk = np.array([[c == "_" for c in row] for row in rows], dtype=bool)  # [row, col], row 0 = top
        grids[name] = np.ascontiguousarray(walk[::-1].T)  # [x, y], y up
    return grids


def pathing_grid(spec: MapSpec) -> np.ndarray:
    """Walkable cells as a bool array indexed ``[x, y]`` (SMAC's ``pathing_grid`` orientation)."""
    if spec.terrain == "open":
        return np.ones((MAP_SIZE, MAP_SIZE), dtype=bool)
    grid = _all_masks()[spec.terrain or spec.name]
    return grid.copy()


def race_name(code: str) -> str:
    return _RACE_NAMES[code]


def formation(groups: tuple[Group, ...], grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spawn positions for groups created at points: the engine's spreading, as a greedy packing.

    Each unit takes the nearest free spot to its group's point on a fine hexagonal lattice: free means
    pathable and not overlapping an already placed ground unit (air units only avoid each other).
    Returns (unit type indices, positions [n, 2]) in creation order.
    """
    types: list[int] = []
    positions: list[tuple[float, float]] = []
    for group in groups:
        candidates = _lattice_around(group.x, group.y)
        unit = UNIT_TYPES[TYPE_INDEX[group.unit]]
        for _ in range(group.count):
            for cx, cy in candidates:
                if _spot_free(cx, cy, unit.radius, unit.air, types, positions, grid):
                    types.append(TYPE_INDEX[group.unit])
                    positions.append((cx, cy))
                    break
            else:  # pragma: no cover - the lattice always has room on 32×32 maps
                raise RuntimeError(f"no room to spawn {group.unit} near ({group.x}, {group.y})")
    return np.array(types, dtype=np.int64), np.array(positions, dtype=np.float64).reshape(-1, 2)


@cache
def _lattice_around(x: float, y: float, spacing: float = 0.25, extent: float = 6.0) -> list:
    offsets = []
    n = int(extent / spacing)
    for i in range(-n, n + 1):
        for j in range(-n, n + 1):
            dx = (i + 0.5 * (j % 2)) * spacing
            dy = j * spacing * 0.8660254037844386
            offsets.append((dx * dx + dy * dy, round(dx, 6), round(dy, 6)))
    offsets.sort()
    return [(x + dx, y + dy) for _, dx, dy in offsets]


def _spot_free(x, y, radius, air, types, positions, grid) -> bool:
    if not (0 <= x < MAP_SIZE and 0 <= y < MAP_SIZE) or not grid[int(x), int(y)]:
        return False
    for t, (px, py) in zip(types, positions):
        other = UNIT_TYPES[t]
        if other.air != air:
            continue
        if (px - x) ** 2 + (py - y) ** 2 < (radius + other.radius) ** 2 - 1e-9:
            return False
    return True


def ally_order(spec: MapSpec, types: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """SMAC's agent order: sorted by (unit-type id, x, y)."""
    type_ids = {TYPE_INDEX[n]: i for i, n in enumerate(spec.ally_type_names())}
    keys = [(type_ids.get(int(t), 0), float(p[0]), float(p[1])) for t, p in zip(types, positions)]
    return np.array(sorted(range(len(keys)), key=keys.__getitem__), dtype=np.int64)


def type_onehot_ids(spec: MapSpec, ally: bool) -> np.ndarray:
    """Per unit-type index, its one-hot column in obs/state (−1 where the map has no such unit)."""
    names = spec.ally_type_names() if ally else spec.enemy_type_names()
    ids = np.full(len(UNIT_TYPES), -1, dtype=np.int64)
    if spec.unit_type_bits:
        for i, n in enumerate(names):
            ids[TYPE_INDEX[n]] = i
    return ids
