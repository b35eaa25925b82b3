"""Interface matrix (SB3-style) on tiny envs: discrete/continuous x train/save/load/resume."""

import numpy as np
import pytest
import torch

from rlsuite.agents.base import Agent
from rlsuite.algos import algorithm_names, get_algorithm
from rlsuite.algos.base import Algorithm
from rlsuite.algos.ppo import PPO, PPOConfig
from rlsuite.config import EnvConfig

ENVS = ["test/IdentityDiscrete-v0", "test/IdentityContinuous-v0"]


def small_ppo(env_id, seed=0, **overrides):
    cfg = PPOConfig(num_steps=16, minibatch_size=32, update_epochs=2, **overrides)
    return PPO(EnvConfig(id=env_id, num_envs=4), cfg, seed=seed, device="cpu")


@pytest.mark.parametrize("env_id", ENVS)
def test_train_act_evaluate(env_id):
    algo = small_ppo(env_id)
    assert isinstance(algo.agent, Agent)
    algo.learn(200)
    assert algo.global_step == 256  # whole rollouts: 4 iterations x 16 steps x 4 envs
    obs, _ = algo.env.reset(seed=1)
    actions = algo.agent.act(obs, deterministic=True)
    assert actions.shape[0] == 4
    assert algo.env.action_space.contains(actions.astype(algo.env.action_space.dtype))
    result = algo.evaluate(episodes=3)
    assert len(result.returns) == 3


@pytest.mark.parametrize("env_id", ENVS)
def test_save_load_restores_identical_actions(env_id, tmp_path):
    algo = small_ppo(env_id, normalize_obs=True, normalize_reward=True)
    algo.learn(128)
    algo.save(tmp_path / "ckpt.pt")
    restored = Algorithm.from_checkpoint(tmp_path / "ckpt.pt", device="cpu")
    assert isinstance(restored, PPO) and restored.global_step == algo.global_step
    obs = np.random.default_rng(0).uniform(-1, 1, (5, *algo.env.single_observation_space.shape))
    np.testing.assert_array_equal(algo.agent.act(obs, True), restored.agent.act(obs, True))
    np.testing.assert_array_equal(
        restored.agent.obs_normalizer.stats.mean, algo.agent.obs_normalizer.stats.mean
    )


@pytest.mark.parametrize("env_id", ENVS)
def test_resume_continues_exactly(env_id, tmp_path):
    straight = small_ppo(env_id, seed=3, normalize_obs=True, normalize_reward=True, anneal_lr=False)
    straight.learn(512)

    first = small_ppo(env_id, seed=3, normalize_obs=True, normalize_reward=True, anneal_lr=False)
    first.learn(256)
    first.save(tmp_path / "half.pt")
    del first
    torch.manual_seed(12345)  # disturb global RNG state: the checkpoint must restore it
    np.random.seed(99)
    second = small_ppo(env_id, seed=0, normalize_obs=True, normalize_reward=True, anneal_lr=False)
    second.load(tmp_path / "half.pt")
    second.learn(512)

    for a, b in zip(straight.agent.state_dict().values(), second.agent.state_dict().values()):
        if isinstance(a, torch.Tensor):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
    np.testing.assert_array_equal(straight.obs, second.obs)
    assert (
        straight.episodes.state_dict()["finished_returns"] == second.episodes.state_dict()["finished_returns"]
    )


def test_capabilities_reject_unsupported_spaces():
    class DiscreteOnly(PPO):
        capabilities = PPO.capabilities.__class__(discrete_actions=True, continuous_actions=False)

    with pytest.raises(ValueError, match="continuous actions and the algorithm needs discrete"):
        DiscreteOnly(EnvConfig(id="test/IdentityContinuous-v0", num_envs=2), seed=0, device="cpu")


def test_wrong_config_type_is_rejected():
    with pytest.raises(TypeError, match="takes a PPOConfig"):
        PPO("test/IdentityDiscrete-v0", config={"lr": 1e-3})


def test_algorithm_registry_lookup():
    assert "ppo" in algorithm_names()
    assert get_algorithm("ppo") is PPO
    with pytest.raises(KeyError, match="did you mean 'ppo'"):
        get_algorithm("ppo2")


def test_ppo_learns_identity_tasks(margin):
    discrete = small_ppo("test/IdentityDiscrete-v0", seed=0, lr=3e-3)
    discrete.learn(8_000)
    assert margin("discrete eval return", discrete.evaluate(episodes=5).mean, 19.0)  # optimum 20
    continuous = small_ppo("test/IdentityContinuous-v0", seed=0, lr=3e-3)
    before = continuous.evaluate(episodes=5).mean
    continuous.learn(15_000)
    after = continuous.evaluate(episodes=5).mean
    assert margin("continuous eval return", after, -1.0)  # optimum 0; a zero policy scores about -6.7
    assert margin("continuous improvement", after - before, 2.0)


def test_ppo_trains_on_async_and_sync_vector_envs():
    for vectorization in ("sync", "async"):
        env = EnvConfig(id="test/IdentityDiscrete-v0", num_envs=2, vectorization=vectorization)
        algo = PPO(env, PPOConfig(num_steps=8, minibatch_size=8, update_epochs=1), seed=0, device="cpu")
        algo.learn(64)  # 32 steps per env: one finished 20-step episode each
        assert algo.global_step == 64 and algo.episodes.total_episodes == 2
        algo.close()


def test_truncated_steps_are_bootstrapped_with_the_final_value():
    algo = small_ppo("test/IdentityDiscrete-v0", gamma=0.5, bootstrap_truncated=True)
    algo.learn(algo.config.num_steps * 4 * 2)  # 32 steps per env: the 20-step episode is cut once
    flat = algo.buffer
    cut = np.argwhere(flat.dones == 1)
    assert len(cut) == 4  # one time-limit cut per env in the last rollout (steps 40 of 20-step episodes)
    # a truncated reward is the env reward (0 or 1) plus gamma * V(final obs): not an integer any more
    assert all(abs(flat.rewards[t, n] - round(flat.rewards[t, n])) > 1e-6 for t, n in cut)


def test_chunked_learning_with_a_horizon_equals_one_call():
    straight = small_ppo("test/IdentityDiscrete-v0", seed=5)  # anneal_lr is on by default
    straight.learn(512)
    chunked = small_ppo("test/IdentityDiscrete-v0", seed=5)
    for target in (128, 256, 512):
        chunked.learn(target, horizon=512)
    for a, b in zip(straight.agent.parameters(), chunked.agent.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    restarted = small_ppo("test/IdentityDiscrete-v0", seed=5)
    restarted.learn(256)
    restarted.learn(512)  # no horizon: the schedule restarts, so the weights differ
    assert not torch.equal(restarted.agent.actor_critic.flat, straight.agent.actor_critic.flat)
