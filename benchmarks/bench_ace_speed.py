"""ACE's full-training speed (collection + updates) on a SMAC map at a chosen replay ratio, on CPU.

    python benchmarks/bench_ace_speed.py --map 5m_vs_6m --hidden 256 --batch 320 --updates 50 \
        --episodes 32 --cycles 1 --compare-encoder 3

Defaults are the released configuration's replay ratio (opendilab/ACE ``exp/smac/5m_vs_6m``: 32 games
from 8 envs, then 50 gradient steps of 320 transitions, H = 256). After a warm-up cycle (one
collection, two gradient steps: allocations, numba compilation), ``--cycles`` cycles of
``collect()`` + ``update()`` are timed: reported are env steps, collection steps/s, milliseconds per
gradient step, **full-training env-steps/s** (env steps over collection + update time; and per CPU
second of this process, the figure an unshared machine would approach with one thread), the replay
ratio (sampled transitions per env step) and, from ``torch.utils.flop_counter`` on one gradient step,
the floating-point work per gradient step and per env step with the throughput achieved. The last two
say what a machine must sustain for a given env-steps/s at this replay ratio.

``--compare-encoder N`` times N gradient steps with the factored encoder (``ACENetwork.encode``, the
one training uses) and N with the concatenating definition (``encode_concatenated``, the released
model's form and this suite's before the factoring), alternating so that background load falls on both
alike; same weights, same batch. Process CPU time is reported next to wall time: on a shared machine
the CPU time is the cleaner ratio. The 1-minute load average is printed at the start and the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rlsuite.algos.ace import ACE, ACEConfig
from rlsuite.config import EnvConfig


def build(args: argparse.Namespace) -> ACE:
    cfg = ACEConfig(
        hidden=args.hidden,
        batch_size=args.batch,
        updates_per_collect=args.updates,
        episodes_per_collect=args.episodes,
        aux_weight=args.aux_weight,
    )
    return ACE(EnvConfig(id=f"rlsuite/SMAC-{args.map}-v0", num_envs=args.num_envs), cfg, seed=args.seed)


def timed_cycles(algo: ACE, cycles: int) -> dict[str, float]:
    """Collection and update times over ``cycles`` collect + update cycles (after a warm-up)."""
    updates = algo.config.updates_per_collect
    algo.collect()
    algo.config.updates_per_collect = 2
    algo.update()
    algo.config.updates_per_collect = updates
    steps = collect_s = update_s = cpu_s = 0.0
    for _ in range(cycles):
        start, t0, c0 = algo.global_step, time.perf_counter(), time.process_time()
        algo.collect()
        t1 = time.perf_counter()
        algo.update()
        t2 = time.perf_counter()
        steps += algo.global_step - start
        collect_s, update_s = collect_s + t1 - t0, update_s + t2 - t1
        cpu_s += time.process_time() - c0
    grad_steps = cycles * updates
    return {
        "env_steps": steps,
        "collect_s": collect_s,
        "update_s": update_s,
        "collect_sps": steps / collect_s,
        "ms_per_gradient_step": 1000 * update_s / grad_steps,
        "full_training_sps": steps / (collect_s + update_s),
        "env_steps_per_cpu_second": steps / cpu_s,
        "replay_ratio": grad_steps * algo.config.batch_size / steps,
    }


def gradient_step_flops(algo: ACE) -> float:
    with FlopCounterMode(display=False) as counter:
        algo._gradient_step()
    return float(counter.get_total_flops())


def compare_encoders(algo: ACE, repeats: int) -> dict[str, Any]:
    """Gradient-step times with the factored and the concatenating encoder, alternating."""
    nets = (algo.net, algo.target_net)
    times: dict[str, dict[str, list[float]]] = {k: {"wall": [], "cpu": []} for k in ("factored", "concat")}
    for _ in range(repeats):
        for name in ("factored", "concat"):
            for net in nets:
                net.encode = net.encode_concatenated if name == "concat" else type(net).encode.__get__(net)
            w0, c0 = time.perf_counter(), time.process_time()
            algo._gradient_step()
            times[name]["wall"].append(time.perf_counter() - w0)
            times[name]["cpu"].append(time.process_time() - c0)
    for net in nets:
        del net.encode
    med = {k: {m: statistics.median(v) for m, v in d.items()} for k, d in times.items()}
    return {
        "median_s": med,
        "speedup_wall": med["concat"]["wall"] / med["factored"]["wall"],
        "speedup_cpu": med["concat"]["cpu"] / med["factored"]["cpu"],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--map", default="5m_vs_6m")
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--batch", type=int, default=320)
    p.add_argument("--updates", type=int, default=50, help="gradient steps per collection")
    p.add_argument("--episodes", type=int, default=32, help="games per collection")
    p.add_argument("--num-envs", type=int, default=8)
    p.add_argument("--aux-weight", type=float, default=10.0)
    p.add_argument("--cycles", type=int, default=1, help="timed collect + update cycles")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--compare-encoder", type=int, default=0, metavar="N", help="gradient steps per encoder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, help="also write the figures here")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    load_start = os.getloadavg()[0]
    algo = build(args)
    result: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}}
    result["training"] = timed_cycles(algo, args.cycles)
    flops = gradient_step_flops(algo)
    tr = result["training"]
    result["flops"] = {
        "gflop_per_gradient_step": flops / 1e9,
        "gflop_per_env_step": flops * tr["replay_ratio"] / args.batch / 1e9,
        "achieved_gflops": flops / 1e9 / (tr["ms_per_gradient_step"] / 1000),
    }
    if args.compare_encoder:
        result["encoder"] = compare_encoders(algo, args.compare_encoder)
    result["load_avg_1min"] = [load_start, os.getloadavg()[0]]
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
