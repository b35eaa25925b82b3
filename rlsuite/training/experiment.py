"""Run one experiment from its config: pick or resume a run folder, build the algorithm, train.

:func:`build_experiment` and :func:`load_experiment` are ``rlsuite.config``'s, handed the suite's
algorithm registry (``rlsuite.algos.ALGORITHM_CONFIGS``).
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from rlsuite import config as config_building
from rlsuite.algos import ALGORITHM_CONFIGS, get_algorithm
from rlsuite.algos.base import Algorithm
from rlsuite.config import ConfigError, ExperimentConfig, OfflineConfig, experiment_to_dict, load_yaml
from rlsuite.core.checkpoint import CHECKPOINT_DIR, LATEST, latest_checkpoint
from rlsuite.training.run import CONFIG_FILE, SUMMARY_FILE, Run, run_name, run_prefix

# Keys that may differ between a run and its resumption without changing what is learned.
RESUME_FREE_KEYS = (
    "total_steps",
    "resume",
    "run_dir",
    "runs_root",
    "device",
    "torch_threads",
    "log",
    "checkpoint",
)


def build_experiment(data: Mapping[str, Any], overrides: Sequence[str] = ()) -> ExperimentConfig:
    """An :class:`ExperimentConfig` from YAML data and ``key=value`` overrides (the suite's algorithms)."""
    return config_building.build_experiment(data, overrides, algo_registry=ALGORITHM_CONFIGS)


def load_experiment(path: str | os.PathLike, overrides: Sequence[str] = ()) -> ExperimentConfig:
    """:func:`build_experiment` of a YAML file."""
    return config_building.load_experiment(path, overrides, algo_registry=ALGORITHM_CONFIGS)


def train(config: ExperimentConfig, *, quiet: bool = False) -> Path:
    """Train ``config`` into its run folder (new or resumed); return the folder."""
    import_user_modules(config.imports)
    if config.torch_threads:
        torch.set_num_threads(config.torch_threads)
    run_dir, checkpoint = resolve_run_dir(config)
    algo = build_algorithm(config)
    if checkpoint is not None:
        _warn_on_changed_config(run_dir, config)
        algo.load(checkpoint)
        if not quiet:
            print(f"resuming {run_dir} from step {algo.global_step}")
        if algo.global_step >= config.total_steps and (run_dir / SUMMARY_FILE).exists():
            algo.close()
            return run_dir
    run = Run.open(run_dir, config, resume_step=algo.global_step if checkpoint else None, quiet=quiet)
    try:
        algo.learn(config.total_steps, run=run)
    finally:
        run.close()
        algo.close()
    return run_dir


def import_user_modules(modules: list[str]) -> None:
    """Import the config's ``imports`` (with the working directory importable, as ``python -m`` has it)."""
    if modules and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ConfigError(f"imports: cannot import {module!r} ({exc})") from exc


def build_algorithm(config: ExperimentConfig) -> Algorithm:
    algo_cls = get_algorithm(config.algo.name)
    problems = algo_cls.offline_problems(config.offline)
    if problems:
        raise ConfigError("; ".join(problems))
    # only when set: algorithms that never read it need not accept the keyword
    offline = {"offline": config.offline} if config.offline != OfflineConfig() else {}
    algo = algo_cls(
        config.env, config.algo, seed=config.seed, device=config.device, eval_config=config.eval, **offline
    )
    algo.save_replay_buffer = config.checkpoint.save_replay_buffer
    return algo


def resolve_run_dir(config: ExperimentConfig) -> tuple[Path, Path | None]:
    """The run folder and the checkpoint to resume from (None for a fresh run)."""
    if config.resume is None:
        run_dir = (
            Path(config.run_dir)
            if config.run_dir
            else Path(config.runs_root) / config.experiment / run_name(config)
        )
        if latest_checkpoint(run_dir) is not None:
            raise FileExistsError(
                f"run folder {run_dir} already holds a checkpoint; pass resume=auto to continue it "
                "or choose another run_dir"
            )
        return run_dir, None
    if config.resume == "auto":
        return _auto_resume(config)
    return _explicit_resume(Path(config.resume))


def _auto_resume(config: ExperimentConfig) -> tuple[Path, Path | None]:
    """The newest matching run folder with a checkpoint; a fresh folder when there is none."""
    if config.run_dir:
        run_dir = Path(config.run_dir)
        return run_dir, latest_checkpoint(run_dir)
    group = Path(config.runs_root) / config.experiment
    prefix = run_prefix(config)
    candidates = (
        [d for d in group.glob(f"{prefix}*") if latest_checkpoint(d) is not None] if group.exists() else []
    )
    if not candidates:
        return group / run_name(config), None
    newest = max(candidates, key=lambda d: latest_checkpoint(d).stat().st_mtime)
    return newest, latest_checkpoint(newest)


def _explicit_resume(path: Path) -> tuple[Path, Path]:
    if path.is_file():
        run_dir = path.parent.parent if path.parent.name == CHECKPOINT_DIR else path.parent
        return run_dir, path
    checkpoint = latest_checkpoint(path)
    if checkpoint is None:
        raise FileNotFoundError(
            f"resume={path}: no {CHECKPOINT_DIR}/{LATEST} there (expected a run folder or a .pt file)"
        )
    return path, checkpoint


def _warn_on_changed_config(run_dir: Path, config: ExperimentConfig) -> None:
    stored_path = run_dir / CONFIG_FILE
    if not stored_path.exists():
        return
    stored, current = _flatten(load_yaml(stored_path)), _flatten(experiment_to_dict(config))
    changed = sorted(
        key
        for key in current.keys() | stored.keys()
        if key.split(".")[0] not in RESUME_FREE_KEYS and current.get(key) != stored.get(key)
    )
    if changed:
        warnings.warn(
            f"resuming {run_dir} with a changed config ({', '.join(changed)}); the continuation will not "
            "match an uninterrupted run",
            stacklevel=3,
        )


def _flatten(data: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out
