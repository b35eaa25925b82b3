"""The real gfootball adapter: layouts, reward rules, episode end, PettingZoo API and seeding on the
engine itself. Skipped (with the reason) unless gfootball is installed: scripts/install_football.sh
builds it into its own virtualenv, and `.ci/run` runs this file there."""

from __future__ import annotations

import numpy as np
import pytest

gfootball = pytest.importorskip(
    "gfootball", reason="gfootball is not installed (scripts/install_football.sh builds it into its own venv)"
)

from pettingzoo.test import parallel_api_test, parallel_seed_test  # noqa: E402

import rlsuite  # noqa: E402
from rlsuite.envs.football.real import GRFParallelEnv  # noqa: E402
from rlsuite.envs.football.scripted import scripted_actions  # noqa: E402
from rlsuite.wrappers.multi_agent import ParallelVectorEnv  # noqa: E402

SCENARIO = "academy_3_vs_1_with_keeper"


def play(env, seed, policy=scripted_actions):
    """One episode: per-agent returns, length, whether the left team scored, last infos/flags."""
    obs, infos = env.reset(seed=seed)
    returns = dict.fromkeys(env.possible_agents, 0.0)
    steps, won, last = 0, False, None
    while env.agents:
        rows = np.stack([obs[a] for a in env.possible_agents])
        actions = policy(rows)
        obs, rewards, terms, truncs, infos = env.step(dict(zip(env.possible_agents, actions.tolist())))
        for agent, reward in rewards.items():
            returns[agent] += reward
        steps += 1
        won = won or infos["player_0"]["battle_won"]
        last = (terms, truncs, infos)
    return returns, steps, won, last


@pytest.fixture(scope="module")
def env():
    env = rlsuite.make(f"rlsuite/GRF-{SCENARIO}-v0")
    yield env
    env.close()


@pytest.mark.parametrize(
    ("scenario", "agents"),
    [(SCENARIO, 3), ("academy_pass_and_shoot_with_keeper", 2), ("academy_counterattack_hard", 4)],
)
def test_layout(scenario, agents):
    env = GRFParallelEnv(scenario)
    try:
        obs, infos = env.reset(seed=0)
        assert infos["player_0"]["action_mask"].tolist() == [1] * 19 and infos["player_0"]["score"] == [0, 0]
        assert env.possible_agents == [f"player_{k}" for k in range(agents)]
        assert all(obs[a].shape == (115,) and env.action_space(a).n == 19 for a in env.possible_agents)
        assert env.state().shape == (115 + 11 * (agents - 1),)
        row = obs["player_0"]
        assert row[94:97].sum() == 1 and row[108:115].sum() == 1 and row[97:108].sum() == 1
        if scenario != "academy_counterattack_hard":  # fewer than 11 a side: v2 pads with -1
            assert (row[16:22] == -1).all() and (row[48:66] == -1).all()
        assert env.raw_observation()["steps_left"] == 401
    finally:
        env.close()


def test_checkpoints_and_goal_pay_two_per_agent(env):
    """A scoring episode pays every agent exactly 2.0 (checkpoints + the rest on the goal); others <= 1."""
    goals = 0
    for seed in range(40):
        returns, steps, won, _ = play(env, seed)
        assert steps <= 401
        for value in returns.values():
            if won:
                assert value == pytest.approx(2.0, abs=1e-5)
            else:
                assert -1e-6 <= value <= 1.0 + 1e-6
        goals += won
    assert goals >= 1, "the scripted policy never scored in 40 episodes"


def test_first_control_pays_seven_checkpoints(env):
    env.reset(seed=0)
    total = np.zeros(3)
    for _ in range(5):
        _, rewards, *_ = env.step(dict.fromkeys(env.possible_agents, 0))
        total += list(rewards.values())
    np.testing.assert_allclose(total, [0.7, 0.0, 0.0], atol=1e-6)


def test_episode_ends_terminate_and_scoring_only(env):
    _, steps, won, (terms, truncs, infos) = play(env, 3)
    assert all(terms.values()) and not any(truncs.values()) and steps < 401  # goal / out / possession change
    assert infos["player_0"]["score"] == [int(won), 0]
    scoring = GRFParallelEnv(SCENARIO, rewards="scoring")
    try:
        returns, _, won, _ = play(scoring, 0)
        assert set(returns.values()) == {1.0 if won else 0.0}
    finally:
        scoring.close()


def test_bad_input(env):
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"outside \[0, 19\)"):
        env.step({"player_0": 0, "player_1": 0, "player_2": 20})
    with pytest.raises(ValueError, match="must be in"):
        GRFParallelEnv(SCENARIO, n_agents=7)


def test_pettingzoo_api_and_seed():
    parallel_api_test(GRFParallelEnv(SCENARIO), num_cycles=60)
    parallel_seed_test(lambda: GRFParallelEnv(SCENARIO))


def test_make_vec_steps_copies_of_the_engine():
    vec = rlsuite.make_vec(f"rlsuite/GRF-{SCENARIO}-v0", 2)
    try:
        assert isinstance(vec, ParallelVectorEnv)
        assert not hasattr(vec, "get_state")  # a C++ engine is not plain data: checkpoints skip its state
        obs, info = vec.reset(seed=0)
        assert obs.shape == (2, 3, 115) and info["state"].shape == (2, 137) and vec.episode_limit == 401
        for _ in range(20):
            obs, reward, terminated, truncated, info = vec.step(np.zeros((2, 3), dtype=np.int64))
            assert reward.shape == terminated.shape == truncated.shape == (2,) and obs.shape == (2, 3, 115)
    finally:
        vec.close()
