"""The modules an experiment's ``imports:`` names (user env registrations), found from any folder.

``import_user_modules`` looks for each module on ``sys.path``, then in the working directory, then in
the given folders and their parents (the experiment file's folder when training from a file), so
``rlsuite train proj/experiments/gridland.yaml`` finds ``proj/mylab/envs.py`` from anywhere. The
folder each module was found in is written to the run folder (``imports.json``), and
``import_run_modules`` reads it back, so ``rlsuite eval RUN`` and ``resume=RUN`` work from any
folder too.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from rlsuite.config import ConfigError, load_yaml
from rlsuite.core.atomic import atomic_write_text

IMPORTS_FILE = "imports.json"
RUN_CONFIG_FILE = "config.yaml"


def _importable(top: str) -> bool:
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


def _holds(folder: Path, top: str) -> bool:
    return (folder / top).is_dir() or (folder / f"{top}.py").is_file()


def _candidates(search_dirs: Iterable[str | os.PathLike]) -> list[Path]:
    """The working directory, then every search folder followed by its parents (nearest first)."""
    folders = [Path.cwd()]
    for folder in search_dirs:
        folder = Path(folder).resolve()
        folders += [folder, *folder.parents]
    seen, ordered = set(), []
    for folder in folders:
        if folder not in seen:
            seen.add(folder)
            ordered.append(folder)
    return ordered


def module_root(module: str) -> Path | None:
    """The ``sys.path`` folder an imported module's top-level package was loaded from."""
    top = sys.modules.get(module.split(".")[0])
    if top is None:
        return None
    if getattr(top, "__file__", None):
        location = Path(top.__file__).resolve()
        return location.parent.parent if location.name == "__init__.py" else location.parent
    paths = list(getattr(top, "__path__", []))  # a namespace package
    return Path(paths[0]).resolve().parent if paths else None


def import_user_modules(
    modules: Sequence[str], search_dirs: Iterable[str | os.PathLike] = ()
) -> dict[str, str]:
    """Import ``modules``; return ``{module: folder it was found in}``.

    A module not importable as things stand is looked for in the working directory, then in each of
    ``search_dirs`` and its parents; the first folder holding its top-level package (or ``.py``) is
    put on ``sys.path``. A module found nowhere is a :class:`ConfigError` listing where it was sought.
    """
    folders = _candidates(search_dirs)
    found: dict[str, str] = {}
    for module in modules:
        top = module.split(".")[0]
        if not _importable(top):
            home = next((folder for folder in folders if _holds(folder, top)), None)
            if home is None:
                where = ", ".join(str(f) for f in folders[:4]) + (", ..." if len(folders) > 4 else "")
                raise ConfigError(
                    f"imports: cannot find module {module!r} on sys.path, in the working directory or "
                    f"beside the experiment file (searched {where}); run from the folder that holds "
                    f"'{top}' or add that folder to PYTHONPATH"
                )
            sys.path.insert(0, str(home))
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ConfigError(f"imports: cannot import {module!r} ({exc})") from exc
        root = module_root(module)
        if root is not None:
            found[module] = str(root)
    return found


def record_imports(run_dir: str | os.PathLike, found: dict[str, str]) -> None:
    """Write ``imports.json`` (module -> folder) into a run folder; nothing when there are none."""
    if found:
        atomic_write_text(Path(run_dir) / IMPORTS_FILE, json.dumps({"paths": found}, indent=2) + "\n")


def recorded_import_dirs(run_dir: str | os.PathLike) -> list[str]:
    """The folders ``imports.json`` recorded for a run (empty when it has none)."""
    path = Path(run_dir) / IMPORTS_FILE
    if not path.is_file():
        return []
    try:
        paths = json.loads(path.read_text()).get("paths", {})
    except (OSError, ValueError, AttributeError):
        return []
    return [str(folder) for folder in paths.values() if isinstance(folder, str)]


def import_run_modules(run_dir: str | os.PathLike) -> dict[str, str]:
    """Import what a run folder's ``config.yaml`` lists under ``imports:`` (eval, data collect...)."""
    run_dir = Path(run_dir)
    config_path = run_dir / RUN_CONFIG_FILE
    if not config_path.is_file():
        return {}
    modules = load_yaml(config_path).get("imports") or []
    if not isinstance(modules, list) or not modules:
        return {}
    return import_user_modules([str(m) for m in modules], [*recorded_import_dirs(run_dir), run_dir])
