"""MPDP: the H-step objective, its special cases, the model schedule and exact resume."""

import numpy as np
import pytest
import torch

from rlsuite.algos.base import Algorithm
from rlsuite.algos.mpdp import MPDP, MPDPConfig
from rlsuite.config import EnvConfig

SMALL = {
    "hidden_sizes": (32, 32),
    "learning_starts": 64,
    "batch_size": 32,
    "buffer_size": 2000,
    "ensemble_size": 3,
    "num_elites": 2,
    "model_hidden_sizes": (32, 32),
    "model_weight_decays": None,
    "model_train_freq": 50,
    "model_max_epochs": 3,
    "horizon_ramp": (0, 0),
    "termination": "never",
}


def make(seed=0, **overrides):
    config = MPDPConfig(**{**SMALL, **overrides})
    return MPDP(EnvConfig(id="test/IdentityContinuous-v0", num_envs=2), config, seed=seed, device="cpu")


@pytest.fixture(scope="module")
def trained():
    torch.set_num_threads(1)
    algo = make(horizon=2)
    algo.learn(200)
    return algo


def test_horizon_zero_is_sacs_actor_objective(trained):
    obs, alpha = trained.buffer.sample(16).obs, torch.tensor(0.3)
    torch.manual_seed(0)
    objective, logp = trained.model_objective(obs, alpha, horizon=0)
    torch.manual_seed(0)
    actions, sac_logp = trained.actor.sample(obs)
    sac = trained.critic(obs, actions).min(0).values - alpha * sac_logp
    torch.testing.assert_close(objective, sac)
    torch.testing.assert_close(logp, sac_logp)


def test_one_step_objective_with_termination_cuts_the_bootstrap(trained, monkeypatch):
    """With every model step terminal, J_H = r^(s_0, a_0) - alpha log pi(a_0|s_0) for any H >= 1."""
    obs, alpha = trained.buffer.sample(16).obs, torch.tensor(0.3)
    monkeypatch.setattr(trained.config, "deterministic_model", True)
    monkeypatch.setattr(trained.config, "model_members", "mean")
    monkeypatch.setattr(trained, "is_terminal", lambda s, a, s2: torch.ones(len(s), dtype=torch.bool))
    torch.manual_seed(1)
    objective, _ = trained.model_objective(obs, alpha, horizon=3)
    torch.manual_seed(1)
    actions, logp = trained.actor.sample(obs)
    reward = trained.model.predict(obs, actions, deterministic=True, members="mean").reward
    torch.testing.assert_close(objective, reward - alpha * logp)


def test_two_step_objective_sums_rewards_entropy_and_discounted_soft_q(trained, monkeypatch):
    obs, alpha, gamma = trained.buffer.sample(8).obs, torch.tensor(0.2), trained.config.gamma
    monkeypatch.setattr(trained.config, "deterministic_model", True)
    monkeypatch.setattr(trained.config, "model_members", "mean")
    torch.manual_seed(2)
    objective, _ = trained.model_objective(obs, alpha, horizon=2)
    torch.manual_seed(2)
    state, expected = obs, torch.zeros(8)
    for h in range(2):
        action, logp = trained.actor.sample(state)
        step = trained.model.predict(state, action, deterministic=True, members="mean")
        expected = expected + gamma**h * (step.reward - alpha * logp)
        state = step.next_obs
    action, logp = trained.actor.sample(state)
    expected = expected + gamma**2 * (trained.critic(state, action).min(0).values - alpha * logp)
    torch.testing.assert_close(objective, expected)


def test_actor_update_changes_only_the_actor(trained):
    before = {
        "model": [p.detach().clone() for p in trained.model.parameters()],
        "critic": trained.critic.flat.detach().clone(),
        "actor": [p.detach().clone() for p in trained.actor.parameters()],
    }
    for p in [*trained.model.parameters(), trained.critic.flat]:
        p.grad = None
    trained.actor_update(trained.buffer.sample(32).obs, torch.tensor(0.1))
    assert all(torch.equal(a, b) for a, b in zip(before["model"], trained.model.parameters()))
    assert torch.equal(before["critic"], trained.critic.flat)
    assert trained.critic.flat.grad is None and all(p.grad is None for p in trained.model.parameters())
    assert not all(torch.equal(a, b) for a, b in zip(before["actor"], trained.actor.parameters()))
    assert all(p.requires_grad for p in trained.model.parameters())  # unfrozen again


def test_horizon_ramp():
    algo = make(horizon=3, horizon_ramp=(100, 300))
    for step, want in [(0, 1), (100, 1), (199, 1), (200, 2), (299, 2), (300, 3), (10_000, 3)]:
        algo.global_step = step
        assert algo.current_horizon() == want


def test_model_is_fitted_on_schedule():
    algo = make(model_train_freq=50)
    algo.learn(64)
    assert algo.model_fits == 0  # nothing before learning starts
    algo.learn(66)
    assert algo.model_fits == 1 and algo.model_stats["model/holdout_mse"] >= 0
    algo.learn(200)  # crosses 100, 150 and 200
    assert algo.model_fits == 4 and algo.last_model_fit == 200
    assert set(algo.logged_stats()) >= {"train/actor_loss", "model/holdout_mse", "train/horizon"}


def test_model_fit_subset_draws_distinct_transitions_afresh_each_fit(monkeypatch):
    algo = make(model_fit_subset=50)
    algo.learn(120)  # 120 stored transitions
    seen = []

    def capture(obs, actions, rewards, next_obs, **kwargs):
        seen.append(torch.cat([obs, actions, rewards[:, None], next_obs], dim=1))
        return {"holdout_mse": 0.0, "train_loss": 0.0, "epochs": 1}

    monkeypatch.setattr(algo.model, "fit", capture)
    everything = algo.buffer.all_transitions()
    rows = torch.cat(
        [everything.obs, everything.actions, everything.rewards[:, None], everything.next_obs], 1
    )
    algo.fit_model()
    algo.fit_model()
    first, second = seen
    assert len(rows) == 120 and first.shape == second.shape == (50, rows.shape[1])
    for subset in (first, second):  # whole transitions of the buffer, none twice
        match = (subset[:, None, :] == rows[None, :, :]).all(-1)
        assert (match.sum(1) >= 1).all() and len(torch.unique(match.float().argmax(1))) == 50
    assert not torch.equal(first, second)  # a fresh draw per fit, from model_rng
    algo.config.model_fit_subset = None
    algo.fit_model()
    torch.testing.assert_close(seen[-1], rows)


def test_resume_with_model_and_replay_continues_exactly(tmp_path):
    straight = make(seed=4, horizon=2)
    straight.learn(240)
    first = make(seed=4, horizon=2)
    first.learn(120)
    first.save(tmp_path / "half.pt")
    torch.manual_seed(9)
    np.random.seed(9)
    resumed = Algorithm.from_checkpoint(tmp_path / "half.pt", device="cpu")
    resumed.learn(240)
    for a, b in zip(straight.model.parameters(), resumed.model.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    for a, b in zip(straight.actor.parameters(), resumed.actor.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_unknown_task_termination_modes():
    with pytest.warns(UserWarning, match="no known termination rule"):
        make(termination="auto")
    with pytest.raises(KeyError, match="known tasks"):
        make(termination="known")


def _fixed_rollout(horizon=3, batch=4):
    """A hand-made rollout: rewards 1..H, terminal after step 1 for sample 0, values 10 + h, logp -1."""
    from rlsuite.algos.mpdp import ImaginedRollout

    rewards = torch.arange(1.0, horizon + 1)[:, None].expand(horizon, batch).clone()
    continues = torch.ones(horizon, batch)
    continues[1, 0] = 0.0
    weights = torch.cumprod(torch.cat([torch.ones(1, batch), continues[:-1]]), 0)
    next_values = (10.0 + torch.arange(horizon))[:, None].expand(horizon, batch).clone()
    return ImaginedRollout(
        states=torch.zeros(horizon + 1, batch, 1),
        actions=torch.zeros(horizon + 1, batch, 1),
        rewards=rewards,
        continues=continues,
        weights=weights,
        next_logp=-torch.ones(horizon, batch),
        next_values=next_values,
    )


@pytest.mark.parametrize("lam", [0.0, 0.5, 1.0])
def test_lambda_returns_match_the_recursion_written_out(lam):
    algo = make(value_expansion=True, value_lambda=lam, gamma=0.9)
    rollout, alpha = _fixed_rollout(), torch.tensor(0.5)
    got = algo.lambda_returns(rollout, alpha)
    g, V, later = 0.9, [10.0, 11.0, 12.0], lambda G: G + 0.5  # G - alpha * logp with logp = -1
    g2 = 3 + g * V[2]
    g1_alive = 2 + g * ((1 - lam) * V[1] + lam * later(g2))
    g0 = 1 + g * ((1 - lam) * V[0] + lam * later(g1_alive))
    g0_dead = 1 + g * ((1 - lam) * V[0] + lam * later(2.0))  # step 1 terminal: G_1 = r_1
    torch.testing.assert_close(got[:, 1], torch.tensor([g0, g1_alive, g2]))
    torch.testing.assert_close(got[:, 0], torch.tensor([g0_dead, 2.0, g2]))
    if lam == 0.0:  # one-step soft TD on every imagined step
        torch.testing.assert_close(got[:, 1], rollout.rewards[:, 1] + g * rollout.next_values[:, 1])


def test_value_expansion_rollout_and_loss(trained, monkeypatch):
    obs, alpha = trained.buffer.sample(8).obs, torch.tensor(0.2)
    monkeypatch.setattr(trained.config, "deterministic_model", True)
    monkeypatch.setattr(trained.config, "model_members", "mean")
    torch.manual_seed(3)
    rollout = trained.imagined_rollout(obs, alpha, 2)
    assert rollout.states.shape == (3, 8, obs.shape[1]) and rollout.rewards.shape == (2, 8)
    torch.manual_seed(3)
    state = obs
    for h in range(2):  # the same policy samples and deterministic model steps, by hand
        action, _ = trained.actor.sample(state)
        torch.testing.assert_close(rollout.actions[h], action)
        step = trained.model.predict(state, action, deterministic=True, members="mean")
        torch.testing.assert_close(rollout.rewards[h], step.reward)
        state = step.next_obs
        torch.testing.assert_close(rollout.states[h + 1], state)
    action, logp = trained.actor.sample(state)
    soft_v = trained.critic_target(state, action).min(0).values - alpha * logp
    torch.testing.assert_close(rollout.next_values[-1], soft_v)
    torch.manual_seed(3)
    loss = trained.value_expansion_loss(obs, alpha, 2)
    targets = trained.lambda_returns(rollout, alpha)
    q = trained.critic(rollout.states[:2].flatten(0, 1), rollout.actions[:2].flatten(0, 1))
    torch.testing.assert_close(loss, 0.5 * (q - targets.flatten()).square().mean(1).sum())


def test_value_expansion_is_off_by_default_and_trains_only_the_critic():
    assert MPDPConfig().value_expansion is False
    plain, expanded = make(seed=5, horizon=2), make(seed=5, horizon=2, value_expansion=True)
    plain.learn(130)
    expanded.learn(130)
    assert not torch.equal(plain.critic.flat, expanded.critic.flat)
    batch = expanded.buffer.sample(16)
    actor = [p.detach().clone() for p in expanded.actor.parameters()]
    model = [p.detach().clone() for p in expanded.model.parameters()]
    critic = expanded.critic.flat.detach().clone()
    expanded.critic_update(batch, torch.tensor(0.1))
    assert not torch.equal(critic, expanded.critic.flat)
    assert all(torch.equal(a, b) for a, b in zip(actor, expanded.actor.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(model, expanded.model.parameters()))
