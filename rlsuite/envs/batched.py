"""Shared machinery of the suite's numba-batched environments.

* A splitmix64 PRNG (Steele, Lea & Flood 2014; Vigna's constants) with one ``uint64`` state per env, so
  every env draws an independent, reproducible stream and a checkpoint of the array restores it.
* :class:`EnvStreams`: those states plus Gymnasium's seeding semantics (``reset(seed=s)`` seeds env ``i``
  with ``s + i``, as ``SyncVectorEnv`` does; ``None`` keeps a stream going).
* :func:`same_step_infos`: the ``infos`` dict a same-step-autoreset ``VectorEnv`` returns when some envs
  finished, with the keys, masks and types of ``SyncVectorEnv(autoreset_mode=SAME_STEP)``.
* :class:`BatchedCore`: the one shape of every family's batched core (``CartPoleCore``, ``GridCore``,
  ``MujocoCore``, ``BattleCore``, ``MatchCore``), and :class:`KernelState`, the bundle of a core's arrays and
  constants its numba kernels take as one argument.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import VectorEnv
from numba import njit, types
from numba.experimental import structref

from rlsuite.envs.inputs import check_seed_value, check_vector_seed


# --- the batched core and its kernel state ----------------------------------------------------------------
@structref.register
class KernelStateType(types.StructRef):
    """Numba type of a :class:`KernelState`: named fields (arrays and scalars), fixed per family."""

    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(kind)) for name, kind in fields)


class KernelState(structref.StructRefProxy):
    """A core's arrays and constants as one numba value: kernels read ``state.<field>``, and the arrays are
    the core's own (shared memory, no copies). Each family declares its fields as a ``KernelStateType``
    and builds the bundle with a cached ``@njit`` constructor."""


structref.define_boxing(KernelStateType, KernelState)


class BatchedCore:
    """``num_envs`` copies of one environment as arrays, advanced together by batched kernels.

    Every family's core has this shape: ``num_envs``; ``get_state() -> dict`` of copies of everything that
    defines the envs (random streams included) and ``set_state(state)``, which restores them in place;
    reset and step methods with the family's arguments. Cores with numba kernels implement
    :meth:`_kernel_state`; :attr:`kernel_state` builds it once, and again after unpickling (the numba bundle
    does not pickle) or after one of the attributes named in ``kernel_fields`` is rebound.
    """

    num_envs: int
    kernel_fields: frozenset[str] = frozenset()  # attributes the kernel state holds
    _kernel: KernelState | None = None
    # Not part of the envs' state: rebuilt from the arrays on use (rlsuite.core.object_state skips it).
    transient_attributes = ("_kernel",)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self.kernel_fields and self._kernel is not None:
            object.__setattr__(self, "_kernel", None)  # rebuilt from the new attribute on next use
        object.__setattr__(self, name, value)

    @property
    def kernel_state(self) -> KernelState:
        if self._kernel is None:
            self._kernel = self._kernel_state()
        return self._kernel

    def _kernel_state(self) -> KernelState:
        raise NotImplementedError(f"{type(self).__name__} has no numba kernels")

    def get_state(self) -> dict[str, Any]:
        raise NotImplementedError

    def set_state(self, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_kernel", None)
        return state


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_SH30 = np.uint64(30)
_SH27 = np.uint64(27)
_SH31 = np.uint64(31)
_SH11 = np.uint64(11)
_INV_2_53 = 1.0 / 9007199254740992.0
_U64 = 1 << 64


@njit(cache=True)
def mix64(z):
    """splitmix64's output function."""
    z = (z ^ (z >> _SH30)) * _MIX1
    z = (z ^ (z >> _SH27)) * _MIX2
    return z ^ (z >> _SH31)


@njit(cache=True)
def rand_float(rng, i):
    """Advance env ``i``'s stream; a float64 uniform in ``[0, 1)``."""
    z = rng[i] + _GOLDEN
    rng[i] = z
    return np.float64(mix64(z) >> _SH11) * _INV_2_53


@njit(cache=True)
def rand_uniform(rng, i, low, high):
    """A float64 uniform in ``[low, high)`` from env ``i``'s stream."""
    return low + (high - low) * rand_float(rng, i)


@njit(cache=True)
def rand_int(rng, i, n):
    """A uniform int in ``[0, n)`` from env ``i``'s stream."""
    k = np.int64(rand_float(rng, i) * n)
    return k if k < n else n - 1


@njit(cache=True)
def _seed_kernel(rng, seeds, mask):
    """Env ``i``'s state becomes ``mix64(seeds[i])`` where ``mask[i]``."""
    for i in range(rng.shape[0]):
        if mask[i]:
            rng[i] = mix64(seeds[i])


def check_seed(seed: Any) -> int:
    """One seed: a non-negative int (a ``ValueError`` naming ``seed`` otherwise)."""
    return check_seed_value(seed)


def check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


RANDOM_STREAMS = ("core", "gymnasium")


def check_random_stream(random_stream: Any, *, single_env: bool) -> str:
    """Validate a ``random_stream`` option: ``"core"`` (the splitmix64 stream per env, shared by the single
    and the vector form) or ``"gymnasium"`` (the single env draws from ``np_random`` as Gymnasium's env
    does, to reproduce its episodes); the vector forms offer only ``"core"``."""
    if random_stream not in RANDOM_STREAMS:
        raise ValueError(f"random_stream must be one of {RANDOM_STREAMS}, got {random_stream!r}")
    if random_stream == "gymnasium" and not single_env:
        raise ValueError(
            "random_stream='gymnasium' is offered by the single env only (the vector core draws its resets "
            "inside its kernels); build the single env with rlsuite.make(...), or use random_stream='core'"
        )
    return random_stream


class EnvStreams:
    """One splitmix64 state per env and whether it has been seeded."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.rng = np.zeros(n, dtype=np.uint64)
        self.seeded = np.zeros(n, dtype=np.bool_)

    def seed(self, seeds: list[int | None], fallback: int) -> None:
        """Seed env ``i`` from ``seeds[i]``; ``None`` keeps a seeded stream or seeds with ``fallback + i``."""
        values = np.zeros(self.n, dtype=np.uint64)
        mask = np.zeros(self.n, dtype=np.bool_)
        for i, s in enumerate(seeds):
            if s is not None:
                values[i] = check_seed(s) % _U64
                mask[i] = True
            elif not self.seeded[i]:
                values[i] = (int(fallback) + i) % _U64
                mask[i] = True
        _seed_kernel(self.rng, values, mask)
        self.seeded |= mask

    def seed_range(self, seed: int) -> None:
        """Env ``i`` seeded with ``seed + i``, as ``SyncVectorEnv.reset(seed=seed)`` seeds its envs."""
        values = np.uint64(check_seed(seed) % _U64) + np.arange(self.n, dtype=np.uint64)  # wraps mod 2**64
        _seed_kernel(self.rng, values, np.ones(self.n, dtype=np.bool_))
        self.seeded[:] = True

    def seed_for_reset(self, seed: Any, default: int | None = None) -> None:
        """A team env's ``reset(seed=...)``: ``s`` seeds env ``i`` with ``s + i``; a list gives one seed (or
        None) per env; None keeps the streams going, seeding never-seeded ones from ``default + i`` (the
        env's constructor seed) the first time, else from OS entropy."""
        seed = check_vector_seed(seed, self.n)
        if isinstance(seed, list):
            self.seed(seed, 0)
        elif seed is not None:
            self.seed_range(seed)
        elif default is not None and not self.seeded.any():
            self.seed_range(check_seed(default))
        else:
            self.seed_unseeded_randomly()

    def seed_unseeded_randomly(self) -> None:
        """Give never-seeded envs fresh OS entropy (e.g. before an autoreset after ``set_state``)."""
        if not self.seeded.all():
            self.seed([None] * self.n, int(np.random.SeedSequence().generate_state(1, np.uint64)[0]))


def team_env_info(env: Any) -> dict[str, Any]:
    """SMAC's ``get_env_info`` keys, plus ``num_envs``, from a team vector env's ``team_spec``."""
    return {**env.team_spec.env_info(), "num_envs": env.num_envs}


def as_action_array(actions: Any, num_envs: int, hint: str = "") -> np.ndarray:
    """Discrete actions as a contiguous ``int64[num_envs]`` array; a clear error for wrong shape or dtype.
    Range checks stay in the kernels (they report the first bad index)."""
    a = np.asarray(actions)
    suffix = f". {hint}" if hint else ""
    if a.shape != (num_envs,):
        raise ValueError(f"actions must have shape ({num_envs},), got {a.shape}{suffix}")
    if a.dtype != np.int64:
        if a.dtype.kind not in "iub":
            raise ValueError(f"actions must have an integer dtype, got {a.dtype}{suffix}")
        a = a.astype(np.int64)
    elif not a.flags.c_contiguous:
        a = np.ascontiguousarray(a)
    return a


def pop_reset_mask(options: dict[str, Any], num_envs: int) -> np.ndarray:
    """Take ``options["reset_mask"]`` (bool[num_envs], as ``SyncVectorEnv`` takes it); all True if absent."""
    mask = options.pop("reset_mask", None)
    if mask is None:
        return np.ones(num_envs, dtype=np.bool_)
    mask = np.asarray(mask)
    if mask.shape != (num_envs,) or mask.dtype != np.bool_:
        raise ValueError(f"options['reset_mask'] must be a bool array of shape ({num_envs},)")
    if not mask.any():
        raise ValueError("options['reset_mask'] must contain at least one True value")
    return mask


def seed_vector_reset(env: VectorEnv, streams: EnvStreams, seed: Any, mask: np.ndarray) -> None:
    """Apply ``VectorEnv.reset``'s ``seed`` to the masked envs' streams, as ``SyncVectorEnv`` does:
    ``None`` continues each stream (unseeded ones from the env's own generator), an int ``s`` seeds env
    ``i`` with ``s + i`` (and the vector env's ``np_random``), a list gives one seed or ``None`` per env."""
    num_envs = env.num_envs
    seed = check_vector_seed(seed, num_envs)
    int_seed = isinstance(seed, int)
    if int_seed:
        VectorEnv.reset(env, seed=seed)
        seeds: list[int | None] = [seed + i for i in range(num_envs)]
    elif seed is None:
        seeds = [None] * num_envs
    else:
        seeds = seed
    if int_seed and mask.all():
        streams.seed_range(int(seed))  # vectorised form of the general case below
    else:
        fallback = 0 if streams.seeded.all() else env.np_random_seed
        streams.seed([s if m else None for s, m in zip(seeds, mask)], fallback)


def same_step_infos(
    num_envs: int,
    done: np.ndarray,
    done_idx: np.ndarray,
    final_obs: np.ndarray,
    final_info: dict[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    """``infos`` for a step where ``len(done_idx)`` envs finished.

    ``final_obs[j]`` is the terminal observation of env ``done_idx[j]``; ``final_info`` maps keys to
    per-env arrays (already placed at env indices) of the finished envs' last infos.
    """
    boxed = np.empty(num_envs, dtype=object)  # None where the env did not finish
    boxed[done_idx] = list(final_obs.copy())
    return {
        "final_obs": boxed,
        "_final_obs": done,
        "final_info": final_info if final_info is not None else {},
        "_final_info": done.copy(),
    }


def warn_render_without_mode(where: str = 'gym.make(..., render_mode="rgb_array")') -> None:
    """Gymnasium's warning for ``render()`` on an env made without a render mode."""
    gym.logger.warn(
        "You are calling render method without specifying any render mode. "
        f'Pass render_mode="rgb_array" ({where}).'
    )


def check_team_actions(
    actions: Any, mask: np.ndarray, *, env_word: str = "env", agent_names: Sequence[str] | None = None
) -> np.ndarray:
    """Validate joint actions ``[num_envs, n_agents]`` of a team vector env against its action ``mask``.

    Returns them as contiguous int64; raises ValueError naming the shape, dtype, range or the first
    unavailable action (with the env, the agent and the actions that were available).
    """
    num_envs, n_agents, n_actions = mask.shape
    a = np.asarray(actions)
    shape = (num_envs, n_agents)
    if a.shape != shape:
        raise ValueError(f"actions must have shape {shape} (num_envs, n_agents), got {a.shape}")
    if a.dtype.kind not in "iu":
        raise ValueError(f"actions must be integers of shape {shape}, got dtype {a.dtype}")
    a = np.ascontiguousarray(a, dtype=np.int64)
    if (a < 0).any() or (a >= n_actions).any():
        raise ValueError(f"actions must be in [0, {n_actions}); got min {a.min()}, max {a.max()}")
    chosen = np.take_along_axis(mask, a[:, :, None], axis=2)[:, :, 0]
    if not chosen.all():
        env, agent = map(int, np.argwhere(chosen == 0)[0])
        allowed = np.flatnonzero(mask[env, agent]).tolist()
        name = f" ({agent_names[agent]!r})" if agent_names is not None else ""
        raise ValueError(
            f"{env_word} {env}, agent {agent}{name}: action {a[env, agent]} is not available; "
            f"available actions: {allowed}"
        )
    return a
