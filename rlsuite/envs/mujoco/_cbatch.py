"""A thin ctypes binding of MuJoCo's batched-simulation C API (``mujoco/mjbatch.h``, MuJoCo >= 4.0).

``mujoco.batch.Batch`` wraps the same C object (``mjBatch``: one model, ``nsim`` state rows, a thread
pool) but does not expose ``mjb_apply``, which runs a C function on every simulation in the pool. The
MuJoCo tasks need it: Gymnasium's ``MujocoEnv`` calls ``mj_rnePostConstraint`` after
``mj_step(..., nstep=frame_skip)`` to fill ``cfrc_ext`` (Ant's and Humanoid's contact forces), and for
RK4 models (Ant and Humanoid are RK4) no acceleration-stage sensor can reproduce that: the data left by
``mj_step`` is that of the last Runge-Kutta stage, which MuJoCo evaluates with sensors skipped, while a
sensor is evaluated at the start of the substep, from other contacts. So :meth:`CBatch.step_rne` runs,
in C on the batch's threads, exactly Gymnasium's sequence ``mj_step`` x ``nstep`` then
``mj_rnePostConstraint`` (a numba ``cfunc`` given to ``mjb_apply``) in a persistent batch (one
``mjData`` per simulation), and then ``mjb_forward(stage=mjSTAGE_NONE)``, which computes nothing and
copies the bound derived fields out of those ``mjData``.

Everything else maps one to one onto ``mjb_*`` calls: :meth:`CBatch.step` is ``mjb_step`` (what
``Batch.step`` calls), :meth:`CBatch.reset`/:meth:`CBatch.forward` are ``mjb_reset``/``mjb_forward``,
and :meth:`CBatch.component`/:meth:`CBatch.output` are numpy views of the state rows and of the
copied-out fields, as ``Batch.bind`` returns them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import glob
import os
from typing import Any

import mujoco
import numpy as np
from llvmlite import ir
from numba import cfunc, types
from numba.extending import intrinsic

_vp = ctypes.c_void_p
_int = ctypes.c_int
_intp = ctypes.POINTER(ctypes.c_int)
_dblp = ctypes.POINTER(ctypes.c_double)

STAGE_NONE = int(mujoco.mjtStage.mjSTAGE_NONE)
STAGE_ACC = int(mujoco.mjtStage.mjSTAGE_ACC)


class _Config(ctypes.Structure):
    _fields_ = (("nthread", ctypes.c_int), ("persistent", ctypes.c_ubyte))


# name: (restype, argtypes) of the C functions used
_SIGNATURES: dict[str, tuple[Any, list[Any]]] = {
    "mjb_makeBatch": (_vp, [_vp, _int, ctypes.POINTER(_Config), ctypes.c_char_p, _int]),
    "mjb_deleteBatch": (None, [_vp]),
    "mjb_nstate": (_int, [_vp]),
    "mjb_nthread": (_int, [_vp]),
    "mjb_state": (_dblp, [_vp]),
    "mjb_stateComponent": (_dblp, [_vp, _int, _intp]),
    "mjb_output": (_vp, [_vp, ctypes.c_char_p, _intp, _intp]),
    "mjb_step": (_int, [_vp, _vp, _int, _int, _int]),
    "mjb_forward": (_int, [_vp, _vp, _int, _int]),
    "mjb_reset": (_int, [_vp, _vp, _int, _vp, _int]),
    "mjb_apply": (_int, [_vp, _vp, _int, _vp, _vp, _int]),
    "mjb_status": (_intp, [_vp]),
    "mjb_error": (ctypes.c_char_p, [_vp, _int]),
    "mjb_getData": (None, [_vp, _int, _vp]),
}


def _load_library() -> ctypes.CDLL:
    """The libmujoco the ``mujoco`` package is linked against (already loaded, so this only opens it)."""
    here = os.path.dirname(mujoco.__file__)
    names = sorted(glob.glob(os.path.join(here, "libmujoco.so*")) + glob.glob(os.path.join(here, "*.dylib")))
    names += sorted(glob.glob(os.path.join(here, "mujoco.dll")))
    found = ctypes.util.find_library("mujoco")
    for path in [*names, *([found] if found else [])]:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        if hasattr(lib, "mjb_apply"):
            for name, (restype, argtypes) in _SIGNATURES.items():
                fn = getattr(lib, name)
                fn.restype, fn.argtypes = restype, argtypes
            return lib
    raise ImportError(
        f"the MuJoCo library next to {mujoco.__file__} has no batch API (mjb_apply); rlsuite's MuJoCo envs "
        f"need mujoco>=4.0, found {mujoco.__version__}"
    )


_LIB = _load_library()
# Addresses of the two engine functions the step callback calls.
_MJ_STEP = ctypes.cast(_LIB.mj_step, _vp).value
_MJ_RNE_POST = ctypes.cast(_LIB.mj_rnePostConstraint, _vp).value


@intrinsic
def _call_model_data(typingctx, fn, m, d):
    """Call ``void fn(const mjModel*, mjData*)`` given its address (keeps the cfunc free of globals, so
    numba can cache it)."""
    sig = types.void(types.int64, types.voidptr, types.voidptr)

    def codegen(context, builder, signature, args):
        ptr = ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(ir.VoidType(), [ptr, ptr])
        builder.call(builder.inttoptr(args[0], fnty.as_pointer()), [args[1], args[2]])
        return context.get_dummy_value()

    return sig, codegen


def _step_then_rne_post(m, d, sim, arg):  # pragma: no cover - runs in C threads
    """``mjfBatchFunc``: ``arg = [nstep, &mj_step, &mj_rnePostConstraint]``; Gymnasium's step sequence."""
    for _ in range(arg[0]):
        _call_model_data(arg[1], m, d)
    _call_model_data(arg[2], m, d)


@functools.cache
def _step_rne_address() -> int:
    """Address of the compiled ``_step_then_rne_post`` (compiled, or loaded from numba's cache, on first
    use, so that tasks without ``cfrc_ext`` never pay numba's start-up)."""
    signature = types.void(types.voidptr, types.voidptr, types.int32, types.CPointer(types.int64))
    return cfunc(signature, cache=True)(_step_then_rne_post).address


def _ids_arg(ids: np.ndarray | None) -> tuple[int | None, int]:
    """``(pointer, count)`` for an ``mjb_*`` ``ids`` argument (``None``: every simulation)."""
    if ids is None:
        return None, 0
    return ids.ctypes.data, len(ids)


class CBatch:
    """``nsim`` simulations of a copy of ``model`` on ``nthread`` threads (the caller's included).

    ``persistent`` keeps one ``mjData`` per simulation (needed by :meth:`step_rne`). Arrays returned by
    :meth:`component` and :meth:`output` are live views into the batch's memory: valid until
    :meth:`close`.
    """

    def __init__(self, model: mujoco.MjModel, nsim: int, nthread: int, persistent: bool) -> None:
        self.model = model  # the batch holds its own copy; kept for shapes and rendering
        self.nsim = int(nsim)
        self.persistent = bool(persistent)
        error = ctypes.create_string_buffer(1000)
        config = _Config(int(nthread), int(self.persistent))
        handle = _LIB.mjb_makeBatch(model._address, self.nsim, ctypes.byref(config), error, len(error))
        if not handle:
            raise RuntimeError(f"mjb_makeBatch failed: {error.value.decode(errors='replace')}")
        self._handle: int | None = handle
        self.nthread = _LIB.mjb_nthread(handle)
        nstate = _LIB.mjb_nstate(handle)
        self._state_addr = ctypes.cast(_LIB.mjb_state(handle), _vp).value
        #: The (nsim, nstate) mjSTATE_INTEGRATION rows: the whole state a call starts from.
        self.state = np.ctypeslib.as_array(_LIB.mjb_state(handle), shape=(self.nsim, nstate))
        self._template = mujoco.MjData(model)
        self._apply_arg = np.array([1, _MJ_STEP, _MJ_RNE_POST], dtype=np.int64)

    def component_offset(self, bit: mujoco.mjtState) -> int:
        """Column of the state rows where component ``bit`` (``mjSTATE_QPOS``, ...) starts."""
        return self._component(bit)[0]

    def component(self, bit: mujoco.mjtState) -> np.ndarray:
        """A live, writable ``(nsim, size)`` view of one state component (``mjSTATE_QPOS``, ...)."""
        start, size = self._component(bit)
        return self.state[:, start : start + size]

    def _component(self, bit: mujoco.mjtState) -> tuple[int, int]:
        size = _int()
        addr = ctypes.cast(_LIB.mjb_stateComponent(self._live(), int(bit), ctypes.byref(size)), _vp).value
        return (addr - self._state_addr) // self.state.itemsize, size.value

    def output(self, name: str) -> np.ndarray:
        """A live, read-only ``(nsim, ...)`` view of a derived ``mjData`` field copied out after each call."""
        template = getattr(self._template, name)
        size, elemsize = _int(), _int()
        addr = _LIB.mjb_output(self._live(), name.encode(), ctypes.byref(size), ctypes.byref(elemsize))
        if not addr or elemsize.value != template.itemsize:
            raise ValueError(f"mjData field {name!r} cannot be bound by the batch")
        buf = (ctypes.c_char * (self.nsim * size.value * elemsize.value)).from_address(addr)
        out = np.frombuffer(buf, dtype=template.dtype).reshape(self.nsim, *template.shape)
        out.flags.writeable = False
        return out

    def step(self, nstep: int) -> None:
        """``nstep`` calls to ``mj_step`` in every simulation (``mjb_step``)."""
        self._check(_LIB.mjb_step(self._live(), None, 0, int(nstep), STAGE_NONE), None)

    def step_rne(self, nstep: int) -> None:
        """``nstep`` calls to ``mj_step`` then ``mj_rnePostConstraint`` in every simulation, in C threads."""
        if not self.persistent:
            raise RuntimeError("step_rne needs a persistent batch")
        self._apply_arg[0] = nstep
        handle = self._live()
        arg = self._apply_arg.ctypes.data
        self._check(_LIB.mjb_apply(handle, None, 0, _step_rne_address(), arg, 1), None)
        self._check(_LIB.mjb_forward(handle, None, 0, STAGE_NONE), None)  # copy the fields out

    def forward(self, ids: np.ndarray | None = None, stage: int = STAGE_ACC) -> None:
        """``mj_forward`` (by default) on the given simulations (int32 ids, sorted), or all."""
        ptr, n = _ids_arg(ids)
        self._check(_LIB.mjb_forward(self._live(), ptr, n, int(stage)), ids)

    def reset(self, ids: np.ndarray | None = None) -> None:
        """``mj_resetData`` on the given simulations (no forward: write the state, then :meth:`forward`)."""
        ptr, n = _ids_arg(ids)
        self._check(_LIB.mjb_reset(self._live(), ptr, n, None, STAGE_NONE), ids)

    def get_data(self, sim: int, data: mujoco.MjData) -> mujoco.MjData:
        """Write simulation ``sim``'s state into ``data`` (an ``MjData`` of the batch's model)."""
        if not 0 <= sim < self.nsim:
            raise IndexError(f"simulation {sim} out of range [0, {self.nsim})")
        _LIB.mjb_getData(self._live(), int(sim), data._address)
        return data

    def close(self) -> None:
        """Free the batch; the views it handed out must not be used afterwards."""
        handle, self._handle = self._handle, None
        if handle:
            _LIB.mjb_deleteBatch(handle)

    def __del__(self) -> None:
        self.close()

    def _live(self) -> int:
        if not self._handle:
            raise RuntimeError("the MuJoCo batch has been closed")
        return self._handle

    def _check(self, nfail: int, ids: np.ndarray | None) -> None:
        if not nfail:
            return
        status = np.ctypeslib.as_array(_LIB.mjb_status(self._live()), shape=(self.nsim,))
        sims = np.arange(self.nsim) if ids is None else ids
        failed = sims[status[sims] != 0]
        first = int(failed[0]) if len(failed) else -1
        message = _LIB.mjb_error(self._handle, first).decode(errors="replace") if first >= 0 else ""
        raise RuntimeError(f"MuJoCo raised in {nfail} simulation(s) {failed[:5].tolist()}: {message}")
