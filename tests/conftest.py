"""Shared fixtures: tiny synthetic envs (registered through the public ``rlsuite.register``)."""

from __future__ import annotations

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


@pytest.fixture(autouse=True)
def _one_torch_thread():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
