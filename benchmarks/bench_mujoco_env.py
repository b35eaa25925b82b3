"""MuJoCo env steps per second: rlsuite's C-threaded batched env against Gymnasium's vector envs and the raw
batch-stepping limit, for HalfCheetah-v5 and Ant-v5 (change with ``--tasks``).

Measured in one run, per task:

* ``rlsuite batched`` - ``rlsuite.make_vec("rlsuite/<Task>-v5", N)`` (N = 64 and 8, with the default
  ``nthread`` and with one thread), observations, rewards, infos and same-step autoreset included;
* ``raw Batch.step`` - the limit: ``mujoco.batch.Batch`` on the same model, same N and thread count,
  writing the controls and stepping ``frame_skip`` substeps, with no observation/reward work (for Ant the
  rlsuite env also runs Gymnasium's ``mj_rnePostConstraint`` after each step, which the raw loop skips;
  ``raw + mj_rnePostConstraint`` is that physics alone);
* ``gymnasium SyncVectorEnv`` (8 envs, same-step autoreset) and ``gymnasium AsyncVectorEnv`` (2 envs,
  one process each), over Gymnasium's v5 env;
* ``gymnasium single env`` - ``gym.make("<Task>-v5")``, reset by the loop when an episode ends.

Actions are uniform in the action space, drawn up front. Each repeat gives every implementation
``--seconds`` of wall time, in ``--slices`` short slices taken round-robin (the machine may be shared:
fine interleaving spreads background load over all of them); the table reports the median steps/s over
``--repeats`` repeats with the ratios rlsuite/raw and rlsuite/Sync.

    python benchmarks/bench_mujoco_env.py [--seconds 2.0] [--repeats 5] [--slices 10] [--tasks ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium.vector import AutoresetMode
from mujoco.batch import Batch

import rlsuite
from rlsuite.envs.mujoco import TASKS, default_nthread

N_ACTION_ROWS = 64  # pre-drawn action batches, cycled
CHUNK = 16  # steps between clock reads


def _actions(space: gym.spaces.Box, n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.uniform(space.low, space.high, (N_ACTION_ROWS, n, space.shape[-1])).astype(np.float32)


class Runner:
    """One implementation: built once, warmed up, then timed in short slices (see :func:`run`)."""

    def __init__(
        self, name: str, n: int, tag: str, make: Callable[[], tuple[Callable, gym.spaces.Box, Callable]]
    ):
        self.name, self.n, self.tag = name, n, tag
        self.step, space, self.close = make()
        self.actions = _actions(space, n)
        for a in self.actions[:CHUNK]:  # warm-up
            self.step(a)
        self.results: list[float] = []
        self._steps, self._seconds, self._next = 0, 0.0, 0

    def run_for(self, seconds: float) -> None:
        """Step for about ``seconds`` of wall time, adding to the current repeat's totals."""
        start = time.perf_counter()
        deadline = start + seconds
        while True:
            base = self._next % N_ACTION_ROWS
            for a in self.actions[base : base + CHUNK]:
                self.step(a)
            self._next += CHUNK
            self._steps += CHUNK
            now = time.perf_counter()
            if now >= deadline:
                break
        self._seconds += now - start

    def end_repeat(self) -> None:
        self.results.append(self._steps * self.n / self._seconds)
        self._steps, self._seconds = 0, 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.results)


def rlsuite_vector(task: str, n: int, nthread: int):
    env = rlsuite.make_vec(f"rlsuite/{task}-v5", n, nthread=nthread)
    env.reset(seed=0)
    return env.step, env.action_space, env.close


def gym_vector(task: str, n: int, mode: str):
    env = gym.make_vec(
        f"{task}-v5",
        num_envs=n,
        vectorization_mode=mode,
        vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
    )
    env.reset(seed=0)
    return env.step, env.action_space, env.close


def gym_single(task: str):
    env = gym.make(f"{task}-v5")
    env.reset(seed=0)

    def step(a: np.ndarray) -> None:
        _, _, terminated, truncated, _ = env.step(a[0])
        if terminated or truncated:
            env.reset()

    return step, gym.vector.utils.batch_space(env.action_space, 1), env.close


def raw_batch(task: str, n: int, nthread: int):
    """``mujoco.batch.Batch`` on Gymnasium's model: controls in, ``frame_skip`` substeps, nothing out."""
    ref = gym.make(f"{task}-v5").unwrapped
    batch = Batch(ref.model, nsim=n, nthread=nthread)
    ctrl, frame_skip = batch.bind("ctrl"), ref.frame_skip

    def step(a: np.ndarray) -> None:
        ctrl[:] = a
        batch.step(nstep=frame_skip)

    space = gym.vector.utils.batch_space(ref.action_space, n)
    return step, space, ref.close


def raw_batch_rne(task: str, n: int, nthread: int):
    """The raw loop plus Gymnasium's ``mj_rnePostConstraint`` after each step (rlsuite's
    ``CBatch.step_rne``: the physics the rlsuite env runs for tasks that read ``cfrc_ext``)."""
    from rlsuite.envs.mujoco._cbatch import CBatch

    ref = gym.make(f"{task}-v5").unwrapped
    batch = CBatch(ref.model, n, nthread, persistent=True)
    ctrl, frame_skip = batch.component(mujoco.mjtState.mjSTATE_CTRL), ref.frame_skip
    batch.output("cfrc_ext")
    batch.forward()

    def step(a: np.ndarray) -> None:
        ctrl[:] = a
        batch.step_rne(frame_skip)

    return step, gym.vector.utils.batch_space(ref.action_space, n), batch.close


def make_runners(task: str) -> list[Runner]:
    """rlsuite and the raw limit at 64 and 8 envs, with the default thread count and with one thread
    (the batch waits for its slowest thread, which costs when other processes hold the cores), then
    Gymnasium's vector envs and single env."""
    runners = []
    for n in (64, 8):
        for nthread in dict.fromkeys((default_nthread(n), 1)):
            tag = f"{n}, {nthread} thread{'s' if nthread > 1 else ''}"
            runners.append(
                Runner("rlsuite batched", n, tag, lambda n=n, t=nthread: rlsuite_vector(task, n, t))
            )
            runners.append(
                Runner("raw Batch.step (limit)", n, tag, lambda n=n, t=nthread: raw_batch(task, n, t))
            )
            if TASKS[task].rne_post:
                make = lambda n=n, t=nthread: raw_batch_rne(task, n, t)  # noqa: E731
                runners.append(Runner("raw + mj_rnePostConstraint", n, tag, make))
    runners.append(Runner("gymnasium SyncVectorEnv", 8, "8", lambda: gym_vector(task, 8, "sync")))
    runners.append(Runner("gymnasium AsyncVectorEnv", 2, "2", lambda: gym_vector(task, 2, "async")))
    runners.append(Runner("gymnasium single env", 1, "1", lambda: gym_single(task)))
    return runners


def run(tasks: list[str], seconds: float, repeats: int, slices: int) -> str:
    lines = [
        "| task | implementation | envs, threads | steps/s (median) | runs | vs raw | vs SyncVectorEnv(8) |",
        "|---|---|---:|---:|---|---:|---:|",
    ]
    for task in tasks:
        runners = make_runners(task)
        for r in range(repeats):
            for _ in range(slices):  # fine interleaving: background load falls on every implementation
                for runner in runners:
                    runner.run_for(seconds / slices)
            for runner in runners:
                runner.end_repeat()
            print(f"{task}: repeat {r + 1}/{repeats} done", flush=True)
        raw = {runner.tag: runner.median for runner in runners if runner.name.startswith("raw Batch")}
        sync = next(runner.median for runner in runners if "Sync" in runner.name)
        for runner in runners:
            compared = runner.name.startswith(("rlsuite", "raw"))
            vs_raw = f"{runner.median / raw[runner.tag]:.1%}" if compared else ""
            runs = " / ".join(f"{x:,.0f}" for x in runner.results)
            lines.append(
                f"| {task} | {runner.name} | {runner.tag} | {runner.median:,.0f} | {runs} | {vs_raw} "
                f"| {runner.median / sync:.2f}x |"
            )
        for runner in runners:
            runner.close()
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="wall time per repeat and implementation")
    parser.add_argument("--repeats", type=int, default=5, help="repeats per implementation (default 5)")
    parser.add_argument("--slices", type=int, default=10, help="interleaved slices per repeat (default 10)")
    parser.add_argument("--tasks", nargs="+", default=["HalfCheetah", "Ant"])
    parser.add_argument("--out", type=str, default=None, help="also write the Markdown table to this file")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    print(f"mujoco {mujoco.__version__}, {os.cpu_count()} CPUs, load average {load[0]:.1f}", flush=True)
    table = run(args.tasks, args.seconds, args.repeats, args.slices)
    print(table)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    if args.out:
        with open(args.out, "w") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()
