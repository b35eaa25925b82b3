"""Run code written for oxwhirl/smac on the simulator without changing it.

    from rlsuite.envs.smac.compat import install_smac_alias
    install_smac_alias()                      # before the SMAC-based code imports smac
    from smac.env import StarCraft2Env        # the simulator's StarCraft2Env
    from smac.env.starcraft2.maps import get_map_params

:func:`install_smac_alias` registers modules named as SMAC's (``smac``, ``smac.env``,
``smac.env.multiagentenv``, ``smac.env.starcraft2``, ``smac.env.starcraft2.starcraft2``,
``smac.env.starcraft2.maps``) whose public names are the simulator's: ``StarCraft2Env``, ``MultiAgentEnv``,
``Direction``, ``get_map_params`` and the map registry. PyMARL-family code and SMAC's own PettingZoo wrapper
(``smac/env/pettingzoo/StarCraft2PZEnv.py``, loaded from its file) then run on the simulator. It refuses to
shadow a real smac installation unless asked to.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType
from typing import Any

from rlsuite.envs.smac.env import StarCraft2Env
from rlsuite.envs.smac.maps import MAPS, get_map
from rlsuite.envs.smac.multiagentenv import MultiAgentEnv
from rlsuite.envs.smac.records import Direction

ALIAS_MODULES = (
    "smac",
    "smac.env",
    "smac.env.multiagentenv",
    "smac.env.starcraft2",
    "smac.env.starcraft2.starcraft2",
    "smac.env.starcraft2.maps",
    "smac.env.starcraft2.maps.smac_maps",
)
_MARK = "__rlsuite_alias__"


def get_map_params(map_name: str) -> dict[str, Any]:
    """SMAC's map parameters: ``n_agents``, ``n_enemies``, ``limit``, ``a_race``, ``b_race``,
    ``unit_type_bits``, ``map_type``."""
    spec = get_map(map_name)
    return {
        "n_agents": spec.n_agents,
        "n_enemies": spec.n_enemies,
        "limit": spec.episode_limit,
        "a_race": spec.ally_race,
        "b_race": spec.enemy_race,
        "unit_type_bits": spec.unit_type_bits,
        "map_type": spec.map_type,
    }


def get_smac_map_registry() -> dict[str, dict[str, Any]]:
    """Every map's parameters by name (SMAC's ``smac_maps.get_smac_map_registry()``)."""
    return {name: get_map_params(name) for name in MAPS}


def _module(name: str, **attributes: Any) -> ModuleType:
    module = ModuleType(name, f"rlsuite's simulator under SMAC's module name {name!r}")
    module.__path__ = []  # a package, so submodules import
    setattr(module, _MARK, True)
    for key, value in attributes.items():
        setattr(module, key, value)
    return module


def install_smac_alias(*, replace_installed: bool = False) -> None:
    """Make ``import smac ...`` give the simulator (see the module docstring). Raises if a real smac is
    installed or already imported, unless ``replace_installed=True`` (this process only)."""
    loaded = sys.modules.get("smac")
    if loaded is not None and getattr(loaded, _MARK, False):
        return
    real = loaded is not None or importlib.util.find_spec("smac") is not None
    if real and not replace_installed:
        raise RuntimeError(
            "a real smac package is installed (or imported); install_smac_alias would hide it in this "
            "process. Pass replace_installed=True to run SMAC-based code on the simulator anyway."
        )
    maps = _module(
        "smac.env.starcraft2.maps",
        get_map_params=get_map_params,
        smac_maps=_module("smac.env.starcraft2.maps.smac_maps", get_smac_map_registry=get_smac_map_registry),
    )
    starcraft2 = _module("smac.env.starcraft2.starcraft2", StarCraft2Env=StarCraft2Env, Direction=Direction)
    multiagentenv = _module("smac.env.multiagentenv", MultiAgentEnv=MultiAgentEnv)
    env = _module(
        "smac.env",
        StarCraft2Env=StarCraft2Env,
        MultiAgentEnv=MultiAgentEnv,
        multiagentenv=multiagentenv,
        starcraft2=_module("smac.env.starcraft2", starcraft2=starcraft2, maps=maps),
    )
    modules = {
        "smac": _module("smac", env=env),
        "smac.env": env,
        "smac.env.multiagentenv": multiagentenv,
        "smac.env.starcraft2": env.starcraft2,
        "smac.env.starcraft2.starcraft2": starcraft2,
        "smac.env.starcraft2.maps": maps,
        "smac.env.starcraft2.maps.smac_maps": maps.smac_maps,
    }
    for name in [m for m in sys.modules if m == "smac" or m.startswith("smac.")]:
        del sys.modules[name]
    sys.modules.update(modules)


def remove_smac_alias() -> None:
    """Undo :func:`install_smac_alias` (modules loaded under ``smac.`` from files are dropped too)."""
    if not getattr(sys.modules.get("smac"), _MARK, False):
        return
    for name in [m for m in sys.modules if m == "smac" or m.startswith("smac.")]:
        del sys.modules[name]
