"""CartPole-v1's numba kernels and array core, shared by the vector and single-env faces in
``cartpole.py``. Constants and arithmetic follow ``gymnasium.envs.classic_control.cartpole`` exactly."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.error import ResetNeeded
from numba import njit

from rlsuite.envs.batched import BatchedCore, EnvStreams, rand_uniform

# ---------------------------------------------------------------------------------------------------
# Constants, computed exactly as gymnasium.envs.classic_control.cartpole computes them.
GRAVITY = 9.8
MASSCART = 1.0
MASSPOLE = 0.1
TOTAL_MASS = MASSPOLE + MASSCART
LENGTH = 0.5  # half the pole's length
POLEMASS_LENGTH = MASSPOLE * LENGTH
FORCE_MAG = 10.0
TAU = 0.02  # seconds between state updates
THETA_THRESHOLD_RADIANS = 12 * 2 * math.pi / 360
X_THRESHOLD = 2.4
RESET_LOW = -0.05
RESET_HIGH = 0.05
MAX_EPISODE_STEPS = 500
INTEGRATORS = ("euler", "semi-implicit euler")

_OBS_HIGH = np.array([X_THRESHOLD * 2, np.inf, THETA_THRESHOLD_RADIANS * 2, np.inf], dtype=np.float32)

# Bit flags passed to the step kernel.
_FLAG_SUTTON_BARTO = 1
_FLAG_SEMI_IMPLICIT = 2
_FLAG_AUTORESET = 4


#: Keys of the dict returned by ``get_state()`` (the same for both env classes; arrays have a leading
#: env axis, of length 1 for :class:`CartPoleEnv`).
STATE_KEYS = ("physics", "elapsed_steps", "steps_beyond_terminated", "rng_state", "reset_bounds")

_BAD_ACTION = "CartPole actions must be integers in {0, 1} (0: push cart left, 1: push cart right)"


# ---------------------------------------------------------------------------------------------------
# numba kernels
@njit(cache=True)
def _reset_kernel(physics, steps, beyond, rng, mask, low, high, obs):
    """Draw a fresh state for every masked env; write the float32 observation of every env."""
    for i in range(physics.shape[0]):
        if mask[i]:
            for k in range(4):
                physics[i, k] = rand_uniform(rng, i, low, high)
            steps[i] = 0
            beyond[i] = -1
        for k in range(4):
            obs[i, k] = np.float32(physics[i, k])


@njit(cache=True)
def _write_obs(physics, obs):
    for i in range(physics.shape[0]):
        for k in range(4):
            obs[i, k] = np.float32(physics[i, k])


@njit(cache=True)
def _advance_physics(physics, i, push_right, semi_implicit):
    """One Euler (or semi-implicit Euler) step of env ``i``'s cart and pole, in place."""
    x = physics[i, 0]
    x_dot = physics[i, 1]
    theta = physics[i, 2]
    theta_dot = physics[i, 3]
    force = FORCE_MAG if push_right else -FORCE_MAG
    costheta = math.cos(theta)
    sintheta = math.sin(theta)
    # Same expression tree as Gymnasium (evaluation order matters for bit equality).
    temp = (force + POLEMASS_LENGTH * (theta_dot * theta_dot) * sintheta) / TOTAL_MASS
    thetaacc = (GRAVITY * sintheta - costheta * temp) / (
        LENGTH * (4.0 / 3.0 - MASSPOLE * (costheta * costheta) / TOTAL_MASS)
    )
    xacc = temp - POLEMASS_LENGTH * thetaacc * costheta / TOTAL_MASS
    if semi_implicit:
        x_dot = x_dot + TAU * xacc
        x = x + TAU * x_dot
        theta_dot = theta_dot + TAU * thetaacc
        theta = theta + TAU * theta_dot
    else:
        x = x + TAU * x_dot
        x_dot = x_dot + TAU * xacc
        theta = theta + TAU * theta_dot
        theta_dot = theta_dot + TAU * thetaacc
    physics[i, 0] = x
    physics[i, 1] = x_dot
    physics[i, 2] = theta
    physics[i, 3] = theta_dot


@njit(cache=True)
def _pole_fell(physics, i):
    """Gymnasium's termination: the cart left the track or the pole leans past 12 degrees."""
    x = physics[i, 0]
    theta = physics[i, 2]
    return (
        x < -X_THRESHOLD
        or x > X_THRESHOLD
        or theta < -THETA_THRESHOLD_RADIANS
        or theta > THETA_THRESHOLD_RADIANS
    )


@njit(cache=True)
def _reward(term, beyond, i, sutton_barto):
    """The step's reward; counts steps taken after termination in ``beyond[i]`` as Gymnasium does."""
    if not term:
        return 0.0 if sutton_barto else 1.0
    if beyond[i] < 0:  # the pole just fell
        beyond[i] = 0
        return -1.0 if sutton_barto else 1.0
    # stepping a terminated env (single env without reset): Gymnasium's undefined-behaviour branch
    beyond[i] += 1
    return -1.0 if sutton_barto else 0.0


@njit(cache=True)
def _autoreset(physics, steps, beyond, rng, i, low, high, final_obs, j):
    """Env ``i``, the ``j``-th to finish: its terminal observation to ``final_obs[j]``, then a fresh state."""
    for k in range(4):
        final_obs[j, k] = np.float32(physics[i, k])
    for k in range(4):
        physics[i, k] = rand_uniform(rng, i, low, high)
    steps[i] = 0
    beyond[i] = -1


@njit(cache=True)
def _step_kernel(
    physics,
    steps,
    beyond,
    rng,
    actions,
    max_steps,
    flags,
    low,
    high,
    obs,
    rewards,
    terminated,
    truncated,
    final_obs,
    done_idx,
):
    """Advance every env by one step.

    Returns the number of envs that terminated or truncated, or ``-(i + 1)`` if ``actions[i]`` is not 0/1
    (checked for all envs before anything is modified). The ``j``-th env to finish, ``i``, is recorded
    compactly: ``done_idx[j] = i`` and, with the autoreset flag, its terminal observation goes to
    ``final_obs[j]`` while ``obs[i]`` becomes its reset observation.
    """
    n = physics.shape[0]
    for i in range(n):
        a = actions[i]
        if a != 0 and a != 1:
            return -(i + 1)
    sutton_barto = (flags & _FLAG_SUTTON_BARTO) != 0
    semi_implicit = (flags & _FLAG_SEMI_IMPLICIT) != 0
    autoreset = (flags & _FLAG_AUTORESET) != 0
    ndone = 0
    for i in range(n):
        _advance_physics(physics, i, actions[i] == 1, semi_implicit)
        term = _pole_fell(physics, i)
        rewards[i] = _reward(term, beyond, i, sutton_barto)
        steps[i] += 1
        trunc = steps[i] >= max_steps
        terminated[i] = term
        truncated[i] = trunc
        if term or trunc:
            done_idx[ndone] = i
            if autoreset:
                _autoreset(physics, steps, beyond, rng, i, low, high, final_obs, ndone)
            ndone += 1
        for k in range(4):
            obs[i, k] = np.float32(physics[i, k])
    return ndone


# ---------------------------------------------------------------------------------------------------
# Shared Python-side state handling
def _check_integrator(kinematics_integrator: str) -> str:
    if kinematics_integrator not in INTEGRATORS:
        raise ValueError(f"kinematics_integrator must be one of {INTEGRATORS}, got {kinematics_integrator!r}")
    return kinematics_integrator


def _parse_reset_bounds(options: dict[str, Any]) -> tuple[float, float]:
    """``options["low"]``/``["high"]``, parsed as Gymnasium's classic-control ``maybe_parse_reset_bounds``."""
    bounds = []
    for key, default in (("low", RESET_LOW), ("high", RESET_HIGH)):
        value = options.get(key, default)
        try:
            bounds.append(float(value))
        except (TypeError, ValueError) as e:
            raise ValueError(f"An option ({value}) could not be converted to a float.") from e
    low, high = bounds
    if low > high:
        raise ValueError(f"Lower bound ({low}) must be lower than higher bound ({high}).")
    return low, high


class CartPoleCore(BatchedCore, EnvStreams):
    """The arrays of ``n`` envs plus the Python glue shared by both env classes (not on the hot path)."""

    def __init__(self, n: int, max_episode_steps: int, flags: int):
        super().__init__(n)
        self.num_envs = n
        self.max_episode_steps = max_episode_steps
        self.flags = flags
        self.physics = np.zeros((n, 4), dtype=np.float64)
        self.steps = np.zeros(n, dtype=np.int64)
        self.beyond = np.full(n, -1, dtype=np.int64)
        self.reset_bounds = np.array([RESET_LOW, RESET_HIGH], dtype=np.float64)
        self.final_obs = np.zeros((n, 4), dtype=np.float32)
        self.done_idx = np.zeros(n, dtype=np.int64)
        self.needs_reset = True

    def reset(self, mask: np.ndarray, low: float, high: float) -> np.ndarray:
        obs = np.empty((self.n, 4), dtype=np.float32)
        self.reset_bounds[:] = (low, high)
        _reset_kernel(self.physics, self.steps, self.beyond, self.rng, mask, low, high, obs)
        return obs

    def get_state(self) -> dict[str, np.ndarray]:
        if self.needs_reset:
            raise ResetNeeded("get_state() needs an env that has been reset (or given a state) first.")
        return {
            "physics": self.physics.copy(),
            "elapsed_steps": self.steps.copy(),
            "steps_beyond_terminated": self.beyond.copy(),
            "rng_state": self.rng.copy(),
            "reset_bounds": self.reset_bounds.copy(),
        }

    def set_state(self, state: dict[str, Any]) -> None:
        missing = [k for k in STATE_KEYS if k not in state]
        if missing:
            raise KeyError(f"state is missing {missing}; expected keys {STATE_KEYS}")
        expected = {
            "physics": ((self.n, 4), np.float64),
            "elapsed_steps": ((self.n,), np.int64),
            "steps_beyond_terminated": ((self.n,), np.int64),
            "rng_state": ((self.n,), np.uint64),
            "reset_bounds": ((2,), np.float64),
        }
        arrays = {}
        for key, (shape, dtype) in expected.items():
            arr = np.asarray(state[key])
            if arr.shape != shape:
                raise ValueError(f"state[{key!r}] must have shape {shape}, got {arr.shape}")
            arrays[key] = np.array(arr, dtype=dtype, copy=True)
        self.physics[:] = arrays["physics"]
        self.steps[:] = arrays["elapsed_steps"]
        self.beyond[:] = arrays["steps_beyond_terminated"]
        self.rng[:] = arrays["rng_state"]
        self.reset_bounds[:] = arrays["reset_bounds"]
        self.seeded[:] = True
        self.needs_reset = False

    def set_physics_state(self, states: Any, elapsed_steps: Any) -> np.ndarray:
        arr = np.asarray(states, dtype=np.float64)
        if arr.shape != (self.n, 4):
            raise ValueError(f"physics states must have shape ({self.n}, 4), got {arr.shape}")
        self.physics[:] = arr
        if elapsed_steps is not None:
            self.steps[:] = elapsed_steps
        self.beyond[:] = -1
        self.seed_unseeded_randomly()  # a later autoreset needs a stream
        self.needs_reset = False
        obs = np.empty((self.n, 4), dtype=np.float32)
        _write_obs(self.physics, obs)
        return obs


def _flags(sutton_barto_reward: bool, kinematics_integrator: str, autoreset: bool) -> int:
    flags = _FLAG_SUTTON_BARTO if sutton_barto_reward else 0
    if _check_integrator(kinematics_integrator) == "semi-implicit euler":
        flags |= _FLAG_SEMI_IMPLICIT
    if autoreset:
        flags |= _FLAG_AUTORESET
    return flags


def _make_spaces() -> tuple[spaces.Box, spaces.Discrete]:
    return spaces.Box(-_OBS_HIGH, _OBS_HIGH, dtype=np.float32), spaces.Discrete(2)
