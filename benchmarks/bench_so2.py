"""SO2 vs naive online fine-tuning on hopper/halfcheetah/walker2d-medium, made end to end by the suite.

    python benchmarks/bench_so2.py --out runs/so2-bench                 # the full benchmark (big machine)
    python benchmarks/bench_so2.py --out /tmp/so2-tiny --tiny --envs hopper --seeds 0   # a smoke run

Every step is an ``rlsuite`` command (one subprocess each), and every step whose output exists is
skipped, so running the same command again continues an interrupted benchmark:

1. **Expert SAC** per env: ``rlsuite train experiments/sac/<env>.yaml`` with an evaluation and a kept
   checkpoint every ``--sac-every`` steps (``--sac-steps``, default 1M).
2. **Medium policy**: the kept checkpoint whose evaluation return is closest to random + (best - random)/3
   with D4RL's random reference return (D4RL's medium: a policy early-stopped at about 1/3 of expert).
3. **Dataset**: ``rlsuite data collect --level medium --policy CKPT --steps N`` (1M, stochastic actions).
4. **Offline pretraining**: ``rlsuite train experiments/offline/edac_<env>_medium.yaml`` (EDAC, one
   checkpoint per env shared by every fine-tuning run, as SO2's released checkpoints are).
5. **Step 0**: ``rlsuite eval`` of that checkpoint (deterministic, ``--episodes``).
6. **Fine-tuning**: ``experiments/so2/<env>_medium.yaml`` (SO2) and ``..._naive.yaml`` (naive) per seed,
   evaluated every quarter of ``--online-steps`` (default 100k: 25k, 50k, 75k, 100k).

Scores are D4RL-normalised (``rlsuite.offline.scores``). Per env, algorithm and point (0, 25%, 50% and
100% of the online budget): the mean over seeds of each run's evaluation mean, the IQM over seeds and
a 95% percentile bootstrap CI of the mean over seeds (``rlsuite.core.stats``, 10k resamples, seeded);
across the three envs, the IQM over all env x seed runs with its bootstrap CI. With 3 seeds these
intervals are wide; they say how much the seeds disagree, nothing more.

``--tiny`` shrinks every budget (and the networks) so the whole pipeline runs in minutes on a CPU: its
numbers prove that the pipeline works and are not a measurement of SO2.

Output: OUT/report.md (also printed) and OUT/report.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # use this checkout's rlsuite when run as a script

from rlsuite.core.stats import bootstrap_ci, iqm  # noqa: E402
from rlsuite.offline.scores import normalized_score, reference_returns  # noqa: E402

TASKS = {"hopper": "Hopper", "halfcheetah": "HalfCheetah", "walker2d": "Walker2d"}
VARIANTS = {"so2": "{task}_medium.yaml", "naive": "{task}_medium_naive.yaml"}
SUMMARY = "summary.json"
# --tiny: every budget and network shrunk so the pipeline finishes in minutes on a laptop CPU
TINY = {
    "sac_steps": 3000,
    "sac_every": 1000,
    "dataset_steps": 3000,
    "offline_steps": 300,
    "online_steps": 400,
    "episodes": 3,
    "sac_set": ["algo.learning_starts=500", "algo.hidden_sizes=[64,64]"],
    "offline_set": ["algo.hidden_sizes=[64,64]", "algo.num_q=5"],
    "online_set": ["algo.hidden_sizes=[64,64]", "algo.num_q=5", "algo.learning_starts=100"],
    "so2_set": ["algo.batch_size=640"],
    "naive_set": ["algo.batch_size=64"],
}
# --cpu: the CPU-scale protocol. Every mechanism of SO2 is kept (PVU sigma 0.3 / clip 0.6, UTD 10, the
# actor every 10 critic steps, per-member targets, an ensemble, 10% online / 90% offline+online pool,
# pretrained-policy initial collection); sizes shrink (paper -> here): SAC behaviour policy 1M -> 60k
# steps at 128-128; dataset 1M -> 100k transitions; EDAC N 50 -> 5, 3x256 -> 3x64, 1M -> 30k gradient
# steps; fine-tuning N 50 -> 5, 3x256 -> 3x64, batch 2560 -> 256 (26 online + 230 pool), 5000 -> 1000
# initial steps, 100k -> 20k online steps, 10 evaluation points of 5 episodes, each with the Q-value
# estimation error of the run's checkpoint there.
CPU = {
    "sac_steps": 60_000,
    "sac_every": 5000,
    "dataset_steps": 100_000,
    "offline_steps": 30_000,
    "online_steps": 20_000,
    "episodes": 5,
    "eval_points": 10,
    "sac_set": ["algo.learning_starts=5000", "algo.hidden_sizes=[128,128]"],
    "offline_set": ["algo.hidden_sizes=[64,64,64]", "algo.num_q=5"],
    "online_set": ["algo.hidden_sizes=[64,64,64]", "algo.num_q=5", "algo.learning_starts=1000"],
    "so2_set": ["algo.batch_size=256"],
    "naive_set": ["algo.batch_size=256"],
}
Q_ERROR_SEED = 100_000  # episode seeds of the Q-error measurement: this + the online step
CPU_REPORT = REPO / "benchmarks" / "reports" / "so2-cpu"


def rlsuite(*args: str, log: Path) -> str:
    """Run ``python -m rlsuite.cli ARGS`` with this checkout on the path; raise with the log's tail."""
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    env.setdefault("OMP_NUM_THREADS", "1")
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "rlsuite.cli", *args], capture_output=True, text=True, env=env, cwd=REPO
    )
    log.write_text(f"$ rlsuite {' '.join(args)}\n{result.stdout}\n{result.stderr}")
    if result.returncode != 0:
        raise RuntimeError(f"rlsuite {args[0]} failed ({log}):\n{result.stderr[-2000:]}")
    print(f"  rlsuite {' '.join(args[:2])} ... {time.perf_counter() - started:.0f}s", flush=True)
    return result.stdout


def train(config: str, run_dir: Path, overrides: list[str], log: Path) -> Path:
    if not (run_dir / SUMMARY).exists():
        rlsuite("train", config, "--quiet", f"run_dir={run_dir}", "resume=auto", *overrides, log=log)
    return run_dir


def eval_rows(run_dir: Path) -> list[tuple[int, float]]:
    """``(step, eval/return_mean)`` of every evaluation in a run's metrics.csv."""
    with (run_dir / "metrics.csv").open() as handle:
        return [
            (int(row["step"]), float(row["eval/return_mean"]))
            for row in csv.DictReader(handle)
            if row.get("eval/return_mean")
        ]


def medium_checkpoint(sac_dir: Path, env_id: str) -> tuple[Path, float, float]:
    """The kept checkpoint whose evaluation is closest to a third of the way from random to the run's best.

    "Random" is D4RL's random reference return for the task (the lowest evaluation for other envs), so
    medium sits at about 1/3 of this SAC run's expert on D4RL's normalised scale. Returns (path, its
    evaluation return, the best evaluation return).
    """
    evals = dict(eval_rows(sac_dir))
    kept = {int(p.stem.split("_")[1]): p for p in (sac_dir / "checkpoints").glob("step_*.pt")}
    candidates = {step: evals[step] for step in kept if step in evals}
    if not candidates:
        raise RuntimeError(f"{sac_dir}: no checkpoint at an evaluation step (check --sac-every)")
    best = max(evals.values())
    refs = reference_returns(env_id)
    random_return = refs[0] if refs else min(evals.values())
    target = random_return + (best - random_return) / 3.0
    step = min(candidates, key=lambda s: (abs(candidates[s] - target), s))
    return kept[step], candidates[step], best


def prepare_env(task: str, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """Stages 1-5 for one env: SAC, medium checkpoint, dataset, EDAC checkpoint, its step-0 score."""
    logs = out / "logs" / task
    sac_dir = train(
        f"experiments/sac/{task}.yaml",
        out / "sac" / task,
        [
            f"total_steps={args.sac_steps}",
            f"eval.every_steps={args.sac_every}",
            f"checkpoint.every_steps={args.sac_every}",
            f"checkpoint.keep={args.sac_steps // args.sac_every + 1}",
            "checkpoint.save_replay_buffer=false",
            f"eval.episodes={args.episodes}",
            *args.sac_set,
        ],
        logs / "sac.log",
    )
    env_id = f"rlsuite/{TASKS[task]}-v5"
    checkpoint, medium_return, best = medium_checkpoint(sac_dir, env_id)
    dataset = out / "data" / f"{task}-medium.hdf5"
    if not dataset.exists():
        rlsuite(
            "data", "collect", "--level", "medium", "--policy", str(checkpoint),
            "--steps", str(args.dataset_steps), "--seed", "0", "--out", str(dataset),
            log=logs / "collect.log",
        )  # fmt: skip
    edac_dir = train(
        f"experiments/offline/edac_{task}_medium.yaml",
        out / "edac" / task,
        [f"offline.dataset={dataset}", f"total_steps={args.offline_steps}", f"eval.episodes={args.episodes}",
         f"eval.every_steps={args.offline_steps}", *args.offline_set],
        logs / "edac.log",
    )  # fmt: skip
    step0_file = out / "edac" / task / "step0_eval.json"
    if not step0_file.exists():
        text = rlsuite("eval", str(edac_dir), "--episodes", str(args.episodes), log=logs / "eval.log")
        step0_file.write_text(text[text.index("{") :])
    step0 = json.loads(step0_file.read_text())["return_mean"]
    step0_q_error = None
    if args.q_error:
        q_file = out / "edac" / task / "step0_q_error.json"
        if not q_file.exists():
            checkpoint = max(
                (edac_dir / "checkpoints").glob("step_*.pt"), key=lambda p: int(p.stem.split("_")[1])
            )
            q_file.write_text(json.dumps(checkpoint_q_error(checkpoint, args.episodes, Q_ERROR_SEED)))
        step0_q_error = json.loads(q_file.read_text())
    return {
        "env_id": env_id,
        "medium_checkpoint": str(checkpoint),
        "medium_policy_return": medium_return,
        "sac_best_return": best,
        "dataset": str(dataset),
        "edac_run": str(edac_dir),
        "step0_return": step0,
        "step0_score": normalized_score(env_id, step0),
        "step0_q_error": step0_q_error,
    }


def fine_tune(task: str, variant: str, seed: int, prepared: dict, args, out: Path) -> dict[str, Any]:
    """One fine-tuning run: its normalised score at every evaluation step (0 = the checkpoint) and, with
    ``--q-error``, the Q-value estimation error of its checkpoint at each of those steps."""
    every = args.online_steps // args.eval_points
    run_dir = train(
        f"experiments/so2/{VARIANTS[variant].format(task=task)}",
        out / variant / task / f"s{seed}",
        [f"seed={seed}", f"total_steps={args.online_steps}", f"eval.every_steps={every}",
         f"eval.episodes={args.episodes}", f"checkpoint.every_steps={every}",
         f"checkpoint.keep={args.eval_points + 1}",
         f"offline.dataset={prepared['dataset']}", f"offline.init_from={prepared['edac_run']}",
         *args.online_set, *getattr(args, f"{variant}_set")],
        out / "logs" / task / f"{variant}-s{seed}.log",
    )  # fmt: skip
    scores = {0: prepared["step0_score"]}
    scores.update({step: normalized_score(prepared["env_id"], ret) for step, ret in eval_rows(run_dir)})
    record: dict[str, Any] = {"scores": scores}
    if args.q_error:
        q_errors = {0: prepared["step0_q_error"]}
        q_errors.update(run_q_errors(run_dir, args.episodes))
        record["q_error"] = q_errors
    return record


def checkpoint_q_error(checkpoint: Path, episodes: int, seed: int) -> dict[str, float]:
    """The Q-value estimation error (``rlsuite.offline.q_error``) of one checkpoint's learner."""
    import torch

    from rlsuite.algos.base import Algorithm
    from rlsuite.offline.q_error import q_estimation_error

    torch.set_num_threads(1)
    with warnings.catch_warnings():  # fine-tuning checkpoints hold no replay: irrelevant to a measurement
        warnings.simplefilter("ignore", UserWarning)
        algo = Algorithm.from_checkpoint(checkpoint, device="cpu")
    try:
        return q_estimation_error(algo, episodes=episodes, seed=seed).as_dict()
    finally:
        algo.close()


def run_q_errors(run_dir: Path, episodes: int) -> dict[int, dict[str, float]]:
    """Q-value estimation error at every kept checkpoint of a finished run (cached in the run folder).
    Episode seeds depend on the step only, so SO2 and naive meet the same start states."""
    cache = run_dir / "q_error.json"
    if cache.exists():
        return {int(step): value for step, value in json.loads(cache.read_text()).items()}
    errors = {}
    for checkpoint in sorted((run_dir / "checkpoints").glob("step_*.pt")):
        step = int(checkpoint.stem.split("_")[1])
        errors[step] = checkpoint_q_error(checkpoint, episodes, seed=Q_ERROR_SEED + step)
    cache.write_text(json.dumps(errors, indent=1))
    return errors


def statistics(values: list[float]) -> dict[str, float]:
    low, high = bootstrap_ci(values, "mean", resamples=10_000, seed=0)
    return {
        "mean": sum(values) / len(values),
        "iqm": iqm(values),
        "ci_low": low,
        "ci_high": high,
        "n": len(values),
    }


def point_label(point: int) -> str:
    return f"{point / 1000:g}k" if point >= 1000 else str(point)


def score_table(results: dict, points: list[int], args: argparse.Namespace) -> tuple[list[str], dict]:
    """Markdown rows and statistics of the D4RL-normalised scores (per env x variant, and pooled)."""
    lines = ["| env | algorithm | " + " | ".join(point_label(p) for p in points) + " |"]
    lines.append("|" + "---|" * (len(points) + 2))
    table: dict[str, Any] = {}
    for variant in VARIANTS:
        pooled: dict[int, list[float]] = {p: [] for p in points}
        for task in args.envs:
            runs = results[task]["runs"][variant]
            cells = []
            for point in points:
                values = [runs[str(seed)]["scores"][point] for seed in args.seeds]
                pooled[point] += values
                stats = statistics(values)
                table.setdefault(task, {}).setdefault(variant, {})[point] = stats
                ci = f"{stats['ci_low']:.1f}–{stats['ci_high']:.1f}"
                cells.append(f"{stats['mean']:.1f} (IQM {stats['iqm']:.1f}; {ci})")
            lines.append(f"| {task}-medium | {variant} | " + " | ".join(cells) + " |")
        if len(args.envs) > 1:
            cells = []
            for point in points:
                low, high = bootstrap_ci(pooled[point], "iqm", resamples=10_000, seed=0)
                table.setdefault("all", {}).setdefault(variant, {})[point] = {
                    "iqm": iqm(pooled[point]),
                    "ci_low": low,
                    "ci_high": high,
                }
                cells.append(f"IQM {iqm(pooled[point]):.1f} ({low:.1f}–{high:.1f})")
            lines.append(f"| all | {variant} | " + " | ".join(cells) + " |")
    return lines, table


def q_error_table(results: dict, points: list[int], args: argparse.Namespace) -> tuple[list[str], dict]:
    """Markdown rows and statistics of the Q-value estimation error (bias and |error| of the ensemble-
    mean Q against Monte-Carlo returns), mean over seeds with a 95% bootstrap CI."""
    lines = ["| env | algorithm | measure | " + " | ".join(point_label(p) for p in points) + " |"]
    lines.append("|" + "---|" * (len(points) + 3))
    table: dict[str, Any] = {}
    for task in args.envs:
        for variant in VARIANTS:
            runs = results[task]["runs"][variant]
            for measure in ("bias", "abs_error", "relative_bias"):
                cells = []
                for point in points:
                    values = [runs[str(seed)]["q_error"].get(point, {}).get(measure) for seed in args.seeds]
                    values = [v for v in values if v is not None and v == v]  # drop missing and NaN
                    if not values:
                        cells.append("–")
                        continue
                    stats = statistics(values)
                    table.setdefault(task, {}).setdefault(variant, {}).setdefault(measure, {})[point] = stats
                    cells.append(f"{stats['mean']:.2f} ({stats['ci_low']:.2f}–{stats['ci_high']:.2f})")
                lines.append(f"| {task}-medium | {variant} | {measure} | " + " | ".join(cells) + " |")
    return lines, table


def report(results: dict, points: list[int], args: argparse.Namespace) -> tuple[str, dict]:
    lines, table = score_table(results, points, args)
    if args.tiny:
        budget = "TINY budget (pipeline check, not a measurement)"
    else:
        budget = "CPU-scale protocol" if args.cpu else "full budget"
    text = (
        f"# SO2 vs naive fine-tuning: D4RL-normalised score ({budget})\n\n"
        f"online steps {args.online_steps}, seeds {args.seeds}, eval episodes {args.episodes}; "
        "cells: mean over seeds (IQM over seeds; 95% bootstrap CI of the mean); "
        "'all': IQM over env x seed runs\n\n" + "\n".join(lines) + "\n"
    )
    if args.q_error:
        q_lines, q_table = q_error_table(results, points, args)
        table = {"scores": table, "q_error": q_table}
        text += (
            "\n## Q-value estimation error (ensemble-mean Q minus Monte-Carlo discounted return)\n\n"
            f"{args.episodes} deterministic episodes per checkpoint (the same episode seeds for both "
            "variants at each step), every kept state (the last 299 steps of time-limit-truncated "
            "episodes left out); bias = mean(Q - G), abs_error = mean |Q - G|, relative_bias = "
            "bias / mean |G|; cells: mean over seeds (95% bootstrap CI of the mean)\n\n"
            + "\n".join(q_lines)
            + "\n"
        )
    return text, table


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--envs", nargs="+", default=None, choices=list(TASKS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--tiny", action="store_true", help="shrink every budget: a pipeline check")
    parser.add_argument("--cpu", action="store_true", help="the CPU-scale protocol (CPU above), with Q-error")
    parser.add_argument("--sac-steps", type=int, default=1_000_000)
    parser.add_argument("--sac-every", type=int, default=20_000, help="SAC eval + checkpoint period")
    parser.add_argument("--dataset-steps", type=int, default=1_000_000)
    parser.add_argument("--offline-steps", type=int, default=1_000_000, help="EDAC gradient steps")
    parser.add_argument("--online-steps", type=int, default=100_000)
    parser.add_argument("--eval-points", type=int, default=4, help="evaluations along the online budget")
    parser.add_argument("--episodes", type=int, default=10, help="evaluation episodes")
    parser.add_argument(
        "--q-error", action="store_true", help="measure Q vs Monte-Carlo returns (on with --cpu)"
    )
    parser.add_argument(
        "--report-dir",
        type=Path,
        default=None,
        help="also write the report here (--cpu: " + str(CPU_REPORT) + ")",
    )
    for name in ("sac", "offline", "online", "so2", "naive"):
        parser.add_argument(
            f"--{name}-set", nargs="*", default=[], metavar="KEY=VALUE", help=f"{name} overrides"
        )
    args = parser.parse_args(argv)
    user_sets = {key: list(getattr(args, key)) for key, value in CPU.items() if isinstance(value, list)}
    if args.cpu:
        args.q_error = True
        if args.report_dir is None and not args.tiny:
            args.report_dir = CPU_REPORT
        for key, value in CPU.items():
            setattr(args, key, value + getattr(args, key) if isinstance(value, list) else value)
    if args.tiny:  # after --cpu: --cpu --tiny runs the CPU protocol's pipeline at the tiny budget
        for key, value in TINY.items():
            setattr(args, key, value + user_sets.get(key, []) if isinstance(value, list) else value)
    args.envs = args.envs or (["hopper"] if args.cpu else list(TASKS))
    if args.eval_points < 1 or args.online_steps % args.eval_points:
        parser.error("--eval-points must be >= 1 and divide --online-steps")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    for task in args.envs:
        print(f"{task}:", flush=True)
        prepared = prepare_env(task, args, args.out)
        runs = {
            v: {str(s): fine_tune(task, v, s, prepared, args, args.out) for s in args.seeds} for v in VARIANTS
        }
        results[task] = {**prepared, "runs": runs}
    every = args.online_steps // args.eval_points
    points = [0, *(every * i for i in range(1, args.eval_points + 1))]
    text, table = report(results, points, args)
    document = {
        "tiny": args.tiny,
        "cpu": args.cpu,
        "settings": {k: v for k, v in vars(args).items() if k not in ("out", "report_dir")},
        "points": points,
        "results": results,
        "statistics": table,
    }
    for folder in filter(None, [args.out, args.report_dir]):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "report.md").write_text(text)
        (folder / "report.json").write_text(json.dumps(document, indent=2, default=str))
    print(text)


if __name__ == "__main__":
    main()
