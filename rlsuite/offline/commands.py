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
        help="make a D4RL-style dataset, or a team dataset of SMAC episodes",
        description="random: uniform actions; medium/expert: a SAC run's stochastic policy (--policy); "
        "medium-replay: the replay buffer of the medium run's checkpoint (--policy); "
        "medium-expert: two datasets concatenated (--from MEDIUM EXPERT). See docs/offline.md. "
        "Team envs (a multi-agent --env, a MAPPO/QMIX/ACE --policy, or --policy "
        "heuristic|focus_fire|...: see docs/maskma.md): --episodes "
        "greedy episodes (with --epsilon) into a .npz team dataset, after measuring the expert's win rate "
        "over --eval-episodes battles. See docs/maskma.md.",
    )
    collect.add_argument("--level", default=None, choices=LEVELS, help="D4RL dataset level (single-agent)")
    collect.add_argument("--out", required=True, help="output file (.hdf5; .npz for team datasets)")
    collect.add_argument("--env", default=None, help="env id (default: the policy run's env)")
    collect.add_argument(
        "--policy",
        default=None,
        help="run folder or checkpoint (SAC, or MAPPO/QMIX/ACE), or a scripted SMAC policy: 'heuristic' "
        "(attack-nearest), or a focus-fire script: 'focus_fire', 'focus_fire_spread', 'focus_fire_decoy' "
        "(docs/maskma.md)",
    )
    collect.add_argument("--episodes", type=int, default=200, help="team envs: episodes to record")
    collect.add_argument("--epsilon", type=float, default=0.0, help="team envs: random-action chance")
    collect.add_argument(
        "--action-noise",
        type=float,
        default=0.0,
        help="team envs: chance of executing a random action while recording the expert's (DART)",
    )
    collect.add_argument("--eval-episodes", type=int, default=64, help="team envs: win-rate battles")
    collect.add_argument("--from", dest="sources", nargs="+", default=None, help="medium-expert: 2 datasets")
    collect.add_argument("--steps", type=int, default=1_000_000, help="transitions (D4RL: 1M; 2M for m-e)")
    collect.add_argument("--num-envs", type=int, default=1, help="env copies stepped together")
    collect.add_argument("--seed", type=int, default=0, help="seed of the env and the policy's sampling")
    collect.add_argument("--deterministic", action="store_true", help="the policy's mode, not samples")
    collect.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    collect.set_defaults(handler=_data_collect)
    pipeline = data_sub.add_parser(
        "pipeline",
        help="train, gate (win rate) and record experts on many maps (resumable)",
        description="Runs a pipeline file (e.g. experiments/maskma/data_pipeline.yaml): per map, expert "
        "attempts until one wins min_win_rate, then records its episodes. Run it again to resume. "
        "See docs/maskma.md.",
    )
    pipeline.add_argument("path", help="pipeline file (.yaml)")
    pipeline.add_argument("--quiet", action="store_true", help="no progress messages")
    pipeline.set_defaults(handler=_data_pipeline)
    info = data_sub.add_parser("info", help="fields, sizes, metadata and return statistics of a dataset")
    info.add_argument("path", help="dataset file (.hdf5; .npz: a team dataset)")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(handler=_data_info)


def _data_collect(args: argparse.Namespace) -> int:
    from rlsuite.offline import collect as c
    from rlsuite.offline.dataset import describe, save_dataset

    out = Path(args.out)
    if out.exists() and not args.force:
        raise FileExistsError(f"--out {out} exists; pass --force to overwrite it")
    if _is_team_collection(args):
        return _team_collect(args, out)
    if args.level is None:
        raise ValueError(f"--level is required for single-agent datasets; choose from {', '.join(c.LEVELS)}")
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


def _data_pipeline(args: argparse.Namespace) -> int:
    from rlsuite.offline.team_pipeline import run_pipeline

    reports = run_pipeline(args.path, quiet=args.quiet)
    failed = [r.map for r in reports if not r.dataset]
    for r in reports:
        rate = "-" if r.win_rate is None else f"{r.win_rate:.2f}"
        print(
            f"{r.map:24s} expert {r.expert or '-':28s} win {rate:5s} episodes {r.episodes:5d} "
            f"expert {r.expert_wall_s:6.0f}s data {r.data_wall_s:5.0f}s"
            + (" (done before)" if r.skipped else "")
        )
    if failed:
        print(f"no expert passed the win-rate gate on: {', '.join(failed)}")
    return 1 if failed else 0


def _is_team_collection(args: argparse.Namespace) -> bool:
    """Team datasets: the heuristic, a multi-agent --env, or a checkpoint of a multi-agent run."""
    import rlsuite
    from rlsuite.envs.smac.downstream import SCRIPTED_POLICIES

    if args.policy in SCRIPTED_POLICIES:
        return True
    if args.env:
        return rlsuite.spec(args.env).multi_agent
    if args.policy and args.level in (None, "expert"):
        from rlsuite.core.checkpoint import load_checkpoint

        env_id = load_checkpoint(_checkpoint_file(args.policy))["env_config"]["id"]
        return env_id in rlsuite.list_envs() and rlsuite.spec(env_id).multi_agent
    return False


def _team_collect(args: argparse.Namespace, out: Path) -> int:
    from rlsuite.offline.team_collect import collect_team_dataset, expert_source
    from rlsuite.offline.team_data import save_team_dataset

    if args.level not in (None, "expert"):
        raise ValueError(f"--level {args.level} is for single-agent datasets; team datasets record an expert")
    if args.episodes < 1:
        raise ValueError(f"--episodes must be >= 1, got {args.episodes}")
    if args.eval_episodes < 0:
        raise ValueError(f"--eval-episodes must be >= 0, got {args.eval_episodes}")
    if not args.policy:
        raise ValueError(
            "team datasets need --policy RUN_DIR_OR_CHECKPOINT (MAPPO/QMIX/ACE) or --policy "
            "heuristic|focus_fire|focus_fire_spread|focus_fire_decoy"
        )
    source = expert_source(args.policy, args.env)
    dataset = collect_team_dataset(
        source,
        args.episodes,
        seed=args.seed,
        epsilon=args.epsilon,
        action_noise=args.action_noise,
        eval_episodes=args.eval_episodes,
        num_envs=args.num_envs if args.num_envs > 1 else 8,
    )
    save_team_dataset(out, dataset)
    rate = dataset.meta.expert.win_rate
    measured = f"{rate:.2f} over {args.eval_episodes} battles" if rate is not None else "not measured"
    print(
        f"{out}: {dataset.num_episodes} episodes, {dataset.num_steps} steps of {dataset.meta.map_name}, "
        f"recorded win rate {dataset.win_rate:.2f}; expert {source.name} win rate {measured}"
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

    if Path(args.path).suffix == ".npz":
        return _team_info(args)
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


def _team_info(args: argparse.Namespace) -> int:
    from rlsuite.offline.team_data import describe_team_dataset, load_team_dataset

    info = describe_team_dataset(load_team_dataset(args.path))
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    expert = info["metadata"]["expert"]
    print(
        f"{args.path}: team dataset of {info['map']}, {info['episodes']} episodes, {info['steps']} steps, "
        f"win rate {info['win_rate']:.2f}, length {info['length_mean']:.1f} (max {info['length_max']})"
    )
    for name, (dtype, shape) in info["fields"].items():
        print(f"  {name:22s} {dtype:8s} {shape}")
    print(f"  episode return  mean {info['return_mean']:.2f}  std {info['return_std']:.2f}")
    print(
        f"  expert: {expert['name']} ({expert['algo']}), win rate {expert['win_rate']}, "
        f"checkpoint {expert['checkpoint'] or '-'}"
    )
    for key in ("env_id", "seed", "created", "rlsuite_version", "sources"):
        print(f"  {key}: {info['metadata'][key]}")
    return 0
