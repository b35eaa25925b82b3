"""Unit data of the SMAC maps, in the simulator's time base (one tick = one SC2 game loop).

Sources: the ``*_RL`` units defined in each SMAC map (life,
shields, armour, speed, radius, attributes), the LotV weapon values (damage, bonus, cooldown, range),
and SMAC's normalisers. Conversions:

* 16 game loops = 1 "normal" second; 22.4 game loops = 1 "faster" second. One env step is 8 loops.
* Speeds are given in map units per normal second, so per loop = speed / 16 (a marine covers 1.125
  map units per env step, as in SC2).
* Weapon cooldowns are given in faster seconds, so in loops = cooldown × 22.4.
* Shields regenerate 2 per normal second after 10 normal seconds (160 loops) without damage; Zerg life
  regenerates 0.2734 per normal second; medivac energy 0.5625 per normal second; medivac heals
  9 hp per normal second at 1 energy per 3 hp.

Choices where the reference is silent (documented in docs/smac.md): the spine crawler's radius (0.875,
a 2×2 footprint), the enemy acquire range (5 map units, 10 for the spine crawler, as SMAClite), the
baneling's damage (16 + 19 vs light, the current patch; ``baneling_damage`` options can change it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LOOPS_PER_NORMAL_SECOND = 16.0
LOOPS_PER_FASTER_SECOND = 22.4

# Attribute bits.
LIGHT, ARMORED, BIOLOGICAL, MECHANICAL, MASSIVE, STRUCTURE = 1, 2, 4, 8, 16, 32

# Weapon kinds.
WEAPON_NONE, WEAPON_DIRECT, WEAPON_BEAM, WEAPON_BURST, WEAPON_HEAL = 0, 1, 2, 3, 4

MELEE_RANGE = 0.1


@dataclass(frozen=True)
class UnitType:
    """One unit type. Distances in map units, times in game loops, rates per loop."""

    name: str
    sc2_id: int  # SC2's default unit-type id (what SMAC sees for enemy units)
    health: float
    shield: float
    armor: float
    speed: float  # map units per normal second
    radius: float
    attributes: int
    air: bool
    damage: float
    bonus: float  # extra damage against ``bonus_attribute``
    bonus_attribute: int
    attacks: int  # hits per volley (zealot, colossus: 2)
    cooldown_faster_s: float
    weapon_range: float
    weapon: int
    hits_ground: bool
    hits_air: bool
    cooldown_norm: float  # SMAC's state normaliser (medivac: energy 200)
    energy_max: float = 0.0
    energy_start: float = 0.0
    life_regen: float = 0.0  # per normal second (Zerg)
    acquire_range: float = 5.0
    splash_radius: float = 0.0  # baneling burst
    static: bool = False

    @property
    def speed_per_loop(self) -> float:
        return self.speed / LOOPS_PER_NORMAL_SECOND

    @property
    def cooldown_loops(self) -> float:
        return self.cooldown_faster_s * LOOPS_PER_FASTER_SECOND


UNIT_TYPES: tuple[UnitType, ...] = (
    UnitType(
        "marine",
        48,
        45,
        0,
        0,
        2.25,
        0.375,
        LIGHT | BIOLOGICAL,
        False,
        6,
        0,
        0,
        1,
        0.61,
        5,
        WEAPON_DIRECT,
        True,
        True,
        15,
    ),
    UnitType(
        "marauder",
        51,
        125,
        0,
        1,
        2.25,
        0.5625,
        ARMORED | BIOLOGICAL,
        False,
        10,
        10,
        ARMORED,
        1,
        1.07,
        6,
        WEAPON_DIRECT,
        True,
        False,
        25,
    ),
    UnitType(
        "medivac",
        54,
        150,
        0,
        1,
        2.75,
        0.75,
        ARMORED | MECHANICAL,
        True,
        0,
        0,
        0,
        0,
        0.0,
        4,
        WEAPON_HEAL,
        False,
        False,
        200,
        energy_max=200,
        energy_start=50,
    ),
    UnitType(
        "stalker",
        74,
        80,
        80,
        1,
        2.9531,
        0.625,
        ARMORED | MECHANICAL,
        False,
        13,
        5,
        ARMORED,
        1,
        1.34,
        6,
        WEAPON_DIRECT,
        True,
        True,
        35,
    ),
    UnitType(
        "zealot",
        73,
        100,
        50,
        1,
        2.25,
        0.5,
        LIGHT | BIOLOGICAL,
        False,
        8,
        0,
        0,
        2,
        0.86,
        MELEE_RANGE,
        WEAPON_DIRECT,
        True,
        False,
        22,
    ),
    UnitType(
        "colossus",
        4,
        200,
        150,
        1,
        2.25,
        1.0,
        ARMORED | MECHANICAL | MASSIVE,
        False,
        10,
        5,
        LIGHT,
        2,
        1.07,
        7,
        WEAPON_BEAM,
        True,
        False,
        24,
    ),
    UnitType(
        "hydralisk",
        107,
        80,
        0,
        0,
        2.25,
        0.625,
        LIGHT | BIOLOGICAL,
        False,
        12,
        0,
        0,
        1,
        0.59,
        5,
        WEAPON_DIRECT,
        True,
        True,
        10,
        life_regen=0.2734,
    ),
    UnitType(
        "zergling",
        105,
        35,
        0,
        0,
        2.9531,
        0.375,
        LIGHT | BIOLOGICAL,
        False,
        5,
        0,
        0,
        1,
        0.497,
        MELEE_RANGE,
        WEAPON_DIRECT,
        True,
        False,
        11,
        life_regen=0.2734,
    ),
    UnitType(
        "baneling",
        9,
        30,
        0,
        0,
        2.5,
        0.375,
        BIOLOGICAL,
        False,
        16,
        19,
        LIGHT,
        1,
        0.0,
        0.25,
        WEAPON_BURST,
        True,
        False,
        1,
        life_regen=0.2734,
        splash_radius=2.2,
    ),
    UnitType(
        "spine_crawler",
        98,
        300,
        0,
        2,
        0.0,
        0.875,
        ARMORED | BIOLOGICAL | STRUCTURE,
        False,
        25,
        5,
        ARMORED,
        1,
        1.32,
        7,
        WEAPON_DIRECT,
        True,
        False,
        15,
        life_regen=0.2734,
        acquire_range=10.0,
        static=True,
    ),
)

TYPE_INDEX: dict[str, int] = {u.name: i for i, u in enumerate(UNIT_TYPES)}
MARINE, MARAUDER, MEDIVAC, STALKER, ZEALOT, COLOSSUS, HYDRALISK, ZERGLING, BANELING, SPINE_CRAWLER = range(
    len(UNIT_TYPES)
)

# Per-loop regeneration constants.
SHIELD_REGEN_PER_LOOP = 2.0 / LOOPS_PER_NORMAL_SECOND
SHIELD_REGEN_DELAY_LOOPS = 10.0 * LOOPS_PER_NORMAL_SECOND
ENERGY_REGEN_PER_LOOP = 0.5625 / LOOPS_PER_NORMAL_SECOND
HEAL_PER_LOOP = 9.0 / LOOPS_PER_NORMAL_SECOND
HEAL_ENERGY_PER_HP = 1.0 / 3.0


def unit_table() -> np.ndarray:
    """The unit data as one float64 array ``[n_types, N_FIELDS]`` for the numba core (columns below)."""
    table = np.zeros((len(UNIT_TYPES), N_FIELDS), dtype=np.float64)
    for i, u in enumerate(UNIT_TYPES):
        table[i, F_HEALTH] = u.health
        table[i, F_SHIELD] = u.shield
        table[i, F_ARMOR] = u.armor
        table[i, F_SPEED] = u.speed_per_loop
        table[i, F_RADIUS] = u.radius
        table[i, F_ATTR] = u.attributes
        table[i, F_AIR] = float(u.air)
        table[i, F_DAMAGE] = u.damage
        table[i, F_BONUS] = u.bonus
        table[i, F_BONUS_ATTR] = u.bonus_attribute
        table[i, F_ATTACKS] = u.attacks
        table[i, F_COOLDOWN] = u.cooldown_loops
        table[i, F_RANGE] = u.weapon_range
        table[i, F_WEAPON] = u.weapon
        table[i, F_HITS_GROUND] = float(u.hits_ground)
        table[i, F_HITS_AIR] = float(u.hits_air)
        table[i, F_ENERGY_MAX] = u.energy_max
        table[i, F_ENERGY_START] = u.energy_start
        table[i, F_REGEN] = u.life_regen / LOOPS_PER_NORMAL_SECOND
        table[i, F_ACQUIRE] = u.acquire_range
        table[i, F_SPLASH] = u.splash_radius
        table[i, F_STATIC] = float(u.static)
        table[i, F_COOLDOWN_NORM] = u.cooldown_norm
    return table


(
    F_HEALTH,
    F_SHIELD,
    F_ARMOR,
    F_SPEED,
    F_RADIUS,
    F_ATTR,
    F_AIR,
    F_DAMAGE,
    F_BONUS,
    F_BONUS_ATTR,
    F_ATTACKS,
    F_COOLDOWN,
    F_RANGE,
    F_WEAPON,
    F_HITS_GROUND,
    F_HITS_AIR,
    F_ENERGY_MAX,
    F_ENERGY_START,
    F_REGEN,
    F_ACQUIRE,
    F_SPLASH,
    F_STATIC,
    F_COOLDOWN_NORM,
) = range(23)
N_FIELDS = 23
