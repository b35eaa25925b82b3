"""Multi-turn text interfaces for LLM agents over the grid worlds (RAGEN-style prompts and answers).

:class:`~rlsuite.envs.text.textworld.TextWorldEnv` is one ``gymnasium.Env`` with ``Text`` spaces shared by
every world; :mod:`rlsuite.envs.text.adapters` plugs in Sokoban, Maze and Taxi; :mod:`.parsing` turns
replies into actions.
"""

from rlsuite.envs.text.adapters import MazeTextEnv, SokobanTextEnv, TaxiTextEnv
from rlsuite.envs.text.parsing import ActionParser, ParseResult
from rlsuite.envs.text.textworld import TextWorldEnv, WorldAdapter

__all__ = [
    "ActionParser",
    "MazeTextEnv",
    "ParseResult",
    "SokobanTextEnv",
    "TaxiTextEnv",
    "TextWorldEnv",
    "WorldAdapter",
]
