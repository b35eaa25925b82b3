"""Expert steps of several maps as the offline team learners (MaskMA, MADT-style) sample them.

A training set is a list of team datasets (``rlsuite.offline.team_data``: one map per file, files of the same
map merged). Each map keeps its own sizes (units ``E``, agents ``n``, actions ``A``), so a batch holds steps
of one map; :class:`MapSampler` draws the map of every batch (``"uniform"`` over maps or ``"proportional"``
to their step counts) and then the steps, from one seeded NumPy generator whose state checkpoints keep.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from rlsuite.agents.maskma import UnitBatch
from rlsuite.config import ConfigError
from rlsuite.offline.team_data import TeamDataset, load_team_datasets

MAP_SAMPLING = ("uniform", "proportional")


@dataclass
class UnitSteps:
    """A batch of ``B`` steps of one map in the form MaskMA trains on."""

    units: UnitBatch
    visible: torch.Tensor  # [B, n, E] bool
    action_mask: torch.Tensor  # [B, n, K + E] bool (entity layout)
    actions: torch.Tensor  # [B, n] int64 entity-layout expert actions
    n_agents: int


@dataclass
class ObsSteps:
    """A batch of ``B`` steps of one map in the form a MADT-style learner trains on."""

    obs: torch.Tensor  # [B, L, n, O] the last L observations (oldest first), zero before the episode start
    valid: torch.Tensor  # [B, L] bool: which of the L are inside the episode
    action_mask: torch.Tensor  # [B, n, A] bool (env layout)
    actions: torch.Tensor  # [B, n] int64 env-layout expert actions
    alive: torch.Tensor  # [B, n] bool: the agents alive at the step


class MapData:
    """One map's steps (a :class:`TeamDataset`), with its unit types in a model's vocabulary."""

    def __init__(self, dataset: TeamDataset, unit_types: Sequence[str] | None) -> None:
        meta = dataset.meta
        unit_types = meta.unit_types if unit_types is None else unit_types
        vocabulary = {name: i for i, name in enumerate(unit_types)}
        unknown = [name for name in meta.unit_types if name not in vocabulary]
        if unknown:
            raise ConfigError(
                f"dataset of {meta.map_name}: unit types {unknown} are not in the model's vocabulary "
                f"({', '.join(unit_types)})"
            )
        self.name, self.meta, self.steps = meta.map_name, meta, dataset.steps
        self.type_map = np.array([vocabulary[name] for name in meta.unit_types], dtype=np.int64)
        self.n_steps = dataset.num_steps
        start = np.zeros(self.n_steps, dtype=np.int64)
        offsets = np.asarray(dataset.episode_offsets, dtype=np.int64)
        for first, end in itertools.pairwise(offsets):
            start[first:end] = first
        self.episode_start = start

    def columns(self, names: Sequence[str]) -> np.ndarray:
        index = {name: i for i, name in enumerate(self.meta.feature_names)}
        missing = [name for name in names if name not in index]
        if missing:
            raise ConfigError(
                f"dataset of {self.name}: entity features {missing} are not recorded; "
                f"available: {', '.join(index)}"
            )
        return np.array([index[name] for name in names], dtype=np.int64)

    def unit_steps(self, rows: np.ndarray, columns: np.ndarray, device: torch.device) -> UnitSteps:
        s = self.steps

        def t(name: str, index: Any = None) -> torch.Tensor:
            x = s[name][rows] if index is None else s[name][rows][..., index]
            return torch.as_tensor(np.ascontiguousarray(x), device=device)

        units = UnitBatch(
            t("entity_state", columns).float(),
            t("entity_pos").float(),
            t("entity_range").float(),
            t("entity_alive").bool(),
            t("entity_enemy").bool(),
            torch.as_tensor(self.type_map[s["entity_type"][rows].astype(np.int64)], device=device),
        )
        return UnitSteps(
            units,
            t("entity_visible").bool(),
            t("entity_action_mask").bool(),
            t("entity_actions").long(),
            self.meta.n_agents,
        )

    def obs_steps(self, rows: np.ndarray, context: int, obs_pad: int, device: torch.device) -> ObsSteps:
        s, n = self.steps, self.meta.n_agents
        back = rows[:, None] - np.arange(context - 1, -1, -1)[None, :]  # [B, L] oldest first
        valid = back >= self.episode_start[rows][:, None]
        obs = s["obs"][np.where(valid, back, rows[:, None])] * valid[..., None, None]
        padded = np.zeros((*obs.shape[:3], obs_pad), dtype=np.float32)
        padded[..., : obs.shape[-1]] = obs
        alive = s["entity_alive"][rows][:, :n]
        return ObsSteps(
            torch.as_tensor(padded, device=device),
            torch.as_tensor(valid, device=device),
            torch.as_tensor(s["action_mask"][rows], device=device).bool(),
            torch.as_tensor(s["actions"][rows].astype(np.int64), device=device),
            torch.as_tensor(alive, device=device),
        )


class MapSampler:
    """Draws the map and the rows of each batch (one seeded generator; its state is plain data)."""

    def __init__(self, maps: Sequence[MapData], sampling: str, seed: int) -> None:
        if not maps:
            raise ConfigError("no training data: give algo.datasets=[PATH, ...] (team datasets, one per map)")
        if sampling not in MAP_SAMPLING:
            raise ConfigError(f"algo.map_sampling must be one of {MAP_SAMPLING}, got {sampling!r}")
        self.maps = list(maps)
        sizes = np.array([m.n_steps for m in self.maps], dtype=np.float64)
        self.weights = (
            sizes / sizes.sum() if sampling == "proportional" else np.full(len(sizes), 1 / len(sizes))
        )
        self.rng = np.random.default_rng(seed)

    def draw(self, batch_size: int) -> tuple[MapData, np.ndarray]:
        data = self.maps[int(self.rng.choice(len(self.maps), p=self.weights))]
        return data, self.rng.integers(0, data.n_steps, size=batch_size)

    def state_dict(self) -> dict[str, Any]:
        return {"bit_generator": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["bit_generator"]


def load_maps(paths: Sequence[str], unit_types: Sequence[str] | None) -> list[MapData]:
    """The training maps of ``paths`` (files of one map merged), in the order their maps first appear; unit
    types are indexed in ``unit_types`` (None: each file's own vocabulary)."""
    if not paths:
        raise ConfigError("algo.datasets is empty: give the team dataset files to train on (one per map)")
    return [MapData(dataset, unit_types) for dataset in load_team_datasets(paths).values()]
