"""Custom SMAC-style maps (rlsuite.envs.smac.custom_maps): built as specified, registered, playable."""

from __future__ import annotations

import numpy as np
import pytest

import rlsuite
from rlsuite.envs.smac import units as ut
from rlsuite.envs.smac.battle import SMACOptions, make_layout
from rlsuite.envs.smac.core import IS_TYPE
from rlsuite.envs.smac.custom_maps import (
    custom_map,
    derive_episode_limit,
    map_family,
    register_map,
    shipped_custom_maps,
)
from rlsuite.envs.smac.maps import MAPS, SMAC_MAP_NAMES, get_map
from rlsuite.envs.smac.vector import SMACVectorEnv
from rlsuite.envs.smac_custom_table import CUSTOM_MAP_NAMES, v2_fixed_armies


def _counts(env: SMACVectorEnv, lo: int, hi: int) -> dict[str, int]:
    types = env.battles.ist[0, lo:hi, IS_TYPE]
    names = [ut.UNIT_TYPES[t].name for t in types]
    return {n: names.count(n) for n in dict.fromkeys(names)}


@pytest.mark.parametrize(
    ("name", "allies", "enemies"),
    [
        ("7m_vs_9m", {"marine": 7}, {"marine": 9}),
        ("3s6z_vs_3s7z", {"stalker": 3, "zealot": 6}, {"stalker": 3, "zealot": 7}),
        ("5m2mr1md", {"marine": 5, "marauder": 2, "medivac": 1}, {"marine": 5, "marauder": 2, "medivac": 1}),
        ("2s3z_vs_3m1mr1md", {"stalker": 2, "zealot": 3}, {"marine": 3, "marauder": 1, "medivac": 1}),
        ("4s_vs_7z", {"stalker": 4}, {"zealot": 7}),
    ],
)
def test_shipped_map_is_built_as_specified(name, allies, enemies):
    env = SMACVectorEnv(name, 2, entity_features=True)
    env.reset(seed=0)
    n, m = sum(allies.values()), sum(enemies.values())
    assert (env.n_agents, env.n_enemies, env.n_actions) == (n, m, 6 + m)
    assert sorted(_counts(env, 0, n).items()) == sorted(allies.items())
    assert sorted(_counts(env, n, n + m).items()) == sorted(enemies.items())
    # spawned around the layout's points: allies near (9, 16), enemies near (23, 16)
    xy = env.battles.fs[0, :, :2]
    assert np.abs(xy[:n] - [9.0, 16.0]).max() < 4.0 and np.abs(xy[n:] - [23.0, 16.0]).max() < 4.0
    spec = env.team_spec
    assert spec.entities.n_entities == n + m and spec.episode_limit == get_map(name).episode_limit
    assert rlsuite.spec(f"rlsuite/SMAC-{name}-v0").multi_agent


def test_sizes_follow_smac_formulas_and_agree_with_the_arrays():
    """obs/state sizes from SMAC's formulas match the arrays for every shipped map up to 15 per side."""
    for spec in shipped_custom_maps():
        assert spec.n_agents <= 15 and spec.n_enemies <= 16
        lay = make_layout(spec, SMACOptions())
        utb, sa, se = spec.unit_type_bits, spec.shield_bits_ally, spec.shield_bits_enemy
        nf_en, nf_al = 4 + utb + 1 + se, 4 + utb + 1 + sa
        assert lay.obs_size == 4 + spec.n_enemies * nf_en + (spec.n_agents - 1) * nf_al + utb + 1 + sa
        state = (
            spec.n_agents * (4 + sa + utb) + spec.n_enemies * (3 + se + utb) + spec.n_agents * spec.n_actions
        )
        assert lay.state_size == state, spec.name
    for name in ("13m_vs_15m", "3m2s_vs_3m3z", "gen_zerg_5_vs_6_s1", "2c_vs_16zg"):
        env = SMACVectorEnv(name, 3)
        obs, info = env.reset(seed=1)
        assert obs.shape == (3, env.n_agents, env.obs_size) and info["state"].shape == (3, env.state_size)
        assert np.isfinite(obs).all() and np.isfinite(info["state"]).all()


def test_family_rules_match_smac_maps():
    """The derivation reproduces SMAC's own map types, unit-type bits and (anchor) episode limits."""
    for name in ("3m", "8m", "2s3z", "3s5z", "MMM", "1c3s5z", "3s_vs_5z", "6h_vs_8z", "bane_vs_bane"):
        smac = MAPS[name]
        allies = {g.unit: g.count for g in smac.allies}
        enemies = {g.unit: g.count for g in smac.enemies}
        family, names, bits = map_family(allies, enemies)
        assert (family, names, bits) == (smac.map_type, (), smac.unit_type_bits), name
    assert derive_episode_limit("marines", 6) == 60 and derive_episode_limit("marines", 16) == 120
    assert derive_episode_limit("stalkers_and_zealots", 10) == 120
    assert derive_episode_limit("marines", 8) == 70  # 4m: between 3m (60) and 5m_vs_6m (70), rounded up
    mixed = custom_map("x", {"marine": 2, "stalker": 1}, {"zealot": 2})
    assert mixed.map_type == "custom" and mixed.type_names == ("marine", "stalker", "zealot")
    assert mixed.unit_type_bits == 3 and mixed.ally_race == "P" and mixed.enemy_race == "P"


def test_custom_map_constructor_and_registration():
    spec = custom_map("test_2mr_vs_3zg", {"marauder": 2}, {"zergling": 3}, episode_limit=77, layout="open")
    assert spec.episode_limit == 77 and spec.terrain == "open"
    register_map(spec)
    try:
        env = rlsuite.make_vec("rlsuite/SMAC-test_2mr_vs_3zg-v0", 2)
        assert (env.n_agents, env.n_enemies, env.episode_limit) == (2, 3, 77)
        with pytest.raises(ValueError, match="already registered"):
            register_map(custom_map("test_2mr_vs_3zg", {"marauder": 3}, {"zergling": 3}))
    finally:
        MAPS.pop("test_2mr_vs_3zg", None)
    with pytest.raises(ValueError, match="is a SMAC map"):
        register_map(custom_map("3m", {"marine": 4}, {"marine": 4}))
    with pytest.raises(ValueError, match="unknown unit 'tank'"):
        custom_map("bad", {"tank": 2}, {"marine": 2})
    with pytest.raises(ValueError, match="count of 'marine' must be an int >= 1"):
        custom_map("bad", {"marine": 0}, {"marine": 2})
    with pytest.raises(ValueError, match="layout 'diagonal' is unknown"):
        custom_map("bad", {"marine": 1}, {"marine": 2}, layout="diagonal")


def test_every_shipped_map_is_a_registered_id():
    ids = set(rlsuite.list_envs())
    assert len(CUSTOM_MAP_NAMES) >= 60 and not set(CUSTOM_MAP_NAMES) & set(SMAC_MAP_NAMES)
    assert all(f"rlsuite/SMAC-{name}-v0" in ids for name in CUSTOM_MAP_NAMES)
    allies, enemies = v2_fixed_armies("terran", 5, 6, 0)
    assert sum(allies.values()) == 5 and sum(enemies.values()) == 6
    assert v2_fixed_armies("terran", 5, 6, 0) == (allies, enemies)  # a fixed seed fixes the armies


def test_mappo_trains_one_iteration_on_a_custom_map(tmp_path):
    from rlsuite.algos.mappo import MAPPO, MAPPOConfig
    from rlsuite.config import EnvConfig

    algo = MAPPO(
        EnvConfig(id="rlsuite/SMAC-1s3z-v0", num_envs=2),
        MAPPOConfig(num_steps=16, update_epochs=1, num_minibatches=1),
        seed=0,
        device="cpu",
    )
    algo.learn(32)
    assert algo.global_step == 32 and algo.team_spec.n_agents == 4
    result = algo.evaluate(episodes=2)
    assert len(result.returns) == 2
