"""WMAct's env side: action-efficacy counts of hand-played episodes (wall bumps, no-op pushes, wrong
pick-ups/drop-offs and invalid actions are ineffective), the compact prompt style and solver plans."""

from __future__ import annotations

import pytest

from rlsuite.envs.text import MazeTextEnv, SokobanTextEnv, TaxiTextEnv
from rlsuite.envs.text.textworld import strip_border


def counts(info: dict) -> tuple[int, int]:
    return info["actions_issued"], info["effective_actions"]


def test_sokoban_efficacy_counts_a_hand_played_episode():
    env = SokobanTextEnv(max_turns=5, dim_room=(4, 7))
    env.reset(options={"level": "#######\n#P_X_O#\n#_____#\n#######"})
    # Left and Up bump walls, Right moves, 'fly' is no action: 4 issued, 1 effective.
    *_, info = env.step("<answer>Left || Up || Right || fly</answer>")
    assert counts(info) == (4, 1) and info["action_efficacy"] == pytest.approx(0.25)
    *_, info = env.step("no answer at all")  # one ineffective attempt
    assert counts(info) == (5, 1)
    _, _, terminated, _, info = env.step("<answer>Right || Right</answer>")  # two pushes, the second solves
    assert terminated and info["success"] and counts(info) == (7, 3)
    assert info["action_efficacy"] == pytest.approx(3 / 7)


@pytest.mark.parametrize(
    ("level", "reply", "expected"),
    [
        ("######\n#O_PX#\n######", "Right", (1, 0)),  # a box pushed into a wall does not move
        ("########\n#PXX_OO#\n########", "Right", (1, 0)),  # a box pushed into a box does not move
        ("######\n#O_PX#\n######", "Left", (1, 1)),  # a plain move changes the state
    ],
)
def test_sokoban_no_op_pushes_are_ineffective(level, reply, expected):
    rows = level.split("\n")
    env = SokobanTextEnv(dim_room=(len(rows), len(rows[0])))
    env.reset(options={"level": level})
    *_, info = env.step(f"<answer>{reply}</answer>")
    assert counts(info) == expected


def test_maze_efficacy_counts_wall_bumps():
    env = MazeTextEnv(size=5, max_turns=5)
    env.reset(seed=0)
    assert env.world.render_text() == "#####\n#___#\n#__G#\n#P_##\n#####"
    *_, info = env.step("<answer>Down || Left || Right || Right</answer>")  # walls, move, wall
    assert counts(info) == (4, 1)
    _, _, terminated, _, info = env.step("<answer>Up || Right</answer>")
    assert terminated and info["success"] and counts(info) == (6, 3)


def test_taxi_wrong_pickups_and_dropoffs_and_walls_are_ineffective():
    env = TaxiTextEnv(max_turns=10, max_actions_per_episode=40)
    env.reset(seed=0)
    assert "|Y| :T|B: |" in env.world.render_text()  # a wall east of the taxi, the passenger at R
    *_, info = env.step("<answer>East || Pickup || Dropoff || Jump</answer>")
    assert counts(info) == (4, 0)
    *_, info = env.step("<answer>North</answer>")
    assert counts(info) == (5, 1)
    plan = env.optimal_actions()
    for start in range(0, len(plan), 5):
        _, _, terminated, _, info = env.step(f"<answer>{' || '.join(plan[start : start + 5])}</answer>")
    assert terminated and info["success"] and counts(info) == (5 + len(plan), 1 + len(plan))


@pytest.mark.parametrize(
    ("make", "kwargs"),
    [(SokobanTextEnv, {"dim_room": (6, 6)}), (MazeTextEnv, {"size": 7}), (TaxiTextEnv, {})],
)
def test_solver_plans_are_all_effective_and_solve(make, kwargs):
    env = make(max_turns=30, max_actions_per_episode=60, **kwargs)
    for seed in range(3):
        _, info = env.reset(seed=seed)
        plan = env.optimal_actions()
        assert len(plan) == info["optimal_length"]
        _, _, terminated, _, info = env.step(f"<answer>{' || '.join(plan[:5])}</answer>")
        while not terminated:
            plan = env.optimal_actions()
            _, _, terminated, _, info = env.step(f"<answer>{' || '.join(plan[:5])}</answer>")
        assert info["success"] and info["action_efficacy"] == 1.0


def test_compact_prompts_are_short_and_drop_the_wall_frame():
    full, _ = MazeTextEnv(size=5).reset(seed=0)
    env = MazeTextEnv(size=5, prompt_style="compact")
    compact, _ = env.reset(seed=0)
    assert len(compact) < len(full) / 3
    assert compact.endswith("Turn 1 (10 actions left):\n___\n__G\nP_#\n")
    feedback, *_ = env.step("<answer>Up || Up</answer>")
    assert feedback.startswith("Did Up, Up.\nTurn 2")
    assert strip_border("+--+\n|ab|\n+--+\nPassenger: x") == "ab\nPassenger: x"
    assert strip_border("no frame\nhere") == "no frame\nhere"
    with pytest.raises(ValueError, match="prompt_style"):
        MazeTextEnv(prompt_style="tiny")
