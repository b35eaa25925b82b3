"""Datasets of team-env episodes (SMAC battles) for offline multi-agent learners (MaskMA, MADT-style).

One file holds the episodes of one map, played by one expert. Per step it keeps both views a learner
may read: the per-unit entity rows (MaskMA's unit tokens, Liu et al., arXiv 2310.11846) and SMAC's
per-agent observation vectors and global state (a MADT-style decision transformer, as in ODIS,
arXiv 2305.17198). Every field is listed in :data:`STEP_FIELDS` with its dtype and shape (symbols:
``T`` steps, ``n`` agents, ``E`` units, ``F`` entity features, ``A`` env actions, ``K`` intrinsic
actions, ``O`` obs size, ``S`` state size)::

    entity_state          float32 [T, E, F]   EntitySpec.feature_names columns
    entity_type           int16   [T, E]      index into EntitySpec.unit_types (the global vocabulary)
    entity_pos            float32 [T, E, 2]   map coordinates
    entity_range          float32 [T, E]      weapon (heal) range
    entity_alive          bool    [T, E]
    entity_enemy          bool    [T, E]
    entity_visible        bool    [T, n, E]   agent i sees unit j (alive, within sight range)
    entity_action_mask    bool    [T, n, K+E] entity action layout
    entity_action_target  int16   [T, n, A]   unit env action a targets (-1: none)
    obs                   float32 [T, n, O]
    state                 float32 [T, S]
    action_mask           bool    [T, n, A]   env layout
    actions               int16   [T, n]      env layout (what the env received; the expert's choice
                                              where ``expert.action_noise`` > 0)
    entity_actions        int16   [T, n]      entity layout (k < K intrinsic; K + j acts on unit j)
    rewards               float32 [T]
    terminated            bool    [T]         the battle ended (won, lost, drawn) on this step
    truncated             bool    [T]         cut by the episode limit on this step

Row ``t`` is the observation the policy acted on, the action it took and what the step gave back.
Episodes are concatenated in order; ``episode_offsets`` ``[N + 1]`` (int64) bounds them and ``won``
``[N]`` (bool) says which were won. The metadata (:class:`TeamDatasetMeta`: map, sizes, feature
names, unit vocabulary, the expert and its measured win rate, collection seed) is JSON stored as a
uint8 array ``meta_json``. The file is a compressed ``.npz`` written atomically and read with
``allow_pickle=False``: loading never runs code. Format documented in docs/maskma.md (Data).
"""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from rlsuite.core.atomic import atomic_write
from rlsuite.offline.dataset import DatasetError

FORMAT_VERSION = 1
FORMAT_NAME = "rlsuite-team-dataset"

# name -> (dtype, shape symbols after T)
STEP_FIELDS: dict[str, tuple[type, tuple[str, ...]]] = {
    "entity_state": (np.float32, ("E", "F")),
    "entity_type": (np.int16, ("E",)),
    "entity_pos": (np.float32, ("E", "2")),
    "entity_range": (np.float32, ("E",)),
    "entity_alive": (np.bool_, ("E",)),
    "entity_enemy": (np.bool_, ("E",)),
    "entity_visible": (np.bool_, ("n", "E")),
    "entity_action_mask": (np.bool_, ("n", "KE")),
    "entity_action_target": (np.int16, ("n", "A")),
    "obs": (np.float32, ("n", "O")),
    "state": (np.float32, ("S",)),
    "action_mask": (np.bool_, ("n", "A")),
    "actions": (np.int16, ("n",)),
    "entity_actions": (np.int16, ("n",)),
    "rewards": (np.float32, ()),
    "terminated": (np.bool_, ()),
    "truncated": (np.bool_, ()),
}


@dataclass(frozen=True)
class ExpertInfo:
    """The policy that played the episodes and how well it plays its map."""

    name: str  # e.g. "mappo-3m" or "heuristic"
    algo: str  # "mappo", "qmix", "ace", "heuristic", ...
    checkpoint: str = ""  # the checkpoint it was loaded from ("" for scripted policies)
    win_rate: float | None = None  # measured greedy win rate on its map (before collection)
    eval_episodes: int = 0  # battles that win rate is over
    epsilon: float = 0.0  # chance per agent and step of a uniform random available action
    # chance per agent and step that the env got a uniform random available action while the row records
    # the expert's own choice (noise injection for imitation; ``actions`` are then labels, not executed)
    action_noise: float = 0.0


@dataclass(frozen=True)
class TeamDatasetMeta:
    """Sizes, names and provenance of a team dataset (stored as JSON in the file)."""

    map_name: str
    env_id: str
    n_agents: int
    n_units: int
    n_actions: int
    n_intrinsic_actions: int
    obs_size: int
    state_size: int
    episode_limit: int
    feature_names: tuple[str, ...]
    unit_types: tuple[str, ...]
    expert: ExpertInfo
    seed: int = 0
    episodes: int = 0
    steps: int = 0
    wins: int = 0
    rlsuite_version: str = ""
    created: str = ""
    sources: tuple[str, ...] = ()  # files merged into this one
    note: str = ""

    @property
    def feature_size(self) -> int:
        return len(self.feature_names)

    def symbol_sizes(self) -> dict[str, int]:
        """Sizes of the shape symbols of :data:`STEP_FIELDS`."""
        return {
            "E": self.n_units,
            "F": self.feature_size,
            "2": 2,
            "n": self.n_agents,
            "KE": self.n_intrinsic_actions + self.n_units,
            "A": self.n_actions,
            "O": self.obs_size,
            "S": self.state_size,
        }

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT_NAME, "format_version": FORMAT_VERSION, **asdict(self)})

    @classmethod
    def from_json(cls, text: str, where: str) -> TeamDatasetMeta:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{where}: metadata is not valid JSON ({exc})") from exc
        if raw.pop("format", None) != FORMAT_NAME:
            raise DatasetError(f"{where}: not an rlsuite team dataset (metadata 'format' differs)")
        version = raw.pop("format_version", None)
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise DatasetError(f"{where}: format version {version!r}; this rlsuite reads <= {FORMAT_VERSION}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise DatasetError(f"{where}: unknown metadata keys {unknown}; known: {sorted(known)}")
        try:
            expert = ExpertInfo(**raw.pop("expert"))
            for key in ("feature_names", "unit_types", "sources"):
                if key in raw:
                    raw[key] = tuple(raw[key])
            return cls(expert=expert, **raw)
        except (TypeError, KeyError) as exc:
            raise DatasetError(f"{where}: bad metadata ({exc})") from exc


@dataclass(frozen=True)
class _StepArrays:
    """The :data:`STEP_FIELDS` arrays, one row per step (shared by episodes and batches)."""

    entity_state: np.ndarray
    entity_type: np.ndarray
    entity_pos: np.ndarray
    entity_range: np.ndarray
    entity_alive: np.ndarray
    entity_enemy: np.ndarray
    entity_visible: np.ndarray
    entity_action_mask: np.ndarray
    entity_action_target: np.ndarray
    obs: np.ndarray
    state: np.ndarray
    action_mask: np.ndarray
    actions: np.ndarray
    entity_actions: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray


@dataclass(frozen=True)
class TeamEpisode(_StepArrays):
    """One recorded episode: every :data:`STEP_FIELDS` array with ``T`` rows, and whether it was won."""

    won: bool

    def __len__(self) -> int:
        return len(self.rewards)

    @property
    def episode_return(self) -> float:
        return float(np.sum(self.rewards, dtype=np.float64))

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in STEP_FIELDS}


@dataclass(frozen=True)
class TeamStepBatch(_StepArrays):
    """A batch of ``B`` steps (any episodes): every :data:`STEP_FIELDS` array with ``B`` rows."""

    episode: np.ndarray  # [B] int64: the episode each row belongs to
    timestep: np.ndarray  # [B] int64: the row's step within its episode

    def __len__(self) -> int:
        return len(self.rewards)


@dataclass
class TeamDataset:
    """Episodes of one map, concatenated: step arrays with ``T_total`` rows, offsets, wins, metadata."""

    steps: dict[str, np.ndarray]
    episode_offsets: np.ndarray  # [N + 1] int64
    won: np.ndarray  # [N] bool
    meta: TeamDatasetMeta
    _episode_of_row: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        validate(self.steps, self.episode_offsets, self.won, self.meta, where="team dataset")

    @property
    def num_episodes(self) -> int:
        return len(self.won)

    @property
    def num_steps(self) -> int:
        return int(self.episode_offsets[-1])

    @property
    def episode_lengths(self) -> np.ndarray:
        return np.diff(self.episode_offsets)

    @property
    def win_rate(self) -> float:
        return float(self.won.mean()) if len(self.won) else float("nan")

    def episode_returns(self) -> np.ndarray:
        rewards = self.steps["rewards"].astype(np.float64)
        sums = np.add.reduceat(rewards, self.episode_offsets[:-1]) if self.num_steps else rewards[:0]
        return np.where(self.episode_lengths > 0, sums, 0.0)

    def episode(self, index: int) -> TeamEpisode:
        """Episode ``index`` (views into the dataset's arrays)."""
        if not -self.num_episodes <= index < self.num_episodes:
            raise IndexError(f"episode {index} out of range: the dataset holds {self.num_episodes}")
        index %= self.num_episodes
        lo, hi = self.episode_offsets[index], self.episode_offsets[index + 1]
        return TeamEpisode(**{k: v[lo:hi] for k, v in self.steps.items()}, won=bool(self.won[index]))

    def episodes(self) -> Iterator[TeamEpisode]:
        for i in range(self.num_episodes):
            yield self.episode(i)

    def rows(self, rows: np.ndarray) -> TeamStepBatch:
        """The steps at flat row indices ``rows`` as a batch."""
        rows = np.asarray(rows, dtype=np.int64)
        if self._episode_of_row is None:
            self._episode_of_row = np.repeat(np.arange(self.num_episodes), self.episode_lengths)
        episode = self._episode_of_row[rows]
        return TeamStepBatch(
            **{k: v[rows] for k, v in self.steps.items()},
            episode=episode,
            timestep=rows - self.episode_offsets[episode],
        )

    def iter_batches(
        self, batch_size: int, *, shuffle: bool = True, seed: int | None = 0, drop_last: bool = False
    ) -> Iterator[TeamStepBatch]:
        """One pass over every step in batches of ``batch_size`` (shuffled with ``seed`` by default)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        order = np.arange(self.num_steps)
        if shuffle:
            np.random.default_rng(seed).shuffle(order)
        stop = self.num_steps - (self.num_steps % batch_size if drop_last else 0)
        for start in range(0, stop, batch_size):
            yield self.rows(order[start : start + batch_size])

    def select(self, episodes: Sequence[int] | np.ndarray) -> TeamDataset:
        """A dataset of the chosen episodes (copies), in the given order."""
        chosen = [self.episode(int(i)) for i in episodes]
        return episodes_to_dataset(chosen, self.meta)


def episodes_to_dataset(episodes: Sequence[TeamEpisode], meta: TeamDatasetMeta) -> TeamDataset:
    """Concatenate ``episodes``; the metadata's counts (episodes, steps, wins) are set from them."""
    if not episodes:
        raise DatasetError("a team dataset needs at least one episode")
    lengths = np.array([len(e) for e in episodes], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    steps = {}
    for name, (dtype, _shape) in STEP_FIELDS.items():
        steps[name] = np.concatenate([np.asarray(getattr(e, name)) for e in episodes]).astype(dtype)
    won = np.array([e.won for e in episodes], dtype=bool)
    meta = replace(meta, episodes=len(episodes), steps=int(offsets[-1]), wins=int(won.sum()))
    return TeamDataset(steps, offsets, won, meta)


def validate(
    steps: dict[str, np.ndarray],
    offsets: np.ndarray,
    won: np.ndarray,
    meta: TeamDatasetMeta,
    *,
    where: str,
) -> None:
    """Check every field's presence, dtype and shape against the metadata, and the offsets.

    Raises :class:`DatasetError` naming the field at fault.
    """
    sizes = meta.symbol_sizes()
    if offsets.ndim != 1 or len(offsets) < 2 or offsets[0] != 0 or np.any(np.diff(offsets) < 1):
        raise DatasetError(
            f"{where}: 'episode_offsets' must start at 0 and increase (every episode has >= 1 step), "
            f"got {offsets[:8]}..."
        )
    total = int(offsets[-1])
    if won.shape != (len(offsets) - 1,) or won.dtype != np.bool_:
        raise DatasetError(f"{where}: 'won' must be bool [{len(offsets) - 1}], got {won.dtype} {won.shape}")
    missing = [name for name in STEP_FIELDS if name not in steps]
    if missing:
        raise DatasetError(f"{where}: missing fields {missing}; required: {', '.join(STEP_FIELDS)}")
    for name, (dtype, symbols) in STEP_FIELDS.items():
        value = steps[name]
        expected = (total, *(sizes[s] for s in symbols))
        if value.shape != expected:
            raise DatasetError(f"{where}: field {name!r} has shape {value.shape}, expected {expected}")
        if value.dtype != np.dtype(dtype):
            raise DatasetError(f"{where}: field {name!r} has dtype {value.dtype}, expected {np.dtype(dtype)}")
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            raise DatasetError(f"{where}: field {name!r} holds NaN or infinite values")
    bad_type = (steps["entity_type"] < 0) | (steps["entity_type"] >= len(meta.unit_types))
    if bad_type.any():
        raise DatasetError(
            f"{where}: field 'entity_type' indexes outside unit_types ({len(meta.unit_types)})"
        )


def save_team_dataset(
    path: str | os.PathLike,
    episodes: Sequence[TeamEpisode] | TeamDataset,
    meta: TeamDatasetMeta | None = None,
) -> Path:
    """Write episodes (or a whole dataset) to ``path`` (.npz, compressed, atomic). Returns the path."""
    dataset = episodes if isinstance(episodes, TeamDataset) else episodes_to_dataset(episodes, _need(meta))
    if meta is not None and isinstance(episodes, TeamDataset):
        dataset = TeamDataset(dataset.steps, dataset.episode_offsets, dataset.won, meta)
    meta = dataset.meta
    if not meta.created:
        meta = replace(meta, created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    if not meta.rlsuite_version:
        import rlsuite

        meta = replace(meta, rlsuite_version=rlsuite.__version__)
    arrays = {
        **dataset.steps,
        "episode_offsets": dataset.episode_offsets,
        "won": dataset.won,
        "meta_json": np.frombuffer(meta.to_json().encode("utf-8"), dtype=np.uint8),
    }
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    path = Path(path)
    atomic_write(path, lambda handle: handle.write(buffer.getbuffer()))
    return path


def _need(meta: TeamDatasetMeta | None) -> TeamDatasetMeta:
    if meta is None:
        raise ValueError("save_team_dataset: pass meta (a TeamDatasetMeta) with a list of episodes")
    return meta


def load_team_dataset(path: str | os.PathLike) -> TeamDataset:
    """Read a team dataset file (no pickle); errors name the file and the field at fault."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"team dataset {path} does not exist (make one with `rlsuite data collect`)")
    where = f"team dataset {path}"
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{where}: not a readable .npz file without pickled objects ({exc})") from exc
    for key in ("meta_json", "episode_offsets", "won"):
        if key not in arrays:
            raise DatasetError(f"{where}: missing {key!r} (not an rlsuite team dataset)")
    meta = TeamDatasetMeta.from_json(arrays.pop("meta_json").tobytes().decode("utf-8"), where)
    offsets = arrays.pop("episode_offsets").astype(np.int64)
    won = arrays.pop("won")
    validate(arrays, offsets, won, meta, where=where)
    return TeamDataset(arrays, offsets, won, meta)


def merge_team_datasets(datasets: Sequence[TeamDataset], **changes: Any) -> TeamDataset:
    """One dataset of the episodes of several datasets of the same map (same sizes and features).

    ``changes`` override metadata fields of the result (e.g. ``note``). The expert's win rate is the
    episode-weighted mean of the parts'; ``sources`` lists the parts' sources (or map names).
    """
    if not datasets:
        raise ValueError("merge_team_datasets needs at least one dataset")
    first = datasets[0].meta
    for other in datasets[1:]:
        mismatch = _layout_mismatch(first, other.meta)
        if mismatch:
            raise DatasetError(f"cannot merge team datasets of different layouts: {mismatch}")
    steps = {k: np.concatenate([d.steps[k] for d in datasets]) for k in STEP_FIELDS}
    offsets = [np.zeros(1, dtype=np.int64)]
    base = 0
    for d in datasets:
        offsets.append(d.episode_offsets[1:] + base)
        base += d.num_steps
    won = np.concatenate([d.won for d in datasets])
    rates = [(d.meta.expert.win_rate, d.num_episodes) for d in datasets]
    rate = None
    if all(r is not None for r, _ in rates):
        rate = float(sum(r * n for r, n in rates) / sum(n for _, n in rates))
    names = sorted({d.meta.expert.name for d in datasets})
    expert = replace(first.expert, name=" + ".join(names), win_rate=rate)
    sources = tuple(s for d in datasets for s in (d.meta.sources or (d.meta.map_name,)))
    meta = replace(first, expert=expert, episodes=len(won), steps=base, wins=int(won.sum()), sources=sources)
    return TeamDataset(steps, np.concatenate(offsets), won, replace(meta, **changes))


def _layout_mismatch(a: TeamDatasetMeta, b: TeamDatasetMeta) -> str:
    keys = ("map_name", "n_agents", "n_units", "n_actions", "n_intrinsic_actions", "obs_size", "state_size")
    keys += ("feature_names", "unit_types")
    diffs = [f"{k}: {getattr(a, k)!r} vs {getattr(b, k)!r}" for k in keys if getattr(a, k) != getattr(b, k)]
    return "; ".join(diffs)


def load_team_datasets(paths: Iterable[str | os.PathLike]) -> dict[str, TeamDataset]:
    """Several files (of one or more maps) -> one merged dataset per map name, in first-seen order."""
    by_map: dict[str, list[TeamDataset]] = {}
    for path in paths:
        data = load_team_dataset(path)
        data.meta = replace(data.meta, sources=data.meta.sources or (str(path),))
        by_map.setdefault(data.meta.map_name, []).append(data)
    if not by_map:
        raise ValueError("load_team_datasets: no files given")
    return {
        name: parts[0] if len(parts) == 1 else merge_team_datasets(parts) for name, parts in by_map.items()
    }


def entity_layout_actions(actions: np.ndarray, action_target: np.ndarray, n_intrinsic: int) -> np.ndarray:
    """Env-layout actions ``[..., n]`` -> entity layout, through ``action_target`` ``[..., n, A]``.

    Intrinsic actions keep their index; a targeted action becomes ``n_intrinsic + unit``.
    """
    actions = np.asarray(actions, dtype=np.int64)
    target = np.take_along_axis(np.asarray(action_target, np.int64), actions[..., None], axis=-1)[..., 0]
    out = np.where(actions < n_intrinsic, actions, n_intrinsic + target)
    if np.any((actions >= n_intrinsic) & (target < 0)):
        raise ValueError(
            "an env action targets no unit (action_target -1): it cannot be in the entity layout"
        )
    return out


def describe_team_dataset(dataset: TeamDataset) -> dict[str, Any]:
    """Sizes, win rate, returns and metadata (what ``rlsuite data info`` prints for team datasets)."""
    returns = dataset.episode_returns()
    lengths = dataset.episode_lengths
    return {
        "map": dataset.meta.map_name,
        "episodes": dataset.num_episodes,
        "steps": dataset.num_steps,
        "win_rate": dataset.win_rate,
        "return_mean": float(returns.mean()),
        "return_std": float(returns.std()),
        "length_mean": float(lengths.mean()),
        "length_max": int(lengths.max()),
        "fields": {k: [str(v.dtype), list(v.shape)] for k, v in dataset.steps.items()},
        "metadata": json.loads(dataset.meta.to_json()),
    }
