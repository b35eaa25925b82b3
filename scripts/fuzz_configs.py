"""Fuzz the config layer with mutations of the shipped experiment and sweep files.

    nice -n 10 python scripts/fuzz_configs.py --cases 2000 --cli-sample 50 --json fuzz.json

Every case (scripts/fuzz_config_mutations.py: wrong types, unknown keys, NaN/inf/huge/negative values,
YAML syntax errors, unsafe tags, alias bombs, deep nesting, duplicate keys, path escapes, over-long
strings) goes through what ``rlsuite train`` runs before its first step, in this process:
``load_experiment`` (or ``load_sweep``) then ``rlsuite.training.preflight.check_experiment``. Each ends as

- ``rejected``: a ConfigError, whose message names a key (or a file position for YAML faults);
- ``accepted``: the resolved config is then re-checked independently (every number finite and within
  its key's documented range, seeds, folder names and paths); a violation, or an accepted case that is
  invalid by construction, counts as *silently accepted invalid*;
- ``traceback``: any other exception (what the command line would show as a Python traceback).

A sample of cases then runs through the real command line (``rlsuite train FILE ... --dry-run`` in a
subprocess, in an empty folder): exit code 2 and one ``error:`` line for rejections, 0 and a parsable
resolved config for accepted ones, never "Traceback", and nothing written to the working folder.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import math
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import typing
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fuzz_config_mutations import Case, config_keys, override_cases, sweep_cases, text_cases

from rlsuite.config import ConfigError, ExperimentConfig
from rlsuite.core.names import escapes_upward, folder_name_problem, path_problem
from rlsuite.sweeps.spec import load_sweep
from rlsuite.training.experiment import build_experiment, load_experiment
from rlsuite.training.preflight import check_experiment

REPO = Path(__file__).resolve().parent.parent
LIGHT_BASES = ("ppo/cartpole", "ppo/maze", "qmix/3m", "vdn/3m", "sac/pendulum", "td3/pendulum", "mappo/3m")


@dataclasses.dataclass
class Outcome:
    case: Case
    verdict: str  # rejected | accepted | traceback
    named: bool = True  # a rejection's message names a key or a file position
    invalid: list[str] = dataclasses.field(default_factory=list)  # problems of an accepted config
    message: str = ""
    seconds: float = 0.0


# --- in-process resolution -----------------------------------------------------------------------
def resolve(case: Case, folder: Path) -> Any:
    """What ``rlsuite train`` (or ``rlsuite sweep``) checks before anything runs; returns the result."""
    path = REPO / case.base
    if case.text is not None:
        path = folder / ("sweep.yaml" if case.kind == "sweep" else "config.yaml")
        try:
            path.write_text(case.text, encoding="utf-8")
        except UnicodeEncodeError:
            path.write_bytes(case.text.encode("utf-8", "surrogateescape"))
    if case.kind == "sweep":
        return load_sweep(path, root=folder / "sweeps")
    config = load_experiment(path, case.argv())
    check_experiment(config)
    return config


def run_case(case: Case, folder: Path) -> Outcome:
    started = time.perf_counter()
    try:
        result = resolve(case, folder)
    except ConfigError as exc:
        message = str(exc)
        return Outcome(case, "rejected", _names_key(message, case), message=message, seconds=_since(started))
    except Exception as exc:  # anything else would reach the user as a traceback
        message = f"{type(exc).__name__}: {exc}"[:500]
        return Outcome(case, "traceback", message=message, seconds=_since(started))
    invalid = sweep_problems(result) if case.kind == "sweep" else config_problems(result)
    if case.must_reject:
        invalid.append(f"accepted an input that is invalid by construction ({case.description})")
    return Outcome(case, "accepted", invalid=invalid, seconds=_since(started))


def _since(started: float) -> float:
    return time.perf_counter() - started


def _names_key(message: str, case: Case) -> bool:
    """A rejection names the key it is about (or where in the file the YAML fault is)."""
    if case.key and case.key.split(".")[-1] in message:
        return True
    patterns = (
        r"^[A-Za-z_][\w.\[\]:-]*: ",  # "algo.lr: expected ..."
        r"^(invalid YAML|YAML syntax error) in '.*' at (line|character) \d+",
        r"unknown key '",
        r"^(malformed )?override ",
        r"missing required key '",
        r"^'.*': expected a mapping of keys at the top level",
        r"^config file '.*' is not UTF-8",
        r"^sweep ",
    )
    return any(re.search(p, message) for p in patterns)


# --- independent checks of an accepted config ----------------------------------------------------
def config_problems(config: ExperimentConfig) -> list[str]:
    """Everything wrong with a resolved config, checked from the documented ranges, not by rebuilding it."""
    problems = _section_problems(config, "") + _section_problems(config.algo, "algo.")
    if not 0 <= config.seed <= 2**32 - 1:
        problems.append(f"seed {config.seed} outside [0, 2**32-1]")
    if folder_name_problem(config.experiment):
        problems.append(f"experiment {config.experiment!r} is not one folder name")
    if config.run_dir is not None and escapes_upward(config.run_dir):
        problems.append(f"run_dir {config.run_dir!r} has '..'")
    for key in ("runs_root", "run_dir", "resume"):
        value = getattr(config, key)
        if value is not None and path_problem(value):
            problems.append(f"{key}: {path_problem(value)}")
    for key, value in dataclasses.asdict(config.algo).items():
        if key.endswith("hidden_sizes") and any(size < 1 for size in value):
            problems.append(f"algo.{key} has a width below 1: {value}")
    try:
        rebuilt = build_experiment(yaml.safe_load(yaml.safe_dump(_plain(config))))
    except ConfigError as exc:
        problems.append(f"the resolved config does not load again: {exc}")
    else:
        if rebuilt != config:
            problems.append("the resolved config does not round-trip")
    return problems


def _plain(config: ExperimentConfig) -> dict[str, Any]:
    from rlsuite.config import experiment_to_dict

    return experiment_to_dict(config)


def _section_problems(obj: Any, prefix: str) -> list[str]:
    problems: list[str] = []
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        if not f.init or f.name == "algo":
            continue
        value, key = getattr(obj, f.name), prefix + f.name
        if dataclasses.is_dataclass(value):
            problems += _section_problems(value, key + ".")
            continue
        problems += _value_problems(value, f.metadata, key, hints[f.name])
    return problems


def _value_problems(value: Any, meta: Any, key: str, hint: Any) -> list[str]:
    problems: list[str] = []
    for path, item in _leaves(value, key):
        if isinstance(item, float) and not math.isfinite(item):
            problems.append(f"{path} = {item} is not finite")
        if isinstance(item, int) and not isinstance(item, bool) and not -(2**63) <= item < 2**63:
            problems.append(f"{path} = {item} overflows int64")
        if isinstance(item, str) and meta.get("max_length") and len(item) > meta["max_length"]:
            problems.append(f"{path} is longer than {meta['max_length']}")
        if isinstance(item, int | float) and not isinstance(item, bool) and not _in_range(item, meta):
            problems.append(f"{path} = {item} outside its documented range")
    if meta.get("choices") is not None and value is not None and value not in meta["choices"]:
        problems.append(f"{key} = {value!r} not among {meta['choices']}")
    if hint is bool and not isinstance(value, bool):
        problems.append(f"{key} = {value!r} is not a bool")
    return problems


def _leaves(value: Any, key: str) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, f"{key}.{k}")]
    if isinstance(value, list | tuple):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, f"{key}[{i}]")]
    return [(key, value)]


def _in_range(value: float, meta: Any) -> bool:
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None and (value <= lo if meta.get("min_exclusive") else value < lo):
        return False
    return not (hi is not None and (value >= hi if meta.get("max_exclusive") else value > hi))


def sweep_problems(sweep: Any) -> list[str]:
    problems = []
    root = os.path.normpath(sweep.directory)
    for run in sweep.runs:
        folder = os.path.normpath(run.directory)
        if os.path.commonpath([root, folder]) != root or any(p in ("", ".", "..") for p in run.id.split("/")):
            problems.append(f"run {run.id} lies outside the sweep folder")
    return problems


# --- through the real command line ---------------------------------------------------------------
def run_cli(case: Case, work: Path, timeout: float) -> dict[str, Any]:
    """``rlsuite train FILE OVERRIDES --dry-run`` in an empty folder; what happened."""
    inputs, cwd = work / "inputs", work / "cwd"
    inputs.mkdir(parents=True)
    cwd.mkdir()
    path = REPO / case.base
    if case.text is not None:
        path = inputs / "config.yaml"
        path.write_text(case.text, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONWARNINGS": "ignore"}
    command = [sys.executable, "-m", "rlsuite.cli", "train", str(path), *case.argv(), "--dry-run"]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"case": case.description, "ok": False, "why": "timeout", "seconds": timeout}
    written = sorted(str(p.relative_to(cwd)) for p in cwd.rglob("*"))
    error_lines = [line for line in done.stderr.splitlines() if line.startswith("rlsuite train: error:")]
    result = {
        "case": case.description,
        "base": case.base,
        "returncode": done.returncode,
        "traceback": "Traceback" in done.stderr,
        "written": written,
        "error": error_lines[-1][:300] if error_lines else "",
        "seconds": round(time.perf_counter() - started, 2),
    }
    if done.returncode == 0:
        try:
            build_experiment(yaml.safe_load(done.stdout))
            result["ok"] = not written and not result["traceback"]
        except (ConfigError, yaml.YAMLError) as exc:
            result["ok"], result["why"] = False, f"printed config does not load: {exc}"
    else:
        result["ok"] = done.returncode == 2 and bool(error_lines) and not result["traceback"] and not written
    return result


# --- driver --------------------------------------------------------------------------------------
def shipped_bases() -> tuple[list[str], list[str], dict[str, str]]:
    """Experiment files that resolve unmutated here, sweep files, and the excluded ones with why."""
    bases, excluded = [], {}
    for path in sorted((REPO / "experiments").glob("*/*.yaml")):
        rel = str(path.relative_to(REPO))
        if rel.startswith("experiments/sweeps/"):
            continue
        try:
            check_experiment(load_experiment(path))
            bases.append(rel)
        except Exception as exc:  # e.g. a data file this machine does not have
            excluded[rel] = f"{type(exc).__name__}: {exc}"[:200]
    sweeps = sorted(str(p.relative_to(REPO)) for p in (REPO / "experiments" / "sweeps").glob("*.yaml"))
    return bases, sweeps, excluded


def make_cases(bases: list[str], sweeps: list[str], total: int, rng: random.Random) -> list[Case]:
    per_base = max(2, (total - 30 * len(sweeps)) // (2 * len(bases)) + 1)
    cases: list[Case] = []
    for base in bases:
        env_kwargs = list(load_experiment(REPO / base).env.kwargs)
        cases += override_cases(base, config_keys(str(REPO / base)), env_kwargs, rng, per_base)
        cases += text_cases(base, (REPO / base).read_text(encoding="utf-8"), rng, per_base)
    for base in sweeps:
        cases += sweep_cases(base, (REPO / base).read_text(encoding="utf-8"), rng, 30)
    return cases


def pick_cli_sample(outcomes: list[Outcome], size: int, rng: random.Random) -> list[Case]:
    """Mostly rejected cases across categories, plus accepted ones on light experiments."""
    eligible = [o for o in outcomes if o.case.cli_ok and o.case.kind == "experiment"]
    accepted = [o.case for o in eligible if o.verdict == "accepted" and o.case.base.endswith(_light())]
    by_category: dict[str, list[Case]] = collections.defaultdict(list)
    for o in eligible:
        if o.verdict == "rejected":
            by_category[o.case.category].append(o.case)
    picked = rng.sample(accepted, min(len(accepted), size // 5))
    while len(picked) < size and any(by_category.values()):
        for category in sorted(by_category):
            if by_category[category] and len(picked) < size:
                picked.append(by_category[category].pop(rng.randrange(len(by_category[category]))))
    return picked


def _light() -> tuple[str, ...]:
    return tuple(f"experiments/{name}.yaml" for name in LIGHT_BASES)


def summarise(outcomes: list[Outcome], cli: list[dict[str, Any]], excluded: dict[str, str]) -> dict[str, Any]:
    verdicts = collections.Counter(o.verdict for o in outcomes)
    categories: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for o in outcomes:
        categories[o.case.category][o.verdict] += 1
    invalid = [o for o in outcomes if o.verdict == "accepted" and o.invalid]
    unnamed = [o for o in outcomes if o.verdict == "rejected" and not o.named]
    return {
        "cases": len(outcomes),
        "rejected": verdicts["rejected"],
        "rejected_without_key": len(unnamed),
        "accepted": verdicts["accepted"],
        "accepted_invalid": len(invalid),
        "tracebacks": verdicts["traceback"],
        "max_case_seconds": round(max(o.seconds for o in outcomes), 2),
        "by_category": {c: dict(v) for c, v in sorted(categories.items())},
        "cli_cases": len(cli),
        "cli_exit_codes": dict(collections.Counter(str(r.get("returncode", "timeout")) for r in cli)),
        "cli_failures": sum(1 for r in cli if not r["ok"]),
        "cli_tracebacks": sum(1 for r in cli if r.get("traceback")),
        "cli_files_written": sum(len(r.get("written", [])) for r in cli),
        "cli_median_seconds": sorted(r["seconds"] for r in cli)[len(cli) // 2] if cli else None,
        "excluded_bases": excluded,
        "examples": {
            "tracebacks": [
                f"{o.case.base} {o.case.description}: {o.message}"
                for o in outcomes
                if o.verdict == "traceback"
            ][:20],
            "accepted_invalid": [f"{o.case.base} {o.case.description}: {o.invalid}" for o in invalid][:20],
            "rejected_without_key": [f"{o.case.description}: {o.message[:200]}" for o in unnamed][:20],
            "cli_failures": [r for r in cli if not r["ok"]][:20],
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=2000, help="about this many in-process cases")
    parser.add_argument("--cli-sample", type=int, default=50, help="cases also run through the command line")
    parser.add_argument("--cli-timeout", type=float, default=300.0, help="seconds per command-line case")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="write the full summary here")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    bases, sweeps, excluded = shipped_bases()
    cases = make_cases(bases, sweeps, args.cases, rng)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rlsuite-fuzz-") as tmp:
        outcomes = []
        for i, case in enumerate(cases):
            folder = Path(tmp) / f"case{i}"
            folder.mkdir()
            outcomes.append(run_case(case, folder))
        in_process_s = time.perf_counter() - started
        cli = [
            run_cli(c, Path(tmp) / f"cli{i}", args.cli_timeout)
            for i, c in enumerate(pick_cli_sample(outcomes, args.cli_sample, rng))
        ]
    summary = summarise(outcomes, cli, excluded)
    summary["in_process_seconds"] = round(in_process_s, 1)
    summary["bases"], summary["sweep_files"] = len(bases), len(sweeps)
    text = json.dumps(summary, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    failed = summary["tracebacks"] or summary["accepted_invalid"] or summary["cli_failures"]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
