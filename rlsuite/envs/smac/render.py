"""GIF / MP4 / PNG recordings of SMAC episodes, drawn with :func:`rlsuite.envs.smac.frames.render_frame`.

>>> from rlsuite.envs.smac.render import render_smac_episode
>>> render_smac_episode("2s3z", "2s3z.gif", seed=0)  # doctest: +SKIP
{'frames': 31, 'battle_won': True, 'return': 19.6, ...}

Also ``python -m rlsuite.envs.smac.render``. The frame drawing (colours, :func:`render_frame`,
:func:`battle_events`) lives in :mod:`rlsuite.envs.smac.frames` and is re-exported here.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rlsuite.envs.smac import core
from rlsuite.envs.smac.frames import (  # noqa: F401  (re-exported drawing API)
    ALLY_COLOR,
    ALLY_SHOT_COLOR,
    ENEMY_COLOR,
    ENEMY_SHOT_COLOR,
    HEADER_HEIGHT,
    UNWALKABLE_COLOR,
    WALKABLE_COLOR,
    battle_events,
    render_frame,
    terrain_image,
)

Policy = Callable[[Any], Sequence[int]]


# --- episodes --------------------------------------------------------------------------------------
def attack_nearest_policy(env) -> list[int]:
    """:func:`~rlsuite.envs.smac.heuristic.attack_nearest_actions` as a policy of a ``StarCraft2Env``."""
    from rlsuite.envs.smac.heuristic import attack_nearest_actions

    battles = env._battles
    avail = np.asarray(env.get_avail_actions(), dtype=np.int64)[None]
    out = np.zeros((1, env.n_agents), dtype=np.int64)
    attack_nearest_actions(battles.fs, battles.ist, battles.table, avail, env.n_agents, out)
    return out[0].tolist()


def random_policy(seed: int | None = 0) -> Policy:
    """A policy drawing each agent's action uniformly among its available ones (seeded)."""
    rng = np.random.default_rng(seed)

    def policy(env) -> list[int]:
        return [int(rng.choice(np.flatnonzero(row))) for row in np.asarray(env.get_avail_actions())]

    return policy


def _outcome(env, info: dict[str, Any], terminated: bool) -> str:
    """The header caption of a final frame: ``battle won``, ``timeout`` or ``defeat``."""
    if not terminated:
        return ""
    if info.get("battle_won"):
        return "battle won"
    battles = env._battles
    alive = battles.ist[0, :, core.IS_ALIVE]
    n_agents = battles.layout.n_agents
    if battles.steps[0] >= battles.episode_limit and alive[:n_agents].any() and alive[n_agents:].any():
        return "timeout"
    return "defeat"


def record_episode(
    env,
    policy: Policy,
    path: str | os.PathLike,
    max_steps: int | None = None,
    fps: float = 8,
    scale: int = 16,
) -> dict[str, Any]:
    """Reset ``env`` (a ``StarCraft2Env``), play ``policy(env) -> actions`` and record a frame per step.

    The format follows ``path``'s suffix: ``.gif`` (Pillow) or ``.mp4`` (ffmpeg of ``imageio-ffmpeg``)
    through :class:`~rlsuite.wrappers.video.VideoWriter` (``reset`` frame plus one per step), or
    ``.png`` for the last frame only. Stops when the episode ends or after ``max_steps`` steps.
    Returns ``{"frames", "battle_won", "return", "steps", "path"}``.
    """
    from rlsuite.wrappers.video import VIDEO_SUFFIXES, VideoWriter

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (*VIDEO_SUFFIXES, ".png"):
        raise ValueError(f"cannot record to {path}: use a .gif, .mp4 or .png path")
    if max_steps is not None and max_steps < 0:
        raise ValueError(f"max_steps must be >= 0 or None, got {max_steps!r}")
    writer = VideoWriter(path, fps) if suffix != ".png" else None
    try:
        env.reset()
        battles = env._battles
        frame = render_frame(battles, 0, scale)
        frames = 1
        if writer is not None:
            writer.append(frame)
        total, steps, won, terminated = 0.0, 0, False, False
        while not terminated and (max_steps is None or steps < max_steps):
            reward, terminated, info = env.step(policy(env))
            total += float(reward)
            steps += 1
            won = won or bool(info.get("battle_won", False))
            frame = render_frame(battles, 0, scale, caption=_outcome(env, info, terminated) or None)
            frames += 1
            if writer is not None:
                writer.append(frame)
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    if writer is not None:
        writer.close()
    else:
        from PIL import Image

        from rlsuite.core.atomic import atomic_path

        with atomic_path(path) as tmp:
            Image.fromarray(frame).save(tmp, format="PNG")
        frames = 1
    return {"frames": frames, "battle_won": won, "return": total, "steps": steps, "path": str(path)}


def make_policy(policy: str | Policy, seed: int = 0) -> Policy:
    """``"attack_nearest"``, ``"random"`` (seeded) or a callable ``policy(env) -> actions``."""
    if callable(policy):
        return policy
    if policy == "attack_nearest":
        return attack_nearest_policy
    if policy == "random":
        return random_policy(seed)
    raise ValueError(f"unknown policy {policy!r}; accepted: 'attack_nearest', 'random' or a callable")


def render_smac_episode(
    map_name: str,
    out_path: str | os.PathLike,
    seed: int = 0,
    policy: str | Policy = "attack_nearest",
    max_steps: int | None = None,
    fps: float = 8,
    scale: int = 16,
    **env_kwargs: Any,
) -> dict[str, Any]:
    """Play one episode of ``map_name`` with ``policy`` and write it to ``out_path`` (.gif/.mp4/.png)."""
    from rlsuite.envs.smac.env import StarCraft2Env

    env = StarCraft2Env(map_name, seed=seed, **env_kwargs)
    try:
        return record_episode(
            env, make_policy(policy, seed), out_path, max_steps=max_steps, fps=fps, scale=scale
        )
    finally:
        env.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rlsuite.envs.smac.render",
        description="Record a SMAC episode as a top-down GIF, MP4 or PNG.",
    )
    parser.add_argument("map_name")
    parser.add_argument("out_path", help="output file: .gif, .mp4 or .png (last frame)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--policy", choices=("attack_nearest", "random"), default="attack_nearest")
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--fps", type=float, default=8)
    parser.add_argument("--scale", type=int, default=16, help="pixels per map unit")
    args = parser.parse_args(argv)
    result = render_smac_episode(
        args.map_name,
        args.out_path,
        seed=args.seed,
        policy=args.policy,
        max_steps=args.max_steps,
        fps=args.fps,
        scale=args.scale,
    )
    print(
        f"wrote {result['path']}: {result['frames']} frame(s), {result['steps']} steps, "
        f"return {result['return']:.2f}, battle won: {result['battle_won']}"
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
