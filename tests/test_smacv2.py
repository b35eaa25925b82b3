"""SMACv2-style scenarios (https://github.com/oxwhirl/smacv2): sizes, unit mix, team copies, start layouts,
seeding."""

from __future__ import annotations

import numpy as np
import pytest

from rlsuite.envs.batched import EnvStreams
from rlsuite.envs.smac import units as ut
from rlsuite.envs.smac.battle import Battles, SMACOptions
from rlsuite.envs.smac.smacv2 import (
    SCENARIOS,
    CapabilityConfig,
    V2Scenario,
    from_smacv2_dict,
    make_v2_env,
    make_v2_vector_env,
    v2_map_spec,
)

T = ut.TYPE_INDEX
RADIUS = ut.unit_table()[:, ut.F_RADIUS]
AIR = ut.unit_table()[:, ut.F_AIR] > 0


def draw(config: CapabilityConfig, n: int = 2000, seed: int = 0, spread: bool = False):
    """One fill of ``n`` battles; returns (types, xy, surrounded flags)."""
    scenario = V2Scenario(config, spread=spread)
    streams = EnvStreams(n)
    streams.seed_range(seed)
    u = config.n_units + config.n_enemies
    types = np.zeros((n, u), dtype=np.int64)
    xy = np.zeros((n, u, 2))
    scenario.fill(streams.rng, np.ones(n, dtype=np.bool_), types, xy)
    return types, xy, scenario.last_surrounded.copy()


def test_official_scenarios_and_map_specs():
    names = {
        f"10gen_{r}_{n}_vs_{m}"
        for r in ("terran", "protoss", "zerg")
        for n, m in ((5, 5), (10, 10), (20, 20), (10, 11), (20, 23))
    }
    assert set(SCENARIOS) == names
    for name, config in SCENARIOS.items():
        spec = v2_map_spec(config)
        assert spec.name == name and spec.terrain == "open"
        assert (spec.n_agents, spec.n_enemies) == (config.n_units, config.n_enemies)
        assert spec.n_actions == 6 + config.n_enemies
        assert spec.episode_limit == 200 and spec.unit_type_bits == 3
        assert spec.map_type == f"{config.race}_gen"
        assert config.weights == (0.45, 0.45, 0.1)
    assert SCENARIOS["10gen_terran_5_vs_5"].exception_unit_types == ("medivac",)
    assert SCENARIOS["10gen_zerg_5_vs_5"].exception_unit_types == ("baneling",)
    assert SCENARIOS["10gen_protoss_5_vs_5"].exception_unit_types == ()


def test_sizes_by_hand():
    # 5v5 protoss, SMAC defaults (§1.3/§1.4), utb 3, shields on both sides:
    # obs = move 4 + enemies 5×(4+3+1+1) + allies 4×(4+3+1+1) + own (1+1+3) = 4 + 45 + 36 + 5 = 90
    # state = allies 5×(4+1+3) + enemies 5×(3+1+3) + last actions 5×11 = 40 + 35 + 55 = 130
    env = make_v2_env("10gen_protoss_5_vs_5", seed=0)
    info = env.get_env_info()
    assert (info["n_agents"], info["n_actions"], env.n_enemies) == (5, 11, 5)
    assert (info["obs_shape"], info["state_shape"], info["episode_limit"]) == (90, 130, 200)
    obs, state = env.reset()
    assert len(obs) == 5 and obs[0].shape == (90,) and state.shape == (130,)
    # 10v11 terran (no shields): obs = 4 + 11×8 + 9×8 + 4 = 168; state = 10×7 + 11×6 + 10×17 = 306
    lay = Battles(v2_map_spec(SCENARIOS["10gen_terran_10_vs_11"]), 1, SMACOptions()).layout
    sizes = (lay.n_agents, lay.n_enemies, lay.n_actions, lay.obs_size, lay.state_size)
    assert sizes == (10, 11, 17, 168, 306)
    # 20v23 zerg: obs = 4 + 23×8 + 19×8 + 4 = 344; state = 20×7 + 23×6 + 20×29 = 858
    lay = Battles(v2_map_spec(SCENARIOS["10gen_zerg_20_vs_23"]), 1, SMACOptions()).layout
    assert (lay.n_actions, lay.obs_size, lay.state_size) == (29, 344, 858)


@pytest.mark.parametrize("race", ["terran", "protoss", "zerg"])
def test_type_frequencies_follow_weights(race):
    config = SCENARIOS[f"10gen_{race}_5_vs_5"]
    types, _, _ = draw(config, n=4000)
    allies = types[:, :5]
    for name, w in zip(config.unit_types, config.weights):
        assert abs((allies == T[name]).mean() - w) < 0.02, (name, (allies == T[name]).mean())
    for exc in config.exception_unit_types:
        assert not (allies == T[exc]).all(axis=1).any()
    assert set(np.unique(types)) <= {T[n] for n in config.unit_types}


def test_exception_rule_redraws_single_unit_teams():
    # One ally and one extra enemy: neither may be a lone medivac, so medivacs never appear.
    types, _, _ = draw(CapabilityConfig("terran", 1, 2), n=3000)
    assert not (types == T["medivac"]).any()
    assert abs((types[:, 0] == T["marine"]).mean() - 0.5) < 0.04
    # Protoss has no exception type: single colossi appear at about the weight.
    types, _, _ = draw(CapabilityConfig("protoss", 1, 1), n=3000)
    assert abs((types[:, 0] == T["colossus"]).mean() - 0.1) < 0.025


@pytest.mark.parametrize("name", ["10gen_terran_10_vs_11", "10gen_zerg_20_vs_23", "10gen_protoss_5_vs_5"])
def test_enemy_team_is_mirrored_copy_plus_extras(name):
    base = SCENARIOS[name]
    n, m = base.n_units, base.n_enemies
    for spread in (False, True):
        config = CapabilityConfig(base.race, n, m, start_positions="reflect")
        types, xy, sur = draw(config, n=300, seed=3, spread=spread)
        assert not sur.any()
        for b in range(types.shape[0]):
            allies = sorted((int(t), x, y) for t, (x, y) in zip(types[b, :n], xy[b, :n]))
            copies = sorted((int(t), 32.0 - x, y) for t, (x, y) in zip(types[b, n : 2 * n], xy[b, n : 2 * n]))
            assert [a[0] for a in allies] == [c[0] for c in copies]
            np.testing.assert_allclose(np.array(allies)[:, 1:], np.array(copies)[:, 1:], atol=1e-9)
        if not spread:  # requested points: allies in x∈[0.5, 15), extras in the right half
            assert (xy[:, :n, 0] >= 0.5).all() and (xy[:, :n, 0] < 15).all()
            assert (xy[:, 2 * n :, 0] >= 16).all() and (xy[:, 2 * n :, 0] <= 31.5).all()
    if m > n:
        extras = types[:, 2 * n :]
        for exc in base.exception_unit_types:
            assert not (extras == T[exc]).all(axis=1).any()


def test_truncated_enemy_team():
    types, _, _ = draw(CapabilityConfig("protoss", 6, 4), n=200)
    for b in range(200):
        allies = list(types[b, :6])
        for t in types[b, 6:]:
            assert t in allies  # each enemy is one of the ally team's units, used once
            allies.remove(t)


def test_surrounded_groups_on_distinct_diagonals():
    config = CapabilityConfig("zerg", 20, 23, start_positions="surrounded")
    _, xy, sur = draw(config, n=500, seed=5)
    assert sur.all()
    assert np.allclose(xy[:, :20], 16.0)
    group_counts = set()
    for b in range(500):
        points = np.unique(xy[b, 20:], axis=0)
        group_counts.add(len(points))
        quadrants = set()
        for x, y in points:
            on_main, on_anti = abs(x - y) < 1e-9, abs(x + y - 32) < 1e-9
            assert on_main or on_anti
            assert 0.5 <= x <= 14 or 18 <= x <= 31.5
            assert 0.5 <= y <= 14 or 18 <= y <= 31.5
            quadrants.add((x > 16, y > 16))
        assert len(quadrants) == len(points)  # one group per diagonal
    assert group_counts == {1, 2, 3, 4}


def test_layout_mixture_probability():
    _, _, sur = draw(SCENARIOS["10gen_protoss_5_vs_5"], n=4000, seed=1)
    assert abs(sur.mean() - 0.5) < 0.04
    for p in (0.0, 1.0):
        _, _, sur = draw(CapabilityConfig("protoss", 5, 5, p_surrounded=p), n=200)
        assert (sur == bool(p)).all()
    assert abs(from_smacv2_dict(SCENARIOS["10gen_zerg_5_vs_5"].to_smacv2_dict()).p_surrounded - 0.5) < 1e-12


def test_spread_units_do_not_overlap_and_allies_are_sorted():
    config = SCENARIOS["10gen_protoss_20_vs_23"]
    types, xy, _ = draw(config, n=200, seed=2, spread=True)
    assert (xy >= 0.5).all() and (xy <= 31.5).all()
    rank = {
        n: i
        for i, n in enumerate(
            sorted(
                [
                    "baneling",
                    "colossus",
                    "hydralisk",
                    "marauder",
                    "marine",
                    "medivac",
                    "stalker",
                    "zealot",
                    "zergling",
                ]
            )
        )
    }
    names = [u.name for u in ut.UNIT_TYPES]
    for b in range(200):
        for lo, hi in ((0, 20), (20, 43)):
            t, p = types[b, lo:hi], xy[b, lo:hi]
            d = np.linalg.norm(p[:, None] - p[None], axis=-1)
            reach = RADIUS[t][:, None] + RADIUS[t][None]
            same_layer = AIR[t][:, None] == AIR[t][None]
            np.fill_diagonal(same_layer, False)
            assert (d[same_layer] >= reach[same_layer] - 1e-6).all()
        keys = [(rank[names[t]], x, y) for t, (x, y) in zip(types[b, :20], xy[b, :20])]
        assert keys == sorted(keys)


def test_seeding_reproduces_armies():
    def armies(seed, resets=1):
        config = SCENARIOS["10gen_terran_10_vs_11"]
        battles = Battles(v2_map_spec(config), 3, SMACOptions(), scenario=V2Scenario(config))
        battles.streams.seed_range(seed)
        out = []
        for _ in range(resets):
            battles.reset(np.ones(3, dtype=np.bool_))
            out.append((battles.spawn_types.copy(), battles.spawn_xy.copy(), battles.fs.copy()))
        return out

    (t1, x1, f1), (_, x1b, _) = armies(7, resets=2)
    ((t2, x2, f2),) = armies(7)
    ((t3, x3, _),) = armies(8)
    assert np.array_equal(t1, t2) and np.array_equal(x1, x2) and np.array_equal(f1, f2)
    assert not np.array_equal(x1, x3)
    assert not np.array_equal(x1, x1b)  # a new army every episode
    assert not np.array_equal(x1[0], x1[1])  # battles draw from their own streams
    # Each battle's army depends on its own stream only: battle 1 of seed 7 is battle 0 of seed 8.
    assert np.array_equal(t1[1], t3[0]) and np.array_equal(x1[1], x3[0])


def test_from_smacv2_dict_and_errors():
    d = {
        "n_units": 10,
        "n_enemies": 11,
        "team_gen": {
            "dist_type": "weighted_teams",
            "unit_types": ["marine", "marauder", "medivac"],
            "weights": [0.45, 0.45, 0.1],
            "observe": True,
            "exception_unit_types": ["medivac"],
        },
        "start_positions": {
            "dist_type": "surrounded_and_reflect",
            "p": 0.3,
            "n_enemies": 11,
            "map_x": 32,
            "map_y": 32,
        },
    }
    config = from_smacv2_dict(d)
    assert (config.race, config.n_units, config.n_enemies) == ("terran", 10, 11)
    assert config.exception_unit_types == ("medivac",) and abs(config.p_surrounded - 0.7) < 1e-12
    assert config.name == "10gen_terran_10_vs_11"
    assert from_smacv2_dict(config.to_smacv2_dict()) == config
    zerg_team = {
        "dist_type": "weighted_teams",
        "unit_types": ["zergling", "baneling", "hydralisk"],
        "weights": [0.45, 0.1, 0.45],
    }
    zerg = {**d, "team_gen": zerg_team}
    assert from_smacv2_dict(zerg).exception_unit_types == ()  # SMACv2: absent means none
    with pytest.raises(ValueError, match=r"accepted: .*marine"):
        from_smacv2_dict({**d, "team_gen": {**d["team_gen"], "unit_types": ["marine", "tank", "medivac"]}})
    with pytest.raises(ValueError, match="dist_type must be one of"):
        from_smacv2_dict({**d, "start_positions": {"dist_type": "random"}})
    with pytest.raises(ValueError, match="attack"):
        from_smacv2_dict({**d, "attack": {}})
    with pytest.raises(ValueError, match="race must be one of terran, protoss, zerg"):
        CapabilityConfig("human", 5, 5)
    with pytest.raises(ValueError, match="start_positions must be one of surrounded_and_reflect"):
        CapabilityConfig("zerg", 5, 5, start_positions="random")
    with pytest.raises(ValueError, match="weights must have one entry per unit type"):
        CapabilityConfig("zerg", 5, 5, weights=(0.5, 0.5))
    with pytest.raises(ValueError, match="unit_types: 'marine' is not a zerg unit"):
        CapabilityConfig("zerg", 5, 5, unit_types=("marine",), weights=(1.0,))
    with pytest.raises(ValueError, match="exception_unit_types"):
        CapabilityConfig("terran", 5, 5, unit_types=("medivac",), weights=(1.0,))
    with pytest.raises(ValueError, match="p_surrounded"):
        CapabilityConfig("zerg", 5, 5, p_surrounded=1.5)
    with pytest.raises(ValueError, match="n_units must be a positive int"):
        CapabilityConfig("zerg", 0, 5)


@pytest.mark.parametrize("race", ["terran", "protoss", "zerg"])
def test_random_action_episodes(race):
    env = make_v2_env(f"10gen_{race}_5_vs_5", seed=11, conic_fov=False, min_attack_range=2)
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(2):
        env.reset()
        seen.add(tuple(env.unit_type_names()))
        for _step in range(env.episode_limit):
            avail = np.array(env.get_avail_actions())
            actions = [rng.choice(np.flatnonzero(a)) for a in avail]
            reward, terminated, _ = env.step(actions)
            assert np.isfinite(reward) and reward >= 0
            if terminated:
                break
        assert terminated
        assert np.isfinite(env.get_state()).all()
    assert env.get_stats()["battles_game"] == 2
    assert all(n in SCENARIOS[f"10gen_{race}_5_vs_5"].unit_types for names in seen for n in names)


def test_make_v2_env_forms():
    cap = SCENARIOS["10gen_zerg_10_vs_11"].to_smacv2_dict()
    env = make_v2_env("10gen_zerg", capability_config=cap)
    assert env.map_name == "10gen_zerg_10_vs_11" and env.n_agents == 10 and env.n_enemies == 11
    assert make_v2_env(cap).n_actions == 17
    assert make_v2_env(CapabilityConfig("protoss", 3, 4)).map_name == "10gen_protoss_3_vs_4"
    with pytest.raises(ValueError, match="use_unit_ranges"):
        make_v2_env("10gen_zerg_5_vs_5", use_unit_ranges=True)
    with pytest.raises(ValueError, match="capability_config"):
        make_v2_env("10gen_zerg")
    with pytest.raises(ValueError, match="known: 10gen_terran_5_vs_5"):
        make_v2_env("10gen_zerg_7_vs_7")


def test_vector_env_draws_per_battle_armies():
    env = make_v2_vector_env("10gen_terran_10_vs_11", 8, seed=3)
    obs, info = env.reset()
    assert obs.shape == (8, 10, 168) and info["state"].shape == (8, 306)
    first = env.battles.spawn_types.copy()
    assert len({tuple(t) for t in first}) > 1  # battles differ
    rng = np.random.default_rng(0)
    ended = 0
    for _ in range(120):
        mask = info["action_mask"]
        actions = np.array([[rng.choice(np.flatnonzero(m)) for m in battle] for battle in mask])
        obs, _, terminated, truncated, info = env.step(actions)
        ended += int((terminated | truncated).sum())
    assert ended > 0 and np.isfinite(obs).all()
    again = make_v2_vector_env("10gen_terran_10_vs_11", 8, seed=3)
    again.reset()
    assert np.array_equal(again.battles.spawn_types, first)


def test_v2_scenarios_are_registered_with_pettingzoo_and_vector_forms():
    from pettingzoo.test import parallel_api_test, parallel_seed_test

    import rlsuite

    ids = [i for i in rlsuite.list_envs("smac") if "10gen" in i]
    assert len(ids) == 15
    env_id = "rlsuite/SMAC-10gen_zerg_10_vs_11-v0"
    parallel_api_test(rlsuite.make(env_id), num_cycles=50)
    parallel_seed_test(lambda: rlsuite.make(env_id))
    vec = rlsuite.make_vec(env_id, 4)
    obs, info = vec.reset(seed=0)
    assert obs.shape == (4, 10, vec.obs_size) and info["action_mask"].shape == (4, 10, 6 + 11)
