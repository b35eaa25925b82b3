"""QMIX and VDN: monotonic mixing, TD targets by hand, available actions only, exact resume, learning."""

import numpy as np
import pytest
import torch

from rlsuite.agents.recurrent import RecurrentAgentNetwork, RecurrentQAgent
from rlsuite.algos import get_algorithm
from rlsuite.algos.base import Algorithm
from rlsuite.algos.qmix import QMIX, QMIXConfig, QMixer, TeamEpisodes, VDNMixer, td_targets
from rlsuite.algos.vdn import VDN, VDNConfig
from rlsuite.config import EnvConfig, EvalConfig
from rlsuite.core.team import TeamObservation

ENV = "rlsuite/SMAC-3m-v0"


def small_qmix(cls=QMIX, seed=0, num_envs=4, **overrides):
    config_cls = VDNConfig if cls is VDN else QMIXConfig
    defaults = dict(batch_size=4, buffer_size=64, target_update_episodes=6, epsilon_anneal_steps=2000)
    cfg = config_cls(**{**defaults, **overrides})
    return cls(EnvConfig(id=ENV, num_envs=num_envs), cfg, seed=seed, device="cpu")


# --- mixers ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("hypernet_layers", [1, 2])
def test_qmix_mixer_is_monotonic_in_every_agent_value(hypernet_layers):
    torch.manual_seed(0)
    mixer = QMixer(n_agents=5, state_size=12, embed_dim=8, hypernet_layers=hypernet_layers, hypernet_embed=16)
    with torch.no_grad():  # larger, sign-mixed weights than the default init, to stress the |.|
        for p in mixer.parameters():
            p.mul_(3.0)
    states = torch.randn(256, 12)
    qs = (torch.randn(256, 5) * 5).requires_grad_()
    q_tot = mixer(qs, states)
    assert q_tot.shape == (256,)
    (grad,) = torch.autograd.grad(q_tot.sum(), qs)
    assert (grad >= 0).all() and (grad > 0).any()
    # and by finite differences: raising any one agent's value never lowers Q_tot
    with torch.no_grad():
        for i in range(5):
            bumped = qs.detach().clone()
            bumped[:, i] += 0.5
            assert (mixer(bumped, states) >= q_tot.detach() - 1e-5).all()


def test_qmix_mixer_handles_leading_batch_and_time_dimensions():
    mixer = QMixer(n_agents=3, state_size=4, embed_dim=8)
    qs, states = torch.randn(2, 7, 3), torch.randn(2, 7, 4)
    out = mixer(qs, states)
    assert out.shape == (2, 7)
    torch.testing.assert_close(out[1, 3], mixer(qs[1, 3:4], states[1, 3:4])[0])


def test_vdn_mixer_is_the_sum():
    qs = torch.randn(4, 6, 3)
    torch.testing.assert_close(VDNMixer()(qs, torch.randn(4, 6, 10)), qs.sum(-1))


# --- targets -----------------------------------------------------------------------------------------
def test_td_targets_by_hand():
    gamma, lam = 0.9, 0.5
    # episode 0: 2 real steps, terminated at t=1 (t=2 is padding); episode 1: 3 steps, cut by the time limit
    reward = torch.tensor([[1.0, 2.0, 99.0], [0.5, 0.0, 1.0]])
    terminated = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    mask = torch.tensor([[True, True, False], [True, True, True]])
    v = torch.tensor([[10.0, 20.0, 30.0], [4.0, 5.0, 6.0]])  # Qbar_tot(s_{t+1})
    one_step = td_targets(reward, terminated, mask, v, gamma)
    expected = torch.tensor([[1 + 0.9 * 10, 2.0, 0.0], [0.5 + 0.9 * 4, 0.9 * 5, 1 + 0.9 * 6]])
    torch.testing.assert_close(one_step[mask], expected[mask])
    assert one_step[1, 2].item() == pytest.approx(1 + gamma * 6)  # truncated, not terminated: bootstraps
    lam_targets = td_targets(reward, terminated, mask, v, gamma, lam)
    y01 = 2.0  # terminal
    y00 = 1 + gamma * ((1 - lam) * 10 + lam * y01)
    y12 = 1 + gamma * 6  # last step of a truncated episode: Qbar of the final state
    y11 = 0 + gamma * ((1 - lam) * 5 + lam * y12)
    y10 = 0.5 + gamma * ((1 - lam) * 4 + lam * y11)
    torch.testing.assert_close(lam_targets[mask], torch.tensor([y00, y01, y10, y11, y12]))


def _constant_q(network: RecurrentAgentNetwork, values: list[float]) -> None:
    """Make a network output the same Q-values for every input (zero output weights, fixed bias)."""
    with torch.no_grad():
        network.fc2.weight.zero_()
        network.fc2.bias.copy_(torch.tensor(values))


def _hand_batch(algo):
    """Two episodes of 3m: one terminated after 2 steps (3rd step padding), one truncated after 3."""
    n, a = algo.n_agents, algo.n_actions
    gen = torch.Generator().manual_seed(0)
    obs = torch.randn(2, 4, n, algo.env.obs_size, generator=gen)
    state = torch.randn(2, 4, algo.env.state_size, generator=gen)
    action_mask = torch.ones(2, 4, n, a, dtype=torch.bool)
    action_mask[:, :, :, 2] = False  # action 2 (the online network's favourite) is never available
    actions = torch.tensor([[[0, 1, 3], [1, 1, 1], [0, 0, 0]], [[3, 3, 3], [1, 0, 1], [4, 4, 4]]])
    reward = torch.tensor([[1.0, 2.0, 0.0], [0.5, 0.0, 1.0]])
    terminated = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    mask = torch.tensor([[True, True, False], [True, True, True]])
    return TeamEpisodes(
        obs=obs,
        state=state,
        action_mask=action_mask,
        actions=actions,
        reward=reward,
        terminated=terminated,
        mask=mask,
    )


def test_loss_by_hand_with_double_q_over_available_actions():
    algo = small_qmix(VDN, num_envs=1, gamma=0.9)
    online = [0.0, 1.0, 9.0, 3.0, 2.0, 0.0, 0.0, 0.0, 0.0]  # best: 2 (unavailable), then 3
    target = [5.0, 0.0, 7.0, 1.5, 8.0, 0.0, 0.0, 0.0, 0.0]  # the target's own best (4) must not be used
    _constant_q(algo.agent.network, online)
    _constant_q(algo.target_network, target)
    batch = _hand_batch(algo)
    loss, stats = algo.loss(batch)
    q = torch.tensor(online)[batch.actions].sum(-1)  # VDN: Q_tot = sum of the chosen Q_i
    next_q_tot = 3 * target[3]  # online argmax among available actions (3), valued by the target
    y = batch.reward + 0.9 * (1 - batch.terminated) * next_q_tot
    m = batch.mask
    torch.testing.assert_close(loss, ((q - y)[m] ** 2).mean())
    torch.testing.assert_close(stats["target_mean"], y[m].mean())

    # padding contributes nothing: change everything after episode 0's end
    padded = TeamEpisodes(*(v.clone() for v in batch))
    padded.reward[0, 2] = 1e3
    padded.actions[0, 2] = 4
    padded.obs[0, 3] += 100.0
    torch.testing.assert_close(algo.loss(padded)[0], loss)

    # without double Q the target network picks (among available actions): 4
    algo.config.double_q = False
    y_single = batch.reward + 0.9 * (1 - batch.terminated) * 3 * target[4]
    torch.testing.assert_close(algo.loss(batch)[0], ((q - y_single)[m] ** 2).mean())
    algo.close()


def test_qmix_loss_ignores_the_final_state_of_terminated_episodes_only():
    algo = small_qmix(num_envs=1)
    batch = _hand_batch(algo)
    base = algo.loss(batch)[0]
    terminated_final = TeamEpisodes(*(v.clone() for v in batch))
    terminated_final.state[0, 2:] += 5.0  # after the terminal step of episode 0 (and padding)
    terminated_final.obs[0, 2:] += 5.0
    torch.testing.assert_close(algo.loss(terminated_final)[0], base)
    truncated_final = TeamEpisodes(*(v.clone() for v in batch))
    truncated_final.state[1, 3] += 5.0  # the state after episode 1's time-limit cut: bootstrapped
    assert not torch.allclose(algo.loss(truncated_final)[0], base)
    algo.close()


def _observation(obs: np.ndarray, mask: np.ndarray) -> TeamObservation:
    """A team observation of ``obs`` and ``mask`` (the global state does not matter for acting)."""
    return TeamObservation(obs, np.zeros((len(obs), 1), np.float32), mask)


# --- acting --------------------------------------------------------------------------------------------
def test_agent_never_chooses_unavailable_actions():
    rng = np.random.default_rng(0)
    n_envs, n_agents, n_actions = 16, 3, 9
    agent = RecurrentQAgent(obs_size=5, n_agents=n_agents, n_actions=n_actions, seed=0)
    with torch.no_grad():  # make unavailable actions the greedy favourites
        agent.network.fc2.bias.copy_(torch.arange(n_actions, 0, -1).float() * 10)
    state = agent.initial_state(n_envs)
    for _ in range(60):
        mask = rng.random((n_envs, n_agents, n_actions)) < 0.3
        mask[rng.random((n_envs, n_agents)) < 0.2] = False
        mask[..., 0] |= ~mask.any(-1)  # dead agents: only action 0 (no-op)
        obs = rng.normal(size=(n_envs, n_agents, 5)).astype(np.float32)
        observation = _observation(obs, mask)
        for epsilon, deterministic in ((1.0, False), (0.0, False), (0.3, False), (1.0, True)):
            agent.epsilon = epsilon
            actions, state = agent.step(observation, state, deterministic=deterministic)
            assert actions.shape == (n_envs, n_agents)
            assert np.take_along_axis(mask, actions[..., None], -1).all()
    agent.epsilon = 1.0  # uniform over available actions: every available action gets picked
    mask = np.zeros((1, n_agents, n_actions), bool)
    mask[..., [1, 4, 7]] = True
    observation = _observation(np.zeros((1, n_agents, 5)), mask)
    picks = {int(a) for _ in range(50) for a in agent.step(observation, None)[0][0]}
    assert picks == {1, 4, 7}


def test_agent_memory_is_per_env_and_reset_by_row():
    agent = RecurrentQAgent(obs_size=4, n_agents=2, n_actions=3, seed=0)
    state = agent.initial_state(3)
    _, before = agent.step(_observation(np.ones((3, 2, 4), np.float32), np.ones((3, 2, 3), bool)), state)
    assert before["hidden"][1].abs().sum() > 0
    after = agent.reset_state(before, np.array([1]))
    assert after is not before and before["hidden"][1].abs().sum() > 0  # replaced, not modified
    assert after["hidden"][1].abs().sum() == 0 and after["last_action"][1].sum() == 0
    torch.testing.assert_close(after["hidden"][0], before["hidden"][0])
    # unrolling a sequence gives the same Q-values as stepping
    gen = torch.Generator().manual_seed(1)
    seq_obs, seq_actions = (
        torch.randn(1, 4, 2, 4, generator=gen),
        torch.randint(0, 3, (1, 3, 2), generator=gen),
    )
    unrolled = agent.q_values(seq_obs, seq_actions)
    h = agent.initial_state(1)["hidden"]
    last = torch.zeros(1, 2, 3)
    for t in range(4):
        q, h = agent.network(agent.inputs(seq_obs[:, t], last), h)
        torch.testing.assert_close(q, unrolled[:, t])
        if t < 3:
            last = torch.nn.functional.one_hot(seq_actions[:, t], 3).float()


def test_training_acts_with_available_actions_and_fills_the_buffer():
    algo = small_qmix(VDN)
    assert isinstance(algo.mixer, VDNMixer) and get_algorithm("vdn") is VDN
    stats = algo.collect()  # the env raises on an unavailable action
    assert algo.buffer.total_episodes >= algo.env.num_envs and "rollout/epsilon" in stats
    lengths = algo.buffer.length[: len(algo.buffer)]
    data = algo.buffer.data
    for slot, length in enumerate(lengths):
        taken = np.take_along_axis(
            data["action_mask"][slot, :length], data["actions"][slot, :length, :, None], -1
        )
        assert taken.all()
        assert data["terminated"][slot, length:].sum() == 0 and data["reward"][slot, length:].sum() == 0
    algo.close()


# --- checkpoints ---------------------------------------------------------------------------------------
def _assert_same_training_state(a: QMIX, b: QMIX) -> None:
    for name in ("agent", "mixer", "target_network", "target_mixer"):
        for x, y in zip(getattr(a, name).state_dict().values(), getattr(b, name).state_dict().values()):
            torch.testing.assert_close(x, y, rtol=0, atol=0)
    for x, y in zip(a.optimizer.state.values(), b.optimizer.state.values()):
        torch.testing.assert_close(x["square_avg"], y["square_avg"], rtol=0, atol=0)
    torch.testing.assert_close(a.agent.memory["hidden"], b.agent.memory["hidden"], rtol=0, atol=0)
    assert a.global_step == b.global_step and a.gradient_steps == b.gradient_steps
    assert a.buffer.total_episodes == b.buffer.total_episodes
    np.testing.assert_array_equal(a.buffer.data["obs"], b.buffer.data["obs"])
    np.testing.assert_array_equal(a.obs, b.obs)
    assert a.episodes.state_dict()["finished_returns"] == b.episodes.state_dict()["finished_returns"]


def test_resume_continues_bitwise_identically(tmp_path):
    straight = small_qmix(seed=3, td_lambda=0.6)
    straight.learn(800)
    first = small_qmix(seed=3, td_lambda=0.6)
    first.learn(400)
    assert first.gradient_steps > 0 and first.last_target_update > 0
    first.save(tmp_path / "half.pt")
    first.close()
    torch.manual_seed(12345)  # disturb the global RNGs: the checkpoint must restore them
    np.random.seed(99)
    second = Algorithm.from_checkpoint(tmp_path / "half.pt", device="cpu")
    assert isinstance(second, QMIX)
    second.learn(800)
    _assert_same_training_state(straight, second)
    straight.close()
    second.close()


def test_polyak_targets_when_tau_is_set():
    algo = small_qmix(tau=0.25)
    before = [p.clone() for p in algo.target_mixer.parameters()]
    with torch.no_grad():
        for p in algo.mixer.parameters():
            p.add_(1.0)
    algo.update_targets()
    for old, new, online in zip(before, algo.target_mixer.parameters(), algo.mixer.parameters()):
        torch.testing.assert_close(new, old + 0.25 * (online - old))
    algo.close()
    vdn = small_qmix(VDN, tau=0.25)  # the additive mixer has no parameters to average
    before = [p.clone() for p in vdn.target_network.parameters()]
    with torch.no_grad():
        for p in vdn.agent.network.parameters():
            p.add_(1.0)
    vdn.update_targets()
    for old, new in zip(before, vdn.target_network.parameters()):
        torch.testing.assert_close(new, old + 0.25)
    vdn.close()


def test_checkpoint_without_replay_keeps_episodes_in_progress(tmp_path):
    algo = small_qmix()
    algo.learn(200)
    algo.save_replay_buffer = False
    algo.save(tmp_path / "c.pt")
    restored = small_qmix(seed=9)
    with pytest.warns(UserWarning, match="no replay episodes"):
        restored.load(tmp_path / "c.pt")
    assert len(restored.buffer) == 0 and restored.buffer.total_episodes == algo.buffer.total_episodes
    np.testing.assert_array_equal(restored.buffer._t, algo.buffer._t)
    restored.learn(400)  # training goes on from the staged episodes
    algo.close()
    restored.close()


# --- learning --------------------------------------------------------------------------------------------
def test_qmix_learns_3m(margin):
    """QMIX clearly beats random play on 3m within 20k env steps (8 envs).

    Random play (uniform over available actions): return 1.7 +- 0.6 per episode, no wins in 400, so a
    100-episode mean of random play stays within 1.7 +- 0.1. PyMARL's settings except for a faster start:
    epsilon annealed over 5k steps (not 50k), 4 gradient steps per 8 episodes (not 1), targets copied every
    50 episodes (not 200). Measured after 20k steps, mean of the last 100 training episodes / greedy
    evaluation (32 episodes): seed 0: 9.5 / 8.7 on one CPU, 5.9 / 5.3 on an AMD EPYC (the greedy policy
    swings between evaluations this early); seed 1: 6.1 / 7.7; seed 2: 7.2 / 3.0. The thresholds (4.0
    training, 2.5 greedy) sit well above random play and below every measured seed, so the test holds on
    any CPU; longer runs (seed 0: 59% wins at 60k steps) live in benchmarks/bench_marl_smac.py.
    """
    cfg = QMIXConfig(epsilon_anneal_steps=5000, updates_per_collect=4, target_update_episodes=50)
    algo = QMIX(EnvConfig(id=ENV, num_envs=8), cfg, seed=0, device="cpu", eval_config=EvalConfig(episodes=32))
    algo.learn(20_000)
    training = algo.episodes.summary()["rollout/ep_return_mean"]
    result = algo.evaluate()
    algo.close()
    assert margin("training return (last 100 episodes)", training, 4.0)
    assert margin("greedy return", result.mean, 2.5)
