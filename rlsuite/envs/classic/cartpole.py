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
stream that draws reset states: Gymnasium uses ``np.random.Generator`` (PCG64), this core splitmix64; the
single env built with ``random_stream="gymnasium"`` draws them as Gymnasium does (episode-for-episode equal:
Gymnasium's ``check_environments_match`` passes). A ``step()`` after the episode ended raises
``rlsuite.envs.inputs.EpisodeOver`` (Gymnasium's CartPole warns and keeps stepping).

Truncation at ``max_episode_steps`` (500, CartPole-v1's ``TimeLimit``) happens inside the core; when an
env terminates on its last allowed step both ``terminated`` and ``truncated`` are ``True``, as Gymnasium's
``TimeLimit`` reports it.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.error import ResetNeeded
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from rlsuite.envs.batched import (
    as_action_array,
    check_positive_int,
    check_random_stream,
    pop_reset_mask,
    same_step_infos,
    seed_vector_reset,
    warn_render_without_mode,
)
from rlsuite.envs.classic.cartpole_core import (  # noqa: F401  (constants re-exported)
    _BAD_ACTION,
    _FLAG_AUTORESET,
    GRAVITY,
    INTEGRATORS,
    LENGTH,
    MAX_EPISODE_STEPS,
    STATE_KEYS,
    THETA_THRESHOLD_RADIANS,
    X_THRESHOLD,
    CartPoleCore,
    _check_integrator,
    _flags,
    _make_spaces,
    _parse_reset_bounds,
    _step_kernel,
)
from rlsuite.envs.inputs import EpisodeOver, check_reset_options, check_reset_seed

__all__ = [
    "INTEGRATORS",
    "MAX_EPISODE_STEPS",
    "STATE_KEYS",
    "CartPoleEnv",
    "CartPoleVectorEnv",
]


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
        random_stream: str = "core",
    ):
        check_random_stream(random_stream, single_env=False)
        self.num_envs = check_positive_int("num_envs", num_envs)
        self.max_episode_steps = check_positive_int("max_episode_steps", max_episode_steps)
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

        self._core = CartPoleCore(
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
        options = check_reset_options(options)
        mask = pop_reset_mask(options, self.num_envs)
        low, high = _parse_reset_bounds(options)

        seed_vector_reset(self, core, seed, mask)
        obs = core.reset(mask, low, high)
        core.needs_reset = False
        return obs, {}

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Step all envs with ``actions`` (ints in {0, 1}, shape ``(num_envs,)``); see the class docstring."""
        core = self._core
        if core.needs_reset:
            raise ResetNeeded("Call reset() before step().")
        n = self.num_envs
        a = as_action_array(actions, n, _BAD_ACTION)
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
        infos = same_step_infos(n, done, core.done_idx[:ndone], core.final_obs[:ndone])
        return obs, rewards, terminated, truncated, infos

    def render(self) -> np.ndarray | None:
        """``uint8 (400, 600, 3)`` frame of env 0 when ``render_mode == "rgb_array"``."""
        if self.render_mode is None:
            warn_render_without_mode("to CartPoleVectorEnv")
            return None
        if self._core.needs_reset:
            raise ResetNeeded("Call reset() before render().")
        from rlsuite.envs.classic.cartpole_render import render_cartpole_frame

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

    ``random_stream="gymnasium"`` draws the start states from ``np_random`` (PCG64) exactly as Gymnasium's
    ``CartPoleEnv.reset`` does, so the env reproduces ``gymnasium.make("CartPole-v1")`` episode for
    episode under the same seeds and actions (Gymnasium's ``check_environments_match`` passes). The
    default ``"core"`` uses the core's splitmix64 stream, shared with the vector env.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 50}  # noqa: RUF012

    def __init__(
        self,
        sutton_barto_reward: bool = False,
        render_mode: str | None = None,
        max_episode_steps: int = MAX_EPISODE_STEPS,
        kinematics_integrator: str = "euler",
        random_stream: str = "core",
    ):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be None or one of {self.metadata['render_modes']}, got {render_mode!r}"
            )
        self.render_mode = render_mode
        self.random_stream = check_random_stream(random_stream, single_env=True)
        self.max_episode_steps = check_positive_int("max_episode_steps", max_episode_steps)
        self.sutton_barto_reward = bool(sutton_barto_reward)
        self.kinematics_integrator = _check_integrator(kinematics_integrator)
        self.x_threshold = X_THRESHOLD
        self.theta_threshold_radians = THETA_THRESHOLD_RADIANS
        self.observation_space, self.action_space = _make_spaces()
        self._core = CartPoleCore(
            1, self.max_episode_steps, _flags(sutton_barto_reward, kinematics_integrator, False)
        )
        self._action = np.zeros(1, dtype=np.int64)
        self._obs = np.zeros((1, 4), dtype=np.float32)
        self._reward = np.zeros(1, dtype=np.float64)
        self._terminated = np.zeros(1, dtype=np.bool_)
        self._truncated = np.zeros(1, dtype=np.bool_)
        self._over = True  # an ended (or not yet started) episode: step() raises EpisodeOver

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Draw a state uniformly in ``[low, high)^4`` (``options["low"]``/``["high"]``, default ±0.05)."""
        options = check_reset_options(options)
        super().reset(seed=check_reset_seed(seed))
        low, high = _parse_reset_bounds(options)
        core = self._core
        self._over = False
        if self.random_stream == "gymnasium":
            state = self.np_random.uniform(low=low, high=high, size=(4,))  # CartPoleEnv.reset's draw
            core.reset_bounds[:] = (low, high)
            return self.set_physics_state(state, 0), {}
        if seed is not None:
            core.seed([seed], 0)
        elif not core.seeded[0]:
            core.seed([None], self.np_random_seed)
        obs = core.reset(np.ones(1, dtype=np.bool_), low, high)
        core.needs_reset = False
        return obs[0], {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        core = self._core
        if core.needs_reset or self._over:
            raise EpisodeOver()
        self._action[0] = _single_action(action)
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
        self._over = bool(self._terminated[0] or self._truncated[0])
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
            warn_render_without_mode()
            return None
        if self._core.needs_reset:
            return None
        from rlsuite.envs.classic.cartpole_render import render_cartpole_frame

        return render_cartpole_frame(self._core.physics[0])

    # -- checkpointing and test helpers ---------------------------------------------------------------
    def get_state(self) -> dict[str, np.ndarray]:
        """Copies of every array (``STATE_KEYS``, leading env axis of length 1: interchangeable with a
        ``CartPoleVectorEnv(num_envs=1)`` state)."""
        return self._core.get_state()

    def set_state(self, state: dict[str, Any]) -> None:
        self._core.set_state(state)
        self._over = False

    def set_physics_state(self, state: Any, elapsed_steps: int | None = 0) -> np.ndarray:
        """Place the env at ``state = (x, x_dot, theta, theta_dot)`` and return its float32 observation."""
        self._over = False
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
