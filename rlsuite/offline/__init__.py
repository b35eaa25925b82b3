"""Offline RL data: D4RL-style datasets (collect, read, validate) and D4RL normalised scores."""

from rlsuite.offline.dataset import (
    FIELDS,
    DatasetError,
    OfflineDataset,
    concatenate,
    load_dataset,
    save_dataset,
)
from rlsuite.offline.scores import REFERENCE_RETURNS, normalized_score

__all__ = [
    "FIELDS",
    "REFERENCE_RETURNS",
    "DatasetError",
    "OfflineDataset",
    "concatenate",
    "load_dataset",
    "normalized_score",
    "save_dataset",
]
