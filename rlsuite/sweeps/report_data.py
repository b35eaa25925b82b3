"""Reading a sweep folder for the report: its runs, their status and final scores, and learning curves.

A folder with ``sweep.json`` lists its runs; a folder without one is searched for ``summary.json`` files.
A run is "done" when its ``summary.json`` exists, "failed" when only ``error.json`` does, otherwise
"incomplete".
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

SWEEP_FILE = "sweep.json"
SUMMARY_FILE = "summary.json"
ERROR_FILE = "error.json"
METRICS_FILE = "metrics.csv"
EVAL_COLUMN = "eval/return_mean"
ROLLOUT_COLUMN = "rollout/ep_return_mean"


class ReportError(ValueError):
    """The sweep folder cannot be reported on (no runs, a malformed sweep.json...)."""


@dataclass
class RunRecord:
    """One run of the sweep and what it left behind."""

    id: str
    label: str
    algo: str
    env: str
    seed: int | None
    dir: Path
    status: str = "incomplete"  # "done" | "failed" | "incomplete"
    summary: dict[str, Any] | None = None
    error: str | None = None
    returncode: int | None = None

    def number(self, key: str) -> float | None:
        """A finite number from ``summary.json``, or None."""
        value = (self.summary or {}).get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return None
        return float(value)

    @property
    def score(self) -> float | None:
        return self.number("eval_return_mean")


@dataclass
class Sweep:
    name: str
    root: Path
    runs: list[RunRecord]
    references: dict[str, Any] = field(default_factory=dict)  # sweep.json "references", unparsed
    manifest: Path | None = None  # the sweep.json read, if any


def load_sweep(sweep_dir: str | Path) -> Sweep:
    """The runs of ``sweep_dir`` with their status; raises on a missing folder or one without runs."""
    root = Path(sweep_dir)
    if not root.exists():
        raise FileNotFoundError(f"sweep folder {root} does not exist")
    if not root.is_dir():
        raise ReportError(f"{root} is not a folder")
    manifest = root / SWEEP_FILE
    sweep = _from_manifest(root, manifest) if manifest.is_file() else _discover(root)
    for run in sweep.runs:
        _read_status(run)
    return sweep


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ReportError(
            f"{path}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: cannot be read: {exc}") from exc


def _from_manifest(root: Path, path: Path) -> Sweep:
    data = _load_json(path)
    if not isinstance(data, dict):
        raise ReportError(f"{path}: expected a JSON object at the top level, got {type(data).__name__}")
    if data.get("format", 1) != 1:
        raise ReportError(f"{path}: unsupported format {data['format']!r} (this version reads format 1)")
    runs = data.get("runs")
    if not isinstance(runs, list):
        raise ReportError(f"{path}: 'runs' must be a list of runs, got {type(runs).__name__}")
    if not runs:
        raise ReportError(f"{path}: lists no runs")
    references = data.get("references") or {}
    if not isinstance(references, dict):
        raise ReportError(f"{path}: 'references' must be an object mapping env ids to scores")
    records = [_manifest_run(root, path, index, entry) for index, entry in enumerate(runs)]
    name = data.get("name") or root.resolve().name
    return Sweep(str(name), root, records, references, path)


def _manifest_run(root: Path, path: Path, index: int, entry: Any) -> RunRecord:
    where = f"{path}: runs[{index}]"
    if not isinstance(entry, dict):
        raise ReportError(f"{where}: expected an object, got {type(entry).__name__}")
    for key in ("dir", "env"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise ReportError(f"{where}: missing or empty {key!r}")
    label = entry.get("label") or entry.get("algo")
    if not isinstance(label, str) or not label:
        raise ReportError(f"{where}: needs a 'label' or an 'algo'")
    seed = entry.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ReportError(f"{where}: 'seed' must be an integer, got {seed!r}")
    return RunRecord(
        id=str(entry.get("id") or entry["dir"]),
        label=label,
        algo=str(entry.get("algo") or label),
        env=entry["env"],
        seed=seed,
        dir=root / entry["dir"],
    )


def _discover(root: Path) -> Sweep:
    records = []
    for path in sorted(root.rglob(SUMMARY_FILE)):
        summary = _load_json(path)
        if not isinstance(summary, dict) or not summary.get("env") or not summary.get("algo"):
            raise ReportError(f"{path}: expected an object with 'algo' and 'env'")
        seed = summary.get("seed")
        run_dir = path.parent
        records.append(
            RunRecord(
                id=run_dir.relative_to(root).as_posix() or ".",
                label=str(summary["algo"]),
                algo=str(summary["algo"]),
                env=str(summary["env"]),
                seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
                dir=run_dir,
            )
        )
    if not records:
        raise ReportError(
            f"no runs found in {root}: looked for {root / SWEEP_FILE} and for {SUMMARY_FILE} files "
            "in the folders below it"
        )
    return Sweep(root.resolve().name, root, records)


def _read_status(run: RunRecord) -> None:
    summary_path, error_path = run.dir / SUMMARY_FILE, run.dir / ERROR_FILE
    if summary_path.is_file():
        try:
            summary = _load_json(summary_path)
        except ReportError as exc:
            run.status, run.error = "failed", str(exc)
            return
        run.status = "done"
        run.summary = summary if isinstance(summary, dict) else {}
    elif error_path.is_file():
        run.status = "failed"
        try:
            info = _load_json(error_path)
        except ReportError as exc:
            run.error = str(exc)
            return
        info = info if isinstance(info, dict) else {}
        run.error = " ".join(str(info.get("error") or "no error message").split())
        code = info.get("returncode")
        run.returncode = code if isinstance(code, int) and not isinstance(code, bool) else None


def read_curve(run_dir: Path) -> tuple[str, np.ndarray, np.ndarray] | None:
    """``(column, steps, returns)`` of a run's learning curve, or None when it has none.

    Uses ``eval/return_mean`` when at least 2 rows have it, else ``rollout/ep_return_mean`` (at least 2
    rows); empty or non-numeric cells are skipped and a repeated step keeps its last value.
    """
    path = run_dir / METRICS_FILE
    if not path.is_file():
        return None
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for column in (EVAL_COLUMN, ROLLOUT_COLUMN):
        points: dict[float, float] = {}
        for row in rows:
            step, value = _float(row.get("step")), _float(row.get(column))
            if step is not None and value is not None:
                points[step] = value
        if len(points) >= 2:
            steps = np.array(sorted(points))
            return column, steps, np.array([points[s] for s in steps])
    return None


def _float(cell: str | None) -> float | None:
    if cell is None or cell == "":
        return None
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
