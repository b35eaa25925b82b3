"""Sokoban: generated levels are solvable with boxes off target, the BFS solver is optimal (hand-counted
levels and an independent pure-Python BFS), gym-sokoban's dynamics and rewards, seeding, pools."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest

from rlsuite.envs.gridworlds.sokoban import SokobanEnv, SokobanVectorEnv, level_text, parse_level
from rlsuite.envs.gridworlds.solvers import sokoban_optimal_length, solve_sokoban

# (level, fewest moves) counted by hand
HAND_LEVELS = [
    ("#####\n#@$.#\n#####", 1),
    ("######\n#@ $.#\n######", 2),
    # push left, then walk up-left round the box and push it down
    ("#######\n#     #\n# $@  #\n#.    #\n#######", 4),
    # the box must be pushed right twice, then the player walks round to push it up
    ("######\n#   .#\n#@$  #\n#    #\n######", 5),
]
DIRS = ((-1, 0), (1, 0), (0, -1), (0, 1))


def python_bfs(fixed: np.ndarray, state: np.ndarray, limit: int = 200_000) -> int:
    """Plain BFS over (player, frozenset(boxes)) with no pruning: the fewest moves, or -1."""
    h, w = fixed.shape
    player = tuple(np.argwhere(state == 5)[0])
    boxes = frozenset(map(tuple, np.argwhere((state == 3) | (state == 4))))
    targets = frozenset(map(tuple, np.argwhere(fixed == 2)))
    start = (player, boxes)
    seen, queue = {start}, deque([(start, 0)])
    while queue:
        (p, bs), depth = queue.popleft()
        if bs == targets:
            return depth
        for dr, dc in DIRS:
            n = (p[0] + dr, p[1] + dc)
            if not (0 <= n[0] < h and 0 <= n[1] < w) or fixed[n] == 0:
                continue
            nbs = bs
            if n in bs:
                b = (n[0] + dr, n[1] + dc)
                if not (0 <= b[0] < h and 0 <= b[1] < w) or fixed[b] == 0 or b in bs:
                    continue
                nbs = (bs - {n}) | {b}
            if (n, nbs) not in seen:
                seen.add((n, nbs))
                queue.append(((n, nbs), depth + 1))
        assert len(seen) < limit
    return -1


def play(env: SokobanEnv, actions: list[int]) -> tuple[float, bool]:
    total, terminated = 0.0, False
    for a in actions:
        _, r, terminated, _, info = env.step(a)
        total += r
    return total, terminated and info["is_success"]


@pytest.mark.parametrize("text,moves", HAND_LEVELS)
def test_solver_is_optimal_on_hand_levels(text, moves):
    fixed, state = parse_level(text)
    solution = solve_sokoban(fixed, state)
    assert solution is not None and len(solution) == moves
    assert python_bfs(fixed, state) == moves
    env = SokobanEnv(levels=[text])
    env.reset(seed=0)
    assert play(env, solution)[1]


def test_solver_reports_unsolvable_and_solved_levels():
    corner = "#####\n#$  #\n#  .#\n# @ #\n#####"
    assert solve_sokoban(*parse_level(corner)) is None
    assert sokoban_optimal_length(*parse_level(corner)) == -1
    assert solve_sokoban(*parse_level("#####\n#@* #\n#####")) == []


@pytest.mark.parametrize("dim_room,num_boxes", [((6, 6), 1), ((7, 7), 2), ((8, 8), 2)])
def test_generated_levels_are_solvable_with_boxes_off_target(dim_room, num_boxes):
    env = SokobanEnv(dim_room=dim_room, num_boxes=num_boxes)
    for seed in range(12):
        env.reset(seed=seed)
        fixed, state = env.room_fixed, env.room_state
        assert (state == 4).sum() == num_boxes and (state == 3).sum() == 0  # every box off its target
        assert (fixed == 2).sum() == num_boxes and (state == 5).sum() == 1
        assert (fixed[[0, -1], :] == 0).all() and (fixed[:, [0, -1]] == 0).all()
        solution = solve_sokoban(fixed, state)
        assert solution is not None and len(solution) > 0
        if seed < 4:
            assert len(solution) == python_bfs(fixed, state)
        total, solved = play(env, solution)
        assert solved
        assert total == pytest.approx(-0.1 * len(solution) + num_boxes + 10.0)


def test_seeded_levels_reproduce_and_differ_across_seeds():
    a, b = SokobanEnv(), SokobanEnv()
    levels = set()
    for seed in range(10):
        oa, _ = a.reset(seed=seed)
        ob, _ = b.reset(seed=seed)
        np.testing.assert_array_equal(oa, ob)
        levels.add(level_text(a.room_fixed, a.room_state))
    assert len(levels) >= 8
    v = SokobanVectorEnv(num_envs=3)
    obs, _ = v.reset(seed=5)
    for i in range(3):
        np.testing.assert_array_equal(obs[i], a.reset(seed=5 + i)[0])


def test_rewards_and_dynamics_follow_gym_sokoban():
    env = SokobanEnv(levels=["#######\n#@$. $.#\n#######"], full_action_space=True)
    env.reset(seed=0)
    _, r, term, _, info = env.step(4)  # push right: one of two boxes onto a target
    assert r == pytest.approx(0.9) and not term and not info["is_success"]
    assert env.room_state[1].tolist() == [0, 1, 5, 3, 1, 4, 2, 0]
    _, r, _, _, _ = env.step(8)  # move right into the box on target: blocked, plain move does not push
    assert r == pytest.approx(-0.1) and env.room_state[1, 2] == 5
    _, r, _, _, _ = env.step(0)  # no-op
    assert r == pytest.approx(-0.1)
    env = SokobanEnv(levels=["######\n#@*  #\n######"])
    obs, info = env.reset(seed=0)
    assert info["is_success"]
    _, r, term, _, info = env.step(3)  # push the box off its target
    assert r == pytest.approx(-1.1) and not term and not info["is_success"]
    assert obs.shape == (7, 3, 6) and obs.sum() == 18


def test_action_masks_and_truncation():
    env = SokobanEnv(levels=["######\n#@$ .#\n#    #\n######"], max_steps=3)
    _, info = env.reset(seed=0)
    assert info["action_mask"].tolist() == [0, 1, 0, 1]  # up: wall, down: floor, left: wall, right: push
    env.step(0)
    env.step(0)
    _, _, term, trunc, _ = env.step(0)
    assert trunc and not term
    full = SokobanEnv(levels=["######\n#@$ .#\n#    #\n######"], full_action_space=True)
    _, info = full.reset(seed=0)
    assert info["action_mask"].tolist() == [0, 0, 1, 0, 1, 0, 1, 0, 0]  # pure moves cannot push


def test_pool_levels_are_reused_and_reproducible():
    a = SokobanVectorEnv(num_envs=8, pool_size=4, pool_seed=3)
    b = SokobanVectorEnv(num_envs=8, pool_size=4, pool_seed=3)
    seen = set()
    for seed in range(5):
        oa, _ = a.reset(seed=seed)
        ob, _ = b.reset(seed=seed)
        np.testing.assert_array_equal(oa, ob)
        seen.update(o.tobytes() for o in oa)
    assert 2 <= len(seen) <= 4


def test_reset_with_level_option_and_renders():
    env = SokobanEnv(render_mode="rgb_array", dim_room=(5, 6))
    env.reset(seed=0, options={"level": "#####\n#@$.#\n#####"})
    assert level_text(env.room_fixed, env.room_state) == "######\n#PXO##\n######\n######\n######"
    frame = env.render()
    assert frame.shape == (5 * 16, 6 * 16, 3) and frame.dtype == np.uint8
    assert "\x1b[" in env.render_text(ansi=True)
    assert level_text(env.room_fixed, env.room_state, "xsb").splitlines()[1] == "#@$.##"


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="dim_room"):
        SokobanEnv(dim_room=(20, 20))
    with pytest.raises(ValueError, match="num_boxes"):
        SokobanEnv(num_boxes=8)
    with pytest.raises(ValueError, match="unknown Sokoban symbol"):
        parse_level("#@$.?#")
    with pytest.raises(ValueError, match="one player"):
        parse_level("#$.#")
    env = SokobanEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="invalid action"):
        env.step(4)
