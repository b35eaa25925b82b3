"""Q-value estimation error: discounted returns, the truncation tail, and Q - G on a known critic."""

import numpy as np
import pytest
import torch

from rlsuite.algos.sac import SAC, SACConfig
from rlsuite.config import EnvConfig
from rlsuite.offline.q_error import discounted_returns, play_episode, q_estimation_error, truncation_tail

ENV = "test/IdentityContinuous-v0"  # 20 steps, truncated by its time limit, rewards -(a - target)^2 <= 0


def test_discounted_returns_and_tail():
    np.testing.assert_allclose(discounted_returns(np.array([1.0, 2.0, 3.0]), 0.5), [2.75, 3.5, 3.0])
    assert truncation_tail(0.99) == 299 and truncation_tail(0.5) == 5 and truncation_tail(0.0) == 0


def test_constant_critic_error_is_its_value_minus_the_monte_carlo_returns():
    algo = SAC(EnvConfig(id=ENV, num_envs=1), SACConfig(hidden_sizes=(8, 8), gamma=0.5), seed=0, device="cpu")
    with torch.no_grad():
        algo.critic.flat.zero_()
        algo.critic.net.tensors()[-1].fill_(2.0)  # output bias: Q = 2 everywhere, every member
    result = q_estimation_error(algo, episodes=3, seed=7)
    assert result.episodes == 3 and result.states == 3 * (20 - 5)  # the last 5 steps of each are cut
    env = algo._make_env(1)
    returns = []
    for episode in range(3):
        _, _, rewards, terminated = play_episode(algo, env, 7 + episode)
        assert not terminated and len(rewards) == 20
        returns.append(discounted_returns(rewards, 0.5)[:15])
    g = np.concatenate(returns)
    assert result.q_mean == pytest.approx(2.0)
    assert result.mc_return_mean == pytest.approx(g.mean())
    assert result.bias == pytest.approx(2.0 - g.mean()) and result.min_q_bias == pytest.approx(result.bias)
    assert result.abs_error == pytest.approx(np.abs(2.0 - g).mean())
    assert result.relative_bias == pytest.approx((2.0 - g.mean()) / np.abs(g).mean())
    assert result.bias > 2.0  # rewards are <= 0, so G <= 0


def test_all_states_cut_gives_nan_and_bad_episode_count_is_rejected():
    algo = SAC(EnvConfig(id=ENV, num_envs=1), SACConfig(hidden_sizes=(8, 8)), seed=0, device="cpu")
    result = q_estimation_error(algo, episodes=1)  # gamma 0.99: a 20-step truncated episode keeps nothing
    assert result.states == 0 and np.isnan(result.bias)
    with pytest.raises(ValueError, match="episodes"):
        q_estimation_error(algo, episodes=0)
