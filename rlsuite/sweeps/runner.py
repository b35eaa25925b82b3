"""Run a sweep: check it, lay out its folder, then run what is not finished on a backend.

``<root>/<name>/``
    ``sweep.yaml``  the sweep file as given;  ``sweep.json``  the expanded runs, their folders, the
    references (the report's input);  ``<label>/<env>/seed<k>/``  one ordinary ``rlsuite train`` run
    folder per run (plus ``train.log``, and ``error.json`` when it failed).

Resuming is running the same command again: runs with a ``summary.json`` are skipped, runs with a
checkpoint continue from it (``resume=auto``), failed and unstarted runs start over. A run whose
folder another live process is writing (its ``train.lock`` is held) is left alone and reported busy.
Runs die with the sweep that started them, so a killed sweep leaves none of them training on.

Backends: ``local`` (default) keeps up to ``workers`` child processes running on this machine
(``workers=0``: one per ``threads_per_run`` CPU cores); ``ray`` submits the same runs as Ray tasks,
each asking for ``threads_per_run`` CPUs, to a local Ray instance or to the cluster at ``address``
(the sweep folder must then be on storage every node sees, and rlsuite installed on every node).
"""

from __future__ import annotations

import fnmatch
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rlsuite.config import experiment_to_dict, to_dict
from rlsuite.core.atomic import atomic_write_text
from rlsuite.sweeps.check import check_sweep
from rlsuite.sweeps.execute import (
    RunFolderBusy,
    RunOutcome,
    execute_run,
    finish_run,
    prepare_run_dir,
    record_failure,
    run_status,
    start_run,
)
from rlsuite.sweeps.progress import SweepProgress
from rlsuite.sweeps.ray_local import ray_session
from rlsuite.sweeps.spec import RunSpec, Sweep, SweepError, load_sweep

BACKENDS = ("local", "ray")
SWEEP_FORMAT = 1
POLL_SECONDS = 0.2


@dataclass
class SweepResult:
    """What a sweep invocation did."""

    directory: Path
    skipped: list[str] = field(default_factory=list)  # already finished
    outcomes: list[RunOutcome] = field(default_factory=list)
    busy: dict[str, str] = field(default_factory=dict)  # run id -> who is writing its folder

    @property
    def failed(self) -> list[RunOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]


def run_sweep(
    path: str | Path | Sweep,
    *,
    backend: str = "local",
    workers: int = 0,
    address: str | None = None,
    root: str | Path | None = None,
    quiet: bool = False,
    dry_run: bool = False,
    only: list[str] | None = None,
) -> SweepResult:
    """Check, lay out and run the sweep in ``path``; finished runs are kept, the rest (re-)run.

    ``only``: shell patterns on run ids (``sb3_PPO/*``, ``*/Pendulum-v1/*``); the other runs are left
    as they are (the report counts them as incomplete until they run).
    """
    if backend not in BACKENDS:
        raise SweepError(f"backend={backend!r}; accepted: {', '.join(BACKENDS)}")
    if workers < 0:
        raise SweepError(f"workers must be >= 0 (0 = as many as the cores allow), got {workers}")
    sweep = path if isinstance(path, Sweep) else load_sweep(path, root=root)
    configs = check_sweep(sweep)
    selected = [run for run in sweep.runs if not only or any(fnmatch.fnmatch(run.id, p) for p in only)]
    if only and not selected:
        raise SweepError(f"--only {' '.join(only)} matches no run; run ids look like {sweep.runs[0].id}")
    finished = [run.id for run in selected if run_status(run.directory) == "done"]
    finished_ids = set(finished)
    todo = [run for run in selected if run.id not in finished_ids]
    result = SweepResult(sweep.directory, skipped=finished)
    workers = workers or max(1, (os.cpu_count() or 1) // sweep.threads_per_run)
    if dry_run:
        _print_plan(sweep, {r.id for r in todo}, {r.id for r in selected}, backend, workers)
        return result
    write_sweep_files(sweep)
    todo = _prepare_runs(todo, configs, result)
    if not quiet:
        for run_id, holder in result.busy.items():
            print(f"{run_id}: not started, its folder is being written by {holder}", file=sys.stderr)
    progress = SweepProgress(
        sweep.name,
        len(selected),
        len(result.skipped),
        enabled=not quiet,
        running_word="running" if backend == "local" else "in flight",
    )
    try:
        if backend == "local":
            _run_local(todo, workers, sweep.threads_per_run, progress.finished, progress.started)
        else:
            _run_ray(todo, workers, sweep.threads_per_run, address, progress.finished, progress.started)
    finally:
        progress.close()
    result.outcomes = progress.outcomes
    return result


def _prepare_runs(runs: list[RunSpec], configs: dict[str, Any], result: SweepResult) -> list[RunSpec]:
    """Ready each run's folder; runs whose folder a live process is writing go to ``result.busy``."""
    ready = []
    for run in runs:
        try:
            prepare_run_dir(
                run.directory, yaml.safe_dump(experiment_to_dict(configs[run.id]), sort_keys=False)
            )
        except RunFolderBusy as busy:
            result.busy[run.id] = busy.holder.describe()
            continue
        ready.append(run)
    return ready


def write_sweep_files(sweep: Sweep) -> None:
    """``sweep.yaml`` (the file as given) and ``sweep.json`` (runs, folders, references)."""
    sweep.directory.mkdir(parents=True, exist_ok=True)
    if sweep.source.resolve() != (sweep.directory / "sweep.yaml").resolve():
        atomic_write_text(sweep.directory / "sweep.yaml", sweep.source.read_text(encoding="utf-8"))
    runs = [_run_entry(run, sweep.directory) for run in sweep.runs]
    data = {"format": SWEEP_FORMAT, "name": sweep.name, "references": sweep.references, "runs": runs}
    atomic_write_text(sweep.directory / "sweep.json", json.dumps(data, indent=2) + "\n")


def _run_entry(run: RunSpec, directory: Path) -> dict[str, Any]:
    return {
        "id": run.id,
        "label": run.label,
        "algo": run.algo,
        "env": run.env,
        "seed": run.seed,
        "variant": to_dict(run.variant),
        "dir": str(run.directory.relative_to(directory)),
        "total_steps": run.data.get("total_steps"),
    }


# --- local backend -----------------------------------------------------------------------------
def _run_local(
    runs: list[RunSpec],
    workers: int,
    threads: int,
    on_finish: Callable[[RunOutcome], None],
    on_start: Callable[[str], None],
) -> None:
    """Keep up to ``workers`` runs going; each is a child process of its own."""
    queue = list(runs)
    running: dict[str, tuple[RunSpec, Any, float]] = {}
    try:
        while queue or running:
            while queue and len(running) < workers:
                run = queue.pop(0)
                running[run.id] = (run, start_run(run.directory, threads), time.perf_counter())
                on_start(run.id)
            for run_id, (run, process, started) in list(running.items()):
                if process.poll() is not None:
                    del running[run_id]
                    on_finish(
                        finish_run(run_id, run.directory, process.returncode, time.perf_counter() - started)
                    )
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        _interrupt([process for _, process, _ in running.values()])
        raise


def _interrupt(processes: list[Any]) -> None:
    """Ctrl-C: ask every run to checkpoint and stop (their own SIGINT handling), then wait."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    for process in processes:
        try:
            process.wait(timeout=60)
        except Exception:
            process.kill()


# --- Ray backend -------------------------------------------------------------------------------
def _run_ray(
    runs: list[RunSpec],
    workers: int,
    threads: int,
    address: str | None,
    on_finish: Callable[[RunOutcome], None],
    on_start: Callable[[str], None],
) -> None:
    """Each run is a Ray task (``threads`` CPUs) running the same child process as the local backend.

    Without ``address`` the runs go to a local cluster that listens on loopback only, requires token
    authentication and does not outlive this process (:mod:`rlsuite.sweeps.ray_local`).
    """
    with ray_session(address, workers * threads) as ray:
        task = ray.remote(num_cpus=threads, max_retries=0)(execute_run)
        pending = {task.remote(run.id, str(run.directory.resolve()), threads): run for run in runs}
        for run in runs:
            on_start(run.id)
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            run = pending.pop(done[0])
            on_finish(_ray_outcome(ray, done[0], run))


def _ray_outcome(ray: Any, ref: Any, run: RunSpec) -> RunOutcome:
    try:
        return RunOutcome(**ray.get(ref))
    except Exception as exc:  # the task itself died (node lost, worker killed)
        error = f"Ray task failed: {type(exc).__name__}: {exc}".splitlines()[0]
        return record_failure(run.id, run.directory, error, None, 0.0)


def _print_plan(
    sweep: Sweep, todo: list[RunSpec], selected: list[RunSpec], backend: str, workers: int
) -> None:
    print(
        f"sweep {sweep.name}: {len(sweep.runs)} runs in {sweep.directory}; {len(todo)} to run on {backend} "
        f"({workers} at a time, {sweep.threads_per_run} thread(s) each)"
    )
    for run in sweep.runs:
        state = "to run" if run.id in todo else "done" if run.id in selected else "not selected (--only)"
        print(f"  {run.id:60s} {run.data.get('total_steps', ''):>9} steps  {state}")
