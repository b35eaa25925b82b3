"""Wall-clock to evaluation return 475 on CartPole: rlsuite's main-job config vs SB3 PPO defaults.

    python benchmarks/bench_time_to_475.py --seeds 0 1 2

rlsuite trains ``experiments/ppo/cartpole.yaml`` (native numba CartPole, 8 envs); SB3 trains
``PPO("MlpPolicy", "CartPole-v1")`` with its defaults (1 env, 2048-step rollouts, 10 epochs of
minibatch 64, lr 3e-4). Both are evaluated every ``--eval-every`` steps on 10 deterministic episodes and
stopped at the first evaluation with mean return >= 475. Reported: environment steps and wall-clock
seconds (training plus evaluation) to that point, per seed, and the ratio of medians.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

THRESHOLD = 475.0


def rlsuite_time(seed: int, eval_every: int, budget: int) -> tuple[int, float]:
    from rlsuite.training.experiment import build_algorithm, load_experiment

    config = load_experiment("experiments/ppo/cartpole.yaml", [f"seed={seed}"])
    start = time.perf_counter()
    algo = build_algorithm(config)
    while algo.global_step < budget:
        algo.learn(min(budget, algo.global_step + eval_every), horizon=config.total_steps)
        if algo.evaluate(10, deterministic=True).mean >= THRESHOLD:
            return algo.global_step, time.perf_counter() - start
    return -1, float("nan")


def sb3_time(seed: int, eval_every: int, budget: int) -> tuple[int, float]:
    import gymnasium as gym
    from stable_baselines3 import PPO
    from stable_baselines3.common.evaluation import evaluate_policy

    start = time.perf_counter()
    model = PPO("MlpPolicy", "CartPole-v1", seed=seed, device="cpu", verbose=0)
    eval_env = gym.make("CartPole-v1")
    while model.num_timesteps < budget:
        model.learn(eval_every, reset_num_timesteps=False)
        mean, _ = evaluate_policy(model, eval_env, n_eval_episodes=10, deterministic=True)
        if mean >= THRESHOLD:
            return model.num_timesteps, time.perf_counter() - start
    return -1, float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--eval-every", type=int, default=10_000)
    parser.add_argument("--budget", type=int, default=500_000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for seed in args.seeds:
        ours = rlsuite_time(seed, args.eval_every, args.budget)
        theirs = sb3_time(seed, args.eval_every, args.budget)
        rows.append((seed, ours, theirs))
        print(f"| {seed} | {ours[0]:,} | {ours[1]:.1f} | {theirs[0]:,} | {theirs[1]:.1f} |", flush=True)
    ours_median = statistics.median(r[1][1] for r in rows)
    theirs_median = statistics.median(r[2][1] for r in rows)
    print(
        f"median wall-clock: rlsuite {ours_median:.1f} s, SB3 {theirs_median:.1f} s, "
        f"ratio {theirs_median / ours_median:.1f}x"
    )
    print("seeds that never reached 475:", [r[0] for r in rows if r[1][0] < 0 or r[2][0] < 0] or "none")


if __name__ == "__main__":
    main()
