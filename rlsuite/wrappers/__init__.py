"""Observation/reward normalisation and other wrappers; headless video recording (``.video``)."""

from rlsuite.wrappers.video import (
    VideoError,
    VideoResult,
    VideoWriter,
    ensure_headless_gl,
    gl_backend_available,
    record_video,
)

__all__ = [
    "VideoError",
    "VideoResult",
    "VideoWriter",
    "ensure_headless_gl",
    "gl_backend_available",
    "record_video",
]
