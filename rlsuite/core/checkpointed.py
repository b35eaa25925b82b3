"""A learner's declared checkpoint members: what its checkpoint holds, by attribute name.

In the manner of Stable-Baselines3's ``_get_torch_save_params``: a learner lists its networks, optimisers,
counters and random streams once (``checkpointed = Checkpointed(modules=("actor", "critic"), ...)``) and
the base class writes and reads them, instead of each learner mirroring a ``state_dict`` by hand. What it
captures is plain data (tensors, arrays, numbers, dicts), so checkpoints stay loadable with
``torch.load(weights_only=True)``.

A member is an attribute path (``"optimizer"``, ``"agent.rng"``); its checkpoint key is the path with dots
replaced by underscores (``"agent_rng"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch


@dataclass(frozen=True)
class Checkpointed:
    """The members a learner's checkpoint holds, grouped by how they are saved and restored.

    ``modules``: objects with ``state_dict()``/``load_state_dict(state)`` (networks, optimisers,
    normalisers). ``optional_modules``: the same, for members that are ``None`` in some configurations
    (saved as ``None``; restored only when both the saved entry and the member exist). ``values``: numbers,
    booleans, numpy arrays and tensors, restored to the current member's type (tensors the optimiser
    holds, such as SAC's ``log_alpha``, are copied in place; other tensors are moved to the learner's
    device). ``generators``: numpy ``Generator``s and ``torch.Generator``s (their bit-generator states).
    Subclasses extend their base's declaration with ``+``.
    """

    modules: tuple[str, ...] = ()
    optional_modules: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    generators: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        keys = [checkpoint_key(path) for path in self.members()]
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        if repeated:
            raise ValueError(f"Checkpointed declares these checkpoint keys more than once: {repeated}")

    def __add__(self, other: Checkpointed) -> Checkpointed:
        return Checkpointed(
            modules=self.modules + other.modules,
            optional_modules=self.optional_modules + other.optional_modules,
            values=self.values + other.values,
            generators=self.generators + other.generators,
        )

    def members(self) -> tuple[str, ...]:
        """Every declared attribute path."""
        return self.modules + self.optional_modules + self.values + self.generators

    def capture(self, owner: object) -> dict[str, Any]:
        """The declared members of ``owner`` as plain data, keyed by :func:`checkpoint_key`."""
        state: dict[str, Any] = {}
        for path in self.modules:
            state[checkpoint_key(path)] = _member(owner, path).state_dict()
        for path in self.optional_modules:
            module = _member(owner, path)
            state[checkpoint_key(path)] = None if module is None else module.state_dict()
        for path in self.values:
            state[checkpoint_key(path)] = _captured_value(_member(owner, path))
        for path in self.generators:
            state[checkpoint_key(path)] = _generator_state(_member(owner, path), path)
        return state

    def restore(self, owner: object, state: Mapping[str, Any], device: torch.device | str) -> None:
        """Load what :meth:`capture` returned back into ``owner`` (tensors onto ``device``)."""
        for path in self.modules:
            _member(owner, path).load_state_dict(_saved(state, path))
        for path in self.optional_modules:
            module, saved = _member(owner, path), state.get(checkpoint_key(path))
            if module is not None and saved is not None:
                module.load_state_dict(saved)
        for path in self.values:
            parent, name = _parent(owner, path)
            current = getattr(parent, name)
            restored = _restored_value(current, _saved(state, path), path, device)
            if restored is not current:
                setattr(parent, name, restored)
        for path in self.generators:
            _set_generator_state(_member(owner, path), _saved(state, path), path)


def checkpoint_key(path: str) -> str:
    """The checkpoint key of a member path: ``"agent.rng"`` -> ``"agent_rng"``."""
    return path.replace(".", "_")


def _parent(owner: object, path: str) -> tuple[Any, str]:
    *parents, name = path.split(".")
    for part in parents:
        owner = getattr(owner, part)
    return owner, name


def _member(owner: object, path: str) -> Any:
    parent, name = _parent(owner, path)
    return getattr(parent, name)


def _saved(state: Mapping[str, Any], path: str) -> Any:
    key = checkpoint_key(path)
    if key not in state:
        raise ValueError(f"the checkpoint has no entry {key!r} (member {path!r}); it holds {sorted(state)}")
    return state[key]


def _captured_value(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, np.ndarray):
        return value.copy()
    return value


def _restored_value(current: Any, saved: Any, path: str, device: torch.device | str) -> Any:
    """``saved`` as the type of ``current`` (``current`` itself when it was updated in place)."""
    if isinstance(current, bool):
        return bool(saved)
    if isinstance(current, int):
        return int(saved)
    if isinstance(current, float):
        return float(saved)
    if isinstance(current, np.ndarray):
        return np.array(saved, dtype=current.dtype)
    if isinstance(current, torch.Tensor):
        if current.requires_grad:  # a leaf an optimiser holds: keep the object, copy the values
            with torch.no_grad():
                current.copy_(saved)
            return current
        return saved.to(device)
    raise TypeError(
        f"checkpoint member {path!r} is a {type(current).__name__}; declared values must be bool, int, "
        "float, numpy arrays or tensors (declare objects with state_dict() as modules)"
    )


def _generator_state(rng: Any, path: str) -> Any:
    if isinstance(rng, np.random.Generator):
        return rng.bit_generator.state
    if isinstance(rng, torch.Generator):
        return rng.get_state()
    raise TypeError(
        f"checkpoint generator {path!r} is a {type(rng).__name__}, not a numpy or torch Generator"
    )


def _set_generator_state(rng: Any, saved: Any, path: str) -> None:
    if isinstance(rng, np.random.Generator):
        rng.bit_generator.state = saved
    elif isinstance(rng, torch.Generator):
        rng.set_state(saved)
    else:
        raise TypeError(
            f"checkpoint generator {path!r} is a {type(rng).__name__}, not a numpy or torch Generator"
        )
