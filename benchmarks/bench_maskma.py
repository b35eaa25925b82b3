"""MaskMA zero-shot benchmark: MaskMA x seeds and its baselines trained on the training maps' expert data,
played on unseen maps with decentralized execution, tabled per map with 95% bootstrap CIs.

    python benchmarks/bench_maskma.py --steps 2000    # CPU scale, data from the pipeline (see BENCHMARKS.md)
    python benchmarks/bench_maskma.py --size tiny --scripted-data --out /tmp/maskma-tiny   # pipeline check
    python benchmarks/bench_maskma.py --preset hard --steps 2000   # the split of data_pipeline_hard.yaml
    python benchmarks/bench_maskma.py --preset hard-noise --steps 8000   # same split, noise-injected data
    python benchmarks/bench_maskma.py --preset decoy --steps 32000 --methods maskma   # + 8m, stronger script
    python benchmarks/bench_maskma.py --preset rollout --steps 32000 --methods maskma  # planner data
    python benchmarks/bench_maskma.py --preset outnumbered --steps 32000 --methods maskma
    python benchmarks/bench_maskma.py --preset margin --steps 32000 --methods maskma

Stages; each skips what already exists, so running the command again continues an interrupted benchmark
(training resumes exactly from its last checkpoint):

1. **Data**: one team dataset per training map, ``DATA_DIR/<map>.npz``, made by the expert-data pipeline
   (experts of the suite's learners, each winning >= 80% of its map; docs/maskma.md, "Data").
   ``--scripted-data`` records SMAC's attack-nearest heuristic instead (no win-rate guarantee: for
   checking the pipeline only).
2. **Training** (``OUT/runs/<method>/seed<k>/``, checkpoint every ``--checkpoint-every`` gradient steps):
   ``maskma`` (seeds ``--seeds``), and on the first seed the baselines ``maskma_nomask`` (no masking),
   ``maskma_fixedhead`` (fixed-size action head) and ``madt`` (MADT-style; ``--baseline-seeds`` for more).
3. **Zero-shot evaluation** (``OUT/eval/<method>-seed<k>.json``): every model on the training and test maps,
   decentralized execution, ``--episodes`` battles per map (greedy); maps a model cannot act on are n/a.
4. **Report**: ``OUT/report.md`` / ``report.json``: win rate per map and the average per group (training
   maps, unseen maps of a training family, out-of-family maps) with 95% bootstrap CIs
   (``rlsuite.training.zero_shot``). A test map is "of a training family" when its unit types (both sides)
   are those of some training map. With ``--reference-expert`` (the hard and decoy presets' default:
   the script that recorded their data) the report also has that expert's column, played with the whole
   battle in view on every map (``OUT/eval/expert-<kind>.json``, as many battles per map as the MaskMA
   seeds together, or ``--reference-battles``), and every method's average over the unseen maps the
   expert wins >= 80%.
5. **Downstream tasks** (``--downstream``; ``benchmarks/maskma_downstream.py``): every MaskMA seed on ally
   malfunction, ad hoc team play and varied-policy collaboration, each with and without the perturbation
   (``OUT/downstream/``; its table is appended to ``OUT/report.md``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rlsuite
from rlsuite.algos import get_algorithm
from rlsuite.config import EnvConfig, EvalConfig
from rlsuite.core.atomic import atomic_write_text
from rlsuite.core.team import team_reset
from rlsuite.envs.smac.downstream import SCRIPTED_POLICIES
from rlsuite.training.zero_shot import (
    ALL_UNSEEN,
    MapOutcome,
    evaluate_on_maps,
    evaluate_scripted_on_maps,
    write_zero_shot_report,
    zero_shot_report,
)

# Training maps: those of the expert-data pipeline (experiments/maskma/data_pipeline.yaml); together they hold
# all ten unit types of the vocabulary.
PIPELINE = Path(__file__).resolve().parent.parent / "experiments" / "maskma" / "data_pipeline.yaml"
TRAIN_MAPS = tuple(yaml.safe_load(PIPELINE.read_text())["maps"])
# Test maps: SMAC maps not trained on and the ODIS-style custom families (the custom-map module).
TEST_MAPS = (
    *("4m", "5m", "6m", "7m", "9m", "10m", "11m", "12m", "25m"),
    *("4m_vs_5m", "5m_vs_6m", "6m_vs_7m", "7m_vs_9m", "8m_vs_9m", "10m_vs_11m", "13m_vs_15m", "27m_vs_30m"),
    *("1s3z", "2s4z", "3s4z", "3s6z", "4s6z", "3s5z_vs_3s6z", "3s6z_vs_3s7z", "4s5z_vs_4s6z"),
    *("3s_vs_4z", "3s_vs_5z", "4s_vs_5z", "4s_vs_6z", "4s_vs_7z", "MMM2", "2m_vs_1z", "2c_vs_64zg"),
    *("so_many_baneling", "corridor"),
)
TEST_MAPS = tuple(m for m in TEST_MAPS if m not in TRAIN_MAPS)
# The "hard" preset (--preset hard): training data from experiments/maskma/data_pipeline_hard.yaml, whose
# scripted focus-fire expert wins asymmetric maps (benchmarks/reports/maskma-experts),
# tested on the unseen maps above plus the families' other members.
HARD_PIPELINE = PIPELINE.with_name("data_pipeline_hard.yaml")
HARD_TRAIN_MAPS = tuple(yaml.safe_load(HARD_PIPELINE.read_text())["maps"])
HARD_TEST_MAPS = tuple(
    m
    for m in dict.fromkeys(
        (*TEST_MAPS, "3s_vs_3z", "1s3z", "3m2s", "2s3z_vs_2s4z", "3s4z_vs_3s5z", "3m2s_vs_3m3z")
    )
    if m not in HARD_TRAIN_MAPS
)
# The "decoy" preset: data_pipeline_decoy.yaml, the hard split's maps plus 8m, recorded with noise injection
# by focus_fire_decoy (volleys in range shared out without overkill, ranged units leading melee enemies
# around); the same 38 unseen maps.
DECOY_PIPELINE = PIPELINE.with_name("data_pipeline_decoy.yaml")
DECOY_TRAIN_MAPS = tuple(yaml.safe_load(DECOY_PIPELINE.read_text())["maps"])
DECOY_TEST_MAPS = tuple(m for m in HARD_TEST_MAPS if m not in DECOY_TRAIN_MAPS)  # the 38 unseen maps
OUTNUMBERED_PIPELINE = PIPELINE.with_name("data_pipeline_outnumbered.yaml")
OUTNUMBERED_TRAIN_MAPS = tuple(yaml.safe_load(OUTNUMBERED_PIPELINE.read_text())["maps"])
REFERENCE_EXPERTS = {  # the script that recorded each preset's data
    "default": "none",
    "hard": "focus_fire",
    "hard-noise": "focus_fire",
    "decoy": "focus_fire_decoy",
    "rollout": "focus_fire_rollout",
    "outnumbered": "focus_fire_rollout",
    "margin": "focus_fire_rollout_margin",
}
PRESETS = {  # preset -> defaults of --train-maps, --test-maps, --data-dir, --out, --runs-dir
    "default": (
        TRAIN_MAPS,
        TEST_MAPS,
        "runs/maskma_data/data",
        "benchmarks/reports/maskma",
        "runs/bench_maskma",
    ),
    "hard": (
        HARD_TRAIN_MAPS,
        HARD_TEST_MAPS,
        "runs/maskma_data_hard/data",
        "benchmarks/reports/maskma-hard",
        "runs/bench_maskma_hard",
    ),
    # the hard split's maps and experts, recorded with noise injection (data_pipeline_hard_noise.yaml)
    "hard-noise": (
        HARD_TRAIN_MAPS,
        HARD_TEST_MAPS,
        "runs/maskma_data_hard_noise/data",
        "benchmarks/reports/maskma-hard-noise",
        "runs/bench_maskma_hard_noise",
    ),
    "decoy": (
        DECOY_TRAIN_MAPS,
        DECOY_TEST_MAPS,
        "runs/maskma_data_decoy/data",
        "benchmarks/reports/maskma-decoy",
        "runs/bench_maskma_decoy",
    ),
    # the decoy split's maps, recorded by the planning expert (data_pipeline_rollout.yaml)
    "rollout": (
        DECOY_TRAIN_MAPS,
        DECOY_TEST_MAPS,
        "runs/maskma_data_rollout/data",
        "benchmarks/reports/maskma-rollout",
        "runs/bench_maskma_rollout",
    ),
    # outnumbered training maps instead of 3m, 8m and MMM, same planner and unseen maps
    # (data_pipeline_outnumbered.yaml)
    "outnumbered": (
        OUTNUMBERED_TRAIN_MAPS,
        DECOY_TEST_MAPS,
        "runs/maskma_data_outnumbered/data",
        "benchmarks/reports/maskma-outnumbered",
        "runs/bench_maskma_outnumbered",
    ),
    # the outnumbered split's maps, recorded by the planner with a 0.1 margin (data_pipeline_margin.yaml)
    "margin": (
        OUTNUMBERED_TRAIN_MAPS,
        DECOY_TEST_MAPS,
        "runs/maskma_data_margin/data",
        "benchmarks/reports/maskma-margin",
        "runs/bench_maskma_margin",
    ),
}
SIZES = {  # gradient steps, batch, width, depth, heads
    "tiny": {"steps": 30, "batch": 16, "width": 16, "depth": 1, "heads": 2},
    "cpu": {"steps": 3000, "batch": 64, "width": 64, "depth": 2, "heads": 4},
    "paper": {"steps": 200_000, "batch": 256, "width": 256, "depth": 6, "heads": 8},
}
METHODS = {  # method -> (algorithm, config keys)
    "maskma": ("maskma", {}),
    "maskma_nomask": ("maskma", {"mask_mode": "none"}),
    "maskma_fixedhead": ("maskma", {"action_head": "fixed", "fixed_actions": 6 + 96}),
    "madt": ("madt", {}),
}


def env_id(name: str) -> str:
    return f"rlsuite/SMAC-{name}-v0"


def check_maps(names: list[str]) -> None:
    known = set(rlsuite.list_envs(multi_agent=True))
    missing = [n for n in names if env_id(n) not in known]
    if missing:
        raise SystemExit(f"bench_maskma: maps not registered: {', '.join(missing)} (merge the custom maps)")


def unit_types_of(name: str) -> frozenset[int]:
    env = rlsuite.make_vec(env_id(name), 1, entity_features=True)
    obs, _ = team_reset(env, 0)
    env.close()
    return frozenset(int(t) for t in obs.entities.unit_type[0])


def record_scripted(name: str, path: Path, episodes: int) -> None:
    from rlsuite.offline.team_collect import HeuristicTeamPolicy, collect_team_episodes, dataset_meta
    from rlsuite.offline.team_data import ExpertInfo, save_team_dataset

    env = rlsuite.make_vec(env_id(name), 8, entity_features=True)
    result = collect_team_episodes(env, HeuristicTeamPolicy(env), episodes, seed=0, progress=False)
    expert = ExpertInfo("attack-nearest", "heuristic", win_rate=result.win_rate, eval_episodes=episodes)
    save_team_dataset(path, result.episodes, dataset_meta(env, env_id(name), expert, seed=0, map_name=name))
    env.close()


def algo_config(method: str, size: dict, datasets: list[str], obs_pad: int, action_sizes: list[int]):
    algo_name, keys = METHODS[method]
    cls = get_algorithm(algo_name).config_cls
    common = {"datasets": datasets, "batch_size": size["batch"]}
    if algo_name == "madt":
        return cls(**common, obs_pad=obs_pad, action_sizes=action_sizes)
    return cls(**common, width=size["width"], depth=size["depth"], heads=size["heads"], **keys)


def train(method: str, seed: int, args, size: dict, datasets: list[str], shapes) -> Path:
    run = args.runs_dir / method / f"seed{seed}"
    final, latest = run / "final.pt", run / "latest.pt"
    if final.exists():
        return final
    run.mkdir(parents=True, exist_ok=True)
    config = algo_config(method, size, datasets, *shapes)
    algo_cls = get_algorithm(METHODS[method][0])
    env = EnvConfig(id=env_id(args.train_maps[0]), num_envs=8)
    algo = algo_cls(env, config, seed=seed, device="cpu", eval_config=EvalConfig(episodes=8))
    if latest.exists():
        algo.load(latest)
    start = time.perf_counter()
    while algo.global_step < size["steps"]:
        algo.learn(min(algo.global_step + args.checkpoint_every, size["steps"]))
        algo.save(latest)
    algo.save(final)
    algo.close()
    print(f"trained {method} seed {seed}: {time.perf_counter() - start:.0f} s", flush=True)
    return final


def evaluate(method: str, seed: int, checkpoint: Path, maps: list[str], args) -> list[MapOutcome]:
    path = args.out / "eval" / f"{method}-seed{seed}.json"
    if path.exists():
        return [MapOutcome(**row) for row in json.loads(path.read_text())]
    start = time.perf_counter()
    overrides = {"execution": "decentralized"} if METHODS[method][0] == "maskma" else {}
    outcomes = evaluate_on_maps(
        checkpoint,
        [env_id(m) for m in maps],
        args.episodes,
        method=method,
        seed=seed,
        config_overrides=overrides,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(o) for o in outcomes]))
    print(
        f"evaluated {method} seed {seed} on {len(maps)} maps: {time.perf_counter() - start:.0f} s", flush=True
    )
    return outcomes


def evaluate_reference(kind: str, maps: list[str], battles: int, args) -> tuple[list[MapOutcome], bool]:
    """The scripted expert ``kind`` on every map, ``battles`` each (cached in ``OUT/eval/expert-<kind>.json``;
    a cache of other maps or another battle count, e.g. from a run with fewer seeds, is replayed); and
    whether it was played now."""
    path = args.out / "eval" / f"expert-{kind}.json"
    if path.exists():
        cached = [MapOutcome(**row) for row in json.loads(path.read_text())]
        same_maps = {o.env_id for o in cached} == {env_id(m) for m in maps}
        if same_maps and all(len(o.wins) == battles for o in cached if not o.not_playable):
            return cached, False
    start = time.perf_counter()
    outcomes = evaluate_scripted_on_maps(kind, [env_id(m) for m in maps], battles)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps([asdict(o) for o in outcomes]))
    print(f"evaluated the {kind} expert on {len(maps)} maps: {time.perf_counter() - start:.0f} s", flush=True)
    return outcomes, True


def run_downstream_stage(args) -> str:
    """The downstream tasks with every MaskMA seed (trained by then); returns the report's markdown."""
    import maskma_downstream as ds

    out = args.out / "downstream"
    cases = ds.downstream_cases()
    results = []
    for seed in args.seeds:
        t = time.perf_counter()
        checkpoint = args.runs_dir / "maskma" / f"seed{seed}" / "final.pt"
        results.append(ds.run_downstream(checkpoint, "maskma", seed, cases, args.episodes, out))
        print(f"downstream maskma seed {seed}: {time.perf_counter() - t:.0f} s", flush=True)
    maps = list(dict.fromkeys(c.map for c in cases))
    heuristic = ds.heuristic_reference(maps, args.seeds, args.episodes, out)
    return ds.downstream_report(cases, results, heuristic, out).read_text()


def apply_preset(args: argparse.Namespace) -> None:
    """Fill the split and folder arguments left out with the preset's."""
    train_maps, test_maps, data_dir, out, runs_dir = PRESETS[args.preset]
    args.train_maps = args.train_maps or list(train_maps)
    args.test_maps = args.test_maps or list(test_maps)
    args.data_dir = args.data_dir or Path(data_dir)
    args.out = args.out or Path(out)
    args.runs_dir = args.runs_dir or Path(runs_dir)
    args.reference_expert = args.reference_expert or REFERENCE_EXPERTS[args.preset]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="cpu")
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="default",
        help="training/test split and folders: default (data_pipeline.yaml), hard "
        "(data_pipeline_hard.yaml: focus-fire experts, asymmetric training maps) or hard-noise "
        "(the hard split recorded with action noise: data_pipeline_hard_noise.yaml) or decoy (the "
        "hard split plus 8m, noise-injected data of focus_fire_decoy: data_pipeline_decoy.yaml) or rollout "
        "(the decoy split's maps, data of the planning expert focus_fire_rollout: "
        "data_pipeline_rollout.yaml) or outnumbered (planner data, three "
        "outnumbered training maps instead of 3m, 8m and MMM: data_pipeline_outnumbered.yaml) or margin "
        "(the outnumbered maps, planner with a 0.1 margin: data_pipeline_margin.yaml)",
    )
    parser.add_argument("--out", type=Path, default=None, help="default: the preset's")
    parser.add_argument(
        "--runs-dir",
        type=Path,
        default=None,
        help="checkpoints (kept out of the report); default: the preset's",
    )
    parser.add_argument(
        "--steps", type=int, default=None, help="gradient steps per model (default: the size's)"
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="default: the preset's")
    parser.add_argument(
        "--scripted-data", action="store_true", help="record the heuristic where data is missing"
    )
    parser.add_argument("--scripted-episodes", type=int, default=32)
    parser.add_argument("--train-maps", nargs="+", default=None, help="default: the preset's")
    parser.add_argument("--test-maps", nargs="+", default=None, help="default: the preset's")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--baseline-seeds", type=int, nargs="+", default=None, help="default: the first seed")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--episodes", type=int, default=32, help="battles per map per seed")
    parser.add_argument("--checkpoint-every", type=int, default=500)
    parser.add_argument(
        "--downstream", action="store_true", help="also run the downstream tasks with the MaskMA seeds"
    )
    parser.add_argument(
        "--reference-expert",
        choices=("none", *SCRIPTED_POLICIES),
        default=None,
        help="a scripted expert tabled beside the models (default: the preset's data expert, or none)",
    )
    parser.add_argument(
        "--reference-battles",
        type=int,
        default=None,
        help="battles per map of the reference expert (default: --episodes x the number of seeds; "
        "fewer for the planning expert, which costs seconds per battle on large maps)",
    )
    args = parser.parse_args()
    apply_preset(args)
    if args.reference_battles is not None and args.reference_battles < 1:
        parser.error(f"--reference-battles must be >= 1, got {args.reference_battles}")
    torch.set_num_threads(int(os.environ.get("RLSUITE_BENCH_THREADS", "1")))
    size = dict(SIZES[args.size])
    if args.steps is not None:
        size["steps"] = args.steps
    check_maps(args.train_maps + args.test_maps)
    timings_path = args.out / "timings.json"
    timings = json.loads(timings_path.read_text()) if timings_path.exists() else {}
    start = time.perf_counter()
    datasets = []
    for name in args.train_maps:
        path = args.data_dir / f"{name}.npz"
        if not path.exists():
            if not args.scripted_data:
                raise SystemExit(
                    f"bench_maskma: no dataset {path}; run the expert-data pipeline (docs/maskma.md)"
                )
            path.parent.mkdir(parents=True, exist_ok=True)
            record_scripted(name, path, args.scripted_episodes)
        datasets.append(str(path))
    timings.setdefault("data_s", time.perf_counter() - start)
    from rlsuite.offline.team_data import load_team_dataset

    metas = [load_team_dataset(p).meta for p in datasets]
    shapes = (max(256, max(m.obs_size for m in metas)), sorted({m.n_actions for m in metas}))
    train_types = {unit_types_of(m) for m in args.train_maps}
    groups = {env_id(m): "training" for m in args.train_maps}
    for m in args.test_maps:
        groups[env_id(m)] = "unseen, training family" if unit_types_of(m) in train_types else "out of family"
    maps = args.train_maps + args.test_maps
    outcomes = []
    for method in args.methods:
        seeds = args.seeds if method == "maskma" else (args.baseline_seeds or args.seeds[:1])
        for seed in seeds:
            done = (args.runs_dir / method / f"seed{seed}" / "final.pt").exists()
            t = time.perf_counter()
            checkpoint = train(method, seed, args, size, datasets, shapes)
            if not done:  # a skipped stage keeps the time measured when it ran
                timings[f"train_{method}_seed{seed}_s"] = time.perf_counter() - t
            done = (args.out / "eval" / f"{method}-seed{seed}.json").exists()
            t = time.perf_counter()
            outcomes += evaluate(method, seed, checkpoint, maps, args)
            if not done:
                timings[f"eval_{method}_seed{seed}_s"] = time.perf_counter() - t
    reference = None
    if args.reference_expert != "none":
        t = time.perf_counter()
        expert, played = evaluate_reference(
            args.reference_expert, maps, args.reference_battles or args.episodes * len(args.seeds), args
        )
        outcomes += expert
        if played:
            timings[f"eval_expert_{args.reference_expert}_s"] = time.perf_counter() - t
        reference = f"expert: {args.reference_expert}"
    report = zero_shot_report(outcomes, groups, reference=reference)
    path = write_zero_shot_report(
        report, args.out, f"MaskMA zero-shot ({args.size}, decentralized execution)"
    )
    if args.downstream:
        t = time.perf_counter()
        section = run_downstream_stage(args)
        timings["downstream_s"] = time.perf_counter() - t
        atomic_write_text(path, path.read_text() + "\n" + section)
    # Merge with the file as it is now: other invocations on the same --out (e.g. `--seeds 1` and
    # `--seeds 2` run side by side) may have written their stages' timings since this one started.
    on_disk = json.loads(timings_path.read_text()) if timings_path.exists() else {}
    atomic_write_text(timings_path, json.dumps({**on_disk, **timings}, indent=2))
    print(path.read_text())
    for group in ("unseen, training family", ALL_UNSEEN):
        cells = {m: report.averages[m].get(group) for m in report.methods}
        print(f"{group} averages:", {m: c.win_rate for m, c in cells.items() if c is not None})
    print(f"total {time.perf_counter() - start:.0f} s; timings in {timings_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
