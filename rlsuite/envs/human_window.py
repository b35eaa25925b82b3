"""A pygame window for ``render_mode="human"``, as PettingZoo's own pygame envs open one.

Frames are ``uint8 (H, W, 3)`` arrays (an env's ``rgb_array`` frame). The window opens on the first frame,
is paced at the env's ``render_fps`` and keeps answering the window manager (events are pumped); it runs
under a headless display driver too (``SDL_VIDEODRIVER=dummy``, as in the tests and in CI), where the pacing
is skipped. pygame is an optional dependency: ``pip install 'rlsuite[render]'``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np


class HumanWindow:
    """One on-screen window showing RGB frames."""

    def __init__(self, caption: str, fps: float) -> None:
        self.caption = caption
        self.fps = float(fps)
        self._pygame: Any = None
        self._screen: Any = None
        self._clock: Any = None

    @property
    def is_open(self) -> bool:
        return self._screen is not None

    def show(self, frame: np.ndarray) -> None:
        """Draw ``frame`` (``uint8 (H, W, 3)``), resizing the window to it when needed."""
        frame = np.asarray(frame)
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"a frame must be uint8 (H, W, 3), got {frame.dtype} {frame.shape}")
        pygame = self._open(frame.shape[1], frame.shape[0])
        surface = pygame.surfarray.make_surface(np.ascontiguousarray(frame.transpose(1, 0, 2)))
        self._screen.blit(surface, (0, 0))
        pygame.event.pump()
        pygame.display.flip()
        if os.environ.get("SDL_VIDEODRIVER") != "dummy":
            self._clock.tick(self.fps)

    def _open(self, width: int, height: int) -> Any:
        if self._pygame is None:
            try:
                import pygame
            except ImportError as exc:
                raise ImportError(
                    'render_mode="human" needs pygame: pip install "rlsuite[render]" (or pygame); '
                    'render_mode="rgb_array" returns the frames without it'
                ) from exc
            self._pygame = pygame
        pygame = self._pygame
        if self._screen is None or self._screen.get_size() != (width, height):
            pygame.display.init()
            self._screen = pygame.display.set_mode((width, height))
            pygame.display.set_caption(self.caption)
            self._clock = pygame.time.Clock()
        return pygame

    def close(self) -> None:
        """Close the window (a later frame opens a new one)."""
        if self._screen is not None:
            self._pygame.display.quit()
            self._screen = None


RENDER_MODES = ["human", "rgb_array"]


class ModeRenderer:
    """``render()`` for one render mode: ``"rgb_array"`` returns ``frame()``, ``"human"`` shows it in a
    :class:`HumanWindow` and returns None."""

    def __init__(self, mode: str, frame: Callable[[], np.ndarray], caption: str, fps: float) -> None:
        if mode not in RENDER_MODES:
            raise ValueError(f"render mode {mode!r} is not supported; accepted: {', '.join(RENDER_MODES)}")
        self.mode = mode
        self._frame = frame
        self._window = HumanWindow(caption, fps) if mode == "human" else None

    def render(self) -> np.ndarray | None:
        frame = self._frame()
        if self._window is None:
            return frame
        self._window.show(frame)
        return None

    def close(self) -> None:
        if self._window is not None:
            self._window.close()


def check_render_mode(render_mode: str | None) -> str | None:
    """``render_mode`` of a multi-agent env: None, ``"human"`` or ``"rgb_array"``."""
    if render_mode is not None and render_mode not in RENDER_MODES:
        raise ValueError(f"render_mode={render_mode!r}; accepted: None, {', '.join(map(repr, RENDER_MODES))}")
    return render_mode
