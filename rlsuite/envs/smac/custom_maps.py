"""SMAC-style maps beyond SMAC's 23: define one, register it, and the families the suite ships.

    from rlsuite.envs.smac.custom_maps import custom_map, register_map
    spec = custom_map("6m_vs_4z", allies={"marine": 6}, enemies={"zealot": 4})   # derived limit, bits
    register_map(spec)        # -> get_map("6m_vs_4z") and the env id rlsuite/SMAC-6m_vs_4z-v0
    env = rlsuite.make_vec("rlsuite/SMAC-6m_vs_4z-v0", 8)

What is derived, and how (docs/smac.md, "Custom maps"), following the SMAC map whose family fits:

* **map type and unit-type bits**: the SMAC map type whose unit list holds every unit of the map
  (``marines``, ``stalkers``, ``zealots``, ``hydralisks``, ``colossus`` for one ally type against one
  enemy type, 0 bits, as 3s_vs_5z or 6h_vs_8z; ``stalkers_and_zealots`` 2 bits,
  ``colossi_stalkers_zealots`` 3, ``MMM`` 3, ``bane`` 2), else the map type ``custom`` whose one-hot
  vocabulary is the map's unit types in the global unit order (bits = their number, 0 for one type);
* **episode limit**: interpolated, by the number of units on the map, between the limits of the SMAC
  maps of the family (:data:`LIMIT_ANCHORS`), constant beyond the first and last, rounded up to 10;
* **races**: a side's race is that of its units; a side mixing races counts as Protoss when it has a
  Protoss unit (so shields are observed; units without shields read 0), else as its first unit's race;
* **layout**: ``team`` (SMAC's Team1/Team2 maps: allies created at (9, 16), enemies at (23, 16), which
  attack-move to (9, 16), on the walkable band of 8m) or ``open`` (the same points, no walls, as
  3s_vs_5z); enemies that cannot move (spine crawlers) get no order.

Custom maps play on the simulator only (no SC2Map files exist for them).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping

from rlsuite.envs.smac.maps import (
    _ALLY_TYPE_IDS,
    MAPS,
    ORDER_ATTACK_MOVE,
    ORDER_NONE,
    SMAC_MAP_NAMES,
    Group,
    MapSpec,
)
from rlsuite.envs.smac.units import TYPE_INDEX, UNIT_TYPES
from rlsuite.envs.smac_custom_table import CUSTOM_MAP_ROWS

RACE_OF_UNIT = {
    "marine": "T",
    "marauder": "T",
    "medivac": "T",
    "stalker": "P",
    "zealot": "P",
    "colossus": "P",
    "hydralisk": "Z",
    "zergling": "Z",
    "baneling": "Z",
    "spine_crawler": "Z",
}
LAYOUTS: dict[str, tuple[tuple[float, float], tuple[float, float], str]] = {
    # name: (ally point, enemy point, terrain mask)
    "team": ((9.0, 16.0), (23.0, 16.0), "8m"),
    "open": ((9.0, 16.0), (23.0, 16.0), "open"),
}
# (units on the map, episode limit) of SMAC's maps per family (environments.md-style SMAC map table).
LIMIT_ANCHORS: dict[str, tuple[tuple[int, int], ...]] = {
    "marines": ((6, 60), (11, 70), (16, 120), (17, 120), (21, 150), (50, 150), (57, 180)),
    "stalkers": ((6, 150), (7, 200), (8, 250)),  # 3s_vs_3z, 3s_vs_4z, 3s_vs_5z
    "stalkers_and_zealots": ((10, 120), (16, 150), (17, 170)),
    "colossi_stalkers_zealots": ((18, 180),),
    "MMM": ((20, 150), (22, 180)),
    "bane": ((48, 200),),
    "hydralisks": ((14, 150),),
    # no SMAC map of its own: the symmetric Team maps 2s3z, 3s5z, MMM and MMM2
    "custom": ((10, 120), (16, 150), (20, 150), (22, 180)),
}
_SINGLE_TYPE_FAMILIES = ("marines", "stalkers", "zealots", "hydralisks", "colossus")
_MULTI_TYPE_FAMILIES = ("stalkers_and_zealots", "colossi_stalkers_zealots", "MMM", "bane")
_UNIT_BITS = {"stalkers_and_zealots": 2, "colossi_stalkers_zealots": 3, "MMM": 3, "bane": 2}


def map_family(allies: Mapping[str, int], enemies: Mapping[str, int]) -> tuple[str, tuple[str, ...], int]:
    """(SMAC map type, custom one-hot vocabulary or (), unit-type bits) for two armies."""
    ally_types, enemy_types = set(allies), set(enemies)
    every = ally_types | enemy_types
    if len(ally_types) == 1 and len(enemy_types) == 1:
        (ally,) = ally_types
        for family in _SINGLE_TYPE_FAMILIES:
            if _ALLY_TYPE_IDS[family] == (ally,):
                return family, (), 0
    for family in _MULTI_TYPE_FAMILIES:
        if every <= set(_ALLY_TYPE_IDS[family]) and len(every) > 1:
            return family, (), _UNIT_BITS[family]
    names = tuple(u.name for u in UNIT_TYPES if u.name in every)
    return "custom", names, len(names) if len(names) > 1 else 0


def derive_episode_limit(family: str, n_units: int) -> int:
    """The family's SMAC limits interpolated at ``n_units`` (clamped at the ends), rounded up to 10."""
    anchors = LIMIT_ANCHORS.get(family, LIMIT_ANCHORS["custom"])
    if n_units <= anchors[0][0]:
        value = float(anchors[0][1])
    elif n_units >= anchors[-1][0]:
        value = float(anchors[-1][1])
    else:
        for (x0, y0), (x1, y1) in itertools.pairwise(anchors):
            if x0 <= n_units <= x1:
                value = y0 + (y1 - y0) * (n_units - x0) / (x1 - x0)
                break
    return int(math.ceil(value / 10.0 - 1e-9) * 10)


def side_race(units: Mapping[str, int]) -> str:
    """A side's race code: Protoss if it has a Protoss unit (shields observed), else its first unit's."""
    races = [RACE_OF_UNIT[u] for u in units]
    return "P" if "P" in races else races[0]


def custom_map(
    name: str,
    allies: Mapping[str, int],
    enemies: Mapping[str, int],
    *,
    episode_limit: int | None = None,
    layout: str = "team",
) -> MapSpec:
    """A SMAC-style map: ``allies``/``enemies`` map unit names to counts (created in the given order).

    ``episode_limit`` None derives it from the family; ``layout`` is one of :data:`LAYOUTS`. Unknown
    units, empty armies, non-positive counts or an unknown layout raise a ValueError naming them.
    """
    _check_army("allies", allies)
    _check_army("enemies", enemies)
    if layout not in LAYOUTS:
        raise ValueError(f"custom map {name!r}: layout {layout!r} is unknown; known: {', '.join(LAYOUTS)}")
    if not name or "/" in name or " " in name:
        raise ValueError(f"custom map name {name!r}: use a non-empty name without '/' or spaces")
    family, type_names, bits = map_family(allies, enemies)
    n_units = sum(allies.values()) + sum(enemies.values())
    limit = derive_episode_limit(family, n_units) if episode_limit is None else int(episode_limit)
    if limit < 1:
        raise ValueError(f"custom map {name!r}: episode_limit must be >= 1, got {episode_limit!r}")
    ally_point, enemy_point, terrain = LAYOUTS[layout]
    static = all(UNIT_TYPES[TYPE_INDEX[u]].static for u in enemies)
    return MapSpec(
        name=name,
        allies=tuple(Group(u, int(n), *ally_point) for u, n in allies.items()),
        enemies=tuple(Group(u, int(n), *enemy_point) for u, n in enemies.items()),
        episode_limit=limit,
        ally_race=side_race(allies),
        enemy_race=side_race(enemies),
        unit_type_bits=bits,
        map_type=family,
        enemy_order=ORDER_NONE if static else ORDER_ATTACK_MOVE,
        order_points=() if static else (ally_point,),
        terrain=terrain,
        type_names=type_names,
    )


def _check_army(side: str, army: Mapping[str, int]) -> None:
    if not army:
        raise ValueError(f"{side}: an army needs at least one unit, e.g. {{'marine': 3}}")
    for unit, count in army.items():
        if unit not in TYPE_INDEX:
            raise ValueError(f"{side}: unknown unit {unit!r}; known units: {', '.join(TYPE_INDEX)}")
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ValueError(f"{side}: count of {unit!r} must be an int >= 1, got {count!r}")


def register_map(spec: MapSpec, *, override: bool = False, register_env: bool = True) -> MapSpec:
    """Make ``spec`` playable by name: ``get_map(spec.name)`` and (with ``register_env``) the env id
    ``rlsuite/SMAC-<name>-v0`` in this process. SMAC's own maps cannot be replaced."""
    if spec.name in SMAC_MAP_NAMES:
        raise ValueError(f"map {spec.name!r} is a SMAC map; pick another name for a custom map")
    if spec.name in MAPS and MAPS[spec.name] != spec and not override:
        raise ValueError(f"map {spec.name!r} is already registered; pass override=True to replace it")
    MAPS[spec.name] = spec
    if register_env:
        from rlsuite.envs.registry import list_envs, register

        env_id = f"rlsuite/SMAC-{spec.name}-v0"
        if env_id not in list_envs():
            register(
                env_id,
                entry_point="rlsuite.envs.smac.pettingzoo_env:SMACParallelEnv",
                vector_entry_point="rlsuite.envs.smac.vector:SMACVectorEnv",
                multi_agent=True,
                kwargs={"map_name": spec.name},
                family="smac",
                description=f"custom SMAC-style map {spec.name} (numba simulator)",
            )
    return spec


def shipped_custom_maps() -> tuple[MapSpec, ...]:
    """The custom maps the suite ships (rlsuite.envs.smac_custom_table), as map specs."""
    return tuple(
        custom_map(
            row.name, dict(row.allies), dict(row.enemies), episode_limit=row.episode_limit, layout=row.layout
        )
        for row in CUSTOM_MAP_ROWS
    )


for _spec in shipped_custom_maps():  # their env ids are registered by rlsuite.envs.builtin
    MAPS.setdefault(_spec.name, _spec)
