"""Checkpoint contents as plain data: what ``torch.load(weights_only=True)`` reads without running code.

A checkpoint may hold tensors, numbers, strings, bytes, ``None`` and lists, tuples, sets and dicts of
them. NumPy arrays and scalars are stored as tensors (or, for string and object arrays, as lists) inside
a small tagged dict and come back as the same NumPy type on load, so the code that builds and reads
checkpoint state can keep using NumPy. Anything else (an arbitrary object, a ``np.random.Generator``, a
class) is refused when the checkpoint is *written*, naming where it sits in the state, so a file that
could only be read back by unpickling objects is never produced.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
import torch

ARRAY_TAG = "__rlsuite_ndarray__"  # {ARRAY_TAG: tensor | list, "dtype": str, "shape": list, "scalar": bool}

_ATOMS = (
    type(None),
    bool,
    int,
    float,
    complex,
    str,
    bytes,
    torch.Tensor,
    torch.Size,
    torch.dtype,
    torch.device,
)
# String and byte arrays have no tensor dtype: they are stored as (nested) lists of str/bytes.
_LIST_KINDS = "USb"


class NotPlainDataError(TypeError):
    """A value that a checkpoint cannot hold as plain data (its place in the state is in the message)."""


def encode(value: Any, where: str = "state") -> Any:
    """``value`` with NumPy arrays/scalars replaced by tagged tensors; raises on anything not plain data."""
    if isinstance(value, np.ndarray | np.generic):
        return _encode_array(np.asarray(value), where, scalar=isinstance(value, np.generic))
    if isinstance(value, _ATOMS):
        return value
    if isinstance(value, dict):
        if ARRAY_TAG in value:
            raise NotPlainDataError(f"{where}: the key {ARRAY_TAG!r} is reserved for stored arrays")
        items = ((key, encode(item, f"{where}[{key!r}]")) for key, item in value.items())
        return OrderedDict(items) if type(value) is OrderedDict else dict(items)
    if type(value) in (list, tuple, set):
        encoded = [encode(item, f"{where}[{i}]") for i, item in enumerate(value)]
        return type(value)(encoded)
    raise NotPlainDataError(
        f"{where} is a {type(value).__module__}.{type(value).__qualname__}; checkpoints hold only "
        "tensors, arrays, numbers, strings, bytes, lists, tuples and dicts (convert it to those)"
    )


def decode(value: Any, device: torch.device | None = None) -> Any:
    """The inverse of :func:`encode` on what ``torch.load(weights_only=True, map_location="cpu")``
    returned; tensors (not the stored NumPy arrays) are moved to ``device`` when given."""
    if isinstance(value, dict):
        if ARRAY_TAG in value:
            return _decode_array(value)
        items = ((key, decode(item, device)) for key, item in value.items())
        return OrderedDict(items) if type(value) is OrderedDict else dict(items)
    if type(value) in (list, tuple, set):
        return type(value)(decode(item, device) for item in value)
    if isinstance(value, torch.Tensor) and device is not None and value.device != device:
        return value.to(device)
    return value


def _encode_array(array: np.ndarray, where: str, scalar: bool) -> dict[str, Any]:
    record: dict[str, Any] = {"dtype": array.dtype.str, "shape": list(array.shape), "scalar": scalar}
    kind = array.dtype.kind
    if kind in "biufc":
        native = array.astype(array.dtype.newbyteorder("="), copy=False)
        # A private, contiguous, writable copy: the checkpoint must not alias live buffers.
        record[ARRAY_TAG] = torch.from_numpy(np.array(native, order="C", copy=True))
    elif kind in _LIST_KINDS:
        record[ARRAY_TAG] = array.reshape(-1).tolist()
    elif kind == "O":
        record[ARRAY_TAG] = [encode(item, f"{where}[{i}]") for i, item in enumerate(array.reshape(-1))]
    else:
        raise NotPlainDataError(f"{where}: NumPy arrays of dtype {array.dtype} cannot be stored")
    return record


def _decode_array(record: dict[str, Any]) -> np.ndarray | np.generic:
    data, shape = record[ARRAY_TAG], tuple(int(n) for n in record["shape"])
    dtype = np.dtype(str(record["dtype"]))
    if isinstance(data, torch.Tensor):
        array = data.numpy().astype(dtype, copy=False).reshape(shape)
    elif dtype.kind == "O":
        array = np.empty(len(data), dtype=object)
        for i, item in enumerate(data):
            array[i] = decode(item)
        array = array.reshape(shape)
    elif dtype.kind in _LIST_KINDS:
        array = np.array(data, dtype=dtype).reshape(shape)
    else:
        raise ValueError(f"a stored array of dtype {dtype} holds {type(data).__name__}, not a tensor")
    return array[()] if record.get("scalar") else array
