"""The same scripted policy on the built-in simulator and on the real gfootball engine: goal rate and
episode length, per scenario, in one run.

    <football venv>/bin/python benchmarks/bench_football_compare.py [--scenarios academy_3_vs_1_with_keeper]
        [--episodes 200] [--real-episodes 100] [--json OUT.json]

The scripted policy (``rlsuite.envs.football.scripted``) reads only simple115v2 observations, so it plays
both engines alike; a uniformly random policy (seeded) is played too. Episodes are seeded 0..E-1 on
both. Also reported: how episodes end (goal, the ball out of play by the game mode it led to, the ball
lost to the other team, the step limit), with Wilson 95% intervals for the goal rates. Without gfootball
only the simulator is played.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rlsuite
from rlsuite.core.stats import wilson_interval
from rlsuite.envs.football.real import gfootball_available
from rlsuite.envs.football.scenarios import GAME_MODE_NAMES
from rlsuite.envs.football.scripted import scripted_actions


def random_actions(rows: np.ndarray, rng=np.random.default_rng(0)) -> np.ndarray:  # noqa: B008
    return rng.integers(0, 19, len(rows))


POLICIES = {"scripted": scripted_actions, "random": random_actions}


def play(env_id: str, episodes: int, policy: str) -> dict:
    env = rlsuite.make(env_id)
    act = POLICIES[policy]
    ends: collections.Counter[str] = collections.Counter()
    lengths, goals = [], 0
    for seed in range(episodes):
        obs, _ = env.reset(seed=seed)
        steps, won = 0, False
        while env.agents:
            rows = np.stack([obs[a] for a in env.possible_agents])
            actions = dict(zip(env.possible_agents, act(rows).tolist()))
            obs, _, _, truncs, infos = env.step(actions)
            steps += 1
            won = won or infos["player_0"]["battle_won"]
        last = obs["player_0"]
        mode = infos["player_0"]["game_mode"]
        if won:
            ends["goal"] += 1
        elif any(truncs.values()):
            ends["step limit"] += 1
        elif mode != 0:
            ends[f"out ({GAME_MODE_NAMES[mode]})"] += 1
        elif last[96] == 1:
            ends["ball lost"] += 1
        else:
            ends["other"] += 1
        goals += won
        lengths.append(steps)
    env.close()
    low, high = wilson_interval(goals, episodes)
    return {
        "env": env_id,
        "policy": policy,
        "episodes": episodes,
        "goal_rate": goals / episodes,
        "goal_rate_ci": [low, high],
        "length_mean": float(np.mean(lengths)),
        "length_std": float(np.std(lengths)),
        "ends": dict(ends),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenarios", nargs="+", default=["academy_3_vs_1_with_keeper"])
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--real-episodes", type=int, default=100)
    parser.add_argument("--policies", nargs="+", default=list(POLICIES), choices=list(POLICIES))
    parser.add_argument("--json", default="")
    args = parser.parse_args(argv)
    results = []
    for scenario in args.scenarios:
        for policy in args.policies:
            results.append(play(f"rlsuite/GRFSim-{scenario}-v0", args.episodes, policy))
            if gfootball_available():
                results.append(play(f"rlsuite/GRF-{scenario}-v0", args.real_episodes, policy))
    print("\n| env | policy | episodes | goal rate (95% CI) | episode length (mean ± std) | episode ends |")
    print("|---|---|---|---|---|---|")
    for r in results:
        ends = ", ".join(f"{k} {v}" for k, v in sorted(r["ends"].items(), key=lambda kv: -kv[1]))
        low, high = r["goal_rate_ci"]
        print(
            f"| {r['env']} | {r['policy']} | {r['episodes']} | {r['goal_rate']:.2f} ({low:.2f}-{high:.2f}) | "
            f"{r['length_mean']:.1f} ± {r['length_std']:.1f} | {ends} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
