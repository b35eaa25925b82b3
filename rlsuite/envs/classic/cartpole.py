"""CartPole-v1 on a numba-compiled batched core, equal to Gymnasium's CartPole-v1 transition for transition.

One core, two faces:

* ``_step_kernel`` / ``_reset_kernel`` are ``@njit(cache=True)`` functions over a batch of ``N`` envs. The
  physics state is ``float64[N, 4]`` (Gymnasium keeps ``self.state`` as float64 and only casts the
  observation to float32), the elapsed step count and Gymnasium's ``steps_beyond_terminated`` are
  ``int64[N]``, and every env owns a splitmix64 PRNG state (``uint64[N]``), so envs draw independent,
  reproducible reset states and a checkpoint of the arrays restores the env exactly.
* :class:`CartPoleVectorEnv` (a ``gymnasium.vector.VectorEnv`` with same-step autoreset) and
  :class:`CartPoleEnv` (a ``gymnasium.Env``, the same kernels with ``N = 1``).

The arithmetic is Gymnasium's, operation for operation in float64 (``math.sin``/``math.cos`` in numba
give the same bits as ``np.sin``/``np.cos`` on a float64 scalar), so from the same state and action the
next state, observation, reward and termination are bit-identical. What differs is only the random
stream that draws reset states: Gymnasium uses ``np.random.Generator`` (PCG64), this core splitmix64.

Truncation at ``max_episode_steps`` (500, CartPole-v1's ``TimeLimit``) happens inside the core; when an
env terminates on its last allowed step both ``terminated`` and ``truncated`` are ``True``, as Gymnasium's
``TimeLimit`` reports it.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import logger, spaces
from gymnasium.error import ResetNeeded
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from numba import njit

__all__ = [
    "INTEGRATORS",
    "MAX_EPISODE_STEPS",
    "STATE_KEYS",
    "CartPoleEnv",
    "CartPoleVectorEnv",
    "render_cartpole_frame",
]

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

# splitmix64 (Steele, Lea & Flood 2014; Vigna's reference constants).
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_SH30 = np.uint64(30)
_SH27 = np.uint64(27)
_SH31 = np.uint64(31)
_SH11 = np.uint64(11)
_INV_2_53 = 1.0 / 9007199254740992.0
_U64 = 1 << 64

#: Keys of the dict returned by ``get_state()`` (the same for both env classes; arrays have a leading
#: env axis, of length 1 for :class:`CartPoleEnv`).
STATE_KEYS = ("physics", "elapsed_steps", "steps_beyond_terminated", "rng_state", "reset_bounds")

_BAD_ACTION = "CartPole actions must be integers in {0, 1} (0: push cart left, 1: push cart right)"


# ---------------------------------------------------------------------------------------------------
# numba kernels
@njit(cache=True)
def _mix64(z):
    z = (z ^ (z >> _SH30)) * _MIX1
    z = (z ^ (z >> _SH27)) * _MIX2
    return z ^ (z >> _SH31)


@njit(cache=True)
def _uniform(rng, i, low, high):
    """Advance env ``i``'s splitmix64 state and return a float64 uniform in ``[low, high)``."""
    z = rng[i] + _GOLDEN
    rng[i] = z
    u = np.float64(_mix64(z) >> _SH11) * _INV_2_53
    return low + (high - low) * u


@njit(cache=True)
def _seed_kernel(rng, seeds, mask):
    """Env ``i``'s PRNG state becomes ``mix64(seeds[i])`` where ``mask[i]``."""
    for i in range(rng.shape[0]):
        if mask[i]:
            rng[i] = _mix64(seeds[i])


@njit(cache=True)
def _reset_kernel(physics, steps, beyond, rng, mask, low, high, obs):
    """Draw a fresh state for every masked env; write the float32 observation of every env."""
    for i in range(physics.shape[0]):
        if mask[i]:
            for k in range(4):
                physics[i, k] = _uniform(rng, i, low, high)
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
        x = physics[i, 0]
        x_dot = physics[i, 1]
        theta = physics[i, 2]
        theta_dot = physics[i, 3]
        force = FORCE_MAG if actions[i] == 1 else -FORCE_MAG
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

        term = (
            x < -X_THRESHOLD
            or x > X_THRESHOLD
            or theta < -THETA_THRESHOLD_RADIANS
            or theta > THETA_THRESHOLD_RADIANS
        )
        if not term:
            reward = 0.0 if sutton_barto else 1.0
        elif beyond[i] < 0:  # the pole just fell
            beyond[i] = 0
            reward = -1.0 if sutton_barto else 1.0
        else:  # stepping a terminated env (single env without reset): Gymnasium's undefined-behaviour branch
            beyond[i] += 1
            reward = -1.0 if sutton_barto else 0.0
        steps[i] += 1
        trunc = steps[i] >= max_steps
        rewards[i] = reward
        terminated[i] = term
        truncated[i] = trunc
        if term or trunc:
            done_idx[ndone] = i
            if autoreset:
                for k in range(4):
                    final_obs[ndone, k] = np.float32(physics[i, k])
                for k in range(4):
                    physics[i, k] = _uniform(rng, i, low, high)
                steps[i] = 0
                beyond[i] = -1
            ndone += 1
        for k in range(4):
            obs[i, k] = np.float32(physics[i, k])
    return ndone


# ---------------------------------------------------------------------------------------------------
# Rendering (numpy only)
def render_cartpole_frame(state: np.ndarray, width: int = 600, height: int = 400) -> np.ndarray:
    """Draw one CartPole state as a ``uint8 (height, width, 3)`` image with Gymnasium's geometry.

    White background, black track line and cart, brown pole rotated by ``theta`` (positive leans right),
    blue-grey axle; the world spans ``±2 * x_threshold`` across the width.
    """
    x, theta = float(state[0]), float(state[2])
    scale = width / (X_THRESHOLD * 2)
    polewidth = 10.0
    polelen = scale * (2 * LENGTH)
    cartwidth = 50.0
    cartheight = 30.0
    carty = 100.0  # top of the track, y axis pointing up (flipped at the end)
    axleoffset = cartheight / 4.0
    cartx = x * scale + width / 2.0

    img = np.full((height, width, 3), 255, dtype=np.uint8)
    ys = np.arange(height, dtype=np.float64)[:, None] + 0.5
    xs = np.arange(width, dtype=np.float64)[None, :] + 0.5
    img[int(carty), :] = 0
    cart = (np.abs(xs - cartx) <= cartwidth / 2) & (np.abs(ys - carty) <= cartheight / 2)
    img[cart] = (0, 0, 0)
    # Pole corners are pygame-rotated by -theta about the axle; undo that rotation per pixel.
    dx = xs - cartx
    dy = ys - (carty + axleoffset)
    c, s = math.cos(theta), math.sin(theta)
    u = c * dx - s * dy
    v = s * dx + c * dy
    pole = (np.abs(u) <= polewidth / 2) & (v >= -polewidth / 2) & (v <= polelen - polewidth / 2)
    img[pole] = (202, 152, 101)
    img[dx * dx + dy * dy <= (polewidth / 2) ** 2] = (129, 132, 203)
    return np.ascontiguousarray(img[::-1])


# ---------------------------------------------------------------------------------------------------
# Shared Python-side state handling
def _check_integrator(kinematics_integrator: str) -> str:
    if kinematics_integrator not in INTEGRATORS:
        raise ValueError(f"kinematics_integrator must be one of {INTEGRATORS}, got {kinematics_integrator!r}")
    return kinematics_integrator


def _check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seeds must be non-negative ints (or None), got {seed!r}")
    return int(seed)


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


class _Core:
    """The arrays of ``n`` envs plus the Python glue shared by both env classes (not on the hot path)."""

    def __init__(self, n: int, max_episode_steps: int, flags: int):
        self.n = n
        self.max_episode_steps = max_episode_steps
        self.flags = flags
        self.physics = np.zeros((n, 4), dtype=np.float64)
        self.steps = np.zeros(n, dtype=np.int64)
        self.beyond = np.full(n, -1, dtype=np.int64)
        self.rng = np.zeros(n, dtype=np.uint64)
        self.rng_seeded = np.zeros(n, dtype=np.bool_)
        self.reset_bounds = np.array([RESET_LOW, RESET_HIGH], dtype=np.float64)
        self.final_obs = np.zeros((n, 4), dtype=np.float32)
        self.done_idx = np.zeros(n, dtype=np.int64)
        self.needs_reset = True

    def seed(self, seeds: list[int | None], fallback: int) -> None:
        """Seed env ``i`` from ``seeds[i]``; ``None`` keeps a seeded stream or seeds with ``fallback + i``."""
        values = np.zeros(self.n, dtype=np.uint64)
        mask = np.zeros(self.n, dtype=np.bool_)
        for i, s in enumerate(seeds):
            if s is not None:
                values[i] = _check_seed(s) % _U64
                mask[i] = True
            elif not self.rng_seeded[i]:
                values[i] = (int(fallback) + i) % _U64
                mask[i] = True
        _seed_kernel(self.rng, values, mask)
        self.rng_seeded |= mask

    def seed_range(self, seed: int) -> None:
        """Env ``i`` seeded with ``seed + i``, as ``SyncVectorEnv.reset(seed=seed)`` seeds its envs."""
        values = np.uint64(_check_seed(seed) % _U64) + np.arange(self.n, dtype=np.uint64)  # wraps mod 2**64
        _seed_kernel(self.rng, values, np.ones(self.n, dtype=np.bool_))
        self.rng_seeded[:] = True

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
        self.rng_seeded[:] = True
        self.needs_reset = False

    def set_physics_state(self, states: Any, elapsed_steps: Any) -> np.ndarray:
        arr = np.asarray(states, dtype=np.float64)
        if arr.shape != (self.n, 4):
            raise ValueError(f"physics states must have shape ({self.n}, 4), got {arr.shape}")
        self.physics[:] = arr
        if elapsed_steps is not None:
            self.steps[:] = elapsed_steps
        self.beyond[:] = -1
        if not self.rng_seeded.all():  # a later autoreset needs a stream
            self.seed([None] * self.n, int(np.random.SeedSequence().generate_state(1, np.uint64)[0]))
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


# ---------------------------------------------------------------------------------------------------
class CartPoleVectorEnv(VectorEnv):
    """``num_envs`` CartPole-v1 envs stepped by one numba call, with same-step autoreset.

    ``step`` returns fresh arrays every call (callers may keep them): ``obs float32[N, 4]``,
    ``rewards float64[N]`` (the dtype ``SyncVectorEnv`` returns), ``terminated bool[N]``,
    ``truncated bool[N]``. When env ``i`` terminates or truncates its returned observation is already
    the reset one and ``infos`` is, exactly as ``SyncVectorEnv(autoreset_mode=SAME_STEP)`` over
    Gymnasium's CartPole builds it::

        {"final_obs": object[N] (float32[4] terminal obs where done, else None), "_final_obs": bool[N],
         "final_info": {}, "_final_info": bool[N]}

    and ``infos == {}`` on steps where no env finished. ``reset(seed=s)`` seeds env ``i`` with ``s + i``,
    so env ``i`` follows the same trajectory as ``CartPoleEnv().reset(seed=s + i)`` under the same
    actions. ``render()`` returns env 0's frame only.
    """

    metadata = {  # noqa: RUF012 - Gymnasium's convention is a class-level dict
        "autoreset_mode": AutoresetMode.SAME_STEP,
        "render_modes": ["rgb_array"],
        "render_fps": 50,
    }

    def __init__(
        self,
        num_envs: int = 1,
        max_episode_steps: int = MAX_EPISODE_STEPS,
        sutton_barto_reward: bool = False,
        render_mode: str | None = None,
        kinematics_integrator: str = "euler",
    ):
        self.num_envs = _check_positive_int("num_envs", num_envs)
        self.max_episode_steps = _check_positive_int("max_episode_steps", max_episode_steps)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be None or one of {self.metadata['render_modes']}, got {render_mode!r}"
            )
        self.render_mode = render_mode
        self.sutton_barto_reward = bool(sutton_barto_reward)
        self.kinematics_integrator = _check_integrator(kinematics_integrator)
        self.autoreset_mode = AutoresetMode.SAME_STEP
        self.x_threshold = X_THRESHOLD
        self.theta_threshold_radians = THETA_THRESHOLD_RADIANS

        self.single_observation_space, self.single_action_space = _make_spaces()
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)

        self._core = _Core(
            self.num_envs, self.max_episode_steps, _flags(sutton_barto_reward, kinematics_integrator, True)
        )

    # -- Gymnasium API ------------------------------------------------------------------------------
    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset every env (or those in ``options["reset_mask"]``) and return ``(obs float32[N, 4], {})``.

        ``seed``: ``None`` continues each env's PRNG stream (seeding unseeded envs from entropy), an int
        ``s`` seeds env ``i`` with ``s + i``, a list gives one seed (or ``None``) per env. ``options``
        may hold ``low``/``high`` (reset bounds, default ±0.05, kept for later autoresets as Gymnasium's
        vector CartPole does) and ``reset_mask`` (bool[N], as ``SyncVectorEnv``).
        """
        core = self._core
        options = dict(options) if options else {}
        mask = options.pop("reset_mask", None)
        if mask is None:
            mask = np.ones(self.num_envs, dtype=np.bool_)
        else:
            mask = np.asarray(mask)
            if mask.shape != (self.num_envs,) or mask.dtype != np.bool_:
                raise ValueError(f"options['reset_mask'] must be a bool array of shape ({self.num_envs},)")
            if not mask.any():
                raise ValueError("options['reset_mask'] must contain at least one True value")
        low, high = _parse_reset_bounds(options)

        int_seed = isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)
        if int_seed:
            super().reset(seed=int(seed))
            seeds: list[int | None] = [int(seed) + i for i in range(self.num_envs)]
        elif seed is None:
            seeds = [None] * self.num_envs
        else:
            seeds = list(seed)
            if len(seeds) != self.num_envs:
                raise ValueError(
                    f"If seeds are passed as a list the length must match num_envs={self.num_envs} "
                    f"but got length={len(seeds)}."
                )
        if int_seed and mask.all():
            core.seed_range(int(seed))  # vectorised form of the general case below
        else:
            fallback = 0 if core.rng_seeded.all() else self.np_random_seed
            core.seed([s if m else None for s, m in zip(seeds, mask)], fallback)
        obs = core.reset(mask, low, high)
        core.needs_reset = False
        return obs, {}

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Step all envs with ``actions`` (ints in {0, 1}, shape ``(num_envs,)``); see the class docstring."""
        core = self._core
        if core.needs_reset:
            raise ResetNeeded("Call reset() before step().")
        n = self.num_envs
        a = np.asarray(actions)
        if a.shape != (n,):
            raise ValueError(f"actions must have shape ({n},), got {a.shape}. {_BAD_ACTION}")
        if a.dtype != np.int64:
            if a.dtype.kind not in "iub":
                raise ValueError(f"actions must have an integer dtype, got {a.dtype}. {_BAD_ACTION}")
            a = a.astype(np.int64)
        elif not a.flags.c_contiguous:
            a = np.ascontiguousarray(a)
        obs = np.empty((n, 4), dtype=np.float32)
        rewards = np.empty(n, dtype=np.float64)
        terminated = np.empty(n, dtype=np.bool_)
        truncated = np.empty(n, dtype=np.bool_)
        bounds = core.reset_bounds
        ndone = _step_kernel(
            core.physics,
            core.steps,
            core.beyond,
            core.rng,
            a,
            core.max_episode_steps,
            core.flags,
            bounds[0],
            bounds[1],
            obs,
            rewards,
            terminated,
            truncated,
            core.final_obs,
            core.done_idx,
        )
        if ndone == 0:
            return obs, rewards, terminated, truncated, {}
        if ndone < 0:
            i = -ndone - 1
            raise ValueError(f"invalid action {a[i]!r} for env {i}. {_BAD_ACTION}")
        done = terminated | truncated
        final_obs = np.empty(n, dtype=object)  # None-filled
        # views of one fresh copy of the terminal observations, placed at the finished envs' indices
        final_obs[core.done_idx[:ndone]] = np.fromiter(
            core.final_obs[:ndone].copy(), dtype=object, count=ndone
        )
        infos = {"final_obs": final_obs, "_final_obs": done, "final_info": {}, "_final_info": done.copy()}
        return obs, rewards, terminated, truncated, infos

    def render(self) -> np.ndarray | None:
        """``uint8 (400, 600, 3)`` frame of env 0 when ``render_mode == "rgb_array"``."""
        if self.render_mode is None:
            gym.logger.warn(
                "You are calling render method without specifying any render mode. "
                'Pass render_mode="rgb_array" to CartPoleVectorEnv.'
            )
            return None
        if self._core.needs_reset:
            raise ResetNeeded("Call reset() before render().")
        return render_cartpole_frame(self._core.physics[0])

    # -- checkpointing and test helpers ---------------------------------------------------------------
    def get_state(self) -> dict[str, np.ndarray]:
        """Copies of every array of the env: see ``STATE_KEYS``."""
        return self._core.get_state()

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore a ``get_state()`` dict (arrays are copied); the continuation is then bit-identical."""
        self._core.set_state(state)

    def set_physics_state(self, states: Any, elapsed_steps: Any = 0) -> np.ndarray:
        """Place env ``i`` at ``states[i] = (x, x_dot, theta, theta_dot)`` (float64) and return its obs.

        ``elapsed_steps`` (int or int[N]; ``None`` keeps the counters) sets the episode step counters; the
        "already terminated" marker is cleared as after a reset.
        """
        return self._core.set_physics_state(states, elapsed_steps)

    @property
    def physics_state(self) -> np.ndarray:
        """A copy of the float64 ``(num_envs, 4)`` physics state."""
        return self._core.physics.copy()


# ---------------------------------------------------------------------------------------------------
class CartPoleEnv(gym.Env):
    """A single CartPole-v1 on the same kernels (``N = 1``), truncating at ``max_episode_steps`` itself.

    Register it without a ``TimeLimit``. ``reset(seed=s)`` seeds the core's splitmix64 stream with ``s``
    (and Gymnasium's ``np_random``, which the env does not otherwise use), so it matches env 0 of
    ``CartPoleVectorEnv(num_envs=1).reset(seed=s)``. ``step`` returns a fresh float32 obs, a Python
    float reward and Python bools.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 50}  # noqa: RUF012

    def __init__(
        self,
        sutton_barto_reward: bool = False,
        render_mode: str | None = None,
        max_episode_steps: int = MAX_EPISODE_STEPS,
        kinematics_integrator: str = "euler",
    ):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be None or one of {self.metadata['render_modes']}, got {render_mode!r}"
            )
        self.render_mode = render_mode
        self.max_episode_steps = _check_positive_int("max_episode_steps", max_episode_steps)
        self.sutton_barto_reward = bool(sutton_barto_reward)
        self.kinematics_integrator = _check_integrator(kinematics_integrator)
        self.x_threshold = X_THRESHOLD
        self.theta_threshold_radians = THETA_THRESHOLD_RADIANS
        self.observation_space, self.action_space = _make_spaces()
        self._core = _Core(
            1, self.max_episode_steps, _flags(sutton_barto_reward, kinematics_integrator, False)
        )
        self._action = np.zeros(1, dtype=np.int64)
        self._obs = np.zeros((1, 4), dtype=np.float32)
        self._reward = np.zeros(1, dtype=np.float64)
        self._terminated = np.zeros(1, dtype=np.bool_)
        self._truncated = np.zeros(1, dtype=np.bool_)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Draw a state uniformly in ``[low, high)^4`` (``options["low"]``/``["high"]``, default ±0.05)."""
        super().reset(seed=seed)
        low, high = _parse_reset_bounds(options or {})
        core = self._core
        if seed is not None:
            core.seed([seed], 0)
        elif not core.rng_seeded[0]:
            core.seed([None], self.np_random_seed)
        obs = core.reset(np.ones(1, dtype=np.bool_), low, high)
        core.needs_reset = False
        return obs[0], {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        core = self._core
        if core.needs_reset:
            raise ResetNeeded("Call reset() before step().")
        self._action[0] = _single_action(action)
        if core.beyond[0] == 0:
            logger.warn(
                "You are calling 'step()' even though this environment has already returned "
                "terminated = True. You should always call 'reset()' once you receive 'terminated = True' "
                "-- any further steps are undefined behavior."
            )
        bounds = core.reset_bounds
        _step_kernel(
            core.physics,
            core.steps,
            core.beyond,
            core.rng,
            self._action,
            core.max_episode_steps,
            core.flags,
            bounds[0],
            bounds[1],
            self._obs,
            self._reward,
            self._terminated,
            self._truncated,
            core.final_obs,
            core.done_idx,
        )
        return (
            self._obs[0].copy(),
            float(self._reward[0]),
            bool(self._terminated[0]),
            bool(self._truncated[0]),
            {},
        )

    def render(self) -> np.ndarray | None:
        """``uint8 (400, 600, 3)`` frame when ``render_mode == "rgb_array"`` (``None`` before reset)."""
        if self.render_mode is None:
            gym.logger.warn(
                "You are calling render method without specifying any render mode. "
                'Pass render_mode="rgb_array" (e.g. gym.make(..., render_mode="rgb_array")).'
            )
            return None
        if self._core.needs_reset:
            return None
        return render_cartpole_frame(self._core.physics[0])

    # -- checkpointing and test helpers ---------------------------------------------------------------
    def get_state(self) -> dict[str, np.ndarray]:
        """Copies of every array (``STATE_KEYS``, leading env axis of length 1: interchangeable with a
        ``CartPoleVectorEnv(num_envs=1)`` state)."""
        return self._core.get_state()

    def set_state(self, state: dict[str, Any]) -> None:
        self._core.set_state(state)

    def set_physics_state(self, state: Any, elapsed_steps: int | None = 0) -> np.ndarray:
        """Place the env at ``state = (x, x_dot, theta, theta_dot)`` and return its float32 observation."""
        return self._core.set_physics_state(
            np.reshape(np.asarray(state, dtype=np.float64), (1, 4)), elapsed_steps
        )[0]

    @property
    def state(self) -> np.ndarray | None:
        """A copy of the float64 physics state (Gymnasium's ``CartPoleEnv.state``), ``None`` before reset."""
        return None if self._core.needs_reset else self._core.physics[0].copy()


def _single_action(action: Any) -> int:
    if isinstance(action, np.ndarray):
        if action.shape != () or action.dtype.kind not in "iub":
            raise ValueError(f"invalid action {action!r}. {_BAD_ACTION}")
        action = action.item()
    elif not isinstance(action, (int, np.integer)):
        raise ValueError(f"invalid action {action!r} of type {type(action).__name__}. {_BAD_ACTION}")
    if action != 0 and action != 1:
        raise ValueError(f"invalid action {action!r}. {_BAD_ACTION}")
    return int(action)
