"""Shared machinery of the grid worlds: a per-env splitmix64 PRNG in numba, the Python glue around a
world's batched kernels (:class:`GridCore`), and the two Gymnasium faces over it (:class:`GridVectorEnv`,
same-step autoreset, and :class:`GridEnv`, one env on the same kernels).

A world subclasses :class:`GridCore` and implements ``_reset(mask, options)`` (start new episodes in the
masked envs, write their ``info`` rows) and ``_step(actions, autoreset, obs, rewards, terminated,
truncated)`` (one numba call; returns the number of finished envs, recording the ``j``-th finished env's
index in ``done_idx[j]``, its terminal observation in ``final_obs[j]`` and its terminal info rows in
``final[key][j]``). Every step info holds ``action_mask`` (``int8[A]``: the actions that change the
state) and ``is_success`` (``bool``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.error import ResetNeeded
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from numba import njit

from rlsuite.envs.batched import (  # noqa: F401  (re-exported for the world modules)
    BatchedCore,
    EnvStreams,
    as_action_array,
    check_positive_int,
    check_random_stream,
    check_seed,
    mix64,
    pop_reset_mask,
    rand_float,
    rand_int,
    same_step_infos,
    seed_vector_reset,
)
from rlsuite.envs.inputs import EpisodeOver, check_reset_options, check_reset_seed

RENDER_MODES = ["ansi", "text", "rgb_array"]


def world_options(
    defaults: Callable[..., dict[str, Any]], kwargs: dict[str, Any], world: str
) -> dict[str, Any]:
    """``defaults(**kwargs)``: a world's options with the given ones applied; an unknown name raises a
    ``TypeError`` that lists the accepted ones."""
    accepted = list(inspect.signature(defaults).parameters)
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise TypeError(
            f"{world} got unexpected keyword argument(s) {', '.join(map(repr, unknown))}; "
            f"accepted: {', '.join([*accepted, 'render_mode'])}"
        )
    return defaults(**kwargs)


@njit(cache=True)
def first_invalid(actions, n_actions):
    """``-(i + 1)`` for the first action outside ``[0, n_actions)``, else 0."""
    for i in range(actions.shape[0]):
        if actions[i] < 0 or actions[i] >= n_actions:
            return -(i + 1)
    return 0


def check_render_mode(render_mode: str | None) -> str | None:
    if render_mode is not None and render_mode not in RENDER_MODES:
        raise ValueError(f"render_mode must be None or one of {RENDER_MODES}, got {render_mode!r}")
    return render_mode


# ---------------------------------------------------------------------------------------------------
class GridCore(BatchedCore, EnvStreams):
    """The arrays of ``n`` envs of one world plus Python glue (seeding, checkpoints, infos): a
    :class:`~rlsuite.envs.batched.BatchedCore` whose kernels take its ``kernel_state``.

    Subclasses set ``num_actions``, ``obs_shape``, ``obs_dtype``, ``state_keys`` (attributes saved by
    ``get_state`` besides ``rng_state``) and ``world_keys`` (the attributes that define the world state,
    used to tell whether an action changed anything), and implement ``_reset``, ``_step`` and ``render``.
    """

    num_actions: int
    obs_shape: tuple[int, ...]
    obs_dtype: type = np.uint8
    #: The Python type of a single env's reward (Gymnasium's Taxi gives ints).
    reward_type: type = float
    state_keys: tuple[str, ...] = ()
    world_keys: tuple[str, ...] = ()

    def __init__(self, n: int, extra_info: dict[str, np.dtype] | None = None):
        super().__init__(n)
        self.num_envs = n
        self.info: dict[str, np.ndarray] = {
            "action_mask": np.zeros((n, self.num_actions), dtype=np.int8),
            "is_success": np.zeros(n, dtype=np.bool_),
        }
        for key, dtype in (extra_info or {}).items():
            self.info[key] = np.zeros(n, dtype=dtype)
        self.final = {k: np.zeros_like(v) for k, v in self.info.items()}
        self.final_obs = np.zeros((n, *self.obs_shape), dtype=self.obs_dtype)
        self.done_idx = np.zeros(n, dtype=np.int64)
        self.needs_reset = True

    # -- world hooks ----------------------------------------------------------------------------------
    def _reset(self, mask: np.ndarray, options: dict[str, Any]) -> None:
        raise NotImplementedError

    def _observe(self, out: np.ndarray) -> None:
        raise NotImplementedError

    def _step(self, actions, autoreset, obs, rewards, terminated, truncated) -> int:
        raise NotImplementedError

    def render(self, i: int, mode: str) -> Any:
        raise NotImplementedError

    # -- Python-side API ------------------------------------------------------------------------------
    def reset(self, mask: np.ndarray, options: dict[str, Any]) -> np.ndarray:
        self._reset(mask, options)
        self.needs_reset = False
        obs = np.empty((self.n, *self.obs_shape), dtype=self.obs_dtype)
        self._observe(obs)
        return obs

    def step(self, actions: np.ndarray, autoreset: bool):
        if self.needs_reset:
            raise ResetNeeded("Call reset() before step().")
        bad = first_invalid(actions, self.num_actions)
        if bad < 0:
            i = -bad - 1
            raise ValueError(
                f"invalid action {actions[i]!r} for env {i}: actions are ints in [0, {self.num_actions})"
            )
        n = self.n
        obs = np.empty((n, *self.obs_shape), dtype=self.obs_dtype)
        rewards = np.empty(n, dtype=np.float64)
        terminated = np.empty(n, dtype=np.bool_)
        truncated = np.empty(n, dtype=np.bool_)
        ndone = self._step(actions, autoreset, obs, rewards, terminated, truncated)
        return obs, rewards, terminated, truncated, ndone

    def single_info(self, i: int = 0) -> dict[str, Any]:
        """Env ``i``'s info as a single env returns it (arrays copied, scalars as Python values)."""
        return {k: (v[i].copy() if v.ndim > 1 else v[i].item()) for k, v in self.info.items()}

    def world_state(self, i: int = 0) -> bytes:
        """Bytes that change exactly when env ``i``'s world state changes (not counters or PRNG)."""
        return b"".join(np.ascontiguousarray(getattr(self, k)[i]).tobytes() for k in self.world_keys)

    def get_state(self) -> dict[str, np.ndarray]:
        if self.needs_reset:
            raise ResetNeeded("get_state() needs an env that has been reset (or given a state) first.")
        state = {k: getattr(self, k).copy() for k in self.state_keys}
        state["rng_state"] = self.rng.copy()
        state["info"] = {k: v.copy() for k, v in self.info.items()}
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        keys = (*self.state_keys, "rng_state", "info")
        missing = [k for k in keys if k not in state]
        if missing:
            raise KeyError(f"state is missing {missing}; expected keys {keys}")
        for key in self.state_keys:
            _copy_into(key, getattr(self, key), state[key])
        _copy_into("rng_state", self.rng, state["rng_state"])
        for key, arr in self.info.items():
            _copy_into(f"info[{key!r}]", arr, state["info"][key])
        self.seeded[:] = True
        self.needs_reset = False


def _copy_into(name: str, target: np.ndarray, value: Any) -> None:
    arr = np.asarray(value)
    if arr.shape != target.shape:
        raise ValueError(f"state[{name!r}] must have shape {target.shape}, got {arr.shape}")
    target[...] = arr.astype(target.dtype, copy=False)


# ---------------------------------------------------------------------------------------------------
class GridVectorEnv(VectorEnv):
    """``num_envs`` envs of one world stepped by one numba call, with same-step autoreset.

    ``step`` returns fresh arrays. ``infos`` is what ``SyncVectorEnv(autoreset_mode=SAME_STEP)`` builds
    over the single env: ``action_mask int8[N, A]`` and ``is_success bool[N]`` (with all-True ``_`` masks;
    a finished env's entries are those of its reset state), and when some env finished ``final_obs``
    (object array), ``final_info`` (the same keys at the terminal step, masked by the finished envs) and
    their ``_`` masks. ``reset(seed=s)`` seeds env ``i`` with ``s + i``; ``options["reset_mask"]`` resets
    a subset. ``render()`` draws env 0.
    """

    metadata = {  # noqa: RUF012 - Gymnasium's convention is a class-level dict
        "autoreset_mode": AutoresetMode.SAME_STEP,
        "render_modes": RENDER_MODES,
        "render_fps": 4,
    }

    def _setup(self, core: GridCore, obs_space: spaces.Space, render_mode: str | None) -> None:
        self._core = core
        self.num_envs = core.n
        self.render_mode = check_render_mode(render_mode)
        self.autoreset_mode = AutoresetMode.SAME_STEP
        self.single_observation_space = obs_space
        self.single_action_space = spaces.Discrete(core.num_actions)
        self.observation_space = batch_space(obs_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)

    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset every env (or those in ``options["reset_mask"]``); ``seed`` as in ``SyncVectorEnv``."""
        core = self._core
        options = check_reset_options(options)
        mask = pop_reset_mask(options, self.num_envs)
        seed_vector_reset(self, core, seed, mask)
        obs = core.reset(mask, options)
        infos: dict[str, Any] = {}
        for key, value in core.info.items():
            infos[key] = np.where(mask.reshape(-1, *([1] * (value.ndim - 1))), value, 0).astype(value.dtype)
            infos[f"_{key}"] = mask.copy()
        return obs, infos

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        core = self._core
        obs, rewards, terminated, truncated, ndone = core.step(as_action_array(actions, self.num_envs), True)
        n = self.num_envs
        infos: dict[str, Any] = {}
        for key, value in core.info.items():
            infos[key] = value.copy()
            infos[f"_{key}"] = np.ones(n, dtype=np.bool_)
        if ndone:
            idx = core.done_idx[:ndone]
            done = terminated | truncated
            final_info: dict[str, Any] = {}
            for key, value in core.final.items():
                arr = np.zeros_like(value)
                arr[idx] = value[:ndone]
                final_info[key] = arr
                final_info[f"_{key}"] = done.copy()
            infos.update(same_step_infos(n, done, idx, core.final_obs[:ndone], final_info))
        return obs, rewards, terminated, truncated, infos

    def render(self) -> Any:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='rgb_array' or 'ansi'.")
            return None
        if self._core.needs_reset:
            raise ResetNeeded("Call reset() before render().")
        return self._core.render(0, self.render_mode)

    def get_state(self) -> dict[str, Any]:
        """Copies of every array of the env (checkpointing); ``set_state`` restores them exactly."""
        return self._core.get_state()

    def set_state(self, state: dict[str, Any]) -> None:
        self._core.set_state(state)


# ---------------------------------------------------------------------------------------------------
class GridEnv(gym.Env):
    """One env of a world on the same kernels (``N = 1``, no autoreset); truncates at ``max_steps`` itself.

    ``reset(seed=s)`` matches env 0 of the vector form reset with ``seed=s``. Info: ``action_mask``
    (``int8[A]``) and ``is_success``.
    """

    metadata = {"render_modes": RENDER_MODES, "render_fps": 4}  # noqa: RUF012

    def _setup(self, core: GridCore, obs_space: spaces.Space, render_mode: str | None) -> None:
        self._core = core
        self.render_mode = check_render_mode(render_mode)
        self.observation_space = obs_space
        self.action_space = spaces.Discrete(core.num_actions)
        self._action = np.zeros(1, dtype=np.int64)
        self._over = True  # an ended (or not yet started) episode: step() raises EpisodeOver

    def _single_obs(self, obs: np.ndarray) -> Any:
        return int(obs[0]) if obs.ndim == 1 else obs[0]

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        options = check_reset_options(options)
        super().reset(seed=check_reset_seed(seed))
        core = self._core
        if seed is not None:
            core.seed([seed], 0)
        elif not core.seeded[0]:
            core.seed([None], self.np_random_seed)
        obs = core.reset(np.ones(1, dtype=np.bool_), options)
        self._over = False
        return self._single_obs(obs), core.single_info(0)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        self._check_running()
        self._action[0] = self._action_int(action)
        obs, rewards, terminated, truncated, _ = self._core.step(self._action, False)
        info = self._core.single_info(0)
        reward = self._core.reward_type(rewards[0])
        self._over = bool(terminated[0] or truncated[0])
        return self._single_obs(obs), reward, bool(terminated[0]), bool(truncated[0]), info

    def _check_running(self) -> None:
        if self._core.needs_reset or self._over:
            raise EpisodeOver()

    def _action_int(self, action: Any) -> int:
        """``action`` as a Python int; a ``ValueError`` for a non-integer (range checks are the core's)."""
        if isinstance(action, np.ndarray):
            if action.shape not in ((), (1,)) or action.dtype.kind not in "iu":
                raise ValueError(
                    f"invalid action {action!r}: expected an int in [0, {self._core.num_actions})"
                )
            action = action.reshape(-1)[0]
        elif isinstance(action, bool) or not isinstance(action, (int, np.integer)):
            raise ValueError(f"invalid action {action!r} of type {type(action).__name__}: expected an int")
        return int(action)

    def render(self) -> Any:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='rgb_array' or 'ansi'.")
            return None
        if self._core.needs_reset:
            return None
        return self._core.render(0, self.render_mode)

    def render_text(self, ansi: bool = False) -> str:
        """The current state as text (plain, or with ANSI colours), whatever the render mode."""
        return self._core.render(0, "ansi" if ansi else "text")

    def world_state(self) -> bytes:
        """Bytes that change exactly when the world state changes (used for "effective action" metrics)."""
        return self._core.world_state(0)

    def get_state(self) -> dict[str, Any]:
        return self._core.get_state()

    def set_state(self, state: dict[str, Any]) -> None:
        self._core.set_state(state)
        self._over = False
