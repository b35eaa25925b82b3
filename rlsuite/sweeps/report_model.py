"""The data a sweep report shows (:class:`Report`), shared by the builder and the document layout."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any

from rlsuite.sweeps.references import Reference
from rlsuite.sweeps.report_data import RunRecord
from rlsuite.sweeps.report_stats import AggregateStats, Curve, GroupStats, Profile, Settings

STATUSES = ("done", "failed", "incomplete")


@dataclass
class Report:
    """Everything the report shows, computed from a sweep folder."""

    name: str
    sweep_dir: Path
    settings: Settings
    runs: list[RunRecord]
    envs: list[str]
    labels: list[str]
    references: dict[str, Reference]  # the envs of this sweep that have a reference
    groups: list[GroupStats]
    aggregates: list[AggregateStats]
    profile: Profile | None
    curves: list[Curve]
    figures: dict[str, Any] = field(default_factory=dict)  # relative paths, filled by write_report

    @property
    def status(self) -> dict[str, int]:
        return {status: sum(run.status == status for run in self.runs) for status in STATUSES}

    def group(self, env: str, label: str) -> GroupStats | None:
        return next((g for g in self.groups if g.env == env and g.label == label), None)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (non-finite numbers become None)."""
        return _plain(
            {
                "format": 1,
                "name": self.name,
                "sweep_dir": str(self.sweep_dir),
                "settings": asdict(self.settings),
                "status": self.status,
                "envs": self.envs,
                "labels": self.labels,
                "references": {env: asdict(ref) for env, ref in self.references.items()},
                "groups": [asdict(group) for group in self.groups],
                "aggregates": [asdict(agg) for agg in self.aggregates],
                "profile": asdict(self.profile) if self.profile else None,
                "curves": [asdict(curve) for curve in self.curves],
                "runs": [_run_dict(run, self.sweep_dir) for run in self.runs],
                "figures": self.figures,
            }
        )


def _run_dict(run: RunRecord, root: Path) -> dict[str, Any]:
    try:
        directory = run.dir.relative_to(root).as_posix()
    except ValueError:
        directory = str(run.dir)
    numbers = {key: run.number(key) for key in ("eval_return_mean", "sps", "wall_s", "total_steps")}
    return {
        "id": run.id,
        "label": run.label,
        "algo": run.algo,
        "env": run.env,
        "seed": run.seed,
        "dir": directory,
        "status": run.status,
        **numbers,
        "error": run.error,
        "returncode": run.returncode,
    }


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, Path):
        return str(value)
    if is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value))
    if hasattr(value, "item"):  # NumPy scalars
        return _plain(value.item())
    return value
