"""EnsembleDynamics (MBPO's probabilistic ensemble) and the known termination functions."""

import copy
import math

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlsuite.agents.dynamics import EnsembleDynamics
from rlsuite.envs.mujoco.termination import UnknownTaskError, never, termination_fn

OBS_DIM, ACT_DIM = 3, 2
SMALL = {"ensemble_size": 5, "num_elites": 3, "hidden_sizes": (64, 64), "weight_decays": None}


def linear_system(n: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """next_obs = obs + obs A + act B, reward = -0.2 |obs|^2 - 0.1 |act|^2 (deterministic)."""
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(OBS_DIM, OBS_DIM, generator=g) * 0.2
    b = torch.randn(ACT_DIM, OBS_DIM, generator=g) * 0.3
    obs = torch.randn(n, OBS_DIM, generator=g)
    act = torch.rand(n, ACT_DIM, generator=g) * 2 - 1
    next_obs = obs + obs @ a + act @ b
    reward = -0.2 * obs.pow(2).sum(1) - 0.1 * act.pow(2).sum(1)
    return obs, act, reward, next_obs, b


def targets(obs, reward, next_obs):
    return torch.cat([reward[:, None], next_obs - obs], dim=1)


@pytest.fixture(scope="module")
def fitted():
    threads = torch.get_num_threads()  # conftest's one-thread fixture is per test; this one is per module
    torch.set_num_threads(1)
    torch.manual_seed(0)
    obs, act, reward, next_obs, b = linear_system(3000)
    model = EnsembleDynamics(OBS_DIM, ACT_DIM, **SMALL)
    stats = model.fit(
        obs, act, reward, next_obs, batch_size=64, max_epochs=25, generator=torch.Generator().manual_seed(1)
    )
    torch.set_num_threads(threads)
    return model, stats, (obs, act, reward, next_obs, b)


def test_fit_learns_a_known_system(fitted, margin):
    model, stats, (obs, act, reward, next_obs, b) = fitted
    target_var = targets(obs, reward, next_obs).var(0).mean().item()
    assert margin("holdout mse", stats["holdout_mse"], 0.005 * target_var, above=False)
    assert stats["epochs"] == 25 and len(stats["history"]) == 25
    assert stats["history"][-1][0] < 0.05 * stats["history"][0][0]
    # The learnt input Jacobian of the deterministic step is the true one (d next_obs / d act = B^T).
    act_in = act[:256].clone().requires_grad_(True)
    next_pred, _ = model.step(obs[:256], act_in, deterministic=True, members="mean")
    jac = torch.stack(
        [
            torch.autograd.grad(next_pred[:, j].sum(), act_in, retain_graph=True)[0].mean(0)
            for j in range(OBS_DIM)
        ]
    )
    torch.testing.assert_close(jac, b.t(), atol=0.02, rtol=0)


def replay_snapshots(history: list[list[float]], threshold: float = 0.01) -> list[float]:
    """Each member's snapshot MSE under the rule: keep an epoch that improves the best by > threshold."""
    best = [math.inf] * len(history[0])
    for epoch in history:
        for i, mse in enumerate(epoch):
            if math.isinf(best[i]) or (best[i] - mse) / best[i] > threshold:
                best[i] = mse
    return best


def test_early_stopping_restores_best_snapshots_and_picks_elites():
    # Few noisy transitions: the members overfit, holdout MSE turns up and training stops early.
    obs, act, reward, next_obs, _ = linear_system(100, seed=3)
    g = torch.Generator().manual_seed(0)
    next_obs = next_obs + 0.3 * torch.randn(next_obs.shape, generator=g)
    model = EnsembleDynamics(OBS_DIM, ACT_DIM, **SMALL)
    stats = model.fit(
        obs, act, reward, next_obs, batch_size=16, max_epochs=300, max_epochs_since_update=5, generator=g
    )
    assert stats["epochs"] < 300 and stats["epochs_since_update"] == 5
    expected = replay_snapshots(stats["history"])
    np.testing.assert_allclose(stats["holdout_mse_per_member"], expected, rtol=1e-6)
    hold = stats["holdout_idx"]
    now = model.member_mse(obs[hold], act[hold], reward[hold], next_obs[hold])
    np.testing.assert_allclose(now.numpy(), expected, rtol=1e-4)  # the weights are the snapshots
    assert any(abs(last - best) > 1e-3 * best for last, best in zip(stats["history"][-1], expected))
    assert stats["elites"] == np.argsort(expected)[: model.num_elites].tolist()
    assert model.elite_idx.tolist() == stats["elites"]
    assert stats["holdout_mse"] == pytest.approx(float(np.sort(expected)[: model.num_elites].mean()))


def test_logvar_within_learnt_bounds(fitted):
    model = fitted[0]
    assert (model.min_logvar < model.max_logvar).all()
    obs = torch.randn(512, OBS_DIM) * torch.tensor([1.0, 100.0, 1e4])  # far out of distribution too
    _, logvar = model(obs, torch.randn(512, ACT_DIM) * 50)
    # The soft bounds can exceed max by at most softplus(min - max) (~3e-5 at MBPO's initial bounds).
    slack = torch.nn.functional.softplus(model.min_logvar - model.max_logvar)
    assert (logvar <= model.max_logvar + slack + 1e-6).all()
    assert (logvar >= model.min_logvar).all()


def test_deterministic_step_is_the_chosen_elite_mean(fitted):
    model, _, (obs, act, *_rest) = fitted
    out = model.predict(obs[:400], act[:400], deterministic=True, generator=torch.Generator().manual_seed(0))
    mean, _ = model(obs[:400], act[:400])
    rows = torch.arange(400)
    torch.testing.assert_close(out.reward, mean[out.member, rows, 0])
    torch.testing.assert_close(out.next_obs, obs[:400] + mean[out.member, rows, 1:])
    assert set(out.member.tolist()) == set(model.elite_idx.tolist())  # uniform over the elites only
    averaged = model.predict(obs[:400], act[:400], deterministic=True, members="mean")
    torch.testing.assert_close(averaged.next_obs, obs[:400] + mean[model.elite_idx, :, 1:].mean(0))
    assert averaged.member is None
    assert out.disagreement.shape == (400,) and (out.disagreement >= 0).all()


@pytest.mark.parametrize("batch", [402, 403])  # divisible by the elites, and not
def test_partitioned_step_runs_each_sample_through_one_elite(fitted, batch):
    model, _, (obs, act, *_rest) = fitted
    gen = torch.Generator().manual_seed(1)
    out = model.predict(obs[:batch], act[:batch], deterministic=True, members="partition", generator=gen)
    mean, _ = model(obs[:batch], act[:batch])
    rows = torch.arange(batch)
    torch.testing.assert_close(out.reward, mean[out.member, rows, 0])
    torch.testing.assert_close(out.next_obs, obs[:batch] + mean[out.member, rows, 1:])
    counts = torch.bincount(out.member, minlength=model.ensemble_size)[model.elite_idx]
    size = -(-batch // len(model.elite_idx))
    # equal groups, but for the last elite's, which the padding repeats shorten
    assert sorted(counts.tolist(), reverse=True) == [min(size, batch - i * size) for i in range(len(counts))]
    assert set(out.member.tolist()) == set(model.elite_idx.tolist())


def test_stochastic_step_samples_the_members_gaussian(fitted):
    model, _, (obs, act, *_rest) = fitted
    n = 4000
    obs, act = obs[:1].expand(n, OBS_DIM), act[:1].expand(n, ACT_DIM)
    out = model.predict(obs, act, generator=torch.Generator().manual_seed(0))
    mean, logvar = model(obs, act)
    rows = torch.arange(n)
    sample = torch.cat([out.reward[:, None], out.next_obs - obs], dim=1)
    eps = (sample - mean[out.member, rows]) / torch.exp(0.5 * logvar[out.member, rows])
    assert eps.mean().abs() < 0.05 and (eps.std() - 1).abs() < 0.05


@pytest.mark.parametrize("deterministic", [True, False])
def test_step_is_differentiable(fitted, deterministic):
    model = copy.deepcopy(fitted[0]).double()
    obs = torch.randn(6, OBS_DIM, dtype=torch.float64, requires_grad=True)
    act = torch.rand(6, ACT_DIM, dtype=torch.float64, requires_grad=True)

    def step(o, a):  # the same members and noise on every call
        next_obs, reward = model.step(
            o, a, deterministic=deterministic, generator=torch.Generator().manual_seed(0)
        )
        return next_obs, reward

    next_obs, reward = step(obs, act)
    grad = torch.autograd.grad(reward.sum() + next_obs.sum(), act)[0]
    assert grad.abs().min() > 0
    assert torch.autograd.gradcheck(step, (obs, act), eps=1e-6, atol=1e-5)


def test_state_dict_round_trip(fitted):
    model, _, (obs, act, *_rest) = fitted
    state = model.state_dict()
    assert {"in_mean", "in_std", "elite_idx", "holdout_mse", "max_logvar", "min_logvar"} <= set(state)
    clone = EnsembleDynamics(OBS_DIM, ACT_DIM, **SMALL)
    clone.load_state_dict(state)
    for a, b in zip(model(obs[:50], act[:50]), clone(obs[:50], act[:50])):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert clone.elite_idx.tolist() == model.elite_idx.tolist()
    out_a = model.step(obs[:50], act[:50], generator=torch.Generator().manual_seed(5))
    out_b = clone.step(obs[:50], act[:50], generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(out_a, out_b, rtol=0, atol=0)


def test_input_shapes(fitted):
    model = fitted[0]
    e, b = model.ensemble_size, 7
    obs, act = torch.randn(e, b, OBS_DIM), torch.randn(e, b, ACT_DIM)
    mean, logvar = model(obs[0], act[0])
    assert mean.shape == logvar.shape == (e, b, 1 + OBS_DIM)
    per_member, _ = model(obs, act)
    assert per_member.shape == (e, b, 1 + OBS_DIM)
    for i in range(e):
        torch.testing.assert_close(per_member[i], model(obs[i], act[i])[0][i])
    torch.testing.assert_close(model(obs, act[0])[0], model(obs, act[0].expand(e, b, ACT_DIM))[0])
    with pytest.raises(ValueError):
        model(obs[:2], act[:2])
    next_obs, reward = model.step(obs[0], act[0])
    assert next_obs.shape == (b, OBS_DIM) and reward.shape == (b,)


def test_without_reward_and_per_layer_decay_validation():
    obs, act, _, next_obs, _ = linear_system(200)
    model = EnsembleDynamics(OBS_DIM, ACT_DIM, learn_reward=False, **SMALL)
    stats = model.fit(obs.double().numpy(), act.numpy(), None, next_obs.double().numpy(), max_epochs=2)
    assert stats["epochs"] == 2
    next_pred, reward = model.step(obs, act)
    assert reward is None and next_pred.shape == obs.shape
    assert EnsembleDynamics(3, 2).weight_decays == [2.5e-5, 5e-5, 7.5e-5, 7.5e-5, 1e-4]
    with pytest.raises(ValueError, match="weight_decays"):
        EnsembleDynamics(3, 2, hidden_sizes=(8, 8))


# ------------------------------------------------------------------------------- termination functions


def rollout(task: str, steps: int, seed: int = 0, lift=None):
    """Random-action transitions of Gymnasium's ``<task>-v5`` (reset on episode end)."""
    env = gym.make(f"{task}-v5")
    env.action_space.seed(seed)
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    rows = []
    for t in range(steps):
        if lift is not None and t % 7 == 0:
            lift(env.unwrapped, rng)
            obs = env.unwrapped._get_obs()
        act = env.action_space.sample()
        next_obs, _, terminated, truncated, _ = env.step(act)
        rows.append((obs, act, next_obs, terminated))
        obs = env.reset()[0] if terminated or truncated else next_obs
    env.close()
    obs, act, next_obs, done = (torch.as_tensor(np.array(x)) for x in zip(*rows))
    return obs, act, next_obs, done


def set_height(index: int, low: float, high: float):
    """Every few steps, put the torso height ``qpos[index]`` at a random value in [low, high], so that
    the height bounds are crossed as well as the angle bounds random actions reach on their own."""

    def lift(env, rng) -> None:
        qpos, qvel = env.data.qpos.copy(), env.data.qvel.copy()
        qpos[index] = rng.uniform(low, high)
        env.set_state(qpos, qvel)

    return lift


@pytest.mark.parametrize(
    ("task", "steps", "lift"),
    [
        ("Hopper", 600, set_height(1, 0.5, 1.5)),
        ("Walker2d", 600, set_height(1, 0.6, 2.2)),
        ("Ant", 300, set_height(2, 0.05, 1.3)),
        ("Humanoid", 200, set_height(2, 0.8, 2.2)),
        ("InvertedPendulum", 400, None),
        ("InvertedDoublePendulum", 400, None),
    ],
)
def test_termination_fn_matches_gymnasium(task, steps, lift):
    obs, act, next_obs, done = rollout(task, steps, lift=lift)
    assert done.any() and not done.all()  # both outcomes are exercised
    predicted = termination_fn(f"rlsuite/{task}-v5")(obs, act, next_obs)
    assert predicted.dtype == torch.bool and predicted.shape == done.shape
    mismatches = (predicted != done).nonzero().flatten().tolist()
    assert not mismatches, f"{task}: {len(mismatches)} mismatches, first at {mismatches[:5]}"


@pytest.mark.parametrize(
    ("task", "height", "low", "high"),
    [("Hopper", 1, 0.5, 1.5), ("Walker2d", 1, 0.6, 2.2), ("Ant", 2, 0.0, 1.3), ("Humanoid", 2, 0.8, 2.2)],
)
def test_termination_fn_matches_is_healthy_on_set_states(task, height, low, high):
    """Random states (heights physics rarely reaches, e.g. an Ant torso below 0.2) against the env's rule."""
    env = gym.make(f"{task}-v5").unwrapped
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    obs, unhealthy = [], []
    for _ in range(300):
        qpos = env.init_qpos + rng.normal(0.0, 0.5, env.model.nq)
        qpos[height] = rng.uniform(low, high)
        env.set_state(qpos, env.init_qvel + rng.normal(0.0, 1.0, env.model.nv))
        obs.append(env._get_obs())
        unhealthy.append(not env.is_healthy)
    env.close()
    obs, unhealthy = torch.as_tensor(np.array(obs)), torch.as_tensor(unhealthy)
    assert unhealthy.any() and not unhealthy.all()
    assert torch.equal(termination_fn(task)(obs, None, obs), unhealthy)


@pytest.mark.parametrize("task", ["HalfCheetah", "Swimmer", "Reacher", "Pusher"])
def test_never_terminating_tasks(task):
    obs, act, next_obs, done = rollout(task, 40)
    assert not done.any()
    assert termination_fn(f"{task}-v5") is never
    assert not never(obs, act, next_obs).any()


def test_termination_fn_lookup_and_safety():
    hopper = termination_fn("Hopper-v5")
    assert termination_fn("rlsuite/Hopper-v5") is hopper and termination_fn("Hopper") is hopper
    assert termination_fn("Hopper-v4") is hopper
    with pytest.raises(UnknownTaskError, match="Hopper-v2"):
        termination_fn("Hopper-v2")
    with pytest.raises(UnknownTaskError, match="known tasks: Hopper, Walker2d"):
        termination_fn("rlsuite/CartPole-v1")
    assert termination_fn("rlsuite/CartPole-v1", default="never") is never
    # Differentiable inputs and non-finite model outputs are fine; batch dims are kept.
    next_obs = torch.full((2, 4, 11), 0.0, requires_grad=True)
    with torch.no_grad():
        next_obs[..., 0] = 1.25
    out = hopper(next_obs, None, next_obs)
    assert out.shape == (2, 4) and not out.any()
    bad = next_obs.detach().clone()
    bad[0, 0, 5] = math.nan
    assert hopper(bad, None, bad)[0, 0] and not hopper(bad, None, bad)[1].any()


def test_frozen_model_reuses_selected_member_weights_until_they_change():
    torch.manual_seed(0)
    model = EnsembleDynamics(3, 2, ensemble_size=4, num_elites=2, hidden_sizes=(8,), weight_decays=None)
    obs, act = torch.randn(10, 3), torch.randn(10, 2)

    def predict():
        return model.predict(obs, act, deterministic=True, members="mean").next_obs

    trainable = predict()  # weights require grad: selected afresh, no cache
    assert getattr(model, "_selected_layers", None) is None
    model.requires_grad_(False)
    first = predict()
    cached = model._selected_layers
    torch.testing.assert_close(first, trainable)
    torch.testing.assert_close(predict(), first)
    assert model._selected_layers is cached  # same weights: the copy is reused
    with torch.no_grad():
        model.weights[1].add_(0.5)  # as an optimiser step or load_state_dict would
    changed = predict()
    assert model._selected_layers is not cached and not torch.allclose(changed, first)
    model.elite_idx.copy_(torch.tensor([3, 2]))
    reselected = predict()
    model.requires_grad_(True)
    torch.testing.assert_close(reselected, predict())
