"""Maze on a numba-batched core: ``MazeVectorEnv`` and ``MazeEnv``.

A ``size``-square (or ``(rows, cols)``) grid with border walls. ``kind="random"`` makes each interior cell a
wall with probability ``wall_density`` (reasoning-gym's maze design); ``kind="perfect"`` carves a perfect
maze (a spanning tree; odd sizes) with a randomised depth-first backtracker. Start and goal are distinct
free cells with the goal reachable at BFS distance at least ``min_distance`` (the generator retries until
one exists). The BFS distance is kept as ``optimal_length``.

Actions 0 up, 1 down, 2 left, 3 right (a move into a wall leaves the agent in place). Reward
``step_reward`` per step plus ``goal_reward`` on reaching the goal, which terminates (success);
``max_steps`` truncates. Observation: ``uint8[5, h, w]`` one-hot cell types (wall, floor, goal, agent,
agent on goal).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from numba import njit, types
from numba.experimental import structref

from rlsuite.envs.batched import KernelStateType
from rlsuite.envs.gridworlds import render as R
from rlsuite.envs.gridworlds._common import (
    GridCore,
    GridEnv,
    GridVectorEnv,
    check_positive_int,
    rand_float,
    rand_int,
    world_options,
)
from rlsuite.envs.gridworlds.solvers import bfs_grid

__all__ = ["KINDS", "MazeCore", "MazeEnv", "MazeVectorEnv"]

KINDS = ("random", "perfect")
NUM_CELL_TYPES = 5
MAX_TRIES = 1000
DR = np.array([-1, 1, 0, 0], dtype=np.int64)
DC = np.array([0, 0, -1, 1], dtype=np.int64)


# ---------------------------------------------------------------------------------------------------
@njit(cache=True)
def _carve_random(rng, i, walls, density):
    h, w = walls.shape
    for r in range(h):
        for c in range(w):
            border = r == 0 or c == 0 or r == h - 1 or c == w - 1
            walls[r, c] = 1 if border or rand_float(rng, i) < density else 0


@njit(cache=True)
def _carve_perfect(rng, i, walls):
    """Randomised depth-first backtracker over the odd-coordinate cells."""
    h, w = walls.shape
    walls[:] = 1
    ch, cw = (h - 1) // 2, (w - 1) // 2
    seen = np.zeros((ch, cw), dtype=np.bool_)
    stack = np.empty(ch * cw, dtype=np.int64)
    start = rand_int(rng, i, ch * cw)
    stack[0] = start
    top = 1
    seen[start // cw, start % cw] = True
    walls[2 * (start // cw) + 1, 2 * (start % cw) + 1] = 0
    options = np.empty(4, dtype=np.int64)
    while top > 0:
        cell = stack[top - 1]
        r, c = cell // cw, cell % cw
        k = 0
        for d in range(4):
            rr, cc = r + DR[d], c + DC[d]
            if 0 <= rr < ch and 0 <= cc < cw and not seen[rr, cc]:
                options[k] = d
                k += 1
        if k == 0:
            top -= 1
            continue
        d = options[rand_int(rng, i, k)]
        rr, cc = r + DR[d], c + DC[d]
        seen[rr, cc] = True
        walls[2 * r + 1 + DR[d], 2 * c + 1 + DC[d]] = 0
        walls[2 * rr + 1, 2 * cc + 1] = 0
        stack[top] = rr * cw + cc
        top += 1


@njit(cache=True)
def _pick(rng, i, flat, value, dist, min_dist):
    """A uniform cell with ``flat == value`` (and ``dist >= min_dist`` when ``dist`` is given); -1 if none."""
    count = 0
    for j in range(flat.size):
        if flat[j] == value and (dist.size == 0 or dist[j] >= min_dist):
            count += 1
    if count == 0:
        return -1
    k = rand_int(rng, i, count)
    for j in range(flat.size):
        if flat[j] == value and (dist.size == 0 or dist[j] >= min_dist):
            if k == 0:
                return j
            k -= 1
    return -1


@njit(cache=True)
def generate_maze(rng, i, walls, kind, density, min_dist, agent, goal, optimal):
    """Fill ``walls[i]`` and env ``i``'s start/goal; False if no maze was found in ``MAX_TRIES`` tries."""
    h, w = walls.shape[1], walls.shape[2]
    dist = np.empty(h * w, dtype=np.int64)
    none = np.empty(0, dtype=np.int64)
    for _ in range(MAX_TRIES):
        if kind == 0:
            _carve_random(rng, i, walls[i], density)
        else:
            _carve_perfect(rng, i, walls[i])
        flat = walls[i].ravel()
        start = _pick(rng, i, flat, 0, none, 0)
        if start < 0:
            continue
        bfs_grid(flat, w, start, dist)
        target = _pick(rng, i, flat, 0, dist, max(min_dist, 1))
        if target < 0:
            continue
        agent[i, 0], agent[i, 1] = start // w, start % w
        goal[i, 0], goal[i, 1] = target // w, target % w
        optimal[i] = dist[target]
        return True
    return False


@njit(cache=True)
def _write(i, walls, agent, goal, obs, j, masks, success):
    """Observation of env ``i`` into ``obs[j]``; action mask and success of env ``i``."""
    h, w = walls.shape[1], walls.shape[2]
    obs[j] = 0
    for r in range(h):
        for c in range(w):
            obs[j, 0 if walls[i, r, c] else 1, r, c] = 1
    ar, ac, gr, gc = agent[i, 0], agent[i, 1], goal[i, 0], goal[i, 1]
    obs[j, 1, gr, gc] = 0
    obs[j, 2, gr, gc] = 1
    obs[j, 1, ar, ac] = 0
    obs[j, 2, ar, ac] = 0
    obs[j, 4 if (ar == gr and ac == gc) else 3, ar, ac] = 1
    for d in range(4):
        rr, cc = ar + DR[d], ac + DC[d]
        masks[i, d] = 0 <= rr < h and 0 <= cc < w and walls[i, rr, cc] == 0
    success[i] = ar == gr and ac == gc


# The kernel state of a MazeCore: its arrays and settings, one numba value (see KernelState).
MAZE_STATE = KernelStateType(
    [
        ("walls", types.uint8[:, :, ::1]),
        ("agent", types.int64[:, ::1]),  # (row, col) per env
        ("goal", types.int64[:, ::1]),
        ("steps", types.int64[::1]),
        ("optimal", types.int64[::1]),  # BFS distance from the start to the goal
        ("rng", types.uint64[::1]),
        ("kind", types.int64),  # index into KINDS
        ("wall_density", types.float64),
        ("min_distance", types.int64),
        ("max_steps", types.int64),
        ("step_reward", types.float64),
        ("goal_reward", types.float64),
        ("observation", types.uint8[:, :, :, ::1]),  # the current observations (reset writes them)
        ("action_mask", types.int8[:, ::1]),  # info rows
        ("is_success", types.boolean[::1]),
        ("final_obs", types.uint8[:, :, :, ::1]),  # rows of the envs that finished on the last step
        ("final_action_mask", types.int8[:, ::1]),
        ("final_is_success", types.boolean[::1]),
        ("done_idx", types.int64[::1]),
    ]
)


@njit(cache=True)
def maze_state(
    walls,
    agent,
    goal,
    steps,
    optimal,
    rng,
    kind,
    wall_density,
    min_distance,
    max_steps,
    step_reward,
    goal_reward,
    observation,
    action_mask,
    is_success,
    final_obs,
    final_action_mask,
    final_is_success,
    done_idx,
):
    """Bundle a MazeCore's arrays (shared, not copied) and settings as its kernel state."""
    maze = structref.new(MAZE_STATE)
    maze.walls, maze.agent, maze.goal, maze.steps, maze.optimal, maze.rng = (
        walls,
        agent,
        goal,
        steps,
        optimal,
        rng,
    )
    maze.kind, maze.wall_density, maze.min_distance = kind, wall_density, min_distance
    maze.max_steps, maze.step_reward, maze.goal_reward = max_steps, step_reward, goal_reward
    maze.observation, maze.action_mask, maze.is_success = observation, action_mask, is_success
    maze.final_obs, maze.final_action_mask, maze.final_is_success = (
        final_obs,
        final_action_mask,
        final_is_success,
    )
    maze.done_idx = done_idx
    return maze


@njit(cache=True)
def _new_maze(maze, i):
    """Generate env ``i``'s next maze; False if none was found."""
    return generate_maze(
        maze.rng,
        i,
        maze.walls,
        maze.kind,
        maze.wall_density,
        maze.min_distance,
        maze.agent,
        maze.goal,
        maze.optimal,
    )


@njit(cache=True)
def reset_kernel(maze, mask):
    """New mazes in the masked envs; every env's observation and info rows rewritten. Returns failures."""
    walls, agent, goal = maze.walls, maze.agent, maze.goal
    failures = 0
    for i in range(mask.shape[0]):
        if mask[i]:
            failures += not _new_maze(maze, i)
            maze.steps[i] = 0
        _write(i, walls, agent, goal, maze.observation, i, maze.action_mask, maze.is_success)
    return failures


@njit(cache=True)
def step_kernel(maze, actions, autoreset, obs, rewards, terminated, truncated):
    """Move every agent (a wall blocks); same-step autoreset if ``autoreset``. Returns the finished count."""
    walls, agent, goal, steps = maze.walls, maze.agent, maze.goal, maze.steps
    masks, success = maze.action_mask, maze.is_success
    step_reward, goal_reward, max_steps = maze.step_reward, maze.goal_reward, maze.max_steps
    h, w = walls.shape[1], walls.shape[2]
    ndone = 0
    for i in range(actions.shape[0]):
        d = actions[i]
        rr, cc = agent[i, 0] + DR[d], agent[i, 1] + DC[d]
        if 0 <= rr < h and 0 <= cc < w and walls[i, rr, cc] == 0:
            agent[i, 0], agent[i, 1] = rr, cc
        won = agent[i, 0] == goal[i, 0] and agent[i, 1] == goal[i, 1]
        steps[i] += 1
        rewards[i] = step_reward + (goal_reward if won else 0.0)
        terminated[i] = won
        truncated[i] = steps[i] >= max_steps
        if (won or truncated[i]) and autoreset:
            _write(i, walls, agent, goal, maze.final_obs, ndone, masks, success)
            maze.final_action_mask[ndone] = masks[i]
            maze.final_is_success[ndone] = success[i]
            _new_maze(maze, i)
            steps[i] = 0
        if won or truncated[i]:
            maze.done_idx[ndone] = i
            ndone += 1
        _write(i, walls, agent, goal, obs, i, masks, success)
    return ndone


# ---------------------------------------------------------------------------------------------------
class MazeCore(GridCore):
    """The arrays of ``n`` mazes (walls, agent, goal, counters, BFS optimum) and their kernels."""

    num_actions = 4
    obs_dtype = np.uint8
    state_keys = ("walls", "agent", "goal", "steps", "optimal")
    world_keys = ("agent",)
    kernel_fields = frozenset((*state_keys, "_obs"))

    def __init__(
        self,
        n: int,
        size: Any,
        kind: str,
        wall_density: float,
        min_distance: int,
        max_steps: int,
        step_reward: float,
        goal_reward: float,
    ):
        h, w = (int(size), int(size)) if np.isscalar(size) else (int(size[0]), int(size[1]))
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if h < 3 or w < 3 or (kind == "perfect" and (h % 2 == 0 or w % 2 == 0)):
            raise ValueError(f"size must be >= 3 (odd for perfect mazes), got {size!r}")
        if not 0.0 <= wall_density < 1.0:
            raise ValueError(f"wall_density must be in [0, 1), got {wall_density!r}")
        self.h, self.w = h, w
        self.obs_shape = (NUM_CELL_TYPES, h, w)
        super().__init__(n)
        self.kind = KINDS.index(kind)
        self.density = float(wall_density)
        self.min_distance = int(min_distance)
        self.max_steps = check_positive_int("max_steps", max_steps)
        self.step_reward, self.goal_reward = float(step_reward), float(goal_reward)
        self.walls = np.zeros((n, h, w), dtype=np.uint8)
        self.agent = np.zeros((n, 2), dtype=np.int64)
        self.goal = np.zeros((n, 2), dtype=np.int64)
        self.steps = np.zeros(n, dtype=np.int64)
        self.optimal = np.zeros(n, dtype=np.int64)
        self._obs = np.zeros((n, *self.obs_shape), dtype=np.uint8)

    def _reset(self, mask: np.ndarray, options: dict[str, Any]) -> None:
        failures = reset_kernel(self.kernel_state, mask)
        if failures:
            raise RuntimeError("no maze with a reachable goal found; lower wall_density or min_distance")

    def _observe(self, out: np.ndarray) -> None:
        out[...] = self._obs

    def _kernel_state(self):
        return maze_state(
            self.walls,
            self.agent,
            self.goal,
            self.steps,
            self.optimal,
            self.rng,
            self.kind,
            self.density,
            self.min_distance,
            self.max_steps,
            self.step_reward,
            self.goal_reward,
            self._obs,
            self.info["action_mask"],
            self.info["is_success"],
            self.final_obs,
            self.final["action_mask"],
            self.final["is_success"],
            self.done_idx,
        )

    def _step(self, actions, autoreset, obs, rewards, terminated, truncated) -> int:
        return step_kernel(self.kernel_state, actions, autoreset, obs, rewards, terminated, truncated)

    def render(self, i: int, mode: str) -> Any:
        args = (self.walls[i], self.agent[i], self.goal[i])
        if mode == "rgb_array":
            return R.maze_rgb(*args)
        return R.maze_ansi(*args) if mode == "ansi" else R.maze_text(*args)


def _defaults(
    size: Any = 7,
    kind: str = "random",
    wall_density: float = 0.3,
    min_distance: int = 1,
    max_steps: int = 100,
    step_reward: float = -0.01,
    goal_reward: float = 1.0,
) -> dict[str, Any]:
    return dict(locals())


_DOC_KWARGS = """
    Keyword arguments: ``size=7`` (int or ``(rows, cols)``, border walls included), ``kind="random"`` or
    ``"perfect"``, ``wall_density=0.3`` (random mazes), ``min_distance=1`` (shortest start-goal path),
    ``max_steps=100``, ``step_reward=-0.01``, ``goal_reward=1.0``, ``render_mode``.
"""


class MazeVectorEnv(GridVectorEnv):
    __doc__ = "``num_envs`` mazes on one numba core (same-step autoreset).\n" + _DOC_KWARGS

    def __init__(self, num_envs: int = 1, render_mode: str | None = None, **kwargs: Any):
        core = MazeCore(check_positive_int("num_envs", num_envs), **world_options(_defaults, kwargs, "Maze"))
        self._setup(core, spaces.Box(0, 1, core.obs_shape, dtype=np.uint8), render_mode)


class MazeEnv(GridEnv):
    __doc__ = "One maze on the batched core's kernels.\n" + _DOC_KWARGS

    def __init__(self, render_mode: str | None = None, **kwargs: Any):
        core = MazeCore(1, **world_options(_defaults, kwargs, "Maze"))
        self._setup(core, spaces.Box(0, 1, core.obs_shape, dtype=np.uint8), render_mode)

    @property
    def walls(self) -> np.ndarray:
        return self._core.walls[0].astype(bool)

    @property
    def agent(self) -> tuple[int, int]:
        return int(self._core.agent[0, 0]), int(self._core.agent[0, 1])

    @property
    def goal(self) -> tuple[int, int]:
        return int(self._core.goal[0, 0]), int(self._core.goal[0, 1])

    @property
    def optimal_length(self) -> int:
        """BFS distance from the episode's start to the goal."""
        return int(self._core.optimal[0])
