"""Game data → battle arrays for the real-SC2 adapter, in pure Python (no pysc2 needed): SMAC's unit
order, the conversion of raw units into the simulator's arrays, SMAC's pathing-grid and terrain-height
decoding, and SMAC's raw unit commands as plain data (``unit_command``, also what the simulator's
``get_agent_action`` returns)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rlsuite.envs.smac import observe
from rlsuite.envs.smac.core import FS_COOLDOWN, FS_ENERGY, FS_HEALTH, FS_SHIELD, FS_X, FS_Y, IS_ALIVE, IS_TYPE
from rlsuite.envs.smac.maps import MapSpec
from rlsuite.envs.smac.units import TYPE_INDEX, UNIT_TYPES

# SMAC's raw ability ids.
ABILITY_MOVE, ABILITY_ATTACK, ABILITY_STOP, ABILITY_HEAL = 16, 23, 4, 386
# Stock SC2 unit-type id → rlsuite unit-type index (what SMAC sees for enemy units).
ENEMY_TYPE_IDS: dict[int, int] = {u.sc2_id: i for i, u in enumerate(UNIT_TYPES)}


@dataclass
class UnitOrder:
    """Which raw unit is which SMAC unit: agent tags in SMAC's agent order, enemy tags in observation
    order, and the smallest ally unit-type id (SMAC resolves the maps' custom ``*_RL`` ids from it)."""

    ally_tags: list[int]
    enemy_tags: list[int]
    ally_min_type: int
    ally_types: dict[int, int] = field(default_factory=dict)  # SC2 id → rlsuite type index


def _pos(unit) -> tuple[float, float]:
    return float(unit.pos.x), float(unit.pos.y)


def ally_type_ids(spec: MapSpec, ally_min_type: int) -> dict[int, int]:
    """SMAC's ``_init_ally_unit_types``: the map's ``*_RL`` ids are ``min_unit_type + k`` in the order of
    the map type (marauder/marine/medivac, stalker/zealot, colossus/stalker/zealot, baneling/zergling)."""
    return {ally_min_type + k: TYPE_INDEX[name] for k, name in enumerate(spec.ally_type_names())}


def _type_index(unit, table: dict[int, int], team: str) -> int:
    try:
        return table[int(unit.unit_type)]
    except KeyError:
        raise ValueError(
            f"{team} unit of SC2 type id {int(unit.unit_type)} is not one of this map's types "
            f"(known ids: {sorted(table)})"
        ) from None


def order_units(units: Sequence[Any], spec: MapSpec) -> UnitOrder:
    """SMAC's ``init_units`` order: allies (owner 1) sorted by (unit_type, x, y), enemies (owner 2) in
    observation order. Units without a ``tag`` get their index in ``units`` as tag."""
    allies = [(i, u) for i, u in enumerate(units) if int(u.owner) == 1]
    enemies = [(i, u) for i, u in enumerate(units) if int(u.owner) == 2]
    if not allies:
        raise ValueError("no ally units (owner 1) in the observation")
    allies.sort(key=lambda iu: (int(iu[1].unit_type), *_pos(iu[1])))
    min_type = min(int(u.unit_type) for _, u in allies)
    return UnitOrder(
        ally_tags=[int(getattr(u, "tag", i)) for i, u in allies],
        enemy_tags=[int(getattr(u, "tag", i)) for i, u in enemies],
        ally_min_type=min_type,
        ally_types=ally_type_ids(spec, min_type),
    )


def fill_unit_arrays(
    units: Sequence[Any], spec: MapSpec, fs: np.ndarray, ist: np.ndarray, order: UnitOrder | None = None
) -> UnitOrder:
    """Write raw units (pysc2 ``observation.raw_data.units`` records or look-alikes with ``unit_type``,
    ``owner``, ``health``, ``shield``, ``energy``, ``weapon_cooldown``, ``pos.x``, ``pos.y`` and
    optionally ``tag``) into one battle's arrays ``fs[U, N_FS]`` / ``ist[U, N_IS]`` (allies first).

    With ``order=None`` (an episode start) the units are ordered as SMAC's ``init_units`` does and the
    order is returned; later calls pass it back and units are matched by tag, a missing tag meaning a
    dead unit (SMAC's ``update_units``). Only the observed fields (position, health, shield, energy,
    weapon cooldown, type, alive) are written: the reward bookkeeping (``FS_PREV_HS``, ``IS_DEAD``) is
    left to :func:`rlsuite.envs.smac.observe.battle_outcome` and :meth:`SC2StarCraft2Env.reset`.
    """
    if order is None:
        order = order_units(units, spec)
    by_tag = {int(getattr(u, "tag", i)): u for i, u in enumerate(units) if int(u.owner) in (1, 2)}
    n_agents = len(order.ally_tags)
    tags = order.ally_tags + order.enemy_tags
    if len(tags) != ist.shape[0]:
        raise ValueError(
            f"{n_agents} allies + {len(order.enemy_tags)} enemies observed, the map has "
            f"{spec.n_agents} + {spec.n_enemies}"
        )
    for u, tag in enumerate(tags):
        unit = by_tag.get(tag)
        if unit is None:  # gone from the observation: dead
            ist[u, IS_ALIVE] = 0
            fs[u, FS_HEALTH] = 0.0
            fs[u, FS_SHIELD] = 0.0
            continue
        ally = u < n_agents
        ist[u, IS_TYPE] = _type_index(
            unit, order.ally_types if ally else ENEMY_TYPE_IDS, "ally" if ally else "enemy"
        )
        alive = float(unit.health) > 0.0
        ist[u, IS_ALIVE] = int(alive)
        fs[u, FS_X], fs[u, FS_Y] = _pos(unit)
        fs[u, FS_HEALTH] = float(unit.health) if alive else 0.0
        fs[u, FS_SHIELD] = float(unit.shield) if alive else 0.0
        fs[u, FS_ENERGY] = float(unit.energy)
        fs[u, FS_COOLDOWN] = float(unit.weapon_cooldown)
    return order


def decode_pathing_grid(data: bytes, bits_per_pixel: int, map_x: int, map_y: int) -> np.ndarray:
    """SMAC's decoding of ``game_info.start_raw.pathing_grid`` (verbatim, quirks included), as a
    C-contiguous bool array indexed ``[x, y]``."""
    raw = np.frombuffer(bytes(data), dtype=np.uint8)
    if bits_per_pixel == 1:
        bits = np.unpackbits(raw.reshape(map_x, map_y // 8), axis=1).astype(bool)  # MSB first, as SMAC
        grid = bits.T
    else:
        grid = np.invert(np.flip(raw.astype(bool).reshape(map_x, map_y).T, axis=1))
    return np.ascontiguousarray(grid, dtype=bool)


def decode_terrain_height(data: bytes, map_x: int, map_y: int) -> np.ndarray:
    """SMAC's ``terrain_height``: the height map transposed, flipped along y, divided by 255."""
    raw = np.frombuffer(bytes(data), dtype=np.uint8).astype(np.float64)
    return np.ascontiguousarray(np.flip(raw.reshape(map_x, map_y).T, axis=1) / 255.0)


def unit_command(
    action: int,
    tag: int,
    x: float,
    y: float,
    healer: bool,
    move_amount: float,
    ally_tags: Sequence[int],
    enemy_tags: Sequence[int],
) -> dict[str, Any] | None:
    """SMAC's ``get_agent_action`` as plain data: ``{"ability_id", "unit_tags", "queue_command"}`` plus
    ``target_world_space_pos`` (x, y) or ``target_unit_tag``; None for the no-op."""
    if action == 0:
        return None
    cmd: dict[str, Any] = {"unit_tags": [int(tag)], "queue_command": False}
    if action == 1:
        cmd["ability_id"] = ABILITY_STOP
    elif action <= 5:
        dx = {4: move_amount, 5: -move_amount}.get(action, 0.0)
        dy = {2: move_amount, 3: -move_amount}.get(action, 0.0)
        cmd["ability_id"] = ABILITY_MOVE
        cmd["target_world_space_pos"] = (x + dx, y + dy)
    else:
        target = action - observe.N_ACTIONS_NO_ATTACK
        cmd["ability_id"] = ABILITY_HEAL if healer else ABILITY_ATTACK
        cmd["target_unit_tag"] = int((ally_tags if healer else enemy_tags)[target])
    return cmd
