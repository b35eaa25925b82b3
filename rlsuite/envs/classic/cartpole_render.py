"""A NumPy-only renderer for CartPole states (no pygame), with Gymnasium's screen geometry."""

from __future__ import annotations

import math

import numpy as np

from rlsuite.envs.classic.cartpole_core import LENGTH, X_THRESHOLD


def render_cartpole_frame(state: np.ndarray, width: int = 600, height: int = 400) -> np.ndarray:
    """Draw one CartPole state as a ``uint8 (height, width, 3)`` image with Gymnasium's geometry.

    White background, black track line and cart, brown pole rotated by ``theta`` (positive leans right),
    blue-grey axle; the world spans ``±2 * x_threshold`` across the width.
    """
    x, theta = float(state[0]), float(state[2])
    scale = width / (X_THRESHOLD * 2)
    polewidth = 10.0
    polelen = scale * (2 * LENGTH)
    cartwidth = 50.0
    cartheight = 30.0
    carty = 100.0  # top of the track, y axis pointing up (flipped at the end)
    axleoffset = cartheight / 4.0
    cartx = x * scale + width / 2.0

    img = np.full((height, width, 3), 255, dtype=np.uint8)
    ys = np.arange(height, dtype=np.float64)[:, None] + 0.5
    xs = np.arange(width, dtype=np.float64)[None, :] + 0.5
    img[int(carty), :] = 0
    cart = (np.abs(xs - cartx) <= cartwidth / 2) & (np.abs(ys - carty) <= cartheight / 2)
    img[cart] = (0, 0, 0)
    # Pole corners are pygame-rotated by -theta about the axle; undo that rotation per pixel.
    dx = xs - cartx
    dy = ys - (carty + axleoffset)
    c, s = math.cos(theta), math.sin(theta)
    u = c * dx - s * dy
    v = s * dx + c * dy
    pole = (np.abs(u) <= polewidth / 2) & (v >= -polewidth / 2) & (v <= polelen - polewidth / 2)
    img[pole] = (202, 152, 101)
    img[dx * dx + dy * dy <= (polewidth / 2) ** 2] = (129, 132, 203)
    return np.ascontiguousarray(img[::-1])
