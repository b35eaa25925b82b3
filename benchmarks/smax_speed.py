"""SMAX (JaxMARL) env steps per second on CPU: the JAX side of the SMAC throughput comparison.

Runs under a separate virtualenv that has JAX + JaxMARL (not rlsuite's venv), e.g.::

    python3 -m venv /work/jaxenv
    /work/jaxenv/bin/pip install "jax[cpu]==0.10.2" "jaxlib==0.10.2" "jaxmarl==0.2.0" "gymnax==1.0.1" \\
        "gymnasium>=1.0,<1.4" six
    /work/jaxenv/bin/python benchmarks/smax_speed.py [--maps 3m 2s3z MMM2 27m_vs_30m] [--batches 1 64 1024]
        [--seconds 3] [--repeats 3] [--chunk 100] [--max-call-steps 8192] [--threads 2] [--wait-quiet 600]
        [--per-call-batches 1] [--json OUT.json]

What is measured, per (map, batch):

* env: ``HeuristicEnemySMAX(scenario=map_name_to_scenario(map))`` with JaxMARL's defaults (discrete actions,
  ``unit_list`` observations, built-in heuristic enemy, ``max_steps=100``, 8 world steps of 1/16 s per env
  step) - the env ``jaxmarl.make("HeuristicEnemySMAX", scenario=...)`` builds;
* each env step: read the ally avail-action masks, sample a uniformly random *valid* action per ally (in JAX),
  then ``env.step`` - JaxMARL's default step, which auto-resets a finished battle (it computes a reset every
  step and selects it where ``dones["__all__"]``). Observations (incl. ``world_state``), rewards and dones are
  folded into a checksum so XLA cannot dead-code-eliminate them;
* mode ``scan``: ``jit(lax.scan(vmap(step), length=chunk))`` per call, the batch's envs vmapped; chunk is
  ``--chunk`` (100) capped so one call does at most ``--max-call-steps`` battle steps (8192: batch 1024 -> 8
  env steps per call; dispatch is negligible at that size). Batch 1 steps the plain env without ``vmap``
  (faster than a vmapped batch of 1, where every ``lax.cond`` becomes a both-branches ``select``);
* mode ``per_call`` (batch 1 by default, ``--per-call-batches``): one jitted (sample + step) per Python call,
  ``block_until_ready`` after each call - what a Python-loop user who reads every step's results gets.

Compile time is excluded (a compile call plus warm-up calls come first); then ``--repeats`` (3) timed
windows of whole calls, each >= ``--seconds``; the best window is reported as ``steps_per_s`` (the median is
kept too). ``steps_per_s`` counts battle steps (batch x env steps), not agent steps. ``other CPU`` is how many
CPUs other processes kept busy during the reported window (from /proc/stat); ``--wait-quiet MAX_S`` waits
for an idle machine before each window.
MMM2 has no SMAX scenario (SMAX has no medivac unit type); it is reported as skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

DEFAULT_MAPS = ["3m", "2s3z", "MMM2", "27m_vs_30m"]
DEFAULT_BATCHES = [1, 64, 1024]
WARMUP_S = 0.3  # warm-up wall time after the compile call (at least 1 call)


def limit_threads(n: int) -> None:
    """Pin the process to ``n`` CPUs and size XLA's CPU thread pool accordingly; call before importing jax."""
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, set(cpus[:n]))
    flags = os.environ.get("XLA_FLAGS", "")
    if "intra_op_parallelism_threads" not in flags:
        multi = "true" if n > 1 else "false"
        flags += f" --xla_cpu_multi_thread_eigen={multi} intra_op_parallelism_threads={n}"
    os.environ["XLA_FLAGS"] = flags.strip()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(n))


def cpu_snapshot() -> tuple[float, float] | None:
    """(busy CPU seconds of the whole machine, CPU seconds of this process), Linux only."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    busy = sum(fields[:8]) - fields[3] - fields[4]  # all but idle and iowait (guest is inside user)
    t = os.times()
    return busy / os.sysconf("SC_CLK_TCK"), t.user + t.system


def other_cpu_load(before, after, elapsed: float) -> float | None:
    """Mean number of CPUs kept busy by *other* processes over a measurement (contention indicator)."""
    if before is None or after is None or elapsed <= 0:
        return None
    return max(0.0, ((after[0] - before[0]) - (after[1] - before[1])) / elapsed)


def wait_quiet(max_wait_s: float, threshold: float = 0.25) -> float | None:
    """Wait (up to ``max_wait_s``) until other processes use < ``threshold`` CPUs over a 1 s sample."""
    deadline = time.monotonic() + max_wait_s
    while True:
        before, t0 = cpu_snapshot(), time.perf_counter()
        time.sleep(1.0)
        load = other_cpu_load(before, cpu_snapshot(), time.perf_counter() - t0)
        if load is None or load < threshold or time.monotonic() >= deadline:
            return load
        print(f"  (waiting for a quiet machine: other CPU load {load:.2f})", flush=True)
        time.sleep(4.0)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--maps", nargs="+", default=DEFAULT_MAPS)
    p.add_argument("--batches", nargs="+", type=int, default=DEFAULT_BATCHES)
    p.add_argument("--seconds", type=float, default=3.0, help="target wall time of one timed window")
    p.add_argument("--repeats", type=int, default=3, help="timed windows per measurement; best is reported")
    p.add_argument("--chunk", type=int, default=100, help="env steps per jitted lax.scan call")
    p.add_argument(
        "--max-call-steps",
        type=int,
        default=8192,
        help="cap on battle steps (batch x chunk) per scan call; the chunk shrinks for big batches",
    )
    p.add_argument(
        "--per-call-batches",
        nargs="*",
        type=int,
        default=[1],
        help="batch sizes that also get the per-call (no scan) measurement",
    )
    p.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1), help="CPUs for XLA")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="MAX_S",
        help="before each timed measurement wait up to MAX_S s for other processes to go idle",
    )
    p.add_argument("--json", metavar="OUT", help="write the results as a JSON list")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    limit_threads(args.threads)

    from importlib.metadata import version

    import jax
    import jax.numpy as jnp
    from jaxmarl.environments.smax import HeuristicEnemySMAX, map_name_to_scenario
    from jaxmarl.environments.smax.smax_env import MAP_NAME_TO_SCENARIO

    versions = {k: version(k) for k in ("jax", "jaxlib", "jaxmarl", "gymnax")}

    def make_env(map_name: str) -> HeuristicEnemySMAX:
        return HeuristicEnemySMAX(scenario=map_name_to_scenario(map_name))

    def make_step(env: HeuristicEnemySMAX):
        """One env step with random valid ally actions.

        carry = (key, state, checksum, ep) with ep = [episodes done, their summed lengths, current length].
        """
        agents = env.agents

        def step(carry):
            key, state, checksum, ep = carry
            key, k_act, k_step = jax.random.split(key, 3)
            avail = env.get_avail_actions(state)
            mask = jnp.stack([avail[a] for a in agents])  # (n_allies, n_actions), uint8
            acts = jax.random.categorical(k_act, jnp.where(mask > 0, 0.0, -jnp.inf), axis=-1)
            actions = {a: acts[i] for i, a in enumerate(agents)}
            obs, state, rewards, dones, _ = env.step(k_step, state, actions)
            checksum = (
                checksum
                + sum(jnp.sum(o) for o in obs.values())
                + sum(rewards.values())
                + sum(d.astype(jnp.float32) for d in dones.values())
            )
            done, cur = dones["__all__"], ep[2] + 1
            ep = jnp.stack([ep[0] + done, ep[1] + jnp.where(done, cur, 0), jnp.where(done, 0, cur)])
            return key, state, checksum, ep

        return step

    def init_carry(env: HeuristicEnemySMAX, batch: int | None, seed: int):
        key = jax.random.PRNGKey(seed)
        key, k_reset = jax.random.split(key)
        if batch is None:
            _, state = env.reset(k_reset)
            return key, state, jnp.float32(0.0), jnp.zeros((3,), jnp.int32)
        keys = jax.random.split(key, batch)
        _, states = jax.vmap(env.reset)(jax.random.split(k_reset, batch))
        return keys, states, jnp.zeros((batch,), jnp.float32), jnp.zeros((batch, 3), jnp.int32)

    def build_scan(env: HeuristicEnemySMAX, chunk: int, batched: bool):
        vstep = jax.vmap(make_step(env)) if batched else make_step(env)

        def body(carry, _):
            return vstep(carry), None

        return jax.jit(lambda carry: jax.lax.scan(body, carry, None, length=chunk)[0])

    def measure(fn, carry, steps_per_call: int) -> dict:
        """Compile + warm up, then ``--repeats`` timed windows of >= ``--seconds`` each (whole calls)."""
        t0 = time.perf_counter()
        carry = jax.block_until_ready(fn(carry))
        compile_s = time.perf_counter() - t0
        t0, n = time.perf_counter(), 0
        while n < 1 or time.perf_counter() - t0 < WARMUP_S:
            carry = jax.block_until_ready(fn(carry))
            n += 1
        windows = []
        for _ in range(args.repeats):
            if args.wait_quiet > 0:
                wait_quiet(args.wait_quiet)
            calls, snap0, t0 = 0, cpu_snapshot(), time.perf_counter()
            while True:
                carry = jax.block_until_ready(fn(carry))
                calls += 1
                elapsed = time.perf_counter() - t0
                if elapsed >= args.seconds:
                    break
            other = other_cpu_load(snap0, cpu_snapshot(), elapsed)
            steps = calls * steps_per_call
            windows.append((steps / elapsed, elapsed, other))
        best = max(windows)
        ep = carry[3].reshape(-1, 3).sum(axis=0)  # finished episodes since the reset, incl. warm-up
        return {
            "steps_per_s": best[0],  # best window: interference only ever slows a window down
            "steps_per_s_median": statistics.median(w[0] for w in windows),
            "steps_per_s_windows": [w[0] for w in windows],
            "mean_episode_len": float(ep[1] / ep[0]) if ep[0] else None,
            "episodes": int(ep[0]),
            "compile_s": compile_s,
            "timed_s": sum(w[1] for w in windows),
            "other_cpu_load": best[2],  # during the best window
        }

    print(
        f"SMAX env throughput on {platform.processor() or platform.machine()}, "
        f"{args.threads} XLA thread(s) (affinity {sorted(os.sched_getaffinity(0))}), "
        + ", ".join(f"{k} {v}" for k, v in versions.items()),
        flush=True,
    )
    print(f"devices: {jax.devices()}  XLA_FLAGS={os.environ.get('XLA_FLAGS')!r}", flush=True)
    print(f"load average at start: {os.getloadavg()} (other CPU load skews results)", flush=True)

    results: list[dict] = []
    skipped: list[str] = []
    header = (
        f"{'map':<12} {'batch':>6} {'mode':<9} {'chunk':>5} {'steps/s best':>13} {'median':>13} "
        f"{'agent-steps/s':>14} {'mean ep len':>11} {'compile s':>9} {'other CPU':>9}"
    )
    rows: list[str] = []

    def record(map_name: str, batch: int, mode: str, n_agents: int, m: dict, chunk: int) -> None:
        sps, other, ep_len = m["steps_per_s"], m["other_cpu_load"], m["mean_episode_len"]
        results.append(
            {
                "impl": "smax",
                "map": map_name,
                "batch": batch,
                "steps_per_s": sps,
                "mode": mode,
                "agent_steps_per_s": sps * n_agents,
                **{k: v for k, v in m.items() if k != "steps_per_s"},
                "chunk": chunk,
                "repeats": args.repeats,
                "threads": args.threads,
                **versions,
            }
        )
        row = (
            f"{map_name:<12} {batch:>6} {mode:<9} {chunk:>5} {sps:>13,.0f} {m['steps_per_s_median']:>13,.0f} "
            f"{sps * n_agents:>14,.0f} {ep_len or float('nan'):>11.1f} {m['compile_s']:>9.1f} "
            + (f"{other:>9.2f}" if other is not None else f"{'n/a':>9}")
        )
        rows.append(row)
        print(row, flush=True)

    print(header, flush=True)
    for map_name in args.maps:
        if map_name not in MAP_NAME_TO_SCENARIO:
            why = "no medivac unit type in SMAX" if map_name == "MMM2" else "no such SMAX scenario"
            msg = f"{map_name}: skipped - not available in SMAX ({why})"
            skipped.append(msg)
            rows.append(msg)
            print(msg, flush=True)
            continue
        env = make_env(map_name)
        for batch in args.batches:
            chunk = max(1, min(args.chunk, args.max_call_steps // batch))
            fn = build_scan(env, chunk, batched=batch > 1)
            m = measure(fn, init_carry(env, batch if batch > 1 else None, args.seed), chunk * batch)
            record(map_name, batch, "scan", env.num_agents, m, chunk)
            if batch in args.per_call_batches:
                if batch == 1:  # the plain single env a Python-loop user steps: no vmap
                    fn1 = jax.jit(make_step(env))
                    carry = init_carry(env, None, args.seed)
                else:
                    fn1 = jax.jit(jax.vmap(make_step(env)))
                    carry = init_carry(env, batch, args.seed)
                m = measure(fn1, carry, batch)
                record(map_name, batch, "per_call", env.num_agents, m, 1)

    print("\nSummary (steps/s = battle steps: batch x env steps; agent-steps/s = steps/s x n_allies;")
    print(f" best and median of {args.repeats} timed windows of >= {args.seconds} s;")
    print(" mean ep len = mean length of the episodes finished during the measurement (incl. warm-up);")
    print(" other CPU = mean CPUs busy with other processes in the best window; near 0 for clean numbers;")
    print(
        " scan = jit(lax.scan of the (vmapped) step, 'chunk' env steps) per call;"
        " per_call = one jitted step per Python call, blocked each step)"
    )
    print(header)
    for row in rows:
        print(row)
    print(f"load average at end: {os.getloadavg()}")

    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
