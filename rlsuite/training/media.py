"""Record what a trained policy does, whatever the run kind: a video, a team video or a transcript.

* single-agent envs with an ``rgb_array`` render mode: :func:`rlsuite.wrappers.video.record_video`
  (MuJoCo, CartPole, the grid worlds...);
* multi-agent envs whose team vector env draws frames (the SMAC and football simulators):
  :func:`rlsuite.wrappers.team_video.record_team_video`, on a one-game env built the way the learner
  builds its own;
* text (LLM) learners: :func:`rlsuite.wrappers.transcript.write_transcript`, a Markdown transcript.

``rlsuite eval RUN --video``, periodic videos during training (``eval.video_every_steps``) and
:class:`rlsuite.callbacks.VideoCallback` all go through :func:`record_policy_media`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

MEDIA_FOLDER = "videos"


@dataclass
class MediaResult:
    """What was written: a ``video`` (frames at ``fps``) or a ``transcript`` (of ``episodes`` problems)."""

    path: Path
    kind: str
    episodes: int
    frames: int = 0
    fps: float = 0.0
    returns: list[float] = field(default_factory=list)

    def describe(self) -> str:
        if self.kind == "transcript":
            return f"transcript: {self.path} ({self.episodes} problems)"
        return f"video: {self.path} ({self.frames} frames at {self.fps:g} fps, {self.episodes} episode(s))"


def media_kind(algo: Any) -> str:
    """``"transcript"`` (text learners), ``"team"`` (multi-agent learners) or ``"single"``."""
    if getattr(algo.capabilities, "text", False):
        return "transcript"
    if getattr(algo.capabilities, "multi_agent", False):
        return "team"
    return "single"


def default_media_path(run_dir: str | os.PathLike, step: int, algo: Any, prefix: str = "eval") -> Path:
    """``<run>/videos/<prefix>-step<N>.mp4`` (``.gif`` without ffmpeg; ``.md`` for text learners)."""
    from rlsuite.wrappers.video import mp4_available

    if media_kind(algo) == "transcript":
        suffix = ".md"
    else:
        suffix = ".mp4" if mp4_available() else ".gif"
    return Path(run_dir) / MEDIA_FOLDER / f"{prefix}-step{int(step)}{suffix}"


def record_policy_media(
    algo: Any,
    path: str | os.PathLike,
    *,
    episodes: int = 3,
    seed: int | None = 0,
    deterministic: bool = True,
    fps: float | None = None,
    eval_result: Any = None,
) -> MediaResult:
    """Record ``episodes`` episodes of ``algo``'s policy to ``path`` (see the module docstring).

    ``eval_result``: for text learners, the evaluation ``algo`` just ran, transcribed as it is.
    """
    kind = media_kind(algo)
    if kind == "transcript":
        from rlsuite.wrappers.transcript import write_transcript

        written = write_transcript(
            algo, path, episodes=episodes, deterministic=deterministic, result=eval_result
        )
        return MediaResult(written.path, "transcript", written.episodes)
    if kind == "team":
        return _team_video(algo, path, episodes, seed, deterministic, fps)
    from rlsuite.wrappers.video import record_video

    video = record_video(
        algo.agent,
        algo.env_config.id,
        path,
        episodes=episodes,
        env_kwargs=algo.env_config.kwargs,
        seed=seed,
        deterministic=deterministic,
        fps=fps,
    )
    return MediaResult(video.path, "video", len(video.returns), video.frames, video.fps, video.returns)


def _team_video(algo: Any, path, episodes: int, seed, deterministic: bool, fps) -> MediaResult:
    from rlsuite.agents.base import as_policy
    from rlsuite.wrappers.team_video import can_render, record_team_video
    from rlsuite.wrappers.video import VideoError

    env = algo._make_env(1)  # the learner's own env options (ACE's entity features...)
    try:
        if not can_render(env):
            raise VideoError(
                f"{algo.env_config.id!r} cannot record video: its team vector env ({type(env).__name__}) "
                "draws no frames (the SMAC and football simulators do)"
            )
        with torch.inference_mode():
            video = record_team_video(
                as_policy(algo.agent),
                env,
                path,
                episodes=episodes,
                seed=seed,
                deterministic=deterministic,
                fps=fps,
            )
    finally:
        env.close()
    return MediaResult(video.path, "video", len(video.returns), video.frames, video.fps, video.returns)
