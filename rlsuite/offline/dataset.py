"""Offline RL datasets in D4RL's layout: one HDF5 file of flat transition arrays plus metadata.

File format (``rlsuite`` format version 1; documented in docs/offline.md):

    /observations        float32 [N, obs_dim]
    /actions             float32 [N, act_dim]   (env units, as the env received them)
    /rewards             float32 [N]
    /next_observations   float32 [N, obs_dim]   (the true successor; the terminal observation at an end)
    /terminals           bool    [N]            (the MDP ended: no bootstrapping)
    /timeouts            bool    [N]            (the episode was cut: bootstrapped, but the next row
                                                 starts a new episode)
    root attributes      rlsuite_format=1, env_id, level, policy, policy_return_mean/std, episodes
                         (stored episodes, cut ones included), finished_episodes (those the policy
                         finished while collecting: what policy_return_mean/std are over), seed,
                         rlsuite_version, created, note

These are D4RL's field names, so :func:`load_dataset` reads a real D4RL MuJoCo HDF5 file (``-v2``
files hold all six) the same way; its metadata is then ``{"source": "d4rl", ...}`` and the env id comes
from the experiment config. Transitions of one episode are contiguous and in order.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rlsuite.core.atomic import atomic_path

FORMAT_VERSION = 1
FIELDS = ("observations", "actions", "rewards", "next_observations", "terminals", "timeouts")
FLAG_FIELDS = ("terminals", "timeouts")
METADATA_KEYS = (
    "env_id",
    "level",
    "policy",
    "policy_return_mean",
    "policy_return_std",
    "episodes",
    "finished_episodes",
    "seed",
    "rlsuite_version",
    "created",
    "note",
)


class DatasetError(ValueError):
    """A dataset file that cannot be used; the message names the file and the field at fault."""


@dataclass
class OfflineDataset:
    """Flat transition arrays (D4RL field names) and the metadata that says where they came from."""

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_observations: np.ndarray
    terminals: np.ndarray
    timeouts: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        arrays = {name: getattr(self, name) for name in FIELDS}
        for name, value in validate_fields(arrays, where="dataset").items():
            setattr(self, name, value)

    def __len__(self) -> int:
        return len(self.rewards)

    @property
    def obs_dim(self) -> int:
        return int(self.observations.shape[1])

    @property
    def act_dim(self) -> int:
        return int(self.actions.shape[1])

    def episode_returns(self) -> np.ndarray:
        """Undiscounted return of every episode (split at terminals or timeouts; a trailing partial
        episode without either counts as one)."""
        ends = np.flatnonzero(self.terminals | self.timeouts)
        if len(ends) == 0 or ends[-1] != len(self) - 1:
            ends = np.append(ends, len(self) - 1)
        sums = np.add.reduceat(self.rewards.astype(np.float64), np.concatenate([[0], ends[:-1] + 1]))
        return sums

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in FIELDS}


def validate_fields(arrays: dict[str, Any], *, where: str) -> dict[str, np.ndarray]:
    """Check presence, shapes, lengths and values of the six fields; return them with canonical dtypes.

    Raises :class:`DatasetError` naming the field: missing, wrong rank, length mismatch, non-finite.
    """
    missing = [name for name in FIELDS if name not in arrays]
    if missing:
        raise DatasetError(
            f"{where}: missing field {missing[0]!r}"
            + (f" (also missing: {', '.join(missing[1:])})" if missing[1:] else "")
            + f"; required fields: {', '.join(FIELDS)}"
        )
    out: dict[str, np.ndarray] = {}
    for name in FIELDS:
        value = np.asarray(arrays[name])
        if name in FLAG_FIELDS or name == "rewards":
            if value.ndim == 2 and value.shape[1] == 1:
                value = value[:, 0]
            if value.ndim != 1:
                raise DatasetError(f"{where}: field {name!r} must be 1-D [N], got shape {value.shape}")
        elif value.ndim < 2:
            raise DatasetError(f"{where}: field {name!r} must be [N, dim], got shape {value.shape}")
        else:
            value = value.reshape(len(value), -1)
        if name in FLAG_FIELDS:
            if not (value.dtype == bool or np.isin(value, (0, 1)).all()):
                raise DatasetError(f"{where}: field {name!r} must hold booleans (0/1), got other values")
            value = value.astype(bool)
        else:
            if not np.issubdtype(value.dtype, np.number):
                raise DatasetError(f"{where}: field {name!r} must be numeric, got dtype {value.dtype}")
            value = value.astype(np.float32)
            if not np.isfinite(value).all():
                raise DatasetError(f"{where}: field {name!r} holds NaN or infinite values")
        out[name] = value
    n = len(out["rewards"])
    for name in FIELDS:
        if len(out[name]) != n:
            raise DatasetError(
                f"{where}: field {name!r} has {len(out[name])} rows but 'rewards' has {n} "
                "(every field needs one row per transition)"
            )
    if n == 0:
        raise DatasetError(f"{where}: the dataset holds no transitions")
    if out["next_observations"].shape[1] != out["observations"].shape[1]:
        raise DatasetError(
            f"{where}: field 'next_observations' has width {out['next_observations'].shape[1]}, "
            f"'observations' {out['observations'].shape[1]}"
        )
    return out


def _h5py():
    try:
        import h5py
    except ImportError as exc:
        raise ImportError("dataset files are HDF5: install h5py (pip install 'rlsuite[offline]')") from exc
    return h5py


def save_dataset(dataset: OfflineDataset, path: str | os.PathLike) -> Path:
    """Write ``dataset`` to ``path`` (HDF5, atomically: a crash leaves no half-written file)."""
    h5py = _h5py()

    path = Path(path)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as handle:
        for name, value in dataset.arrays().items():
            handle.create_dataset(name, data=value, compression="gzip", compression_opts=4)
        handle.attrs["rlsuite_format"] = FORMAT_VERSION
        for key, value in dataset.metadata.items():
            handle.attrs[key] = _attr(value)
    return path


def load_dataset(path: str | os.PathLike) -> OfflineDataset:
    """Read an rlsuite dataset or a D4RL HDF5 file (same six fields); errors name the missing field."""
    h5py = _h5py()

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"dataset {path} does not exist (make one with `rlsuite data collect`)")
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise DatasetError(f"dataset {path}: not a readable HDF5 file ({exc})") from exc
    with handle:
        arrays = {name: handle[name][()] for name in FIELDS if name in handle}
        attrs = {key: _from_attr(value) for key, value in handle.attrs.items()}
    arrays = validate_fields(arrays, where=f"dataset {path}")
    if "rlsuite_format" in attrs:
        version = int(attrs.pop("rlsuite_format"))
        if version > FORMAT_VERSION:
            raise DatasetError(
                f"dataset {path}: format version {version} is newer than this rlsuite reads "
                f"({FORMAT_VERSION})"
            )
        metadata = {"rlsuite_format": version, **attrs}
    else:
        metadata = {"source": "d4rl", "path": str(path), **attrs}
    return OfflineDataset(**arrays, metadata=metadata)


def concatenate(datasets: list[OfflineDataset], **metadata: Any) -> OfflineDataset:
    """One dataset holding every transition of ``datasets`` in order (e.g. medium-expert)."""
    if not datasets:
        raise ValueError("concatenate needs at least one dataset")
    widths = {(d.obs_dim, d.act_dim) for d in datasets}
    if len(widths) > 1:
        raise DatasetError(f"cannot concatenate datasets of different (obs_dim, act_dim): {sorted(widths)}")
    arrays = {name: np.concatenate([getattr(d, name) for d in datasets]) for name in FIELDS}
    return OfflineDataset(**arrays, metadata=metadata)


def describe(dataset: OfflineDataset) -> dict[str, Any]:
    """Sizes, metadata and return statistics (what ``rlsuite data info`` prints)."""
    returns = dataset.episode_returns()
    return {
        "transitions": len(dataset),
        "fields": {name: [str(v.dtype), list(v.shape)] for name, v in dataset.arrays().items()},
        "episodes": len(returns),
        "terminals": int(dataset.terminals.sum()),
        "timeouts": int(dataset.timeouts.sum()),
        "return_mean": float(returns.mean()),
        "return_std": float(returns.std()),
        "return_min": float(returns.min()),
        "return_max": float(returns.max()),
        "metadata": dataset.metadata,
    }


def unit_box_actions(actions: np.ndarray, box) -> np.ndarray:
    """Env-unit actions -> the learners' ``[-1, 1]`` box (clipped against rounding)."""
    low, high = box.low.reshape(1, -1), box.high.reshape(1, -1)
    return np.clip(2.0 * (actions - low) / (high - low) - 1.0, -1.0, 1.0).astype(np.float32)


def env_unit_actions(actions: np.ndarray, box) -> np.ndarray:
    """The learners' ``[-1, 1]`` actions -> env units (replay buffers store the former)."""
    low, high = box.low.reshape(1, -1), box.high.reshape(1, -1)
    return np.clip(low + (actions + 1.0) * (high - low) / 2.0, low, high).astype(np.float32)


def default_metadata(**values: Any) -> dict[str, Any]:
    import rlsuite

    return {
        "rlsuite_version": rlsuite.__version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **values,
    }


def _attr(value: Any) -> Any:
    """HDF5 attributes hold scalars and strings; anything else (None, dicts, lists) is stored as JSON."""
    if isinstance(value, bool | int | float | str | np.integer | np.floating):
        return value
    return "json:" + json.dumps(value)


def _from_attr(value: Any) -> Any:
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str) and value.startswith("json:"):
        return json.loads(value[5:])
    if isinstance(value, np.generic):
        return value.item()
    return value
