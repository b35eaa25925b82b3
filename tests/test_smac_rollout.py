"""The planning SMAC expert (multiagent rollout over the focus-fire script): exact model, ties, wins."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from maskma_helpers import scripted_win_rates

from rlsuite.envs.smac.downstream import SCRIPTED_POLICIES, HeuristicTeamPolicy
from rlsuite.envs.smac.rollout import ROLLOUT_POLICIES, RolloutConfig, RolloutPlanner, team_life
from rlsuite.envs.smac.vector import SMACVectorEnv
from rlsuite.offline.team_pipeline import load_pipeline


def _life_difference(env: SMACVectorEnv) -> np.ndarray:
    b = env.battles
    n = env.n_agents
    return team_life(b.table, b.fs, b.ist, 0, n) - team_life(b.table, b.fs, b.ist, n, n + env.n_enemies)


def test_a_rollout_of_the_base_action_replays_the_real_battle_exactly():
    """The model is the simulator: scoring the script's own joint action equals playing the script for
    horizon + 1 steps in the real battle (positions, targets and the random stream are all copied)."""
    env = SMACVectorEnv("2s3z", 2)
    env.reset(seed=3)
    planner = RolloutPlanner(env.battles, RolloutConfig(horizon=6))
    for _ in range(8):  # into the fight first, so the rollout sees damage
        env.step(planner.base_actions(env.battles, env.battles.avail_actions()))
    base = planner.base_actions(env.battles, env.battles.avail_actions())
    before = {k: v.copy() for k, v in env.battles.get_state().items()}
    predicted = planner.scores(np.array([0, 1]), base)
    for k, v in env.battles.get_state().items():  # planning never writes the real battles
        np.testing.assert_array_equal(v, before[k])
    for _ in range(7):
        env.step(planner.base_actions(env.battles, env.battles.avail_actions()))
    np.testing.assert_allclose(predicted, _life_difference(env), atol=1e-9)
    assert predicted.min() != 0.0  # damage was done, so the check compares something


def test_equal_scores_keep_the_base_action():
    """At the start nobody is in range: with a one-step horizon every move scores the same, so the planner
    plays exactly the script."""
    env = SMACVectorEnv("3s5z", 4)
    env.reset(seed=0)
    planner = RolloutPlanner(env.battles, RolloutConfig(horizon=0))
    avail = env.battles.avail_actions()
    np.testing.assert_array_equal(planner.act(avail), planner.base_actions(env.battles, avail))


def test_a_margin_larger_than_any_gain_keeps_the_script_and_a_zero_margin_does_not():
    env = SMACVectorEnv("5m_vs_6m", 4)
    env.reset(seed=2)
    cautious = RolloutPlanner(env.battles, RolloutConfig(min_gain=1e9))
    eager = RolloutPlanner(env.battles, RolloutConfig())
    deviations = 0
    for _ in range(20):
        avail = env.battles.avail_actions()
        base = eager.base_actions(env.battles, avail)
        np.testing.assert_array_equal(cautious.act(avail), base)
        actions = eager.act(avail)
        deviations += int((actions != base).sum())
        env.step(actions)
    assert deviations > 0


def test_planner_wins_an_outnumbered_fight_the_script_loses():
    """5m_vs_6m: the decoy script wins none of 8 seeded battles, the planner over it most (measured 8/8)."""
    rates = scripted_win_rates("5m_vs_6m", ("focus_fire_decoy", "focus_fire_rollout"), 8)
    assert rates["focus_fire_decoy"] <= 1 / 8 and rates["focus_fire_rollout"] >= 6 / 8, rates


def test_rollout_policies_are_scripted_policies_and_configs_are_checked():
    assert set(ROLLOUT_POLICIES) <= set(SCRIPTED_POLICIES)
    with pytest.raises(ValueError, match="base"):
        RolloutConfig(base="nope")
    with pytest.raises(ValueError, match="horizon"):
        RolloutConfig(horizon=-1)
    with pytest.raises(ValueError, match="min_gain"):
        RolloutConfig(min_gain=-0.5)
    with pytest.raises(ValueError, match="params"):  # the focus-fire kernel's numbers do not apply
        HeuristicTeamPolicy(SMACVectorEnv("3m", 1), "focus_fire_rollout", params=[3, 8, 0, 400, 1, 1, 1.5])


def test_rollout_pipelines_change_only_the_expert_and_the_outnumbered_maps():
    root = Path(__file__).resolve().parents[1] / "experiments" / "maskma"
    decoy = load_pipeline(root / "data_pipeline_decoy.yaml")
    rollout = load_pipeline(root / "data_pipeline_rollout.yaml")
    outnumbered = load_pipeline(root / "data_pipeline_outnumbered.yaml")
    assert rollout.maps == decoy.maps and rollout.action_noise == decoy.action_noise
    assert {attempts[0].policy for attempts in rollout.attempts.values()} == {"focus_fire_rollout"}
    swapped = {"3m", "8m", "MMM"}
    added = set(outnumbered.maps) - set(rollout.maps)
    assert set(rollout.maps) - set(outnumbered.maps) == swapped and len(added) == len(swapped)
    assert all("_vs_" in m for m in added) and outnumbered.attempts[next(iter(added))][0].policy == (
        "focus_fire_rollout"
    )
    assert len({rollout.out, outnumbered.out, decoy.out}) == 3
