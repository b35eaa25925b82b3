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
    return {
        "env_id": env_id,
        "medium_checkpoint": str(checkpoint),
        "medium_policy_return": medium_return,
        "sac_best_return": best,
        "dataset": str(dataset),
        "edac_run": str(edac_dir),
        "step0_return": step0,
        "step0_score": normalized_score(env_id, step0),
    }


def fine_tune(task: str, variant: str, seed: int, prepared: dict, args, out: Path) -> dict[int, float]:
    """One fine-tuning run; its normalised score at every evaluation step (0 = the checkpoint)."""
    run_dir = train(
        f"experiments/so2/{VARIANTS[variant].format(task=task)}",
        out / variant / task / f"s{seed}",
        [f"seed={seed}", f"total_steps={args.online_steps}", f"eval.every_steps={args.online_steps // 4}",
         f"eval.episodes={args.episodes}", f"checkpoint.every_steps={args.online_steps // 4}",
         f"offline.dataset={prepared['dataset']}", f"offline.init_from={prepared['edac_run']}",
         *args.online_set, *getattr(args, f"{variant}_set")],
        out / "logs" / task / f"{variant}-s{seed}.log",
    )  # fmt: skip
    scores = {0: prepared["step0_score"]}
    scores.update({step: normalized_score(prepared["env_id"], ret) for step, ret in eval_rows(run_dir)})
    return scores


def statistics(values: list[float]) -> dict[str, float]:
    low, high = bootstrap_ci(values, "mean", resamples=10_000, seed=0)
    return {
        "mean": sum(values) / len(values),
        "iqm": iqm(values),
        "ci_low": low,
        "ci_high": high,
        "n": len(values),
    }


def report(results: dict, points: list[int], args: argparse.Namespace) -> tuple[str, dict]:
    header = (
        "| env | algorithm | " + " | ".join(f"{p // 1000}k" if p >= 1000 else str(p) for p in points) + " |"
    )
    lines = [header, "|" + "---|" * (len(points) + 2)]
    table: dict[str, Any] = {}
    for variant in VARIANTS:
        pooled: dict[int, list[float]] = {p: [] for p in points}
        for task in args.envs:
            runs = results[task]["runs"][variant]
            cells = []
            for point in points:
                values = [runs[str(seed)][point] for seed in args.seeds]
                pooled[point] += values
                stats = statistics(values)
                table.setdefault(task, {}).setdefault(variant, {})[point] = stats
                ci = f"{stats['ci_low']:.1f}–{stats['ci_high']:.1f}"
                cells.append(f"{stats['mean']:.1f} (IQM {stats['iqm']:.1f}; {ci})")
            lines.append(f"| {task}-medium | {variant} | " + " | ".join(cells) + " |")
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
    budget = "TINY budget (pipeline check, not a measurement)" if args.tiny else "full budget"
    text = (
        f"# SO2 vs naive fine-tuning: D4RL-normalised score ({budget})\n\n"
        f"online steps {args.online_steps}, seeds {args.seeds}, eval episodes {args.episodes}; "
        "cells: mean over seeds (IQM over seeds; 95% bootstrap CI of the mean); "
        "'all': IQM over env x seed runs\n\n" + "\n".join(lines) + "\n"
    )
    return text, table


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--envs", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--tiny", action="store_true", help="shrink every budget: a pipeline check")
    parser.add_argument("--sac-steps", type=int, default=1_000_000)
    parser.add_argument("--sac-every", type=int, default=20_000, help="SAC eval + checkpoint period")
    parser.add_argument("--dataset-steps", type=int, default=1_000_000)
    parser.add_argument("--offline-steps", type=int, default=1_000_000, help="EDAC gradient steps")
    parser.add_argument("--online-steps", type=int, default=100_000)
    parser.add_argument("--episodes", type=int, default=10, help="evaluation episodes")
    for name in ("sac", "offline", "online", "so2", "naive"):
        parser.add_argument(
            f"--{name}-set", nargs="*", default=[], metavar="KEY=VALUE", help=f"{name} overrides"
        )
    args = parser.parse_args()
    if args.tiny:
        for key, value in TINY.items():
            setattr(args, key, value + getattr(args, key) if isinstance(value, list) else value)
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    for task in args.envs:
        print(f"{task}:", flush=True)
        prepared = prepare_env(task, args, args.out)
        runs = {
            v: {str(s): fine_tune(task, v, s, prepared, args, args.out) for s in args.seeds} for v in VARIANTS
        }
        results[task] = {**prepared, "runs": runs}
    q = args.online_steps // 4
    points = [0, q, 2 * q, 4 * q]
    text, table = report(results, points, args)
    (args.out / "report.md").write_text(text)
    (args.out / "report.json").write_text(
        json.dumps(
            {"tiny": args.tiny, "points": points, "results": results, "statistics": table},
            indent=2,
            default=str,
        )
    )
    print(text)


if __name__ == "__main__":
    main()
