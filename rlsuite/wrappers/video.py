"""Headless video recording: play an agent on one ``rgb_array`` env and write an ``.mp4`` or ``.gif``.

>>> from rlsuite.wrappers.video import record_video
>>> record_video(algo.agent, "rlsuite/HalfCheetah-v5", "cheetah.mp4")  # doctest: +SKIP

``.mp4`` goes through the ffmpeg binary bundled by ``imageio-ffmpeg`` (H.264, yuv420p: plays in
browsers and QuickTime); ``.gif`` through Pillow, always available. Files are written atomically.

MuJoCo chooses its OpenGL backend from ``MUJOCO_GL`` once, when ``mujoco`` is first imported. On a
machine without a display the default (GLFW) cannot render, so :func:`ensure_headless_gl` picks EGL
(or OSMesa) before that import; :func:`gl_backend_available` checks a backend in a subprocess, where
a broken GL stack cannot take the caller down. See ``docs/video.md``.
"""

from __future__ import annotations

import ctypes.util
import os
import subprocess
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rlsuite.core.atomic import atomic_path
from rlsuite.wrappers.video_overlay import caption, episode_caption, playback_rate

VIDEO_SUFFIXES = (".mp4", ".gif")
DEFAULT_FPS = 30.0
DEFAULT_MAX_FRAMES = 10_000
HEADLESS_BACKENDS = ("egl", "osmesa")
GL_INSTALL_HINTS = {
    "egl": "EGL needs libEGL and a Mesa/NVIDIA driver: apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri",
    "osmesa": "OSMesa (software rendering) needs libOSMesa: apt-get install libosmesa6",
    "glfw": "GLFW needs a display; on a headless machine set MUJOCO_GL=egl (or osmesa)",
}
_GIF_MIN_FRAME_MS = 20  # browsers play shorter GIF frame delays at 100 ms


class VideoError(RuntimeError):
    """A video cannot be rendered or encoded here (no GL backend, no ffmpeg...)."""


# --- paths and encoders ---------------------------------------------------------------------------
def mp4_available() -> bool:
    """Whether ``.mp4`` can be written: the ``imageio-ffmpeg`` package and its ffmpeg binary are here."""
    try:
        import imageio_ffmpeg

        imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError, OSError):
        return False
    return True


def check_video_path(path: str | os.PathLike) -> Path:
    """``path`` as a ``Path`` if a video can be written there; a clear error otherwise."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        shown = repr(suffix) if suffix else "no suffix"
        accepted = ", ".join(VIDEO_SUFFIXES)
        raise ValueError(f"cannot write video {path}: {shown}; accepted suffixes: {accepted}")
    if suffix == ".mp4" and not mp4_available():
        raise VideoError(
            f"cannot write {path}: .mp4 needs the ffmpeg binary of the imageio-ffmpeg package "
            "(pip install imageio-ffmpeg); a .gif path works without it"
        )
    return path


def default_video_path(run_dir: str | os.PathLike, step: int) -> Path:
    """``<run_dir>/videos/eval-step<step>.mp4`` (``.gif`` where ffmpeg is not installed)."""
    suffix = ".mp4" if mp4_available() else ".gif"
    return Path(run_dir) / "videos" / f"eval-step{int(step)}{suffix}"


def as_rgb_frame(frame: Any) -> np.ndarray:
    """A rendered frame as a C-contiguous ``uint8 (height, width, 3)`` array (alpha dropped, gray to RGB)."""
    if frame is None:
        raise ValueError("got no frame (None): was the env made with render_mode='rgb_array'?")
    array = np.asarray(frame)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4) or 0 in array.shape:
        raise ValueError(f"expected an image of shape (height, width, 3), got shape {array.shape}")
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    elif array.shape[2] == 4:
        array = array[:, :, :3]
    if array.dtype != np.uint8:
        if np.issubdtype(array.dtype, np.floating) and array.size and float(np.nanmax(array)) <= 1.0:
            array = array * 255.0  # float images in [0, 1]
        array = np.clip(np.nan_to_num(array), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(array)


class _Mp4Sink:
    """H.264 through the bundled ffmpeg, streamed frame by frame (constant memory)."""

    def __init__(self, path: Path, fps: float, quality: float) -> None:
        self.path, self.fps, self.quality = path, fps, quality
        self._encoder = None

    def append(self, frame: np.ndarray) -> None:
        # yuv420p needs even sides: repeat the last row/column where a side is odd.
        height, width = frame.shape[:2]
        if height % 2 or width % 2:
            padding = ((0, height % 2), (0, width % 2), (0, 0))
            frame = np.ascontiguousarray(np.pad(frame, padding, mode="edge"))
        if self._encoder is None:
            import imageio_ffmpeg

            self._encoder = imageio_ffmpeg.write_frames(
                str(self.path),
                (frame.shape[1], frame.shape[0]),
                fps=self.fps,
                quality=self.quality,
                macro_block_size=2,
                ffmpeg_log_level="error",
            )
            self._encoder.send(None)
        self._encoder.send(frame)

    def close(self) -> None:
        if self._encoder is not None:
            encoder, self._encoder = self._encoder, None
            encoder.close()


class _GifSink:
    """Pillow GIF: frames are palettised on arrival (1 byte/pixel) and written on close."""

    def __init__(self, path: Path, fps: float) -> None:
        self.path = path
        self.frame_ms = max(_GIF_MIN_FRAME_MS, round(1000.0 / fps))
        self._images: list = []

    def append(self, frame: np.ndarray) -> None:
        from PIL import Image

        self._images.append(Image.fromarray(frame).convert("P", palette=Image.Palette.ADAPTIVE, colors=256))

    def close(self) -> None:
        images, self._images = self._images, []
        if images:
            images[0].save(
                self.path,
                format="GIF",
                save_all=True,
                append_images=images[1:],
                duration=self.frame_ms,
                loop=0,
            )


class VideoWriter:
    """Frames in, one video file out; the format follows the suffix (``.mp4`` or ``.gif``).

    >>> with VideoWriter("out.mp4", fps=30) as video:  # doctest: +SKIP
    ...     for frame in frames:
    ...         video.append(frame)

    Nothing appears at ``path`` until :meth:`close` has encoded every frame (a temp file beside it is
    renamed over it); leaving the ``with`` block by an exception, or :meth:`abort`, writes nothing.
    All frames must have the size of the first. GIFs merge identical consecutive frames (adding their
    durations) and hold at least 20 ms per frame.
    """

    def __init__(self, path: str | os.PathLike, fps: float = DEFAULT_FPS, *, quality: float = 5.0) -> None:
        self.path = check_video_path(path)
        if not fps or fps <= 0:
            raise ValueError(f"fps must be positive, got {fps!r}")
        self.fps = float(fps)
        self.frames = 0
        self.frame_shape: tuple[int, ...] | None = None
        self._target = atomic_path(self.path)
        tmp = self._target.__enter__()
        if self.path.suffix.lower() == ".mp4":
            self._sink: _Mp4Sink | _GifSink = _Mp4Sink(tmp, self.fps, quality)
        else:
            self._sink = _GifSink(tmp, self.fps)
        self._open = True

    def append(self, frame: Any) -> None:
        if not self._open:
            raise ValueError(f"video {self.path} is already closed")
        array = as_rgb_frame(frame)
        if self.frame_shape is None:
            self.frame_shape = array.shape
        elif array.shape != self.frame_shape:
            raise ValueError(
                f"frame {self.frames} has shape {array.shape}; the video's frames are {self.frame_shape}"
            )
        self._sink.append(array)
        self.frames += 1

    def close(self) -> Path:
        """Encode, then move the file into place; return its path."""
        if not self._open:
            return self.path
        if self.frames == 0:
            self.abort()
            raise ValueError(f"no frames were appended; nothing written to {self.path}")
        self._open = False
        try:
            self._sink.close()
        except BaseException as exc:
            self._target.__exit__(type(exc), exc, exc.__traceback__)  # removes the temp file
            raise
        self._target.__exit__(None, None, None)  # fsync + rename over self.path
        return self.path

    def abort(self) -> None:
        """Stop without writing anything (the temp file is removed)."""
        if not self._open:
            return
        self._open = False
        try:
            self._sink.close()
        except Exception:
            pass  # an encoder failing while being abandoned changes nothing
        aborted = _Aborted()
        self._target.__exit__(_Aborted, aborted, None)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class _Aborted(Exception):
    """Thrown into the temp-file context to make it clean up."""


# --- headless OpenGL for MuJoCo -------------------------------------------------------------------
_PROBE = """
import mujoco
model = mujoco.MjModel.from_xml_string(
    '<mujoco><worldbody><light pos="0 0 1"/><geom type="sphere" size=".1"/></worldbody></mujoco>'
)
data = mujoco.MjData(model)
mujoco.mj_forward(model, data)
renderer = mujoco.Renderer(model, 16, 16)
renderer.update_scene(data)
pixels = renderer.render()
assert pixels.shape == (16, 16, 3), pixels.shape
renderer.close()
print("rendered", pixels.shape)
"""
_probe_cache: dict[tuple, tuple[bool, str]] = {}


def gl_backend_available(backend: str | None = None, *, timeout: float = 120.0) -> tuple[bool, str]:
    """Can MuJoCo render with ``backend`` (``"egl"``, ``"osmesa"``, ``"glfw"``)? Returns ``(ok, reason)``.

    ``backend=None`` checks what this process would use: ``$MUJOCO_GL``, or MuJoCo's default when it
    is unset. The check makes a 16x16 ``mujoco.Renderer`` in a fresh Python subprocess, so a missing
    library or a crashing driver only fails the probe. Results are cached per process.
    """
    name = (os.environ.get("MUJOCO_GL", "") if backend is None else backend).strip().lower()
    key = (name, os.environ.get("PYOPENGL_PLATFORM"), os.environ.get("DISPLAY"), sys.executable)
    if key not in _probe_cache:
        _probe_cache[key] = _probe(name, timeout)
    return _probe_cache[key]


def _probe(name: str, timeout: float) -> tuple[bool, str]:
    label = f"MUJOCO_GL={name}" if name else "MUJOCO_GL unset (GLFW)"
    env = dict(os.environ)
    if name:
        env["MUJOCO_GL"] = name
    else:
        env.pop("MUJOCO_GL", None)
    try:
        done = subprocess.run(
            [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return False, f"{label}: the rendering probe did not finish in {timeout:.0f} s"
    except OSError as exc:
        return False, f"{label}: could not start the rendering probe ({exc})"
    if done.returncode == 0:
        return True, f"{label}: MuJoCo rendered offscreen"
    if done.returncode < 0:
        why = f"the rendering probe was killed by signal {-done.returncode}"
    else:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        why = lines[-1][:300] if lines else f"the rendering probe exited with status {done.returncode}"
    hint = GL_INSTALL_HINTS.get(name or "glfw", "")
    return False, f"{label}: {why}" + (f" ({hint})" if hint else "")


def _headless() -> bool:
    return sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )


def _library_present(backend: str) -> bool:
    return ctypes.util.find_library({"egl": "EGL", "osmesa": "OSMesa"}[backend]) is not None


def ensure_headless_gl(*, probe: bool = True) -> str | None:
    """Choose a headless MuJoCo GL backend when none is configured; return the ``MUJOCO_GL`` in effect.

    A ``MUJOCO_GL`` already set is respected, and so is a display (``DISPLAY``/``WAYLAND_DISPLAY``):
    both return without changes. Otherwise (headless Linux) this sets ``MUJOCO_GL=egl``, or ``osmesa``
    when EGL cannot render, and returns it; ``None`` when neither works (rendering will then fail
    with MuJoCo's own error; see :func:`gl_backend_available` for why). ``probe=False`` trusts the
    presence of ``libEGL``/``libOSMesa`` instead of rendering in a subprocess (about a second).

    MuJoCo reads ``MUJOCO_GL`` when ``mujoco`` is first imported, so call this before anything
    imports it (making a MuJoCo env does); a warning says when that has already happened.
    """
    current = os.environ.get("MUJOCO_GL", "").strip()
    if current:
        return current
    if not _headless():
        return None
    for backend in HEADLESS_BACKENDS:
        works = gl_backend_available(backend)[0] if probe else _library_present(backend)
        if works:
            if "mujoco" in sys.modules:
                warnings.warn(
                    f"setting MUJOCO_GL={backend} after mujoco was imported: envs built on "
                    "mujoco.Renderer keep the GL backend chosen at import; set MUJOCO_GL before "
                    "importing mujoco (or call ensure_headless_gl first)",
                    RuntimeWarning,
                    stacklevel=2,
                )
            os.environ["MUJOCO_GL"] = backend
            return backend
    return None


# --- playing an agent -----------------------------------------------------------------------------
@dataclass
class VideoResult:
    """What :func:`record_video` wrote. ``returns``/``lengths`` cover the episodes that finished."""

    path: Path
    frames: int
    fps: float
    returns: list[float] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    truncated: bool = False  # stopped by max_frames mid-episode


def record_video(
    agent: Any,
    env_id: str,
    path: str | os.PathLike,
    *,
    episodes: int = 1,
    env_kwargs: dict[str, Any] | None = None,
    seed: int | None = 0,
    deterministic: bool = True,
    fps: float | None = None,
    max_frames: int = DEFAULT_MAX_FRAMES,
    width: int | None = None,
    height: int | None = None,
    overlay: bool = True,
) -> VideoResult:
    """Play ``agent`` for ``episodes`` episodes on one ``env_id`` env and write the frames to ``path``.

    ``agent`` is anything with ``act(obs_batch, deterministic) -> action_batch`` (every rlsuite
    agent); it sees a batch of one observation. Frames are ``env.render()`` after ``reset`` and after
    every step, so an episode of ``T`` steps gives ``T + 1`` frames; recording stops early at
    ``max_frames``. Without ``fps`` the video plays in real time: at the env's
    ``metadata["render_fps"]`` (else 30), keeping every k-th step where that rate passes 50 fps (a
    Hopper at 125 fps becomes every 3rd step at 41.7 fps; an episode's last frame is always kept).
    ``overlay`` captions each frame with the episode, step and return so far. ``width`` and
    ``height`` are passed to the env (MuJoCo envs render at that size); frames of another size are
    resized. The first reset uses ``seed``. The file is written atomically.
    """
    from rlsuite.envs.registry import make, spec

    path = check_video_path(path)
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    if max_frames < 1:
        raise ValueError(f"max_frames must be >= 1, got {max_frames}")
    if spec(env_id).multi_agent:
        raise ValueError(f"{env_id!r} is multi-agent; record_video plays single-agent envs")
    ensure_headless_gl()
    env = _make_rgb_env(make, env_id, dict(env_kwargs or {}), width, height)
    try:
        skip = 1
        if fps is None:
            skip, fps = playback_rate(float(env.metadata.get("render_fps") or DEFAULT_FPS))
        size = (width, height) if width or height else None
        result = VideoResult(path=path, frames=0, fps=float(fps))

        def frame(episode: int, length: int, total: float) -> np.ndarray:
            image = _render(env, env_id, size)
            return caption(image, episode_caption(episode, episodes, length, total)) if overlay else image

        with VideoWriter(path, fps) as writer:
            for episode in range(episodes):
                obs, _ = env.reset(seed=seed if episode == 0 else None)
                writer.append(frame(episode, 0, 0.0))
                total, length, done = 0.0, 0, False
                while not done and writer.frames < max_frames:
                    action = np.asarray(agent.act(np.expand_dims(obs, 0), deterministic=deterministic))[0]
                    obs, reward, terminated, truncated, _ = env.step(action)
                    total += float(reward)
                    length += 1
                    done = bool(terminated or truncated)
                    if done or length % skip == 0:
                        writer.append(frame(episode, length, total))
                if done:
                    result.returns.append(total)
                    result.lengths.append(length)
                if writer.frames >= max_frames:
                    result.truncated = not done or episode < episodes - 1
                    break
            result.frames = writer.frames
    finally:
        env.close()
    return result


def _make_rgb_env(make, env_id: str, kwargs: dict, width: int | None, height: int | None):
    kwargs["render_mode"] = "rgb_array"
    sized = dict(kwargs)
    if width:
        sized["width"] = int(width)
    if height:
        sized["height"] = int(height)
    with warnings.catch_warnings():
        # Gymnasium warns about a render_mode missing from metadata; the check below says it better.
        warnings.filterwarnings("ignore", message=".*render_mode.*")
        try:
            env = make(env_id, **sized)
        except TypeError as exc:
            message = str(exc)
            if "argument 'render_mode'" in message:
                raise ValueError(
                    f"{env_id!r} cannot record video: it does not render to images "
                    f"(its constructor takes no render_mode argument)"
                ) from exc
            if sized == kwargs or not ("argument 'width'" in message or "argument 'height'" in message):
                raise
            env = make(env_id, **kwargs)  # no size arguments; frames are resized instead
    modes = list(env.metadata.get("render_modes") or [])
    if "rgb_array" not in modes or getattr(env, "render_mode", None) != "rgb_array":
        env.close()
        raise ValueError(
            f"{env_id!r} cannot record video: it has no 'rgb_array' render mode "
            f"(render modes: {modes or 'none'})"
        )
    return env


def _render(env, env_id: str, size: tuple[int | None, int | None] | None) -> np.ndarray:
    try:
        frame = env.render()
    except Exception as exc:
        backend = os.environ.get("MUJOCO_GL") or "unset"
        raise VideoError(
            f"rendering {env_id!r} failed ({type(exc).__name__}: {exc}); MUJOCO_GL is {backend}. "
            "On a machine without a display MuJoCo needs EGL or OSMesa: "
            f"{GL_INSTALL_HINTS['egl']}, then MUJOCO_GL=egl (or {GL_INSTALL_HINTS['osmesa']}, then "
            "MUJOCO_GL=osmesa); see docs/video.md"
        ) from exc
    if frame is None:
        raise VideoError(f"{env_id!r} returned no frame from render() in rgb_array mode")
    frame = as_rgb_frame(frame)
    if size is not None:
        target = (size[0] or frame.shape[1], size[1] or frame.shape[0])
        if (frame.shape[1], frame.shape[0]) != target:
            from PIL import Image

            frame = np.asarray(Image.fromarray(frame).resize(target, Image.Resampling.BILINEAR))
    return frame
