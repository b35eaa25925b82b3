"""What ``rlsuite algos`` and ``rlsuite envs`` print: aligned tables with a header.

Columns are as wide as their widest cell, so they line up whatever the id lengths; on a terminal the
last column (descriptions) wraps under itself, and piped output (``| grep``) keeps one line per row.
"""

from __future__ import annotations

import difflib
import shutil
import sys
import textwrap
from collections.abc import Sequence

from rlsuite.config import ConfigError

# The sections every experiment file has besides ``algo``, in the order `rlsuite algos NAME` lists them.
COMMON_SECTIONS = ("env", "eval", "checkpoint", "log", "offline")


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]], width: int | None = None) -> str:
    """Left-aligned columns under a header; the last column wraps to ``width`` (None: never wraps).

    Every column but the last is as wide as its widest cell, so long ids never push a row out of
    line; the last column wraps under itself when the line would pass ``width``.
    """
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers[:-1])]
    indent = sum(widths) + 2 * len(widths)
    room = None if width is None else max(24, width - indent)
    lines = []
    for row in [tuple(headers), tuple("-" * len(h) for h in headers), *rows]:
        lead = "".join(cell.ljust(w + 2) for cell, w in zip(row[:-1], widths))
        last = textwrap.wrap(row[-1], room) if room and row[-1] else [row[-1]]
        lines.append((lead + last[0]).rstrip())
        lines += [(" " * indent + more).rstrip() for more in last[1:]]
    return "\n".join(lines)


def _width() -> int | None:
    """The terminal's width when printing to one; None (no wrapping) when piped."""
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else None


def _print(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    print(format_table(headers, rows, _width()))


# --- algorithms ------------------------------------------------------------------------------------
def algorithm_rows() -> list[tuple[str, str, str]]:
    """``(name, kind, description)`` of every registered algorithm."""
    from rlsuite.algos import algorithm_names, get_algorithm

    rows = []
    for name in algorithm_names():
        try:
            cls = get_algorithm(name)
        except ImportError as exc:  # a peer whose library is not installed
            rows.append((name, "-", f"unavailable: {exc}"))
            continue
        description = cls.description or _first_sentence(cls.__doc__ or "")
        rows.append((name, cls.capabilities.summary(), description))
    return rows


def _first_sentence(text: str) -> str:
    line = " ".join(text.strip().split())
    return line.split(". ")[0].rstrip(".")


def print_algorithms() -> None:
    _print(("name", "kind", "description"), algorithm_rows())
    print("\n`rlsuite algos NAME` lists one algorithm's config keys, and every other section's.")


def config_key_rows(algo_name: str) -> list[tuple[str, list[tuple[str, str, str, str]]]]:
    """``(section title, [(key, type, default, help), ...])`` for every key an experiment file takes."""
    from rlsuite.algos import get_algorithm
    from rlsuite.config import ExperimentConfig, describe

    cls = get_algorithm(algo_name)
    top, sections = [], {name: [] for name in COMMON_SECTIONS}
    for row in describe(ExperimentConfig):
        head = row[0].split(".")[0]
        if head == "algo":
            continue  # typed as Any at the top level; the algorithm's own section is listed below
        (sections[head] if head in sections else top).append(row)
    titled = [
        (f"algo ({cls.__name__}: {cls.description or algo_name})", describe(cls.config_cls, prefix="algo"))
    ]
    titled += [(name, sections[name]) for name in COMMON_SECTIONS if sections[name]]
    titled.append(("top level", top))
    return titled


def print_config_keys(algo_name: str) -> None:
    try:
        sections = config_key_rows(algo_name)
    except KeyError as exc:  # unknown name: the registry's message names the closest ones
        raise ConfigError(exc.args[0]) from None
    for index, (title, rows) in enumerate(sections):
        print(f"{chr(10) if index else ''}{title}")
        _print(("key", "type", "default", "meaning"), rows)


# --- environments ----------------------------------------------------------------------------------
def check_family(family: str | None) -> None:
    """Raise a :class:`ConfigError` naming the families when ``family`` is not one of them."""
    if family is None:
        return
    from rlsuite.envs.registry import _REGISTRY, _ensure_builtins

    _ensure_builtins()
    families = sorted({entry.family for entry in _REGISTRY.values()})
    if family in families:
        return
    close = difflib.get_close_matches(family, families, n=1, cutoff=0.5)
    hint = f"; did you mean '{close[0]}'?" if close else ";"
    raise ConfigError(f"--family: unknown family {family!r}{hint} families: {', '.join(families)}")


def env_rows(family: str | None = None) -> list[tuple[str, str, str, str, str]]:
    """``(id, family, agents, native vector, description)`` of the registered ids."""
    import rlsuite

    check_family(family)
    rows = []
    for env_id in rlsuite.list_envs(family):
        entry = rlsuite.spec(env_id)
        rows.append(
            (
                env_id,
                entry.family,
                "multi" if entry.multi_agent else "single",
                "yes" if entry.has_native_vector else "-",
                entry.description,
            )
        )
    return rows


def print_envs(family: str | None = None) -> None:
    rows = env_rows(family)
    _print(("id", "family", "agents", "native vector", "description"), rows)
    print(f"\n{len(rows)} ids. Plain Gymnasium ids (Acrobot-v1, ...) work wherever an id is accepted.")
