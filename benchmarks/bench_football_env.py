"""Football throughput: the built-in simulator's batched env at batch 1/64/1024 vs the real gfootball engine,
in one run.

    <football venv>/bin/python benchmarks/bench_football_env.py [--scenarios academy_3_vs_1_with_keeper]
        [--batches 1 64 1024] [--seconds 3] [--real-seconds 20] [--json OUT.json]

Run it with the football virtualenv's python (scripts/install_football.sh) so both engines are measured
in the same process on the same machine; without gfootball only the simulator is measured.

Simulator: ``GRFSimVectorEnv(scenario, batch)`` stepped through its public ``step`` with uniformly random
actions (all 19 are always available); every step computes what a learner reads (simple115v2 rows for
every agent, global state, masks, rewards, done flags) and autoresets finished matches. Steps/s counts
match steps (batch x env steps). Real engine: ``GRFParallelEnv`` (the PettingZoo adapter over
``gfootball.env.create_environment(..., representation="simple115v2")``, rendering off), one match,
random actions, resets included; the engine runs one match per process, so its batch is 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rlsuite.envs.football.real import gfootball_available
from rlsuite.envs.football.vector import GRFSimVectorEnv


def measure_sim(scenario: str, batch: int, seconds: float) -> float:
    env = GRFSimVectorEnv(scenario, batch)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = [rng.integers(0, 19, (batch, env.n_agents)) for _ in range(16)]
    for a in actions:  # warm-up (numba caches are compiled on first use)
        env.step(a)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for a in actions:
            env.step(a)
        steps += len(actions)
    return steps * batch / (time.perf_counter() - start)


def measure_real(scenario: str, seconds: float) -> float:
    from rlsuite.envs.football.real import GRFParallelEnv

    env = GRFParallelEnv(scenario)
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        if not env.agents:
            env.reset()
        env.step({a: int(rng.integers(19)) for a in env.agents})
        steps += 1
    elapsed = time.perf_counter() - start
    env.close()
    return steps / elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenarios", nargs="+", default=["academy_3_vs_1_with_keeper"])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 64, 1024])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--real-seconds", type=float, default=20.0)
    parser.add_argument("--json", default="")
    args = parser.parse_args(argv)
    rows = []
    for scenario in args.scenarios:
        real = measure_real(scenario, args.real_seconds) if gfootball_available() else None
        if real is not None:
            rows.append({"impl": "gfootball", "scenario": scenario, "batch": 1, "steps_per_s": real})
            print(f"gfootball {scenario} batch 1: {real:,.0f} steps/s", flush=True)
        for batch in args.batches:
            sps = measure_sim(scenario, batch, args.seconds)
            rows.append({"impl": "rlsuite-sim", "scenario": scenario, "batch": batch, "steps_per_s": sps})
            print(f"rlsuite-sim {scenario} batch {batch}: {sps:,.0f} steps/s", flush=True)
        print("\n| scenario | engine | batch | steps/s | vs real engine |\n|---|---|---|---|---|")
        for row in (r for r in rows if r["scenario"] == scenario):
            ratio = f"{row['steps_per_s'] / real:,.0f}x" if real else "-"
            print(f"| {scenario} | {row['impl']} | {row['batch']} | {row['steps_per_s']:,.0f} | {ratio} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
