"""Per-world adapters for :class:`~rlsuite.envs.text.textworld.TextWorldEnv` and the three text envs.

``SokobanTextEnv``, ``MazeTextEnv`` and ``TaxiTextEnv`` take the text-interface options (``max_turns``,
``max_actions_per_turn``, ``max_actions_per_episode``, ``format_penalty``, ``think``, ``separator``,
``max_response_words``, ``prompt_style``, ``render_mode``) plus the world's own keyword arguments (e.g.
``dim_room``, ``num_boxes`` for Sokoban; ``size``, ``kind``, ``wall_density`` for Maze; ``is_rainy`` for
Taxi).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from rlsuite.envs.text.textworld import TextWorldEnv, WorldAdapter

__all__ = ["MazeAdapter", "MazeTextEnv", "SokobanAdapter", "SokobanTextEnv", "TaxiAdapter", "TaxiTextEnv"]

_MOVES = ("Up", "Down", "Left", "Right")


class SokobanAdapter(WorldAdapter):
    """RAGEN's Sokoban presentation: symbols ``# _ O √ X P S`` and actions Up/Down/Left/Right."""

    name = "Sokoban"
    action_names = _MOVES
    aliases = {"north": 0, "south": 1, "west": 2, "east": 3}  # noqa: RUF012
    instructions = (
        "You are solving the Sokoban puzzle. You are the player and you need to push all boxes to targets. "
        "When you are right next to a box, you can push it by moving in the same direction. "
        "You cannot push a box through a wall, and you cannot pull a box."
    )
    legend = "#: wall, _: empty, O: target, √: box on target, X: box, P: player, S: player on target"
    example = "Right || Right || Up"
    brief = (
        "push every box X onto a target O (# wall, _ floor, P player, S player on target, √ box on target)."
    )

    def __init__(self, solver_max_states: int = 200_000):
        self.solver_max_states = solver_max_states

    def make_world(self, **kwargs: Any) -> gym.Env:
        from rlsuite.envs.gridworlds.sokoban import SokobanEnv

        return SokobanEnv(**{**kwargs, "full_action_space": False})

    def optimal_length(self, world: gym.Env) -> int:
        from rlsuite.envs.gridworlds.solvers import sokoban_optimal_length

        length = sokoban_optimal_length(world.room_fixed, world.room_state, self.solver_max_states)
        return length if length >= 0 else -1

    def optimal_plan(self, world: gym.Env) -> list[int] | None:
        from rlsuite.envs.gridworlds.solvers import solve_sokoban

        return solve_sokoban(world.room_fixed, world.room_state, self.solver_max_states)


class MazeAdapter(WorldAdapter):
    """A maze with ``#`` walls, ``_`` floor, ``P`` player and ``G`` goal; actions Up/Down/Left/Right."""

    name = "Maze"
    action_names = _MOVES
    aliases = {"north": 0, "south": 1, "west": 2, "east": 3}  # noqa: RUF012
    instructions = (
        "You are in a maze. Move the player to the goal. Each action moves the player one cell; "
        "you cannot walk through walls (a move into a wall does nothing)."
    )
    legend = "#: wall, _: empty, G: goal, P: player"
    example = "Down || Down || Right"
    brief = "move P to G (# wall, _ floor)."

    def make_world(self, **kwargs: Any) -> gym.Env:
        from rlsuite.envs.gridworlds.maze import MazeEnv

        return MazeEnv(**kwargs)

    def optimal_length(self, world: gym.Env) -> int:
        return world.optimal_length

    def optimal_plan(self, world: gym.Env) -> list[int] | None:
        from rlsuite.envs.gridworlds.solvers import maze_distances

        dist = maze_distances(world.walls, world.goal)
        (row, col), plan = world.agent, []
        if dist[row, col] < 0:
            return None
        while dist[row, col] > 0:  # step to any neighbour one BFS step closer (first in action order)
            for action, (dr, dc) in enumerate(((-1, 0), (1, 0), (0, -1), (0, 1))):
                if dist[row + dr, col + dc] == dist[row, col] - 1:
                    plan.append(action)
                    row, col = row + dr, col + dc
                    break
        return plan


class TaxiAdapter(WorldAdapter):
    """Gymnasium's Taxi map with the taxi drawn as ``T``; actions South/North/East/West/Pickup/Dropoff."""

    name = "Taxi"
    action_names = ("South", "North", "East", "West", "Pickup", "Dropoff")
    aliases = {"down": 0, "up": 1, "right": 2, "left": 3, "pick up": 4, "drop off": 5}  # noqa: RUF012
    instructions = (
        "You drive a taxi on a 5x5 grid with four depots R, G, Y and B. Drive to the passenger, pick them "
        "up, drive to the destination depot and drop them off. South moves down, North up, East right and "
        "West left. Each action costs -1; a delivery earns +20; Pickup or Dropoff in the wrong place "
        "costs -10."
    )
    legend = "T: taxi, R/G/Y/B: depots, |: wall (cannot be crossed), :: open passage, +/-: border"
    example = "North || North || West"
    brief = "drive T to the passenger, Pickup, drive to the destination, Dropoff (| wall)."

    def make_world(self, **kwargs: Any) -> gym.Env:
        from rlsuite.envs.gridworlds.taxi import TaxiEnv

        return TaxiEnv(**kwargs)

    def optimal_length(self, world: gym.Env) -> int:
        from rlsuite.envs.gridworlds.solvers import taxi_shortest_path

        path = taxi_shortest_path(world.s)
        return -1 if path is None else len(path)

    def optimal_plan(self, world: gym.Env) -> list[int] | None:
        from rlsuite.envs.gridworlds.solvers import taxi_shortest_path

        return taxi_shortest_path(world.s)


class SokobanTextEnv(TextWorldEnv):
    """Sokoban as a multi-turn text env (RAGEN's SimpleSokoban defaults: 6x6, one box)."""

    def __init__(self, **kwargs: Any):
        super().__init__(SokobanAdapter(), **kwargs)


class MazeTextEnv(TextWorldEnv):
    """Maze as a multi-turn text env."""

    def __init__(self, **kwargs: Any):
        super().__init__(MazeAdapter(), **kwargs)


class TaxiTextEnv(TextWorldEnv):
    """Taxi as a multi-turn text env (defaults: 5 turns, 5 actions per turn, 20 actions per episode)."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("max_actions_per_episode", 20)
        super().__init__(TaxiAdapter(), **kwargs)
