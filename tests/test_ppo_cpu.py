"""The contract of PPO's NumPy accelerator: its update equals autograd on ``ppo_loss``, step by step."""

import copy

import pytest
import torch

from rlsuite.algos.ppo import PPO, AutogradPPOUpdate, PPOConfig
from rlsuite.algos.ppo_numpy_accelerated import NumpyAcceleratedPPOUpdate
from rlsuite.config import EnvConfig

CASES = {
    "discrete": ("rlsuite/CartPole-v1", {}),
    "discrete-entropy-noclip": (
        "rlsuite/CartPole-v1",
        {"ent_coef": 0.05, "clip_vloss": False, "activation": "relu"},
    ),
    "continuous": ("test/IdentityContinuous-v0", {"ent_coef": 0.01}),
    "continuous-silu-nonorm": ("test/IdentityContinuous-v0", {"norm_adv": False, "activation": "silu"}),
    "elu-no-gradclip": ("rlsuite/CartPole-v1", {"activation": "elu", "max_grad_norm": 0.0}),
}


def make(env_id, backend, **overrides):
    cfg = PPOConfig(
        num_steps=16,
        minibatch_size=32,
        update_epochs=3,
        lr=3e-3,
        update_backend=backend,
        clip_coef=0.1,
        **overrides,
    )
    return PPO(EnvConfig(id=env_id, num_envs=4), cfg, seed=0, device="cpu")


@pytest.mark.parametrize("case", CASES)
def test_numpy_update_equals_autograd(case):
    env_id, overrides = CASES[case]
    numpy_algo = make(env_id, "numpy_accelerated", **overrides)
    torch_algo = make(env_id, "torch", **overrides)
    torch_algo.agent.load_state_dict(numpy_algo.agent.state_dict())
    for _ in range(3):  # several iterations so Adam moments, ratio clipping and value clipping all engage
        numpy_algo.collect()
        torch_algo.buffer = copy.deepcopy(numpy_algo.buffer)
        torch_algo.obs = numpy_algo.obs
        state = torch.get_rng_state()
        stats_numpy = numpy_algo.update()
        torch.set_rng_state(state)  # same minibatch permutation
        stats_torch = torch_algo.update()
        for a, b in zip(numpy_algo.agent.parameters(), torch_algo.agent.parameters()):
            torch.testing.assert_close(a, b, atol=2e-5, rtol=1e-4)
        for key in ("train/policy_loss", "train/value_loss", "train/approx_kl", "train/entropy"):
            assert stats_numpy[key] == pytest.approx(stats_torch[key], rel=1e-3, abs=1e-5)
    numpy_state = numpy_algo.optimizer.state_dict()["state"][0]
    torch_state = torch_algo.optimizer.state_dict()["state"][0]
    assert float(numpy_state["step"]) == float(torch_state["step"]) == 3 * 3 * 2
    torch.testing.assert_close(numpy_state["exp_avg_sq"], torch_state["exp_avg_sq"], atol=1e-7, rtol=1e-3)


def test_clip_fraction_is_exercised():
    algo = make("rlsuite/CartPole-v1", "numpy_accelerated")
    fractions = []
    for _ in range(4):
        algo.collect()
        fractions.append(algo.update()["train/clip_fraction"])
    assert max(fractions) > 0  # the clipped branches above were really taken


def test_backend_choice_follows_device():
    assert isinstance(make("rlsuite/CartPole-v1", "auto").minibatch_update, NumpyAcceleratedPPOUpdate)
    assert isinstance(make("rlsuite/CartPole-v1", "numpy").minibatch_update, NumpyAcceleratedPPOUpdate)
    assert isinstance(make("rlsuite/CartPole-v1", "torch").minibatch_update, AutogradPPOUpdate)
