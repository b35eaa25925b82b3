"""Top-down frames of the football simulator (``render_mode="rgb_array"``, and the ``"human"`` window).

The pitch is the engine's: x in [-1, 1] (the left team attacks +x), y in [-0.42, 0.42] with "top" at -y,
goals 0.044 either side of y = 0. Left players are blue discs, right players red, keepers darker; a yellow
ring and the agent's number mark the controlled players; the ball is white, its shadow on the ground and
the ball drawn higher with its height z; a ring marks the carrier. The header shows the scenario, the step,
the score and the game mode.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from rlsuite.envs.football.physics import (
    A_PLAYER,
    B_X,
    B_Y,
    B_Z,
    G_MODE,
    G_OWNER,
    G_SCORE_L,
    G_SCORE_R,
    G_STEPS,
    GOAL_Y,
    P_FX,
    P_FY,
    P_X,
    P_Y,
    PITCH_X,
    PITCH_Y,
    TEAM,
)
from rlsuite.envs.football.scenarios import GAME_MODE_NAMES, GK

SCALE = 240  # pixels per pitch unit
MARGIN = 24  # pixels around the pitch
HEADER = 16  # pixels of the text line on top
GRASS, LINES, GOAL = (46, 125, 50), (235, 245, 235), (250, 250, 250)
LEFT, LEFT_KEEPER, RIGHT, RIGHT_KEEPER = (40, 90, 220), (20, 50, 140), (215, 50, 45), (140, 25, 20)
AGENT_RING, BALL, SHADOW, TEXT, BACKGROUND = (
    (250, 215, 0),
    (255, 255, 255),
    (25, 70, 30),
    (240, 240, 240),
    (20, 20, 20),
)
PLAYER_RADIUS, BALL_RADIUS = 6, 3
Z_PIXELS = 4.0  # pixels the ball is drawn above its shadow per unit of height above the ground


@cache
def _font():
    from PIL import ImageFont

    loader = getattr(ImageFont, "load_default_imagefont", None)
    return loader() if loader is not None else ImageFont.load_default()


def frame_size() -> tuple[int, int]:
    """``(height, width)`` of a frame."""
    width = int(2 * PITCH_X * SCALE) + 2 * MARGIN
    height = int(2 * PITCH_Y * SCALE) + 2 * MARGIN + HEADER
    return height, width


def _to_pixels(x: float, y: float) -> tuple[float, float]:
    return MARGIN + (x + PITCH_X) * SCALE, HEADER + MARGIN + (y + PITCH_Y) * SCALE


def _draw_pitch(draw) -> None:
    x0, y0 = _to_pixels(-PITCH_X, -PITCH_Y)
    x1, y1 = _to_pixels(PITCH_X, PITCH_Y)
    draw.rectangle((x0, y0, x1, y1), outline=LINES, width=2)
    cx, cy = _to_pixels(0.0, 0.0)
    draw.line((cx, y0, cx, y1), fill=LINES, width=1)
    r = 0.0915 * SCALE  # centre circle (9.15 m on a 105 m pitch of 2 units)
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=LINES, width=1)
    for side in (-1.0, 1.0):
        gx = side * PITCH_X
        bx = _to_pixels(gx - side * 0.3, 0.0)[0]  # penalty box: ~16.5 m deep, ~40 m wide
        top, bottom = _to_pixels(0.0, -0.24)[1], _to_pixels(0.0, 0.24)[1]
        left, right = sorted((bx, _to_pixels(gx, 0.0)[0]))
        draw.rectangle((left, top, right, bottom), outline=LINES, width=1)
        gpx = _to_pixels(gx, 0.0)[0]
        g0, g1 = _to_pixels(0.0, -GOAL_Y)[1], _to_pixels(0.0, GOAL_Y)[1]
        draw.rectangle((gpx - 4 if side > 0 else gpx, g0, gpx if side > 0 else gpx + 4, g1), fill=GOAL)


def render_match_frame(match, b: int = 0, caption: str | None = None) -> np.ndarray:
    """A ``uint8 (H, W, 3)`` top-down frame of match ``b`` of a ``Matches`` batch."""
    from PIL import Image, ImageDraw

    height, width = frame_size()
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.rectangle((MARGIN // 2, HEADER + MARGIN // 2, width - MARGIN // 2, height - MARGIN // 2), fill=GRASS)
    _draw_pitch(draw)
    players, ball, game = match.players[b], match.ball[b], match.game[b]
    agents = {int(p): k for k, p in enumerate(match.agents[b, :, A_PLAYER])}
    owner = int(game[G_OWNER])
    for p in np.flatnonzero(match.exists):
        x, y = _to_pixels(players[p, P_X], players[p, P_Y])
        keeper = match.roles[p] == GK
        colour = (LEFT_KEEPER if keeper else LEFT) if p < TEAM else (RIGHT_KEEPER if keeper else RIGHT)
        r = PLAYER_RADIUS
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        fx, fy = players[p, P_FX], players[p, P_FY]
        draw.line((x, y, x + fx * (r + 3), y + fy * (r + 3)), fill=TEXT, width=1)  # facing
        if p in agents:
            draw.ellipse((x - r - 2, y - r - 2, x + r + 2, y + r + 2), outline=AGENT_RING, width=2)
            draw.text((x + r + 2, y - r - 8), str(agents[p]), fill=AGENT_RING, font=_font())
        if p == owner:
            draw.ellipse((x - r - 4, y - r - 4, x + r + 4, y + r + 4), outline=BALL, width=1)
    bx, by = _to_pixels(ball[B_X], ball[B_Y])
    lift = max(float(ball[B_Z]) - match.physics.ball_radius, 0.0) * Z_PIXELS
    br = BALL_RADIUS
    draw.ellipse((bx - br, by - br, bx + br, by + br), fill=SHADOW)
    draw.ellipse((bx - br, by - br - lift, bx + br, by + br - lift), fill=BALL, outline=(0, 0, 0))
    mode = GAME_MODE_NAMES[int(game[G_MODE])] if 0 <= game[G_MODE] < len(GAME_MODE_NAMES) else "?"
    text = (
        f"{match.scenario.name}  step {int(game[G_STEPS])}/{match.episode_limit}  "
        f"score {int(game[G_SCORE_L])}-{int(game[G_SCORE_R])}  {mode}"
    )
    if caption:
        text += f"  {caption}"
    draw.text((4, 3), text, fill=TEXT, font=_font())
    return np.asarray(image, dtype=np.uint8).copy()
