"""The task interface of the MuJoCo family and the helpers the task definitions share.

A :class:`Task` is one Gymnasium v5 MuJoCo env written over arrays with a leading env axis: it reads
the batch's live arrays through a :class:`Fields` (``f["qpos"]`` is ``(N, nq)``, ``f["xpos"]``
``(N, nbody, 3)``, ...) and returns observations, rewards, terminations and info values for all ``N``
envs at once. Each method mirrors the Gymnasium method named in its docstring, with the same float64
operations in the same order, so that the results are bit-identical to Gymnasium's; the reset draws
(:meth:`Task.reset_state`) are Gymnasium's ``reset_model`` draws on one env's ``np.random.Generator``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import mujoco
import numpy as np

#: Constructor keywords every task accepts besides its own (``MujocoEnv``'s, plus the episode limit).
COMMON_KWARGS: dict[str, Any] = {
    "render_mode": None,
    "width": 480,
    "height": 480,
    "camera_id": None,
    "camera_name": None,
    "max_geom": 1000,
    "visual_options": None,
    "max_episode_steps": None,  # None: the task's registered limit (1000; Reacher 50, Pusher 100)
}


class Fields:
    """Read access to the batch's live ``(N, ...)`` arrays, for every env or for the envs ``ids``, plus a
    memo for values the observation and the reward both use (a ``Fields`` lives for one step)."""

    __slots__ = ("_arrays", "_ids", "_memo")

    def __init__(self, arrays: dict[str, np.ndarray], ids: np.ndarray | None = None) -> None:
        self._arrays = arrays
        self._ids = ids
        self._memo: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        array = self._arrays[name]
        return array if self._ids is None else array[self._ids]

    def qpos_qvel(self, skip: int = 0) -> np.ndarray:
        """A fresh ``(N, nq - skip + nv)`` array ``qpos[:, skip:] ++ qvel``: one slice of the state rows,
        where ``qvel`` follows ``qpos``."""
        return self["qpos_qvel"][:, skip:].copy()

    def memo(self, key: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]


class Task:
    """One task: Gymnasium's defaults and its maths, vectorised over envs.

    Subclasses set the class attributes and implement :meth:`observe`, :meth:`evaluate` and
    :meth:`reset_state`; tasks whose reward uses a velocity implement :meth:`position` (the quantity
    whose change over a step, divided by ``dt``, is the velocity).
    """

    name: ClassVar[str]
    #: Gymnasium v5's constructor keywords and defaults (``xml_file``, ``frame_skip``, ...).
    defaults: ClassVar[dict[str, Any]]
    max_episode_steps: ClassVar[int] = 1000
    #: Derived ``mjData`` fields the task reads (bound as batch outputs).
    outputs: ClassVar[tuple[str, ...]] = ()
    #: Whether the task reads ``cfrc_ext``, which needs ``mj_rnePostConstraint`` after each step.
    rne_post: ClassVar[bool] = False

    def __init__(self, model: mujoco.MjModel, params: dict[str, Any]) -> None:
        self.model = model
        self.p = params
        self.init_qpos = model.qpos0.copy()  # MujocoEnv.init_qpos: a fresh MjData's qpos
        self.init_qvel = np.zeros(model.nv)
        self.dt = model.opt.timestep * params["frame_skip"]  # MujocoEnv.dt

    def position(self, f: Fields) -> np.ndarray | None:
        """``(N, k)`` positions read before and after ``do_simulation``; ``None`` if unused."""
        return None

    def observe(self, f: Fields) -> np.ndarray:
        """``_get_obs``: float64 ``(N, obs_dim)``."""
        raise NotImplementedError

    def evaluate(
        self, f: Fields, action: np.ndarray, velocity: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray | None, dict[str, np.ndarray]]:
        """The rest of ``step``: ``(reward[N], terminated bool[N] or None (never), info arrays)``."""
        raise NotImplementedError

    def reset_state(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``reset_model``'s draws for one env: ``(qpos, qvel)`` passed to ``set_state``."""
        raise NotImplementedError

    def reset_info(self, f: Fields) -> dict[str, np.ndarray]:
        """``_get_reset_info``, one value per env of ``f``."""
        return {}

    def scalar_types(self) -> dict[str, Callable[[Any], Any]]:
        """The Python types Gymnasium's single env gives ``step``'s reward (key ``"reward"``) and info values
        where they are not ``numpy.float64`` (e.g. Hopper's ``reward_survive`` is ``bool * float``, a Python
        ``float``); the single env converts its values so that they compare equal *and* of the same type."""
        return {}

    # -- helpers shared by the task definitions -------------------------------------------------------
    def noisy_state(self, rng: np.random.Generator, qvel_noise: str) -> tuple[np.ndarray, np.ndarray]:
        """``init_qpos + U(-s, s)`` and ``init_qvel + U(-s, s)`` or ``init_qvel + s * N(0, 1)``."""
        scale = self.p["reset_noise_scale"]
        qpos = self.init_qpos + rng.uniform(low=-scale, high=scale, size=self.model.nq)
        if qvel_noise == "normal":
            qvel = self.init_qvel + scale * rng.standard_normal(self.model.nv)
        else:
            qvel = self.init_qvel + rng.uniform(low=-scale, high=scale, size=self.model.nv)
        return qpos, qvel

    def body_id(self, name: int | str) -> int:
        return self.model.body(name).id


def ctrl_cost(weight: Any, action: np.ndarray) -> np.ndarray:
    """``weight * np.sum(np.square(action))`` per env (in the action's dtype, as Gymnasium computes it)."""
    return weight * np.add.reduce(np.square(action), axis=1)  # = .sum(axis=1), without the wrapper


def norm_rows(x: np.ndarray) -> np.ndarray:
    """``np.linalg.norm`` of each row, through the same BLAS dot product as the 1-D call."""
    x = np.ascontiguousarray(x)
    return np.sqrt(np.matmul(x[:, None, :], x[:, :, None])[:, 0, 0])


def join(*parts: np.ndarray) -> np.ndarray:
    """Concatenate ``(N, ...)`` pieces into a fresh float64 ``(N, D)`` observation."""
    n = parts[0].shape[0]
    return np.concatenate([p if p.ndim == 2 else p.reshape(n, -1) for p in parts], axis=1)


def between(x: np.ndarray, bounds: tuple[float, float], inclusive: bool = False) -> np.ndarray:
    """``lo < x < hi`` (or ``lo <= x <= hi``) elementwise."""
    lo, hi = bounds
    return (lo <= x) & (x <= hi) if inclusive else (lo < x) & (x < hi)
