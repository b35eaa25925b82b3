import gymnasium as gym
import numpy as np
import pytest
import torch

from rlsuite.agents.actor_critic import ActorCriticAgent
from rlsuite.agents.cpu_inference import CPURolloutPolicy, torch_difference
from rlsuite.agents.networks import StackedMLP, mlp

OBS = gym.spaces.Box(-1, 1, (5,), np.float32)
SPACES = [gym.spaces.Discrete(3), gym.spaces.Box(-2, 2, (2,), np.float32)]


def test_stacked_mlp_equals_two_independent_mlps():
    torch.manual_seed(0)
    stacked = StackedMLP(5, (16, 8), (3, 1), output_gains=(0.01, 1.0))
    actor, critic = mlp(5, (16, 8), 3), mlp(5, (16, 8), 1)
    tensors = stacked.tensors()
    with torch.no_grad():
        for net_index, net in enumerate((actor, critic)):
            linears = [m for m in net if isinstance(m, torch.nn.Linear)]
            for layer, linear in enumerate(linears):
                width = linear.weight.shape[0]
                linear.weight.copy_(tensors[2 * layer][net_index, :, :width].t())
                linear.bias.copy_(tensors[2 * layer + 1][net_index, 0, :width])
    x = torch.randn(7, 5)
    out_actor, out_critic = stacked(x)
    torch.testing.assert_close(out_actor, actor(x))
    torch.testing.assert_close(out_critic, critic(x))


def test_stacked_mlp_init_is_orthogonal_with_head_gains():
    torch.manual_seed(0)
    net = StackedMLP(64, (64,), (4, 1), output_gains=(0.01, 1.0))
    first = net.tensors()[0][0]  # [in, out] of the actor's first layer, gain sqrt(2)
    torch.testing.assert_close(first.t() @ first, 2.0 * torch.eye(64), atol=1e-4, rtol=0)
    head = net.tensors()[2][0, :, :4]
    torch.testing.assert_close(head.t() @ head, 1e-4 * torch.eye(4), atol=1e-7, rtol=0)
    assert net.tensors()[2][0, :, 4:].abs().sum() == 0  # padding columns stay zero


@pytest.mark.parametrize("action_space", SPACES, ids=["discrete", "continuous"])
@pytest.mark.parametrize("activation", ["tanh", "relu", "elu", "silu"])
def test_cpu_rollout_policy_matches_torch(action_space, activation):
    torch.manual_seed(1)
    agent = ActorCriticAgent(OBS, action_space, hidden_sizes=(32, 16), activation=activation)
    policy = CPURolloutPolicy(agent, seed=0)
    obs = np.random.default_rng(0).normal(size=(9, 5)).astype(np.float32)
    assert torch_difference(policy, obs) < 1e-5
    actions, logp, values = policy.sample(obs)
    torch_logp, _, torch_values = agent.evaluate(torch.from_numpy(obs), torch.from_numpy(actions))
    np.testing.assert_allclose(logp, torch_logp.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(values, torch_values.detach().numpy(), atol=1e-5)


def test_cpu_rollout_policy_sees_optimizer_steps_and_loads():
    agent = ActorCriticAgent(OBS, SPACES[0])
    policy = CPURolloutPolicy(agent, seed=0)
    obs = np.ones((2, 5), np.float32)
    before = policy.value(obs).copy()
    with torch.no_grad():
        agent.actor_critic.flat.add_(0.1)  # in place, as optimisers update
    assert not np.allclose(before, policy.value(obs))
    agent.load_state_dict(ActorCriticAgent(OBS, SPACES[0]).state_dict())
    assert torch_difference(policy, obs) < 1e-6


def test_categorical_sampling_frequencies():
    agent = ActorCriticAgent(OBS, gym.spaces.Discrete(3))
    with torch.no_grad():
        agent.actor_critic.flat.zero_()  # uniform policy
    policy = CPURolloutPolicy(agent, seed=0)
    actions, logp, _ = policy.sample(np.zeros((30_000, 5), np.float32))
    np.testing.assert_allclose(np.bincount(actions) / 30_000, [1 / 3] * 3, atol=0.01)
    np.testing.assert_allclose(logp, np.log(1 / 3), atol=1e-6)


def test_act_deterministic_and_clipping():
    agent = ActorCriticAgent(OBS, SPACES[1], log_std_init=3.0)
    obs = np.zeros((4, 5), np.float32)
    first, second = agent.act(obs, deterministic=True), agent.act(obs, deterministic=True)
    np.testing.assert_array_equal(first, second)
    sampled = agent.act(np.zeros((500, 5), np.float32))
    assert sampled.min() >= -2 and sampled.max() <= 2 and (np.abs(sampled) == 2).any()
