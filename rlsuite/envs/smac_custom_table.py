"""The custom SMAC-style maps the suite ships, as plain data (no simulator import).

Kept outside ``rlsuite.envs.smac`` so the registry can list their ids (``rlsuite/SMAC-<name>-v0``)
without loading numba; ``rlsuite.envs.smac.custom_maps`` turns each row into a ``MapSpec``
(episode limit, unit-type bits, races and layout derived per family; docs/smac.md, "Custom maps").

Families, after the cross-map sets of ODIS (Zhang et al., arXiv 2305.17198, github.com/LAMDA-RL/ODIS)
and MaskMA (arXiv 2310.11846): marines ``Nm`` and ``Nm_vs_Mm``; stalkers and zealots ``XsYz`` and their
``_vs_`` forms; stalkers kiting zealots ``4s_vs_Nz``; marine/marauder/medivac (MMM-like) teams;
colossus, hydralisk/zergling/baneling and spine-crawler maps; mixed terran/protoss teams; and
SMACv2-style armies drawn once with a fixed seed (``gen_<race>_<n>_vs_<m>_s<seed>``).

Unit codes in names: m marine, mr marauder, md medivac, s stalker, z zealot, c colossus, h hydralisk,
zg zergling, b baneling, sc spine crawler.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CustomMapRow:
    """One shipped custom map: armies per side, start layout and (optionally) a fixed episode limit."""

    name: str
    allies: tuple[tuple[str, int], ...]
    enemies: tuple[tuple[str, int], ...]
    layout: str = "team"  # "team": SMAC's Team1/Team2 band; "open": the same points, no walls
    episode_limit: int | None = None  # None: derived from the family (custom_maps.derive_episode_limit)


def _row(name: str, allies: dict[str, int], enemies: dict[str, int] | None = None, **kw) -> CustomMapRow:
    return CustomMapRow(name, tuple(allies.items()), tuple((enemies or allies).items()), **kw)


def _marines() -> list[CustomMapRow]:
    rows = [_row(f"{n}m", {"marine": n}) for n in (4, 5, 6, 7, 9, 10, 11, 12)]
    for n, m in ((4, 5), (6, 7), (7, 8), (7, 9), (9, 10), (10, 12), (13, 15)):
        rows.append(_row(f"{n}m_vs_{m}m", {"marine": n}, {"marine": m}))
    return rows


def _stalkers_zealots() -> list[CustomMapRow]:
    rows = [
        _row(f"{s}s{z}z", {"stalker": s, "zealot": z})
        for s in (1, 2, 3, 4)
        for z in (3, 4, 5, 6)
        if (s, z) not in ((2, 3), (3, 5))  # SMAC maps
    ]
    for (s, z), (es, ez) in (((3, 6), (3, 7)), ((4, 5), (4, 6)), ((2, 3), (2, 4)), ((3, 4), (3, 5))):
        rows.append(
            _row(f"{s}s{z}z_vs_{es}s{ez}z", {"stalker": s, "zealot": z}, {"stalker": es, "zealot": ez})
        )
    rows += [_row(f"4s_vs_{z}z", {"stalker": 4}, {"zealot": z}, layout="open") for z in (5, 6, 7)]
    return rows


def _terran() -> list[CustomMapRow]:
    return [
        _row("4m1mr1md", {"marine": 4, "marauder": 1, "medivac": 1}),
        _row("5m2mr1md", {"marine": 5, "marauder": 2, "medivac": 1}),
        _row("6m3mr1md", {"marine": 6, "marauder": 3, "medivac": 1}),
        _row(
            "5m2mr1md_vs_6m2mr1md",
            {"marine": 5, "marauder": 2, "medivac": 1},
            {"marine": 6, "marauder": 2, "medivac": 1},
        ),
        _row("3m2mr", {"marine": 3, "marauder": 2}),
        _row("4mr", {"marauder": 4}),
    ]


def _protoss_colossus() -> list[CustomMapRow]:
    return [
        _row("1c2s3z", {"colossus": 1, "stalker": 2, "zealot": 3}),
        _row("1c1s2z", {"colossus": 1, "stalker": 1, "zealot": 2}),
        _row("1c_vs_4zg", {"colossus": 1}, {"zergling": 4}),
        _row("2c_vs_16zg", {"colossus": 2}, {"zergling": 16}),
        _row("1c3z_vs_2s3z", {"colossus": 1, "zealot": 3}, {"stalker": 2, "zealot": 3}),
    ]


def _zerg() -> list[CustomMapRow]:
    return [
        _row("4h", {"hydralisk": 4}),
        _row("3h_vs_3z", {"hydralisk": 3}, {"zealot": 3}),
        _row("4h_vs_4z", {"hydralisk": 4}, {"zealot": 4}),
        _row("2h4zg", {"hydralisk": 2, "zergling": 4}),
        _row("6zg2b", {"zergling": 6, "baneling": 2}),
        _row("2h4zg1b", {"hydralisk": 2, "zergling": 4, "baneling": 1}),
        _row("4z_vs_8zg2b", {"zealot": 4}, {"zergling": 8, "baneling": 2}),
    ]


# SMAC's 2s_vs_1sc allows 300 steps to kill the crawler; maps against a structure use 150.
_STATIC = {"layout": "open", "episode_limit": 150}


def _spine_crawler() -> list[CustomMapRow]:
    return [
        _row("3s_vs_1sc", {"stalker": 3}, {"spine_crawler": 1}, **_STATIC),
        _row("5m_vs_1sc", {"marine": 5}, {"spine_crawler": 1}, **_STATIC),
        _row("3h_vs_1sc", {"hydralisk": 3}, {"spine_crawler": 1}, **_STATIC),
    ]


def _mixed() -> list[CustomMapRow]:
    return [
        _row("3m2s", {"marine": 3, "stalker": 2}),
        _row("3m3z", {"marine": 3, "zealot": 3}),
        _row("3m1s2z", {"marine": 3, "stalker": 1, "zealot": 2}),
        _row("2mr2s", {"marauder": 2, "stalker": 2}),
        _row("4m1md2z", {"marine": 4, "medivac": 1, "zealot": 2}),
        _row("5m_vs_2s2z", {"marine": 5}, {"stalker": 2, "zealot": 2}),
        _row("2s3z_vs_3m1mr1md", {"stalker": 2, "zealot": 3}, {"marine": 3, "marauder": 1, "medivac": 1}),
        _row("3m2s_vs_3m3z", {"marine": 3, "stalker": 2}, {"marine": 3, "zealot": 3}),
    ]


# SMACv2's race unit sets and default weights (weighted_teams; medivac/baneling never a whole team).
V2_RACE_UNITS = {
    "terran": ("marine", "marauder", "medivac"),
    "protoss": ("stalker", "zealot", "colossus"),
    "zerg": ("zergling", "hydralisk", "baneling"),
}
V2_WEIGHTS = (0.45, 0.45, 0.1)
V2_EXCEPTIONS = {"terran": ("medivac",), "protoss": (), "zerg": ("baneling",)}
V2_FIXED = tuple((race, n, m, seed) for race in V2_RACE_UNITS for n, m in ((5, 5), (5, 6)) for seed in (0, 1))


def v2_fixed_armies(race: str, n_allies: int, n_enemies: int, seed: int) -> tuple[dict, dict]:
    """One SMACv2-style draw of both armies (``weighted_teams``): i.i.d. unit types with the race's
    weights, redrawn while only exception types; the enemy copies the allies and draws any extras."""
    units, rng = V2_RACE_UNITS[race], np.random.default_rng(seed)

    def draw(count: int) -> list[str]:
        while True:
            team = [units[k] for k in rng.choice(len(units), size=count, p=V2_WEIGHTS)]
            if any(u not in V2_EXCEPTIONS[race] for u in team):
                return team

    allies = draw(n_allies)
    enemies = (
        (allies + draw(n_enemies - n_allies))[:n_enemies] if n_enemies > n_allies else allies[:n_enemies]
    )

    def count(team: list[str]) -> dict[str, int]:
        return {u: team.count(u) for u in units if u in team}

    return count(allies), count(enemies)


def _v2_fixed() -> list[CustomMapRow]:
    rows = []
    for race, n, m, seed in V2_FIXED:
        allies, enemies = v2_fixed_armies(race, n, m, seed)
        rows.append(_row(f"gen_{race}_{n}_vs_{m}_s{seed}", allies, enemies, layout="open"))
    return rows


CUSTOM_MAP_ROWS: tuple[CustomMapRow, ...] = tuple(
    _marines()
    + _stalkers_zealots()
    + _terran()
    + _protoss_colossus()
    + _zerg()
    + _spine_crawler()
    + _mixed()
    + _v2_fixed()
)
CUSTOM_MAP_NAMES: tuple[str, ...] = tuple(row.name for row in CUSTOM_MAP_ROWS)
