"""SAC, TD3 and MPDP learn Pendulum-v1 within a small, seeded budget.

Pendulum's random policy scores about -1200 and a good swing-up policy -150 to -200 (episodes of 200
steps). Budgets and thresholds below were measured with these seeds (figures in the comments); the
thresholds leave room for last-bit differences between CPUs.
"""

import pytest

from rlsuite.algos.mpdp import MPDP, MPDPConfig
from rlsuite.algos.sac import SAC, SACConfig
from rlsuite.algos.td3 import TD3, TD3Config
from rlsuite.config import EnvConfig

SMALL_NETS = {"hidden_sizes": (64, 64), "learning_starts": 1000, "actor_lr": 1e-3, "critic_lr": 1e-3}
CASES = {
    "sac": (SAC, SACConfig(**SMALL_NETS, alpha_lr=1e-3), 5000),
    "td3": (TD3, TD3Config(**SMALL_NETS), 8000),  # 6000 scored -207 on one setting, -308 on another
    "mpdp": (
        MPDP,
        MPDPConfig(
            **SMALL_NETS,
            alpha_lr=1e-3,
            horizon=3,
            horizon_ramp=(0, 0),
            model_hidden_sizes=(64, 64, 64),
            model_weight_decays=(2.5e-5, 5e-5, 7.5e-5, 1e-4),
            model_train_freq=500,
            model_max_epochs=20,
            termination="never",
        ),
        5000,
    ),
}
THRESHOLD = -300.0


@pytest.mark.parametrize("name", list(CASES))
def test_learns_pendulum(name, margin):
    cls, config, steps = CASES[name]
    algo = cls(EnvConfig(id="Pendulum-v1", num_envs=1), config, seed=0, device="cpu")
    algo.learn(steps)
    result = algo.evaluate(episodes=10)
    assert margin(f"{name} eval return after {steps} steps", result.mean, THRESHOLD)
