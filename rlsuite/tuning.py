"""Hyperparameter tuning: ``rlsuite tune TUNE.yaml --trials N`` (Optuna; Ray Tune with ``--backend ray``).

A tune file names the experiment, the search space in the dotted keys overrides use, and what to
optimise::

    experiment: experiments/ppo/cartpole.yaml     # a path (relative to this file) or an inline mapping
    overrides: {total_steps: 50000, eval.every_steps: 10000, eval.episodes: 5}
    metric: eval/return_mean                      # or eval/win_rate, eval/success_rate
    direction: maximize
    search:
      algo.lr: {type: float, low: 1.0e-5, high: 1.0e-2, log: true}
      algo.num_steps: {type: categorical, choices: [32, 64, 128]}
      algo.update_epochs: {type: int, low: 1, high: 20}
    sampler: {seed: 0, n_startup_trials: 5}       # TPE (as RL Zoo)
    pruner: {type: median, n_startup_trials: 5, n_warmup_steps: 0}   # or {type: none}

Each trial is an ordinary run folder under ``<study>/trials/trial-<n>/``. The intermediate evaluations
(``eval.every_steps``) are reported to the pruner, which stops trials below the median of earlier ones
at the same step (Optuna's ``MedianPruner``). The objective is the final evaluation. The study lives in
``<study>/study.db`` (SQLite): running the command again continues it up to ``--trials`` finished
trials, and a trial that was running when the process was killed is marked failed and tried again with
the same parameters. ``<study>/best.yaml`` is the best trial's full experiment file, ready for
``rlsuite train``; ``<study>/trials.csv`` lists every trial.
"""

from __future__ import annotations

import csv
import io
import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlsuite.config import ConfigError, load_yaml, merge, parse_overrides, save_yaml
from rlsuite.training.experiment import build_experiment

SPACE_TYPES = ("float", "int", "categorical")
SUMMARY_KEYS = {
    "eval/return_mean": "eval_return_mean",
    "eval/win_rate": "win_rate",
    "eval/success_rate": "success_rate",
}
TUNE_KEYS = ("experiment", "overrides", "metric", "direction", "search", "sampler", "pruner", "study_name")


@dataclass(frozen=True)
class Dimension:
    """One searched key: ``float``/``int`` in ``[low, high]`` (``log`` scale, ``step``) or ``categorical``."""

    key: str
    type: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()


@dataclass
class TuneSpec:
    """A parsed tune file."""

    experiment: dict[str, Any]
    search: list[Dimension]
    metric: str = "eval/return_mean"
    direction: str = "maximize"
    sampler: dict[str, Any] = field(default_factory=dict)
    pruner: dict[str, Any] = field(default_factory=dict)
    study_name: str = "study"
    source_dir: Path = Path(".")

    @property
    def summary_key(self) -> str:
        return SUMMARY_KEYS[self.metric]

    def trial_config(self, params: dict[str, Any], run_dir: Path | None = None) -> dict[str, Any]:
        """The experiment mapping of one trial: the base, the trial's values, its own run folder."""
        data = merge(self.experiment, _nest(params))
        if run_dir is not None:
            data = merge(data, {"run_dir": str(run_dir), "resume": None})
        return data


def _nest(params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        nested: Any = value
        for part in reversed(key.split(".")):
            nested = {part: nested}
        out = merge(out, nested)
    return out


def _dimension(key: str, raw: Any) -> Dimension:
    where = f"search.{key}"
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{where}: expected a mapping such as {{type: float, low: 1e-5, high: 1e-2}}, got {raw!r}"
        )
    kind = raw.get("type")
    if kind not in SPACE_TYPES:
        raise ConfigError(f"{where}.type: expected one of {', '.join(SPACE_TYPES)}, got {kind!r}")
    unknown = set(raw) - {"type", "low", "high", "log", "step", "choices"}
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))}; accepted: low, high, log, step, choices"
        )
    if kind == "categorical":
        choices = raw.get("choices")
        if not isinstance(choices, list) or not choices:
            raise ConfigError(f"{where}.choices: expected a non-empty list, got {choices!r}")
        return Dimension(key, kind, choices=tuple(choices))
    low, high = raw.get("low"), raw.get("high")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high)) or low >= high:
        raise ConfigError(f"{where}: expected numbers low < high, got low={low!r}, high={high!r}")
    log = bool(raw.get("log", False))
    if log and low <= 0:
        raise ConfigError(f"{where}: a log-scale range needs low > 0, got {low}")
    return Dimension(key, kind, float(low), float(high), log, raw.get("step"))


def load_tune_spec(path: str | os.PathLike) -> TuneSpec:
    """Read and check a tune file: the experiment (built once, so bad keys fail now), the search space."""
    path = Path(path)
    data = load_yaml(path)
    unknown = set(data) - set(TUNE_KEYS)
    if unknown:
        raise ConfigError(
            f"{path}: unknown key(s) {', '.join(sorted(unknown))}; accepted: {', '.join(TUNE_KEYS)}"
        )
    base = data.get("experiment")
    if isinstance(base, str):
        base_path = (path.parent / base) if not Path(base).is_absolute() else Path(base)
        if not base_path.is_file() and Path(base).is_file():
            base_path = Path(base)  # relative to the working directory
        experiment = load_yaml(base_path)
    elif isinstance(base, dict):
        experiment = dict(base)
    else:
        raise ConfigError(f"{path}: experiment: expected an experiment file path or mapping, got {base!r}")
    overrides = data.get("overrides") or {}
    if not isinstance(overrides, dict):
        raise ConfigError(f"{path}: overrides: expected a mapping of dotted keys, got {overrides!r}")
    experiment = merge(experiment, parse_overrides([f"{k}={_yaml_value(v)}" for k, v in overrides.items()]))
    search = data.get("search") or {}
    if not isinstance(search, dict) or not search:
        raise ConfigError(f"{path}: search: expected a mapping of dotted keys to ranges, e.g. algo.lr: ...")
    spec = TuneSpec(
        experiment=experiment,
        search=[_dimension(str(k), v) for k, v in search.items()],
        metric=str(data.get("metric", "eval/return_mean")),
        direction=str(data.get("direction", "maximize")),
        sampler=dict(data.get("sampler") or {}),
        pruner=dict(data.get("pruner") or {}),
        study_name=str(data.get("study_name") or path.stem),
        source_dir=path.parent,
    )
    if spec.metric not in SUMMARY_KEYS:
        raise ConfigError(f"metric: expected one of {', '.join(SUMMARY_KEYS)}, got {spec.metric!r}")
    if spec.direction not in ("maximize", "minimize"):
        raise ConfigError(f"direction: expected maximize or minimize, got {spec.direction!r}")
    probe = {d.key: d.choices[0] if d.type == "categorical" else _mid(d) for d in spec.search}
    build_experiment(spec.trial_config(probe))  # unknown keys / bad types fail before any trial
    return spec


def _mid(dim: Dimension) -> float | int:
    value = math.sqrt(dim.low * dim.high) if dim.log else (dim.low + dim.high) / 2
    return round(value) if dim.type == "int" else value


def _yaml_value(value: Any) -> str:
    import yaml

    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


# --- running one trial ------------------------------------------------------------------------------
class TrialPruned(Exception):
    """Raised by a reporter to stop a trial the pruner gave up on."""


def run_trial(spec: TuneSpec, params: dict[str, Any], run_dir: Path, report) -> float:
    """Train one trial into ``run_dir``; ``report(step, value)`` after each intermediate evaluation
    returns True to prune. Returns the final evaluation's metric."""
    import json

    from rlsuite.callbacks import BaseCallback
    from rlsuite.training.experiment import train

    metric = spec.metric

    class Reporter(BaseCallback):
        def _on_step(self) -> bool:
            if metric in self.locals and report(self.num_timesteps, float(self.locals[metric])):
                raise TrialPruned(f"pruned at step {self.num_timesteps}")
            return True

    if run_dir.exists():
        shutil.rmtree(run_dir)  # a trial retried after a kill starts from scratch
    config = build_experiment(spec.trial_config(params, run_dir))
    train(config, quiet=True, search_dirs=[spec.source_dir], callback=Reporter())
    summary = json.loads((run_dir / "summary.json").read_text())
    if spec.summary_key not in summary:
        raise ConfigError(f"metric {metric}: the runs' summary.json has no {spec.summary_key!r}")
    return float(summary[spec.summary_key])


# --- results ----------------------------------------------------------------------------------------
def write_best(spec: TuneSpec, params: dict[str, Any], value: float, out_dir: Path) -> Path:
    """``best.yaml``: the experiment with the best trial's values, its own experiment name, no run folder."""
    data = spec.trial_config(params)
    data.pop("run_dir", None)
    data.pop("resume", None)
    data["experiment"] = f"{data.get('experiment', 'default')}-tuned"
    path = out_dir / "best.yaml"
    header = f"# best of study {spec.study_name}: {spec.metric} = {value:.6g}; rlsuite train {path}\n"
    save_yaml(data, path)
    path.write_text(header + path.read_text())
    return path


def write_trials_csv(rows: list[dict[str, Any]], out_dir: Path) -> Path:
    from rlsuite.core.atomic import atomic_write_text

    columns = sorted(
        {k for row in rows for k in row}, key=lambda k: (k not in ("number", "state", "value"), k)
    )
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns)
    writer.writeheader()
    writer.writerows(rows)
    path = out_dir / "trials.csv"
    atomic_write_text(path, buffer.getvalue())
    return path
