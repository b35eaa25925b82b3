"""The batched core shared by the MuJoCo vector env and single env.

:class:`MujocoCore` owns one :class:`~rlsuite.envs.mujoco._cbatch.CBatch` (``num_envs`` simulations of
the task's model on a C thread pool), the task definition, the episode counters and one
``np.random.Generator`` per env, and implements Gymnasium's ``MujocoEnv`` step and reset over all envs:

* step: ``ctrl = action`` in every state row, one batch call running ``mj_step`` ``frame_skip`` times
  per simulation (plus ``mj_rnePostConstraint`` for tasks reading ``cfrc_ext``), then the task's
  vectorised observation, reward, termination and info maths; truncation at ``max_episode_steps``.
* reset: ``mj_resetData``, Gymnasium's ``reset_model`` draws on the env's generator, ``set_state``'s
  ``mj_forward``, so the "before" quantities of the next step (Ant's torso position, Humanoid's mass
  centre) are current, as in Gymnasium.

A generator seeded with ``s`` is ``np.random.default_rng(s)``, which is what Gymnasium's
``reset(seed=s)`` installs, so env ``i`` of ``reset(seed=s)`` draws exactly the states of Gymnasium's
env after ``reset(seed=s + i)`` (and keeps doing so over later resets).
"""

from __future__ import annotations

import os
from typing import Any

import mujoco
import numpy as np
from gymnasium import spaces
from gymnasium.envs.mujoco.mujoco_env import expand_model_path
from gymnasium.error import ResetNeeded

from rlsuite.envs.batched import BatchedCore
from rlsuite.envs.mujoco import control, locomotion
from rlsuite.envs.mujoco._cbatch import CBatch
from rlsuite.envs.mujoco.tasks import COMMON_KWARGS, Fields, Task

TASKS: dict[str, type[Task]] = {
    cls.name: cls
    for cls in (
        locomotion.HalfCheetah,
        locomotion.Hopper,
        locomotion.Walker2d,
        locomotion.Ant,
        locomotion.Humanoid,
        locomotion.Swimmer,
        control.Reacher,
        control.Pusher,
        control.InvertedPendulum,
        control.InvertedDoublePendulum,
    )
}

#: Keys of ``get_state()`` (arrays with a leading env axis).
STATE_KEYS = ("physics", "position", "elapsed_steps", "rng_state")
_STATE_FIELDS = ("qpos", "qvel", "ctrl")
_MASK64 = (1 << 64) - 1


def default_nthread(num_envs: int) -> int:
    """Threads for ``num_envs`` simulations: one per available CPU, at most one per 2 envs, at most 16."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, num_envs // 2, 16))


def parse_kwargs(task: type[Task], kwargs: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Gymnasium's defaults overridden by ``kwargs``; an unknown keyword raises a ``TypeError`` that lists
    the accepted ones."""
    accepted = {**task.defaults, **COMMON_KWARGS, **extra}
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise TypeError(
            f"{task.name}-v5 got unexpected keyword argument(s) {', '.join(map(repr, unknown))}; "
            f"accepted: {', '.join(sorted(accepted))}"
        )
    params = {**accepted, **kwargs}
    if params["max_episode_steps"] is None:
        params["max_episode_steps"] = task.max_episode_steps
    if params["camera_id"] is not None and params["camera_name"] is not None:
        raise ValueError("Both `camera_id` and `camera_name` cannot be specified at the same time.")
    return params


def load_model(params: dict[str, Any]) -> mujoco.MjModel:
    """The task's model, loaded as ``MujocoEnv._initialize_simulation`` loads it."""
    model = mujoco.MjModel.from_xml_path(expand_model_path(params["xml_file"]))
    model.vis.global_.offwidth = max(model.vis.global_.offwidth, params["width"])
    model.vis.global_.offheight = max(model.vis.global_.offheight, params["height"])
    return model


class MujocoCore(BatchedCore):
    """``num_envs`` envs of one task on one batch (see the module docstring), stepped by MuJoCo's C API."""

    def __init__(self, task: str, num_envs: int, nthread: int, kwargs: dict[str, Any], extra: dict[str, Any]):
        cls = TASKS[task]
        self.params = parse_kwargs(cls, kwargs, extra)
        self.max_episode_steps = _positive_int("max_episode_steps", self.params["max_episode_steps"])
        self.frame_skip = _positive_int("frame_skip", self.params["frame_skip"])
        self.model = load_model(self.params)
        self.task = cls(self.model, self.params)
        self.n = self.num_envs = num_envs
        self._nthread = nthread
        self._open()
        self.observation_space, self.action_space = self._spaces()
        self.steps = np.zeros(num_envs, dtype=np.int64)
        self.position: np.ndarray | None = None
        self.rngs: list[np.random.Generator | None] = [None] * num_envs
        self.needs_reset = True

    def _open(self) -> None:
        """Create the batch (simulations and thread pool) and bind the live views of its arrays."""
        # A rendering env keeps each simulation's mjData, so that frames show the data as mj_step leaves it
        # (kinematics of the last substep's start), which is what Gymnasium's renderer draws.
        persistent = self.task.rne_post or self.params["render_mode"] is not None
        self.batch = CBatch(self.model, self.n, self._nthread, persistent=persistent)
        states = {"qpos": mujoco.mjtState.mjSTATE_QPOS, "qvel": mujoco.mjtState.mjSTATE_QVEL}
        states["ctrl"] = mujoco.mjtState.mjSTATE_CTRL
        arrays = {name: self.batch.component(bit) for name, bit in states.items()}
        qpos_start = self.batch.component_offset(states["qpos"])
        arrays["qpos_qvel"] = self.batch.state[:, qpos_start : qpos_start + self.model.nq + self.model.nv]
        if not np.shares_memory(arrays["qpos_qvel"][:, -1], arrays["qvel"][:, -1]):
            raise RuntimeError("unexpected MuJoCo state layout: qvel does not follow qpos")
        arrays.update({name: self.batch.output(name) for name in self.task.outputs})
        self.arrays = arrays
        self.closed = False

    def close(self) -> None:
        """Free the batch and its threads; the next :meth:`reset` creates a new one."""
        self.batch.close()
        self.closed = True
        self.needs_reset = True

    def _spaces(self) -> tuple[spaces.Box, spaces.Box]:
        data = mujoco.MjData(self.model)
        mujoco.mj_forward(self.model, data)
        probe = {name: np.asarray(getattr(data, name))[None] for name in self.arrays if name != "qpos_qvel"}
        probe["qpos_qvel"] = np.concatenate([probe["qpos"], probe["qvel"]], axis=1)
        obs_dim = self.task.observe(Fields(probe)).shape[1]
        position = self.task.position(Fields(probe))
        self.position_width = 0 if position is None else position.shape[1]
        bounds = self.model.actuator_ctrlrange.copy().astype(np.float32)
        obs_space = spaces.Box(low=-np.inf, high=np.inf, shape=(obs_dim,), dtype=np.float64)
        return obs_space, spaces.Box(low=bounds[:, 0], high=bounds[:, 1], dtype=np.float32)

    @property
    def dt(self) -> float:
        return self.task.dt

    # -- seeding ------------------------------------------------------------------------------------
    def seed(self, seeds: list[int | None]) -> None:
        """Env ``i``'s generator becomes ``default_rng(seeds[i])`` where that is not ``None``."""
        for i, s in enumerate(seeds):
            if s is not None:
                self.rngs[i] = np.random.default_rng(s)

    def rng(self, i: int) -> np.random.Generator:
        if self.rngs[i] is None:  # never seeded: fresh entropy, as Gymnasium's unseeded np_random
            self.rngs[i] = np.random.default_rng()
        return self.rngs[i]

    # -- reset and step -----------------------------------------------------------------------------
    def reset(self, ids: np.ndarray | None) -> dict[str, np.ndarray]:
        """Start new episodes in envs ``ids`` (sorted; ``None``: all); return their reset infos."""
        if self.closed:
            self._open()
            ids = None  # a new batch: every env starts over
        idx = np.arange(self.n) if ids is None else ids
        sims = None if ids is None else ids.astype(np.int32)
        self.batch.reset(sims)
        drawn = [self.task.reset_state(self.rng(int(i))) for i in idx]
        self.arrays["qpos"][idx] = np.stack([q for q, _ in drawn])
        self.arrays["qvel"][idx] = np.stack([v for _, v in drawn])
        self.batch.forward(sims)
        self.steps[idx] = 0
        f = Fields(self.arrays, ids)
        self._store_position(f, ids)
        self.needs_reset = False
        return self.task.reset_info(f)

    def _store_position(self, f: Fields, ids: np.ndarray | None) -> None:
        position = self.task.position(f)
        if position is None:
            return
        if self.position is None or ids is None:
            self.position = position if ids is None else np.zeros((self.n, position.shape[1]))
        if ids is not None:
            self.position[ids] = position

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, ...]:
        """Advance every env; return ``(obs, reward, terminated, truncated, info)`` (no autoreset)."""
        if self.needs_reset:
            raise ResetNeeded("Call reset() before step().")
        self.arrays["ctrl"][:] = actions
        if self.task.rne_post:
            self.batch.step_rne(self.frame_skip)
        else:
            self.batch.step(self.frame_skip)
        f = Fields(self.arrays)
        velocity = None
        if self.position is not None:
            after = self.task.position(f)
            velocity = (after - self.position) / self.task.dt
            self.position = after
        obs = self.task.observe(f)
        reward, terminated, info = self.task.evaluate(f, actions, velocity)
        if terminated is None:
            terminated = np.zeros(self.n, dtype=np.bool_)
        self.steps += 1
        truncated = self.steps >= self.max_episode_steps
        return obs, np.asarray(reward, dtype=np.float64), terminated, truncated, info

    def observe(self, ids: np.ndarray | None = None) -> np.ndarray:
        return self.task.observe(Fields(self.arrays, ids))

    def check_actions(self, actions: Any, shape: tuple[int, ...]) -> np.ndarray:
        """``actions`` as a float array of ``shape``; ``ValueError`` for another shape or a non-finite value.

        float32 and float64 are kept (Gymnasium's control cost is computed in the action's dtype); other
        dtypes become float64. Actions are not clipped: MuJoCo clamps ``ctrl`` to ``ctrlrange`` itself.
        """
        a = actions if isinstance(actions, np.ndarray) else np.asarray(actions)
        if a.shape != shape:
            raise ValueError(f"actions must have shape {shape} (num_envs, action_dim), got {a.shape}")
        if a.dtype != np.float64 and a.dtype != np.float32:
            a = a.astype(np.float64)
        if a.ndim == 1:
            a = a.reshape(1, -1)
        if not np.isfinite(np.add.reduce(a, axis=None)):  # one cheap reduction; the exact check if needed
            bad = ~np.isfinite(a).all(axis=1)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(f"the action of env {i} is not finite: {a[i]}")
        return a

    def set_physics_state(self, qpos: Any, qvel: Any, elapsed_steps: Any = 0) -> np.ndarray:
        """Gymnasium's ``set_state(qpos, qvel)`` for every env (rows of ``(num_envs, nq)``/``(num_envs, nv)``
        arrays): write them, ``mj_forward``; set the episode counters (``None`` keeps them). Returns the
        observations."""
        for name, value in (("qpos", qpos), ("qvel", qvel)):
            array = np.asarray(value, dtype=np.float64)
            if array.shape != self.arrays[name].shape:
                raise ValueError(f"{name} must have shape {self.arrays[name].shape}, got {array.shape}")
            self.arrays[name][:] = array
        self.batch.forward()
        if elapsed_steps is not None:
            self.steps[:] = elapsed_steps
        self._store_position(Fields(self.arrays), None)
        self.needs_reset = False
        return self.observe()

    # -- checkpoints --------------------------------------------------------------------------------
    def get_state(self) -> dict[str, np.ndarray]:
        if self.needs_reset:
            raise ResetNeeded("get_state() needs an env that has been reset (or given a state) first.")
        position = self.position if self.position is not None else np.zeros((self.n, 0))
        return {
            "physics": self.batch.state.copy(),
            "position": position.copy(),
            "elapsed_steps": self.steps.copy(),
            "rng_state": np.stack([_pack_pcg64(self.rng(i)) for i in range(self.n)]),
        }

    def set_state(self, state: dict[str, Any]) -> None:
        missing = [k for k in STATE_KEYS if k not in state]
        if missing:
            raise KeyError(f"state is missing {missing}; expected keys {STATE_KEYS}")
        width = self.position_width
        expected = {
            "physics": (self.batch.state.shape, np.float64),
            "position": ((self.n, width), np.float64),
            "elapsed_steps": ((self.n,), np.int64),
            "rng_state": ((self.n, 6), np.uint64),
        }
        arrays = {}
        for key, (shape, dtype) in expected.items():
            array = np.asarray(state[key])
            if array.shape != shape:
                raise ValueError(f"state[{key!r}] must have shape {shape}, got {array.shape}")
            arrays[key] = np.array(array, dtype=dtype, copy=True)
        self.batch.state[:] = arrays["physics"]
        self.position = arrays["position"] if width else None
        self.steps[:] = arrays["elapsed_steps"]
        self.rngs = [_unpack_pcg64(row) for row in arrays["rng_state"]]
        self.needs_reset = False


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _pack_pcg64(rng: np.random.Generator) -> np.ndarray:
    """A PCG64 generator's whole state as 6 uint64 words."""
    state = rng.bit_generator.state
    if state["bit_generator"] != "PCG64":
        raise ValueError(f"only PCG64 generators can be saved, got {state['bit_generator']}")
    s, inc = state["state"]["state"], state["state"]["inc"]
    words = (s >> 64, s & _MASK64, inc >> 64, inc & _MASK64, state["has_uint32"], state["uinteger"])
    return np.array(words, dtype=np.uint64)


def _unpack_pcg64(words: np.ndarray) -> np.random.Generator:
    s_hi, s_lo, inc_hi, inc_lo, has_uint32, uinteger = (int(w) for w in words)
    bit_generator = np.random.PCG64()
    bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {"state": (s_hi << 64) | s_lo, "inc": (inc_hi << 64) | inc_lo},
        "has_uint32": has_uint32,
        "uinteger": uinteger,
    }
    return np.random.Generator(bit_generator)
