"""Run one experiment from its config: pick or resume a run folder, build the algorithm, train.

:func:`build_experiment` and :func:`load_experiment` are ``rlsuite.config``'s, handed the suite's
algorithm registry (``rlsuite.algos.ALGORITHM_CONFIGS``).
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from rlsuite import config as config_building
from rlsuite.algos import ALGORITHM_CONFIGS, get_algorithm
from rlsuite.algos.base import Algorithm
from rlsuite.config import ConfigError, ExperimentConfig, OfflineConfig, experiment_to_dict, load_yaml
from rlsuite.core.checkpoint import CHECKPOINT_DIR, LATEST, latest_checkpoint
from rlsuite.core.kernels import quiet_notices
from rlsuite.core.runlock import RunLock
from rlsuite.core.sizing import gpu_sized_warning
from rlsuite.training.preflight import check_experiment
from rlsuite.training.run import CONFIG_FILE, SUMMARY_FILE, Run, run_name, run_prefix
from rlsuite.training.user_modules import import_user_modules, record_imports, recorded_import_dirs

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


def train(
    config: ExperimentConfig,
    *,
    quiet: bool = False,
    search_dirs: Sequence[str | Path] = (),
    callback: Any = None,
) -> Path:
    """Train ``config`` into its run folder (new or resumed); return the folder.

    ``search_dirs`` are where ``config.imports`` are looked for besides ``sys.path`` and the working
    directory (the CLI passes the experiment file's folder); a resumed run also looks where its first
    session found them. ``quiet`` silences messages, notices and the progress display. ``callback``
    goes to ``learn`` (:mod:`rlsuite.callbacks`; tuning reports evaluations through it).
    """
    with quiet_notices(quiet):
        return _train(config, quiet, search_dirs, callback)


def _train(config: ExperimentConfig, quiet: bool, search_dirs: Sequence[str | Path], callback: Any) -> Path:
    if config.torch_threads:
        torch.set_num_threads(config.torch_threads)
    if config.eval.video_every_steps:
        from rlsuite.wrappers.video import ensure_headless_gl

        ensure_headless_gl()  # before MuJoCo is imported: it fixes its GL backend then
    found = import_user_modules(config.imports, [*search_dirs, *_resumed_import_dirs(config)])
    check_experiment(config)  # before any folder is looked at or made
    run_dir, checkpoint = resolve_run_dir(config)
    lock = RunLock.acquire(run_dir)  # one writer per run folder, from before the checkpoint is read
    try:
        checkpoint = _checkpoint_under_lock(run_dir, checkpoint, config)
        algo = build_algorithm(config)
    except BaseException:
        lock.release()
        raise
    try:
        if checkpoint is not None:
            _warn_on_changed_config(run_dir, config)
            algo.load(checkpoint)
            _warn_on_changed_horizon(run_dir, algo, config.total_steps)
            if not quiet:
                print(f"resuming {run_dir} from step {algo.global_step}")
            if algo.global_step >= config.total_steps and (run_dir / SUMMARY_FILE).exists():
                return run_dir
        if not quiet:
            warning = gpu_sized_warning(algo, config.total_steps)
            if warning:
                print(f"rlsuite train: warning: {warning}", file=sys.stderr)
        resume_step = algo.global_step if checkpoint else None
        run = Run.open(run_dir, config, resume_step=resume_step, quiet=quiet, lock=lock)
        record_imports(run_dir, found)
        try:
            algo.learn(config.total_steps, run=run, callback=callback)
        finally:
            run.close()
    finally:
        lock.release()
        algo.close()
    return run_dir


def _resumed_import_dirs(config: ExperimentConfig) -> list[str]:
    """Where an explicitly resumed run's first session found its ``imports:`` (from any folder)."""
    if config.resume in (None, "auto"):
        return []
    target = Path(config.resume)
    run_dir = target.parent.parent if target.suffix == ".pt" else target  # RUN/checkpoints/step_N.pt
    return recorded_import_dirs(run_dir)


def _checkpoint_under_lock(run_dir: Path, checkpoint: Path | None, config: ExperimentConfig) -> Path | None:
    """Check again, now that no one else can write the folder, what there is to resume from."""
    if config.resume is None and latest_checkpoint(run_dir) is not None:
        raise FileExistsError(
            f"run folder {run_dir} already holds a checkpoint; pass resume=auto to continue it "
            "or choose another run_dir"
        )
    if checkpoint is None and config.resume == "auto":
        return latest_checkpoint(run_dir)  # written by a writer that finished since resolve_run_dir
    return checkpoint


@dataclass(frozen=True)
class DryRun:
    """What :func:`dry_run` found: the run folder a real run would use, and the checkpoint it would resume."""

    run_dir: Path
    resume_from: Path | None


def dry_run(config: ExperimentConfig, search_dirs: Sequence[str | Path] = ()) -> DryRun:
    """Everything :func:`train` does before its first step, writing nothing: import the config's modules,
    check it, find the run folder (and the checkpoint a resume would load), build the env and the algorithm,
    then close them. Raises what ``train`` would raise for the same config."""
    import_user_modules(config.imports, search_dirs)
    check_experiment(config)
    run_dir, checkpoint = resolve_run_dir(config)
    build_algorithm(config).close()
    return DryRun(run_dir=run_dir, resume_from=checkpoint)


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


def _warn_on_changed_horizon(run_dir: Path, algo: Algorithm, total_steps: int) -> None:
    """Warn when ``total_steps`` differs from the checkpoint's and a schedule runs over it."""
    planned = algo.total_steps
    schedules = algo.total_steps_schedules()
    if planned > 0 and total_steps != planned and schedules:
        warnings.warn(
            f"resuming {run_dir} with total_steps={total_steps} (the checkpoint planned {planned}): "
            f"{', '.join(schedules)} run(s) over total_steps, so the rest of the run follows a "
            f"stretched schedule and will not match an uninterrupted run of {total_steps} steps",
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
