"""The ``rlsuite`` command: train, eval, sweep, report, envs, algos, bench, data."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from rlsuite.config import ConfigError

_DEFAULT_VIDEO = "<run>/videos"  # --video given without a path


def main(argv: Sequence[str] | None = None) -> int:
    from rlsuite.core.lifeline import bind_to_parent

    bind_to_parent()  # a run started by a sweep dies with the sweep (no-op otherwise)
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command == "train" and not any(item.startswith("-") for item in extra):
        args.items += extra  # overrides written after --quiet
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return args.handler(args)
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stdout = open(os.devnull, "w")  # no flush error at exit
        return 0
    except (ConfigError, OSError, KeyError, ValueError, ImportError) as exc:
        print(f"rlsuite {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print(
            f"rlsuite {args.command}: error: out of memory (a buffer or env count too large?)",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("interrupted; a checkpoint was saved — continue with resume=auto", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rlsuite",
        description="rlsuite: train, evaluate, sweep and report reinforcement-learning runs. "
        "`rlsuite COMMAND --help` describes each command.",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"rlsuite {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser = _with_defaults(sub.add_parser)  # every subcommand shows its defaults in --help

    from rlsuite.cli_tune import add_tune_parser
    from rlsuite.export import add_export_parser
    from rlsuite.offline.commands import add_data_parser

    for add_parser in (
        _add_train_parser,
        _add_eval_parser,
        _add_sweep_parser,
        _add_report_parser,
        _add_envs_parser,
        _add_algos_parser,
        add_data_parser,
        add_export_parser,
        add_tune_parser,
        _add_bench_parser,
    ):  # in the order `rlsuite --help` lists them
        add_parser(sub)
    return parser


def _add_train_parser(sub: argparse._SubParsersAction) -> None:
    """``rlsuite train CONFIG.yaml [key=value ...]``."""
    train = sub.add_parser(
        "train",
        help="train one run from an experiment YAML",
        description="rlsuite train CONFIG.yaml [key=value ...]; "
        "or rlsuite train resume=RUN_DIR to continue a run from its own config",
    )
    train.add_argument("items", nargs="*", help="CONFIG.yaml followed by dotted key=value overrides")
    train.add_argument("--quiet", action="store_true", help="no progress bar or messages")
    train.add_argument(
        "--dry-run",
        action="store_true",
        help="check the config, build the env and the algorithm, print the resolved config; "
        "train nothing and write nothing",
    )
    train.set_defaults(handler=_train)


def _add_eval_parser(sub: argparse._SubParsersAction) -> None:
    """``rlsuite eval RUN_OR_CHECKPOINT``."""
    evaluate = sub.add_parser("eval", help="evaluate a run folder or checkpoint")
    evaluate.add_argument("target", help="run folder or checkpoint .pt file")
    evaluate.add_argument("--episodes", type=int, default=10, help="episodes to evaluate")
    evaluate.add_argument("--stochastic", action="store_true", help="sample actions instead of the mode")
    evaluate.add_argument("--device", default="auto", help="torch device: auto, cpu, cuda, cuda:N or mps")
    evaluate.add_argument("--seed", type=int, default=None, help="eval seed (default: the run's own)")
    evaluate.add_argument(
        "--video",
        nargs="?",
        const=_DEFAULT_VIDEO,
        default=None,
        metavar="PATH",
        help="also record the policy to PATH (.mp4 or .gif), captioned with each episode's return: "
        "single-agent envs that render, SMAC and the football simulator; a text (LLM) run writes a "
        "transcript (.md) of the evaluation instead. Default <run>/videos/eval-step<N>.mp4 "
        "(.gif without ffmpeg, .md for text runs)",
    )
    evaluate.add_argument(
        "--env",
        action="append",
        default=None,
        metavar="ID",
        help="evaluate on this env instead of the run's own (zero-shot, e.g. another SMAC map; repeat for "
        "several): only the model is loaded, and a model whose shapes do not fit the env is an error",
    )
    evaluate.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="algo.KEY=VALUE",
        help="with --env: replace an algorithm config key for the evaluation (algo.execution=centralized)",
    )
    evaluate.add_argument("--video-episodes", type=int, default=3, help="episodes in the video")
    evaluate.add_argument(
        "--fps", type=float, default=None, help="video frame rate (default: real time, at most 50 fps)"
    )
    evaluate.set_defaults(handler=_eval)


def _add_sweep_parser(sub: argparse._SubParsersAction) -> None:
    """``rlsuite sweep SWEEP.yaml``."""
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


def _add_report_parser(sub: argparse._SubParsersAction) -> None:
    """``rlsuite report SWEEP_DIR``."""
    report = sub.add_parser("report", help="statistics, curves and profiles of a sweep folder")
    report.add_argument("sweep_dir", help="a sweep folder (or any folder of run folders)")
    report.add_argument("--out", default=None, help="output folder (default: SWEEP_DIR/report)")
    report.add_argument("--resamples", type=int, default=10_000, help="bootstrap resamples")
    report.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    report.set_defaults(handler=_report)


def _add_envs_parser(sub: argparse._SubParsersAction) -> None:
    """``rlsuite envs [--check ...]``."""
    envs = sub.add_parser("envs", help="list registered environment ids, or run the conformance checks")
    envs.add_argument("--family", default=None, help="only this family (classic, mujoco, smac, ...)")
    envs.add_argument(
        "--check",
        nargs="*",
        metavar="ID",
        default=None,
        help="run the conformance checks (Gymnasium, SB3, PettingZoo, seeding, determinism, inputs) on these "
        "ids, or on every registered id (of --family) when none is given; exit 1 if any fails",
    )
    envs.add_argument("--checks", default=None, help="only these checks (comma-separated names)")
    envs.add_argument("--steps", type=int, default=300, help="steps of the stepping checks (default 300)")
    envs.add_argument("--markdown", default=None, metavar="PATH", help="also write the results table there")
    envs.set_defaults(handler=_envs)


def _add_algos_parser(sub: argparse._SubParsersAction) -> None:
    """``rlsuite algos [NAME]``."""
    algos = sub.add_parser("algos", help="list algorithms, or one algorithm's config keys")
    algos.add_argument("name", nargs="?", help="an algorithm name: list its config keys and every section's")
    algos.set_defaults(handler=_algos)


def _add_bench_parser(sub: argparse._SubParsersAction) -> None:
    """``rlsuite bench [ENV_ID]``."""
    bench = sub.add_parser("bench", help="environment steps/s at several batch sizes")
    bench.add_argument("env_id", nargs="?", default="rlsuite/CartPole-v1", help="environment id")
    bench.add_argument("--num-envs", type=int, nargs="+", default=[1, 64, 1024], help="batch sizes to time")
    bench.add_argument("--seconds", type=float, default=1.0, help="time per batch size")
    bench.add_argument(
        "--vectorization", default="auto", choices=("auto", "native", "sync", "async"), help="vector backend"
    )
    bench.set_defaults(handler=_bench)


def _version() -> str:
    from rlsuite import __version__

    return __version__


class _HelpFormatter(argparse.HelpFormatter):
    """Appends ``(default: X)`` to an option's help where the default says something (not None/False)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        shown = default not in (None, False, argparse.SUPPRESS) and not isinstance(
            action, argparse._VersionAction
        )
        if shown and "%(default)" not in text:
            value = " ".join(map(str, default)) if isinstance(default, list) else default
            text += f" (default: {value})"
        return text


def _with_defaults(add_parser):
    """``sub.add_parser`` that gives each subcommand (and theirs) the defaults-showing help formatter."""

    def add(name: str, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        parser = add_parser(name, **kwargs)
        original = parser.add_subparsers

        def add_subparsers(**sub_kwargs):
            sub = original(**sub_kwargs)
            sub.add_parser = _with_defaults(sub.add_parser)
            return sub

        parser.add_subparsers = add_subparsers
        return parser

    return add


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
    search_dirs = [Path(config_path).parent] if config_path else []
    if args.dry_run:
        return _dry_run(config, quiet=args.quiet, search_dirs=search_dirs)
    run_dir = train(config, quiet=args.quiet, search_dirs=search_dirs)
    if not args.quiet:
        from rlsuite.training.summary_text import final_line

        print(f"run folder: {run_dir}")
        print(final_line(json.loads((run_dir / "summary.json").read_text())))
    return 0


def _dry_run(config, *, quiet: bool, search_dirs: list[Path]) -> int:
    """``train --dry-run``: the resolved config on stdout, what a run would do on stderr."""
    import yaml

    from rlsuite.config import experiment_to_dict
    from rlsuite.training.experiment import dry_run

    found = dry_run(config, search_dirs)
    print(yaml.safe_dump(experiment_to_dict(config), sort_keys=False, default_flow_style=False), end="")
    if not quiet:
        action = (
            f"resume {found.run_dir} from {found.resume_from}"
            if found.resume_from
            else f"write {found.run_dir}"
        )
        print(f"dry run: config checked, env and algorithm built; a run would {action}", file=sys.stderr)
    return 0


def _eval(args: argparse.Namespace) -> int:
    from rlsuite.algos.base import Algorithm
    from rlsuite.core.seeding import eval_seed
    from rlsuite.training.user_modules import import_run_modules

    if args.video is not None:
        from rlsuite.wrappers.video import ensure_headless_gl

        if args.video_episodes < 1:
            raise ValueError(f"--video-episodes must be >= 1, got {args.video_episodes}")
        ensure_headless_gl()  # before any env is built: MuJoCo fixes its GL backend on import
    run_dir = _run_dir_of(Path(args.target))
    import_run_modules(run_dir)  # the run's `imports:` (custom env ids)
    if args.env:
        return _eval_on_envs(args)
    if args.set:
        raise ValueError("--set replaces algorithm keys of a zero-shot evaluation: give --env ID too")
    algo = Algorithm.from_checkpoint(args.target, device=args.device, inference=True)
    media = None
    try:
        try:
            video_path = _video_path(args, algo, run_dir) if args.video is not None else None
        except RuntimeError as exc:  # VideoError: .mp4 without ffmpeg
            print(f"rlsuite eval: error: {exc}", file=sys.stderr)
            return 2
        if args.seed is not None:
            algo.seed = args.seed
        result = algo.evaluate(args.episodes, deterministic=not args.stochastic)
        report = {"target": str(args.target), "episodes": len(result.returns), **result.metrics("")}
        if video_path is not None:
            from rlsuite.training.media import record_policy_media
            from rlsuite.wrappers.video import VideoError

            try:
                media = record_policy_media(
                    algo,
                    video_path,
                    episodes=args.video_episodes,
                    seed=eval_seed(algo.seed, algo.global_step),
                    deterministic=not args.stochastic,
                    fps=args.fps,
                    eval_result=result,
                )
            except (VideoError, ValueError) as exc:
                print(json.dumps(report, indent=2))
                print(f"rlsuite eval: error: {exc}", file=sys.stderr)
                return 2
            report["video"] = str(media.path)
    finally:
        algo.close()
    print(json.dumps(report, indent=2))
    if media is not None:
        print(media.describe(), file=sys.stderr)
    return 0


def _eval_overrides(items: Sequence[str]) -> dict:
    """``--set algo.KEY=VALUE`` items as algorithm config overrides (values read as YAML scalars)."""
    import yaml

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.startswith("algo.") or len(key) <= 5:
            raise ValueError(f"--set takes algo.KEY=VALUE (e.g. algo.execution=centralized), got {item!r}")
        out[key[5:]] = yaml.safe_load(value)
    return out


def _eval_on_envs(args: argparse.Namespace) -> int:
    """``rlsuite eval RUN --env ID [--env ID ...]``: the run's model played on other envs (zero-shot)."""
    from rlsuite.algos.base import Algorithm

    if args.video is not None:
        raise ValueError("--video records the run's own env; leave it out with --env")
    overrides = _eval_overrides(args.set)
    reports = []
    for env_id in args.env:
        algo = Algorithm.for_evaluation(args.target, env_id, device=args.device, config_overrides=overrides)
        try:
            if args.seed is not None:
                algo.seed = args.seed
            result = algo.evaluate(args.episodes, deterministic=not args.stochastic)
        finally:
            algo.close()
        reports.append(
            {"target": str(args.target), "env": env_id, "episodes": len(result.returns), **result.metrics("")}
        )
    print(json.dumps(reports[0] if len(reports) == 1 else reports, indent=2))
    return 0


def _video_path(args: argparse.Namespace, algo, run_dir: Path) -> Path:
    """Where ``--video`` writes: the given path (checked now), or ``<run>/videos/eval-step<N>.<ext>``."""
    from rlsuite.training.media import default_media_path, media_kind
    from rlsuite.wrappers.video import check_video_path

    if args.video == _DEFAULT_VIDEO:
        return default_media_path(run_dir, algo.global_step, algo)
    if media_kind(algo) == "transcript":  # text runs write a transcript (.md) instead of a video
        from rlsuite.wrappers.transcript import transcript_path

        return transcript_path(args.video)
    return check_video_path(args.video)  # a bad path fails before the evaluation


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
        busy = f", {len(result.busy)} busy (another process is writing them)" if result.busy else ""
        print(
            f"{len(result.outcomes) - len(failed)} run(s) finished, {len(failed)} failed, "
            f"{len(result.skipped)} kept from before{busy}"
        )
        for outcome in failed:
            print(f"  failed: {outcome.id}: {outcome.error}", file=sys.stderr)
    if not args.no_report:
        from rlsuite.core.progress import progress_enabled

        with progress_enabled(not args.quiet):
            files = _write_report(result.directory, None, 10_000, 0)
        if not args.quiet:
            print(f"report: {files.markdown}")
    return 1 if failed or result.busy else 0


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
    from rlsuite.cli_info import check_family

    check_family(args.family)
    ids = rlsuite.list_envs(args.family)
    if args.check is not None:
        return _check_envs(args, args.check or ids)
    from rlsuite.cli_info import print_envs

    print_envs(args.family)
    return 0


def _check_envs(args: argparse.Namespace, ids: list[str]) -> int:
    import rlsuite
    from rlsuite.envs.checks import format_result, run_conformance

    for env_id in ids:
        rlsuite.spec(env_id)  # an unknown id fails here, naming the closest ones
    if args.steps < 1:
        raise ValueError(f"--steps must be a positive int, got {args.steps}")
    checks = [c.strip() for c in args.checks.split(",") if c.strip()] if args.checks else None
    report = run_conformance(
        ids, checks=checks, steps=args.steps, on_result=lambda r: print(format_result(r), flush=True)
    )
    print(report.summary())
    for result in report.failures():
        print(f"FAILED {result.env_id} {result.check}: {result.detail}")
    if args.markdown:
        Path(args.markdown).write_text(report.to_markdown() + "\n")
    return 1 if report.failures() else 0


def _algos(args: argparse.Namespace) -> int:
    from rlsuite.cli_info import print_algorithms, print_config_keys

    if args.name is None:
        print_algorithms()
    else:
        print_config_keys(args.name)
    return 0


def _bench(args: argparse.Namespace) -> int:
    from rlsuite.envs.checks import measure_throughput

    for n in args.num_envs:
        sps = measure_throughput(args.env_id, n, seconds=args.seconds, vectorization=args.vectorization)
        print(f"{args.env_id}  num_envs={n:5d}  {sps:,.0f} steps/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
