"""Top-down rendering of SMAC battles (rlsuite.envs.smac.render)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from rlsuite.envs.smac import core
from rlsuite.envs.smac import render as rd
from rlsuite.envs.smac import units as ut
from rlsuite.envs.smac.env import StarCraft2Env
from rlsuite.envs.smac.maps import MAP_SIZE, pathing_grid

SCALE = 16


def _env(map_name: str = "3m", seed: int = 0) -> StarCraft2Env:
    env = StarCraft2Env(map_name, seed=seed)
    env.reset()
    return env


def _to_pixel(x: float, y: float, scale: int = SCALE) -> tuple[int, int]:
    """(row, col) of map point (x, y)."""
    return int(rd.HEADER_HEIGHT + (MAP_SIZE - y) * scale), int(x * scale)


def _disc_pixels(frame: np.ndarray, x: float, y: float, radius: float, scale: int = SCALE) -> np.ndarray:
    """The pixels within 0.8 radius of a map point (lower half: bars of units above cannot reach it)."""
    row, col = _to_pixel(x, y, scale)
    r = int(0.8 * radius * scale)
    rows, cols = np.mgrid[row : row + r + 1, col - r : col + r + 1]
    inside = (rows - row) ** 2 + (cols - col) ** 2 <= r * r
    return frame[rows[inside], cols[inside]]


def _share(pixels: np.ndarray, colour: tuple[int, int, int]) -> float:
    return float(np.all(pixels == np.array(colour, np.uint8), axis=1).mean())


def _place(battles, u: int, x: float, y: float) -> None:
    battles.fs[0, u, core.FS_X] = x
    battles.fs[0, u, core.FS_Y] = y


def test_frame_shape_dtype_and_env_render():
    env = _env()
    frame = rd.render_frame(env._battles, 0)
    assert frame.dtype == np.uint8
    assert frame.shape == (MAP_SIZE * SCALE + rd.HEADER_HEIGHT, MAP_SIZE * SCALE, 3)
    small = rd.render_frame(env._battles, 0, scale=8)
    assert small.shape == (MAP_SIZE * 8 + rd.HEADER_HEIGHT, MAP_SIZE * 8, 3)
    np.testing.assert_array_equal(env.render("rgb_array"), frame)  # SMAC's default mode is "human"
    with pytest.raises(ValueError):
        rd.render_frame(env._battles, 0, scale=1)


def test_units_in_team_colours_and_dead_not_drawn():
    env = _env()
    battles = env._battles
    n = env.n_agents
    radius = ut.UNIT_TYPES[ut.MARINE].radius
    # Spread the units so no disc or bar overlaps another.
    for u in range(battles.ist.shape[1]):
        _place(battles, u, 8.0 + 3.0 * u, 16.0)
    battles.ist[0, n + 1, core.IS_ALIVE] = 0  # the second enemy is dead
    frame = rd.render_frame(battles, 0)
    ally_x, enemy_x, dead_x = 8.0, 8.0 + 3.0 * n, 8.0 + 3.0 * (n + 1)
    assert _share(_disc_pixels(frame, ally_x, 16.0, radius), rd.ALLY_COLOR) > 0.5
    assert _share(_disc_pixels(frame, enemy_x, 16.0, radius), rd.ENEMY_COLOR) > 0.5
    assert _share(_disc_pixels(frame, ally_x, 16.0, radius), rd.ENEMY_COLOR) == 0.0
    dead = _disc_pixels(frame, dead_x, 16.0, radius)
    assert _share(dead, rd.ENEMY_COLOR) == 0.0 and _share(dead, rd.ALLY_COLOR) == 0.0
    assert _share(dead, rd.WALKABLE_COLOR) > 0.5  # the ground shows through (bar a faint cross)


def test_terrain_matches_pathing_grid():
    env = _env()
    battles = env._battles
    for u in range(battles.ist.shape[1]):
        battles.ist[0, u, core.IS_ALIVE] = 0
        _place(battles, u, 0.5, 0.5)
    frame = rd.render_frame(battles, 0)
    grid = pathing_grid(battles.spec)
    assert grid.any() and not grid.all()  # 3m has walls: both colours are checked
    cells = [(x, y) for x in range(2, MAP_SIZE, 5) for y in range(2, MAP_SIZE, 5)]
    for x, y in cells:
        row, col = _to_pixel(x + 0.5, y + 0.5)
        expected = rd.WALKABLE_COLOR if grid[x, y] else rd.UNWALKABLE_COLOR
        assert tuple(frame[row, col]) == expected, (x, y)


def test_attack_lines_for_recent_shots_only():
    env = _env()
    battles = env._battles
    n = env.n_agents
    for u in range(battles.ist.shape[1]):
        _place(battles, u, 8.0 + 6.0 * (u >= n), 10.0 + 4.0 * (u % n))
    cd = ut.UNIT_TYPES[ut.MARINE].cooldown_loops
    # Ally 0 fired at enemy 0 this step; ally 1 attacks enemy 1 but its weapon is still cooling down.
    for a, cooldown in ((0, cd - 2.0), (1, cd - 12.0)):
        battles.ist[0, a, core.IS_ORDER] = core.O_ATTACK
        battles.ist[0, a, core.IS_TARGET] = n + a
        battles.fs[0, a, core.FS_COOLDOWN] = cooldown
    # Enemy 2 fired at ally 2.
    battles.ist[0, n + 2, core.IS_AI_TARGET] = 2
    battles.fs[0, n + 2, core.FS_COOLDOWN] = cd - 5.0
    events = rd.battle_events(battles, 0)
    assert sorted(events) == [(0, n, "attack"), (n + 2, 2, "attack")]
    frame = rd.render_frame(battles, 0)
    assert tuple(frame[_to_pixel(11.0, 10.0)]) == rd.ALLY_SHOT_COLOR
    assert tuple(frame[_to_pixel(11.0, 14.0)]) == rd.WALKABLE_COLOR
    assert tuple(frame[_to_pixel(11.0, 18.0)]) == rd.ENEMY_SHOT_COLOR


def test_record_episode_gif_frames_and_png(tmp_path):
    env = StarCraft2Env("3m", seed=1)
    gif = tmp_path / "episode.gif"
    result = rd.record_episode(env, rd.attack_nearest_policy, gif, max_steps=6)
    assert result["frames"] == 7 and result["steps"] == 6
    assert set(result) >= {"frames", "battle_won", "return"}
    with Image.open(gif) as image:
        assert image.n_frames == result["frames"]
        assert image.size == (MAP_SIZE * SCALE, MAP_SIZE * SCALE + rd.HEADER_HEIGHT)
    png = tmp_path / "last.png"
    result = rd.record_episode(env, rd.random_policy(0), png, max_steps=3)
    assert result["frames"] == 1
    with Image.open(png) as image:
        assert image.format == "PNG" and image.size == (MAP_SIZE * SCALE, MAP_SIZE * SCALE + rd.HEADER_HEIGHT)
    with pytest.raises(ValueError):
        rd.record_episode(env, rd.attack_nearest_policy, tmp_path / "x.jpg")


def test_render_smac_episode_full_episode(tmp_path):
    out = tmp_path / "2s3z.gif"
    result = rd.render_smac_episode("2s3z", out, seed=0, scale=8)
    with Image.open(out) as image:
        assert image.n_frames == result["frames"] == result["steps"] + 1
        assert image.size == (MAP_SIZE * 8, MAP_SIZE * 8 + rd.HEADER_HEIGHT)
    assert result["steps"] <= 120
    with pytest.raises(ValueError):
        rd.render_smac_episode("2s3z", out, policy="nope")


def test_same_seed_same_frames():
    def frames(seed: int) -> list[np.ndarray]:
        env = _env("MMM", seed=seed)  # air unit (medivac) and heals included
        policy = rd.random_policy(seed)
        out = [env.render("rgb_array")]
        for _ in range(8):
            _, terminated, _ = env.step(policy(env))
            out.append(env.render("rgb_array"))
            if terminated:
                break
        return out

    first, second = frames(3), frames(3)
    assert len(first) == len(second)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(first, frames(4)))
