"""The multi-turn text envs: prompts, optimal play and its metrics, format penalties, the caps on actions
per turn, actions per episode and turns, effective-action counting and seeding."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rlsuite
from rlsuite.envs.gridworlds.solvers import maze_distances, solve_sokoban, taxi_shortest_path
from rlsuite.envs.text import MazeTextEnv, SokobanTextEnv, TaxiTextEnv

MOVES = ("Up", "Down", "Left", "Right")


def answer(names: list[str]) -> str:
    return f"<think>plan</think><answer>{' || '.join(names)}</answer>"


def play_in_turns(env, names: list[str], per_turn: int):
    total, out = 0.0, None
    for k in range(0, len(names), per_turn):
        out = env.step(answer(names[k : k + per_turn]))
        total += out[1]
        if out[2] or out[3]:
            break
    return total, out


def test_first_message_holds_instructions_legend_actions_and_state():
    env = SokobanTextEnv()
    text, info = env.reset(seed=0)
    assert text in env.observation_space
    for piece in ("Sokoban", "#: wall", "Up, Down, Left, Right", "up to 5 actions", "Turn 1:", "State:"):
        assert piece in text
    assert env.world.render_text() in text and "You have 10 actions left" in text
    assert info["optimal_length"] == len(solve_sokoban(env.world.room_fixed, env.world.room_state))
    assert info["turn"] == 0 and info["actions_taken"] == 0


def test_sokoban_optimal_play_succeeds_with_ratio_one():
    env = SokobanTextEnv(max_actions_per_episode=50, max_turns=20)
    for seed in range(3):
        _, info = env.reset(seed=seed)
        names = [MOVES[a] for a in solve_sokoban(env.world.room_fixed, env.world.room_state)]
        total, (text, _, term, trunc, info) = play_in_turns(env, names, 2)
        assert term and not trunc and info["success"] and info["is_success"]
        assert info["actions_taken"] == info["effective_actions"] == len(names) == info["optimal_length"]
        assert info["optimality_ratio"] == 1.0 and info["format_errors"] == 0
        assert total == pytest.approx(-0.1 * len(names) + 11.0)
        assert "Success" in text and "Turn" in text
        with pytest.raises(gym.error.ResetNeeded):
            env.step(answer(["Up"]))


def test_maze_and_taxi_optimal_play():
    maze = MazeTextEnv(max_actions_per_episode=40, max_turns=20, size=9)
    _, info = maze.reset(seed=3)
    dist = maze_distances(maze.world.walls, maze.world.goal)
    names, (r, c) = [], maze.world.agent
    while dist[r, c] > 0:
        for a, (dr, dc) in enumerate(((-1, 0), (1, 0), (0, -1), (0, 1))):
            if dist[r + dr, c + dc] == dist[r, c] - 1:
                names.append(MOVES[a])
                r, c = r + dr, c + dc
                break
    _, (_, _, term, _, info) = play_in_turns(maze, names, 5)
    assert term and info["success"] and info["optimality_ratio"] == 1.0
    taxi = TaxiTextEnv(max_turns=10)
    _, info = taxi.reset(seed=4)
    path = taxi_shortest_path(taxi.world.s)
    names = [taxi.adapter.action_names[a] for a in path]
    total, (_, _, term, _, info) = play_in_turns(taxi, names, 5)
    assert term and info["success"] and info["optimal_length"] == len(path)
    assert total == 20 - (len(path) - 1)


def test_format_penalty_and_turn_cap():
    env = MazeTextEnv(max_turns=3, format_penalty=-0.5)
    env.reset(seed=0)
    rewards = []
    for reply in ("no tags at all", "<answer>Jump</answer>", ""):
        text, r, term, trunc, info = env.step(reply)
        rewards.append(r)
        assert not info["action_is_valid"] and info["executed_actions"] == []
    assert rewards == [-0.5] * 3 and trunc and not term
    assert info["format_errors"] == 3 and info["actions_taken"] == 0 and "Episode over" in text


def test_partly_invalid_reply_executes_valid_actions_and_pays_the_penalty():
    env = SokobanTextEnv()
    env.reset(seed=1)
    before = env.world.world_state()
    _, r, _, _, info = env.step("<answer>Up || fly</answer>")
    assert info["actions_taken"] == 1 and not info["action_is_valid"]
    changed = before != env.world.world_state()
    assert info["effective_actions"] == int(changed)
    assert r == pytest.approx(-0.1 - 0.1)


def test_action_caps_per_turn_and_per_episode():
    env = MazeTextEnv(
        max_actions_per_turn=3, max_actions_per_episode=5, max_turns=10, size=5, wall_density=0.0
    )
    seed = 0
    while env.reset(seed=seed) and env.world.goal[1] == env.world.agent[1]:
        seed += 1  # vertical moves must not reach the goal
    row = env.world.agent[0]
    _, _, _, _, info = env.step(answer(["Up"] * 6))
    assert info["actions_taken"] == 3 and info["action_is_valid"] and info["turn"] == 1
    assert info["effective_actions"] == row - 1  # a 3x3 room: moves into the top wall change nothing
    text, _, term, trunc, info = env.step(answer(["Down"] * 3))
    assert trunc and not term and info["actions_taken"] == 5 and info["executed_actions"] == ["Down", "Down"]
    assert "5 action" in text or "after 5 actions" in text


def test_seeds_reproduce_and_registered_ids_build():
    a, b = rlsuite.make("rlsuite/TaxiText-v0"), rlsuite.make("rlsuite/TaxiText-v0")
    assert a.reset(seed=5)[0] == b.reset(seed=5)[0]
    step_a, step_b = a.step(answer(["South", "Pickup"])), b.step(answer(["South", "Pickup"]))
    assert step_a[:4] == step_b[:4]
    env = rlsuite.make("rlsuite/SokobanText-v0", dim_room=(7, 7), num_boxes=2, think="forbidden")
    text, _ = env.reset(seed=0)
    assert "<answer> [your answer] </answer>" in text and "<think>" not in text
    assert isinstance(env.observation_space, gym.spaces.Text)
    sampled = env.action_space.sample()
    assert isinstance(env.step(sampled)[0], str)


def test_render_modes():
    env = SokobanTextEnv(render_mode="ansi")
    env.reset(seed=0)
    assert "\x1b[" in env.render()
    plain = SokobanTextEnv(render_mode="text")
    plain.reset(seed=0)
    assert "\x1b[" not in plain.render() and plain.render() == plain.world.render_text()
    with pytest.raises(ValueError):
        TaxiTextEnv(max_turns=0)
    assert np.isscalar(env.reset(seed=0)[1]["optimal_length"])
