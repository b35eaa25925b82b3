"""``rlsuite tune TUNE.yaml --trials N [--backend optuna|ray]``: the command and the Optuna backend.

See :mod:`rlsuite.tuning` for the tune file. The Optuna backend runs trials one after another in this
process (TPE sampler, median pruning on intermediate evaluations, a SQLite study that resumes); the Ray
backend (:mod:`rlsuite.tuning_ray`) runs them as Ray Tune trials, on a cluster with ``--address``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

from rlsuite.config import ConfigError
from rlsuite.tuning import (
    Dimension,
    TrialPruned,
    TuneSpec,
    load_tune_spec,
    run_trial,
    write_best,
    write_trials_csv,
)

BACKENDS = ("optuna", "ray")


def add_tune_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "tune",
        help="hyperparameter search (Optuna TPE + median pruning; Ray Tune with --backend ray)",
        description="rlsuite tune TUNE.yaml --trials N: search the tune file's space; running it again "
        "continues the study (SQLite) up to N finished trials; the best config is written to best.yaml",
    )
    parser.add_argument("tune_file", help="the tune YAML (experiment, search space, metric)")
    parser.add_argument("--trials", type=int, required=True, help="finished trials the study should hold")
    parser.add_argument("--backend", default="optuna", choices=BACKENDS, help="optuna (local) or ray")
    parser.add_argument("--out", default=None, help="study folder (default: tune/<tune file name>)")
    parser.add_argument("--address", default=None, help="Ray cluster address (--backend ray)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.set_defaults(handler=_tune_command)


def _tune_command(args: argparse.Namespace) -> int:
    if args.trials < 1:
        raise ConfigError(f"--trials must be >= 1, got {args.trials}")
    spec = load_tune_spec(args.tune_file)
    out_dir = Path(args.out) if args.out else Path("tune") / spec.study_name
    if args.backend == "ray":
        from rlsuite.tuning_ray import tune_with_ray

        best = tune_with_ray(spec, args.trials, out_dir, address=args.address, quiet=args.quiet)
    else:
        best = tune_with_optuna(spec, args.trials, out_dir, quiet=args.quiet)
    print(json.dumps(best, indent=2))
    if best.get("best_config"):
        print(f"best config: {best['best_config']}  (rlsuite train {best['best_config']})")
    return 0


def _optuna():
    try:
        import optuna
    except ImportError as exc:
        raise ImportError("rlsuite tune needs Optuna: pip install 'rlsuite[tune]'") from exc
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _suggest(trial: Any, dim: Dimension) -> Any:
    if dim.type == "float":
        return trial.suggest_float(dim.key, dim.low, dim.high, log=dim.log, step=dim.step)
    if dim.type == "int":
        return trial.suggest_int(dim.key, int(dim.low), int(dim.high), log=dim.log, step=int(dim.step or 1))
    if all(c is None or isinstance(c, bool | int | float | str) for c in dim.choices):
        return trial.suggest_categorical(dim.key, list(dim.choices))
    labels = [json.dumps(c) for c in dim.choices]  # lists (hidden sizes...) as their JSON text
    return json.loads(trial.suggest_categorical(dim.key, labels))


def make_study(spec: TuneSpec, out_dir: Path):
    """The study in ``out_dir/study.db``: created, or loaded to continue it."""
    optuna = _optuna()
    sampler_cfg = {"seed": 0, "n_startup_trials": 5, **spec.sampler}
    sampler = optuna.samplers.TPESampler(**sampler_cfg)
    pruner_cfg = {"type": "median", "n_startup_trials": 5, "n_warmup_steps": 0, **spec.pruner}
    kind = pruner_cfg.pop("type")
    if kind == "median":
        pruner = optuna.pruners.MedianPruner(**pruner_cfg)
    elif kind == "none":
        pruner = optuna.pruners.NopPruner()
    else:
        raise ConfigError(f"pruner.type: expected median or none, got {kind!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    return optuna.create_study(
        study_name=spec.study_name,
        storage=f"sqlite:///{(out_dir / 'study.db').resolve()}",
        load_if_exists=True,
        direction=spec.direction,
        sampler=sampler,
        pruner=pruner,
    )


def _alive(pid: int, host: str) -> bool:
    if host != socket.gethostname():
        return True  # another machine's trial: leave it be
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_killed_trials(study) -> list[int]:
    """Trials left running by a process that no longer exists: mark them failed, queue their parameters."""
    optuna = _optuna()
    recovered = []
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        pid, host = trial.user_attrs.get("pid"), trial.user_attrs.get("host", "")
        if pid is None or _alive(int(pid), host):
            continue
        study._storage.set_trial_state_values(trial._trial_id, state=optuna.trial.TrialState.FAIL)
        study.enqueue_trial(trial.params)
        recovered.append(trial.number)
    return recovered


def tune_with_optuna(spec: TuneSpec, trials: int, out_dir: Path, *, quiet: bool = False) -> dict[str, Any]:
    """Run trials until the study holds ``trials`` finished (complete or pruned) ones; write the results."""
    from rlsuite.core.progress import progress_enabled, task

    optuna = _optuna()
    study = make_study(spec, out_dir)
    recovered = recover_killed_trials(study)
    if recovered:
        print(f"rlsuite tune: retrying trial(s) {recovered}: their process was killed", file=sys.stderr)
    finished_states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)

    def finished() -> int:
        return len(study.get_trials(deepcopy=False, states=finished_states))

    def objective(trial) -> float:
        trial.set_user_attr("pid", os.getpid())
        trial.set_user_attr("host", socket.gethostname())
        params = {dim.key: _suggest(trial, dim) for dim in spec.search}
        run_dir = out_dir / "trials" / f"trial-{trial.number}"
        trial.set_user_attr("run_dir", str(run_dir))

        def report(step: int, value: float) -> bool:
            trial.report(value, step)
            return trial.should_prune()

        try:
            return run_trial(spec, params, run_dir, report)
        except TrialPruned as exc:
            raise optuna.TrialPruned(str(exc)) from exc

    failures = 0
    with progress_enabled(not quiet), task(f"tune {spec.study_name}", trials) as bar:
        bar.advance(min(finished(), trials))
        while finished() < trials and failures <= trials:
            before = finished()
            study.optimize(objective, n_trials=1, catch=(Exception,))
            last = study.trials[-1]
            failures += last.state == optuna.trial.TrialState.FAIL
            if finished() > before:
                bar.advance(1, note=_note(study, last))
            _write_results(spec, study, out_dir)
    return _write_results(spec, study, out_dir)


def _note(study, last) -> str:
    value = "pruned" if last.value is None else f"{last.value:.4g}"
    try:
        return f"last {value}, best {study.best_value:.4g}"
    except ValueError:
        return f"last {value}"


def _write_results(spec: TuneSpec, study, out_dir: Path) -> dict[str, Any]:
    rows = []
    for trial in study.trials:
        row = {"number": trial.number, "state": trial.state.name, "value": trial.value}
        row.update({f"param:{k}": v for k, v in trial.params.items()})
        row["run_dir"] = trial.user_attrs.get("run_dir", "")
        rows.append(row)
    write_trials_csv(rows, out_dir)
    result: dict[str, Any] = {
        "study": spec.study_name,
        "storage": str(out_dir / "study.db"),
        "trials": len(rows),
    }
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    result["finished"] = sum(t.state.name in ("COMPLETE", "PRUNED") for t in study.trials)
    if complete:
        best = study.best_trial
        params = {dim.key: _decode(dim, best.params[dim.key]) for dim in spec.search}
        result.update(best_trial=best.number, best_value=best.value, best_params=params)
        result["best_config"] = str(write_best(spec, params, best.value, out_dir))
    return result


def _decode(dim: Dimension, value: Any) -> Any:
    if dim.type == "categorical" and isinstance(value, str) and value not in dim.choices:
        return json.loads(value)
    return value
