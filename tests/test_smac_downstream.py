"""MaskMA's downstream tasks as SMAC env options: ally malfunction, ad hoc joining, varied-policy play."""

from __future__ import annotations

import numpy as np
import pytest

import rlsuite
from rlsuite.envs.smac import core
from rlsuite.envs.smac.custom_maps import custom_map
from rlsuite.envs.smac.downstream import DownstreamOptions, HeuristicTeamPolicy, VariedPolicyTeamEnv
from rlsuite.envs.smac.heuristic import attack_nearest_actions
from rlsuite.envs.smac.vector import SMACVectorEnv
from rlsuite.training.evaluation import evaluate_policy


def _first_available(mask: np.ndarray) -> np.ndarray:
    """The highest-index available action (attacks first): what a malfunction must override."""
    return mask.shape[-1] - 1 - np.argmax(mask[..., ::-1], axis=-1)


def test_malfunctioning_ally_stops_from_step_k():
    env = SMACVectorEnv("3m", 4, downstream={"malfunction_agents": [0], "malfunction_step": 3})
    _, info = env.reset(seed=0)
    for t in range(8):
        mask = info["action_mask"]
        alive = env.battles.ist[:, 0, core.IS_ALIVE] != 0
        if t >= 3:
            expected = np.zeros_like(mask[:, 0])
            expected[alive, 1] = True
            expected[~alive, 0] = True
            np.testing.assert_array_equal(mask[:, 0], expected)
        else:
            assert mask[:, 0, 2:].any()  # moves (and maybe attacks) still available before step k
        _obs, _, term, trunc, info = env.step(_first_available(mask))
        assert not (term | trunc).any()
        if t >= 3:
            assert (env.battles.last_action[alive, 0] == 1).all()  # it played stop
    # the override also applies to actions chosen from a stale mask
    actions = np.full((4, 3), 2)
    forced = env.downstream.override_actions(actions)
    assert (forced[:, 0] <= 1).all() and (forced[:, 1:] == 2).all()


def test_malfunction_lowers_the_heuristic_win_rate():
    def win_rate(downstream):
        env = SMACVectorEnv("MMM", 16, downstream=downstream)
        result = evaluate_policy(HeuristicTeamPolicy(env), env, 16, seed=3)
        return float(np.mean(result.wins))

    healthy = win_rate(None)
    broken = win_rate({"malfunction_agents": [0, 1, 2, 3, 4], "malfunction_step": 5})
    assert healthy >= 0.8 and broken <= healthy - 0.3, (healthy, broken)


def test_late_agent_joins_at_the_chosen_fraction():
    paper = SMACVectorEnv("8m_vs_9m", 1, downstream={"join_agents": [7], "join_fraction": 0.2})
    assert paper.downstream.join_step == 24  # the paper's marine joins one fifth into 120 steps
    # three marines facing a static spine crawler out of range: nothing fights while they hold position
    quiet = custom_map("join_test", {"marine": 3}, {"spine_crawler": 1}, layout="open", episode_limit=150)
    env = SMACVectorEnv(quiet, 2, entity_features=True, downstream={"join_agents": [2], "join_fraction": 0.2})
    assert env.downstream.join_step == 30
    obs, info = env.reset(seed=1)
    assert not info["entity_alive"][:, 2].any() and (obs[:, 2] == 0).all()
    assert (info["action_mask"][:, 2, 0]).all() and not info["action_mask"][:, 2, 1:].any()
    assert not info["entity_visible"][:, :, 2].any()  # no one sees the absent marine
    rewards = []
    for t in range(1, 31):
        stop = np.where(info["action_mask"][..., 1], 1, 0)
        obs, reward, term, trunc, info = env.step(stop)
        rewards.append(reward)
        assert not (term | trunc).any()
        assert info["entity_alive"][:, 2].all() == (t >= 30)
    assert np.allclose(rewards, 0.0)  # the absence cost no death penalty and gave no reward
    np.testing.assert_allclose(env.battles.fs[:, 2, core.FS_HEALTH], 45.0)  # a full-health marine
    np.testing.assert_allclose(env.battles.fs[:, 2, :2], env.battles.spawn_xy[:, 2], atol=1e-9)
    assert info["action_mask"][:, 2, 2:6].any() and (obs[:, 2] != 0).any()
    env.reset(seed=2)  # the next episode starts without it again
    assert not (env.battles.ist[:, 2, core.IS_ALIVE]).any()


def test_options_are_checked_and_reach_the_registry():
    with pytest.raises(ValueError, match="unknown options \\['joinstep'\\]"):
        SMACVectorEnv("3m", 1, downstream={"join_agents": [0], "joinstep": 3})
    with pytest.raises(ValueError, match="exactly one of join_step or join_fraction"):
        DownstreamOptions(join_agents=(0,))
    with pytest.raises(ValueError, match="agents \\[5\\] out of range"):
        SMACVectorEnv("3m", 1, downstream={"malfunction_agents": [5]})
    env = rlsuite.make_vec("rlsuite/SMAC-3m-v0", 2, downstream={"join_agents": [2], "join_step": 5})
    _, info = env.reset(seed=0)
    assert not info["action_mask"][:, 2, 1:].any()


def test_varied_policy_drives_the_chosen_agents():
    env = VariedPolicyTeamEnv(SMACVectorEnv("3m", 4), "heuristic", agents=(2,))
    _, info = env.reset(seed=0)
    assert env.team_spec.n_agents == 3 and env.num_envs == 4
    battles = env.unwrapped_team_env.battles
    for _ in range(5):
        expected = np.zeros((4, 3), dtype=np.int64)
        attack_nearest_actions(
            battles.fs, battles.ist, battles.table, info["action_mask"].astype(np.int64), 3, expected
        )
        stop = np.where(info["action_mask"][..., 1], 1, 0)
        _obs, _, _, _, info = env.step(stop)
        np.testing.assert_array_equal(info["driven_actions"][:, 0], expected[:, 2])
        np.testing.assert_array_equal(battles.last_action[:, :2], stop[:, :2])
        np.testing.assert_array_equal(battles.last_action[:, 2], expected[:, 2])
    with pytest.raises(ValueError, match=r"agent indices in 0\.\.2"):
        VariedPolicyTeamEnv(SMACVectorEnv("3m", 1), "heuristic", agents=(3,))
