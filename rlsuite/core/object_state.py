"""The state of a Python object graph (an env and its wrappers) as plain data, restored in place.

Checkpoints never pickle objects (see :mod:`rlsuite.core.plain_data`), so envs that have no
``get_state``/``set_state`` of their own (Gymnasium's envs, user envs, PettingZoo envs) are saved by
:func:`capture_object`: it walks the object's attributes (``vars(obj)``) and those of the objects they
hold, recursively, and records

* plain values (numbers, strings, bytes, ``None``, NumPy arrays and scalars, tensors, and lists,
  tuples and dicts of them) as copies; deques as their items and ``maxlen``;
* ``np.random.Generator``, ``np.random.RandomState`` and ``random.Random`` as their states;
* Gymnasium spaces as the states of their samplers (the space itself is part of the env's definition);
* MuJoCo's ``MjData`` as its full integration state (``mj_getState(mjSTATE_INTEGRATION)``) plus its
  model-sized arrays (so quantities read before the next ``mj_step``, such as body positions, are the
  saved ones); ``MjModel`` is definition, not state;
* enum members by name (looked up in the class of the fresh object's member);
* Python objects by their attributes, recursively; functions, methods, classes and modules are code,
  not state, and are kept as the freshly built object has them.

Anything else (OS handles, engines in C/C++ extensions, objects that customise their own pickling,
like a live game engine) raises :class:`StateCaptureError`: such an env's state is not saved, and a
resumed run starts new episodes (with a warning). :func:`restore_object` writes a captured state into
an object built the same way (the same env id and kwargs), in place, so that references between
objects stay as they were; it raises :class:`StateRestoreError` when the two graphs differ.
"""

from __future__ import annotations

import copy
import enum
import io
import random
import types
from collections import OrderedDict, deque
from typing import Any

import numpy as np
import torch

MAX_DEPTH = 64
_ATOMS = (type(None), bool, int, float, complex, str, bytes, np.generic, torch.dtype, torch.device)
_CODE = (
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.BuiltinMethodType,
    types.ModuleType,
    type,
)
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
_PICKLING_HOOKS = ("__reduce__", "__reduce_ex__", "__getstate__", "__setstate__")
# A class may name derived attributes (caches rebuilt on use) in ``TRANSIENT_ATTRIBUTES``: they are not
# saved, are dropped on restore, and a ``__getstate__`` of that class (which leaves only them out) is allowed.
TRANSIENT_ATTRIBUTES = "transient_attributes"


class StateCaptureError(TypeError):
    """An object graph holds something that cannot be saved as plain data."""


class StateRestoreError(ValueError):
    """A captured state does not fit the object it is restored into."""


def capture_object(obj: Any, where: str = "env") -> dict[str, Any]:
    """The plain-data state of ``obj`` and everything it holds (see the module docstring)."""
    return _Capture().node(obj, where, 0)


def restore_object(obj: Any, node: dict[str, Any], where: str = "env") -> None:
    """Write a :func:`capture_object` state into ``obj`` (built the same way), in place."""
    _restore(obj, node, where, set())


def restore_value(current: Any, node: dict[str, Any], where: str = "value") -> Any:
    """The value a :func:`capture_object` state stands for, written into ``current`` where it can be
    (objects, generators, arrays of the same shape); assign the result in ``current``'s place."""
    return _restore(current, node, where, set())


def is_plain(value: Any) -> bool:
    """Whether ``value`` is stored as a copy (numbers, strings, arrays, containers of them)."""
    if isinstance(value, (*_ATOMS, torch.Tensor)):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype.kind != "O"
    if type(value) in (list, tuple):
        return all(is_plain(item) for item in value)
    if type(value) in (dict, OrderedDict):
        return all(is_plain(key) and is_plain(item) for key, item in value.items())
    return False


# --- capture ------------------------------------------------------------------------------------
class _Capture:
    def __init__(self) -> None:
        self.seen: set[int] = set()

    def node(self, value: Any, where: str, depth: int) -> dict[str, Any]:
        if depth > MAX_DEPTH:
            raise StateCaptureError(f"{where}: objects nested more than {MAX_DEPTH} levels deep")
        if is_plain(value):
            return {"kind": "value", "value": copy.deepcopy(value)}
        if isinstance(value, _CODE):
            return {"kind": "code"}
        if isinstance(value, enum.Enum):  # a member of the same class in the fresh object, found by name
            return {"kind": "enum", "type": _type_name(value), "name": value.name}
        if id(value) in self.seen:  # held twice (a wrapper's env, a shared model): restored once
            return {"kind": "ref"}
        self.seen.add(id(value))
        if type(value) in (list, tuple, deque):
            items = [self.node(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value)]
            node = {"kind": type(value).__name__, "items": items}
            if isinstance(value, deque):
                node["maxlen"] = value.maxlen
            return node
        if type(value) in (dict, OrderedDict):
            return self.mapping(value, where, depth)
        special = _special_state(value, where)
        if special is not None:
            return special
        if _is_space(value):
            return self.space(value, where, depth)
        return self.python_object(value, where, depth)

    def mapping(self, value: dict, where: str, depth: int) -> dict[str, Any]:
        keys = list(value)
        bad = [key for key in keys if not is_plain(key)]
        if bad:
            raise StateCaptureError(f"{where}: dict key {bad[0]!r} is not plain data")
        values = [self.node(value[key], f"{where}[{key!r}]", depth + 1) for key in keys]
        return {"kind": "dict", "keys": copy.deepcopy(keys), "values": values}

    def space(self, space: Any, where: str, depth: int) -> dict[str, Any]:
        rng = getattr(space, "_np_random", None)
        children = _space_children(space)
        return {
            "kind": "space",
            "type": _type_name(space),
            "rng": None if rng is None else _generator_state(rng),
            "children": [self.space(child, f"{where}.{i}", depth + 1) for i, child in enumerate(children)],
        }

    def python_object(self, value: Any, where: str, depth: int) -> dict[str, Any]:
        problem = _why_not_capturable(value)
        if problem:
            raise StateCaptureError(f"{where} ({_type_name(value)}) {problem}")
        attrs = {}
        transient = _transient(value)
        for name, item in vars(value).items():
            if _is_definition(item) or name in transient:
                continue
            attrs[name] = self.node(item, f"{where}.{name}", depth + 1)
        return {"kind": "object", "type": _type_name(value), "attrs": attrs}


def _special_state(value: Any, where: str) -> dict[str, Any] | None:
    """Random generators and MuJoCo data: their states, read through their own APIs."""
    if isinstance(value, np.random.Generator):
        return {"kind": "generator", "state": _generator_state(value)}
    if isinstance(value, np.random.RandomState):
        return {"kind": "random_state", "state": value.get_state()}
    if type(value) is random.Random:
        return {"kind": "python_random", "state": value.getstate()}
    if type(value).__module__.startswith("mujoco") and type(value).__name__ == "MjData":
        return _mjdata_state(value)
    return None


def _why_not_capturable(value: Any) -> str:
    """Why ``value`` cannot be saved attribute by attribute ('' when it can)."""
    cls = type(value)
    if isinstance(value, io.IOBase):
        return "is an open file or stream"
    if not hasattr(value, "__dict__") or cls.__module__ == "builtins":
        return "keeps its state outside Python attributes (a C extension type)"
    if any(
        slot not in ("__dict__", "__weakref__") for k in cls.__mro__ for slot in vars(k).get("__slots__", ())
    ):
        return "keeps part of its state in __slots__"
    for klass in cls.__mro__:
        if klass is object or klass.__module__.startswith("gymnasium.utils.ezpickle"):
            continue
        hooks = [hook for hook in _PICKLING_HOOKS if hook in vars(klass)]
        if hooks == ["__getstate__"] and TRANSIENT_ATTRIBUTES in vars(klass):
            continue  # it only leaves out its transient attributes, which capture skips too
        if hooks:  # the class says its state is more (or less) than its attributes
            return f"defines its own copying ({klass.__qualname__}.{hooks[0]})"
    return ""


def _transient(value: Any) -> tuple[str, ...]:
    return tuple(getattr(type(value), TRANSIENT_ATTRIBUTES, ()))


def _is_definition(value: Any) -> bool:
    """Parts of an env that are its definition, identical in a freshly built copy (not saved)."""
    from gymnasium.envs.registration import EnvSpec

    if isinstance(value, EnvSpec):
        return True
    return type(value).__module__.startswith("mujoco") and type(value).__name__ == "MjModel"


def _is_space(value: Any) -> bool:
    from gymnasium.spaces import Space

    return isinstance(value, Space)


def _space_children(space: Any) -> list[Any]:
    from gymnasium import spaces

    if isinstance(space, spaces.Dict):
        return list(space.spaces.values())
    if isinstance(space, spaces.Tuple | spaces.OneOf):
        return list(space.spaces)
    return []


def _type_name(value: Any) -> str:
    return f"{type(value).__module__}.{type(value).__qualname__}"


def _generator_state(rng: np.random.Generator) -> dict[str, Any]:
    return copy.deepcopy(rng.bit_generator.state)


def _mjdata_state(data: Any) -> dict[str, Any]:
    import mujoco

    spec = mujoco.mjtState.mjSTATE_INTEGRATION
    integration = np.empty(mujoco.mj_stateSize(data.model, spec))
    mujoco.mj_getState(data.model, data, integration, spec)
    arrays = {}
    for name in dir(data):
        if not name.startswith("_"):
            item = getattr(data, name, None)
            if isinstance(item, np.ndarray) and item.dtype.kind in "biuf":
                arrays[name] = item.copy()
    return {"kind": "mjdata", "integration": integration, "arrays": arrays}


# --- restore ------------------------------------------------------------------------------------
def _restore(target: Any, node: dict[str, Any], where: str, done: set[int]) -> Any:
    """Restore ``node`` into ``target``; returns the value to put in ``target``'s place."""
    kind = node.get("kind")
    if kind == "value":
        return _copy_into(target, node["value"])
    if kind in ("code", "ref"):
        return target
    if kind == "generator":
        return _restored_generator(target, node["state"], where)
    if kind == "enum":
        if not isinstance(target, enum.Enum) or _type_name(target) != node["type"]:
            raise StateRestoreError(f"{where} is a {_type_name(target)}; the saved state is a {node['type']}")
        return type(target)[node["name"]]
    if kind in ("list", "tuple", "deque"):
        return _restore_sequence(target, node, where, done)
    if kind == "dict":
        return _restore_mapping(target, node, where, done)
    if id(target) in done:
        return target
    done.add(id(target))
    if kind == "random_state":
        _expect(target, np.random.RandomState, where).set_state(node["state"])
    elif kind == "python_random":
        _expect(target, random.Random, where).setstate(node["state"])
    elif kind == "space":
        _restore_space(target, node, where)
    elif kind == "mjdata":
        _restore_mjdata(target, node, where)
    elif kind == "object":
        _restore_attributes(target, node, where, done)
    else:
        raise StateRestoreError(f"{where}: unknown saved state kind {kind!r}")
    return target


def _restore_attributes(target: Any, node: dict[str, Any], where: str, done: set[int]) -> None:
    if _type_name(target) != node["type"]:
        raise StateRestoreError(f"{where} is a {_type_name(target)}; the saved state is of a {node['type']}")
    for name, child in node["attrs"].items():
        if child["kind"] in ("code", "ref"):
            continue
        current = vars(target).get(name)
        if child["kind"] not in ("value", "generator", "enum") and name not in vars(target):
            raise StateRestoreError(f"{where}.{name} is missing from the freshly built object")
        value = _restore(current, child, f"{where}.{name}", done)
        if name not in vars(target) or value is not current:
            vars(target)[name] = value  # as unpickling does: no __setattr__ hooks, frozen dataclasses too
    for name in _transient(target):  # caches of the old values: rebuilt on next use
        vars(target).pop(name, None)


def _restore_sequence(target: Any, node: dict[str, Any], where: str, done: set[int]) -> Any:
    items = node["items"]
    existing = list(target) if type(target) in (list, tuple, deque) else []
    if len(existing) != len(items) and any(item["kind"] != "value" for item in items):
        raise StateRestoreError(f"{where} holds {len(existing)} items; the saved state has {len(items)}")
    existing += [None] * (len(items) - len(existing))
    values = [
        _restore(current, item, f"{where}[{i}]", done)
        for i, (current, item) in enumerate(zip(existing, items))
    ]
    if node["kind"] == "list" and isinstance(target, list):
        target[:] = values  # in place: others may hold this list
        return target
    if node["kind"] == "deque":
        if isinstance(target, deque) and target.maxlen == node["maxlen"]:
            target.clear()
            target.extend(values)
            return target
        return deque(values, maxlen=node["maxlen"])
    return (
        type(target)(values)
        if isinstance(target, tuple)
        else values
        if node["kind"] == "list"
        else tuple(values)
    )


def _restore_mapping(target: Any, node: dict[str, Any], where: str, done: set[int]) -> Any:
    current = target if isinstance(target, dict) else {}
    out = {}
    for key, child in zip(node["keys"], node["values"]):
        if child["kind"] not in ("value", "generator", "enum", "code", "ref") and key not in current:
            raise StateRestoreError(f"{where}[{key!r}] is missing from the freshly built object")
        out[key] = _restore(current.get(key), child, f"{where}[{key!r}]", done)
    if isinstance(target, dict):
        target.clear()
        target.update(out)  # in place: others may hold this dict
        return target
    return out


def _copy_into(target: Any, value: Any) -> Any:
    """A private copy of ``value``; arrays are written into ``target``'s memory when they fit it."""
    if (
        isinstance(target, np.ndarray)
        and isinstance(value, np.ndarray)
        and target.shape == value.shape
        and target.dtype == value.dtype
        and target.flags.writeable
    ):
        target[...] = value
        return target
    return copy.deepcopy(value)


def _restored_generator(target: Any, state: dict[str, Any], where: str) -> np.random.Generator:
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in _BIT_GENERATORS:
        raise StateRestoreError(f"{where}: unknown bit generator {name!r}")
    rng = target
    if not (isinstance(target, np.random.Generator) and type(target.bit_generator).__name__ == name):
        rng = np.random.Generator(getattr(np.random, name)())
    rng.bit_generator.state = copy.deepcopy(state)
    return rng


def _restore_space(target: Any, node: dict[str, Any], where: str) -> None:
    if not _is_space(target) or _type_name(target) != node["type"]:
        raise StateRestoreError(f"{where} is a {_type_name(target)}; the saved state is of a {node['type']}")
    if node["rng"] is None:
        target._np_random = None
    else:
        target._np_random = _restored_generator(target._np_random, node["rng"], where)
    children = _space_children(target)
    if len(children) != len(node["children"]):
        raise StateRestoreError(
            f"{where} has {len(children)} sub-spaces; the saved state has {len(node['children'])}"
        )
    for i, (child, saved) in enumerate(zip(children, node["children"])):
        _restore_space(child, saved, f"{where}.{i}")


def _restore_mjdata(target: Any, node: dict[str, Any], where: str) -> None:
    import mujoco

    if not (type(target).__module__.startswith("mujoco") and type(target).__name__ == "MjData"):
        raise StateRestoreError(f"{where} is a {_type_name(target)}, not MuJoCo's MjData")
    spec = mujoco.mjtState.mjSTATE_INTEGRATION
    integration = np.asarray(node["integration"], dtype=np.float64)
    if integration.shape != (mujoco.mj_stateSize(target.model, spec),):
        raise StateRestoreError(f"{where}: the saved MuJoCo state has {integration.size} numbers")
    mujoco.mj_setState(target.model, target, integration, spec)
    for name, saved in node["arrays"].items():
        current = getattr(target, name, None)
        # Model-sized arrays (positions, forces...) come back as saved; arrays sized by the contacts
        # of the last step differ in size and are recomputed by the next mj_step.
        if isinstance(current, np.ndarray) and current.shape == np.shape(saved) and current.flags.writeable:
            current[...] = saved


def _expect(target: Any, cls: type, where: str) -> Any:
    if not isinstance(target, cls):
        raise StateRestoreError(f"{where} is a {_type_name(target)}; the saved state is of a {cls.__name__}")
    return target
