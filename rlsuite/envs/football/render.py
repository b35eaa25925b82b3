"""Top-down frames of the football simulator: the pitch, both teams, the ball, the score.

>>> from rlsuite.envs.football.render import render_frame
>>> frame = render_frame(env.match, 0)  # doctest: +SKIP   (a GRFSimVectorEnv's matches)

A frame shows the pitch (x in [-1, 1] left to right, y in [-0.42, 0.42] top to bottom, as the engine
has it) with its lines, penalty boxes and goals; the left team (the one the agents play) as yellow
discs, the controlled players ringed and numbered by agent; the right team red, goalkeepers darker; the
ball white with a shadow that grows with its height, its owner ringed white; and a header with the
scenario, step, score and game mode. Pure numpy + Pillow with Pillow's built-in font: deterministic.
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
    P_X,
    P_Y,
    PITCH_X,
    PITCH_Y,
    TEAM,
)
from rlsuite.envs.football.scenarios import GAME_MODE_NAMES, GK

GRASS = (46, 125, 50)
GRASS_STRIPE = (56, 138, 60)
LINE = (235, 240, 235)
LEFT_COLOR = (250, 210, 40)
LEFT_KEEPER = (190, 150, 20)
RIGHT_COLOR = (210, 45, 45)
RIGHT_KEEPER = (140, 25, 25)
RIM = (20, 20, 20)
CONTROLLED_RIM = (30, 90, 255)
BALL = (255, 255, 255)
SHADOW = (20, 60, 25)
HEADER = (28, 30, 36)
TEXT = (235, 235, 235)
HEADER_HEIGHT = 18
MARGIN = 0.08  # pitch units around the lines (goals stick out into it)
PLAYER_RADIUS = 0.02
BALL_RADIUS = 0.011
REST_HEIGHT = 0.11  # a resting ball's z


@cache
def _font():
    from PIL import ImageFont

    loader = getattr(ImageFont, "load_default_imagefont", None)
    return loader() if loader is not None else ImageFont.load_default()


def frame_size(scale: int) -> tuple[int, int]:
    """``(height, width)`` of a frame at ``scale`` pixels per pitch unit."""
    width = round((2 * PITCH_X + 2 * MARGIN) * scale)
    height = round((2 * PITCH_Y + 2 * MARGIN) * scale) + HEADER_HEIGHT
    return height, width


def _pitch(scale: int):
    from PIL import Image, ImageDraw

    height, width = frame_size(scale)
    image = Image.new("RGB", (width, height), GRASS)
    draw = ImageDraw.Draw(image)
    stripes = 10
    for k in range(0, stripes, 2):  # mowing stripes
        x0 = round((MARGIN + k * 2 * PITCH_X / stripes) * scale)
        x1 = round((MARGIN + (k + 1) * 2 * PITCH_X / stripes) * scale)
        draw.rectangle((x0, HEADER_HEIGHT, x1, height), fill=GRASS_STRIPE)

    def px(x: float, y: float) -> tuple[float, float]:
        return (x + PITCH_X + MARGIN) * scale, (y + PITCH_Y + MARGIN) * scale + HEADER_HEIGHT

    line = max(1, scale // 120)
    draw.rectangle((*px(-PITCH_X, -PITCH_Y), *px(PITCH_X, PITCH_Y)), outline=LINE, width=line)
    draw.line((*px(0, -PITCH_Y), *px(0, PITCH_Y)), fill=LINE, width=line)
    centre, r = px(0, 0), 0.09 * scale
    draw.ellipse((centre[0] - r, centre[1] - r, centre[0] + r, centre[1] + r), outline=LINE, width=line)
    for side in (-1, 1):  # penalty boxes and goals
        box_x = side * (PITCH_X - 0.16)
        draw.rectangle(
            (*px(min(box_x, side * PITCH_X), -0.24), *px(max(box_x, side * PITCH_X), 0.24)),
            outline=LINE,
            width=line,
        )
        goal_x = side * (PITCH_X + 0.03)
        x0, x1 = sorted((side * PITCH_X, goal_x))
        draw.rectangle((*px(x0, -GOAL_Y), *px(x1, GOAL_Y)), outline=LINE, width=line, fill=(200, 200, 200))
    return image, px


def render_frame(match, b: int = 0, scale: int = 320, caption: str | None = None) -> np.ndarray:
    """An RGB frame ``uint8 [H, W, 3]`` of match ``b`` of a :class:`~rlsuite.envs.football.match.Matches`."""
    from PIL import ImageDraw

    if scale < 40:
        raise ValueError(f"scale must be >= 40 pixels per pitch unit, got {scale}")
    image, px = _pitch(scale)
    draw = ImageDraw.Draw(image)
    players, ball, game = match.players[b], match.ball[b], match.game[b]
    controlled = {int(slot): k for k, slot in enumerate(match.agents[b, :, A_PLAYER])}
    owner = int(game[G_OWNER])
    radius = max(5.0, PLAYER_RADIUS * scale)
    for slot in np.flatnonzero(match.exists):
        x, y = px(players[slot, P_X], players[slot, P_Y])
        keeper = match.roles[slot] == GK
        left = slot < TEAM
        fill = (LEFT_KEEPER if keeper else LEFT_COLOR) if left else (RIGHT_KEEPER if keeper else RIGHT_COLOR)
        rim = CONTROLLED_RIM if slot in controlled else RIM
        width = 2 if slot in controlled else 1
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=fill, outline=rim, width=width)
        if slot in controlled:
            draw.text((x + radius, y - 2 * radius - 4), str(controlled[slot]), fill=TEXT, font=_font())
        if slot == owner:
            ring = radius + max(2, scale // 60)
            draw.ellipse((x - ring, y - ring, x + ring, y + ring), outline=BALL, width=1)
    bx, by = px(ball[B_X], ball[B_Y])
    lift = max(0.0, float(ball[B_Z]) - REST_HEIGHT)
    r = BALL_RADIUS * scale
    shadow = r * (1.0 + 2.0 * lift)
    draw.ellipse((bx - shadow, by - shadow * 0.6 + 2, bx + shadow, by + shadow * 0.6 + 2), fill=SHADOW)
    lifted = by - lift * 0.25 * scale  # a high ball is drawn above its shadow
    draw.ellipse((bx - r, lifted - r, bx + r, lifted + r), fill=BALL, outline=RIM)
    mode = GAME_MODE_NAMES[int(game[G_MODE])] if 0 <= int(game[G_MODE]) < len(GAME_MODE_NAMES) else "?"
    header = (
        f"{match.scenario.name}  step {int(game[G_STEPS])}  "
        f"score {int(game[G_SCORE_L])}-{int(game[G_SCORE_R])}  {mode}"
    )
    if caption:
        header += f"  {caption}"
    draw.rectangle((0, 0, image.width, HEADER_HEIGHT - 1), fill=HEADER)
    draw.text((4, 3), header, fill=TEXT, font=_font())
    return np.asarray(image)
