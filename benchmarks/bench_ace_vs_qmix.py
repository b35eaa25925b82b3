"""ACE vs QMIX (MAPPO optional) on hard SMAC maps: win-rate curves and final win rates, several seeds.

    python benchmarks/bench_ace_vs_qmix.py --cpu --jobs 2                            # the CPU protocol
    python benchmarks/bench_ace_vs_qmix.py --scale cpu --steps 100000 --jobs 2      # CPU budget
    python benchmarks/bench_ace_vs_qmix.py --scale paper --steps 2000000 --jobs 2   # the papers' scale

The claim tested is ACE's (Li et al., AAAI 2023, arXiv:2211.16068): ACE ahead of QMIX on hard maps.
Every run is ``rlsuite train experiments/<algo>/<map>.yaml`` in its own subprocess (through
``benchmarks/bench_marl_smac.py``'s runner) with ``seed=S total_steps=STEPS eval.every_steps=E
eval.episodes=32 run_dir=OUT/runs/<algo>/<map>/s<S> resume=auto``, so the same command continues a
benchmark cut short: finished runs (``summary.json``) are skipped and a killed run resumes from its
latest checkpoint (``--checkpoint-every``). Evaluation: ``--eval-episodes`` greedy battles on a separate
env every ``--eval-every`` env steps.

``--cpu`` is the CPU-scale protocol (BENCHMARKS.md, "ACE vs QMIX at CPU scale"): ACE and QMIX on
4m_vs_5m and 3s_vs_4z (stand-ins for 5m_vs_6m and 3s_vs_5z), 200k env steps, 3 seeds, from
``experiments/<algo>/<map>_cpu.yaml``, whose comments give every scale-down against the released settings;
no further preset overrides. ``--cpu --maps 3s_vs_3z`` runs the kiting rung below 3s_vs_4z, where both
learners win within 200k steps (BENCHMARKS.md, "3s_vs_3z, 3 seeds at 200k").

``--scale paper`` uses the shipped configs unchanged (ACE: the released configuration, H = 256, 50
gradient steps of 320 transitions per 32 games; QMIX and MAPPO: PyMARL / the MAPPO paper's settings).
``--scale cpu`` keeps QMIX and MAPPO as shipped and sizes ACE for a CPU (:func:`cpu_ace_overrides`:
H = 64, batches of 64, about half the released transitions sampled per game, epsilon over 20% of the
budget, cosine learning rate over half of it, no auxiliary loss); extra ``--set-<algo> key=value``
overrides go after the preset.

Report (``--report``, default benchmarks/reports/ace-vs-qmix): ``report.md`` (the command, per map
and algorithm the final win rate's mean, IQM and 95% percentile bootstrap CI over seeds, the mean
curve with its per-step bootstrap band, ACE - QMIX at every common evaluation step with a bootstrap
CI of the difference, training env-steps/s), ``results.json`` (every seed's curve and figures) and
``figures/curves_<map>.png``. Run folders (checkpoints, metrics) stay under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_marl_smac import run_one  # noqa: E402

from rlsuite.core.stats import bootstrap_ci, iqm  # noqa: E402

ALGOS = ("ace", "qmix", "mappo")
# The CPU-scale protocol (``--cpu``): maps, budget and the algorithms it has configs for
# (experiments/<algo>/<map>_cpu.yaml, every scale-down against the released settings in their comments).
CPU_MAPS = ("4m_vs_5m", "3s_vs_4z")
CPU_STEPS = 200_000
CPU_ALGOS = ("ace", "qmix")


def cpu_ace_overrides(steps: int) -> list[str]:
    """ACE sized for a 2-core CPU (see the module docstring); schedules scaled to the budget."""
    return [
        "algo.hidden=64",
        "algo.batch_size=64",
        "algo.episodes_per_collect=8",
        "algo.updates_per_collect=32",  # 2,048 transitions per 8 games: half the released 4,000
        f"algo.eps_decay_steps={max(steps // 5, 1000)}",
        f"algo.lr_tmax={max(steps // 2, 1000)}",
        "algo.aux_weight=0",  # at this size weight 10 delays learning (BENCHMARKS.md, ACE's auxiliary loss)
        "torch_threads=1",
    ]


def run_overrides(args: argparse.Namespace) -> dict[str, list[str]]:
    """Per-algorithm overrides: the scale preset, then the user's ``--set-<algo>``.

    ``--cpu`` adds none: its configs (``<map>_cpu.yaml``) hold the whole protocol.
    """
    common = [f"checkpoint.every_steps={args.checkpoint_every}", "log.every_steps=10000"]
    preset = {a: [] for a in ALGOS}
    if args.scale == "cpu" and not args.cpu:
        preset["ace"] = cpu_ace_overrides(args.steps)
    return {a: common + preset[a] + getattr(args, f"set_{a}") for a in ALGOS}


def bootstrap_difference(a: np.ndarray, b: np.ndarray, resamples: int = 10_000, seed: int = 0) -> list[float]:
    """95% percentile bootstrap CI of mean(a) - mean(b), seeds resampled independently per group."""
    rng = np.random.default_rng(seed)
    da = a[rng.integers(0, len(a), (resamples, len(a)))].mean(1)
    db = b[rng.integers(0, len(b), (resamples, len(b)))].mean(1)
    low, high = np.percentile(da - db, [2.5, 97.5])
    return [float(low), float(high)]


def seed_curves(runs: list[dict[str, Any]], eval_every: int) -> tuple[list[int], np.ndarray]:
    """Evaluation steps common to all seeds (binned to multiples of eval_every) and [seeds, steps] wins."""
    binned = [{round(t / eval_every) * eval_every: w for t, w in r["curve"]} for r in runs]
    steps = sorted(set.intersection(*(set(b) for b in binned))) if binned else []
    return steps, np.array([[b[s] for s in steps] for b in binned], dtype=float)


def summarise(results: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for m in args.maps:
        per_algo = {}
        for a in args.algos:
            runs = [r for r in results if r["map"] == m and r["algo"] == a and r.get("win_rate") is not None]
            if not runs:
                continue
            wins = np.array([r["win_rate"] for r in runs], dtype=float)
            steps, curves = seed_curves(runs, args.eval_every)
            bands = [bootstrap_ci(curves[:, i], "mean", seed=0) for i in range(len(steps))]
            per_algo[a] = {
                "seeds": [r["seed"] for r in runs],
                "final_wins": wins.tolist(),
                "mean": float(wins.mean()),
                "iqm": iqm(wins),
                "ci": list(bootstrap_ci(wins, "mean", seed=0)),
                "steps": steps,
                "curve_mean": curves.mean(0).tolist() if len(steps) else [],
                "curve_ci": [list(b) for b in bands],
                "curve_per_seed": curves.tolist(),
                "sps": float(np.mean([r["sps"] for r in runs])),
                "wall_s": float(np.sum([r["wall_s"] or 0 for r in runs])),
            }
        table[m] = {"algos": per_algo, "ace_minus_qmix": ace_minus_qmix(per_algo)}
    return table


def ace_minus_qmix(per_algo: dict[str, Any]) -> list[dict[str, Any]]:
    if "ace" not in per_algo or "qmix" not in per_algo:
        return []
    ace, qmix = per_algo["ace"], per_algo["qmix"]
    out = []
    for step in sorted(set(ace["steps"]) & set(qmix["steps"])):
        a = np.array(ace["curve_per_seed"])[:, ace["steps"].index(step)]
        q = np.array(qmix["curve_per_seed"])[:, qmix["steps"].index(step)]
        out.append({"step": step, "diff": float(a.mean() - q.mean()), "ci": bootstrap_difference(a, q)})
    return out


def markdown(table: dict[str, Any], args: argparse.Namespace, command: str) -> str:
    lines = [
        f"# ACE vs QMIX on {', '.join(args.maps)}",
        "",
        f"Command: `{command}`",
        "",
        f"Scale `{'cpu protocol (--cpu, <map>_cpu.yaml configs)' if args.cpu else args.scale}`, "
        f"{args.steps:,} env steps per run, {args.seeds} seeds, "
        f"{args.eval_episodes} greedy battles every {args.eval_every:,} steps. CI: 95% percentile bootstrap "
        "of the mean over seeds (10k resamples); with fewer than 4 seeds the IQM is the mean.",
        "",
        "| map | algo | seeds | final win rate (mean) | IQM | 95% CI | train env-steps/s | mean curve |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m, entry in table.items():
        for a, r in entry["algos"].items():
            curve = ", ".join(
                f"{s / 1000:g}k: {w:.2f}" for s, w in zip(r["steps"], r["curve_mean"], strict=True)
            )
            lines.append(
                f"| {m} | {a} | {len(r['final_wins'])} | {r['mean']:.2f} | {r['iqm']:.2f} | "
                f"[{r['ci'][0]:.2f}, {r['ci'][1]:.2f}] | {r['sps']:.0f} | {curve} |"
            )
    for m, entry in table.items():
        if entry["ace_minus_qmix"]:
            lines += ["", f"ACE - QMIX mean win rate on {m} (95% bootstrap CI of the difference):", ""]
            lines += [
                f"- {d['step']:,}: {d['diff']:+.2f} [{d['ci'][0]:+.2f}, {d['ci'][1]:+.2f}]"
                for d in entry["ace_minus_qmix"]
            ]
            ahead = all(d["diff"] >= 0 for d in entry["ace_minus_qmix"])
            lines.append(f"- ACE >= QMIX (mean) at every evaluation: **{'yes' if ahead else 'no'}**")
        if entry["algos"]:
            lines += ["", f"![win rate on {m}](figures/curves_{m}.png)"]
    return "\n".join(lines) + "\n"


def plot(table: dict[str, Any], folder: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    for m, entry in table.items():
        if not entry["algos"]:
            continue
        fig, ax = plt.subplots(figsize=(5, 3.2))
        for a, r in entry["algos"].items():
            steps = np.array(r["steps"])
            ax.plot(steps, r["curve_mean"], label=f"{a} ({len(r['final_wins'])} seeds)")
            if r["curve_ci"]:
                band = np.array(r["curve_ci"])
                ax.fill_between(steps, band[:, 0], band[:, 1], alpha=0.2)
        ax.set(title=m, xlabel="env steps", ylabel="greedy win rate", ylim=(-0.02, 1.02))
        ax.legend()
        fig.tight_layout()
        fig.savefig(folder / f"curves_{m}.png", dpi=100)
        plt.close(fig)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--cpu",
        action="store_true",
        help=f"the CPU-scale protocol: experiments/<algo>/<map>_cpu.yaml, maps {' '.join(CPU_MAPS)}, "
        f"{CPU_STEPS:,} steps unless --maps/--steps say otherwise (BENCHMARKS.md)",
    )
    p.add_argument("--scale", choices=("cpu", "paper"), default="cpu")
    p.add_argument("--maps", nargs="+", default=None, help="default: 5m_vs_6m 3s_vs_5z; with --cpu its maps")
    p.add_argument("--algos", nargs="+", choices=ALGOS, default=["ace", "qmix"])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument(
        "--steps", type=int, default=None, help="env steps per run (default 100,000; --cpu: its budget)"
    )
    p.add_argument("--eval-every", type=int, default=None, help="default: steps / 10")
    p.add_argument("--eval-episodes", type=int, default=32)
    p.add_argument("--checkpoint-every", type=int, default=None, help="default: steps / 4")
    p.add_argument("--threads", type=int, default=1, help="torch threads per run")
    p.add_argument("--jobs", type=int, default=2, help="runs in parallel")
    p.add_argument("--out", type=Path, default=Path("runs/ace-vs-qmix"), help="run folders")
    p.add_argument("--report", type=Path, default=REPO / "benchmarks/reports/ace-vs-qmix")
    p.add_argument("--set", nargs="*", default=[], help="overrides for every run")
    for algo in (*ALGOS, "vdn"):
        p.add_argument(f"--set-{algo}", nargs="*", default=[], help=f"overrides for {algo} runs")
    args = p.parse_args(argv)
    if args.cpu and args.scale != "cpu":
        p.error("--cpu is the CPU-scale protocol; it cannot be combined with --scale paper")
    if args.cpu and not set(args.algos) <= set(CPU_ALGOS):
        p.error(f"--cpu has configs for {', '.join(CPU_ALGOS)} only; got --algos {' '.join(args.algos)}")
    args.config_suffix = "_cpu" if args.cpu else ""
    args.maps = args.maps or list(CPU_MAPS if args.cpu else ("5m_vs_6m", "3s_vs_5z"))
    args.steps = args.steps or (CPU_STEPS if args.cpu else 100_000)
    missing = [
        f"experiments/{a}/{m}{args.config_suffix}.yaml"
        for a in args.algos
        for m in args.maps
        if not (REPO / f"experiments/{a}/{m}{args.config_suffix}.yaml").exists()
    ]
    if missing:
        p.error(f"no config for --maps/--algos: {', '.join(missing)}")
    args.eval_every = args.eval_every or max(args.steps // 10, 1)
    args.checkpoint_every = args.checkpoint_every or max(args.steps // 4, 1)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = shlex.join(
        ["python", "benchmarks/bench_ace_vs_qmix.py", *(sys.argv[1:] if argv is None else argv)]
    )
    overrides = run_overrides(args)
    for algo in ALGOS:  # bench_marl_smac.run_one reads args.set_<algo>
        setattr(args, f"set_{algo}", overrides[algo])
    jobs = [(a, m, s) for m in args.maps for s in range(args.seeds) for a in args.algos]
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda j: run_one(*j, args, args.out), jobs))
    failed = [r for r in results if "error" in r]
    for r in failed:
        print(f"FAILED {r['algo']} {r['map']} s{r['seed']}:\n{r['error']}", file=sys.stderr)
    table = summarise(results, args)
    args.report.mkdir(parents=True, exist_ok=True)
    text = markdown(table, args, command)
    (args.report / "report.md").write_text(text)
    record = {"command": command, "args": {k: str(v) for k, v in vars(args).items()}, "table": table}
    record["runs"] = results
    (args.report / "results.json").write_text(json.dumps(record, indent=1, default=str))
    plot(table, args.report / "figures")
    print(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
