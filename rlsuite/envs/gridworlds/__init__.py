"""Grid worlds (Sokoban, Maze, Taxi) on numba-batched cores.

Each world has one core of ``@njit(cache=True)`` kernels over a batch of ``N`` envs and two faces on it: a
``gymnasium.vector.VectorEnv`` with same-step autoreset (``SokobanVectorEnv``, ``MazeVectorEnv``,
``TaxiVectorEnv``) and a single ``gymnasium.Env`` (``SokobanEnv``, ``MazeEnv``, ``TaxiEnv``). The text
forms for LLM agents live in :mod:`rlsuite.envs.text`. Modules load lazily: importing this package does
not compile anything.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "SokobanEnv": "sokoban",
    "SokobanVectorEnv": "sokoban",
    "parse_level": "sokoban",
    "MazeEnv": "maze",
    "MazeVectorEnv": "maze",
    "TaxiEnv": "taxi",
    "TaxiVectorEnv": "taxi",
    "solve_sokoban": "solvers",
    "maze_distances": "solvers",
    "taxi_shortest_path": "solvers",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
