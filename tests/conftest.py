"""Shared fixtures: tiny synthetic envs (registered through the public ``rlsuite.register``)."""

from __future__ import annotations

import json
import os

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

import rlsuite
from rlsuite.wrappers.video import ensure_headless_gl

# MuJoCo fixes its OpenGL backend when first imported: on a headless machine pick EGL/OSMesa before
# any test module imports it (cheap: looks for the libraries, no rendering probe).
ensure_headless_gl(probe=False)
# render_mode="human" opens pygame windows: headless in tests and CI (as PettingZoo's own tests run them).
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")


class IdentityDiscrete(gym.Env):
    """Observe a one-hot target; reward 1 for choosing it. Optimal return = episode length (20)."""

    def __init__(self, n: int = 3, length: int = 20):
        self.n, self.length = n, length
        self.observation_space = spaces.Box(0.0, 1.0, (n,), np.float32)
        self.action_space = spaces.Discrete(n)

    def _obs(self):
        obs = np.zeros(self.n, np.float32)
        obs[self.target] = 1.0
        return obs

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.target = 0, int(self.np_random.integers(self.n))
        return self._obs(), {}

    def step(self, action):
        reward = float(int(action) == self.target)
        self.t += 1
        self.target = int(self.np_random.integers(self.n))
        return self._obs(), reward, False, self.t >= self.length, {}


class IdentityContinuous(gym.Env):
    """Observe a target in [-1, 1]; reward -(action - target)^2. Optimal return = 0."""

    def __init__(self, length: int = 20):
        self.length = length
        self.observation_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        self.target = self.np_random.uniform(-1, 1, 1).astype(np.float32)
        return self.target.copy(), {}

    def step(self, action):
        reward = -float(np.square(np.asarray(action) - self.target).sum())
        self.t += 1
        self.target = self.np_random.uniform(-1, 1, 1).astype(np.float32)
        return self.target.copy(), reward, False, self.t >= self.length, {}


TINY_ENVS = {"test/IdentityDiscrete-v0": IdentityDiscrete, "test/IdentityContinuous-v0": IdentityContinuous}
for _env_id, _cls in TINY_ENVS.items():
    if _env_id not in rlsuite.list_envs():
        rlsuite.register(_env_id, entry_point=_cls, family="test")


# Tests run torch on one thread by default (fast on a busy 2-core machine, and one fixed reduction order).
# RLSUITE_TEST_TORCH_THREADS=2 runs them on two, which changes the reduction order of every parallel kernel:
# the learning tests must pass under both (see check_margin() below and docs/reliability.md).
TEST_TORCH_THREADS = int(os.environ.get("RLSUITE_TEST_TORCH_THREADS", "1"))


@pytest.fixture(autouse=True)
def _test_torch_threads():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(TEST_TORCH_THREADS)
    yield
    torch.set_num_threads(threads)


def check_margin(name: str, value: float, threshold: float, *, above: bool = True) -> bool:
    """Whether a learning test's figure clears its threshold (tests assert it); records the room left.

    With ``RLSUITE_MARGIN_LOG=FILE`` each call appends one JSON line (test, figure, value, threshold, margin,
    numerics settings), so the margins of every fixed-seed learning test can be compared across CPUs,
    thread counts and BLAS kernels (``scripts/learning_margins.py``).
    """
    value, threshold = float(value), float(threshold)
    room = value - threshold if above else threshold - value
    log = os.environ.get("RLSUITE_MARGIN_LOG")
    if log:
        import torch

        record = {
            "test": os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0],
            "figure": name,
            "value": value,
            "threshold": threshold,
            "above": above,
            "margin": room,
            "torch_threads": torch.get_num_threads(),
            **{key: os.environ.get(key, "") for key in NUMERICS_ENV},
        }
        with open(log, "a") as handle:
            handle.write(json.dumps(record) + "\n")
    return room >= 0


NUMERICS_ENV = (
    "OMP_NUM_THREADS",
    "NUMBA_NUM_THREADS",
    "ATEN_CPU_CAPABILITY",
    "MKL_CBWR",
    "OPENBLAS_CORETYPE",
)


@pytest.fixture
def margin():
    """``margin(name, value, threshold, above=True)``: see :func:`check_margin`."""
    return check_margin
