"""Learning comparison on the SMAC simulator: ACE vs QMIX vs MAPPO, test win rate against env steps.

    python benchmarks/bench_marl_smac.py --maps 2s3z 5m_vs_6m --algos ace qmix mappo --seeds 3 \
        --steps 200000 --eval-every 25000 --out runs/marl-smac [--set-ace algo.hidden=64 ...]

Every run is ``rlsuite train experiments/<algo>/<map>.yaml`` in its own subprocess with
``seed=S total_steps=STEPS eval.every_steps=E eval.episodes=32 run_dir=OUT/runs/<algo>/<map>/s<S>
resume=auto`` plus the ``--set`` / ``--set-<algo>`` overrides, so a benchmark cut short is continued by
running the same command again (finished runs, those with ``summary.json``, are skipped; a failed run is
recorded and the others go on).

Reported per map and algorithm, from each run's ``metrics.csv`` (``eval/win_rate`` at every evaluation:
32 greedy games on a separate env) and ``summary.json``: the win-rate curve (mean over seeds at each
evaluation step), the final win rate's mean and IQM over seeds with a 95% percentile bootstrap CI of the
mean over seeds (seeded, 10k resamples; with fewer than 4 seeds nothing is trimmed and the IQM is the
mean), and training env-steps/s (``sps``: env steps per second of collect + update
time, evaluation excluded). Output: Markdown on stdout and in OUT/results.md, all numbers in
OUT/results.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rlsuite.core.stats import bootstrap_ci, iqm  # noqa: E402


def run_one(algo: str, map_name: str, seed: int, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    run_dir = out / "runs" / algo / map_name / f"s{seed}"
    summary = run_dir / "summary.json"
    if not summary.exists():
        overrides = [
            f"seed={seed}",
            f"total_steps={args.steps}",
            f"eval.every_steps={args.eval_every}",
            f"eval.episodes={args.eval_episodes}",
            f"run_dir={run_dir}",
            "resume=auto",
            "log.progress=false",
            f"torch_threads={args.threads}",
            "log.tensorboard=false",
            *args.set,
            *getattr(args, f"set_{algo}"),
        ]
        cmd = [
            sys.executable,
            "-m",
            "rlsuite.cli",
            "train",
            str(REPO / f"experiments/{algo}/{map_name}{getattr(args, 'config_suffix', '')}.yaml"),
            "--quiet",
            *overrides,
        ]
        started = time.time()
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}
        )
        if proc.returncode != 0:
            return {"algo": algo, "map": map_name, "seed": seed, "error": proc.stderr[-2000:]}
        print(f"{algo} {map_name} s{seed}: {time.time() - started:.0f} s", file=sys.stderr, flush=True)
    data = json.loads(summary.read_text())
    curve = []
    with open(run_dir / "metrics.csv") as f:
        for row in csv.DictReader(f):
            if row.get("eval/win_rate"):
                curve.append((int(row["step"]), float(row["eval/win_rate"])))
    return {
        "algo": algo,
        "map": map_name,
        "seed": seed,
        "win_rate": data.get("win_rate"),
        "return": data.get("eval_return_mean"),
        "sps": data.get("sps"),
        "curve": curve,
        "wall_s": data.get("wall_s"),
    }


def aggregate(
    results: list[dict[str, Any]], maps: list[str], algos: list[str], eval_every: int
) -> tuple[str, dict]:
    lines = [
        "| map | algo | seeds | final win rate mean | IQM | 95% CI (mean) | final return | train env-steps/s "
        "| curve (step: mean win rate) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    table: dict[str, Any] = {}
    for m in maps:
        for a in algos:
            runs = [r for r in results if r["map"] == m and r["algo"] == a and r.get("win_rate") is not None]
            if not runs:
                continue
            wins = np.array([r["win_rate"] for r in runs])
            low, high = bootstrap_ci(wins, "mean", seed=0)
            # Evaluations land on the first iteration past each multiple of eval_every: bin them there.
            binned = [{round(t / eval_every) * eval_every: w for t, w in r["curve"]} for r in runs]
            steps = sorted(set().union(*binned))
            curve = [(s, float(np.mean([b[s] for b in binned if s in b]))) for s in steps]
            sps = float(np.mean([r["sps"] for r in runs]))
            ret = float(np.mean([r["return"] for r in runs]))
            table[f"{m}/{a}"] = {
                "wins": wins.tolist(),
                "mean": float(wins.mean()),
                "iqm": iqm(wins),
                "ci": [low, high],
                "sps": sps,
                "curve": curve,
            }
            text = ", ".join(f"{s // 1000}k: {w:.2f}" for s, w in curve)
            lines.append(
                f"| {m} | {a} | {len(runs)} | {wins.mean():.2f} | {iqm(wins):.2f} | "
                f"[{low:.2f}, {high:.2f}] | {ret:.2f} | {sps:.0f} | {text} |"
            )
    return "\n".join(lines), table


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--maps", nargs="+", default=["2s3z", "5m_vs_6m"])
    p.add_argument("--algos", nargs="+", default=["ace", "qmix", "mappo"])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--steps", type=int, default=200_000)
    p.add_argument("--eval-every", type=int, default=25_000)
    p.add_argument("--eval-episodes", type=int, default=32)
    p.add_argument("--threads", type=int, default=1, help="torch threads per run")
    p.add_argument("--jobs", type=int, default=1, help="runs in parallel")
    p.add_argument("--out", type=Path, default=Path("runs/marl-smac"))
    p.add_argument("--set", nargs="*", default=[], help="overrides for every run")
    for algo in ("ace", "qmix", "mappo", "vdn"):
        p.add_argument(f"--set-{algo}", nargs="*", default=[], help=f"overrides for {algo} runs")
    args = p.parse_args()
    jobs = [(a, m, s) for m in args.maps for a in args.algos for s in range(args.seeds)]
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda j: run_one(*j, args, args.out), jobs))
    for r in results:
        if "error" in r:
            print(f"FAILED {r['algo']} {r['map']} s{r['seed']}:\n{r['error']}", file=sys.stderr)
    text, table = aggregate(results, args.maps, args.algos, args.eval_every)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.md").write_text(text + "\n")
    (args.out / "results.json").write_text(
        json.dumps(
            {"args": vars(args) | {"out": str(args.out)}, "results": results, "table": table},
            indent=1,
            default=str,
        )
    )
    print(text)


if __name__ == "__main__":
    main()
