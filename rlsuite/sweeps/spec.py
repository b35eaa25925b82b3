"""Sweep files: algorithms × envs × seeds (× parameter grids), expanded into ordinary run configs.

A sweep file (YAML)::

    name: ppo-peers              # the sweep folder is <root>/<name>
    root: sweeps                 # default "sweeps" (relative to the working directory)
    seeds: 3                     # N (seeds 0..N-1) or a list of seeds
    total_steps: 100000          # every run's budget unless an env entry sets its own
    threads_per_run: 1           # torch threads of each run (and CPUs a Ray task asks for)
    base: {eval: {episodes: 10, every_steps: 10000}}   # experiment keys for every run
    envs:
      - rlsuite/CartPole-v1
      - {id: Pendulum-v1, total_steps: 200000, overrides: {env.num_envs: 4}}
    algorithms:
      - name: ppo                                  # an algorithm name (``rlsuite algos``)
        config: {rlsuite/CartPole-v1: experiments/ppo/cartpole.yaml}   # or one path for every env
        overrides: {algo.lr: 3.0e-4}               # for every env
        env_overrides: {Pendulum-v1: {algo.gamma: 0.9}}
        grid: {algo.clip_coef: [0.1, 0.2]}         # variants of this algorithm
      - {name: sb3:PPO, label: SB3 PPO}
    grid: {env.num_envs: [8, 16]}                  # variants of every algorithm
    references: {Pendulum-v1: {random: -1230.0, reference: -150.0}}   # for normalised scores

Each run's experiment data is built in this order, later entries winning: the algorithm's config file
for the env, ``base``, ``total_steps``, the env entry's ``total_steps`` and ``overrides``, the
algorithm's ``overrides`` and ``env_overrides[env]``, the grid values; then the sweep fixes
``algo.name``, ``env.id``, ``seed``, ``experiment`` (the sweep name), ``run_dir`` and ``resume=auto``.
Paths in the sweep file are relative to the file.
"""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlsuite.config import SEED_MAX, ConfigError, load_yaml, merge, parse_overrides
from rlsuite.core.names import folder_name_problem

TOP_KEYS = (
    "name",
    "root",
    "seeds",
    "total_steps",
    "threads_per_run",
    "base",
    "envs",
    "algorithms",
    "grid",
    "references",
)
ENV_KEYS = ("id", "total_steps", "overrides")
ALGO_KEYS = ("name", "label", "config", "overrides", "env_overrides", "grid")
MAX_RUNS = 100_000


class SweepError(ConfigError):
    """A sweep file that cannot be run, with every problem named."""


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: what to train and where its run folder is."""

    label: str  # the algorithm label a report shows (with grid values, e.g. "ppo[lr=0.001]")
    algo: str
    env: str
    seed: int
    variant: dict[str, Any]
    data: dict[str, Any]  # experiment data, ready for build_experiment
    directory: Path

    @property
    def id(self) -> str:
        return f"{_dir_name(self.label)}/{_dir_name(self.env)}/seed{self.seed}"


@dataclass
class Sweep:
    """A parsed sweep file and its expanded runs."""

    name: str
    directory: Path
    source: Path
    runs: list[RunSpec]
    threads_per_run: int
    references: dict[str, dict[str, float]] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)

    def pairs(self) -> list[tuple[str, str]]:
        """The distinct (algorithm, env id) pairs, in run order."""
        return list(dict.fromkeys((run.algo, run.env) for run in self.runs))


def load_sweep(path: str | Path, *, root: str | Path | None = None) -> Sweep:
    """Read and expand a sweep file; every problem in it raises :class:`SweepError`."""
    source = Path(path)
    raw = load_yaml(source)
    _check_keys(raw, TOP_KEYS, "sweep file")
    name = _require_str(raw, "name", "sweep file")
    if not re.fullmatch(r"[\w.+-]+", name) or folder_name_problem(name):
        raise SweepError(
            f"name: {name!r} must be a folder name (letters, digits, '_', '.', '+', '-'; not '.' or '..')"
        )
    # Absolute, so a run's config names its folder wherever its process starts (Ray workers included).
    directory = Path(root if root is not None else raw.get("root", "sweeps")).resolve() / name
    seeds = _seeds(raw.get("seeds", 1))
    threads = _positive_int(raw.get("threads_per_run", 1), "threads_per_run")
    envs = [_env_entry(entry, i) for i, entry in enumerate(_require_list(raw, "envs"))]
    algorithms = [
        _algo_entry(entry, i, source.parent) for i, entry in enumerate(_require_list(raw, "algorithms"))
    ]
    shared_grid = _grid(raw.get("grid"), "grid")
    runs = _expand(raw, envs, algorithms, shared_grid, seeds, directory, name, threads)
    return Sweep(
        name=name,
        directory=directory,
        source=source,
        runs=runs,
        threads_per_run=threads,
        references=_references(raw.get("references")),
        raw=raw,
    )


# --- expansion ---------------------------------------------------------------------------------
def _expand(
    raw: dict[str, Any],
    envs: list[dict[str, Any]],
    algorithms: list[dict[str, Any]],
    shared_grid: list[dict[str, Any]],
    seeds: list[int],
    directory: Path,
    name: str,
    threads: int,
) -> list[RunSpec]:
    runs: list[RunSpec] = []
    for index, algo in enumerate(algorithms):
        variants = [merge(a, b) for a in shared_grid for b in algo["grid"]]
        for variant_data in variants:
            variant = _flatten(variant_data)
            label = _variant_label(algo["label"], variant)
            _check_folder(label, f"algorithms[{index}].label")
            for env in envs:
                data = _run_data(raw, env, algo, variant_data, threads)
                for seed in seeds:
                    run_data = merge(data, {"seed": seed, "experiment": name, "resume": "auto"})
                    spec = RunSpec(label, algo["name"], env["id"], seed, variant, run_data, Path())
                    run_dir = directory / spec.id
                    runs.append(_with_dir(spec, run_dir))
                    if len(runs) > MAX_RUNS:
                        raise SweepError(f"the sweep expands to more than {MAX_RUNS} runs")
    _check_unique(runs)
    return runs


def _check_folder(text: str, where: str) -> None:
    """A label or env id names one folder of the sweep; '.', '..' or an over-long name cannot."""
    problem = folder_name_problem(_dir_name(text))
    if problem:
        raise SweepError(f"{where}: {text!r} cannot name a run folder: {problem}")


def _with_dir(spec: RunSpec, run_dir: Path) -> RunSpec:
    root = run_dir.parents[2]  # <sweep dir>/<label>/<env>/seed<k>
    if os.path.commonpath([os.path.normpath(root), os.path.normpath(run_dir)]) != os.path.normpath(root):
        raise SweepError(f"run {spec.id}: its folder {run_dir} would lie outside the sweep folder {root}")
    data = merge(spec.data, {"run_dir": str(run_dir)})
    return RunSpec(spec.label, spec.algo, spec.env, spec.seed, spec.variant, data, run_dir)


def _run_data(
    raw: dict[str, Any], env: dict[str, Any], algo: dict[str, Any], variant: dict[str, Any], threads: int
) -> dict[str, Any]:
    config_path = algo["config"].get(env["id"], algo["config"].get("*"))
    data = load_yaml(config_path) if config_path else {}
    data = merge(data, _nested(raw.get("base") or {}, "base"))
    if "total_steps" in raw:
        data["total_steps"] = raw["total_steps"]
    if env["total_steps"] is not None:
        data["total_steps"] = env["total_steps"]
    for layer in (env["overrides"], algo["overrides"], algo["env_overrides"].get(env["id"], {}), variant):
        data = merge(data, layer)
    algo_section = data.get("algo")
    algo_section = algo_section if isinstance(algo_section, dict) else {}
    data["algo"] = {**algo_section, "name": algo["name"]}
    data["env"] = {**(data.get("env") if isinstance(data.get("env"), dict) else {}), "id": env["id"]}
    if not data.get("torch_threads"):
        data["torch_threads"] = threads
    data["log"] = merge(data.get("log") or {}, {"progress": False})
    return data


def _check_unique(runs: list[RunSpec]) -> None:
    seen: dict[str, RunSpec] = {}
    for run in runs:
        if run.id in seen:
            other = seen[run.id]
            raise SweepError(
                f"two runs share the folder {run.id}: ({other.label}, {other.env}) and "
                f"({run.label}, {run.env}); give the algorithms distinct labels"
            )
        seen[run.id] = run


def _variant_label(label: str, variant: dict[str, Any]) -> str:
    if not variant:
        return label
    parts = [f"{key.removeprefix('algo.')}={value}" for key, value in variant.items()]
    return f"{label}[{','.join(parts)}]"


def _dir_name(text: str) -> str:
    """A folder name for a label or env id: runs of other characters become '_'."""
    return re.sub(r"[^\w.=+-]+", "_", text).strip("_") or "_"


# --- entries -----------------------------------------------------------------------------------
def _env_entry(entry: Any, index: int) -> dict[str, Any]:
    where = f"envs[{index}]"
    if isinstance(entry, str):
        entry = {"id": entry}
    if not isinstance(entry, dict):
        raise SweepError(f"{where}: expected an env id or a mapping with 'id', got {entry!r}")
    _check_keys(entry, ENV_KEYS, where)
    steps = entry.get("total_steps")
    env_id = _require_str(entry, "id", where)
    _check_folder(env_id, f"{where}.id")
    return {
        "id": env_id,
        "total_steps": None if steps is None else _positive_int(steps, f"{where}.total_steps"),
        "overrides": _nested(entry.get("overrides") or {}, f"{where}.overrides"),
    }


def _algo_entry(entry: Any, index: int, base_dir: Path) -> dict[str, Any]:
    where = f"algorithms[{index}]"
    if isinstance(entry, str):
        entry = {"name": entry}
    if not isinstance(entry, dict):
        raise SweepError(f"{where}: expected an algorithm name or a mapping with 'name', got {entry!r}")
    _check_keys(entry, ALGO_KEYS, where)
    name = _require_str(entry, "name", where)
    env_overrides = entry.get("env_overrides") or {}
    if not isinstance(env_overrides, dict):
        raise SweepError(f"{where}.env_overrides: expected a mapping env id -> overrides")
    return {
        "name": name,
        "label": str(entry.get("label", name)),
        "config": _config_paths(entry.get("config"), base_dir, where),
        "overrides": _nested(entry.get("overrides") or {}, f"{where}.overrides"),
        "env_overrides": {
            env: _nested(values or {}, f"{where}.env_overrides.{env}")
            for env, values in env_overrides.items()
        },
        "grid": _grid(entry.get("grid"), f"{where}.grid"),
    }


def _config_paths(value: Any, base_dir: Path, where: str) -> dict[str, Path]:
    """``config``: one path for every env (key "*") or a mapping env id -> path."""
    if value is None:
        return {}
    mapping = {"*": value} if isinstance(value, str) else value
    if not isinstance(mapping, dict):
        raise SweepError(f"{where}.config: expected a path or a mapping env id -> path, got {value!r}")
    paths = {}
    for env, text in mapping.items():
        path = Path(text) if Path(text).is_absolute() else base_dir / text
        if not path.is_file():
            raise SweepError(f"{where}.config: {path} does not exist")
        paths[env] = path
    return paths


def _grid(value: Any, where: str) -> list[dict[str, Any]]:
    """``{key: [values...]}`` -> the list of nested override dicts of its Cartesian product."""
    if not value:
        return [{}]
    if not isinstance(value, dict):
        raise SweepError(f"{where}: expected a mapping dotted.key -> list of values")
    keys = list(value)
    for key in keys:
        if not isinstance(value[key], list) or not value[key]:
            raise SweepError(f"{where}.{key}: expected a non-empty list of values, got {value[key]!r}")
    combos = itertools.product(*(value[key] for key in keys))
    return [_nested(dict(zip(keys, combo)), where) for combo in combos]


def _references(value: Any) -> dict[str, dict[str, float]]:
    if not value:
        return {}
    if not isinstance(value, dict):
        raise SweepError("references: expected a mapping env id -> {random: x, reference: y}")
    out = {}
    for env, ref in value.items():
        if not isinstance(ref, dict) or set(ref) != {"random", "reference"}:
            raise SweepError(f"references.{env}: expected {{random: x, reference: y}}, got {ref!r}")
        low, high = float(ref["random"]), float(ref["reference"])
        if low == high:
            raise SweepError(f"references.{env}: random and reference must differ (both {low})")
        out[env] = {"random": low, "reference": high}
    return out


# --- small validators --------------------------------------------------------------------------
def _nested(values: Any, where: str) -> dict[str, Any]:
    """Dotted keys (``algo.lr: 1e-3``) or nested mappings -> one nested dict."""
    if not isinstance(values, dict):
        raise SweepError(f"{where}: expected a mapping of (dotted) keys, got {values!r}")
    out: dict[str, Any] = {}
    for key, value in values.items():
        layer = parse_overrides([f"{key}=null"])  # validates the key's spelling
        _set_leaf(layer, str(key).split("."), value)
        out = merge(out, layer)
    return out


def _set_leaf(tree: dict[str, Any], parts: list[str], value: Any) -> None:
    for part in parts[:-1]:
        tree = tree[part]
    tree[parts[-1]] = value


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and value:
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _check_keys(data: dict[str, Any], accepted: tuple[str, ...], where: str) -> None:
    unknown = [key for key in data if key not in accepted]
    if unknown:
        raise SweepError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; accepted: {', '.join(accepted)}"
        )


def _require_str(data: dict[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise SweepError(f"{where}: '{key}' must be a non-empty string, got {value!r}")
    return value


def _require_list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if not isinstance(value, list) or not value:
        raise SweepError(f"sweep file: '{key}' must be a non-empty list, got {value!r}")
    return value


def _positive_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SweepError(f"{where}: expected a positive integer, got {value!r}")
    return value


def _seeds(value: Any) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_RUNS:
        return list(range(value))
    if isinstance(value, list) and value and all(_is_seed(s) for s in value):
        if len(set(value)) != len(value):
            raise SweepError(f"seeds: repeated seeds in {value}")
        return list(value)
    raise SweepError(
        f"seeds: expected a positive count (at most {MAX_RUNS}) or a list of integers from 0 to {SEED_MAX}, "
        f"got {value!r}"
    )


def _is_seed(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= SEED_MAX
