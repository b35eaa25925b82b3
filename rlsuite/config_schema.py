"""Typed config sections: dataclass fields declared with :func:`param`, built strictly from plain data.

:func:`from_dict` maps YAML data onto a (nested) dataclass, coercing types and checking each value
against its field's metadata: ranges (of a number, or of every number of a list), choices, string
lengths, paths the operating system can take; floats must be finite and ints fit in 64 bits. Every
problem is a :class:`ConfigError` naming the dotted key, what was given and what is accepted.
:func:`to_dict` turns sections back into YAML-safe data; :func:`describe` lists every key.
"""

# `param()` returns a dataclasses.field, so RUF009 does not apply (ruff cannot see through the wrapper).

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import math
import os
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING
from typing import Any, Literal, TypeVar, Union

from rlsuite.core.names import path_problem

T = TypeVar("T")

INT_LIMIT = 2**63  # ints go to numpy/torch as int64


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
    max_length: int | None = None,
    path: bool = False,
    default_factory: Any = MISSING,
) -> Any:
    """A ``dataclasses.field`` carrying help text and validation metadata.

    ``min``/``max`` bound a number, or each number of a list/tuple field (e.g. hidden sizes);
    ``max_length`` bounds the characters of a string; ``path`` marks a string the operating system must
    take as a path (no NUL, no over-long component), checked before any file is touched. Mutable
    defaults (lists, dicts, sets) are turned into a deep-copying ``default_factory``.
    """
    metadata = {
        "help": help,
        "min": min,
        "max": max,
        "min_exclusive": min_exclusive,
        "max_exclusive": max_exclusive,
        "choices": tuple(choices) if choices is not None else None,
        "max_length": max_length,
        "path": path,
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
    number: Any = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        number = _parse_int_text(value)
    if number is None:
        raise _fail(key, int, value)
    if not -INT_LIMIT <= number < INT_LIMIT:
        raise ConfigError(f"{key}: expected an int that fits in 64 bits (|x| < 2**63), got {_show(value)}")
    return number


def _parse_int_text(text: str) -> int | None:
    """``"12"`` -> 12, ``"1e3"`` -> 1000; None for anything else (fractions, nan, inf, words)."""
    try:
        return int(text.strip())
    except ValueError:  # not an int literal (or more digits than Python converts)
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def _to_float(value: Any, key: str) -> float:
    number: float | None = None
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            number = float(value.strip())
    except (ValueError, OverflowError):
        number = None if not isinstance(value, int) else math.inf
    if number is None:
        raise _fail(key, float, value)
    if not math.isfinite(number):
        raise ConfigError(
            f"{key}: expected a finite float, got {_show(value)} (NaN and infinities are refused)"
        )
    return number


def _to_str(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise _fail(key, str, value, f"; quote it in YAML if a string is meant, e.g. '{_show(value)}'")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ConfigError(f"{key}: expected text that UTF-8 can encode, got {_show(value)}") from error
    return value


def _check_finite_tree(value: Any, key: str) -> None:
    """Free-form values (``env.kwargs``...): every float in them must be finite."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(
            f"{key}: expected a finite number, got {_show(value)} (NaN and infinities are refused)"
        )
    if isinstance(value, Mapping):
        for name, item in value.items():
            _check_finite_tree(item, _join(key, str(name)))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_finite_tree(item, f"{key}[{i}]")


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
        _check_finite_tree(value, key)
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
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_range(item, meta, f"{key}[{i}]")
        return
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
    limit = field.metadata.get("max_length")
    if limit is not None and isinstance(value, str) and len(value) > limit:
        raise ConfigError(f"{key}: expected at most {limit} characters, got {len(value)} ({_show(value)})")
    if field.metadata.get("path") and isinstance(value, str):
        problem = path_problem(value) if value.strip() else "expected a non-empty path"
        if problem:
            raise ConfigError(f"{key}: {problem}, got {_show(value)}")
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
        if field.metadata.get("max_length") is not None:
            type_text += f" (at most {field.metadata['max_length']} characters)"
        if field.default is not MISSING:
            default = _show(field.default)
        elif field.default_factory is not MISSING:
            default = _show(to_dict(field.default_factory()))
        else:
            default = "(required)"
        rows.append((key, type_text, default, field.metadata.get("help", "")))
    return rows
