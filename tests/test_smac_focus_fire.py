"""The focus-fire scripted SMAC expert: target choice, kiting, healing, available actions, win rate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from maskma_helpers import scripted_win_rates

from rlsuite.envs.smac import core
from rlsuite.envs.smac.downstream import HeuristicTeamPolicy, VariedPolicyTeamEnv
from rlsuite.envs.smac.focus_fire import DEFAULT_PARAMS, POLICY_PARAMS
from rlsuite.envs.smac.vector import SMACVectorEnv
from rlsuite.offline.team_pipeline import load_pipeline
from rlsuite.training.evaluation import evaluate_policy

ROOT = Path(__file__).resolve().parents[1]
MOVE_WEST = 5


def _place(env: SMACVectorEnv, unit: int, x: float, y: float, health: float | None = None) -> None:
    fs = env.battles.fs
    fs[0, unit, core.FS_X], fs[0, unit, core.FS_Y] = x, y
    if health is not None:
        fs[0, unit, core.FS_HEALTH] = health
        fs[0, unit, core.FS_SHIELD] = 0.0


def _actions(env: SMACVectorEnv, kind: str = "focus_fire") -> np.ndarray:
    """The focus-fire policy's actions on the env's current (edited) state; the mask is recomputed."""
    policy = HeuristicTeamPolicy(env, kind)
    mask = env.battles.avail_actions().astype(bool)
    obs = type("Obs", (), {"action_mask": mask})()
    actions = policy.act(obs)
    assert mask[0, np.arange(env.n_agents), actions[0]].all()
    return actions[0]


def test_focus_fire_shares_the_weakest_enemy_in_range():
    env = SMACVectorEnv("3m", 1)
    env.reset(seed=0)
    for a, y in enumerate((15.0, 16.0, 17.0)):
        _place(env, a, 10.0, y)
    _place(env, 3, 14.0, 15.0, health=40.0)
    _place(env, 4, 14.5, 16.5, health=12.0)  # the weakest in range of all three
    _place(env, 5, 28.0, 16.0, health=3.0)  # weaker still, but out of everyone's range
    assert (_actions(env) == 6 + 1).all()
    env.battles.fs[0, 4, core.FS_HEALTH] = 45.0  # now enemy 0 is the weakest: all switch together
    assert (_actions(env) == 6 + 0).all()


def test_spread_books_volleys_so_no_enemy_is_overkilled():
    env = SMACVectorEnv("5m", 1)
    env.reset(seed=0)
    for a in range(5):
        _place(env, a, 10.0, 14.0 + a)
        env.battles.fs[0, a, core.FS_COOLDOWN] = 0.0  # every weapon ready: every volley is booked
    _place(env, 5, 14.0, 15.0, health=10.0)  # two marine volleys (6 each) kill it
    _place(env, 6, 14.0, 16.0, health=20.0)  # four do
    _place(env, 7, 14.0, 17.0, health=40.0)
    _place(env, 8, 30.0, 16.0, health=1.0)  # out of everyone's range
    _place(env, 9, 30.0, 18.0)
    shared = _actions(env, "focus_fire_spread")
    # Agents in index order: two volleys on the weakest, then the next weakest takes the rest.
    assert shared.tolist() == [6 + 0, 6 + 0, 6 + 1, 6 + 1, 6 + 1]
    assert (_actions(env, "focus_fire") == 6 + 0).all()  # the plain script pours all five into it
    # Agents 0 and 4 cooling (no enemy's nearest, so they do not step back): they aim but book nothing.
    env.battles.fs[0, [0, 4], core.FS_COOLDOWN] = 12.0
    assert _actions(env, "focus_fire_spread").tolist() == [6 + 0, 6 + 0, 6 + 0, 6 + 1, 6 + 1]


def test_spread_wins_a_large_battle_the_plain_script_loses():
    rates = scripted_win_rates("25m", ("focus_fire", "focus_fire_spread"), 8)
    assert rates["focus_fire_spread"] >= 0.75 and rates["focus_fire"] <= 0.25, rates


def test_decoy_leads_an_equally_fast_zealot_away_while_an_ally_shoots():
    env = SMACVectorEnv("2m_vs_1z", 1)
    env.reset(seed=0)
    _place(env, 0, 10.0, 16.0)
    _place(env, 1, 10.0, 21.0)
    _place(env, 2, 11.2, 16.0)  # a zealot (as fast as a marine) next to marine 0, which it targets
    env.battles.fs[0, :2, core.FS_COOLDOWN] = 0.0  # weapons ready: no kiting reason
    assert _actions(env, "focus_fire").tolist() == [6, 6]  # the plain script stands and shoots
    runner, shooter = _actions(env, "focus_fire_decoy").tolist()
    assert runner in (2, 3, MOVE_WEST) and shooter == 6  # marine 0 runs (not toward it), marine 1 shoots
    env.battles.ist[0, 1, core.IS_ALIVE] = 0
    env.battles.fs[0, 1, core.FS_HEALTH] = 0.0
    assert _actions(env, "focus_fire_decoy")[0] == 6  # alone, a decoy has nobody to shoot for it


def test_stalker_kites_a_zealot_while_its_weapon_cools_down():
    env = SMACVectorEnv("3s_vs_3z", 1)
    env.reset(seed=0)
    _place(env, 0, 12.0, 16.0)
    _place(env, 1, 12.0, 10.0)
    _place(env, 2, 12.0, 22.0)
    _place(env, 3, 13.6, 16.0)  # a zealot at melee distance, east of stalker 0
    _place(env, 4, 30.0, 4.0)
    _place(env, 5, 30.0, 28.0)
    env.battles.fs[0, 0, core.FS_COOLDOWN] = 20.0
    assert _actions(env)[0] == MOVE_WEST  # steps away from the zealot
    env.battles.fs[0, 0, core.FS_COOLDOWN] = 0.0
    assert _actions(env)[0] == 6 + 0  # weapon ready: attacks it
    env.battles.fs[0, 0, core.FS_COOLDOWN] = 20.0
    _place(env, 3, 18.0, 16.0)  # far away: no reason to step back
    assert _actions(env)[0] == 6 + 0


def test_medivac_heals_the_most_injured_ally():
    env = SMACVectorEnv("MMM", 1)
    env.reset(seed=0)
    medivac = env.n_agents - 1
    fs = env.battles.fs
    fs[0, 2, core.FS_HEALTH] -= 20.0
    fs[0, 5, core.FS_HEALTH] -= 30.0
    assert _actions(env)[medivac] == 6 + 5


@pytest.mark.parametrize("map_name", ["MMM2", "3s5z_vs_3s6z", "2c_vs_64zg", "bane_vs_bane", "corridor"])
def test_only_available_actions_over_whole_battles(map_name):
    env = SMACVectorEnv(map_name, 4)  # env.step raises on an unavailable action
    result = evaluate_policy(HeuristicTeamPolicy(env, "focus_fire"), env, 4, seed=3)
    assert len(result.wins) == 4


def test_focus_fire_wins_an_asymmetric_map_attack_nearest_loses():
    rates = scripted_win_rates("3s_vs_4z", ("heuristic", "focus_fire"), 16)
    assert rates["focus_fire"] >= 0.8 and rates["heuristic"] <= 0.2, rates


def test_varied_policy_env_and_bad_names():
    env = VariedPolicyTeamEnv(SMACVectorEnv("3s_vs_3z", 2), "focus_fire", agents=(0,))
    assert env.policy.kind == "focus_fire"
    with pytest.raises(ValueError, match="focus_fire"):
        HeuristicTeamPolicy(SMACVectorEnv("3m", 1), "kite_everything")
    with pytest.raises(ValueError, match="give 7 numbers"):
        HeuristicTeamPolicy(SMACVectorEnv("3m", 1), "focus_fire", params=[1.0])
    assert len(DEFAULT_PARAMS) == 7
    plain = HeuristicTeamPolicy(SMACVectorEnv("3m", 1), "focus_fire").params
    assert plain[5] == 0.0 and plain[6] == 0.0  # the script of the earlier benchmarks, unchanged
    for kind in ("focus_fire_spread", "focus_fire_decoy"):
        params = HeuristicTeamPolicy(SMACVectorEnv("3m", 1), kind).params
        assert params.tolist() == POLICY_PARAMS[kind].tolist()


def test_hard_pipeline_config_loads():
    config = load_pipeline(ROOT / "experiments" / "maskma" / "data_pipeline_hard.yaml")
    assert len(config.maps) >= 8
    policies = {a.policy for attempts in config.attempts.values() for a in attempts}
    assert "focus_fire" in policies
    assert any("_vs_" in m and m != "3s_vs_1sc" for m in config.maps)


def test_noise_pipeline_is_the_hard_split_with_action_noise():
    hard = load_pipeline(ROOT / "experiments" / "maskma" / "data_pipeline_hard.yaml")
    noisy = load_pipeline(ROOT / "experiments" / "maskma" / "data_pipeline_hard_noise.yaml")
    assert noisy.maps == hard.maps and noisy.attempts == hard.attempts
    assert hard.action_noise == 0.0 and noisy.action_noise == 0.15 and noisy.out != hard.out


def test_decoy_pipeline_is_the_hard_split_plus_8m_with_the_decoy_expert():
    hard = load_pipeline(ROOT / "experiments" / "maskma" / "data_pipeline_hard_noise.yaml")
    decoy = load_pipeline(ROOT / "experiments" / "maskma" / "data_pipeline_decoy.yaml")
    assert set(decoy.maps) == set(hard.maps) | {"8m"} and decoy.action_noise == hard.action_noise
    assert {attempts[0].policy for attempts in decoy.attempts.values()} == {"focus_fire_decoy"}


def test_decoy_1k_pipeline_differs_from_the_decoy_one_only_in_size_and_folder():
    decoy = load_pipeline(ROOT / "experiments" / "maskma" / "data_pipeline_decoy.yaml")
    bigger = load_pipeline(ROOT / "experiments" / "maskma" / "data_pipeline_decoy_1k.yaml")
    assert bigger.episodes == 1000 and decoy.episodes == 300 and bigger.out != decoy.out
    assert (bigger.maps, bigger.attempts, bigger.action_noise) == (
        decoy.maps,
        decoy.attempts,
        decoy.action_noise,
    )
