"""SMAC's unit-level ``StarCraft2Env`` methods (unit records, type ids, ranges, terrain look-ups, visibility)
on one battle's arrays; a mixin of :class:`~rlsuite.envs.smac.interface.SMACInterface`.

The host keeps one battle in ``self._battles`` and provides ``_min_unit_type`` (SMAC's smallest agent
unit-type id, 0 before it is known), ``_unit_tags()`` (unit tags, or None for ``1 .. U``),
``pathing_grid`` / ``terrain_height`` (``[x, y]`` arrays), ``map_x`` / ``map_y``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from rlsuite.envs.smac import observe
from rlsuite.envs.smac import units as ut
from rlsuite.envs.smac.core import FS_X, FS_Y, IS_ALIVE, IS_DEAD
from rlsuite.envs.smac.records import (
    SMAC_MEDIVAC_TYPE,
    UNIT_ID_NAMES,
    Direction,
    Unit,
    ally_type_ids,
    unit_record,
    unit_records,
    unit_type_of,
)

_STOCK_TYPE_INDEX = {u.sc2_id: i for i, u in enumerate(ut.UNIT_TYPES)}
_MMM_ENEMY_ORDER = {51: 0, 48: 1}  # SMAC's MMM enemy one-hot: marauder, marine, else (medivac) 2


class SMACUnitAPI:
    """Unit records and unit-level look-ups with SMAC's names, arguments and return types."""

    _battles: Any
    _min_unit_type: int
    _previous: tuple[np.ndarray, np.ndarray] | None = None
    _unit_types: list[int] | None = None
    pathing_grid: np.ndarray | None
    terrain_height: np.ndarray | None
    map_x: int
    map_y: int

    def _unit_tags(self) -> list[int] | None:
        return None

    def _ally_ids(self) -> dict[str, int]:
        return ally_type_ids(self._battles.spec, self._min_unit_type)

    # ----- unit records -------------------------------------------------------------------------------
    def _records(self, fs: np.ndarray, ist: np.ndarray) -> tuple[dict[int, Unit], dict[int, Unit]]:
        b = self._battles
        return unit_records(fs, ist, b.table, b.layout.n_agents, self._ally_ids(), self._unit_tags())

    @property
    def agents(self) -> dict[int, Unit]:
        """SMAC's ``{agent id: unit}`` of the current battle (snapshots)."""
        return self._records(self._battles.fs[0], self._battles.ist[0])[0]

    @property
    def enemies(self) -> dict[int, Unit]:
        """SMAC's ``{enemy id: unit}`` of the current battle (snapshots)."""
        return self._records(self._battles.fs[0], self._battles.ist[0])[1]

    @property
    def previous_ally_units(self) -> dict[int, Unit] | None:
        """The agents before the last step (None after a reset, as SMAC)."""
        return None if self._previous is None else self._records(*self._previous)[0]

    @property
    def previous_enemy_units(self) -> dict[int, Unit] | None:
        return None if self._previous is None else self._records(*self._previous)[1]

    def get_unit_by_id(self, a_id: int) -> Unit:
        """Agent ``a_id``'s unit (SMAC: ``self.agents[a_id]``)."""
        b = self._battles
        n_agents = b.layout.n_agents
        if not 0 <= int(a_id) < n_agents:
            raise KeyError(f"agent id {a_id!r} is out of range [0, {n_agents})")
        tags = self._unit_tags()
        tag = tags[a_id] if tags is not None else int(a_id) + 1
        return unit_record(b.fs[0], b.ist[0], b.table, int(a_id), n_agents, self._ally_ids(), tag)

    def _remember_units(self) -> None:
        """Keep the units before a step (SMAC's ``previous_*_units``)."""
        self._previous = (self._battles.fs[0].copy(), self._battles.ist[0].copy())

    @property
    def death_tracker_ally(self) -> np.ndarray:
        """1.0 for agents whose death the reward has counted (SMAC's float array)."""
        return self._battles.ist[0, : self._battles.layout.n_agents, IS_DEAD].astype(np.float64)

    @property
    def death_tracker_enemy(self) -> np.ndarray:
        return self._battles.ist[0, self._battles.layout.n_agents :, IS_DEAD].astype(np.float64)

    @property
    def last_action(self) -> np.ndarray:
        """SMAC's one-hot ``(n_agents, n_actions)`` float array of the last actions (zeros after reset)."""
        lay = self._battles.layout
        out = np.zeros((lay.n_agents, lay.n_actions))
        last = self._battles.last_action[0]
        done = last >= 0
        out[np.flatnonzero(done), last[done]] = 1.0
        return out

    # ----- unit types -------------------------------------------------------------------------------
    def get_unit_types(self) -> list[int] | None:
        """Unit-type ids of the agents then the enemies, once a battle has started (SMAC warns before)."""
        if self._unit_types is None:
            warnings.warn("unit types have not been initialized yet, please call env.reset()", stacklevel=2)
        return self._unit_types

    def init_units(self) -> None:
        """SMAC's ``init_units`` on the arrays: the battle's units already exist after ``reset()``; this
        records their types (``get_unit_types``). ``agents`` / ``enemies`` are read from the arrays."""
        b = self._battles
        ist, n_agents, ids = b.ist[0], b.layout.n_agents, self._ally_ids()
        self._unit_types = [unit_type_of(ist, u, n_agents, ids) for u in range(ist.shape[0])]

    def update_units(self) -> int | None:
        """SMAC's game-end code of the current arrays: -1 lost, 1 won, 0 both armies dead, None on going.
        The units themselves are updated by ``step()`` (the simulator's or the game's)."""
        ist, n_agents = self._battles.ist[0], self._battles.layout.n_agents
        n_ally, n_enemy = int(ist[:n_agents, IS_ALIVE].sum()), int(ist[n_agents:, IS_ALIVE].sum())
        if (n_ally == 0 and n_enemy > 0) or self.only_medivac_left(ally=True):
            return -1
        if (n_ally > 0 and n_enemy == 0) or self.only_medivac_left(ally=False):
            return 1
        if n_ally == 0 and n_enemy == 0:
            return 0
        return None

    def only_medivac_left(self, ally: bool) -> bool:
        """SMAC's rule on MMM maps: agents — no non-medivac alive; enemies — one unit alive, a medivac."""
        if self._battles.spec.map_type != "MMM":
            return False
        units = self.agents if ally else self.enemies
        alive = [u for u in units.values() if u.health > 0]
        if ally:
            return not [u for u in alive if u.unit_type != self.medivac_id]
        others = [u for u in alive if u.unit_type != self.medivac_id]
        return len(others) == 1 and others[0].unit_type == SMAC_MEDIVAC_TYPE

    def _type_index(self, unit_type: int) -> int | None:
        """rlsuite's unit-type index of an SC2 unit-type id (agent ``*_RL`` ids and stock ids)."""
        for name, uid in self._ally_ids().items():
            if uid and uid == unit_type:
                return ut.TYPE_INDEX[name]
        return _STOCK_TYPE_INDEX.get(int(unit_type))

    def get_unit_type_id(self, unit: Unit, ally: bool) -> int:
        """The unit's one-hot index in obs and state (SMAC: ally ``unit_type - min``; enemies by map type;
        0 on single-type maps, where SMAC never asks)."""
        if ally:
            return int(unit.unit_type) - self._min_unit_type
        if self._battles.spec.map_type == "MMM":
            return _MMM_ENEMY_ORDER.get(int(unit.unit_type), 2)
        t = self._type_index(unit.unit_type)
        ids = self._battles.layout.enemy_ids
        return int(ids[t]) if t is not None and ids[t] >= 0 else 0

    # ----- ranges and maxima ----------------------------------------------------------------------------
    @staticmethod
    def distance(x1: float, y1: float, x2: float, y2: float) -> float:
        """Distance between two points."""
        return math.hypot(x2 - x1, y2 - y1)

    def unit_shoot_range(self, agent_id: int) -> int:
        """SMAC's shooting range for every agent: 6."""
        return int(observe.SHOOT_RANGE)

    def unit_sight_range(self, agent_id: int) -> int:
        """SMAC's sight range for every agent: 9."""
        return int(observe.SIGHT_RANGE)

    def unit_max_cooldown(self, unit: Unit) -> float:
        """SMAC's cooldown normaliser of an agent type (marine 15, marauder 25, medivac 200 = max energy,
        stalker 35, zealot 22, colossus 24, hydralisk 10, zergling 11, baneling 1); 15 otherwise."""
        t = next((ut.TYPE_INDEX[n] for n, uid in self._ally_ids().items() if uid == unit.unit_type), None)
        return 15 if t is None else ut.UNIT_TYPES[t].cooldown_norm

    def unit_max_shield(self, unit: Unit) -> int | None:
        """Maximal shield: stalker 80, zealot 50, colossus 150; None for units without shields (SMAC)."""
        for sc2_id, name, shield in ((74, "stalker", 80), (73, "zealot", 50), (4, "colossus", 150)):
            if unit.unit_type == sc2_id or unit.unit_type == getattr(self, f"{name}_id"):
                return shield
        return None

    # ----- terrain around a unit ------------------------------------------------------------------------
    def check_bounds(self, x: int, y: int) -> bool:
        """Whether a point is within the map bounds."""
        return 0 <= x < self.map_x and 0 <= y < self.map_y

    def can_move(self, unit: Unit, direction: Direction | int) -> bool:
        """Whether the cell half a move away in ``direction`` is in bounds and pathable (SMAC)."""
        m = self._battles.options.move_amount / 2
        x, y = unit.pos.x, unit.pos.y
        cell = {
            Direction.NORTH: (int(x), int(y + m)),
            Direction.SOUTH: (int(x), int(y - m)),
            Direction.EAST: (int(x + m), int(y)),
        }.get(Direction(direction), (int(x - m), int(y)))
        return bool(self.check_bounds(*cell) and self.pathing_grid[cell])

    def get_surrounding_points(self, unit: Unit, include_self: bool = False) -> list[tuple[int, int]]:
        """The 8 points at twice the move amount on the axes and once on the diagonals (then the unit's)."""
        x, y, ma = int(unit.pos.x), int(unit.pos.y), int(self._battles.options.move_amount)
        points = [
            (x, y + 2 * ma),
            (x, y - 2 * ma),
            (x + 2 * ma, y),
            (x - 2 * ma, y),
            (x + ma, y + ma),
            (x - ma, y - ma),
            (x + ma, y - ma),
            (x - ma, y + ma),
        ]
        return [*points, (x, y)] if include_self else points

    def get_surrounding_pathing(self, unit: Unit) -> list[int]:
        """Pathing values (1 pathable) around ``unit``; out-of-bounds points count as 1, as in SMAC."""
        points = self.get_surrounding_points(unit, include_self=False)
        return [int(self.pathing_grid[p]) if self.check_bounds(*p) else 1 for p in points]

    def get_surrounding_height(self, unit: Unit) -> list[float]:
        """Terrain heights around ``unit`` and under it; out-of-bounds points count as 1."""
        points = self.get_surrounding_points(unit, include_self=True)
        return [float(self.terrain_height[p]) if self.check_bounds(*p) else 1.0 for p in points]

    def get_visibility_matrix(self) -> np.ndarray:
        """Bool ``(n_agents, n_agents + n_enemies)``: which units each living agent sees (alive and closer
        than its sight range; agents symmetric, never themselves)."""
        fs, ist, n = self._battles.fs[0], self._battles.ist[0], self._battles.layout.n_agents
        alive = ist[:, IS_ALIVE].astype(bool)
        dist = np.hypot(fs[None, :, FS_X] - fs[:n, None, FS_X], fs[None, :, FS_Y] - fs[:n, None, FS_Y])
        visible = (dist < observe.SIGHT_RANGE) & alive[None, :] & alive[:n, None]
        visible[np.arange(n), np.arange(n)] = False
        return visible


def _unit_id_property(name: str) -> property:
    def get(self: SMACUnitAPI) -> int:
        return self._ally_ids()[name]

    return property(
        get, doc=f"SMAC's ``{name}_id``: the unit-type id of this map's agent {name}s (0 if none)"
    )


for _name in UNIT_ID_NAMES:
    setattr(SMACUnitAPI, f"{_name}_id", _unit_id_property(_name))
