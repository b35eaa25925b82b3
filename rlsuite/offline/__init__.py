"""Offline RL data: D4RL-style datasets (collect, read, validate), D4RL normalised scores, and team
datasets of SMAC episodes (``rlsuite.offline.team_data``, recorded by ``rlsuite.offline.team_collect``)."""

from rlsuite.offline.dataset import (
    FIELDS,
    DatasetError,
    OfflineDataset,
    concatenate,
    load_dataset,
    save_dataset,
)
from rlsuite.offline.scores import REFERENCE_RETURNS, normalized_score
from rlsuite.offline.team_data import (
    ExpertInfo,
    TeamDataset,
    TeamDatasetMeta,
    TeamEpisode,
    TeamStepBatch,
    load_team_dataset,
    load_team_datasets,
    merge_team_datasets,
    save_team_dataset,
)

__all__ = [
    "FIELDS",
    "REFERENCE_RETURNS",
    "DatasetError",
    "ExpertInfo",
    "OfflineDataset",
    "TeamDataset",
    "TeamDatasetMeta",
    "TeamEpisode",
    "TeamStepBatch",
    "concatenate",
    "load_dataset",
    "load_team_dataset",
    "load_team_datasets",
    "merge_team_datasets",
    "normalized_score",
    "save_dataset",
    "save_team_dataset",
]
