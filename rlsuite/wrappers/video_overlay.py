"""Captions on video frames (episode, step, return) and frame-rate choice for real-time playback."""

from __future__ import annotations

import math
from functools import cache

import numpy as np

# Players drop frames above this rate, and GIF frames cannot be shorter than 20 ms (50 fps).
MAX_PLAYBACK_FPS = 50.0
CAPTION_BACKGROUND = (0, 0, 0)
CAPTION_TEXT = (255, 255, 255)


@cache
def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)  # Pillow's built-in scalable font (FreeType)
    except (TypeError, OSError, AttributeError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def caption(frame: np.ndarray, text: str, *, bottom: bool = False) -> np.ndarray:
    """``frame`` with ``text`` in a dark box in its top-left (or bottom-left) corner, font scaled to it."""
    from PIL import Image, ImageDraw

    height, width = frame.shape[:2]
    size = max(9, min(height, width) // 24)
    image = Image.fromarray(frame)
    draw = ImageDraw.Draw(image)
    font = _font(size)
    left, top, right, lower = draw.textbbox((0, 0), text, font=font)
    pad = max(2, size // 4)
    box_h = lower - top + 2 * pad
    y = height - box_h if bottom else 0
    draw.rectangle((0, y, min(width, right - left + 2 * pad), y + box_h), fill=CAPTION_BACKGROUND)
    draw.text((pad - left, y + pad - top), text, fill=CAPTION_TEXT, font=font)
    return np.asarray(image)


def episode_caption(episode: int, episodes: int, step: int, total: float, outcome: str = "") -> str:
    """``episode 2/3  step 140  return 312.4  (won)``."""
    text = f"episode {episode + 1}/{episodes}  step {step}  return {total:.1f}"
    return f"{text}  ({outcome})" if outcome else text


def playback_rate(env_fps: float, max_fps: float = MAX_PLAYBACK_FPS) -> tuple[int, float]:
    """``(frame_skip, fps)``: keep every ``frame_skip``-th step so that ``fps <= max_fps`` and
    ``fps * frame_skip == env_fps`` (the video plays in real time)."""
    if env_fps <= 0 or not math.isfinite(env_fps):
        raise ValueError(f"env_fps must be positive, got {env_fps}")
    skip = max(1, math.ceil(env_fps / max_fps - 1e-9))
    return skip, env_fps / skip
