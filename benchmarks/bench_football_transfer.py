"""Policies trained on the football simulator, played on the real gfootball engine: goal rate on each.

    <football venv>/bin/python benchmarks/bench_football_transfer.py RUN_DIR [RUN_DIR ...]
        [--episodes 100] [--real-episodes 50] [--json OUT.json]

Each RUN_DIR is a finished multi-agent run on ``rlsuite/GRFSim-<scenario>-v0`` (e.g. from
``benchmarks/bench_marl_smac.py --maps academy_3_vs_1_with_keeper --algos mappo``). Its final checkpoint's
agent plays ``--episodes`` episodes on the simulator and ``--real-episodes`` on
``rlsuite/GRF-<scenario>-v0`` (the same simple115v2 observations, global state and 19 actions, so the
agent runs unchanged), sampling its actions (stochastic policy, as in training). Needs gfootball.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rlsuite.algos.base import Algorithm
from rlsuite.envs.registry import make_vec
from rlsuite.training.evaluation import evaluate_policy

EVAL_SEED = 10_000


def goal_rate(agent, env_id: str, episodes: int, num_envs: int) -> dict:
    env = make_vec(env_id, num_envs)
    try:
        with torch.inference_mode():
            result = evaluate_policy(agent, env, episodes, deterministic=False, seed=EVAL_SEED)
    finally:
        env.close()
    return {
        "env": env_id,
        "episodes": episodes,
        "goal_rate": float(np.mean(result.wins)),
        "return_mean": float(np.mean(result.returns)),
        "length_mean": float(np.mean(result.lengths)),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--real-episodes", type=int, default=50)
    parser.add_argument("--json", default="")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for run in args.runs:
        algo = Algorithm.from_checkpoint(str(run), device="cpu")
        sim_id = algo.env_config.id
        if "/GRFSim-" not in sim_id:
            raise ValueError(f"{run}: trained on {sim_id!r}, not on a rlsuite/GRFSim-<scenario>-v0 id")
        real_id = sim_id.replace("/GRFSim-", "/GRF-")
        for env_id, episodes, num_envs in ((sim_id, args.episodes, 16), (real_id, args.real_episodes, 1)):
            row = {
                "run": str(run),
                "step": algo.global_step,
                **goal_rate(algo.agent, env_id, episodes, num_envs),
            }
            rows.append(row)
            print(
                f"{run} {env_id}: goal rate {row['goal_rate']:.2f} over {episodes} episodes, "
                f"length {row['length_mean']:.1f}",
                flush=True,
            )
        algo.close()
    print("\n| run | env | episodes | goal rate | mean return | mean length |\n|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {Path(r['run']).name} | {r['env']} | {r['episodes']} | {r['goal_rate']:.2f} | "
            f"{r['return_mean']:.2f} | {r['length_mean']:.1f} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
