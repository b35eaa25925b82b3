"""Measured per-step costs of the MPDP vs SAC protocol and the projected wall time of the benchmark.

    python benchmarks/mpdp_cpu_costs.py --envs Hopper Walker2d            # the --cpu protocol files
    python benchmarks/mpdp_cpu_costs.py --suffix "" --envs Hopper          # the full-size files

For each task it builds MPDP and SAC from ``experiments/{mpdp,sac}/<task><suffix>.yaml``, fills a replay
buffer with ``--fill`` random env steps, then measures with ``time.process_time`` (CPU time of this
process, so a busy machine inflates it less than wall time), medians over interleaved repeats: SAC's
``train_step``, MPDP's ``train_step`` at every H in 1..horizon, one model fit (the file's epochs on the
filled buffer, as CPU time per transition-epoch), a random env step and one action of the policy. From
these it projects one 100k-step run of each algorithm (the horizon ramp, the refit schedule and subset,
evaluation episodes counted at 1,000 steps; fits at their epoch cap, so early stopping only shortens
them; not counted: process start-up and checkpoints, about 10-15 CPU seconds per run) and the
benchmark's total on ``--jobs`` idle cores with the benchmark's longest-first order.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rlsuite.algos import get_algorithm  # noqa: E402
from rlsuite.training.experiment import load_experiment  # noqa: E402

TASKS = {"hopper": "Hopper", "walker2d": "Walker2d", "halfcheetah": "HalfCheetah"}


def cpu_ms(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        out.append((time.process_time() - start) * 1e3)
    return out


def build(path: Path, fill: int, overrides: list[str]):
    config = load_experiment(path, [*overrides, f"algo.learning_starts={fill}"])
    algo = get_algorithm(config.algo.name)(config.env, config.algo, seed=0, device="cpu")
    return config, algo


def measure(task: str, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Costs of one task: ``{"median": ..., "best": ...}`` over the repeats (the best is the least
    disturbed by other processes: the work per step is the same every time)."""
    fill, repeats = args.fill, args.repeats
    mpdp_cfg, mpdp = build(REPO / f"experiments/mpdp/{task}{args.suffix}.yaml", fill, args.mpdp_set)
    _, sac = build(REPO / f"experiments/sac/{task}{args.suffix}.yaml", fill, args.sac_set)
    start = time.process_time()
    mpdp.learn(fill)  # random warm-up steps only
    env_ms = (time.process_time() - start) * 1e3 / fill
    sac.replay = mpdp.replay  # same data for both learners
    cfg = mpdp_cfg.algo
    fit_us = []
    for _ in range(3):
        start = time.process_time()
        stats = mpdp.fit_model()
        fitted = min(fill, cfg.model_fit_subset or fill)
        fit_us.append((time.process_time() - start) * 1e6 / (fitted * stats["epochs"]))
    steps = {"sac": lambda: sac.train_step(sac.sample_batch())}
    mpdp.config.horizon_ramp = (0, 0)  # a fixed H per measurement
    for h in range(1, cfg.horizon + 1):
        steps[h] = lambda h=h: (setattr(mpdp.config, "horizon", h), mpdp.train_step(mpdp.sample_batch()))
    for fn in steps.values():
        fn()  # warm-up
    times: dict = {key: [] for key in steps}
    for _ in range(repeats):
        for key, fn in steps.items():
            times[key] += cpu_ms(fn, 1)
    one_obs = mpdp.sample_batch().obs[:1]
    with torch.no_grad():
        times["act"] = cpu_ms(lambda: sac.exploration_action(one_obs), 200)
    times["fit"] = fit_us
    mpdp.close()
    sac.close()
    out = {}
    for label, pick in (("median", statistics.median), ("best", min)):
        costs = {f"train_step_ms[{k}]": pick(v) for k, v in times.items() if k not in ("act", "fit")}
        out[label] = {
            **costs,
            "env_step_ms": env_ms,
            "act_ms": pick(times["act"]),
            "fit_us_per_transition_epoch": pick(times["fit"]),
        }
    return out


def horizon_at(step: int, horizon: int, ramp: tuple[int, int]) -> int:
    start, end = ramp
    if horizon <= 1 or end <= start or step >= end:
        return horizon
    return 1 if step <= start else 1 + int((horizon - 1) * (step - start) / (end - start))


def project(costs: dict[str, float], config, total: int) -> dict[str, float]:
    """Projected CPU seconds of one SAC and one MPDP run of ``total`` env steps."""
    cfg, ev = config.algo, config.eval
    learn_from = cfg.learning_starts
    evals = total // ev.every_steps if ev.every_steps else 1
    env_steps = total + evals * ev.episodes * 1000  # evaluation episodes counted at 1,000 steps
    env_s = (env_steps * costs["env_step_ms"] + (env_steps - learn_from) * costs["act_ms"]) / 1e3
    sac_s = env_s + (total - learn_from) * costs["train_step_ms[sac]"] / 1e3
    step_s = (
        sum(
            costs[f"train_step_ms[{horizon_at(g, cfg.horizon, cfg.horizon_ramp)}]"]
            for g in range(learn_from, total)
        )
        / 1e3
    )
    fit_points = range(learn_from + 1, total + 1, cfg.model_train_freq)
    subset = cfg.model_fit_subset or total
    transition_epochs = sum(min(g, subset) for g in fit_points) * (cfg.model_max_epochs or 10)
    fit_s = transition_epochs * costs["fit_us_per_transition_epoch"] / 1e6
    return {"sac_s": sac_s, "mpdp_s": env_s + step_s + fit_s, "mpdp_steps_s": step_s, "mpdp_fit_s": fit_s}


def makespan(durations: list[float], workers: int) -> float:
    """List scheduling in the given order on ``workers`` equal cores."""
    loads = [0.0] * workers
    for d in durations:
        loads[loads.index(min(loads))] += d
    return max(loads)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--envs", nargs="+", default=["Hopper", "Walker2d"], help=", ".join(TASKS.values()))
    parser.add_argument("--suffix", default="_cpu", help="config file suffix ('' for the full-size files)")
    parser.add_argument("--fill", type=int, default=5000, help="random env steps before measuring")
    parser.add_argument("--repeats", type=int, default=40, help="timed train steps per variant")
    parser.add_argument("--steps", type=int, default=100_000, help="env steps per projected run")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--startup-s", type=float, default=15.0, help="CPU s per run not modelled (start-up)")
    parser.add_argument(
        "--mpdp-set", nargs="*", default=[], metavar="KEY=VALUE", help="MPDP config overrides"
    )
    parser.add_argument("--sac-set", nargs="*", default=[], metavar="KEY=VALUE", help="SAC config overrides")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    tasks = [name.lower() for name in args.envs]
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        parser.error(f"unknown env(s) {unknown}; choose from {', '.join(TASKS.values())}")
    runs: dict[str, list[float]] = {"median": [], "best": []}
    for task in tasks:
        measured = measure(task, args)
        config = load_experiment(REPO / f"experiments/mpdp/{task}{args.suffix}.yaml", args.mpdp_set)
        for label, costs in measured.items():
            proj = project(costs, config, args.steps)
            print(f"{TASKS[task]} ({label}): " + ", ".join(f"{k} {v:.2f}" for k, v in costs.items()))
            print(
                f"  projected per {args.steps:,}-step run (CPU s, with {args.startup_s:.0f} s start-up): "
                f"SAC {proj['sac_s'] + args.startup_s:.0f}, MPDP {proj['mpdp_s'] + args.startup_s:.0f} "
                f"(train steps {proj['mpdp_steps_s']:.0f}, model fits {proj['mpdp_fit_s']:.0f})"
            )
            # longest first, as the benchmark runs them: every MPDP run, then every SAC run
            runs[label][:0] = [proj["mpdp_s"] + args.startup_s] * args.seeds
            runs[label] += [proj["sac_s"] + args.startup_s] * args.seeds
    for label, durations in runs.items():
        total = makespan(sorted(durations, reverse=True), args.jobs)
        print(
            f"projected benchmark from the {label} costs ({len(tasks)} tasks x {args.seeds} seeds x 2 "
            f"algorithms, --jobs {args.jobs}, idle cores): {total:.0f} s = {total / 3600:.2f} h"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
