"""Learning comparison: MPDP vs SAC on MuJoCo locomotion at a fixed step budget, several seeds each.

    python benchmarks/bench_mpdp_vs_sac.py --steps 100000 --seeds 3 --jobs 2 --out runs/mpdp-vs-sac
    python benchmarks/bench_mpdp_vs_sac.py --cpu --envs Hopper Walker2d --jobs 2   # CPU-scale protocol

``--cpu`` selects the CPU-scale protocol: ``experiments/{sac,mpdp}/{task}_cpu.yaml`` (SAC and MPDP share
128-wide actor/critic networks and batch 128; MPDP keeps every mechanism with a smaller MBPO ensemble and
cheaper model fits; each file lists its settings against the paper's), output in ``runs/mpdp-vs-sac-cpu``
and the report in ``benchmarks/reports/mpdp-vs-sac-cpu`` (explicit ``--sac-config``, ``--mpdp-config``,
``--out`` and ``--report-dir`` still win).

Every run goes through the experiment configs and ``rlsuite train`` (one subprocess per run):

    rlsuite train <template with {task}> seed=S total_steps=STEPS run_dir=OUT/runs/<algo>/<task>/s<S>
        resume=auto log.progress=false [torch_threads=T] [--set / --sac-set / --mpdp-set key=value ...]

``--sac-config`` and ``--mpdp-config`` are templates in which ``{task}`` becomes hopper, halfcheetah or
walker2d (default ``experiments/sac/{task}.yaml`` and ``experiments/mpdp/{task}.yaml``). Runs whose
``summary.json`` exists are skipped (so an interrupted benchmark is continued by running the same command
again; a run killed mid-way resumes from its latest checkpoint, if it wrote one), and a run that fails
is recorded with its error while the others go on (it is retried on the next invocation). A run whose
folder another process is training (its ``train.lock`` is held) is reported busy and left untouched, so
two invocations over the same folders can share the work. Runs start
longest first (every MPDP run before the SAC runs), so that with ``--jobs 2`` no long run is left alone
at the end; the report keeps the env x algorithm order.

Statistics per env and algorithm (``rlsuite.core.stats``), from the final evaluation of each run (the
configs' ``eval`` section: deterministic episodes on a separate env): the mean return over all
seed x episode returns (equal to the mean of the seed means), the IQM over those pooled per-episode
returns (with 3 seeds an IQM over the 3 seed means would be just their mean), a 95% percentile
bootstrap CI of the mean over the pooled episode returns (seeded, 10k resamples; it treats episodes as
independent, so it understates seed-to-seed variation) and, for reference, the same bootstrap over the
seed means. Per-episode returns are read from ``summary.json`` (``eval_returns``) when the trainer writes
them there; otherwise the final checkpoint is re-evaluated with the run's own eval settings and seed,
which reproduces the same episodes (checked against ``eval_return_mean``).

Each invocation's CPU seconds (user + system of the ``rlsuite train`` process, from ``os.wait4``) are
appended to the run's ``cpu_s.json``; the report gives their sum per run, a load-independent cost.

Output: a Markdown table (final returns with CIs, mean training and CPU seconds per run, and the evaluation
curve of each env x algorithm: mean over seeds with a bootstrap CI at every evaluation step) on stdout
and in OUT/results.md, everything (per-seed returns and curves) in OUT/results.json; both are also
written to ``--report-dir`` (default ``benchmarks/reports/mpdp-vs-sac[-cpu]``, the folder to commit).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # use this checkout's rlsuite when run as a script

from rlsuite.core.atomic import atomic_write_text  # noqa: E402
from rlsuite.core.runlock import lock_holder  # noqa: E402
from rlsuite.core.stats import bootstrap_ci, iqm  # noqa: E402

TASKS = {"hopper": "Hopper", "halfcheetah": "HalfCheetah", "walker2d": "Walker2d"}
ALGOS = ("sac", "mpdp")
# Variants run from an algorithm's config with fixed overrides, as rows of their own (``--algos``).
VARIANTS = {"mpdp_ve": ("mpdp", ("algo.value_expansion=true",))}  # MPDP + model-based value expansion
SUMMARY = "summary.json"
EPISODES_FILE = "eval_returns.json"  # written by this script when it had to re-evaluate
CPU_FILE = "cpu_s.json"  # CPU seconds of each invocation of the run (this script writes it)


@dataclass
class Job:
    algo: str
    task: str
    seed: int
    config: Path
    run_dir: Path
    overrides: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.algo} {TASKS[self.task]} seed {self.seed}"


def task_key(name: str) -> str:
    key = name.lower().removeprefix("rlsuite/").split("-")[0]
    if key not in TASKS:
        raise argparse.ArgumentTypeError(f"unknown env {name!r}; choose from {', '.join(TASKS.values())}")
    return key


def execution_order(jobs: list[Job]) -> list[Job]:
    """Longest first: MPDP runs and variants (model fits, H-step rollouts) before SAC runs, each in listed
    order."""
    return sorted(jobs, key=lambda job: job.algo == "sac")


def build_jobs(args: argparse.Namespace) -> list[Job]:
    templates = {"sac": args.sac_config, "mpdp": args.mpdp_config}
    extra = {"sac": args.sac_set, "mpdp": args.mpdp_set}
    jobs, missing = [], []
    for task in args.envs:
        for algo in args.algos:
            base, fixed = VARIANTS.get(algo, (algo, ()))
            config = Path(templates[base].format(task=task))
            if not config.exists():
                missing.append(str(config))
            for seed in args.seed_list:
                run_dir = args.out / "runs" / algo / task / f"s{seed}"
                overrides = [
                    f"seed={seed}",
                    f"total_steps={args.steps}",
                    f"run_dir={run_dir}",
                    "resume=auto",
                    "log.progress=false",
                    *([f"torch_threads={args.torch_threads}"] if args.torch_threads else []),
                    *args.set,
                    *extra[base],
                    *fixed,
                ]
                jobs.append(Job(algo, task, seed, config, run_dir, overrides))
    if missing:
        raise SystemExit(f"missing experiment configs: {', '.join(sorted(set(missing)))}")
    return jobs


def command(job: Job) -> list[str]:
    return [sys.executable, "-m", "rlsuite.cli", "train", str(job.config), *job.overrides, "--quiet"]


def run_process(cmd: list[str], out, env: dict[str, str]) -> tuple[int, float | None]:
    """Run ``cmd`` to completion; its exit code and CPU seconds (user + system; None without wait4)."""
    if not hasattr(os, "wait4"):
        return subprocess.run(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=env, check=False
        ).returncode, None
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_utime + usage.ru_stime


def record_cpu(run_dir: Path, seconds: float | None) -> None:
    """Append one invocation's CPU seconds to the run's ``cpu_s.json`` (a resumed run has several)."""
    if seconds is None:
        return
    path = run_dir / CPU_FILE
    spent = json.loads(path.read_text())["invocations"] if path.exists() else []
    atomic_write_text(path, json.dumps({"invocations": [*spent, round(seconds, 1)]}))


def cpu_seconds(run_dir: Path) -> float | None:
    """Total CPU seconds of a run over its invocations (None when not recorded)."""
    path = run_dir / CPU_FILE
    return round(sum(json.loads(path.read_text())["invocations"]), 1) if path.exists() else None


def run_job(job: Job, log) -> dict[str, Any]:
    """Train one run unless its summary exists; returns a status record (never raises)."""
    summary_path = job.run_dir / SUMMARY
    if summary_path.exists():
        return {"status": "skipped (summary.json exists)"}
    holder = lock_holder(job.run_dir)
    if holder is not None:  # another process is training it: leave its folder alone (one writer)
        log(f"busy   {job.label}: its folder is being written by {holder.describe()}; not started")
        return {"status": "busy", "error": f"being trained by {holder.describe()} (not started here)"}
    job.run_dir.mkdir(parents=True, exist_ok=True)
    cmd = command(job)
    log(f"start  {job.label}: {' '.join(cmd[2:])}")
    started = time.perf_counter()
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    )
    try:
        with open(job.run_dir / "train.log", "a") as out:
            rc, cpu = run_process(cmd, out, env)
        error = None
        record_cpu(job.run_dir, cpu)
    except Exception as exc:  # cannot even start the process: record it and go on
        rc, error = -1, f"{type(exc).__name__}: {exc}"
    wall = round(time.perf_counter() - started, 1)
    if rc == 0 and summary_path.exists():
        (job.run_dir / "error.txt").unlink(missing_ok=True)  # from an earlier failed attempt
        log(f"done   {job.label} in {wall} s (CPU {cpu_seconds(job.run_dir)} s)")
        return {"status": "trained", "wall_s": wall}
    if error is None:
        tail = (job.run_dir / "train.log").read_text(errors="replace").strip().splitlines()[-15:]
        error = f"exit code {rc}" + (": " + "\n".join(tail) if tail else "")
    (job.run_dir / "error.txt").write_text(error + "\n")
    log(f"FAILED {job.label} after {wall} s (exit code {rc}: {error.strip().splitlines()[-1]})")
    return {"status": "failed", "error": error, "wall_s": wall}


def episode_returns(run_dir: Path, summary: dict[str, Any]) -> tuple[list[float], str]:
    """The final evaluation's per-episode returns and where they came from."""
    if "eval_returns" in summary:
        return [float(x) for x in summary["eval_returns"]], "summary.json"
    cached = run_dir / EPISODES_FILE
    if cached.exists():
        return [float(x) for x in json.loads(cached.read_text())["returns"]], EPISODES_FILE
    returns = reevaluate(run_dir)
    mean = sum(returns) / len(returns)
    if not math.isclose(mean, summary["eval_return_mean"], rel_tol=1e-6, abs_tol=1e-3):
        raise RuntimeError(
            f"{run_dir}: re-evaluation gives mean {mean:.3f}, the run's own {summary['eval_return_mean']:.3f}"
        )
    cached.write_text(json.dumps({"returns": returns, "source": "re-evaluated final checkpoint"}))
    return returns, "re-evaluated checkpoint"


def reevaluate(run_dir: Path) -> list[float]:
    """Replay the run's final evaluation: same checkpoint, eval settings and eval seed."""
    import torch

    from rlsuite.algos.base import Algorithm
    from rlsuite.training.experiment import load_experiment

    torch.set_num_threads(1)
    config = load_experiment(run_dir / "config.yaml")
    algo = Algorithm.from_checkpoint(run_dir, device="cpu")
    algo.eval_config = config.eval
    try:
        return [float(x) for x in algo.evaluate().returns]
    finally:
        algo.close()


def eval_curve(run_dir: Path) -> dict[int, float]:
    """``{step: eval/return_mean}`` of every evaluation in a run's ``metrics.csv``."""
    path = run_dir / "metrics.csv"
    if not path.exists():
        return {}
    with path.open() as handle:
        return {
            int(row["step"]): float(row["eval/return_mean"])
            for row in csv.DictReader(handle)
            if row.get("eval/return_mean")
        }


def curve_statistics(runs: list[dict[str, Any]], args) -> dict[int, dict[str, float]]:
    """Mean over seeds and its 95% bootstrap CI at every step all finished seeds evaluated."""
    curves = [r["curve"] for r in runs if r.get("curve")]
    steps = sorted(set.intersection(*(set(c) for c in curves))) if curves else []
    out = {}
    for step in steps:
        values = [c[step] for c in curves]
        low, high = bootstrap_ci(values, "mean", resamples=args.resamples, seed=args.bootstrap_seed)
        out[step] = {"mean": sum(values) / len(values), "ci_low": low, "ci_high": high, "n": len(values)}
    return out


def collect_results(jobs: list[Job], statuses: dict[str, dict[str, Any]], args) -> dict[str, Any]:
    cells: dict[str, dict[str, Any]] = {}
    for job in jobs:
        cell = cells.setdefault(
            f"{job.task}/{job.algo}",
            {"env": TASKS[job.task], "algo": job.algo, "config": str(job.config), "runs": []},
        )
        run: dict[str, Any] = {"seed": job.seed, "run_dir": str(job.run_dir), **statuses.get(job.label, {})}
        summary_path = job.run_dir / SUMMARY
        if summary_path.exists():
            summary = json.loads(summary_path.read_text())
            try:
                returns, source = episode_returns(job.run_dir, summary)
            except Exception as exc:  # a broken run folder must not sink the whole report
                run.update(status="failed", error=f"reading results: {type(exc).__name__}: {exc}")
            else:
                run.update(
                    env_id=summary.get("env"),
                    total_steps=summary.get("total_steps"),
                    sps=summary.get("sps"),
                    train_s=summary.get("train_s"),
                    cpu_s=cpu_seconds(job.run_dir),
                    eval_return_mean=summary["eval_return_mean"],
                    eval_returns=returns,
                    returns_source=source,
                    curve=eval_curve(job.run_dir),
                )
                if summary.get("total_steps", 0) < args.steps:
                    run["warning"] = f"trained {summary.get('total_steps')} < {args.steps} steps"
        elif "error" not in run and (job.run_dir / "error.txt").exists():
            run.update(status="failed", error=(job.run_dir / "error.txt").read_text().strip())
        cell["runs"].append(run)
    for cell in cells.values():
        done = [r for r in cell["runs"] if "eval_returns" in r]
        cell["seeds_done"] = len(done)
        cell["failures"] = [
            {"seed": r["seed"], "error": r.get("error", "no summary")}
            for r in cell["runs"]
            if "eval_returns" not in r
        ]
        if not done:
            continue
        pooled = [x for r in done for x in r["eval_returns"]]
        seed_means = [sum(r["eval_returns"]) / len(r["eval_returns"]) for r in done]
        ci = bootstrap_ci(pooled, "mean", resamples=args.resamples, seed=args.bootstrap_seed)
        ci_seeds = bootstrap_ci(seed_means, "mean", resamples=args.resamples, seed=args.bootstrap_seed)
        train_times = [r["train_s"] for r in done if r.get("train_s")]
        cpu_times = [r["cpu_s"] for r in done if r.get("cpu_s")]
        cell.update(
            train_s_mean=sum(train_times) / len(train_times) if train_times else None,
            cpu_s_mean=sum(cpu_times) / len(cpu_times) if cpu_times else None,
            curve=curve_statistics(done, args),
            episodes=len(pooled),
            mean=sum(pooled) / len(pooled),
            iqm=iqm(pooled),
            ci95=list(ci),
            seed_means=seed_means,
            mean_of_seed_means=sum(seed_means) / len(seed_means),
            ci95_seed_means=list(ci_seeds),
        )
    return {
        "protocol": "cpu" if args.cpu else "full",
        "steps": args.steps,
        "seeds": args.seed_list,
        "statistics": {
            "mean": "mean over all seed x final-eval-episode returns",
            "iqm": "interquartile mean (25% trimmed each end) over all seed x episode returns",
            "ci95": f"95% percentile bootstrap CI of the mean over seed x episode returns, "
            f"{args.resamples} resamples, numpy seed {args.bootstrap_seed}",
            "ci95_seed_means": "the same bootstrap over the per-seed mean returns",
        },
        "cells": list(cells.values()),
    }


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"MPDP vs SAC at {results['steps']:,} env steps, seeds {results['seeds']}, "
        f"{results.get('protocol', 'full')} protocol (final deterministic evaluation of each run)",
        "",
        "| env | algo | seeds | episodes | mean | IQM | 95% CI of mean (episodes) | "
        "95% CI (seed means) | seed means | train s per run | CPU s per run | failed |",
        "|---|---|---:|---:|---:|---:|---|---|---|---:|---:|---:|",
    ]
    for cell in results["cells"]:
        if not cell["seeds_done"]:
            lines.append(
                f"| {cell['env']} | {cell['algo']} | 0 | 0 | | | | | | | | {len(cell['failures'])} |"
            )
            continue
        lo, hi = cell["ci95"]
        slo, shi = cell["ci95_seed_means"]
        lines.append(
            f"| {cell['env']} | {cell['algo']} | {cell['seeds_done']} | {cell['episodes']} | "
            f"{cell['mean']:.1f} | {cell['iqm']:.1f} | [{lo:.1f}, {hi:.1f}] | [{slo:.1f}, {shi:.1f}] | "
            f"{', '.join(f'{m:.0f}' for m in cell['seed_means'])} | "
            f"{cell['train_s_mean'] or 0:,.0f} | {cell.get('cpu_s_mean') or 0:,.0f} | "
            f"{len(cell['failures'])} |"
        )
    lines += ["", "Evaluation return along training: mean over seeds (95% bootstrap CI over seeds)", ""]
    for cell in results["cells"]:
        curve = cell.get("curve") or {}
        if curve:
            points = ", ".join(
                f"{step // 1000}k: {v['mean']:.0f} [{v['ci_low']:.0f}, {v['ci_high']:.0f}]"
                for step, v in curve.items()
            )
            lines.append(f"- {cell['env']} {cell['algo']}: {points}")
    return "\n".join(lines) + "\n"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="CPU-scale protocol: experiments/<algo>/{task}_cpu.yaml, runs/mpdp-vs-sac-cpu, "
        "benchmarks/reports/mpdp-vs-sac-cpu",
    )
    parser.add_argument("--sac-config", default=None, help="template with {task} (default: see --cpu)")
    parser.add_argument("--mpdp-config", default=None, help="template with {task} (default: see --cpu)")
    parser.add_argument("--steps", type=int, default=100_000, help="env steps per run")
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds: seeds 1..N")
    parser.add_argument("--seed-list", type=int, nargs="+", default=None, help="explicit seeds (overrides)")
    parser.add_argument(
        "--envs", type=task_key, nargs="+", default=list(TASKS), help="Hopper HalfCheetah Walker2d"
    )
    parser.add_argument(
        "--algos",
        nargs="+",
        choices=(*ALGOS, *VARIANTS),
        default=list(ALGOS),
        help="mpdp_ve: MPDP with algo.value_expansion=true (its own run folders and rows)",
    )
    parser.add_argument("--jobs", type=int, default=1, help="runs trained in parallel (processes)")
    parser.add_argument("--torch-threads", type=int, default=1, help="torch_threads=T per run; 0: config's")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="overrides for every run")
    parser.add_argument("--sac-set", nargs="*", default=[], metavar="KEY=VALUE", help="SAC runs only")
    parser.add_argument("--mpdp-set", nargs="*", default=[], metavar="KEY=VALUE", help="MPDP runs only")
    parser.add_argument("--resamples", type=int, default=10_000, help="bootstrap resamples")
    parser.add_argument("--bootstrap-seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="output folder (runs/mpdp-vs-sac[-cpu])")
    parser.add_argument(
        "--report-dir",
        type=Path,
        default=None,
        help="also write results.md/results.json here (per-seed results, curves, CIs; default "
        "benchmarks/reports/mpdp-vs-sac[-cpu]); '' for none",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the commands and exit")
    args = parser.parse_args(argv)
    args.seed_list = args.seed_list or list(range(1, args.seeds + 1))
    suffix, name = ("_cpu", "mpdp-vs-sac-cpu") if args.cpu else ("", "mpdp-vs-sac")
    args.sac_config = args.sac_config or f"experiments/sac/{{task}}{suffix}.yaml"
    args.mpdp_config = args.mpdp_config or f"experiments/mpdp/{{task}}{suffix}.yaml"
    args.out = args.out if args.out is not None else Path("runs") / name
    if args.report_dir is None:
        args.report_dir = REPO / "benchmarks" / "reports" / name
    args.report_dir = args.report_dir if str(args.report_dir) not in ("", ".") else None
    args.envs = list(dict.fromkeys(args.envs))
    if args.jobs < 1:
        parser.error("--jobs must be >= 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    jobs = build_jobs(args)
    if args.dry_run:
        for job in execution_order(jobs):
            print(" ".join(command(job)))
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - start:7.0f} s] {message}", flush=True)

    ordered = execution_order(jobs)
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        statuses = dict(zip([j.label for j in ordered], pool.map(lambda j: run_job(j, log), ordered)))
    results = collect_results(jobs, statuses, args)
    results["wall_s"] = round(time.perf_counter() - start, 1)
    results["command"] = " ".join([Path(sys.argv[0]).name, *(sys.argv[1:] if argv is None else argv)])
    table = markdown(results)
    for folder in filter(None, [args.out, args.report_dir]):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "results.json").write_text(json.dumps(results, indent=1))
        (folder / "results.md").write_text(table)
    print(table)
    failed = sum(len(c["failures"]) for c in results["cells"])
    if failed:
        print(f"{failed} run(s) failed or incomplete; see OUT/results.json and each run's error.txt")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
