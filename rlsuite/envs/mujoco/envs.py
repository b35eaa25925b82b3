"""The Gymnasium faces of the MuJoCo core: :class:`MujocoVectorEnv` (``num_envs`` envs stepped by one C call
across threads, same-step autoreset) and :class:`MujocoEnv` (one env, ``num_envs = 1``), plus one named
subclass of each per task (``HopperEnv``, ``HopperVectorEnv``, ...).

Both take Gymnasium v5's constructor keywords with Gymnasium's defaults (``xml_file``, ``frame_skip``,
the reward weights, ``healthy_*_range``, ``reset_noise_scale``,
``exclude_current_positions_from_observation``, ``include_*_in_observation``, ``render_mode``, ``width``,
``height``, ``camera_id``, ``camera_name``, ``default_camera_config``, ``max_geom``, ``visual_options``),
plus ``max_episode_steps`` (truncation happens inside the core, so no ``TimeLimit`` is registered) and,
for the vector env, ``nthread``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium.error import ResetNeeded
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from rlsuite.envs.batched import (
    check_positive_int,
    pop_reset_mask,
    same_step_infos,
    warn_render_without_mode,
)
from rlsuite.envs.inputs import EpisodeOver, check_reset_options, check_reset_seed, check_vector_seed
from rlsuite.envs.mujoco.core import TASKS, MujocoCore, default_nthread
from rlsuite.envs.mujoco.render import FrameRenderer

RENDER_MODES = ["rgb_array"]


def _task_name(cls_task: str | None, task: str | None) -> str:
    name = task or cls_task
    if name not in TASKS:
        raise ValueError(f"unknown MuJoCo task {name!r}; tasks: {', '.join(TASKS)}")
    if task is not None and cls_task is not None and task != cls_task:
        raise ValueError(f"this class is the {cls_task} env; got task={task!r}")
    return name


def _check_render_mode(render_mode: str | None) -> str | None:
    if render_mode is not None and render_mode not in RENDER_MODES:
        raise ValueError(f"render_mode must be None or one of {RENDER_MODES}, got {render_mode!r}")
    return render_mode


def _with_masks(info: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """``SyncVectorEnv``'s layout of per-env info values: ``key`` then ``_key`` (every env has every key).
    The masks are distinct arrays (rows of one allocation)."""
    out = {}
    for (key, value), mask in zip(info.items(), np.ones((len(info), n), dtype=np.bool_)):
        out[key] = value
        out[f"_{key}"] = mask
    return out


# ---------------------------------------------------------------------------------------------------
class MujocoVectorEnv(VectorEnv):
    """``num_envs`` envs of one Gymnasium v5 MuJoCo task, stepped by one C call on ``nthread`` threads.

    Equal, transition for transition, to ``SyncVectorEnv(autoreset_mode=SAME_STEP)`` over Gymnasium's env:
    float64 observations, float64 rewards, the v5 info keys as per-env arrays with ``_key`` masks, and
    when env ``i`` finishes, its returned observation is already the reset one while
    ``infos["final_obs"][i]`` and ``infos["final_info"]`` hold its last observation and step info (the
    top-level info of a restarted env holds its reset info, as in ``SyncVectorEnv``). ``reset(seed=s)``
    seeds env ``i`` with ``s + i``: its reset states are Gymnasium's after ``reset(seed=s + i)``.

    ``nthread`` (default :func:`~rlsuite.envs.mujoco.core.default_nthread`: one per available CPU, at
    most one per two envs, at most 16) counts the calling thread. ``render()`` returns env 0's frame.
    """

    task_name: ClassVar[str | None] = None
    metadata: ClassVar[dict[str, Any]] = {
        "autoreset_mode": AutoresetMode.SAME_STEP,
        "render_modes": RENDER_MODES,
    }

    def __init__(self, num_envs: int = 1, task: str | None = None, nthread: int | None = None, **kwargs: Any):
        self.num_envs = check_positive_int("num_envs", num_envs)
        nthread = (
            default_nthread(self.num_envs) if nthread is None else check_positive_int("nthread", nthread)
        )
        self._core = MujocoCore(
            _task_name(self.task_name, task), self.num_envs, nthread, kwargs, {"nthread": None}
        )
        self.render_mode = _check_render_mode(self._core.params["render_mode"])
        self.autoreset_mode = AutoresetMode.SAME_STEP
        self.metadata = {**type(self).metadata, "render_fps": int(np.round(1.0 / self._core.dt))}
        self.single_observation_space = self._core.observation_space
        self.single_action_space = self._core.action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._renderer = FrameRenderer(self._core.model, self._core.params) if self.render_mode else None

    @property
    def nthread(self) -> int:
        return self._core.batch.nthread

    @property
    def dt(self) -> float:
        """Seconds of simulated time per step (``timestep * frame_skip``)."""
        return self._core.dt

    @property
    def model(self) -> Any:
        """The task's ``mujoco.MjModel`` (the batch simulates a copy)."""
        return self._core.model

    # -- Gymnasium API ------------------------------------------------------------------------------
    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset every env (or those in ``options["reset_mask"]``); return ``(obs, infos)``.

        ``seed``: ``None`` continues each env's generator, an int ``s`` seeds env ``i`` with ``s + i``, a
        list gives one seed (or ``None``) per env.
        """
        n = self.num_envs
        options = check_reset_options(options)
        mask = pop_reset_mask(options, n)
        if self._core.closed:  # reopened after close(): every env starts over
            mask = np.ones(n, dtype=np.bool_)
            self.closed = False
        self._seed(seed, mask)
        info = self._core.reset(None if mask.all() else np.flatnonzero(mask))
        infos: dict[str, Any] = {}
        for key, value in info.items():
            array = np.zeros((n, *value.shape[1:]), dtype=value.dtype)
            array[mask] = value
            infos[key], infos[f"_{key}"] = array, mask.copy()
        return self._core.observe(), infos

    def _seed(self, seed: Any, mask: np.ndarray) -> None:
        n = self.num_envs
        seed = check_vector_seed(seed, n)
        if isinstance(seed, int):
            VectorEnv.reset(self, seed=seed)
            seeds: list[int | None] = [seed + i for i in range(n)]
        else:
            seeds = [None] * n if seed is None else seed
        self._core.seed([s if m else None for s, m in zip(seeds, mask)])

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Step all envs with float ``actions`` of shape ``(num_envs, action_dim)`` (not clipped: MuJoCo
        clamps the controls to ``ctrlrange``, the control cost uses the raw actions, as in Gymnasium)."""
        core = self._core
        if core.needs_reset:
            raise ResetNeeded("Call reset() before step().")
        a = core.check_actions(actions, self.action_space.shape)
        obs, reward, terminated, truncated, info = core.step(a)
        done = terminated | truncated
        if not np.count_nonzero(done):
            return obs, reward, terminated, truncated, _with_masks(info, self.num_envs)
        return obs, reward, terminated, truncated, self._autoreset(obs, done, info)

    def _autoreset(self, obs: np.ndarray, done: np.ndarray, info: dict[str, np.ndarray]) -> dict[str, Any]:
        """Restart the finished envs in place; the ``infos`` ``SyncVectorEnv`` returns for such a step."""
        idx = np.flatnonzero(done)
        final_obs = obs[idx]
        final_info: dict[str, Any] = {}
        for key, value in info.items():
            last = np.zeros_like(value)
            last[idx] = value[idx]
            final_info[key], final_info[f"_{key}"] = last, done.copy()
        reset_info = self._core.reset(idx)
        obs[idx] = self._core.observe(idx)
        infos: dict[str, Any] = {}
        for key, value in info.items():  # running envs: step values; restarted envs: reset values
            if key in reset_info:
                value[idx] = reset_info[key]
                infos[key], infos[f"_{key}"] = value, np.ones(self.num_envs, dtype=np.bool_)
            else:
                value[idx] = 0
                infos[key], infos[f"_{key}"] = value, ~done
        for key in reset_info.keys() - info.keys():
            array = np.zeros((self.num_envs, *reset_info[key].shape[1:]), dtype=reset_info[key].dtype)
            array[idx] = reset_info[key]
            infos[key], infos[f"_{key}"] = array, done.copy()
        infos.update(same_step_infos(self.num_envs, done, idx, final_obs, final_info))
        return infos

    def render(self) -> np.ndarray | None:
        """``uint8 (height, width, 3)`` frame of env 0 when ``render_mode == "rgb_array"``."""
        if self._renderer is None:
            warn_render_without_mode("to the vector env")
            return None
        if self._core.needs_reset:
            raise ResetNeeded("Call reset() before render().")
        return self._renderer.render(self._core.batch, 0)

    def close_extras(self, **kwargs: Any) -> None:
        """Free the renderer, the simulations and their threads; a later ``reset()`` builds them again (the
        envs start new episodes), as Gymnasium's ``SyncVectorEnv`` keeps working after ``close()``."""
        if self._renderer is not None:
            self._renderer.close()
        self._core.close()

    # -- checkpointing and test helpers ---------------------------------------------------------------
    @property
    def qpos(self) -> np.ndarray:
        """A copy of every env's ``qpos``, ``(num_envs, nq)``."""
        return self._core.arrays["qpos"].copy()

    @property
    def qvel(self) -> np.ndarray:
        """A copy of every env's ``qvel``, ``(num_envs, nv)``."""
        return self._core.arrays["qvel"].copy()

    def get_state(self) -> dict[str, np.ndarray]:
        """Copies of the whole state (``STATE_KEYS``): MuJoCo's integration state rows, the "before"
        positions of the next step, the episode counters and each env's PCG64 state."""
        return self._core.get_state()

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore a ``get_state()`` dict; the continuation is then bit-identical."""
        self._core.set_state(state)

    def set_physics_state(self, qpos: Any, qvel: Any, elapsed_steps: Any = 0) -> np.ndarray:
        """Gymnasium's ``set_state`` in every env (``qpos (num_envs, nq)``, ``qvel (num_envs, nv)``: written,
        then ``mj_forward``), episode counters set to ``elapsed_steps`` (``None`` keeps them); returns the
        observations."""
        return self._core.set_physics_state(qpos, qvel, elapsed_steps)


# ---------------------------------------------------------------------------------------------------
class MujocoEnv(gym.Env):
    """One env of a Gymnasium v5 MuJoCo task on the same core (a batch of one simulation).

    Equal to Gymnasium's env under ``TimeLimit`` (truncation at ``max_episode_steps`` is built in):
    ``reset(seed=s)`` installs ``np_random = default_rng(s)`` and draws from it as Gymnasium does, so
    observations, rewards, terminations and infos match Gymnasium's for the same seeds and actions.
    ``step`` returns a float64 observation, Python bools, and the reward and info values with the types
    Gymnasium's env gives them (``numpy.float64`` mostly; see :meth:`Task.scalar_types`), so Gymnasium's
    ``check_environments_match`` passes against the original. ``close()`` releases the renderer only, as
    Gymnasium's does: the env can be stepped, reset and rendered again afterwards.
    """

    task_name: ClassVar[str | None] = None
    metadata: ClassVar[dict[str, Any]] = {"render_modes": RENDER_MODES}

    def __init__(self, task: str | None = None, **kwargs: Any):
        self._core = MujocoCore(_task_name(self.task_name, task), 1, 1, kwargs, {"nthread": None})
        scalar_types = self._core.task.scalar_types()
        self._reward_type = scalar_types.pop("reward", np.float64)
        self._info_types = scalar_types
        self._over = True
        self.render_mode = _check_render_mode(self._core.params["render_mode"])
        self.metadata = {**type(self).metadata, "render_fps": int(np.round(1.0 / self._core.dt))}
        self.observation_space = self._core.observation_space
        self.action_space = self._core.action_space
        self.frame_skip = self._core.frame_skip
        self._renderer = FrameRenderer(self._core.model, self._core.params) if self.render_mode else None

    @property
    def dt(self) -> float:
        return self._core.dt

    @property
    def model(self) -> Any:
        """The task's ``mujoco.MjModel`` (the batch simulates a copy)."""
        return self._core.model

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        check_reset_options(options)
        super().reset(seed=check_reset_seed(seed))
        self._core.rngs[0] = self.np_random
        self._over = False
        info = self._core.reset(None)
        return self._core.observe()[0], {key: value[0] for key, value in info.items()}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        core = self._core
        if core.needs_reset or self._over:
            raise EpisodeOver()
        a = core.check_actions(action, self.action_space.shape)
        obs, reward, terminated, truncated, info = core.step(a)
        self._over = bool(terminated[0] or truncated[0])
        info = {key: value[0] for key, value in info.items()}
        for key, to_type in self._info_types.items():
            info[key] = to_type(info[key])
        return obs[0], self._reward_type(reward[0]), bool(terminated[0]), bool(truncated[0]), info

    def render(self) -> np.ndarray | None:
        """``uint8 (height, width, 3)`` frame when ``render_mode == "rgb_array"`` (``None`` before reset)."""
        if self._renderer is None:
            warn_render_without_mode()
            return None
        if self._core.needs_reset:
            return None
        return self._renderer.render(self._core.batch, 0)

    def close(self) -> None:
        """Release the renderer's GL context (re-created on the next ``render()``), as Gymnasium's
        ``MujocoEnv.close`` does; the simulation (one batch of one, no threads) lives until the env is
        collected."""
        if self._renderer is not None:
            self._renderer.close()

    def get_state(self) -> dict[str, np.ndarray]:
        """As ``MujocoVectorEnv.get_state`` (leading env axis of length 1)."""
        return self._core.get_state()

    def set_state(self, state: dict[str, Any]) -> None:
        self._core.set_state(state)
        self._np_random = self._core.rngs[0]
        self._over = False

    def set_physics_state(self, qpos: Any, qvel: Any, elapsed_steps: int | None = 0) -> np.ndarray:
        """Gymnasium's ``set_state(qpos, qvel)``; returns the observation."""
        nq, nv = self._core.model.nq, self._core.model.nv
        self._over = False
        qpos = np.reshape(np.asarray(qpos, dtype=np.float64), (1, nq))
        return self._core.set_physics_state(
            qpos, np.reshape(np.asarray(qvel, np.float64), (1, nv)), elapsed_steps
        )[0]


# ---------------------------------------------------------------------------------------------------
# One named class per task, the registered entry points.
class HalfCheetahEnv(MujocoEnv):
    task_name = "HalfCheetah"


class HalfCheetahVectorEnv(MujocoVectorEnv):
    task_name = "HalfCheetah"


class HopperEnv(MujocoEnv):
    task_name = "Hopper"


class HopperVectorEnv(MujocoVectorEnv):
    task_name = "Hopper"


class Walker2dEnv(MujocoEnv):
    task_name = "Walker2d"


class Walker2dVectorEnv(MujocoVectorEnv):
    task_name = "Walker2d"


class AntEnv(MujocoEnv):
    task_name = "Ant"


class AntVectorEnv(MujocoVectorEnv):
    task_name = "Ant"


class HumanoidEnv(MujocoEnv):
    task_name = "Humanoid"


class HumanoidVectorEnv(MujocoVectorEnv):
    task_name = "Humanoid"


class SwimmerEnv(MujocoEnv):
    task_name = "Swimmer"


class SwimmerVectorEnv(MujocoVectorEnv):
    task_name = "Swimmer"


class ReacherEnv(MujocoEnv):
    task_name = "Reacher"


class ReacherVectorEnv(MujocoVectorEnv):
    task_name = "Reacher"


class PusherEnv(MujocoEnv):
    task_name = "Pusher"


class PusherVectorEnv(MujocoVectorEnv):
    task_name = "Pusher"


class InvertedPendulumEnv(MujocoEnv):
    task_name = "InvertedPendulum"


class InvertedPendulumVectorEnv(MujocoVectorEnv):
    task_name = "InvertedPendulum"


class InvertedDoublePendulumEnv(MujocoEnv):
    task_name = "InvertedDoublePendulum"


class InvertedDoublePendulumVectorEnv(MujocoVectorEnv):
    task_name = "InvertedDoublePendulum"
