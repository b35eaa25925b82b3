"""Experiment configuration: YAML files mapped onto typed dataclasses, strictly validated.

Sections are plain dataclasses whose fields are declared with :func:`param` (help text, ranges,
choices; see :mod:`rlsuite.config_schema`). :func:`from_dict` builds them from YAML data with type
coercion and clear errors, :func:`load_yaml` reads files strictly (:mod:`rlsuite.core.strict_yaml`),
:func:`parse_overrides` turns ``algo.lr=3e-4`` command-line items into nested data, and
:func:`build_experiment` assembles the full :class:`ExperimentConfig` with the algorithm section
looked up by name.
"""

# `param()` returns a dataclasses.field, so RUF009 does not apply (ruff cannot see through the wrapper).

from __future__ import annotations

import copy
import dataclasses
import difflib
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rlsuite.config_schema import (
    INT_LIMIT,
    ConfigError,
    _got,
    _init_fields,
    _show,
    describe,
    from_dict,
    param,
    to_dict,
)
from rlsuite.core.atomic import atomic_write_text
from rlsuite.core.names import escapes_upward, folder_name_problem
from rlsuite.core.strict_yaml import MAX_DEPTH, StrictYAMLError, load_strict

__all__ = [
    "INT_LIMIT",
    "SEED_MAX",
    "CheckpointConfig",
    "ConfigError",
    "EnvConfig",
    "EvalConfig",
    "ExperimentConfig",
    "LogConfig",
    "OfflineConfig",
    "build_experiment",
    "describe",
    "experiment_to_dict",
    "from_dict",
    "load_experiment",
    "load_yaml",
    "merge",
    "param",
    "parse_overrides",
    "save_yaml",
    "to_dict",
]

_DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
_OVERRIDE_SYNTAX = "key=value with dotted keys, e.g. algo.lr=3e-4"
SEED_MAX = 2**32 - 1  # seeds, as NumPy's legacy seeding takes them (offsets are added to them)
ENV_ID_MAX_LENGTH = 128  # an env id names part of each run folder (at most 255 bytes)
EXPERIMENT_MAX_LENGTH = 128  # an experiment name is a folder name
MAX_ENVS = 2**20  # parallel environments of one vector env


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """``["algo.lr=1e-3", "eval.every_steps=null"]`` -> nested dict; values are parsed as YAML."""
    result: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(p.strip() and p == p.strip() for p in parts):
            raise ConfigError(f"malformed override {_show(item)}: expected {_OVERRIDE_SYNTAX}")
        if len(parts) > MAX_DEPTH:
            raise ConfigError(f"override {_show(key)}: more than {MAX_DEPTH} dotted parts")
        try:
            value = load_strict(text)
        except yaml.YAMLError as error:
            raise ConfigError(
                f"override {_show(item)}: cannot parse the value as YAML ({_yaml_problem(error)})"
            ) from error
        for part in reversed(parts):
            value = {part: value}
        result = merge(result, value)
    return result


def merge(base: Mapping[str, Any], updates: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge into a new dict; a mapping update into a non-mapping value replaces it."""
    result = copy.deepcopy(dict(base))
    for key, value in updates.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def load_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """Read a YAML mapping; an empty file gives ``{}``. Every failure is a :class:`ConfigError`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise ConfigError(f"config file not found: '{path}'") from error
    except OSError as error:
        raise ConfigError(f"cannot read config file '{path}': {error}") from error
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"config file '{path}' is not UTF-8 text (byte {error.start}: {error.reason})"
        ) from error
    try:
        data = load_strict(text)
    except yaml.YAMLError as error:
        refused = isinstance(error, StrictYAMLError | yaml.constructor.ConstructorError)
        kind = "invalid YAML" if refused else "YAML syntax error"
        raise ConfigError(f"{kind} in '{path}'{_yaml_problem(error, where=True)}") from error
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"'{path}': expected a mapping of keys at the top level, got {type(data).__name__} {_show(data)}"
        )
    return data


def _yaml_problem(error: yaml.YAMLError, *, where: bool = False) -> str:
    """``at line 3, column 5: found duplicate key ...``: the position (with ``where``) and the problem."""
    if isinstance(error, yaml.reader.ReaderError):  # a character YAML does not allow (NUL, control bytes)
        position, problem = f" at character {error.position + 1}", f"{error.reason} (#x{error.character:04x})"
    else:
        mark = getattr(error, "problem_mark", None)
        position = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = str(getattr(error, "problem", None) or error)
    return f"{position}: {problem}" if where else problem


def save_yaml(data: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Write ``data`` as YAML atomically: temp file in the same folder, fsync, ``os.replace``."""
    atomic_write_text(path, yaml.safe_dump(to_dict(data), sort_keys=False, default_flow_style=False))


@dataclass
class EnvConfig:
    """Which environment to train on and how to vectorize it."""

    id: str = param(
        help="registered environment id, e.g. 'rlsuite/CartPole-v1'", max_length=ENV_ID_MAX_LENGTH
    )
    num_envs: int = param(8, help="number of parallel environments", min=1, max=MAX_ENVS)
    vectorization: str = param(
        "auto", help="vectorization backend", choices=("auto", "native", "sync", "async")
    )
    kwargs: dict[str, Any] = param(default_factory=dict, help="keyword arguments for the env constructor")

    def validate(self) -> None:
        """Reject an empty environment id."""
        if not self.id.strip():
            raise ConfigError("id: expected a non-empty environment id, got ''")


@dataclass
class EvalConfig:
    """Periodic evaluation on separate environments."""

    episodes: int = param(10, help="episodes per evaluation", min=1)
    every_steps: int = param(0, help="evaluate every N env steps; 0 = only at the end", min=0)
    num_envs: int = param(0, help="parallel eval environments; 0 = min(episodes, 16)", min=0, max=MAX_ENVS)
    deterministic: bool = param(True, help="act greedily / with the distribution's mode")
    video_every_steps: int = param(
        0,
        help="record a video (a transcript for text runs) to <run>/videos/train-step<N> every N env steps; "
        "0 = never",
        min=0,
    )
    video_episodes: int = param(1, help="episodes in each training video", min=1)


@dataclass
class CheckpointConfig:
    """Checkpoint frequency and retention."""

    every_steps: int = param(0, help="checkpoint every N env steps; 0 = only at the end", min=0)
    keep: int = param(3, help="how many periodic checkpoints to keep", min=1)
    save_replay_buffer: bool = param(
        True,
        help="include the replay buffer in checkpoints (off-policy learners): exact resume; without it a "
        "resumed run refills an empty buffer",
    )


@dataclass
class LogConfig:
    """Logging frequency and sinks."""

    every_steps: int = param(0, help="log every N env steps; 0 = every iteration (collect+update)", min=0)
    tensorboard: bool = param(True, help="write TensorBoard event files")
    progress: bool = param(True, help="show a progress display in the terminal")
    wandb: bool = param(False, help="also log to Weights & Biases (extra 'wandb'); files in <run>/wandb")
    wandb_mode: str = param(
        "offline",
        help="W&B mode: 'offline' (no network; `wandb sync <run>/wandb/offline-run-*` uploads later) "
        "or 'online'",
        choices=("offline", "online"),
    )
    wandb_project: str = param("rlsuite", help="W&B project name")


@dataclass
class OfflineConfig:
    """Offline data and pretrained weights: what offline learners train on and SO2 starts from."""

    dataset: str | None = param(
        None,
        help="offline dataset file (rlsuite data collect, or a D4RL HDF5 file): the training data of offline "
        "learners (td3bc, sac_n, edac) and SO2's offline pool",
        path=True,
    )
    init_from: str | None = param(
        None,
        help="offline checkpoint (run folder or .pt of sac_n/edac) that online fine-tuning (so2) starts from",
        path=True,
    )


@dataclass
class ExperimentConfig:
    """A complete experiment: algorithm, environment and run settings."""

    algo: Any = param(help="algorithm config section; its 'name' selects the algorithm")
    env: EnvConfig = param(help="environment section")
    experiment: str = param(
        "default", help="run-folder group name (one folder name)", max_length=EXPERIMENT_MAX_LENGTH
    )
    seed: int = param(0, help="random seed", min=0, max=SEED_MAX)
    total_steps: int = param(100_000, help="total environment steps", min=1)
    device: str = param("auto", help="torch device: 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'")
    torch_threads: int = param(0, help="torch CPU threads; 0 = leave torch's default", min=0)
    run_dir: str | None = param(
        None,
        help="explicit run folder; default runs/<experiment>/<algo>-<envname>-s<seed>-<timestamp>",
        path=True,
    )
    runs_root: str = param("runs", help="root folder for run folders", path=True)
    resume: str | None = param(
        None, help="null, 'auto' or a path to a run folder or checkpoint file", path=True
    )
    imports: list[str] = param(
        default_factory=list,
        help="modules to import first, e.g. ones that call rlsuite.register for your envs",
    )
    eval: EvalConfig = param(default_factory=EvalConfig, help="evaluation section")
    checkpoint: CheckpointConfig = param(default_factory=CheckpointConfig, help="checkpoint section")
    log: LogConfig = param(default_factory=LogConfig, help="logging section")
    offline: OfflineConfig = param(
        default_factory=OfflineConfig, help="offline dataset and pretrained checkpoint section"
    )

    def validate(self) -> None:
        """Check the device spelling, that ``algo`` is an algorithm config dataclass and that every run
        folder this config names stays where it should (see :func:`_check_locations`)."""
        if not _DEVICE_PATTERN.match(self.device):
            raise ConfigError(
                f"device: expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {_show(self.device)}"
            )
        if not dataclasses.is_dataclass(self.algo) or isinstance(self.algo, type):
            raise ConfigError(
                f"algo: expected an algorithm config dataclass (use build_experiment), got {_got(self.algo)}"
            )
        _check_locations(self)


def _check_locations(config: ExperimentConfig) -> None:
    """``experiment`` is one folder name, ``run_dir`` has no ``..``, the run folder name is not too long."""
    problem = folder_name_problem(config.experiment)
    if problem:
        raise ConfigError(f"experiment: {problem}, got {_show(config.experiment)}")
    if config.run_dir is not None and escapes_upward(config.run_dir):
        raise ConfigError(
            f"run_dir: expected a path without '..' components (write it out, absolute if need be), "
            f"got {_show(config.run_dir)}"
        )
    # <algo>-<env name>-s<seed>-<YYYYmmdd-HHMMSS> (rlsuite.training.run.run_name) must be one folder name
    name = f"{getattr(config.algo, 'name', '')}-{config.env.id.split('/')[-1]}-s{config.seed}-YYYYmmdd-HHMMSS"
    problem = folder_name_problem(name)
    if problem:
        raise ConfigError(f"env.id: cannot name a run folder ({problem}); got {_show(config.env.id)}")


AlgoRegistry = Callable[[str], type] | Mapping[str, type]


def _lookup_algo(name: Any, registry: AlgoRegistry | None) -> type:
    if registry is None:
        raise ConfigError(
            "building an experiment config needs algo_registry= (algorithm name -> config dataclass); "
            "the suite's is rlsuite.algos.ALGORITHM_CONFIGS, which the CLI and sweeps pass"
        )
    if isinstance(registry, Mapping):
        lookup, names = registry.__getitem__, list(registry)
    else:
        lookup, names = registry, list(getattr(registry, "names", lambda: [])())
    listing = f"registered algorithms: {', '.join(sorted(names)) or '(none listed)'}"
    if name is None:
        raise ConfigError(f"missing required key 'algo.name'; {listing}")
    if not isinstance(name, str):
        raise ConfigError(f"algo.name: expected a string, got {_got(name)}; {listing}")
    try:
        return lookup(name)
    except (KeyError, ValueError) as error:
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else ";"
        raise ConfigError(f"algo.name: unknown algorithm {name!r}{hint} {listing}") from error


def build_experiment(
    data: Mapping[str, Any], overrides: Sequence[str] = (), *, algo_registry: AlgoRegistry | None = None
) -> ExperimentConfig:
    """Merge ``overrides`` into ``data`` and build a validated :class:`ExperimentConfig`.

    ``algo_registry`` maps an algorithm name to its config dataclass (a callable raising
    KeyError/ValueError for unknown names, or a mapping); the caller hands it in (the suite's is
    ``rlsuite.algos.ALGORITHM_CONFIGS``), so this module imports no learner.
    ``algo: ppo`` is accepted as shorthand for ``algo: {name: ppo}``.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"config: expected a mapping of keys at the top level, got {_got(data)}")
    data = merge(data, parse_overrides(overrides))
    section = data.get("algo")
    section = {"name": section} if isinstance(section, str) else ({} if section is None else section)
    if not isinstance(section, Mapping):
        raise ConfigError(f"algo: expected a mapping with at least 'name', got {_got(section)}")
    algo_cls = _lookup_algo(section.get("name"), algo_registry)
    if "name" not in {f.name for f in _init_fields(algo_cls)}:
        section = {k: v for k, v in section.items() if k != "name"}
    data["algo"] = from_dict(algo_cls, section, prefix="algo")
    return from_dict(ExperimentConfig, data)


def load_experiment(
    path: str | os.PathLike, overrides: Sequence[str] = (), *, algo_registry: AlgoRegistry | None = None
) -> ExperimentConfig:
    """:func:`load_yaml` + :func:`build_experiment`."""
    return build_experiment(load_yaml(path), overrides, algo_registry=algo_registry)


def experiment_to_dict(cfg: ExperimentConfig) -> dict[str, Any]:
    """Fully resolved, YAML-safe data that round-trips through :func:`build_experiment`."""
    return to_dict(cfg)
