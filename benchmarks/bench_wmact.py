"""WMAct's ablation ladder on the text worlds with the suite's small GPT: one resumable command.

    nice -n 10 python benchmarks/bench_wmact.py --envs maze5 sokoban6 --seeds 0 1 2 --jobs 2 \
        [--sft-steps N] [--rl-steps N] [--out benchmarks/reports/wmact] [--set KEY=VALUE ...]

Per env and seed: supervised warm starts (``experiments/multiturn_sft/<env>_cpu.yaml``): ``sft``
on interactive demonstrations and ``sft_entire_plan`` on whole plans in one turn. Every rung starts from
one of them (``algo.init_from``, no further SFT): PPO-EntirePlan from ``sft_entire_plan`` (a from-scratch
model never saw the one-turn prompt in ``sft``), with a reply budget that holds a whole plan; the
multi-turn rungs from ``sft``, so they differ only by their flags:

    entire_plan    PPO-EntirePlan: the whole plan in one turn
    interactive    PPO-Interactive: multi-turn, plain outcome reward
    rescaling      + reward rescaling R = R_outcome * N_eff / N
    wmact          + turn-cap annealing (WMAct)
    step_penalty   rescaling + a -0.1 reward per turn instead of annealing

Every run is ``rlsuite train`` in its own subprocess with ``run_dir=OUT/runs/<env>/<rung>/s<seed>`` and
``resume=auto``, so a benchmark cut short continues when the same command runs again (runs with a
``summary.json`` are skipped). ``--env-seeds sokoban7=0`` gives one env fewer seeds; pipelines run
seed-major (every env's first seed before any env's second).
After training, ``--transfer`` evaluates the Sokoban-standard models on Hard-1 (10x10), Hard-2 (3 boxes) and
Taxi, and the warm-up (6x6, one box) models on a 7x7 room, two boxes, the standard level and Taxi (greedy,
held-out levels; the model is unchanged; ``TRANSFER``). Reported per env and rung, over seeds (each seed's
figure is the greedy evaluation on the same held-out levels): success rate, single-turn success rate, mean
turns, mean actions and efficacy, with the mean and a 95% percentile-bootstrap CI of the mean over seeds
(10k resamples, seeded). Output: OUT/results.md (Markdown), OUT/results.json (per-seed figures too).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rlsuite.core.atomic import atomic_write_text  # noqa: E402
from rlsuite.core.stats import bootstrap_ci  # noqa: E402

RUNGS: dict[str, list[str]] = {
    "entire_plan": ["algo.mode=entire_plan", "algo.reward_rescaling=false", "algo.turn_annealing=false"],
    "interactive": ["algo.reward_rescaling=false", "algo.turn_annealing=false"],
    "rescaling": ["algo.reward_rescaling=true", "algo.turn_annealing=false"],
    "wmact": ["algo.reward_rescaling=true", "algo.turn_annealing=true"],
    "step_penalty": ["algo.reward_rescaling=true", "algo.turn_annealing=false", "algo.step_penalty=-0.1"],
}
# Sensitivity rungs (not run by default; --rungs NAME): PPO-EntirePlan at a 5x lower actor learning rate;
# WMAct with 4 turn-cap updates in the CPU configs' 100 iterations instead of 10 (the cap falls to the
# turns used within a few updates, so fewer updates keep it above them for longer, as a 30-turn start does).
EXTRA_RUNGS: dict[str, list[str]] = {
    "entire_plan_lr2e-4": [*RUNGS["entire_plan"], "algo.actor_lr=2e-4"],
    "wmact_anneal25": [*RUNGS["wmact"], "algo.anneal_every=25"],
}
ALL_RUNGS = {**RUNGS, **EXTRA_RUNGS}
ENVS = ("corridor", "maze5", "sokoban6", "sokoban7", "taxi")
FIGURES = ("success_rate", "single_turn_success_rate", "mean_turns", "mean_actions", "efficacy")
TRANSFER: dict[str, dict[str, tuple[str, dict[str, Any]]]] = {  # evaluation-only settings, per trained env
    # The standard-Sokoban models on the paper's Hard-1 (larger room) and Hard-2 (more boxes), and Taxi.
    "sokoban7": {
        "sokoban_hard1": ("rlsuite/SokobanText-v0", {"dim_room": [10, 10], "num_boxes": 2}),
        "sokoban_hard2": ("rlsuite/SokobanText-v0", {"dim_room": [7, 7], "num_boxes": 3}),
        "taxi": ("rlsuite/TaxiText-v0", {}),
    },
    # The warm-up models (the size the CPU-scale GPT learns) one step harder in the same two directions,
    # on the standard level, and Taxi.
    "sokoban6": {
        "room_7x7": ("rlsuite/SokobanText-v0", {"dim_room": [7, 7], "num_boxes": 1}),
        "boxes_2": ("rlsuite/SokobanText-v0", {"dim_room": [6, 6], "num_boxes": 2}),
        "standard_7x7": ("rlsuite/SokobanText-v0", {"dim_room": [7, 7], "num_boxes": 2}),
        "taxi": ("rlsuite/TaxiText-v0", {}),
    },
}


@functools.cache
def entire_plan_reply_tokens(env: str) -> int:
    """Reply tokens (bytes) a whole plan needs: ``<answer>A || B || ...</answer>`` with the env's
    ``max_actions_per_episode`` actions of its longest name, so that PPO-EntirePlan is never cut short by the
    interactive rungs' per-turn reply budget."""
    import yaml

    import rlsuite

    spec = yaml.safe_load((REPO / f"experiments/wmact/{env}_cpu.yaml").read_text())["env"]
    world = rlsuite.make(spec["id"], **spec.get("kwargs", {})).unwrapped
    parser, count = world.parser, int(world.max_actions_per_episode)
    longest = max(len(name.encode()) for name in parser.action_names)
    separator = len(f" {parser.separator} ".encode())
    return len(b"<answer></answer>") + count * longest + (count - 1) * separator


def train(config: str, run_dir: Path, overrides: list[str], threads: int) -> dict[str, Any]:
    """One ``rlsuite train`` subprocess (skipped when its summary exists); its summary and wall time."""
    summary = run_dir / "summary.json"
    if not summary.exists():
        fixed = [f"run_dir={run_dir}", "resume=auto", "log.progress=false", "log.tensorboard=false"]
        cmd = [sys.executable, "-m", "rlsuite.cli", "train", str(REPO / config), *fixed]
        cmd += [f"torch_threads={threads}", *overrides]
        started = time.perf_counter()
        done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        if done.returncode != 0:
            return {"error": done.stderr.strip().splitlines()[-1:] or ["failed"], "run_dir": str(run_dir)}
        (run_dir / "bench_wall_s.txt").write_text(f"{time.perf_counter() - started:.1f}\n")
    wall = run_dir / "bench_wall_s.txt"
    return {
        **json.loads(summary.read_text()),
        "bench_wall_s": float(wall.read_text()) if wall.exists() else None,
    }


def warm_start(env: str, seed: int, kind: str, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """One supervised warm start: ``sft`` on interactive demonstrations (1-3 actions per turn, feedback
    between turns), or ``sft_entire_plan`` on whole plans in one turn (the one-turn prompt differs from the
    interactive one, and a model trained from scratch does not carry over to a prompt it never saw)."""
    overrides = [f"seed={seed}", *args.set, f"eval.episodes={args.eval_episodes}"]
    if args.sft_steps:
        overrides += [f"total_steps={args.sft_steps}", f"eval.every_steps={args.sft_steps}"]
    if kind == "sft_entire_plan":
        overrides += [
            "algo.mode=entire_plan",
            f"algo.sampling.max_new_tokens={entire_plan_reply_tokens(env)}",
        ]
    run_dir = out / "runs" / env / kind / f"s{seed}"
    return {
        **train(f"experiments/multiturn_sft/{env}_cpu.yaml", run_dir, overrides, args.threads),
        "dir": run_dir,
    }


def pipeline(env: str, seed: int, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """Warm starts, then every rung from its own (in order: the rungs need the warm start): PPO-EntirePlan
    from the whole-plan warm start, the multi-turn rungs from the interactive one."""
    rl = [f"eval.episodes={args.eval_episodes}"]
    if args.rl_steps:
        rl += [f"total_steps={args.rl_steps}", f"eval.every_steps={args.rl_steps}"]
    results: dict[str, Any] = {}
    for rung in args.rungs:
        kind = "sft_entire_plan" if rung.startswith("entire_plan") else "sft"
        if kind not in results:
            results[kind] = warm_start(env, seed, kind, args, out)
        if "error" in results[kind]:
            continue
        start = [f"algo.init_from={results[kind]['dir']}", "algo.sft_warmup_steps=0"]
        overrides = [f"seed={seed}", *args.set, *ALL_RUNGS[rung], *start, *rl]
        if rung.startswith("entire_plan"):
            overrides.append(f"algo.sampling.max_new_tokens={entire_plan_reply_tokens(env)}")
        run_dir = out / "runs" / env / rung / f"s{seed}"
        results[rung] = train(f"experiments/wmact/{env}_cpu.yaml", run_dir, overrides, args.threads)
    return results


def transfer(run_dir: Path, settings: dict[str, tuple[str, dict[str, Any]]], episodes: int) -> dict[str, Any]:
    """Greedy held-out evaluation of a trained run's model on the transfer ``settings``."""
    from rlsuite.algos.wmact import WMAct, WMActConfig
    from rlsuite.config import EnvConfig, EvalConfig, from_dict
    from rlsuite.core.checkpoint import latest_checkpoint, load_checkpoint

    cached = run_dir / f"transfer_{episodes}.json"  # a resumed benchmark does not evaluate again
    previous = json.loads(cached.read_text()) if cached.exists() else {}
    if set(previous) == set(settings):
        return previous
    state = load_checkpoint(latest_checkpoint(run_dir), map_location="cpu")
    out = {}
    for name, (env_id, world) in settings.items():
        config = dataclasses.replace(from_dict(WMActConfig, state["config"]), init_from=str(run_dir))
        kwargs = {**state["env_config"]["kwargs"], **world}
        for key in ("dim_room", "num_boxes", "size", "wall_density"):  # world keys of another world
            if env_id.endswith("TaxiText-v0"):
                kwargs.pop(key, None)
        env = EnvConfig(id=env_id, num_envs=1, kwargs=kwargs)
        algo = WMAct(env, config, device="cpu", eval_config=EvalConfig(episodes=episodes))
        result = algo.evaluate()
        out[name] = {"success_rate": float(sum(result.successes) / len(result.successes)), **result.extras}
        algo.close()
    atomic_write_text(cached, json.dumps(out))
    return out


def transfer_all(
    env: str, per_seed: dict[int, dict[str, Any]], args: argparse.Namespace, out: Path
) -> dict[str, dict[int, dict[str, Any]]]:
    """Every rung that finished on every seed, evaluated on ``env``'s transfer settings."""
    levels = args.transfer_episodes or args.eval_episodes
    seeds = sorted(per_seed)
    return {
        rung: {
            seed: transfer(out / "runs" / env / rung / f"s{seed}", TRANSFER[env], levels) for seed in seeds
        }
        for rung in args.rungs
        if all("error" not in per_seed[seed].get(rung, {"error": 1}) for seed in seeds)
    }


def transfer_markdown(env: str, moved: dict[str, dict[int, dict[str, Any]]], levels: int) -> str:
    names = list(TRANSFER[env])
    text = f"\n## Transfer of the {env} models (success per seed, {levels} held-out levels each)\n\n"
    text += "| method | " + " | ".join(names) + " |\n|---|" + "---|" * len(names) + "\n"
    for rung, per_seed in moved.items():
        cells = [str([round(r[name]["success_rate"], 3) for r in per_seed.values()]) for name in names]
        text += f"| {rung} | {' | '.join(cells)} |\n"
    return text


def aggregate(results: dict[str, dict[int, dict[str, Any]]]) -> dict[str, Any]:
    """Per env and rung: the figures of every seed, their mean and the 95% bootstrap CI of the mean."""
    table: dict[str, Any] = {}
    for env, per_seed in results.items():
        for rung in ["sft", "sft_entire_plan", *ALL_RUNGS]:
            rows = [r[rung] for r in per_seed.values() if rung in r and "error" not in r[rung]]
            if not rows:
                continue
            entry: dict[str, Any] = {"seeds": [r["seed"] for r in rows]}
            for figure in FIGURES:
                values = [float(r[figure]) for r in rows if figure in r]
                low, high = bootstrap_ci(values, "mean", confidence=0.95, resamples=10_000, seed=0)
                entry[figure] = {"per_seed": values, "mean": sum(values) / len(values), "ci95": [low, high]}
            walls = [r["bench_wall_s"] for r in rows if r.get("bench_wall_s")]
            entry["wall_s_mean"] = sum(walls) / len(walls) if walls else None
            table.setdefault(env, {})[rung] = entry
    return table


def markdown(table: dict[str, Any]) -> str:
    header = "| env | method | seeds | success | single-turn success | mean turns | mean actions | efficacy |"
    lines = [header + " wall s/run |", "|---|---|---|---|---|---|---|---|---|"]
    for env, rungs in table.items():
        for rung, entry in rungs.items():
            cells = [
                f"{entry[f]['mean']:.3f} [{entry[f]['ci95'][0]:.3f}, {entry[f]['ci95'][1]:.3f}]"
                for f in FIGURES
            ]
            wall = f"{entry['wall_s_mean']:.0f}" if entry["wall_s_mean"] else "-"
            lines.append(f"| {env} | {rung} | {len(entry['seeds'])} | {' | '.join(cells)} | {wall} |")
    return "\n".join(lines)


def parse_env_seeds(
    items: list[str], envs: list[str], seeds: list[int], parser: argparse.ArgumentParser
) -> dict[str, list[int]]:
    """``--env-seeds ENV=S1,S2`` items as {env: seeds}; every other env gets ``--seeds``."""
    chosen = {env: list(seeds) for env in envs}
    for item in items:
        env, _, values = item.partition("=")
        try:
            picked = [int(v) for v in values.split(",") if v]
        except ValueError:
            picked = []
        if env not in chosen or not picked or not set(picked) <= set(seeds):
            parser.error(f"--env-seeds {item!r}: expected ENV=SEEDS with ENV in --envs and SEEDS in --seeds")
        chosen[env] = picked
    return chosen


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", nargs="+", default=["maze5", "sokoban6"], choices=ENVS)
    parser.add_argument("--rungs", nargs="+", default=list(RUNGS), choices=list(ALL_RUNGS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--env-seeds",
        nargs="*",
        default=[],
        metavar="ENV=SEEDS",
        help="fewer seeds for one env, e.g. sokoban7=0,1 (a subset of --seeds)",
    )
    parser.add_argument(
        "--sft-steps", type=int, default=0, help="warm-start demonstrations; 0 = the config's"
    )
    parser.add_argument("--rl-steps", type=int, default=0, help="RL episodes per rung; 0 = the config's")
    parser.add_argument("--eval-episodes", type=int, default=64, help="held-out levels per evaluation")
    parser.add_argument("--jobs", type=int, default=2, help="env x seed pipelines in parallel")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument(
        "--transfer", action="store_true", help="evaluate sokoban7/sokoban6 models on harder levels and Taxi"
    )
    parser.add_argument(
        "--transfer-episodes",
        type=int,
        default=0,
        help="held-out levels per transfer setting; 0 = --eval-episodes",
    )
    parser.add_argument("--set", nargs="*", default=[], help="extra KEY=VALUE overrides for every run")
    parser.add_argument("--out", default="benchmarks/reports/wmact")
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    env_seeds = parse_env_seeds(args.env_seeds, args.envs, args.seeds, parser)
    # Seed-major order: with --jobs 1 every env gets its first seed before any env gets its second.
    jobs = [(env, seed) for seed in args.seeds for env in args.envs if seed in env_seeds[env]]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        done = list(pool.map(lambda job: pipeline(*job, args, out), jobs))
    results: dict[str, dict[int, dict[str, Any]]] = {}
    for (env, seed), result in zip(jobs, done):
        results.setdefault(env, {})[seed] = result
    table = aggregate(results)
    report: dict[str, Any] = {"command": " ".join(sys.argv), "table": table, "runs": results}
    text = "## WMAct ablation ladder (greedy, held-out levels; mean [95% bootstrap CI] over seeds)\n\n"
    text += markdown(table) + "\n"
    for env in [e for e in results if args.transfer and e in TRANSFER]:
        report.setdefault("transfer", {})[env] = moved = transfer_all(env, results[env], args, out)
        text += transfer_markdown(env, moved, args.transfer_episodes or args.eval_episodes)
    failures = [
        r for per_seed in results.values() for res in per_seed.values() for r in res.values() if "error" in r
    ]
    for failure in failures:
        text += f"\nfailed: {failure['run_dir']}: {failure['error']}"
    (out / "results.json").write_text(json.dumps(report, indent=1, default=str))
    (out / "results.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
