"""The Ray Tune backend of ``rlsuite tune`` (``--backend ray``): the same tune file, trials as Ray tasks.

The search runs Optuna's TPE through Ray's ``OptunaSearch``; Ray's ``MedianStoppingRule`` stops trials
whose intermediate evaluations fall below the median of the others (the median pruning of the Optuna
backend). Results live in ``<study>/ray/``; running the command again restores the experiment there
(``Tuner.restore``) and finishes what was left, errored trials included. ``best.yaml`` and
``trials.csv`` are written as by the Optuna backend.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rlsuite.tuning import Dimension, TrialPruned, TuneSpec, run_trial, write_best, write_trials_csv


def _space(dims: list[Dimension]) -> dict[str, Any]:
    from ray import tune

    space: dict[str, Any] = {}
    for dim in dims:
        if dim.type == "categorical":
            scalar = all(c is None or isinstance(c, bool | int | float | str) for c in dim.choices)
            space[dim.key] = tune.choice(
                list(dim.choices) if scalar else [json.dumps(c) for c in dim.choices]
            )
        elif dim.type == "int":
            space[dim.key] = (tune.lograndint if dim.log else tune.randint)(int(dim.low), int(dim.high) + 1)
        else:
            space[dim.key] = (tune.loguniform if dim.log else tune.uniform)(dim.low, dim.high)
    return space


def _decode(dim: Dimension, value: Any) -> Any:
    """A categorical value given to Ray as its JSON text (lists such as hidden sizes) back as itself."""
    if dim.type == "categorical" and isinstance(value, str) and value not in dim.choices:
        return json.loads(value)
    return value


def tune_with_ray(
    spec: TuneSpec, trials: int, out_dir: Path, *, address: str | None = None, quiet: bool = False
) -> dict[str, Any]:
    try:
        import ray
        from ray import tune
        from ray.tune.schedulers import MedianStoppingRule
        from ray.tune.search.optuna import OptunaSearch
    except ImportError as exc:
        raise ImportError("--backend ray needs Ray Tune and Optuna: pip install 'rlsuite[ray,tune]'") from exc

    out_dir = out_dir.resolve()
    storage = out_dir / "ray"
    mode = "max" if spec.direction == "maximize" else "min"
    metric = spec.metric
    trials_dir = out_dir / "trials"

    def trainable(config: dict[str, Any]) -> None:
        trial_id = tune.get_context().get_trial_id()
        run_dir = trials_dir / f"trial-{trial_id}"

        def report(step: int, value: float) -> bool:
            tune.report({metric: value, "env_steps": step})
            return False  # the scheduler stops the trial itself

        params = {dim.key: _decode(dim, config[dim.key]) for dim in spec.search}
        try:
            value = run_trial(spec, params, run_dir, report)
        except TrialPruned:
            return
        steps = json.loads((run_dir / "summary.json").read_text())["total_steps"]
        tune.report({metric: value, "env_steps": steps, "final": 1.0, "run_dir": str(run_dir)})

    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=not quiet, ignore_reinit_error=True)
    experiment = storage / spec.study_name
    if tune.Tuner.can_restore(str(experiment)):
        tuner = tune.Tuner.restore(str(experiment), trainable=trainable, resume_errored=True)
    else:
        seed = spec.sampler.get("seed", 0)
        search = OptunaSearch(metric=metric, mode=mode, seed=seed)
        tuner = tune.Tuner(
            trainable,
            param_space=_space(spec.search),
            tune_config=tune.TuneConfig(
                metric=metric,
                mode=mode,
                num_samples=trials,
                search_alg=search,
                scheduler=MedianStoppingRule(time_attr="env_steps", grace_period=0, min_samples_required=3),
            ),
            run_config=tune.RunConfig(
                name=spec.study_name, storage_path=str(storage), verbose=0 if quiet else 1
            ),
        )
    results = tuner.fit()
    rows = [
        {
            "number": index,
            "state": "ERROR" if r.error else ("COMPLETE" if r.metrics.get("final") else "PRUNED"),
            "value": r.metrics.get(metric) if r.metrics.get("final") else None,
            **{f"param:{k}": v for k, v in (r.config or {}).items()},
            "run_dir": r.metrics.get("run_dir", ""),
        }
        for index, r in enumerate(results)
    ]
    write_trials_csv(rows, out_dir)
    summary: dict[str, Any] = {"study": spec.study_name, "storage": str(storage), "trials": len(rows)}
    complete = [row for row in rows if row["state"] == "COMPLETE"]
    if complete:
        best = (max if mode == "max" else min)(complete, key=lambda row: row["value"])
        params = {dim.key: _decode(dim, best[f"param:{dim.key}"]) for dim in spec.search}
        summary.update(best_value=best["value"], best_params=params)
        summary["best_config"] = str(write_best(spec, params, best["value"], out_dir))
    return summary
