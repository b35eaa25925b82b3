"""SMACv2-style scenarios (environments.md §1.9): per-episode random armies and start positions.

    from rlsuite.envs.smac.smacv2 import make_v2_env
    env = make_v2_env("10gen_protoss_5_vs_5", seed=0)      # any of SCENARIOS
    env = make_v2_env("10gen_terran", capability_config={...})   # SMACv2's capability_config layout

Each episode draws, from the battle's own random stream (so a seed fixes the whole sequence of armies):

* **teams** (SMACv2 ``weighted_teams``): ``n_units`` i.i.d. unit types with the race's weights (default
  0.45/0.45/0.1), the whole team redrawn while it consists only of exception types (medivac, baneling);
  the enemy team is a copy of the ally team (in creation order) plus ``n_enemies - n_units`` extra units
  drawn the same way, or the copy truncated to ``n_enemies``;
* **start positions** (``surrounded_and_reflect``; surrounded with probability ``p_surrounded``, which
  is ``1 - p`` of SMACv2's dict): *reflect* — allies uniform in x∈[0, 15), y∈[0, 32), enemy copies at
  (32 − x, y), extras uniform in x∈[16, 32); *surrounded* — allies at the centre (16, 16), enemies split
  into 1–4 groups (a uniform multinomial), each group on its own diagonal at a uniform fraction between a
  corner and the centre ± 2. Points are clipped to [0.5, 31.5];
* **spreading**: as SC2 does when several units are created at one point, each unit (allies first, in
  creation order) takes the nearest free spot to its point on a fine hexagonal lattice (free: no overlap
  with an already placed unit of the same layer, ground or air). Enemy copies in *reflect* mode are the
  exact mirror images of the spread allies;
* **agent order**: allies sorted by (SMACv2's ``*_RL`` unit-type id, x, y) — the ids are alphabetical:
  baneling < colossus < hydralisk < marauder < marine < medivac < stalker < zealot < zergling — enemies
  in creation order (copies first, then extras).

The map is SMACv2's ``32x32_flat`` (open terrain), episode limit 200, ``unit_type_bits`` 3 with the
one-hot order of SMACv2's ``get_unit_type_id`` (terran marine/marauder/medivac, protoss
stalker/zealot/colossus, zerg zergling/hydralisk/baneling). SMACv2 gives the enemy no scripted order:
the built-in computer player attacks. The simulator models this with ``ORDER_HUNT`` (each enemy attacks
the nearest ally wherever it is): an attack-move to the allies' spawn centroid would need a per-battle
order point, which ``Battles`` does not take (one set of order points per map).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from rlsuite.envs.batched import rand_float, rand_int
from rlsuite.envs.smac import units as ut
from rlsuite.envs.smac.env import StarCraft2Env
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
    """Draw teams and start positions of the battles in ``mask`` (see the module docstring)."""
    n_batch = types.shape[0]
    n_all = n_units + n_enemies
    placed = np.empty(n_all, dtype=np.int64)
    lo, hi = EDGE, map_size - EDGE
    half = map_size / 2.0
    for b in range(n_batch):
        if not mask[b]:
            continue
        # Teams: allies, then the enemy copy (or truncation) plus extras.
        _draw_team(rng, b, types, 0, n_units, type_ids, cum_w, exc)
        n_copy = min(n_units, n_enemies)
        for j in range(n_copy):
            types[b, n_units + j] = types[b, j]
        _draw_team(rng, b, types, n_units + n_copy, n_enemies - n_copy, type_ids, cum_w, exc)
        # Layout.
        if mode == _MODE_SURROUNDED:
            sur = True
        elif mode == _MODE_REFLECT:
            sur = False
        else:
            sur = rand_float(rng, b) < p_surrounded
        surrounded[b] = sur
        if sur:
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
        else:
            for u in range(n_units):
                xy[b, u, 0] = _clip(rand_float(rng, b) * (half - REFLECT_GAP), lo, hi)
                xy[b, u, 1] = _clip(rand_float(rng, b) * map_size, lo, hi)
            for u in range(n_units + n_copy, n_all):
                xy[b, u, 0] = _clip(half + rand_float(rng, b) * half, lo, hi)
                xy[b, u, 1] = _clip(rand_float(rng, b) * map_size, lo, hi)
        # Spreading (allies first), then the mirrored copies in reflect mode.
        n_placed = 0
        if spread:
            for u in range(n_units):
                _spread(xy, types, b, u, placed, n_placed, radius, air, lattice, lo, hi)
                placed[n_placed] = u
                n_placed += 1
        if not sur:
            for j in range(n_copy):
                xy[b, n_units + j, 0] = map_size - xy[b, j, 0]
                xy[b, n_units + j, 1] = xy[b, j, 1]
                placed[n_placed] = n_units + j
                n_placed += 1
        if spread:
            first = n_units if sur else n_units + n_copy
            for u in range(first, n_all):
                _spread(xy, types, b, u, placed, n_placed, radius, air, lattice, lo, hi)
                placed[n_placed] = u
                n_placed += 1
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


# ----- the single env -----------------------------------------------------------------------------
# SMACv2-only keyword arguments: accepted at the value that matches the simulator (SMAC v1 features).
_V2_NEUTRAL: dict[str, Any] = {
    "conic_fov": False,
    "obs_own_pos": False,
    "use_unit_ranges": False,
    "fully_observable": False,
    "prob_obs_enemy": 1.0,
    "action_mask": True,
    "obs_starcraft": True,
}
_V2_IGNORED = ("min_attack_range", "num_fov_actions", "kill_unit_step_mul")


def _strip_v2_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    out = dict(kwargs)
    for name, neutral in _V2_NEUTRAL.items():
        if name in out:
            value = out.pop(name)
            if value != neutral:
                raise ValueError(
                    f"SMACv2 option {name}={value!r} is not modelled by the simulator; "
                    f"only {name}={neutral!r} is accepted"
                )
    for name in _V2_IGNORED:
        out.pop(name, None)
    return out


class SMACv2Env(StarCraft2Env):
    """SMAC's ``StarCraft2Env`` on a SMACv2 scenario: a fresh army and layout at every ``reset``."""

    def __init__(self, config: CapabilityConfig, spread: bool = True, **kwargs: Any) -> None:
        spec = v2_map_spec(config)
        self.capability_config = config
        self.scenario = V2Scenario(config, spread=spread)
        super().__init__(map_name=spec, scenario=self.scenario, **_strip_v2_kwargs(kwargs))


_BASE_MAP = re.compile(r"^10gen_(terran|protoss|zerg)$")


def resolve_config(
    name_or_config: str | CapabilityConfig | dict, capability_config: CapabilityConfig | dict | None = None
) -> CapabilityConfig:
    """A scenario name, a :class:`CapabilityConfig`, SMACv2's dict, or ``"10gen_<race>"`` with
    ``capability_config`` → the :class:`CapabilityConfig`."""
    cap = capability_config
    if isinstance(name_or_config, CapabilityConfig):
        config = name_or_config
    elif isinstance(name_or_config, dict):
        config = from_smacv2_dict(name_or_config)
    elif isinstance(name_or_config, str) and _BASE_MAP.match(name_or_config):
        if cap is None:
            raise ValueError(
                f"{name_or_config!r} needs capability_config={{...}} (team sizes, unit mix, "
                f"start positions), or use one of: {', '.join(SCENARIOS)}"
            )
        race = _BASE_MAP.match(name_or_config).group(1)
        config = cap if isinstance(cap, CapabilityConfig) else from_smacv2_dict(cap, race=race)
        if config.race != race:
            raise ValueError(f"capability_config is for {config.race}, map {name_or_config!r} is {race}")
        cap = None
    elif isinstance(name_or_config, str):
        config = get_config(name_or_config)
    else:
        raise TypeError(
            "expected a scenario name, a CapabilityConfig or a capability_config dict, "
            f"got {type(name_or_config).__name__}"
        )
    if cap is not None:
        raise ValueError("capability_config= is only taken with a base map name ('10gen_<race>')")
    return config


def make_v2_env(name_or_config: str | CapabilityConfig | dict, **smac_kwargs: Any) -> SMACv2Env:
    """A SMACv2 scenario as a single SMAC-style env.

    ``name_or_config``: a name in :data:`SCENARIOS` (``"10gen_zerg_10_vs_11"``), a
    :class:`CapabilityConfig`, SMACv2's ``capability_config`` dict, or a SMACv2 map name
    (``"10gen_terran"``) together with ``capability_config={...}`` as SMACv2's wrapper takes it.
    Other keywords are SMAC's (``seed``, ``obs_last_action``...).
    """
    config = resolve_config(name_or_config, smac_kwargs.pop("capability_config", None))
    return SMACv2Env(config, **smac_kwargs)


def make_v2_vector_env(
    name_or_config: str | CapabilityConfig | dict, num_envs: int = 1, spread: bool = True, **smac_kwargs: Any
):
    """A SMACv2 scenario as :class:`~rlsuite.envs.smac.vector.SMACVectorEnv`: ``num_envs`` battles, each
    drawing its own army from its own stream at every (auto)reset."""
    from rlsuite.envs.smac.vector import SMACVectorEnv

    config = resolve_config(name_or_config, smac_kwargs.pop("capability_config", None))
    return SMACVectorEnv(
        v2_map_spec(config),
        num_envs,
        scenario=V2Scenario(config, spread=spread),
        **_strip_v2_kwargs(smac_kwargs),
    )


def make_v2_parallel_env(
    name_or_config: str | CapabilityConfig | dict, spread: bool = True, **smac_kwargs: Any
):
    """A SMACv2 scenario as the PettingZoo env (agents ``agent_<k>``: unit types change every episode)."""
    from rlsuite.envs.smac.pettingzoo_env import SMACParallelEnv

    config = resolve_config(name_or_config, smac_kwargs.pop("capability_config", None))
    return SMACParallelEnv(
        v2_map_spec(config), scenario=V2Scenario(config, spread=spread), **_strip_v2_kwargs(smac_kwargs)
    )
