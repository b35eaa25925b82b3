"""SMAC simulator throughput: rlsuite's batched SMAC env vs JaxMARL's SMAX, at equal batch, in one run.

    python benchmarks/bench_smac_env.py [--maps 3m 2s3z MMM2 27m_vs_30m] [--batches 1 64 1024]
        [--seconds 3] [--smax-python /work/jaxenv/bin/python] [--json OUT.json]

rlsuite side: ``SMACVectorEnv(map, batch)`` stepped through its public ``step`` with a uniformly random
*available* action per agent (drawn by a numba kernel from the env's action masks). Every step computes
what a MARL learner reads: observations, global state, action masks, reward, done flags, and autoresets
finished battles. Steps/s counts battle steps (batch × env steps).

SMAX side: ``benchmarks/smax_speed.py`` under a virtualenv with JAX + JaxMARL (``--smax-python``), run
after the rlsuite measurements so the two never share the 2 cores. It jit-compiles ``lax.scan`` over
``vmap(step)`` with random valid actions, so its numbers exclude Python dispatch (mode ``scan``); its
``per_call`` mode (one jitted step per Python call) is reported for batch 1.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from rlsuite.envs.smac import SMACVectorEnv
from rlsuite.envs.smac.heuristic import random_available_actions

HERE = Path(__file__).resolve().parent


def measure_rlsuite(map_name: str, batch: int, seconds: float) -> float:
    env = SMACVectorEnv(map_name, batch)
    _, info = env.reset(seed=0)
    actions = np.zeros((batch, env.n_agents), dtype=np.int64)
    rng = np.arange(batch, dtype=np.uint64) * np.uint64(7919) + np.uint64(1)

    def step() -> None:
        nonlocal info
        random_available_actions(info["action_mask"].view(np.int8), rng, actions)
        _, _, _, _, info = env.step(actions)

    for _ in range(20):  # warm-up (numba caches are compiled on first use)
        step()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(10):
            step()
        steps += 10
    return steps * batch / (time.perf_counter() - start)


def measure_smax(python: str, maps: list[str], batches: list[int], seconds: float) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "smax.json"
        cmd = [
            python,
            str(HERE / "smax_speed.py"),
            "--maps",
            *maps,
            "--batches",
            *map(str, batches),
            "--seconds",
            str(seconds),
            "--json",
            str(out),
        ]
        subprocess.run(cmd, check=True, env={**os.environ, "PYTHONPATH": ""})
        return json.loads(out.read_text())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--maps", nargs="+", default=["3m", "2s3z", "MMM2", "27m_vs_30m"])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 64, 1024])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--smax-python", default="", help="python of a venv with jax + jaxmarl")
    parser.add_argument("--json", default="")
    args = parser.parse_args(argv)
    rows = []
    for map_name in args.maps:
        for batch in args.batches:
            sps = measure_rlsuite(map_name, batch, args.seconds)
            rows.append({"impl": "rlsuite", "map": map_name, "batch": batch, "steps_per_s": sps})
            print(f"rlsuite {map_name:>11} batch {batch:>5}: {sps:>12,.0f} steps/s", flush=True)
    if args.smax_python:
        rows += measure_smax(args.smax_python, args.maps, args.batches, args.seconds)
    print_table(rows, args.maps, args.batches)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


def print_table(rows: list[dict], maps: list[str], batches: list[int]) -> None:
    def find(impl: str, map_name: str, batch: int, mode: str | None = None) -> float | None:
        for r in rows:
            if (
                r["impl"] == impl
                and r["map"] == map_name
                and r["batch"] == batch
                and (mode is None or r.get("mode") == mode)
                and r.get("steps_per_s")
            ):
                return r["steps_per_s"]
        return None

    print("\n| map | batch | rlsuite steps/s | SMAX steps/s (scan) | SMAX per-call | ratio (vs scan) |")
    print("|---|---|---|---|---|---|")
    for map_name in maps:
        for batch in batches:
            ours = find("rlsuite", map_name, batch)
            smax = find("smax", map_name, batch, "scan")
            per_call = find("smax", map_name, batch, "per_call")
            ratio = f"{ours / smax:.1f}×" if ours and smax else "–"
            fmt = lambda v: f"{v:,.0f}" if v else "–"  # noqa: E731
            print(f"| {map_name} | {batch} | {fmt(ours)} | {fmt(smax)} | {fmt(per_call)} | {ratio} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
