"""What the real-StarCraft II SMAC adapter needs and how it imports pysc2.

:func:`sc2_availability` lists exactly what is missing (the game and its build, the SMAC maps, pysc2), each
item with its fix; :func:`import_pysc2` imports what the adapter uses from pysc2 and s2clientprotocol with
the workarounds Python 3.11 and protobuf >= 4 need. Importing this module never needs pysc2. Setup:
docs/smac_sc2.md; the env itself is :class:`rlsuite.envs.smac.sc2.SC2StarCraft2Env`.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import platform
import random
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from rlsuite.envs.smac.maps import MapSpec, get_map

PIP_INSTALL = "pip install 'rlsuite[sc2]'"
DOCS = "docs/smac_sc2.md"
SMACV2_MAP_FILE = "32x32_flat"
# pysc2 refuses game builds older than 3.16.1 (build 55958).
MIN_BUILD = 55958

# SMAC's difficulty codes → s2clientprotocol Difficulty names.
DIFFICULTIES = {
    "1": "VeryEasy",
    "2": "Easy",
    "3": "Medium",
    "4": "MediumHard",
    "5": "Hard",
    "6": "Harder",
    "7": "VeryHard",
    "8": "CheatVision",
    "9": "CheatMoney",
    "A": "CheatInsane",
}


class SC2NotAvailableError(RuntimeError):
    """StarCraft II, the SMAC maps or pysc2 are missing; ``missing`` lists each item with its fix."""

    def __init__(self, map_name: str, missing: Sequence[str]) -> None:
        self.map_name = map_name
        self.missing = list(missing)
        items = "\n".join(f"  - {m}" for m in self.missing)
        super().__init__(
            f"the real-StarCraft II SMAC env for map {map_name!r} cannot run; missing:\n{items}\n"
            f"(the simulator needs none of this: rlsuite.envs.smac.env.StarCraft2Env; setup: {DOCS})"
        )


class SC2GameError(RuntimeError):
    """The game was found and started but did not behave (no websocket answer, a protocol failure...)."""


# ----- installation checks ---------------------------------------------------------------------------
def sc2_path() -> Path:
    """Where pysc2's Linux run config looks for the game: ``$SC2PATH``, else ``~/StarCraftII``."""
    return Path(os.path.expanduser(os.environ.get("SC2PATH") or "~/StarCraftII"))


def is_smacv2_map(map_name: str | MapSpec) -> bool:
    """SMACv2's ``10gen_<race>`` scenarios, which all play on ``32x32_flat.SC2Map``."""
    if isinstance(map_name, MapSpec):
        return map_name.map_type.endswith("_gen") or map_name.name.startswith("10gen_")
    return str(map_name).startswith("10gen_")


def map_file_name(map_name: str | MapSpec) -> str:
    """The ``.SC2Map`` file (without extension) under ``Maps/SMAC_Maps`` that a map is played on."""
    if is_smacv2_map(map_name):
        return SMACV2_MAP_FILE
    return map_name.name if isinstance(map_name, MapSpec) else str(map_name)


def _builds(versions: Path) -> list[int]:
    if not versions.is_dir():
        return []
    out = []
    for d in versions.iterdir():
        if d.name.startswith("Base") and d.name[4:].isdigit():
            out.append(int(d.name[4:]))
    return sorted(out)


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # ValueError: blocked with sys.modules[name] = None
        return False


def _pysc2_problems() -> list[str]:
    if not (_has_module("pysc2") and _has_module("s2clientprotocol")):
        return [
            f"pysc2 is not installed (module 'pysc2' not importable): {PIP_INSTALL} "
            "(pysc2 4.0.0 + s2clientprotocol; keep it out of environments that need pygame-ce)"
        ]
    try:
        import_pysc2()
    except Exception as exc:  # every failure is reported, with its cause
        return [f"pysc2 is installed but does not import: {type(exc).__name__}: {exc}"]
    return []


def sc2_availability(map_name: str | MapSpec = "3m", game_version: str | None = None) -> list[str]:
    """What is missing to play ``map_name`` in the real game: an empty list when everything is there.

    Checks, in order: pysc2 importable (with protobuf's pure-python backend, see :func:`import_pysc2`);
    the Linux platform; the game directory (``$SC2PATH`` or ``~/StarCraftII``); a game binary
    ``Versions/Base<build>/SC2_x64`` (the newest build is the one pysc2 runs when ``game_version`` is
    None); ``Libs/``; and ``Maps/SMAC_Maps/<map>.SC2Map`` (``32x32_flat.SC2Map`` for SMACv2 maps).
    Each item names the path and the fix.
    """
    name = map_name.name if isinstance(map_name, MapSpec) else str(map_name)
    if not isinstance(map_name, MapSpec) and not is_smacv2_map(name):
        get_map(name)  # an unknown name raises, listing the known maps
    missing = _pysc2_problems()
    if platform.system() != "Linux":
        missing.append(
            f"this adapter drives the Linux SC2 package; the platform is {platform.system()} "
            "(pysc2 itself also supports the Windows/macOS clients, untested here)"
        )
    root = sc2_path()
    source = "from SC2PATH" if os.environ.get("SC2PATH") else "SC2PATH is unset, so ~/StarCraftII"
    if not root.is_dir():
        missing.append(
            f"no StarCraft II directory at {root} ({source}): unpack the Linux package "
            "SC2.4.10.zip (password 'iagreetotheeula') there or set SC2PATH to its location"
        )
    versions = root / "Versions"
    builds = _builds(versions)
    if not builds:
        missing.append(
            f"no game binary {versions}/Base<build>/SC2_x64 (SC2 4.10 is "
            f"{versions}/Base75689/SC2_x64): the Versions/ folder of the Linux package"
        )
    else:
        candidates = [builds[-1]] if game_version is None else builds
        binaries = [versions / f"Base{b:05d}" / "SC2_x64" for b in candidates]
        present = [p for p in binaries if p.is_file()]
        if not present:
            which = "the newest build, the one pysc2 runs" if game_version is None else "any build"
            missing.append(
                f"no game binary at {binaries[-1]} ({which}): copy SC2_x64 from the Linux "
                "package, or remove the empty Base* folder"
            )
        elif not any(os.access(p, os.X_OK) for p in present):
            missing.append(f"{present[-1]} is not executable: chmod +x {present[-1]}")
        if builds[-1] < MIN_BUILD:
            missing.append(
                f"build {builds[-1]} in {versions} is older than 3.16.1 ({MIN_BUILD}); pysc2 "
                "refuses it: install SC2 4.10 (Base75689)"
            )
    libs = root / "Libs"
    if not libs.is_dir():
        missing.append(
            f"no {libs}/ (the game's shared libraries, put on LD_LIBRARY_PATH by pysc2): the "
            "Libs/ folder of the Linux package"
        )
    map_path = root / "Maps" / "SMAC_Maps" / f"{map_file_name(map_name)}.SC2Map"
    if not map_path.is_file():
        if is_smacv2_map(map_name):
            source = (
                "SMACv2's map: copy it from SMAC_Maps.zip (oxwhirl/smacv2 releases, tag 'maps') or the "
                "smacv2 repo's smacv2/env/starcraft2/maps/SMAC_Maps/"
            )
        else:
            source = (
                "the SMAC map: copy it from SMAC_Maps.zip (oxwhirl/smac releases) or the smac repo's "
                "smac/env/starcraft2/maps/SMAC_Maps/"
            )
        missing.append(f"no {map_path} ({source} into {root}/Maps/SMAC_Maps/)")
    return missing


# ----- pysc2 import (protobuf, absl flags, Python 3.11) --------------------------------------------
def _fixed_shuffle(x: list) -> None:
    """``random.shuffle(x, lambda: 0.5)`` as Python < 3.11 computed it (the ``random`` argument is gone)."""
    for i in reversed(range(1, len(x))):
        j = int(0.5 * (i + 1))
        x[i], x[j] = x[j], x[i]


def _patch_pysc2_colors() -> None:
    """pysc2 4.0.0 ``lib/colors.py:shuffled_hue`` calls ``random.shuffle(palette, lambda: 0.5)``: a
    TypeError on Python >= 3.11, raised when ``pysc2.lib.features`` is imported (fixed upstream, never
    released). The SMAC path does not import it, but anything else using pysc2 in this process would;
    replace the function by the same fixed shuffle (idempotent)."""
    if "random" in inspect.signature(random.Random.shuffle).parameters:
        return  # Python < 3.11: the original works
    colors = importlib.import_module("pysc2.lib.colors")
    if getattr(colors.shuffled_hue, "_rlsuite_patched", False):
        return

    def shuffled_hue(scale):
        palette = list(colors.smooth_hue_palette(scale))
        _fixed_shuffle(palette)
        return np.array(palette)

    shuffled_hue._rlsuite_patched = True  # type: ignore[attr-defined]
    colors.shuffled_hue = shuffled_hue


def _parse_absl_flags() -> None:
    """pysc2 reads absl flags (``sc2_run_config``, ``sc2_version``, ``sc2_port``, ``sc2_timeout``...).
    Outside ``absl.app.run`` nothing parses them and the first read raises ``UnparsedFlagAccessError``
    (smac #126, pysc2 #317). Parse an empty command line (defaults) unless someone already parsed."""
    from absl import flags

    if not flags.FLAGS.is_parsed():
        flags.FLAGS(["rlsuite"], known_only=True)


_PYSC2: SimpleNamespace | None = None


def import_pysc2() -> SimpleNamespace:
    """Import what the adapter uses from pysc2 / s2clientprotocol, with the three workarounds applied."""
    global _PYSC2
    if _PYSC2 is not None:
        return _PYSC2
    # pysc2 4.0.0 and s2clientprotocol ship protobuf files generated by an old protoc; protobuf >= 4
    # refuses them ("Descriptors cannot be created directly") unless the pure-python backend is used.
    # The backend is fixed when google.protobuf is first imported, so set it only if the user did not
    # choose one; if protobuf is already loaded with another backend, the import below fails and the
    # message says what to do.
    os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")
    try:
        with warnings.catch_warnings():  # the pure-python backend flags every old-style descriptor
            warnings.simplefilter("ignore", DeprecationWarning)
            from pysc2 import run_configs
            from pysc2.lib import protocol, remote_controller, sc_process
            from pysc2.maps import lib as maps_lib
            from s2clientprotocol import common_pb2, debug_pb2, raw_pb2, sc2api_pb2
    except TypeError as exc:
        backend = "unknown"
        try:
            from google.protobuf.internal import api_implementation

            backend = api_implementation.Type()
        except Exception:
            pass
        first = (str(exc).strip().splitlines() or [""])[0]
        raise ImportError(
            f"{first} — protobuf's backend is {backend!r} but pysc2's generated files need the pure-python "
            "one: export PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python before starting Python (or call "
            "rlsuite.envs.smac.sc2.import_pysc2() before anything else imports protobuf, e.g. "
            "tensorboard)"
        ) from exc
    _patch_pysc2_colors()
    _parse_absl_flags()
    _PYSC2 = SimpleNamespace(
        run_configs=run_configs,
        protocol=protocol,
        remote_controller=remote_controller,
        sc_process=sc_process,
        maps_lib=maps_lib,
        sc_common=common_pb2,
        sc_pb=sc2api_pb2,
        r_pb=raw_pb2,
        d_pb=debug_pb2,
    )
    return _PYSC2
