"""Mutations of the shipped experiment and sweep files, for scripts/fuzz_configs.py.

Each generator yields :class:`Case` records: a mutated file text and/or ``key=value`` overrides, the
key the mutation targets, and whether the mutation is invalid by construction (``must_reject``): a
non-finite or 64-bit-overflowing number in a numeric key, a duplicate key, an unsafe YAML tag, a path
that leaves its root... Mutations that may or may not be valid (a negative number, a type swap, a
truncated file) have ``must_reject=False``; when they are accepted the driver checks the resolved config.
"""

from __future__ import annotations

import dataclasses
import random
import re
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from rlsuite.config import ExperimentConfig
from rlsuite.training.experiment import load_experiment


@dataclass
class Case:
    """One fuzz input."""

    category: str
    base: str  # the shipped file it mutates
    key: str  # the dotted key it targets ("" when none in particular)
    description: str
    must_reject: bool
    overrides: list[str] = field(default_factory=list)
    text: str | None = None  # mutated file text; None = the base file unchanged
    kind: str = "experiment"  # or "sweep"
    cli_ok: bool = True  # can go through a real command line (no NUL) and be built safely

    def argv(self) -> list[str]:
        return list(self.overrides)


# --- the keys of a config and their kinds --------------------------------------------------------
def leaf_kinds(cls: type, prefix: str = "") -> dict[str, str]:
    """Dotted key -> 'int' | 'float' | 'bool' | 'str' | 'seq_num' | 'seq_str' | 'map' | 'other'."""
    out: dict[str, str] = {}
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        key, tp = f"{prefix}{f.name}", hints[f.name]
        if dataclasses.is_dataclass(tp):
            out.update(leaf_kinds(tp, key + "."))
        else:
            out[key] = _kind(tp)
    return out


def _kind(tp: Any) -> str:
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    origin = typing.get_origin(tp)
    if origin in (typing.Union, __import__("types").UnionType) and len(args) == 1:
        return _kind(args[0])
    if tp in (int, float, bool, str):
        return tp.__name__
    if origin in (list, tuple):
        items = [a for a in typing.get_args(tp) if a is not Ellipsis]
        return "seq_num" if items and all(a in (int, float) for a in items) else "seq_str"
    if origin is dict or tp is dict:
        return "map"
    return "other"


def config_keys(path: str) -> dict[str, str]:
    """The kinds of every key of the experiment in ``path`` (its algorithm's section included)."""
    config = load_experiment(path)
    kinds = leaf_kinds(ExperimentConfig)
    kinds.pop("algo", None)
    kinds.update(leaf_kinds(type(config.algo), "algo."))
    return kinds


# --- value pools ---------------------------------------------------------------------------------
NON_FINITE = [".nan", ".inf", "-.inf", "1e309", "-1e309", "NaN", "-inf", ".NaN", "1e400"]
HUGE_INTS = [str(2**63), str(2**64), str(10**30), str(-(2**63) - 1), "9" * 5000]
MAYBE_NUMBERS = ["-1", "0", "-1e-9", "1e-320", "1e308", "3.5", "2147483648", "0x10", "1_000", "-0.0"]
WRONG_TYPES = ["abc", "[1, 2]", "{a: 1}", "true", "null", "'3'", "[]", "{}", "2001-12-14", "''"]
TAGS_UNSAFE = [
    "!!python/object/apply:os.system ['echo fuzz']",
    "!!python/name:os.system",
    "!!python/object:collections.OrderedDict {}",
    "!!python/tuple [1, 2]",
    "!<tag:yaml.org,2002:python/object/apply:subprocess.Popen> [['true']]",
]
TAGS_SAFE = [
    "!!binary aGVsbG8=",
    "!!timestamp 2001-12-14",
    "!!set {a, b}",
    "!!str 3",
    "!!int '7'",
    "!!float 1",
]


def _numeric(kind: str) -> bool:
    return kind in ("int", "float", "bool", "seq_num")


def _yaml_type(text: str) -> type:
    try:
        return type(yaml.safe_load(text))
    except yaml.YAMLError:
        return type(None)


# --- override mutations --------------------------------------------------------------------------
def override_cases(
    base: str, kinds: dict[str, str], env_kwargs: list[str], rng: random.Random, per_base: int
) -> Iterator[Case]:
    """``per_base`` override mutations of ``base`` (whose env takes ``env_kwargs``) from every category."""
    numeric = [k for k, v in kinds.items() if _numeric(v)]
    strings = [k for k, v in kinds.items() if v == "str"]
    makers = [
        lambda: _non_finite(base, kinds, rng.choice(numeric), rng),
        lambda: _huge(base, kinds, rng.choice([k for k in numeric if kinds[k] == "int"]), rng),
        lambda: _maybe_number(base, rng.choice(numeric), rng),
        lambda: _wrong_type(base, rng.choice(list(kinds)), rng),
        lambda: _unknown_key(base, kinds, rng),
        lambda: _seed(base, rng),
        lambda: _path_escape(base, rng),
        lambda: _override_syntax(base, rng),
        lambda: _long_string(base, rng.choice(strings), rng),
        lambda: _offline(base, rng),
        lambda: _env_kwarg_value(base, env_kwargs or ["max_episode_steps"], rng),
    ]
    hidden = [k for k in kinds if k.endswith("hidden_sizes")]
    if hidden:
        makers.append(lambda: _hidden(base, rng.choice(hidden), rng))
    offset = rng.randrange(len(makers))
    for i in range(per_base):
        yield makers[(offset + i) % len(makers)]()


def _non_finite(base: str, kinds: dict[str, str], key: str, rng: random.Random) -> Case:
    value = rng.choice(NON_FINITE)
    if kinds[key] == "seq_num":
        value = f"[{value}]"
    return Case("non-finite", base, key, f"{key}={value}", True, [f"{key}={value}"])


def _huge(base: str, kinds: dict[str, str], key: str, rng: random.Random) -> Case:
    value = rng.choice(HUGE_INTS)
    return Case("huge", base, key, f"{key}={value[:30]}", True, [f"{key}={value}"], cli_ok=len(value) < 100)


def _maybe_number(base: str, key: str, rng: random.Random) -> Case:
    value = rng.choice(MAYBE_NUMBERS)
    return Case("negative/edge", base, key, f"{key}={value}", False, [f"{key}={value}"], cli_ok=False)


def _wrong_type(base: str, key: str, rng: random.Random) -> Case:
    value = rng.choice(WRONG_TYPES)
    return Case("wrong-type", base, key, f"{key}={value}", False, [f"{key}={value}"], cli_ok=False)


def _unknown_key(base: str, kinds: dict[str, str], rng: random.Random) -> Case:
    key = rng.choice(
        [
            rng.choice(list(kinds)) + "x",
            "algo.lrr",
            "colour",
            "eval.bogus",
            "env.kwargs.no_such_option",
            "checkpoint.every",
            "algo.model.gpt.nope",
        ]
    )
    return Case("unknown-key", base, key, f"{key}=1", True, [f"{key}=1"])


def _seed(base: str, rng: random.Random) -> Case:
    value, bad = rng.choice(
        [
            *[("-1", True), (str(2**32), True), (str(2**64), True), ("1.5", True), ("x", True)],
            *[(".nan", True), (str(2**32 - 1), False), ("0", False), ("7", False)],
        ]
    )
    return Case("seed", base, "seed", f"seed={value}", bad, [f"seed={value}"])


PATH_ESCAPES = [
    ("experiment", "../x", True),
    ("experiment", "/tmp/abs", True),
    ("experiment", "..", True),
    ("experiment", ".", True),
    ("experiment", "a/b", True),
    ("experiment", "a\\\\b", True),
    ("experiment", "''", True),
    ("experiment", "ok-name.v2", False),
    ("run_dir", "../outside", True),
    ("run_dir", "runs/a/../../../b", True),
    ("run_dir", "runs/fine", False),
    ("runs_root", "x" * 300, True),
    ("runs_root", "/tmp/" + "y" * 5000, True),
    ("env.id", "rlsuite/" + "A" * 300, True),
    ("env.id", "../x", True),
    ("env.id", "rlsuite/../../x-v0", True),
    ("resume", "z" * 300, True),
    ("offline.dataset", "d" * 400 + ".hdf5", True),
]


def _path_escape(base: str, rng: random.Random) -> Case:
    key, value, bad = rng.choice(PATH_ESCAPES)
    if rng.random() < 0.1:  # a NUL byte (no command line can carry one)
        return Case("path", base, key, f"{key}=<with NUL>", True, [f"{key}=a\x00b"], cli_ok=False)
    return Case("path", base, key, f"{key}={value[:40]}", bad, [f"{key}={value}"])


OVERRIDE_SYNTAX = [
    "algo.lr",
    "=3",
    "algo..lr=1",
    ".algo=1",
    "a." * 200 + "b=1",
    "algo.lr=[1",
    "algo.lr={a: 1, a: 2}",
    "env.kwargs={x: 1, x: 2}",
    "algo.lr=*x",
    "env.kwargs=&a {b: *a}",
    "env.kwargs={x: " + "[" * 200 + "]" * 200 + "}",
    "algo.lr=!!python/object/apply:os.system ['echo fuzz']",
    "algo.lr=--- 1\n--- 2",
    "algo.lr=\t1: [",
    "algo.lr=1e-3 extra",
    "seed=1 2",
]


def _override_syntax(base: str, rng: random.Random) -> Case:
    item = rng.choice(OVERRIDE_SYNTAX)
    return Case("override-syntax", base, "", repr(item[:40]), True, [item], cli_ok="\t" not in item)


def _long_string(base: str, key: str, rng: random.Random) -> Case:
    n = rng.choice([200, 300, 5000, 200_000])
    is_path = key.endswith(("run_dir", "runs_root", "resume", "dataset", "init_from"))
    bad = key in ("experiment", "env.id") or (is_path and n > 255)  # a file name takes 255 bytes
    return Case("over-long", base, key, f"{key}=<{n} chars>", bad, [f"{key}={'q' * n}"], cli_ok=n < 100_000)


def _hidden(base: str, key: str, rng: random.Random) -> Case:
    value, bad = rng.choice(
        [
            *[("[0, 0]", True), ("[-1, 64]", True), ("[64, 0]", True), ("[1.5]", True), ("[a]", True)],
            *[("[.inf]", True), ("[64]", False), ("[]", False)],
        ]
    )
    return Case("hidden-sizes", base, key, f"{key}={value}", bad, [f"{key}={value}"])


def _env_kwarg_value(base: str, names: list[str], rng: random.Random) -> Case:
    """A known env keyword (the base's own, else max_episode_steps) given an odd value."""
    key = f"env.kwargs.{rng.choice(names)}"
    value = rng.choice(["abc", "-5", "0", "[1]", "{a: 1}", "null", "1e6", ".nan", "true"])
    bad = value == ".nan"
    return Case("env-kwargs-value", base, key, f"{key}={value}", bad, [f"{key}={value}"], cli_ok=bad)


def _offline(base: str, rng: random.Random) -> Case:
    key = rng.choice(["offline.dataset", "offline.init_from"])
    bad = "/offline/" not in base and "/so2/" not in base
    return Case("offline-section", base, key, f"{key}=data/x.hdf5", bad, [f"{key}=data/x.hdf5"], cli_ok=bad)


# --- file-text mutations -------------------------------------------------------------------------
_KEY_LINE = re.compile(r"^(\s*)([A-Za-z_][\w.]*):\s+([^#\s].*?)\s*(#.*)?$")


def text_cases(base: str, text: str, rng: random.Random, per_base: int) -> Iterator[Case]:
    lines = text.splitlines()
    keyed = [i for i, line in enumerate(lines) if _KEY_LINE.match(line)]
    numbers = [i for i in keyed if re.fullmatch(r"-?[\d.]+(e-?\d+)?", _KEY_LINE.match(lines[i]).group(3))]
    numbers = numbers or keyed
    makers = [
        lambda: _duplicate_line(base, lines, rng.choice(keyed)),
        lambda: _non_finite_text(base, lines, rng.choice(numbers), rng.choice(NON_FINITE)),
        lambda: _replace_value(base, lines, rng.choice(keyed), rng.choice(TAGS_UNSAFE), "unsafe-tag", True),
        lambda: _replace_value(base, lines, rng.choice(keyed), rng.choice(TAGS_SAFE), "safe-tag", False),
        lambda: _replace_value(base, lines, rng.choice(keyed), rng.choice(WRONG_TYPES), "wrong-type", False),
        lambda: _syntax(base, text, rng),
        lambda: _bomb(base, text, rng),
        lambda: _whole_file(base, rng),
        lambda: Case(
            "duplicate-key", base, "algo", "algo section twice", True, text=text + "\nalgo: {name: x}\n"
        ),
    ]
    offset = rng.randrange(len(makers))
    for i in range(per_base):
        yield makers[(offset + i) % len(makers)]()


def _dotted(lines: list[str], index: int) -> str:
    """The dotted key of the key line at ``index`` (from the indentation of the lines above)."""
    indent, name = len(_KEY_LINE.match(lines[index]).group(1)), _KEY_LINE.match(lines[index]).group(2)
    parts = [name]
    for line in reversed(lines[:index]):
        match = re.match(r"^(\s*)([A-Za-z_][\w.]*):", line)
        if match and len(match.group(1)) < indent:
            parts.insert(0, match.group(2))
            indent = len(match.group(1))
    return ".".join(parts)


def _duplicate_line(base: str, lines: list[str], index: int) -> Case:
    mutated = [*lines[: index + 1], lines[index], *lines[index + 1 :]]
    key = _dotted(lines, index)
    return Case("duplicate-key", base, key, f"{key} given twice", True, text="\n".join(mutated) + "\n")


def _non_finite_text(base: str, lines: list[str], index: int, value: str) -> Case:
    """A number in the file replaced by a non-finite one. Free-form keyword arguments (env.kwargs) take
    any string, so there only YAML's own non-finite floats (.nan, .inf) must be refused."""
    case = _replace_value(base, lines, index, value, "non-finite", True)
    if ".kwargs." in f".{case.key}." or case.key.startswith(("env.kwargs", "algo.kwargs")):
        case.must_reject = _yaml_type(value) is float
    return case


def _replace_value(base: str, lines: list[str], index: int, value: str, category: str, bad: bool) -> Case:
    match = _KEY_LINE.match(lines[index])
    mutated = list(lines)
    mutated[index] = f"{match.group(1)}{match.group(2)}: {value}"
    key = _dotted(lines, index)
    return Case(category, base, key, f"{key}: {value[:40]}", bad, text="\n".join(mutated) + "\n")


def _syntax(base: str, text: str, rng: random.Random) -> Case:
    choice = rng.randrange(5)
    if choice == 0:
        cut = rng.randrange(len(text))
        return Case("yaml-syntax", base, "", f"truncated at {cut}", False, text=text[:cut], cli_ok=False)
    if choice == 1:
        return Case("yaml-syntax", base, "", "tab indentation", False, text=text.replace("\n  ", "\n\t", 1))
    if choice == 2:
        return Case("yaml-syntax", base, "", "unclosed flow", True, text=text + "\nextra: [1, {a: 2\n")
    if choice == 3:
        return Case("yaml-syntax", base, "", "two documents", True, text=text + "\n---\nseed: 1\n")
    pos = rng.randrange(len(text))
    return Case(
        "yaml-syntax",
        base,
        "",
        f"':' inserted at {pos}",
        False,
        text=text[:pos] + ":" + text[pos:],
        cli_ok=False,
    )


def _bomb(base: str, text: str, rng: random.Random) -> Case:
    choice = rng.randrange(4)
    if choice == 0:
        levels = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"] + [
            f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)
        ]
        block = "\n    ".join(levels)
        return Case(
            "alias-bomb", base, "env.kwargs", "billion laughs", True, text=f"{text}\nbombs:\n    {block}\n"
        )
    if choice == 1:
        return Case(
            "alias-bomb", base, "", "recursive anchor", True, text=text + "\nloop: &loop [1, *loop]\n"
        )
    if choice == 2:
        depth = rng.choice([40, 500, 20_000])
        deep = "[" * depth + "]" * depth
        return Case("deep-nesting", base, "", f"{depth} nested lists", True, text=f"{text}\ndeep: {deep}\n")
    deep = "a: {" * 50 + "b: 1" + "}" * 50
    return Case("deep-nesting", base, "", "50 nested mappings", True, text=f"{text}\ndeep: {{{deep}}}\n")


def _whole_file(base: str, rng: random.Random) -> Case:
    text, description = rng.choice(
        [
            ("", "empty file"),
            ("# only a comment\n", "comment only"),
            ("- a\n- b\n", "a list"),
            ("42\n", "a number"),
            ("\x00\x01garbage", "control bytes"),
            ("\udcff", "unencodable text"),
        ]
    )
    return Case("whole-file", base, "", description, True, text=text, cli_ok=False)


# --- sweep mutations -----------------------------------------------------------------------------
SWEEP_MUTATIONS = [
    ("name", "..", True),
    ("name", ".", True),
    ("name", "../x", True),
    ("name", "ok.v2", False),
    ("label", "..", True),
    ("label", ".", True),
    ("label", "a/../b", False),
    ("label", "x" * 300, True),
    ("env", "..", True),
    ("seeds", [2**40], True),
    ("seeds", 10**9, True),
    ("seeds", [-1], True),
]


def sweep_cases(base: str, text: str, rng: random.Random, count: int) -> Iterator[Case]:
    data = yaml.safe_load(text)
    for i in range(count):
        key, value, bad = SWEEP_MUTATIONS[i % len(SWEEP_MUTATIONS)]
        mutated = yaml.safe_load(text)
        if key == "label":
            mutated["algorithms"][0] = {**_algo_entry(data["algorithms"][0]), "label": value}
        elif key == "env":
            mutated["envs"][0] = value
        else:
            mutated[key] = value
        shown = str(value)[:40]
        yield Case(
            "sweep",
            base,
            key,
            f"{key}={shown}",
            bad,
            text=yaml.safe_dump(mutated),
            kind="sweep",
            cli_ok=False,
        )
    yield Case(
        "sweep",
        base,
        "name",
        "name given twice",
        True,
        text=text + "\nname: again\n",
        kind="sweep",
        cli_ok=False,
    )


def _algo_entry(entry: Any) -> dict[str, Any]:
    return dict(entry) if isinstance(entry, dict) else {"name": entry}
