"""The fused SAC update (hand-written gradients) against the readable autograd path, step by step."""

import pytest
import torch

from rlsuite.algos.mpdp import MPDP, MPDPConfig
from rlsuite.algos.sac import SAC, SACConfig
from rlsuite.algos.sac_fused import adam_step
from rlsuite.config import ConfigError, EnvConfig
from rlsuite.config_schema import from_dict

ENV = "test/IdentityContinuous-v0"
SMALL = {"hidden_sizes": (32, 32), "learning_starts": 64, "batch_size": 32, "buffer_size": 1000}


def make(backend, cls=SAC, config_cls=SACConfig, seed=0, **overrides):
    config = config_cls(**{**SMALL, "update_backend": backend, **overrides})
    return cls(EnvConfig(id=ENV, num_envs=2), config, seed=seed, device="cpu")


def assert_same_learner(a, b, atol=1e-5):
    for name in ("actor", "critic", "critic_target"):
        for x, y in zip(getattr(a, name).parameters(), getattr(b, name).parameters()):
            torch.testing.assert_close(x, y, atol=atol, rtol=1e-4, msg=name)
    torch.testing.assert_close(a.log_alpha, b.log_alpha, atol=atol, rtol=1e-4)
    for opt in ("actor_optimizer", "critic_optimizer", "alpha_optimizer"):
        for sa, sb in zip(getattr(a, opt).state.values(), getattr(b, opt).state.values()):
            torch.testing.assert_close(sa["exp_avg_sq"], sb["exp_avg_sq"], atol=1e-7, rtol=1e-3, msg=opt)
            assert float(sa["step"]) == float(sb["step"])


@pytest.mark.parametrize("activation", ["relu", "tanh", "elu", "silu"])
def test_fused_training_matches_autograd(activation):
    runs = {}
    for backend in ("autograd", "fused"):
        torch.manual_seed(0)
        algo = make(backend, activation=activation, seed=3)
        algo.learn(200)  # 136 gradient steps
        runs[backend] = (algo, algo.logged_stats())
    (slow, slow_stats), (fast, fast_stats) = runs["autograd"], runs["fused"]
    assert slow.fused is None and fast.fused is not None
    assert fast.gradient_steps == 136
    assert_same_learner(slow, fast)
    for key in ("train/critic_loss", "train/actor_loss", "train/alpha_loss", "train/q_mean", "train/entropy"):
        assert fast_stats[key] == pytest.approx(slow_stats[key], rel=1e-4, abs=1e-6), key


def test_fused_gradients_equal_autograd_gradients_for_one_step():
    """The gradients themselves (before Adam), critic and actor, on a batch with clamped log-stds."""
    torch.manual_seed(0)
    algo = make("fused", hidden_sizes=(16, 16), log_std_bounds=(-1.0, 0.1))
    algo.learn(100)
    batch, alpha = algo.sample_batch(), torch.tensor(0.3)
    fused = algo.fused

    captured = {}

    def capture(optimizer, params, grads):
        captured[optimizer] = [g.clone() for g in grads]

    fused._step = capture  # instance attribute: intercept the Adam steps
    torch.manual_seed(1)
    fused.critic_step(batch, alpha)
    torch.manual_seed(2)
    fused.actor_step(batch.obs, alpha)

    torch.manual_seed(1)
    loss, _ = SAC.critic_loss(algo, batch, alpha)
    critic_grad = torch.autograd.grad(loss, algo.critic.flat)[0]
    torch.testing.assert_close(captured[algo.critic_optimizer][0], critic_grad, atol=1e-6, rtol=1e-5)

    torch.manual_seed(2)
    actions, logp = algo.actor.sample(batch.obs)
    raw = algo.actor.net(batch.obs)[:, algo.act_dim :]
    assert ((raw < -1.0) | (raw > 0.1)).any(), "the test needs log-stds outside the clamp"
    q = algo.critic(batch.obs, actions).min(0).values
    actor_loss = (alpha * logp - q).mean()
    actor_grads = torch.autograd.grad(actor_loss, list(algo.actor.parameters()))
    for ours, theirs in zip(captured[algo.actor_optimizer], actor_grads, strict=True):
        torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=1e-5)


def test_direct_fused_adam_step_equals_torch_adam():
    torch.manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(50)), torch.nn.Parameter(torch.randn(3, 4))]
    reference = [torch.nn.Parameter(p.detach().clone()) for p in params]
    fused = torch.optim.Adam(params, lr=1e-2, fused=True)
    plain = torch.optim.Adam(reference, lr=1e-2, foreach=False)
    for _ in range(5):
        grads = [torch.randn_like(p) for p in params]
        adam_step(fused, params, grads)  # the first call initialises the state through step()
        for p, g in zip(reference, grads):
            p.grad = g.clone()
        plain.step()
        assert all(p.grad is None for p in params), "the gradient buffers must not stay attached"
    for ours, theirs in zip(params, reference):
        torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=1e-5)
    assert float(fused.state[params[0]]["step"]) == 5


def test_mpdp_uses_the_fused_critic_and_matches_autograd():
    runs = {}
    for backend in ("autograd", "fused"):
        torch.manual_seed(0)
        algo = make(
            backend,
            cls=MPDP,
            config_cls=MPDPConfig,
            horizon=2,
            horizon_ramp=(0, 0),
            ensemble_size=3,
            num_elites=2,
            model_hidden_sizes=(16, 16),
            model_weight_decays=None,
            model_train_freq=50,
            model_max_epochs=2,
            termination="never",
        )
        algo.learn(130)
        runs[backend] = algo
    assert runs["fused"].gradient_steps == 66
    assert_same_learner(runs["autograd"], runs["fused"], atol=1e-4)


def test_unknown_backend_is_rejected_with_its_choices():
    with pytest.raises(ConfigError, match=r"update_backend.*autograd"):
        from_dict(SACConfig, {"update_backend": "jit"}, prefix="algo.")
