"""Maze: BFS distances, generated mazes (goal reachable, stored optimum = BFS, perfect mazes are trees),
dynamics, rewards, truncation and seeding."""

from __future__ import annotations

import numpy as np
import pytest

from rlsuite.envs.gridworlds.maze import MazeEnv, MazeVectorEnv
from rlsuite.envs.gridworlds.solvers import maze_distances

DIRS = ((-1, 0), (1, 0), (0, -1), (0, 1))


def grid(text: str) -> np.ndarray:
    return np.array([[ch == "#" for ch in row] for row in text.splitlines()])


def greedy_path(dist_to_goal: np.ndarray, start: tuple[int, int]) -> list[int]:
    """Actions that walk down the distance field to the goal."""
    path, (r, c) = [], start
    while dist_to_goal[r, c] > 0:
        for a, (dr, dc) in enumerate(DIRS):
            if dist_to_goal[r + dr, c + dc] == dist_to_goal[r, c] - 1:
                path.append(a)
                r, c = r + dr, c + dc
                break
    return path


def test_bfs_distances_on_a_hand_made_grid():
    walls = grid("#######\n#  #  #\n# ## ##\n#     #\n#######")
    dist = maze_distances(walls, (1, 1))
    assert dist[1, 1] == 0 and dist[1, 2] == 1 and dist[3, 1] == 2
    assert dist[1, 4] == 7  # down, down, right x3, up, up
    assert dist[3, 5] == 6 and dist[1, 5] == 8
    assert dist[0, 0] == -1 and (dist[walls] == -1).all()
    island = grid("#####\n# # #\n#####")
    assert maze_distances(island, (1, 1))[1, 3] == -1


@pytest.mark.parametrize("kind,size", [("random", 7), ("random", (6, 9)), ("perfect", 9)])
def test_generated_mazes_have_a_reachable_goal_at_the_stored_optimum(kind, size):
    env = MazeEnv(kind=kind, size=size, min_distance=3)
    for seed in range(20):
        obs, info = env.reset(seed=seed)
        walls, start, goal = env.walls, env.agent, env.goal
        assert walls[0].all() and walls[-1].all() and walls[:, 0].all() and walls[:, -1].all()
        dist = maze_distances(walls, goal)
        assert dist[start] == env.optimal_length >= 3
        assert obs[3][start] == 1 and obs[2][goal] == 1 and (obs.sum(axis=0) == 1).all()
        path = greedy_path(dist, start)
        total = 0.0
        for t, a in enumerate(path):
            assert info["action_mask"][a] == 1
            _, r, term, trunc, info = env.step(a)
            total += r
            assert term == (t == len(path) - 1) and not trunc
        assert info["is_success"] and total == pytest.approx(1.0 - 0.01 * len(path))


def test_perfect_mazes_are_spanning_trees():
    env = MazeEnv(kind="perfect", size=(9, 11))
    for seed in range(10):
        env.reset(seed=seed)
        free = ~env.walls
        edges = (free[1:, :] & free[:-1, :]).sum() + (free[:, 1:] & free[:, :-1]).sum()
        assert edges == free.sum() - 1  # connected (checked below) and acyclic
        assert (maze_distances(env.walls, env.agent)[free] >= 0).all()
        assert free.sum() == 2 * 4 * 5 - 1


def test_walls_block_and_truncation():
    env = MazeEnv(size=5, wall_density=0.0, max_steps=4)
    seed = 0
    while env.reset(seed=seed) and env.goal[1] == env.agent[1]:
        seed += 1  # moving up must not reach the goal
    col = env.agent[1]
    for t in range(4):  # walk into the top wall: the agent stops at row 1 and stays put
        _, reward, term, trunc, info = env.step(0)
        assert reward == pytest.approx(-0.01) and not term and trunc == (t == 3)
    assert env.agent == (1, col) and info["action_mask"][0] == 0


def test_seeds_reproduce_and_density_changes_walls():
    a = MazeVectorEnv(num_envs=4)
    b = MazeVectorEnv(num_envs=4)
    oa, _ = a.reset(seed=7)
    ob, _ = b.reset(seed=7)
    np.testing.assert_array_equal(oa, ob)
    assert len({o.tobytes() for o in oa}) == 4
    single = MazeEnv()
    np.testing.assert_array_equal(single.reset(seed=9)[0], oa[2])
    sparse, dense = MazeEnv(size=15, wall_density=0.1), MazeEnv(size=15, wall_density=0.4)
    sparse.reset(seed=0)
    dense.reset(seed=0)
    assert sparse.walls[1:-1, 1:-1].mean() < dense.walls[1:-1, 1:-1].mean()


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="odd"):
        MazeEnv(kind="perfect", size=8)
    with pytest.raises(ValueError, match="kind"):
        MazeEnv(kind="spiral")
    with pytest.raises(ValueError, match="wall_density"):
        MazeEnv(wall_density=1.0)
    with pytest.raises(RuntimeError, match="reachable goal"):
        MazeEnv(size=5, min_distance=50).reset(seed=0)
