"""The ``rlsuite`` command: train, eval, sweep, report, envs, algos, bench, data."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from rlsuite.config import ConfigError

_DEFAULT_VIDEO = "<run>/videos"  # --video given without a path


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command == "train" and not any(item.startswith("-") for item in extra):
        args.items += extra  # overrides written after --quiet
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return args.handler(args)
    except (ConfigError, FileNotFoundError, FileExistsError, KeyError, ValueError, ImportError) as exc:
        print(f"rlsuite {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; a checkpoint was saved — continue with resume=auto", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rlsuite", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser(
        "train",
        help="train one run from an experiment YAML",
        description="rlsuite train CONFIG.yaml [key=value ...]; "
        "or rlsuite train resume=RUN_DIR to continue a run from its own config",
    )
    train.add_argument("items", nargs="*", help="CONFIG.yaml followed by dotted key=value overrides")
    train.add_argument("--quiet", action="store_true", help="no progress bar or messages")
    train.set_defaults(handler=_train)

    evaluate = sub.add_parser("eval", help="evaluate a run folder or checkpoint")
    evaluate.add_argument("target", help="run folder or checkpoint .pt file")
    evaluate.add_argument("--episodes", type=int, default=10)
    evaluate.add_argument("--stochastic", action="store_true", help="sample actions instead of the mode")
    evaluate.add_argument("--device", default="auto")
    evaluate.add_argument("--seed", type=int, default=None, help="eval seed (default: the run's own)")
    evaluate.add_argument(
        "--video",
        nargs="?",
        const=_DEFAULT_VIDEO,
        default=None,
        metavar="PATH",
        help="also record the policy to PATH (.mp4 or .gif); "
        "default <run>/videos/eval-step<N>.mp4 (.gif without ffmpeg)",
    )
    evaluate.add_argument("--video-episodes", type=int, default=1, help="episodes in the video")
    evaluate.add_argument("--fps", type=float, default=None, help="video frame rate (default: the env's)")
    evaluate.set_defaults(handler=_eval)

    sweep = sub.add_parser(
        "sweep",
        help="run a sweep (algorithms x envs x seeds); run it again to resume",
        description="rlsuite sweep SWEEP.yaml: check every algorithm x env pair, then run every run "
        "without a summary.json (finished runs are kept, runs with a checkpoint continue from it), "
        "then write the report",
    )
    sweep.add_argument("sweep_file", help="the sweep YAML file")
    sweep.add_argument("--backend", default="local", help="local (child processes, default) or ray")
    sweep.add_argument("--workers", type=int, default=0, help="runs at a time; 0 = cores / threads_per_run")
    sweep.add_argument("--address", default=None, help="Ray cluster address (default: start a local Ray)")
    sweep.add_argument(
        "--root", default=None, help="folder that holds the sweep folder (default: the file's root)"
    )
    sweep.add_argument("--dry-run", action="store_true", help="check and list the runs; start nothing")
    sweep.add_argument(
        "--only",
        nargs="+",
        default=None,
        metavar="PATTERN",
        help="run only the runs whose id matches a shell pattern, e.g. 'sb3_PPO/*' '*/Pendulum-v1/*'",
    )
    sweep.add_argument("--no-report", action="store_true", help="do not write the report at the end")
    sweep.add_argument("--quiet", action="store_true", help="no progress output")
    sweep.set_defaults(handler=_sweep)

    report = sub.add_parser("report", help="statistics, curves and profiles of a sweep folder")
    report.add_argument("sweep_dir", help="a sweep folder (or any folder of run folders)")
    report.add_argument("--out", default=None, help="output folder (default: SWEEP_DIR/report)")
    report.add_argument("--resamples", type=int, default=10_000, help="bootstrap resamples")
    report.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    report.set_defaults(handler=_report)

    envs = sub.add_parser("envs", help="list registered environment ids")
    envs.add_argument("--family", default=None)
    envs.add_argument("--check", action="store_true", help="run the Gymnasium/PettingZoo conformance checks")
    envs.set_defaults(handler=_envs)

    algos = sub.add_parser("algos", help="list algorithms, or one algorithm's config keys")
    algos.add_argument("name", nargs="?")
    algos.set_defaults(handler=_algos)

    from rlsuite.offline.commands import add_data_parser

    add_data_parser(sub)

    bench = sub.add_parser("bench", help="environment steps/s at several batch sizes")
    bench.add_argument("env_id", nargs="?", default="rlsuite/CartPole-v1")
    bench.add_argument("--num-envs", type=int, nargs="+", default=[1, 64, 1024])
    bench.add_argument("--seconds", type=float, default=1.0)
    bench.add_argument("--vectorization", default="auto")
    bench.set_defaults(handler=_bench)
    return parser


def _train(args: argparse.Namespace) -> int:
    from rlsuite.algos import ALGORITHM_CONFIGS
    from rlsuite.config import build_experiment, load_yaml, parse_overrides
    from rlsuite.training.experiment import train
    from rlsuite.training.run import CONFIG_FILE

    items = list(args.items)
    config_path = items.pop(0) if items and "=" not in items[0] else None
    if config_path is None:
        resume = parse_overrides(items).get("resume")
        if not resume or resume == "auto":
            raise ConfigError("give an experiment file (rlsuite train CONFIG.yaml ...) or resume=RUN_DIR")
        run_dir = Path(resume) if Path(resume).is_dir() else Path(resume).parent.parent
        data = load_yaml(run_dir / CONFIG_FILE)
    else:
        data = load_yaml(config_path)
    config = build_experiment(data, items, algo_registry=ALGORITHM_CONFIGS)
    run_dir = train(config, quiet=args.quiet)
    if not args.quiet:
        summary = json.loads((run_dir / "summary.json").read_text())
        print(f"run folder: {run_dir}")
        print(
            f"eval return {summary['eval_return_mean']:.1f} ± {summary['eval_return_std']:.1f} "
            f"over {summary['eval_episodes']} episodes; "
            f"{summary['total_steps']} steps at {summary['sps']:.0f} steps/s"
        )
    return 0


def _eval(args: argparse.Namespace) -> int:
    from rlsuite.algos.base import EVAL_SEED_OFFSET, Algorithm

    video_path = None
    if args.video is not None:
        from rlsuite.wrappers.video import VideoError, check_video_path, ensure_headless_gl

        if args.video_episodes < 1:
            raise ValueError(f"--video-episodes must be >= 1, got {args.video_episodes}")
        try:
            if args.video != _DEFAULT_VIDEO:
                video_path = check_video_path(args.video)  # a bad path fails before the evaluation
            ensure_headless_gl()  # before any env is built: MuJoCo fixes its GL backend on import
        except VideoError as exc:
            print(f"rlsuite eval: error: {exc}", file=sys.stderr)
            return 2
    algo = Algorithm.from_checkpoint(args.target, device=args.device)
    try:
        if args.seed is not None:
            algo.seed = args.seed
        result = algo.evaluate(args.episodes, deterministic=not args.stochastic)
        report = {"target": str(args.target), "episodes": len(result.returns), **result.metrics("")}
        if args.video is not None:
            from rlsuite.wrappers.video import VideoError, default_video_path, record_video

            if video_path is None:
                video_path = default_video_path(_run_dir_of(Path(args.target)), algo.global_step)
            try:
                video = record_video(
                    algo.agent,
                    algo.env_config.id,
                    video_path,
                    episodes=args.video_episodes,
                    env_kwargs=algo.env_config.kwargs,
                    seed=algo.seed + EVAL_SEED_OFFSET + algo.global_step,
                    deterministic=not args.stochastic,
                    fps=args.fps,
                )
            except VideoError as exc:
                print(json.dumps(report, indent=2))
                print(f"rlsuite eval: error: {exc}", file=sys.stderr)
                return 2
            report["video"] = str(video.path)
    finally:
        algo.close()
    print(json.dumps(report, indent=2))
    if args.video is not None:
        print(f"video: {video.path} ({video.frames} frames at {video.fps:g} fps)", file=sys.stderr)
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from rlsuite.sweeps.runner import run_sweep

    result = run_sweep(
        args.sweep_file,
        backend=args.backend,
        workers=args.workers,
        address=args.address,
        root=args.root,
        quiet=args.quiet,
        dry_run=args.dry_run,
        only=args.only,
    )
    if args.dry_run:
        return 0
    failed = result.failed
    if not args.quiet:
        print(f"sweep folder: {result.directory}")
        print(
            f"{len(result.outcomes) - len(failed)} run(s) finished, {len(failed)} failed, "
            f"{len(result.skipped)} kept from before"
        )
        for outcome in failed:
            print(f"  failed: {outcome.id}: {outcome.error}", file=sys.stderr)
    if not args.no_report:
        files = _write_report(result.directory, None, 10_000, 0)
        if not args.quiet:
            print(f"report: {files.markdown}")
    return 1 if failed else 0


def _report(args: argparse.Namespace) -> int:
    files = _write_report(Path(args.sweep_dir), args.out, args.resamples, args.seed)
    print(f"report: {files.markdown}\n        {files.html}")
    return 0


def _write_report(sweep_dir: Path, out: str | None, resamples: int, seed: int):
    from rlsuite.sweeps.report import write_report

    return write_report(sweep_dir, out, resamples=resamples, seed=seed)


def _run_dir_of(target: Path) -> Path:
    """The run folder of an eval target (a run folder, its checkpoints folder or a checkpoint file)."""
    from rlsuite.core.checkpoint import CHECKPOINT_DIR

    folder = target if target.is_dir() else target.parent
    return folder.parent if folder.name == CHECKPOINT_DIR else folder


def _envs(args: argparse.Namespace) -> int:
    import rlsuite

    ids = rlsuite.list_envs(args.family)
    if args.check:
        from rlsuite.envs.checks import check_all

        failures = check_all(ids, verbose=True)
        return 1 if failures else 0
    for env_id in ids:
        entry = rlsuite.spec(env_id)
        kind = "multi-agent" if entry.multi_agent else "single"
        native = "native-vector" if entry.has_native_vector else ""
        print(f"{env_id:42s} {entry.family:10s} {kind:11s} {native:13s} {entry.description}")
    return 0


def _algos(args: argparse.Namespace) -> int:
    from rlsuite.algos import algorithm_names, get_algorithm
    from rlsuite.config import describe

    if args.name is None:
        for name in algorithm_names():
            cls = get_algorithm(name)
            print(f"{name:10s} {cls.__module__}.{cls.__name__}  {cls.capabilities}")
        return 0
    for key, type_name, default, help_text in describe(get_algorithm(args.name).config_cls, prefix="algo"):
        print(f"{key:28s} {type_name:18s} {default:14s} {help_text}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from rlsuite.envs.checks import measure_throughput

    for n in args.num_envs:
        sps = measure_throughput(args.env_id, n, seconds=args.seconds, vectorization=args.vectorization)
        print(f"{args.env_id}  num_envs={n:5d}  {sps:,.0f} steps/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
