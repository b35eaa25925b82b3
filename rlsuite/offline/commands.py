"""``rlsuite data collect|info``: make D4RL-style datasets and inspect dataset files."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_data_parser(sub) -> None:
    """``rlsuite data collect|info`` under the ``rlsuite`` command's subparsers."""
    from rlsuite.offline.collect import LEVELS

    data = sub.add_parser("data", help="offline datasets: collect (D4RL-style) and info")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    collect = data_sub.add_parser(
        "collect",
        help="make a D4RL-style dataset",
        description="random: uniform actions; medium/expert: a SAC run's stochastic policy (--policy); "
        "medium-replay: the replay buffer of the medium run's checkpoint (--policy); "
        "medium-expert: two datasets concatenated (--from MEDIUM EXPERT). See docs/offline.md.",
    )
    collect.add_argument("--level", required=True, choices=LEVELS, help="D4RL dataset level")
    collect.add_argument("--out", required=True, help="output file (.hdf5)")
    collect.add_argument("--env", default=None, help="env id (default: the policy run's env)")
    collect.add_argument("--policy", default=None, help="run folder or checkpoint of a SAC (or other) run")
    collect.add_argument("--from", dest="sources", nargs="+", default=None, help="medium-expert: 2 datasets")
    collect.add_argument("--steps", type=int, default=1_000_000, help="transitions (D4RL: 1M; 2M for m-e)")
    collect.add_argument("--num-envs", type=int, default=1, help="env copies stepped together")
    collect.add_argument("--seed", type=int, default=0, help="seed of the env and the policy's sampling")
    collect.add_argument("--deterministic", action="store_true", help="the policy's mode, not samples")
    collect.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    collect.set_defaults(handler=_data_collect)
    info = data_sub.add_parser("info", help="fields, sizes, metadata and return statistics of a dataset")
    info.add_argument("path", help="dataset file (.hdf5)")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(handler=_data_info)


def _data_collect(args: argparse.Namespace) -> int:
    from rlsuite.offline import collect as c
    from rlsuite.offline.dataset import describe, save_dataset

    out = Path(args.out)
    if out.exists() and not args.force:
        raise FileExistsError(f"--out {out} exists; pass --force to overwrite it")
    needs_policy = args.level in ("medium", "expert", "medium-replay")
    if needs_policy and not args.policy:
        raise ValueError(f"--level {args.level} needs --policy RUN_DIR_OR_CHECKPOINT (a SAC run)")
    if args.level == "medium-expert" and (not args.sources or len(args.sources) != 2):
        raise ValueError("--level medium-expert needs --from MEDIUM.hdf5 EXPERT.hdf5")
    meta = {"level": args.level, "policy": args.policy or "uniform random"}
    rollout = {"num_envs": args.num_envs, "seed": args.seed}
    if args.level == "random":
        if not args.env:
            raise ValueError("--level random needs --env ENV_ID")
        dataset = c.collect_dataset(args.env, None, args.steps, **rollout, **meta)
    elif args.level == "medium-replay":
        dataset = c.replay_from_checkpoint(_checkpoint_file(args.policy), **meta)
    elif args.level == "medium-expert":
        meta["policy"] = " + ".join(args.sources)
        dataset = c.medium_expert(args.sources, **meta)
    else:
        policy, env_id = c.policy_from_checkpoint(args.policy, deterministic=args.deterministic)
        if args.env and args.env != env_id:
            raise ValueError(f"--env {args.env} differs from the policy's env {env_id}")
        dataset = c.collect_dataset(env_id, policy, args.steps, **rollout, **meta)
    save_dataset(dataset, out)
    info = describe(dataset)
    print(
        f"{out}: {info['transitions']} transitions, {info['episodes']} episodes, "
        f"return {info['return_mean']:.1f} ± {info['return_std']:.1f} "
        f"(policy return {dataset.metadata.get('policy_return_mean', float('nan')):.1f})"
    )
    return 0


def _checkpoint_file(target: str) -> Path:
    from rlsuite.core.checkpoint import latest_checkpoint

    path = Path(target)
    found = latest_checkpoint(path) if path.is_dir() else path
    if found is None or not found.is_file():
        raise FileNotFoundError(f"--policy {target}: no checkpoint there (a run folder or a .pt file)")
    return found


def _data_info(args: argparse.Namespace) -> int:
    from rlsuite.offline.dataset import describe, load_dataset
    from rlsuite.offline.scores import normalized_score

    info = describe(load_dataset(args.path))
    env_id = info["metadata"].get("env_id")
    score = normalized_score(env_id, info["return_mean"]) if env_id else None
    if score is not None:
        info["normalized_return_mean"] = score
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    finished = info["metadata"].get("finished_episodes")
    cut = info["episodes"] - finished if isinstance(finished, int) else None
    detail = f" ({finished} finished while collecting, {cut} cut at the end of a stream)" if cut else ""
    print(f"{args.path}: {info['transitions']} transitions, {info['episodes']} episodes{detail}")
    for name, (dtype, shape) in info["fields"].items():
        print(f"  {name:18s} {dtype:8s} {shape}")
    print(
        f"  episode return     mean {info['return_mean']:.2f}  std {info['return_std']:.2f}  "
        f"min {info['return_min']:.2f}  max {info['return_max']:.2f}"
        + (f"  (D4RL normalised {score:.1f})" if score is not None else "")
    )
    print(f"  terminals {info['terminals']}  timeouts {info['timeouts']}")
    for key, value in info["metadata"].items():
        print(f"  {key}: {value}")
    return 0
