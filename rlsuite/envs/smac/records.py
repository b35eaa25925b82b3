"""SMAC's unit records on the battle arrays: what ``StarCraft2Env.agents`` / ``.enemies`` hold.

oxwhirl/smac keeps pysc2 raw-unit protobufs in ``env.agents`` and ``env.enemies`` (``{id: unit}``) and code
built on SMAC reads them: ``unit.health``, ``unit.health_max``, ``unit.shield``, ``unit.pos.x``,
``unit.unit_type``, ``unit.weapon_cooldown``, ... :class:`Unit` carries those fields, read from one
battle's arrays (a snapshot: like SMAC's records, it does not change when the battle moves on).

Unit-type ids follow SMAC: enemies have SC2's stock ids (marine 48, stalker 74, ...); the agents' map-defined
``*_RL`` types are numbered ``min_unit_type + k`` in the order of the map type (marauder, marine, medivac on
MMM maps; stalker, zealot; colossus, stalker, zealot; baneling, zergling), which is how SMAC's
``_init_ally_unit_types`` derives ``marine_id`` ... ``zealot_id``. The game numbers map-defined types after
its own, so the exact base depends on the game build; the simulator uses :data:`ALLY_MIN_UNIT_TYPE`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from rlsuite.envs.smac import units as ut
from rlsuite.envs.smac.core import (
    FS_COOLDOWN,
    FS_ENERGY,
    FS_HEALTH,
    FS_SHIELD,
    FS_X,
    FS_Y,
    IS_ALIVE,
    IS_TYPE,
)
from rlsuite.envs.smac.maps import MapSpec

#: The simulator's id of the first ``*_RL`` agent type (SC2 numbers map-defined types after its ~1,970 own).
ALLY_MIN_UNIT_TYPE = 1970
#: The unit-type id attributes of SMAC's ``StarCraft2Env``, by unit name.
UNIT_ID_NAMES = (
    "marine",
    "marauder",
    "medivac",
    "hydralisk",
    "zergling",
    "baneling",
    "stalker",
    "colossus",
    "zealot",
)
SMAC_MEDIVAC_TYPE = 54  # SC2's stock medivac id (SMAC's only_medivac_left tests enemies against it)
OWNER_AGENT, OWNER_ENEMY = 1, 2
ALLIANCE_SELF, ALLIANCE_ENEMY = 1, 4  # pysc2's raw ``alliance`` values


class Direction(enum.IntEnum):
    """SMAC's move directions (``can_move(unit, direction)``)."""

    NORTH = 0
    SOUTH = 1
    EAST = 2
    WEST = 3


@dataclass
class Point:
    """A unit's position (map units), as pysc2's ``Point``."""

    x: float
    y: float
    z: float = 0.0


@dataclass
class Unit:
    """One unit as SMAC reads it from pysc2's raw observation (the fields SMAC and its wrappers use).

    A dead unit keeps its last position with ``health = 0``, as SMAC's ``update_units`` leaves it.
    """

    tag: int
    unit_type: int
    owner: int
    alliance: int
    pos: Point
    health: float
    health_max: float
    shield: float
    shield_max: float
    energy: float
    energy_max: float
    weapon_cooldown: float
    radius: float
    facing: float = 0.0


def ally_type_ids(spec: MapSpec, min_unit_type: int) -> dict[str, int]:
    """SMAC's ``_init_ally_unit_types``: unit name → id (0 for types the map does not have, as SMAC)."""
    ids = dict.fromkeys(UNIT_ID_NAMES, 0)
    if min_unit_type > 0:
        for k, name in enumerate(spec.ally_type_names()):
            ids[name] = min_unit_type + k
    return ids


def unit_type_of(ist: np.ndarray, u: int, n_agents: int, ally_ids: dict[str, int]) -> int:
    """The SC2 unit-type id of unit ``u`` of one battle (agents first)."""
    name = ut.UNIT_TYPES[int(ist[u, IS_TYPE])].name
    if u < n_agents:
        return ally_ids.get(name, 0)
    return ut.UNIT_TYPES[int(ist[u, IS_TYPE])].sc2_id


def unit_record(
    fs: np.ndarray,
    ist: np.ndarray,
    table: np.ndarray,
    u: int,
    n_agents: int,
    ally_ids: dict[str, int],
    tag: int,
) -> Unit:
    """Unit ``u`` of one battle's arrays (``fs[U, N_FS]``, ``ist[U, N_IS]``) as a :class:`Unit`."""
    t = int(ist[u, IS_TYPE])
    alive = bool(ist[u, IS_ALIVE])
    ally = u < n_agents
    return Unit(
        tag=int(tag),
        unit_type=unit_type_of(ist, u, n_agents, ally_ids),
        owner=OWNER_AGENT if ally else OWNER_ENEMY,
        alliance=ALLIANCE_SELF if ally else ALLIANCE_ENEMY,
        pos=Point(float(fs[u, FS_X]), float(fs[u, FS_Y])),
        health=float(fs[u, FS_HEALTH]) if alive else 0.0,
        health_max=float(table[t, ut.F_HEALTH]),
        shield=float(fs[u, FS_SHIELD]),
        shield_max=float(table[t, ut.F_SHIELD]),
        energy=float(fs[u, FS_ENERGY]),
        energy_max=float(table[t, ut.F_ENERGY_MAX]),
        weapon_cooldown=float(fs[u, FS_COOLDOWN]),
        radius=float(table[t, ut.F_RADIUS]),
    )


def unit_records(
    fs: np.ndarray,
    ist: np.ndarray,
    table: np.ndarray,
    n_agents: int,
    ally_ids: dict[str, int],
    tags: list[int] | None = None,
) -> tuple[dict[int, Unit], dict[int, Unit]]:
    """SMAC's ``(agents, enemies)`` dicts of one battle; ``tags`` default to ``u + 1``."""
    n_units = ist.shape[0]
    tags = tags if tags is not None else list(range(1, n_units + 1))
    records = [unit_record(fs, ist, table, u, n_agents, ally_ids, tags[u]) for u in range(n_units)]
    return dict(enumerate(records[:n_agents])), dict(enumerate(records[n_agents:]))
