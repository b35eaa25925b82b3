"""SAC and TD3: interface, exact resume with the replay buffer, schedules and clear errors."""

import warnings

import numpy as np
import pytest
import torch

from rlsuite.agents.base import Agent
from rlsuite.algos.base import Algorithm
from rlsuite.algos.sac import SAC, SACConfig
from rlsuite.algos.td3 import TD3, TD3Config
from rlsuite.config import EnvConfig
from rlsuite.core.replay import ReplayNotRestoredWarning

ENV = "test/IdentityContinuous-v0"
SMALL = {"hidden_sizes": (32, 32), "learning_starts": 64, "batch_size": 32, "buffer_size": 1000}


def make(cls, seed=0, num_envs=2, **overrides):
    config_cls = SACConfig if cls is SAC else TD3Config
    return cls(
        EnvConfig(id=ENV, num_envs=num_envs), config_cls(**{**SMALL, **overrides}), seed=seed, device="cpu"
    )


def flat_params(algo):
    return torch.cat([p.detach().flatten() for p in algo.actor.parameters()] + [algo.critic.flat.detach()])


@pytest.mark.parametrize("cls", [SAC, TD3])
def test_train_act_evaluate(cls):
    algo = make(cls)
    assert isinstance(algo.agent, Agent)
    algo.learn(200)
    assert algo.global_step == 200 and len(algo.buffer) == 200
    assert algo.gradient_steps == 200 - 64  # one per env step once learning starts (utd 1)
    actions = algo.agent.act(np.zeros((5, 1), np.float32), deterministic=True)
    assert actions.shape == (5, 1) and np.all(np.abs(actions) <= 1)
    stats = algo.logged_stats()
    assert np.isfinite(stats["train/critic_loss"]) and stats["train/gradient_steps"] == 136
    assert len(algo.evaluate(episodes=3).returns) == 3


def test_utd_ratio_and_train_freq_schedule():
    algo = make(SAC, utd_ratio=0.5, train_freq=3)
    algo.learn(64 + 60)
    assert algo.iteration == 21 and algo.global_step == 126  # 6 env steps an iteration
    assert algo.gradient_steps == 3 * 11  # 11 iterations end past learning_starts (66, 72, ..., 126)


@pytest.mark.parametrize("cls", [SAC, TD3])
def test_resume_with_replay_buffer_continues_exactly(cls, tmp_path):
    straight = make(cls, seed=5)
    straight.learn(300)

    first = make(cls, seed=5)
    first.learn(150)
    first.save(tmp_path / "half.pt")
    del first
    torch.manual_seed(1)  # disturb the global RNGs: the checkpoint must restore them
    np.random.seed(2)
    resumed = Algorithm.from_checkpoint(tmp_path / "half.pt", device="cpu")
    assert isinstance(resumed, cls) and len(resumed.buffer) == 150
    resumed.learn(300)
    torch.testing.assert_close(flat_params(resumed), flat_params(straight), rtol=0, atol=0)
    torch.testing.assert_close(resumed.buffer.obs, straight.buffer.obs, rtol=0, atol=0)
    assert resumed.logged_stats() == straight.logged_stats()


def test_checkpoint_without_replay_buffer_warns(tmp_path):
    algo = make(SAC)
    algo.learn(100)
    algo.save_replay_buffer = False
    algo.save(tmp_path / "no_replay.pt")
    with pytest.warns(ReplayNotRestoredWarning, match="no replay buffer"):
        restored = Algorithm.from_checkpoint(tmp_path / "no_replay.pt", device="cpu")
    assert len(restored.buffer) == 0
    with warnings.catch_warnings():  # evaluation, export and data collection only act: no warning
        warnings.simplefilter("error")
        acting = Algorithm.from_checkpoint(tmp_path / "no_replay.pt", device="cpu", inference=True)
    torch.testing.assert_close(flat_params(acting), flat_params(restored), rtol=0, atol=0)


def test_sac_temperature_is_tuned_towards_target_entropy():
    algo = make(SAC, learning_starts=32)
    algo.learn(400)
    assert algo.log_alpha.exp().item() < 0.95  # alpha falls from 1.0 while entropy exceeds -dim(A)
    fixed = make(SAC, learning_starts=32, autotune_alpha=False, init_alpha=0.2)
    fixed.learn(100)
    assert fixed.log_alpha.exp().item() == pytest.approx(0.2)


def test_n_step_config_reaches_the_buffer():
    algo = make(TD3, n_step=3, gamma=0.9)
    assert algo.buffer.n_step == 3 and algo.buffer.gamma == 0.9
    algo.learn(100)
    assert algo.gradient_steps > 0


def test_discrete_env_is_rejected_with_reason():
    with pytest.raises(ValueError, match="needs continuous"):
        SAC(EnvConfig(id="test/IdentityDiscrete-v0"), SACConfig(**SMALL), device="cpu")


def test_diverged_policy_raises_a_clear_error():
    algo = make(SAC)
    algo.learn(64)
    with torch.no_grad():
        for p in algo.actor.parameters():
            p.fill_(float("nan"))
    with pytest.raises(FloatingPointError, match="non-finite actions"):
        algo.learn(100)
