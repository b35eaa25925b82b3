"""Kill-and-resume campaign: SIGKILL ``rlsuite train`` at random moments and inside its writes, resume
each run to completion, and compare it with an uninterrupted run of the same seed.

    nice -n 10 python scripts/kill_resume_campaign.py --kills 40 --seed 0 --out /tmp/campaign

For PPO (rlsuite/CartPole-v1), SAC (rlsuite/InvertedPendulum-v5) and QMIX (rlsuite/SMAC-3m-v0) with tiny
budgets, each trial trains one run folder, killing the process (SIGKILL) one to three times:

* ``random``: from outside, at a uniformly random moment of its training;
* ``checkpoint_write``: inside a checkpoint write, with part of the file in its temp file;
* ``checkpoint_link``: after ``step_N.pt`` is in place, before ``latest.pt`` points at it;
* ``metrics_append``: in the middle of a row appended to ``metrics.csv`` (a torn row);
* ``metrics_rewrite``: inside a rewrite of ``metrics.csv`` (the one every resume makes);
* ``eval_record``: after an evaluation is recorded, before its row is logged;
* ``summary_write``: after the final checkpoint, inside the write of ``summary.json``.

After every kill all checkpoint files must load; after the final resume ``metrics.csv`` must equal the
reference (no row lost or duplicated), the final checkpoint must hold bit-identical weights, optimiser
and RNG states, the evaluation returns in ``summary.json`` must match, and no temp file or lock may be
left behind. The injected kills run this script as the child (``--child``) with the kill point patched
in; the suite itself carries no fault-injection code. Prints a table and writes ``campaign.json``.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

BASE = {"device": "cpu", "torch_threads": 1, "log": {"tensorboard": False, "progress": False}}
CONFIGS = {
    "ppo": {
        **BASE,
        "experiment": "campaign-ppo",
        "seed": 11,
        "total_steps": 2048,
        "env": {"id": "rlsuite/CartPole-v1", "num_envs": 4},
        "algo": {"name": "ppo", "num_steps": 32, "minibatch_size": 64, "update_epochs": 2},
        "eval": {"episodes": 2, "every_steps": 640},
        "checkpoint": {"every_steps": 256},
    },
    "sac": {
        **BASE,
        "experiment": "campaign-sac",
        "seed": 12,
        "total_steps": 1200,
        "env": {"id": "rlsuite/InvertedPendulum-v5", "num_envs": 2},
        "algo": {"name": "sac", "hidden_sizes": [32, 32], "learning_starts": 64, "batch_size": 32},
        "eval": {"episodes": 2, "every_steps": 500},
        "checkpoint": {"every_steps": 200},
    },
    "qmix": {
        **BASE,
        "experiment": "campaign-qmix",
        "seed": 13,
        "total_steps": 1800,
        "env": {"id": "rlsuite/SMAC-3m-v0", "num_envs": 2},
        "algo": {
            "name": "qmix",
            "buffer_size": 64,
            "batch_size": 8,
            "rnn_hidden": 16,
            "mixing_embed_dim": 8,
            "hypernet_embed": 16,
            "epsilon_anneal_steps": 1000,
            "target_update_episodes": 10,
        },
        "eval": {"episodes": 2, "every_steps": 700},
        "log": {**BASE["log"], "every_steps": 150},
        "checkpoint": {"every_steps": 300},
    },
}
INJECTED = (
    "checkpoint_write",
    "checkpoint_link",
    "metrics_append",
    "metrics_rewrite",
    "eval_record",
    "summary_write",
)
KINDS = ("random", *INJECTED)
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")
WALL_CLOCK_KEYS = {"train_seconds"}  # the only checkpoint entry that is not a function of the seed


# --- the child: `rlsuite train` with one kill point patched in ---------------------------------------
def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def child_main(kind: str, occurrence: int, fraction: float, argv: list[str]) -> int:
    """Run ``rlsuite train ARGV``, dying at the ``occurrence``-th hit of ``kind`` (none: no kill)."""
    import io

    from rlsuite.core import atomic, checkpoint, logger

    hits = collections.Counter()

    def hit(name: str) -> bool:
        hits[name] += 1
        return name == kind and hits[name] == occurrence

    def partial_temp(path: Path, data: bytes) -> None:
        """What a writer killed mid-write leaves: the start of the data in a temp file beside ``path``."""
        import tempfile

        fd, _ = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.write(fd, data[: int(len(data) * fraction)])
        os.fsync(fd)
        die()

    original_write = atomic.atomic_write

    def atomic_write(path, writer):
        path = Path(path)
        target = {"metrics.csv": "metrics_rewrite", "summary.json": "summary_write"}.get(path.name)
        if path.suffix == ".pt" and path.name.startswith("step_"):
            target = "checkpoint_write"
        if target is not None and hit(target):
            buffer = io.BytesIO()
            writer(buffer)
            partial_temp(path, buffer.getvalue())
        original_write(path, writer)
        if path.name == "last_eval.json" and hit("eval_record"):
            die()

    atomic.atomic_write = atomic_write
    checkpoint.atomic_write = atomic_write
    original_link = checkpoint._replace_with_link

    def replace_with_link(source, target):
        if hit("checkpoint_link"):
            die()
        original_link(source, target)

    checkpoint._replace_with_link = replace_with_link
    original_log = logger.MetricsLogger.log

    def log(self, step, metrics, timing=None):
        row = {"step": step, **{k: logger._plain(v) for k, v in metrics.items()}}
        if all(key in self.columns for key in row) and hit("metrics_append"):
            import csv

            line = io.StringIO()
            csv.DictWriter(line, self.columns).writerow(row)
            text = line.getvalue()
            with self.path.open("a", newline="") as handle:
                handle.write(text[: max(1, min(len(text) - 1, int(len(text) * fraction)))])
            die()
        return original_log(self, step, metrics, timing)

    logger.MetricsLogger.log = log
    from rlsuite.cli import main

    return main(["train", *argv])


# --- the campaign -----------------------------------------------------------------------------------
def start_child(args: list[str], kind: str, occurrence: int, fraction: float) -> subprocess.Popen:
    command = [sys.executable, __file__, "--child", kind, str(occurrence), str(fraction), "--", *args]
    env = {**os.environ, **dict.fromkeys(THREAD_VARIABLES, "1")}  # no spinning thread pools
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)


def train_args(config: Path, run_dir: Path, resume: bool) -> list[str]:
    return [str(config), f"run_dir={run_dir}", "--quiet", *(["resume=auto"] if resume else [])]


def run_attempt(args: list[str], kind: str, rng: random.Random, train_seconds: float) -> tuple[int, str]:
    """One process: returns (exit code, stderr). ``random`` kills it from here mid-training."""
    occurrence = 1 if kind == "summary_write" else rng.randint(1, 3)
    process = start_child(args, kind if kind != "random" else "none", occurrence, rng.uniform(0.05, 0.95))
    if kind == "random":
        metrics = Path(args[1].split("=", 1)[1]) / "metrics.csv"
        started = time.time()
        while process.poll() is None and not (metrics.exists() and metrics.stat().st_mtime >= started):
            time.sleep(0.02)  # until this process has written metrics (its training started)
        time.sleep(rng.uniform(0.0, train_seconds))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
    _, err = process.communicate(timeout=900)
    return process.returncode, err


def checkpoint_problems(run_dir: Path) -> list[str]:
    """Checkpoint files that do not load (after a kill, every one of them must)."""
    from rlsuite.core.checkpoint import load_checkpoint

    problems = []
    for path in sorted((run_dir / "checkpoints").glob("*.pt")):
        try:
            load_checkpoint(path)
        except Exception as exc:
            problems.append(f"{path.name}: {type(exc).__name__}: {exc}")
    return problems


def compare_states(a, b, where: str = "") -> list[str]:
    """Paths at which two checkpoint states differ (tensors and arrays compared bit for bit)."""
    import numpy as np
    import torch

    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{where}: keys {sorted(set(a) ^ set(b))}"]
        return [d for k in a if k not in WALL_CLOCK_KEYS for d in compare_states(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return [f"{where}: length {len(a)} != {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in compare_states(x, y, f"{where}[{i}]")]
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        if a.dtype != b.dtype or a.shape != b.shape:
            return [where]
        as_bytes = [t.detach().cpu().contiguous().reshape(-1).view(torch.uint8) for t in (a, b)]
        return [] if torch.equal(*as_bytes) else [where]
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return [] if a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes() else [where]
    return [] if type(a) is type(b) and (a == b or (a != a and b != b)) else [where]


def compare_with_reference(run_dir: Path, reference: Path) -> dict:
    from rlsuite.core.atomic import is_stale_temporary
    from rlsuite.core.checkpoint import load_checkpoint
    from rlsuite.core.runlock import lock_holder

    rows = (run_dir / "metrics.csv").read_text().splitlines()
    expected = (reference / "metrics.csv").read_text().splitlines()
    got, want = collections.Counter(rows), collections.Counter(expected)
    differing = compare_states(load_checkpoint(run_dir), load_checkpoint(reference))
    summary, ref_summary = (json.loads((d / "summary.json").read_text()) for d in (run_dir, reference))
    folders = (run_dir, run_dir / "checkpoints")
    leftovers = [p.name for f in folders for p in f.iterdir() if is_stale_temporary(p.name)]
    return {
        "rows": len(expected) - 1,
        "rows_lost": sum((want - got).values()),
        "rows_duplicated": sum((got - want).values()),
        "metrics_identical": rows == expected,
        "state_differences": differing[:5],
        "eval_returns_identical": summary["eval_returns"] == ref_summary["eval_returns"],
        "temp_files_left": leftovers,
        "lock_free": lock_holder(run_dir) is None,
    }


def run_trial(algo: str, config: Path, run_dir: Path, kinds: list[str], rng, ref_seconds: float) -> dict:
    trial = {"algo": algo, "planned": list(kinds), "kills": [], "attempts": 0, "unreadable": [], "errors": []}
    plan = list(kinds)
    while trial["attempts"] < 12:
        kind = plan.pop(0) if plan else "none"
        trial["attempts"] += 1
        code, err = run_attempt(train_args(config, run_dir, trial["attempts"] > 1), kind, rng, ref_seconds)
        if code == -signal.SIGKILL:
            trial["kills"].append(kind)
            trial["unreadable"] += checkpoint_problems(run_dir)
        elif code == 0 and (run_dir / "summary.json").exists():
            break
        else:
            trial["errors"].append(f"exit {code}: {err.strip().splitlines()[-1:] if err else ''}")
            break
    if (run_dir / "summary.json").exists():
        trial.update(compare_with_reference(run_dir, run_dir.parent.parent / "reference" / algo))
    return trial


def reference_run(algo: str, config: Path, out: Path) -> float:
    """The uninterrupted run; returns the seconds its training took (for the random kill times)."""
    run_dir = out / "reference" / algo
    code, err = run_attempt(train_args(config, run_dir, False), "none", random.Random(0), 0.0)
    if code != 0:
        raise SystemExit(f"reference {algo} failed ({code}): {err}")
    opened = (run_dir / "config.yaml").stat().st_mtime  # written when the run folder opens
    return max(0.2, (run_dir / "summary.json").stat().st_mtime - opened)


def campaign(kills: int, seed: int, out: Path) -> dict:
    """Reference runs, then trials of the three algorithms side by side (one thread each)."""
    out.mkdir(parents=True, exist_ok=True)
    configs = {}
    for algo, data in CONFIGS.items():
        configs[algo] = out / f"{algo}.yaml"
        configs[algo].write_text(yaml.safe_dump(data, sort_keys=False))
    started = time.time()
    with ThreadPoolExecutor(len(CONFIGS)) as pool:
        seconds = dict(zip(CONFIGS, pool.map(lambda a: reference_run(a, configs[a], out), CONFIGS)))
        print(f"reference runs trained in about {seconds} s", flush=True)
        per_algo = -(-kills // len(CONFIGS))
        jobs = [
            pool.submit(algo_trials, algo, configs[algo], out, per_algo, seed * 100 + i, seconds[algo])
            for i, algo in enumerate(CONFIGS)
        ]
        trials = [trial for job in jobs for trial in job.result()]
    return summarize(trials, kills, seed, time.time() - started)


def algo_trials(algo: str, config: Path, out: Path, kills: int, seed: int, seconds: float) -> list[dict]:
    """Trials of one algorithm until ``kills`` SIGKILLs; each trial plans 1-3 kill points."""
    rng, trials, total = random.Random(seed), [], 0
    while total < kills:
        planned = [KINDS[(seed + total + i) % len(KINDS)] for i in range(rng.randint(1, 3))]
        rng.shuffle(planned)
        if "summary_write" in planned:  # only the last process of a run reaches summary.json
            planned.remove("summary_write")
            planned.append("summary_write")
        run_dir = out / "trials" / f"{algo}-{len(trials):03d}"
        trial = run_trial(algo, config, run_dir, planned, rng, seconds)
        trials.append(trial)
        total += len(trial["kills"])
        print(
            f"{run_dir.name}: killed at {trial['kills'] or 'no planned point (run ended first)'}; "
            f"rows lost {trial.get('rows_lost')}, duplicated {trial.get('rows_duplicated')}; "
            f"state differences {trial.get('state_differences', '?')}; errors {trial['errors']}",
            flush=True,
        )
    return trials


def summarize(trials: list[dict], kills: int, seed: int, seconds: float) -> dict:
    finished = [t for t in trials if "rows" in t]
    return {
        "seed": seed,
        "kills_requested": kills,
        "trials": len(trials),
        "trials_finished": len(finished),
        "kills": sum(len(t["kills"]) for t in trials),
        "kills_by_kind": dict(collections.Counter(k for t in trials for k in t["kills"])),
        "kills_by_algo": {a: sum(len(t["kills"]) for t in trials if t["algo"] == a) for a in CONFIGS},
        "processes": sum(t["attempts"] for t in trials),
        "rows_lost": sum(t.get("rows_lost", 0) for t in trials),
        "rows_duplicated": sum(t.get("rows_duplicated", 0) for t in trials),
        "metrics_files_identical": sum(bool(t.get("metrics_identical")) for t in trials),
        "unreadable_checkpoints": sum(len(t["unreadable"]) for t in trials),
        "final_states_identical": sum(t.get("state_differences") == [] for t in trials),
        "eval_returns_identical": sum(bool(t.get("eval_returns_identical")) for t in trials),
        "temp_files_left": sum(len(t.get("temp_files_left", [])) for t in trials),
        "locks_left": sum(t.get("lock_free") is False for t in trials),
        "errors": [e for t in trials for e in t["errors"]],
        "seconds": round(seconds, 1),
        "details": trials,
    }


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, occurrence, fraction = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
        return child_main(kind, occurrence, fraction, sys.argv[sys.argv.index("--") + 1 :])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=40, help="SIGKILLs in all (at least)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill plan and moments")
    parser.add_argument("--out", type=Path, default=Path("runs") / "kill_resume_campaign")
    args = parser.parse_args()
    result = campaign(args.kills, args.seed, args.out)
    (args.out / "campaign.json").write_text(json.dumps(result, indent=2) + "\n")
    shown = {k: v for k, v in result.items() if k != "details"}
    print(json.dumps(shown, indent=2))
    bad = result["rows_lost"] + result["rows_duplicated"] + result["unreadable_checkpoints"]
    bad += result["trials"] - result["final_states_identical"] + len(result["errors"]) + result["locks_left"]
    return 1 if bad or result["temp_files_left"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
