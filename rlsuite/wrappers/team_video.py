"""Videos of multi-agent policies: a team agent playing one game of a team vector env, frame by frame.

The env is a one-game team vector env (``algo._make_env(1)`` of a multi-agent learner, so learner-specific
env options such as ACE's entity features are the training ones) whose class draws frames with
``render_frame(index)``: the SMAC simulator (:mod:`rlsuite.envs.smac.render`) and the football
simulator (:mod:`rlsuite.envs.football.render`). A frame is drawn after ``reset`` and after every step;
the last frame of a game is taken before the env's autoreset (``render_final_frames``), so a video ends
on the decisive moment, captioned with the outcome.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from rlsuite.core.team import team_reset, team_step
from rlsuite.wrappers.video import DEFAULT_MAX_FRAMES, VideoResult, VideoWriter, check_video_path
from rlsuite.wrappers.video_overlay import caption, episode_caption

DEFAULT_TEAM_FPS = 8.0
END_HOLD_SECONDS = 1.0  # the final frame of each game stays this long


def can_render(env: Any) -> bool:
    return callable(getattr(env, "render_frame", None))


def record_team_video(
    agent: Any,
    env: Any,
    path: str | os.PathLike,
    *,
    episodes: int = 1,
    seed: int | None = 0,
    deterministic: bool = True,
    fps: float | None = None,
    max_frames: int = DEFAULT_MAX_FRAMES,
    overlay: bool = True,
) -> VideoResult:
    """Play ``agent`` (a team :class:`~rlsuite.agents.base.Policy`, with its own fresh memory) for
    ``episodes`` games of the one-game team vector ``env`` and write the frames to ``path`` (``.mp4`` or
    ``.gif``).

    ``fps`` defaults to the env's ``metadata["render_fps"]`` (SMAC 8, football 10: real time for
    football). ``VideoResult.returns`` holds the team returns of the games that finished.
    """
    path = check_video_path(path)
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    if getattr(env, "num_envs", 1) != 1:
        raise ValueError(f"record_team_video plays one game at a time; the env has num_envs={env.num_envs}")
    if not can_render(env):
        raise ValueError(f"{type(env).__name__} cannot record video: it has no render_frame(index) method")
    fps = float(fps or getattr(env, "metadata", {}).get("render_fps") or DEFAULT_TEAM_FPS)
    result = VideoResult(path=path, frames=0, fps=fps)
    env.render_final_frames = True
    hold = max(1, round(END_HOLD_SECONDS * fps))
    try:
        with VideoWriter(path, fps) as writer:

            def add(frame: np.ndarray, episode: int, length: int, total: float, outcome: str = "") -> None:
                text = episode_caption(episode, episodes, length, total, outcome)
                writer.append(caption(frame, text, bottom=True) if overlay else frame)

            policy = agent  # initial_state / step / reset_state (rlsuite.agents.base.as_policy gives them)
            observation, info = team_reset(env, seed)
            memory = policy.initial_state(1)
            for episode in range(episodes):
                add(env.render_frame(0), episode, 0, 0.0)
                total, length, done = 0.0, 0, False
                while not done and writer.frames < max_frames:
                    actions, memory = policy.step(observation, memory, deterministic=deterministic)
                    step = team_step(env, actions)
                    observation, info = step.observation, step.info
                    total += float(np.asarray(step.reward)[0])
                    length += 1
                    done = bool(step.done[0])
                    truncated = step.truncated
                    if not done:
                        add(env.render_frame(0), episode, length, total)
                        continue
                    outcome = _outcome(info, bool(np.asarray(truncated)[0]))
                    for _ in range(hold):
                        add(info["final_frames"][0], episode, length, total, outcome)
                    memory = policy.reset_state(memory, np.array([0]))
                if done:
                    result.returns.append(total)
                    result.lengths.append(length)
                if writer.frames >= max_frames:
                    result.truncated = not done or episode < episodes - 1
                    break
            result.frames = writer.frames
    finally:
        env.render_final_frames = False
    return result


def _outcome(info: dict[str, Any], truncated: bool) -> str:
    """The caption of a final frame: won, lost or time limit (SMAC); goal or no goal (football)."""
    won = bool(np.asarray(info.get("battle_won", [False]))[0])
    if "goal" in info:
        return "goal" if won else "no goal"
    if won:
        return "won"
    return "time limit" if truncated else "lost"
