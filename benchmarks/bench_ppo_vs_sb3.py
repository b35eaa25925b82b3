"""Training steps/s of rlsuite PPO vs Stable-Baselines3 PPO with identical hyperparameters, in one run.

    python benchmarks/bench_ppo_vs_sb3.py --task cartpole --steps 100000
    python benchmarks/bench_ppo_vs_sb3.py --task halfcheetah --steps 50000

Both use one torch thread, the same rollout length, minibatch size, epochs, network (64-64 tanh,
separate actor and critic), optimiser and normalisation, so they do the same number of gradient steps
on the same batch sizes. SB3 runs on Gymnasium's env in its DummyVecEnv; rlsuite on its own
vector env (``--rlsuite-vectorization``: native numba CartPole by default, SyncVectorEnv for MuJoCo until
the batched MuJoCo env lands). The wall-clock covers ``learn()`` only (no evaluation). With
``--repeats N`` the two alternate N times and the medians are reported, so background load hits both alike.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

TASKS = {
    # CartPole: the main job's hyperparameters (experiments/ppo/cartpole.yaml) on 8 envs.
    "cartpole": {
        "rlsuite_env": "rlsuite/CartPole-v1",
        "gym_env": "CartPole-v1",
        "num_envs": 8,
        "hp": dict(
            num_steps=32,
            minibatch_size=128,
            update_epochs=10,
            gamma=0.98,
            gae_lambda=0.8,
            lr=1e-3,
            ent_coef=0.0,
            clip_coef=0.2,
            normalize_obs=False,
            normalize_reward=False,
        ),
    },
    # HalfCheetah: CleanRL's MuJoCo PPO settings (1 env, 2048 steps, 32 minibatches of 64, 10 epochs).
    "halfcheetah": {
        "rlsuite_env": "rlsuite/HalfCheetah-v5",
        "gym_env": "HalfCheetah-v5",
        "num_envs": 1,
        "hp": dict(
            num_steps=2048,
            minibatch_size=64,
            update_epochs=10,
            gamma=0.99,
            gae_lambda=0.95,
            lr=3e-4,
            ent_coef=0.0,
            clip_coef=0.2,
            normalize_obs=True,
            normalize_reward=True,
        ),
    },
}


def run_rlsuite(task: dict, steps: int, seed: int, vectorization: str) -> float:
    from rlsuite.algos.ppo import PPO, PPOConfig
    from rlsuite.config import EnvConfig

    cfg = PPOConfig(**task["hp"], clip_vloss=False, max_grad_norm=0.5, vf_coef=0.5)
    env = EnvConfig(id=task["rlsuite_env"], num_envs=task["num_envs"], vectorization=vectorization)
    algo = PPO(env, cfg, seed=seed, device="cpu")
    algo.learn(cfg.num_steps * task["num_envs"])  # warm-up iteration (numba compilation, allocations)
    start_step, start = algo.global_step, time.perf_counter()
    algo.learn(start_step + steps)
    return (algo.global_step - start_step) / (time.perf_counter() - start)


def run_sb3(task: dict, steps: int, seed: int) -> float:
    import gymnasium as gym
    from stable_baselines3 import PPO as SB3PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    hp = task["hp"]
    venv = make_vec_env(lambda: gym.make(task["gym_env"]), n_envs=task["num_envs"], seed=seed)
    if hp["normalize_obs"] or hp["normalize_reward"]:
        venv = VecNormalize(
            venv, norm_obs=hp["normalize_obs"], norm_reward=hp["normalize_reward"], gamma=hp["gamma"]
        )
    model = SB3PPO(
        "MlpPolicy",
        venv,
        n_steps=hp["num_steps"],
        batch_size=hp["minibatch_size"],
        n_epochs=hp["update_epochs"],
        gamma=hp["gamma"],
        gae_lambda=hp["gae_lambda"],
        learning_rate=hp["lr"],
        ent_coef=hp["ent_coef"],
        clip_range=hp["clip_coef"],
        vf_coef=0.5,
        max_grad_norm=0.5,
        seed=seed,
        device="cpu",
        verbose=0,
        policy_kwargs=dict(net_arch=dict(pi=[64, 64], vf=[64, 64]), activation_fn=torch.nn.Tanh),
    )
    model.learn(hp["num_steps"] * task["num_envs"])  # warm-up iteration
    start = time.perf_counter()
    model.learn(steps, reset_num_timesteps=False)
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--task", choices=sorted(TASKS), default="cartpole")
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rlsuite-vectorization", default="auto")
    parser.add_argument("--repeats", type=int, default=3, help="alternate rlsuite and SB3 this many times")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args()
    torch.set_num_threads(1)
    task = TASKS[args.task]
    ours_runs, theirs_runs = [], []
    for _ in range(args.repeats):
        ours_runs.append(run_rlsuite(task, args.steps, args.seed, args.rlsuite_vectorization))
        theirs_runs.append(run_sb3(task, args.steps, args.seed))
    ours, theirs = statistics.median(ours_runs), statistics.median(theirs_runs)
    result = {
        "task": args.task,
        "steps": args.steps,
        "rlsuite_sps": [round(x) for x in ours_runs],
        "sb3_sps": [round(x) for x in theirs_runs],
        "ratio_of_medians": round(ours / theirs, 2),
    }
    print(f"| {args.task} | {task['num_envs']} | {ours:,.0f} | {theirs:,.0f} | {ours / theirs:.2f}x |")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle)


if __name__ == "__main__":
    main()
