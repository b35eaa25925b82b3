"""CartPole env steps per second: rlsuite's numba core against Gymnasium's implementations.

Measured, for num_envs in 1, 8, 64, 1024 (change with ``--num-envs``):

* ``rlsuite CartPoleVectorEnv`` - numba batched core, same-step autoreset;
* ``gymnasium CartPoleVectorEnv`` - ``gym.make_vec(..., vectorization_mode="vector_entry_point")``,
  Gymnasium's numpy-vectorised CartPole (next-step autoreset);
* ``gymnasium SyncVectorEnv`` - ``gym.make_vec(..., vectorization_mode="sync")`` with same-step autoreset
  (the semantics rlsuite's vector env has), the baseline of the ratio column;

and at n = 1 the single envs: ``rlsuite CartPoleEnv`` and ``gym.make("CartPole-v1")`` (with its default
wrappers), both reset by the loop when an episode ends.

Actions are drawn up front; every measurement starts after a reset and a warm-up (numba compile time is not
counted) and runs for ``--seconds`` of wall time. Prints a Markdown table; ``--out FILE`` also writes it.

    python benchmarks/bench_cartpole_env.py [--seconds 1.0] [--out table.md] [--num-envs 1 8 64 1024]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

from rlsuite.envs.classic.cartpole import CartPoleEnv, CartPoleVectorEnv

N_ACTION_ROWS = 1024  # pre-generated action batches, cycled
CHUNK = 64  # steps between clock reads


def time_vector(make: Callable[[], gym.vector.VectorEnv], n: int, seconds: float) -> float:
    env = make()
    actions = np.random.default_rng(0).integers(0, 2, size=(N_ACTION_ROWS, n), dtype=np.int64)
    env.reset(seed=0)
    for a in actions[:CHUNK]:  # warm-up (numba compile, caches)
        env.step(a)
    steps = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        base = steps % N_ACTION_ROWS
        for a in actions[base : base + CHUNK]:
            env.step(a)
        steps += CHUNK
        now = time.perf_counter()
        if now >= deadline:
            break
    env.close()
    return steps * n / (now - start)


def time_single(make: Callable[[], gym.Env], seconds: float) -> float:
    env = make()
    actions = np.random.default_rng(0).integers(0, 2, size=N_ACTION_ROWS).tolist()
    env.reset(seed=0)
    for a in actions[:CHUNK]:
        _, _, term, trunc, _ = env.step(a)
        if term or trunc:
            env.reset()
    steps = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        base = steps % N_ACTION_ROWS
        for a in actions[base : base + CHUNK]:
            _, _, term, trunc, _ = env.step(a)
            if term or trunc:
                env.reset()
        steps += CHUNK
        now = time.perf_counter()
        if now >= deadline:
            break
    env.close()
    return steps / (now - start)


def run(seconds: float, num_envs: list[int]) -> str:
    rows: list[tuple[str, int, float]] = []
    baseline: dict[int, float] = {}
    for n in num_envs:
        sync = time_vector(
            lambda n=n: gym.make_vec(
                "CartPole-v1",
                num_envs=n,
                vectorization_mode="sync",
                vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
            ),
            n,
            seconds,
        )
        baseline[n] = sync
        rows.append(
            ("rlsuite CartPoleVectorEnv", n, time_vector(lambda n=n: CartPoleVectorEnv(n), n, seconds))
        )
        rows.append(
            (
                "gymnasium CartPoleVectorEnv (vector_entry_point)",
                n,
                time_vector(
                    lambda n=n: gym.make_vec(
                        "CartPole-v1", num_envs=n, vectorization_mode="vector_entry_point"
                    ),
                    n,
                    seconds,
                ),
            )
        )
        rows.append(("gymnasium SyncVectorEnv (same-step)", n, sync))
        if n == 1:
            rows.append(("rlsuite CartPoleEnv (single)", 1, time_single(CartPoleEnv, seconds)))
            rows.append(
                (
                    "gymnasium CartPole-v1 (single, gym.make)",
                    1,
                    time_single(lambda: gym.make("CartPole-v1"), seconds),
                )
            )
        print(f"done num_envs={n}", flush=True)
    lines = [
        "| implementation | num_envs | steps/s | vs SyncVectorEnv |",
        "|---|---:|---:|---:|",
    ]
    for name, n, sps in rows:
        lines.append(f"| {name} | {n} | {sps:,.0f} | {sps / baseline[n]:.2f}x |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="wall time per measurement (default 1.0)")
    parser.add_argument("--out", type=str, default=None, help="also write the Markdown table to this file")
    parser.add_argument("--num-envs", type=int, nargs="+", default=[1, 8, 64, 1024])
    args = parser.parse_args(argv)
    table = run(args.seconds, args.num_envs)
    print(table)
    if args.out:
        with open(args.out, "w") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()
