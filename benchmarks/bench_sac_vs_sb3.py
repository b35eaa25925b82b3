"""Training steps/s of rlsuite SAC vs Stable-Baselines3 SAC with identical hyperparameters, in one run.

    python benchmarks/bench_sac_vs_sb3.py --steps 3000 --learning-starts 1000 --repeats 3

Both learners use the SAC paper's (and SB3's) settings on ``--task`` (HalfCheetah-v5 by default):
1 env, replay 1e6, batch 256, learning rate 3e-4 for actor, critics and temperature, gamma 0.99,
tau 0.005, one gradient step per env step (train_freq 1, gradient_steps 1), twin 256-256 ReLU critics
and a 256-256 ReLU tanh-Gaussian actor, automatic entropy tuning from alpha = 1.0 towards -dim(A),
log-std clamp [-20, 2], CPU, ``--threads`` torch threads (default 1). SB3 runs Gymnasium's ``TASK-v5``
in its DummyVecEnv; rlsuite runs ``--rlsuite-env`` (default ``rlsuite/TASK-v5``, rlsuite's own MuJoCo
env; if that id cannot be built it falls back to Gymnasium's ``TASK-v5`` and says so) with
``--backend`` as SAC's ``update_backend`` (default ``auto``: the fused update).

Only the training phase is timed: each learner first takes ``--learning-starts`` uniform-random steps and
``--warmup`` steps with gradient updates (allocations, first Adam steps), then the clock runs over
``--steps`` further env steps, each followed by one gradient step. With ``--repeats N`` the two alternate
N times and the medians are reported, so background load falls on both alike. Each run reports steps
per wall-clock second and steps per CPU-second of the process (``time.process_time``); on a shared
machine the second is less sensitive to other processes' load (both learners run one thread).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import time

import torch

TASKS = ("HalfCheetah", "Hopper", "Walker2d")
UPDATE_BACKENDS = ("auto", "autograd", "fused")
HP = dict(
    buffer_size=1_000_000,
    batch_size=256,
    lr=3e-4,
    gamma=0.99,
    tau=0.005,
    train_freq=1,
    gradient_steps=1,
    init_alpha=1.0,
    hidden_sizes=(256, 256),
)


def resolve_rlsuite_env(env_id: str, gym_env: str) -> str:
    """``env_id`` when rlsuite can build it, else Gymnasium's id (the native env may be in flux)."""
    from rlsuite.envs.registry import make_vec

    try:
        make_vec(env_id, 1).close()
        return env_id
    except Exception as exc:  # any failure means: fall back to the Gymnasium env
        print(f"note: {env_id} could not be built ({type(exc).__name__}: {exc}); using {gym_env}")
        return gym_env


def run_rlsuite(
    env_id: str, learning_starts: int, warmup: int, steps: int, seed: int, backend: str = "auto"
) -> tuple[float, float]:
    from rlsuite.algos.sac import SAC, SACConfig
    from rlsuite.config import EnvConfig

    cfg = SACConfig(
        buffer_size=HP["buffer_size"],
        batch_size=HP["batch_size"],
        learning_starts=learning_starts,
        train_freq=HP["train_freq"],
        utd_ratio=float(HP["gradient_steps"]),
        gamma=HP["gamma"],
        tau=HP["tau"],
        n_step=1,
        hidden_sizes=HP["hidden_sizes"],
        activation="relu",
        actor_lr=HP["lr"],
        critic_lr=HP["lr"],
        alpha_lr=HP["lr"],
        init_alpha=HP["init_alpha"],
        autotune_alpha=True,
        target_entropy=None,  # -dim(A)
        num_q=2,
        log_std_bounds=(-20.0, 2.0),
        target_update_interval=1,
        update_backend=backend,
    )
    algo = SAC(EnvConfig(id=env_id, num_envs=1), cfg, seed=seed, device="cpu")
    algo.learn(learning_starts + warmup)
    start_step, grad_start = algo.global_step, algo.gradient_steps
    start, cpu_start = time.perf_counter(), time.process_time()
    algo.learn(start_step + steps)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    assert algo.gradient_steps - grad_start == algo.global_step - start_step, "one gradient step per step"
    done = algo.global_step - start_step
    algo.close()
    return done / elapsed, done / cpu


def run_sb3(gym_env: str, learning_starts: int, warmup: int, steps: int, seed: int) -> tuple[float, float]:
    import gymnasium as gym
    from stable_baselines3 import SAC as SB3SAC
    from stable_baselines3.common.env_util import make_vec_env

    venv = make_vec_env(lambda: gym.make(gym_env), n_envs=1, seed=seed)
    model = SB3SAC(
        "MlpPolicy",
        venv,
        learning_rate=HP["lr"],
        buffer_size=HP["buffer_size"],
        learning_starts=learning_starts,
        batch_size=HP["batch_size"],
        tau=HP["tau"],
        gamma=HP["gamma"],
        train_freq=HP["train_freq"],
        gradient_steps=HP["gradient_steps"],
        ent_coef=f"auto_{HP['init_alpha']}",
        target_entropy="auto",  # -dim(A)
        target_update_interval=1,
        seed=seed,
        device="cpu",
        verbose=0,
        policy_kwargs=dict(net_arch=list(HP["hidden_sizes"]), activation_fn=torch.nn.ReLU, n_critics=2),
    )
    model.learn(learning_starts + warmup)
    start_step, grad_start = model.num_timesteps, model._n_updates
    start, cpu_start = time.perf_counter(), time.process_time()
    model.learn(steps, reset_num_timesteps=False)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    assert model._n_updates - grad_start == model.num_timesteps - start_step, "one gradient step per step"
    done = model.num_timesteps - start_step
    venv.close()
    return done / elapsed, done / cpu


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=3000, help="timed env steps (one gradient step each)")
    parser.add_argument("--learning-starts", type=int, default=1000, help="random steps before training")
    parser.add_argument("--warmup", type=int, default=100, help="untimed training steps before the clock")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads for both")
    parser.add_argument("--task", default="HalfCheetah", choices=TASKS, help="MuJoCo task (v5)")
    parser.add_argument("--rlsuite-env", default=None, help="rlsuite env id (default rlsuite/TASK-v5)")
    parser.add_argument(
        "--backend", default="auto", choices=UPDATE_BACKENDS, help="rlsuite SAC's update_backend"
    )
    parser.add_argument("--repeats", type=int, default=3, help="alternate rlsuite and SB3 this many times")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    gym_env = f"{args.task}-v5"
    env_id = resolve_rlsuite_env(args.rlsuite_env or f"rlsuite/{gym_env}", gym_env)
    ours_runs: list[tuple[float, float]] = []
    theirs_runs: list[tuple[float, float]] = []
    for repeat in range(args.repeats):
        ours_runs.append(
            run_rlsuite(env_id, args.learning_starts, args.warmup, args.steps, args.seed, args.backend)
        )
        gc.collect()
        theirs_runs.append(run_sb3(gym_env, args.learning_starts, args.warmup, args.steps, args.seed))
        gc.collect()
        print(
            f"repeat {repeat + 1}/{args.repeats}: rlsuite {ours_runs[-1][0]:,.1f} steps/s "
            f"({ours_runs[-1][1]:,.1f} per CPU-second), SB3 {theirs_runs[-1][0]:,.1f} steps/s "
            f"({theirs_runs[-1][1]:,.1f} per CPU-second) (load {os.getloadavg()[0]:.2f})",
            flush=True,
        )
    ours = [statistics.median(run[i] for run in ours_runs) for i in (0, 1)]
    theirs = [statistics.median(run[i] for run in theirs_runs) for i in (0, 1)]
    result = {
        "rlsuite_env": env_id,
        "sb3_env": gym_env,
        "backend": args.backend,
        "steps": args.steps,
        "learning_starts": args.learning_starts,
        "warmup": args.warmup,
        "threads": args.threads,
        "rlsuite_sps": [round(run[0], 1) for run in ours_runs],
        "sb3_sps": [round(run[0], 1) for run in theirs_runs],
        "rlsuite_cpu_sps": [round(run[1], 1) for run in ours_runs],
        "sb3_cpu_sps": [round(run[1], 1) for run in theirs_runs],
        "rlsuite_median": round(ours[0], 1),
        "sb3_median": round(theirs[0], 1),
        "ratio_of_medians": round(ours[0] / theirs[0], 2),
        "cpu_ratio_of_medians": round(ours[1] / theirs[1], 2),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }
    print(
        "| rlsuite env | threads | rlsuite steps/s (runs) | SB3 steps/s (runs) | ratio of medians "
        "| ratio of medians, steps per CPU-second |"
    )
    print(
        f"| {env_id} | {args.threads} | {' / '.join(f'{r[0]:,.0f}' for r in ours_runs)} | "
        f"{' / '.join(f'{r[0]:,.0f}' for r in theirs_runs)} | {ours[0] / theirs[0]:.2f}x | "
        f"{ours[1] / theirs[1]:.2f}x |"
    )
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=1)


if __name__ == "__main__":
    main()
