"""Experiment configuration: YAML files mapped onto typed dataclasses, strictly validated.

Sections are plain dataclasses whose fields are declared with :func:`param` (help text, ranges,
choices). :func:`from_dict` builds them from YAML data with type coercion and clear errors,
:func:`parse_overrides` turns ``algo.lr=3e-4`` command-line items into nested data, and
:func:`build_experiment` assembles the full :class:`ExperimentConfig` with the algorithm section
looked up by name.
"""

# `param()` returns a dataclasses.field, so RUF009 does not apply (ruff cannot see through the wrapper).

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import os
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

import yaml

from rlsuite.core.atomic import atomic_write_text

T = TypeVar("T")

_DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
_OVERRIDE_SYNTAX = "key=value with dotted keys, e.g. algo.lr=3e-4"


class ConfigError(ValueError):
    """Invalid configuration; the message names the dotted key, what was given and what is accepted."""


def param(
    default: Any = MISSING,
    *,
    help: str,
    min: float | None = None,
    max: float | None = None,
    min_exclusive: bool = False,
    max_exclusive: bool = False,
    choices: Sequence[Any] | None = None,
    default_factory: Any = MISSING,
) -> Any:
    """A ``dataclasses.field`` carrying help text and validation metadata.

    Mutable defaults (lists, dicts, sets) are turned into a deep-copying ``default_factory``.
    """
    metadata = {
        "help": help,
        "min": min,
        "max": max,
        "min_exclusive": min_exclusive,
        "max_exclusive": max_exclusive,
        "choices": tuple(choices) if choices is not None else None,
    }
    if isinstance(default, list | dict | set):
        default, default_factory = MISSING, functools.partial(copy.deepcopy, default)
    return dataclasses.field(default=default, default_factory=default_factory, metadata=metadata)


def _show(value: Any) -> str:
    """A value spelled as the user would write it in YAML (strings quoted)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(to_dict(value) if isinstance(value, tuple) else value)
    return text if len(text) <= 80 else text[:77] + "..."


def _got(value: Any) -> str:
    return "null" if value is None else f"{_show(value)} ({type(value).__name__})"


def _type_name(tp: Any) -> str:
    """Readable spelling of a type hint: ``int | None``, ``tuple[int, ...]``, ``'tanh' | 'relu'``."""
    if tp is Any:
        return "Any"
    if tp is type(None):
        return "None"
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args)
    if origin is Literal:
        return " | ".join(repr(a) for a in args)
    if origin is not None:
        inner = ", ".join("..." if a is Ellipsis else _type_name(a) for a in args)
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]" if args else origin.__name__
    return getattr(tp, "__name__", str(tp))


_EXPECTED = {bool: "a bool (true/false)", int: "an int", float: "a float", str: "a string"}


def _expected(tp: Any) -> str:
    if tp in _EXPECTED:
        return _EXPECTED[tp]
    if dataclasses.is_dataclass(tp):
        return "a mapping of keys"
    return f"a value of type {_type_name(tp)}"


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _fail(key: str, tp: Any, value: Any, hint: str = "") -> ConfigError:
    return ConfigError(f"{key}: expected {_expected(tp)}, got {_got(value)}{hint}")


def _to_bool(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    raise _fail(key, bool, value, "; accepted: true, false, 1, 0")


def _to_int(value: Any, key: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number = value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            try:
                number = float(value)
            except ValueError:
                number = None
    if isinstance(number, float) and number.is_integer():
        return int(number)
    raise _fail(key, int, value)


def _to_float(value: Any, key: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise _fail(key, float, value)


def _to_str(value: Any, key: str) -> str:
    if isinstance(value, str):
        return value
    raise _fail(key, str, value, f"; quote it in YAML if a string is meant, e.g. '{_show(value)}'")


_SCALARS: dict[Any, Callable[[Any, str], Any]] = {
    bool: _to_bool,
    int: _to_int,
    float: _to_float,
    str: _to_str,
}


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Coerce ``value`` to the type hint ``tp``; raise :class:`ConfigError` naming ``key``."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any or tp is object:
        return value
    if origin in (Union, types.UnionType):
        return _coerce_union(value, args, key)
    if origin is Literal:
        return _check_choices(value, args, key)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, {} if value is None else value, prefix=key)
    if tp in _SCALARS:
        return _SCALARS[tp](value, key)
    if tp in (list, tuple) or origin in (list, tuple):
        return _coerce_sequence(value, tp, key)
    if tp is dict or origin in (dict, Mapping):
        return _coerce_mapping(value, tp, key)
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    raise _fail(key, tp, value)


def _coerce_union(value: Any, args: tuple[Any, ...], key: str) -> Any:
    options = [a for a in args if a is not type(None)]
    if value is None:
        if len(options) < len(args):
            return None
        raise ConfigError(f"{key}: expected {' | '.join(_type_name(a) for a in args)}, got null")
    if len(options) == 1:
        return _coerce(value, options[0], key)
    exact = [a for a in options if isinstance(a, type) and type(value) is a]
    for option in exact + options:
        try:
            return _coerce(value, option, key)
        except ConfigError:
            continue
    raise ConfigError(f"{key}: expected {' | '.join(_type_name(a) for a in args)}, got {_got(value)}")


def _coerce_sequence(value: Any, tp: Any, key: str) -> list[Any] | tuple[Any, ...]:
    origin = typing.get_origin(tp) or tp
    if not isinstance(value, list | tuple):
        raise ConfigError(f"{key}: expected a list ({_type_name(tp)}), got {_got(value)}")
    args = typing.get_args(tp)
    if origin is tuple and args and args[-1] is not Ellipsis:
        if len(value) != len(args):
            raise ConfigError(
                f"{key}: expected a list of {len(args)} items ({_type_name(tp)}), got {_got(value)}"
            )
        return tuple(_coerce(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
    item = args[0] if args else Any
    items = [_coerce(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
    return tuple(items) if origin is tuple else items


def _coerce_mapping(value: Any, tp: Any, key: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key}: expected a mapping ({_type_name(tp)}), got {_got(value)}")
    args = typing.get_args(tp)
    key_tp, value_tp = args if args else (Any, Any)
    return {_coerce(k, key_tp, key): _coerce(v, value_tp, _join(key, str(k))) for k, v in value.items()}


def _check_choices(value: Any, choices: Sequence[Any], key: str) -> Any:
    if value not in choices or (isinstance(value, bool) and not any(c is value for c in choices)):
        raise ConfigError(
            f"{key}: expected one of {', '.join(_show(c) for c in choices)}, got {_show(value)}"
        )
    return value


def _bounds_text(meta: Mapping[str, Any]) -> str:
    parts = []
    if meta.get("min") is not None:
        parts.append(f"{'>' if meta.get('min_exclusive') else '>='} {meta['min']}")
    if meta.get("max") is not None:
        parts.append(f"{'<' if meta.get('max_exclusive') else '<='} {meta['max']}")
    return " and ".join(parts)


def _check_range(value: Any, meta: Mapping[str, Any], key: str) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return
    lo, hi = meta.get("min"), meta.get("max")
    too_low = lo is not None and (value <= lo if meta.get("min_exclusive") else value < lo)
    too_high = hi is not None and (value >= hi if meta.get("max_exclusive") else value > hi)
    if too_low or too_high:
        kind = "an int" if isinstance(value, int) else "a float"
        raise ConfigError(f"{key}: expected {kind} {_bounds_text(meta)}, got {_show(value)}")


def _coerce_field(value: Any, field: dataclasses.Field, tp: Any, key: str) -> Any:
    value = _coerce(value, tp, key)
    if value is not None and field.metadata.get("choices") is not None:
        _check_choices(value, field.metadata["choices"], key)
    _check_range(value, field.metadata, key)
    return value


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _init_fields(cls: type) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if f.init]


def _check_keys(cls: type, data: Mapping[str, Any], prefix: str) -> None:
    names = [f.name for f in _init_fields(cls)]
    for key in data:
        if key in names:
            continue
        close = difflib.get_close_matches(str(key), names, n=1, cutoff=0.6)
        hint = f"; did you mean '{_join(prefix, close[0])}'?" if close else ";"
        where = f"under '{prefix}'" if prefix else "at the top level"
        raise ConfigError(
            f"unknown key '{_join(prefix, str(key))}'{hint} accepted keys {where}: {', '.join(names)}"
        )


def _section_error(prefix: str, error: Exception) -> ConfigError:
    """Prefix a message raised by ``validate()``/``__post_init__`` with the section's dotted path."""
    if isinstance(error, ConfigError):
        return ConfigError(_join(prefix, str(error)))
    return ConfigError(f"{prefix or 'config'}: {error}")


def from_dict(cls: type[T], data: Mapping[str, Any] | None, *, prefix: str = "") -> T:
    """Build the (possibly nested) dataclass ``cls`` from plain data, strictly.

    Unknown keys, missing required keys, wrong types, out-of-range values and bad choices raise
    :class:`ConfigError` naming the dotted key (``prefix`` is the dotted path of this section).
    Messages raised by the dataclass's ``validate()`` hook should start with a field name: the
    section's prefix is prepended (``"lr: ..."`` becomes ``"algo.lr: ..."``).
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"from_dict expects a dataclass type, got {cls!r}")
    data = {} if data is None else data
    if not isinstance(data, Mapping):
        raise ConfigError(f"{prefix or 'config'}: expected a mapping of keys, got {_got(data)}")
    _check_keys(cls, data, prefix)
    hints, kwargs = _hints(cls), {}
    for field in _init_fields(cls):
        key = _join(prefix, field.name)
        if field.name in data:
            kwargs[field.name] = _coerce_field(data[field.name], field, hints[field.name], key)
        elif field.default is MISSING and field.default_factory is MISSING:
            if not dataclasses.is_dataclass(hints[field.name]):
                raise ConfigError(f"missing required key '{key}' ({_type_name(hints[field.name])})")
            kwargs[field.name] = from_dict(hints[field.name], {}, prefix=key)
    try:
        obj = cls(**kwargs)
        if callable(getattr(obj, "validate", None)):
            obj.validate()
    except ValueError as error:
        raise _section_error(prefix, error) from error
    return obj


def to_dict(obj: Any) -> Any:
    """Dataclass (or container) -> plain YAML-safe data, recursively; tuples become lists."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in _init_fields(type(obj))}
    if isinstance(obj, Mapping):
        return {str(k): to_dict(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [to_dict(v) for v in obj]
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    return obj


def describe(cls: type, *, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """``(dotted key, type, default, help)`` rows for every leaf field, nested sections expanded."""
    rows, hints = [], _hints(cls)
    for field in _init_fields(cls):
        key, tp = _join(prefix, field.name), hints[field.name]
        if dataclasses.is_dataclass(tp):
            rows.extend(describe(tp, prefix=key))
            continue
        type_text = _type_name(tp)
        if field.metadata.get("choices") is not None:
            type_text += f" (one of {', '.join(_show(c) for c in field.metadata['choices'])})"
        if _bounds_text(field.metadata):
            type_text += f" ({_bounds_text(field.metadata)})"
        if field.default is not MISSING:
            default = _show(field.default)
        elif field.default_factory is not MISSING:
            default = _show(to_dict(field.default_factory()))
        else:
            default = "(required)"
        rows.append((key, type_text, default, field.metadata.get("help", "")))
    return rows


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """``["algo.lr=1e-3", "eval.every_steps=null"]`` -> nested dict; values are parsed as YAML."""
    result: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(p.strip() and p == p.strip() for p in parts):
            raise ConfigError(f"malformed override {item!r}: expected {_OVERRIDE_SYNTAX}")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ConfigError(f"override {item!r}: cannot parse the value as YAML ({error})") from error
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
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or error
        raise ConfigError(f"YAML syntax error in '{path}'{where}: {problem}") from error
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"'{path}': expected a mapping of keys at the top level, got {type(data).__name__} {_show(data)}"
        )
    return data


def save_yaml(data: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Write ``data`` as YAML atomically: temp file in the same folder, fsync, ``os.replace``."""
    atomic_write_text(path, yaml.safe_dump(to_dict(data), sort_keys=False, default_flow_style=False))


@dataclass
class EnvConfig:
    """Which environment to train on and how to vectorize it."""

    id: str = param(help="registered environment id, e.g. 'rlsuite/CartPole-v1'")
    num_envs: int = param(8, help="number of parallel environments", min=1)
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
    num_envs: int = param(0, help="parallel eval environments; 0 = min(episodes, 16)", min=0)
    deterministic: bool = param(True, help="act greedily / with the distribution's mode")


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


@dataclass
class OfflineConfig:
    """Offline data and pretrained weights: what offline learners train on and SO2 starts from."""

    dataset: str | None = param(
        None,
        help="offline dataset file (rlsuite data collect, or a D4RL HDF5 file): the training data of offline "
        "learners (td3bc, sac_n, edac) and SO2's offline pool",
    )
    init_from: str | None = param(
        None,
        help="offline checkpoint (run folder or .pt of sac_n/edac) that online fine-tuning (so2) starts from",
    )


@dataclass
class ExperimentConfig:
    """A complete experiment: algorithm, environment and run settings."""

    algo: Any = param(help="algorithm config section; its 'name' selects the algorithm")
    env: EnvConfig = param(help="environment section")
    experiment: str = param("default", help="run-folder group name")
    seed: int = param(0, help="random seed", min=0)
    total_steps: int = param(100_000, help="total environment steps", min=1)
    device: str = param("auto", help="torch device: 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'")
    torch_threads: int = param(0, help="torch CPU threads; 0 = leave torch's default", min=0)
    run_dir: str | None = param(
        None, help="explicit run folder; default runs/<experiment>/<algo>-<envname>-s<seed>-<timestamp>"
    )
    runs_root: str = param("runs", help="root folder for run folders")
    resume: str | None = param(None, help="null, 'auto' or a path to a run folder or checkpoint file")
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
        """Check the device spelling and that ``algo`` is an algorithm config dataclass."""
        if not _DEVICE_PATTERN.match(self.device):
            raise ConfigError(
                f"device: expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {_show(self.device)}"
            )
        if not dataclasses.is_dataclass(self.algo) or isinstance(self.algo, type):
            raise ConfigError(
                f"algo: expected an algorithm config dataclass (use build_experiment), got {_got(self.algo)}"
            )


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
