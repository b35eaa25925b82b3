"""Videos of every run kind: real-time, captioned single-agent videos; SMAC and football team videos;
transcripts of text policies; ``rlsuite eval --video`` on a multi-agent run."""

from __future__ import annotations

from typing import ClassVar

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from PIL import Image, ImageSequence

import rlsuite
from rlsuite.cli import main
from rlsuite.config import EnvConfig
from rlsuite.training.media import default_media_path, media_kind, record_policy_media
from rlsuite.wrappers.video import record_video
from rlsuite.wrappers.video_overlay import caption, playback_rate


def gif_frames(path) -> list[tuple[np.ndarray, int]]:
    with Image.open(path) as image:
        return [(np.asarray(f.convert("RGB")), f.info["duration"]) for f in ImageSequence.Iterator(image)]


class FastLamp(gym.Env):
    """A 100 fps env (like MuJoCo's 125 fps Hopper): its frame is all white at step t = lit."""

    metadata: ClassVar[dict] = {"render_modes": ["rgb_array"], "render_fps": 100}

    def __init__(self, render_mode=None):
        self.observation_space = spaces.Box(0.0, 1.0, (1,), np.float32)
        self.action_space = spaces.Discrete(2)
        self.render_mode = render_mode

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.t += 1
        return np.zeros(1, np.float32), 1.0, False, self.t >= 10, {}

    def render(self):
        return np.full((96, 160, 3), 20 * self.t, np.uint8)


class ZeroAgent:
    def act(self, obs, deterministic=True):
        return np.zeros(len(obs), np.int64)


@pytest.fixture(scope="module", autouse=True)
def fast_lamp():
    rlsuite.register("test/FastLamp-v0", entry_point=FastLamp, override=True)


@pytest.mark.parametrize(
    ("env_fps", "skip", "fps"), [(125, 3, 125 / 3), (100, 2, 50), (25, 1, 25), (67, 2, 33.5)]
)
def test_playback_rate_is_real_time_and_at_most_50_fps(env_fps, skip, fps):
    assert playback_rate(env_fps) == (skip, pytest.approx(fps))


def test_caption_draws_a_dark_box_with_text_in_the_corner():
    frame = np.full((120, 200, 3), 128, np.uint8)
    out = caption(frame, "episode 1/3  step 5  return 2.0")
    corner, rest = out[:12, :100], out[60:, :]
    assert (corner == 0).any() and (corner > 200).any()  # box and (antialiased) white text
    assert (rest == 128).all()  # nothing drawn elsewhere
    bottom = caption(frame, "won", bottom=True)
    assert (bottom[:60] == 128).all() and (bottom[-8:, :20] != 128).any()


def test_default_video_plays_in_real_time_with_captions(tmp_path):
    path = tmp_path / "lamp.gif"
    result = record_video(ZeroAgent(), "test/FastLamp-v0", path, episodes=2, seed=0)
    # 100 fps -> every 2nd step at 50 fps: per episode the reset frame and steps 2, 4, ..., 10
    assert result.fps == 50.0 and result.frames == 2 * 6 and result.returns == [10.0, 10.0]
    frames = gif_frames(path)
    assert sum(duration for _, duration in frames) == 12 * 20  # 0.24 s: 2 x 10 steps of 10 ms, real time
    first = frames[0][0]
    assert (first[:8, :40] < 10).any() and (first[:8, :40] > 200).any()  # the caption
    plain = record_video(ZeroAgent(), "test/FastLamp-v0", tmp_path / "plain.gif", overlay=False, fps=100)
    assert plain.frames == 11 and plain.fps == 100.0  # an explicit fps keeps every step


def _mappo(env_id: str):
    from rlsuite.algos.mappo import MAPPO, MAPPOConfig

    return MAPPO(EnvConfig(id=env_id, num_envs=2), MAPPOConfig(num_steps=8, update_epochs=1), device="cpu")


@pytest.mark.parametrize("env_id", ["rlsuite/SMAC-3m-v0", "rlsuite/GRFSim-academy_3_vs_1_with_keeper-v0"])
def test_team_video_of_a_multi_agent_policy(tmp_path, env_id):
    algo = _mappo(env_id)
    try:
        assert media_kind(algo) == "team"
        path = default_media_path(tmp_path, 0, algo).with_suffix(".gif")
        media = record_policy_media(algo, path, episodes=1, seed=3)
    finally:
        algo.close()
    assert media.kind == "video" and media.episodes == 1 and len(media.returns) == 1
    frames = gif_frames(path)
    assert len(frames) > 2
    first, last = frames[0][0], frames[-1][0]
    assert first.shape[0] > 200 and first.std() > 10  # a drawn scene
    assert np.abs(first.astype(int) - last.astype(int)).mean() > 0.5  # the game moved
    assert frames[-1][1] >= 900  # the outcome frame is held for about a second


def test_transcript_of_a_text_policy(tmp_path):
    from rlsuite.agents.text import GPTConfig, SamplingConfig, TextModelConfig
    from rlsuite.algos.llm_sft import LLMSFT, LLMSFTConfig

    env = EnvConfig(
        id="rlsuite/Arithmetic-v0",
        num_envs=4,
        kwargs={"template": "compact", "min_digits": 1, "max_digits": 1, "test_size": 6},
    )
    config = LLMSFTConfig(
        model=TextModelConfig(gpt=GPTConfig(layers=1, heads=2, dim=32, context=48)),
        sampling=SamplingConfig(max_new_tokens=8),
    )
    algo = LLMSFT(env, config, seed=0, device="cpu")
    try:
        assert media_kind(algo) == "transcript"
        media = record_policy_media(algo, tmp_path / "answers.mp4", episodes=3)
    finally:
        algo.close()
    assert media.kind == "transcript" and media.path == tmp_path / "answers.md" and media.episodes == 3
    text = media.path.read_text()
    assert text.startswith("# Transcript: llm_sft on rlsuite/Arithmetic-v0, step 0")
    assert text.count("## Problem ") == 3 and "What is" in text and "accuracy" in text


def test_eval_cli_video_of_a_multi_agent_run(tmp_path, capsys):
    algo = _mappo("rlsuite/SMAC-3m-v0")
    try:
        algo.save(tmp_path / "run" / "checkpoints" / "latest.pt")
    finally:
        algo.close()
    assert main(["eval", str(tmp_path / "run"), "--episodes", "2", "--video", "--video-episodes", "1"]) == 0
    captured = capsys.readouterr()
    videos = list((tmp_path / "run" / "videos").iterdir())
    assert len(videos) == 1 and videos[0].name.startswith("eval-step0.")
    assert "video:" in captured.err and '"win_rate"' in captured.out


@pytest.mark.parametrize(
    ("algo", "env_id", "steps"),
    [
        pytest.param(  # single-agent training videos: test_api.py covers them faster (VideoCallback)
            {"name": "ppo", "num_steps": 64, "minibatch_size": 64, "update_epochs": 1},
            "rlsuite/CartPole-v1",
            256,
            marks=pytest.mark.slow,
        ),
        ({"name": "mappo", "num_steps": 16, "update_epochs": 1}, "rlsuite/SMAC-3m-v0", 64),
    ],
)
def test_training_videos_every_n_steps(tmp_path, algo, env_id, steps):
    import yaml

    config = {
        "experiment": "videos",
        "total_steps": steps,
        "device": "cpu",
        "env": {"id": env_id, "num_envs": 2},
        "algo": algo,
        "eval": {"episodes": 1, "video_every_steps": steps // 2, "video_episodes": 1},
        "log": {"tensorboard": False},
        "runs_root": str(tmp_path),
    }
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(config))
    assert main(["train", str(tmp_path / "exp.yaml"), "--quiet"]) == 0
    run_dir = next((tmp_path / "videos").iterdir())
    names = sorted(p.stem for p in (run_dir / "videos").iterdir())
    assert names == [f"train-step{steps // 2}", f"train-step{steps}"]
