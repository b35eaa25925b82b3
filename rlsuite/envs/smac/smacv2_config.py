"""SMACv2 scenarios as data: :class:`CapabilityConfig` (race, team sizes, unit mix, start positions),
SMACv2's ``capability_config`` dict layout, the built-in ``SCENARIOS`` and their map specs.

SMACv2: Ellis et al., "SMACv2: An Improved Benchmark for Cooperative Multi-Agent Reinforcement Learning"
(arXiv 2212.07489), https://github.com/oxwhirl/smacv2. The env is :mod:`rlsuite.envs.smac.smacv2`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlsuite.envs.smac.maps import MAP_SIZE, ORDER_HUNT, Group, MapSpec

EPISODE_LIMIT = 200
UNIT_TYPE_BITS = 3
RACE_UNITS: dict[str, tuple[str, ...]] = {
    "terran": ("marine", "marauder", "medivac"),
    "protoss": ("stalker", "zealot", "colossus"),
    "zerg": ("zergling", "hydralisk", "baneling"),
}
DEFAULT_WEIGHTS = (0.45, 0.45, 0.1)
DEFAULT_EXCEPTIONS: dict[str, tuple[str, ...]] = {
    "terran": ("medivac",),
    "protoss": (),
    "zerg": ("baneling",),
}
_RACE_CODE = {"terran": "T", "protoss": "P", "zerg": "Z"}
START_MODES = ("surrounded_and_reflect", "surrounded", "reflect")
_MODE_BOTH, _MODE_SURROUNDED, _MODE_REFLECT = range(3)
# SMACv2's start_positions dist_type names → ours.
_SMACV2_POSITION_TYPES = {
    "surrounded_and_reflect": "surrounded_and_reflect",
    "surrounded": "surrounded",
    "reflect_position": "reflect",
    "reflect": "reflect",
}
SIZES = ((5, 5), (10, 10), (20, 20), (10, 11), (20, 23))
EDGE = 0.5  # spawn points are clipped to [EDGE, MAP_SIZE - EDGE]
SURROUND_OFFSET = 2.0  # SMACv2: groups stop at the centre ± 2 on their diagonal
REFLECT_GAP = 1.0  # SMACv2: allies in x∈[0, map_x/2 − 1)


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


@dataclass(frozen=True)
class CapabilityConfig:
    """One SMACv2 scenario: race, team sizes, unit mix and start-position distribution.

    ``unit_types``/``weights``/``exception_unit_types`` default to the race's SMACv2 values (empty /
    ``None``). ``p_surrounded`` is the probability of the *surrounded* layout in
    ``"surrounded_and_reflect"`` mode (SMACv2's dict gives ``p`` = probability of *reflect*).
    """

    race: str
    n_units: int
    n_enemies: int
    unit_types: tuple[str, ...] = ()
    weights: tuple[float, ...] = ()
    exception_unit_types: tuple[str, ...] | None = None
    start_positions: str = "surrounded_and_reflect"
    p_surrounded: float = 0.5

    def __post_init__(self) -> None:
        if self.race not in RACE_UNITS:
            raise ValueError(f"race must be one of {', '.join(RACE_UNITS)}; got {self.race!r}")
        for name in ("n_units", "n_enemies"):
            v = getattr(self, name)
            if not _is_int(v) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        allowed = RACE_UNITS[self.race]
        types = tuple(self.unit_types) if self.unit_types else allowed
        for t in types:
            if t not in allowed:
                raise ValueError(
                    f"unit_types: {t!r} is not a {self.race} unit of the 10gen maps; "
                    f"accepted: {', '.join(allowed)}"
                )
        if len(set(types)) != len(types):
            raise ValueError(f"unit_types must not repeat a type, got {types}")
        if self.weights:
            weights = tuple(float(w) for w in self.weights)
        elif len(types) == len(DEFAULT_WEIGHTS):
            weights = tuple(DEFAULT_WEIGHTS[allowed.index(t)] for t in types)
        else:
            raise ValueError(
                f"weights must be given when unit_types is not the race's three types "
                f"({', '.join(allowed)}); got unit_types={types}"
            )
        if len(weights) != len(types):
            raise ValueError(
                f"weights must have one entry per unit type ({len(types)}: {', '.join(types)}), "
                f"got {len(weights)}"
            )
        if any(not math.isfinite(w) or w < 0 for w in weights) or abs(sum(weights) - 1.0) > 1e-6:
            raise ValueError(f"weights must be non-negative and sum to 1, got {weights}")
        exceptions = (
            DEFAULT_EXCEPTIONS[self.race]
            if self.exception_unit_types is None
            else tuple(self.exception_unit_types)
        )
        for t in exceptions:
            if t not in types:
                raise ValueError(
                    f"exception_unit_types: {t!r} is not one of the unit_types ({', '.join(types)})"
                )
        if not any(w > 0 and t not in exceptions for t, w in zip(types, weights)):
            raise ValueError(
                "exception_unit_types: at least one unit type with a positive weight must not "
                f"be an exception type (unit_types={types}, weights={weights}, "
                f"exception_unit_types={exceptions})"
            )
        if self.start_positions not in START_MODES:
            raise ValueError(
                f"start_positions must be one of {', '.join(START_MODES)}; got {self.start_positions!r}"
            )
        p = self.p_surrounded
        if isinstance(p, bool) or not isinstance(p, (int, float, np.floating)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"p_surrounded must be a probability in [0, 1], got {p!r}")
        if self.race == "terran" and self.n_enemies < self.n_units:
            raise ValueError(
                f"n_enemies ({self.n_enemies}) < n_units ({self.n_units}) is not supported for terran: "
                "SMACv2 then has 6 + n_units actions (medivac heal targets), which the simulator's layout "
                "(6 + n_enemies) does not model"
            )
        object.__setattr__(self, "unit_types", types)
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "exception_unit_types", exceptions)
        object.__setattr__(self, "p_surrounded", float(p))

    @property
    def name(self) -> str:
        return f"10gen_{self.race}_{self.n_units}_vs_{self.n_enemies}"

    @property
    def map_type(self) -> str:
        return f"{self.race}_gen"

    def to_smacv2_dict(self) -> dict[str, Any]:
        """SMACv2's ``capability_config`` for this scenario (``from_smacv2_dict`` inverts it)."""
        dist = {
            "surrounded_and_reflect": "surrounded_and_reflect",
            "surrounded": "surrounded",
            "reflect": "reflect_position",
        }[self.start_positions]
        positions: dict[str, Any] = {
            "dist_type": dist,
            "n_enemies": self.n_enemies,
            "map_x": MAP_SIZE,
            "map_y": MAP_SIZE,
        }
        if dist == "surrounded_and_reflect":
            positions["p"] = 1.0 - self.p_surrounded
        return {
            "n_units": self.n_units,
            "n_enemies": self.n_enemies,
            "team_gen": {
                "dist_type": "weighted_teams",
                "unit_types": list(self.unit_types),
                "weights": list(self.weights),
                "exception_unit_types": list(self.exception_unit_types or ()),
                "observe": True,
            },
            "start_positions": positions,
        }


def _race_of(unit_types: list[str]) -> str:
    races = {r for t in unit_types for r, names in RACE_UNITS.items() if t in names}
    unknown = [t for t in unit_types if not any(t in names for names in RACE_UNITS.values())]
    if unknown:
        accepted = ", ".join(n for names in RACE_UNITS.values() for n in names)
        raise ValueError(
            f"team_gen.unit_types: unknown unit(s) {', '.join(map(repr, unknown))}; accepted: {accepted}"
        )
    if len(races) != 1:
        raise ValueError(
            f"team_gen.unit_types must all belong to one race (10gen maps are mirror matches), "
            f"got {unit_types}"
        )
    return races.pop()


def from_smacv2_dict(d: dict[str, Any], race: str | None = None) -> CapabilityConfig:
    """A :class:`CapabilityConfig` from SMACv2's ``capability_config`` dict (the race is inferred from
    ``team_gen.unit_types`` unless given; ``exception_unit_types`` absent means none, as in SMACv2)."""
    if not isinstance(d, dict):
        raise TypeError(f"capability_config must be a dict, got {type(d).__name__}")
    supported = ("n_units", "n_enemies", "team_gen", "start_positions")
    unknown = sorted(k for k in d if k not in supported)
    if unknown:
        raise ValueError(
            f"capability_config key(s) {', '.join(unknown)} not supported; supported: {', '.join(supported)}"
        )
    missing = [k for k in supported if k not in d]
    if missing:
        raise ValueError(f"capability_config is missing {', '.join(missing)}")
    team = d["team_gen"]
    if team.get("dist_type") != "weighted_teams":
        raise ValueError(f"team_gen.dist_type must be 'weighted_teams', got {team.get('dist_type')!r}")
    for key in ("unit_types", "weights"):
        if key not in team:
            raise ValueError(f"team_gen is missing {key!r}")
    unit_types = list(team["unit_types"])
    race = race if race is not None else _race_of(unit_types)
    pos = d["start_positions"]
    dist = pos.get("dist_type")
    if dist not in _SMACV2_POSITION_TYPES:
        raise ValueError(
            f"start_positions.dist_type must be one of {', '.join(_SMACV2_POSITION_TYPES)}; got {dist!r}"
        )
    for key in ("map_x", "map_y"):
        if pos.get(key, MAP_SIZE) != MAP_SIZE:
            raise ValueError(
                f"start_positions.{key} must be {MAP_SIZE} (the 32x32_flat map), got {pos.get(key)!r}"
            )
    if "n_enemies" in pos and pos["n_enemies"] != d["n_enemies"]:
        raise ValueError(
            f"start_positions.n_enemies ({pos['n_enemies']}) differs from n_enemies ({d['n_enemies']})"
        )
    mode = _SMACV2_POSITION_TYPES[dist]
    p_reflect = pos.get("p", 0.5) if mode == "surrounded_and_reflect" else 0.5
    if isinstance(p_reflect, bool) or not isinstance(p_reflect, (int, float)) or not 0 <= p_reflect <= 1:
        raise ValueError(f"start_positions.p must be a probability in [0, 1], got {p_reflect!r}")
    return CapabilityConfig(
        race=race,
        n_units=d["n_units"],
        n_enemies=d["n_enemies"],
        unit_types=tuple(unit_types),
        weights=tuple(team["weights"]),
        exception_unit_types=tuple(team.get("exception_unit_types", ())),
        start_positions=mode,
        p_surrounded=1.0 - float(p_reflect),
    )


SCENARIOS: dict[str, CapabilityConfig] = {
    c.name: c for c in (CapabilityConfig(race, n, m) for race in RACE_UNITS for n, m in SIZES)
}


def get_config(name: str) -> CapabilityConfig:
    if name not in SCENARIOS:
        raise ValueError(f"unknown SMACv2 scenario {name!r}; known: {', '.join(SCENARIOS)}")
    return SCENARIOS[name]


def v2_map_spec(config: CapabilityConfig) -> MapSpec:
    """The MapSpec of a scenario. The groups only give the team sizes (types and positions are drawn
    per episode); enemies hunt the allies (``ORDER_HUNT``, see the module docstring)."""
    code = _RACE_CODE[config.race]
    first = config.unit_types[0]
    return MapSpec(
        config.name,
        (Group(first, config.n_units, 8.0, 16.0),),
        (Group(first, config.n_enemies, 24.0, 16.0),),
        EPISODE_LIMIT,
        code,
        code,
        UNIT_TYPE_BITS,
        config.map_type,
        enemy_order=ORDER_HUNT,
        order_points=(),
        terrain="open",
    )
