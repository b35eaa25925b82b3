"""oxwhirl/smac's ``StarCraft2Env`` surface on the simulator: every public method (names and signatures as in
SMAC v1.0.0, recorded below) and attribute is present, and they behave as SMAC's: feature sizes add up to
``get_obs_size()`` and slice the observation, the visibility matrix follows the sight range, unit-type ids
agree with the type bits of obs and state, ``reward_battle()`` agrees with the step reward, the state dict
with ``get_state()``, terrain look-ups with the availability and the obs. SMAC's PettingZoo wrapper runs on it
unmodified (its file is not vendored: set ``RLSUITE_SMAC_PZ_WRAPPER`` to its path), and the attributes it
uses are exercised here as it uses them."""

from __future__ import annotations

import importlib.util
import inspect
import math
import os
import pickle
import sys
import warnings

import numpy as np
import pytest
from smac_reference import SMAC_ATTRIBUTES, SMAC_METHODS, UNIT_NAMES, WRAPPER_USES

import rlsuite
from rlsuite.envs.smac import StarCraft2Env
from rlsuite.envs.smac.compat import get_map_params, install_smac_alias, remove_smac_alias
from rlsuite.envs.smac.records import ALLY_MIN_UNIT_TYPE, Direction, Unit


def _random_actions(env: StarCraft2Env, rng: np.random.Generator) -> list[int]:
    return [int(rng.choice(np.flatnonzero(row))) for row in env.get_avail_actions()]


def test_every_public_method_with_smacs_signature():
    assert len(SMAC_METHODS) == 44 and len(SMAC_ATTRIBUTES) == 74
    for name, (params, defaults) in SMAC_METHODS.items():
        method = inspect.getattr_static(StarCraft2Env, name)
        if name == "distance":
            assert isinstance(method, staticmethod)
        ours = [
            p for p in inspect.signature(getattr(StarCraft2Env, name)).parameters.values() if p.name != "self"
        ]
        assert tuple(p.name for p in ours[: len(params)]) == params, name
        trailing = ours[len(params) - len(defaults) : len(params)]
        assert tuple(p.default for p in trailing) == defaults, name
        assert all(p.default is not inspect.Parameter.empty for p in ours[len(params) :]), (
            name
        )  # extras optional


@pytest.mark.parametrize("map_name", ["3m", "MMM2"])
def test_every_public_attribute(map_name):
    env = StarCraft2Env(map_name, seed=0)
    env.reset()
    env.step(_random_actions(env, np.random.default_rng(0)))
    missing = [name for name in SMAC_ATTRIBUTES if not hasattr(env, name)]
    assert missing == []
    assert isinstance(env.agents, dict) and isinstance(env.agents[0], Unit)
    assert env.window_size == (1920, 1200) and env.difficulty == "7" and env.last_stats is None
    assert (env.n_actions_move, env.n_obs_pathing, env.n_obs_height, env.n_actions_no_attack) == (4, 8, 9, 6)
    assert env._move_amount == 2 and env._step_mul == 8 and env._episode_count == 0
    params = get_map_params(map_name)
    assert (params["n_agents"], params["n_enemies"], params["limit"]) == (
        env.n_agents,
        env.n_enemies,
        env.episode_limit,
    )
    assert (params["map_type"], params["unit_type_bits"]) == (env.map_type, env.unit_type_bits)


OPTION_SETS = [
    {},
    {
        "obs_last_action": True,
        "obs_pathing_grid": True,
        "obs_terrain_height": True,
        "obs_timestep_number": True,
    },
    {
        "obs_all_health": False,
        "obs_own_health": False,
        "state_last_action": False,
        "state_timestep_number": True,
    },
]


@pytest.mark.parametrize("map_name", ["3m", "MMM2", "2s3z", "1c3s5z", "bane_vs_bane", "3s5z_vs_3s6z"])
@pytest.mark.parametrize("options", OPTION_SETS)
def test_feature_sizes_add_up_and_slice_the_observation(map_name, options):
    env = StarCraft2Env(map_name, seed=1, **options)
    move = env.get_obs_move_feats_size()
    (n_en, nf_en), (n_al, nf_al) = env.get_obs_enemy_feats_size(), env.get_obs_ally_feats_size()
    own = env.get_obs_own_feats_size()
    assert (n_en, n_al) == (env.n_enemies, env.n_agents - 1)
    assert move + n_en * nf_en + n_al * nf_al + own == env.get_obs_size() == env.get_env_info()["obs_shape"]
    assert env.get_ally_num_attributes() == len(env.get_env_info()["agent_features"])
    env.reset()
    rng = np.random.default_rng(2)
    for _ in range(6):
        env.step(_random_actions(env, rng))
    visible = env.get_visibility_matrix()
    for a, obs in enumerate(env.get_obs()):
        enemy = obs[move : move + n_en * nf_en].reshape(n_en, nf_en)
        ally = obs[move + n_en * nf_en : move + n_en * nf_en + n_al * nf_al].reshape(n_al, nf_al)
        others = [v for v in range(env.n_agents) if v != a]
        np.testing.assert_array_equal(enemy[:, 1] > 0, visible[a, env.n_agents :])  # distance > 0 iff seen
        np.testing.assert_array_equal(ally[:, 0] == 1, visible[a, others])
        np.testing.assert_array_equal(obs[:4], env.get_avail_agent_actions(a)[2:6])  # move feats


@pytest.mark.parametrize("map_name", ["8m", "MMM2", "corridor"])
def test_visibility_matrix_follows_sight_ranges_of_the_units(map_name):
    env = StarCraft2Env(map_name, seed=3)
    env.reset()
    rng = np.random.default_rng(4)
    seen = 0
    for _ in range(30):
        agents, enemies = env.agents, env.enemies
        units = [*agents.values(), *enemies.values()]
        visible = env.get_visibility_matrix()
        assert visible.shape == (env.n_agents, env.n_agents + env.n_enemies) and visible.dtype == bool
        for a, me in agents.items():
            for u, other in enumerate(units):
                d = env.distance(me.pos.x, me.pos.y, other.pos.x, other.pos.y)
                expected = u != a and me.health > 0 and other.health > 0 and d < env.unit_sight_range(a)
                assert visible[a, u] == expected
        seen += int(visible[:, env.n_agents :].sum())
        _, terminated, _ = env.step(_random_actions(env, rng))
        if terminated:
            break
    assert seen > 0


@pytest.mark.parametrize("map_name", ["MMM2", "2s3z", "1c3s5z", "bane_vs_bane", "3m"])
def test_unit_type_ids_agree_with_the_type_bits(map_name):
    env = StarCraft2Env(map_name, seed=5)
    with pytest.warns(UserWarning, match="reset"):
        assert env.get_unit_types() is None  # SMAC warns before the first reset
    env.reset()
    utb = env.unit_type_bits
    state = env.get_state_dict()
    types = env.get_unit_types()
    assert len(types) == env.n_agents + env.n_enemies
    for a, unit in env.agents.items():
        assert types[a] == unit.unit_type and unit.unit_type >= ALLY_MIN_UNIT_TYPE
        type_id = env.get_unit_type_id(unit, True)
        own = env.get_obs_agent(a)[-env.get_obs_own_feats_size() :]
        if utb:
            assert np.flatnonzero(state["allies"][a, -utb:]).tolist() == [type_id]
            assert np.flatnonzero(own[-utb:]).tolist() == [type_id]
        names = {getattr(env, f"{n}_id"): n for n in UNIT_NAMES}
        assert names[unit.unit_type] == env.unit_type_names()[a]
    for e, unit in env.enemies.items():
        if utb:
            assert np.flatnonzero(state["enemies"][e, -utb:]).tolist() == [env.get_unit_type_id(unit, False)]
    if map_name == "MMM2":
        assert (env.marauder_id, env.marine_id, env.medivac_id) == (1970, 1971, 1972)
        medivac = next(u for u in env.agents.values() if u.unit_type == env.medivac_id)
        assert env.unit_max_cooldown(medivac) == 200 and env.unit_max_shield(medivac) is None
    if map_name == "2s3z":
        stalker = next(u for u in env.agents.values() if u.unit_type == env.stalker_id)
        assert (env.unit_max_shield(stalker), env.unit_max_cooldown(stalker)) == (80, 35)
        enemy_zealot = next(u for u in env.enemies.values() if u.unit_type == 73)
        assert env.get_unit_type_id(enemy_zealot, False) == 0  # SMAC's flipped enemy one-hot


@pytest.mark.parametrize("options", [{}, {"reward_only_positive": False}, {"reward_sparse": True}])
def test_reward_battle_and_max_reward_agree_with_the_step_reward(options):
    env = StarCraft2Env("3m", seed=7, **options)
    expected_max = env.n_enemies * env.reward_death_value + env.reward_win
    assert env.max_reward == expected_max
    env.reset()
    assert env.max_reward == expected_max + 3 * 45  # + the enemies' health_max (marines: 45, no shields)
    rng = np.random.default_rng(8)
    outcomes = set()
    for _ in range(3):
        env.reset()
        assert env.previous_ally_units is None and not env.win_counted
        terminated = False
        while not terminated:
            actions = _random_actions(env, rng)
            before = env.agents
            reward, terminated, info = env.step(actions)
            assert env.previous_ally_units[0].health == before[0].health
            np.testing.assert_array_equal(env.last_action.argmax(axis=1), actions)
            code = env.update_units()
            won, lost = code == 1, code == -1
            assert won == info["battle_won"] == env.win_counted
            terminal = (
                (env.reward_win if won else env.reward_defeat if lost else 0) if not env.reward_sparse else 0
            )
            if env.reward_sparse:
                assert env.reward_battle() == 0
                unscaled = 1 if won else -1 if lost else 0
            else:
                unscaled = env.reward_battle() + terminal
            assert math.isclose(reward, unscaled / (env.max_reward / env.reward_scale_rate), rel_tol=1e-9)
            assert env.reward == reward
            outcomes.add(code)
        assert env.death_tracker_ally.sum() == info["dead_allies"]
        assert env.death_tracker_enemy.sum() == info["dead_enemies"]
    assert env.get_stats()["battles_game"] == 3


@pytest.mark.parametrize("obs_instead_of_state", [False, True])
def test_state_dict_agrees_with_the_state_and_the_units(obs_instead_of_state):
    env = StarCraft2Env("2s3z", seed=9, state_timestep_number=True, obs_instead_of_state=obs_instead_of_state)
    env.reset()
    rng = np.random.default_rng(10)
    for _ in range(5):
        env.step(_random_actions(env, rng))
    d = env.get_state_dict()
    assert d["allies"].shape == (env.n_agents, env.get_ally_num_attributes())
    assert d["enemies"].shape == (env.n_enemies, env.get_enemy_num_attributes())
    assert d["timestep"] == 5 / env.episode_limit
    flat = np.concatenate(
        [d["allies"].ravel(), d["enemies"].ravel(), d["last_action"].ravel(), [d["timestep"]]]
    )
    if obs_instead_of_state:
        np.testing.assert_array_equal(env.get_state(), np.concatenate(env.get_obs()))
    else:
        np.testing.assert_allclose(env.get_state(), flat.astype(np.float32))
    for a, unit in env.agents.items():
        assert math.isclose(d["allies"][a, 0], unit.health / unit.health_max, rel_tol=1e-6)
        assert math.isclose(d["allies"][a, 4], unit.shield / env.unit_max_shield(unit), rel_tol=1e-6)


def test_terrain_lookups_agree_with_availability_and_the_obs():
    env = StarCraft2Env("corridor", seed=11, obs_pathing_grid=True, obs_terrain_height=True)
    env.reset()
    rng = np.random.default_rng(12)
    blocked = 0
    for _ in range(25):
        for a, unit in env.agents.items():
            if unit.health <= 0:
                continue
            avail = env.get_avail_agent_actions(a)
            moves = [env.can_move(unit, d) for d in Direction]
            assert moves == [bool(x) for x in avail[2:6]]
            blocked += 4 - sum(moves)
            obs = env.get_obs_agent(a)
            np.testing.assert_array_equal(obs[4:12], env.get_surrounding_pathing(unit))
            np.testing.assert_allclose(obs[12:21], env.get_surrounding_height(unit))
            assert len(env.get_surrounding_points(unit, include_self=True)) == 9
            assert env.check_bounds(int(unit.pos.x), int(unit.pos.y)) and not env.check_bounds(-1, 0)
        _, terminated, _ = env.step(_random_actions(env, rng))
        if terminated:
            break
    assert env.pathing_grid.shape == (env.map_x, env.map_y)


def test_agent_actions_are_smacs_raw_unit_commands():
    env = StarCraft2Env("MMM", seed=13)
    env.reset()
    unit = env.get_unit_by_id(0)
    stop = env.get_agent_action(0, 1)
    assert stop == {"ability_id": 4, "unit_tags": [unit.tag], "queue_command": False}
    avail = env.get_avail_agent_actions(0)
    if avail[2]:
        north = env.get_agent_action(0, 2)
        assert north["ability_id"] == 16
        assert north["target_world_space_pos"] == (unit.pos.x, unit.pos.y + env._move_amount)
    with pytest.raises(ValueError, match="cannot perform action 0"):
        env.get_agent_action(0, 0)  # no-op: dead agents only
    command, number = env.get_agent_action_heuristic(0, 0)
    assert command["ability_id"] in (23, 386) and number >= env.n_actions_no_attack
    target = env.heuristic_targets[0]
    assert (
        command["target_unit_tag"]
        == (env.agents if command["ability_id"] == 386 else env.enemies)[target].tag
    )


def test_full_restart_reseeds_from_the_seed_attribute_as_smacs_wrapper_does():
    env = StarCraft2Env("3m", seed=1)
    env.reset()
    env._seed = 42  # smac_parallel_env.seed(42): set _seed, then full_restart()
    env.full_restart()
    assert env.get_stats()["restarts"] == 1 and env.seed() == 42
    state = env.reset()[1]
    ref_state = StarCraft2Env("3m", seed=42).reset()[1]
    np.testing.assert_array_equal(state, ref_state)


def test_render_modes_follow_smac(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    env = StarCraft2Env("3m", seed=0)
    env.reset()
    frame = StarCraft2Env("3m", seed=0)
    frame.reset()
    image = frame.render("rgb_array")
    assert image.dtype == np.uint8 and image.ndim == 3
    assert env.render() is None and env.renderer.mode == "human"  # a window (pygame)
    with pytest.raises(ValueError, match="consistent"):
        env.render("rgb_array")
    env.close()
    assert env.renderer is None
    with pytest.raises(NotImplementedError, match="no SC2 replays"):
        env.save_replay()


def test_what_smacs_pettingzoo_wrapper_uses(monkeypatch):
    """Each attribute and method SMAC's wrapper touches, used as the wrapper uses it."""
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    env = StarCraft2Env("MMM", seed=3)
    assert all(hasattr(env, name) for name in WRAPPER_USES)
    env.reset()  # the wrapper's __init__ resets once, then reads the unit types
    type_names = {getattr(env, f"{n}_id"): n for n in UNIT_NAMES if getattr(env, f"{n}_id")}
    kinds = [type_names[unit.unit_type] for _, unit in env.agents.items()]
    assert kinds == env.unit_type_names()[: env.n_agents]
    obs_size, state_size, n = env.get_obs_size(), env.get_state_size(), env.get_total_actions() - 1
    env._episode_count = 1  # the wrapper's reset
    env.reset()
    for agent_id in range(env.n_agents):
        obs = np.asarray(env.get_obs_agent(agent_id), dtype=np.float32)
        mask = np.array(env.get_avail_agent_actions(agent_id)[1:]).astype(np.int8)
        assert obs.shape == (obs_size,) and mask.shape == (n,)
        assert env.get_unit_by_id(agent_id).health > 0
    reward, terminated, _ = env.step([1] * env.n_agents)
    assert env.get_state().shape == (state_size,) and isinstance(reward, float) and not terminated
    env._seed = 5
    env.full_restart()
    env.reset()
    assert env.render("human") is None
    env.close()


def _load_wrapper(path: str):
    install_smac_alias()
    name = "smac.env.pettingzoo.StarCraft2PZEnv"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(
    not os.path.isfile(os.environ.get("RLSUITE_SMAC_PZ_WRAPPER", "")),
    reason="set RLSUITE_SMAC_PZ_WRAPPER to oxwhirl/smac's smac/env/pettingzoo/StarCraft2PZEnv.py",
)
@pytest.mark.parametrize("map_name", ["3m", "MMM2", "2s3z"])
def test_smacs_own_pettingzoo_wrapper_runs_unmodified(map_name):
    """The wrapper's file, unmodified, on the simulator: same agents, observations, masks and rewards as
    rlsuite's PettingZoo env (which follows it, but truncates at the episode limit where the wrapper marks
    both flags) over whole episodes, and it pickles as SMAC's test does."""
    if importlib.util.find_spec("smac") is not None and "smac" not in sys.modules:
        pytest.skip("a real smac is installed")
    try:
        module = _load_wrapper(os.environ["RLSUITE_SMAC_PZ_WRAPPER"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wrapped = module.parallel_env(map_name=map_name, seed=3)
            ours = rlsuite.make(f"rlsuite/SMAC-{map_name}-v0", seed=3)
            ours.reset()  # the wrapper's constructor played the first reset
            assert wrapped.possible_agents == ours.possible_agents
            rng = np.random.default_rng(0)
            for _ in range(2):
                obs, (ours_obs, _) = wrapped.reset(), ours.reset()
                while wrapped.agents:
                    assert all(np.array_equal(obs[a]["observation"], ours_obs[a]["observation"]) for a in obs)
                    actions = {
                        a: int(rng.choice(np.flatnonzero(obs[a]["action_mask"]))) for a in wrapped.agents
                    }
                    obs, rewards, terms, truncs, _ = wrapped.step(actions)
                    ours_obs, ours_rewards, ours_terms, ours_truncs, _ = ours.step(actions)
                    assert rewards == pytest.approx(ours_rewards)
                    assert {a: terms[a] or truncs[a] for a in terms} == {
                        a: ours_terms[a] or ours_truncs[a] for a in ours_terms
                    }
                np.testing.assert_array_equal(wrapped.state(), ours.state())
            recreated = pickle.loads(pickle.dumps(wrapped))  # EzPickle: rebuilt from its arguments
            assert recreated.possible_agents == wrapped.possible_agents
            # The AEC form builds; its reset needs PettingZoo < 1.23 (the wrapper's reset returns observations
            # only, which PettingZoo's parallel_to_aec no longer accepts), whatever the env behind it.
            assert module.env(map_name=map_name).possible_agents == wrapped.possible_agents
    finally:
        remove_smac_alias()


def test_the_alias_refuses_to_hide_a_real_smac(monkeypatch):
    fake = type(sys)("smac")
    monkeypatch.setitem(sys.modules, "smac", fake)
    with pytest.raises(RuntimeError, match="real smac"):
        install_smac_alias()
