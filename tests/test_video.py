"""Video recording: MuJoCo frames to .mp4 (decoded back), .gif, atomic writes, errors, ``eval --video``."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from PIL import Image, ImageSequence

from rlsuite.cli import main
from rlsuite.wrappers.video import (
    VideoError,
    VideoWriter,
    ensure_headless_gl,
    gl_backend_available,
    mp4_available,
    record_video,
)

MUJOCO_ID = "rlsuite/InvertedPendulum-v5"  # the cheapest MuJoCo scene to render in software GL


class RandomAgent:
    """The Agent contract (batch in, batch out) with uniform random actions in [-1, 1]."""

    def __init__(self, action_dim: int = 1, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.action_dim = action_dim
        self.calls: list[tuple[int, ...]] = []

    def act(self, obs, deterministic=False):
        self.calls.append(np.shape(obs))
        return self.rng.uniform(-1.0, 1.0, (len(obs), self.action_dim)).astype(np.float32)


class CartPoleAgent:
    def act(self, obs, deterministic=False):
        return (np.asarray(obs)[:, 2] > 0).astype(np.int64)  # push towards the side the pole leans to


@pytest.fixture(scope="module")
def mujoco_gl():
    ensure_headless_gl()
    ok, reason = gl_backend_available()
    if not ok:
        pytest.skip(f"no MuJoCo GL backend here: {reason}")


needs_mp4 = pytest.mark.skipif(not mp4_available(), reason="imageio-ffmpeg (ffmpeg binary) is not installed")


def decode_mp4(path):
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    width, height = meta["size"]
    frames = [np.frombuffer(raw, np.uint8).reshape(height, width, 3).copy() for raw in reader]
    return meta, frames


def gif_frames(path):
    with Image.open(path) as image:
        frames = [(np.asarray(f.convert("RGB")), f.info["duration"]) for f in ImageSequence.Iterator(image)]
    return frames


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@needs_mp4
def test_mujoco_episodes_to_mp4_decode_back(tmp_path, mujoco_gl):
    agent = RandomAgent()
    path = tmp_path / "clips" / "pendulum.mp4"
    result = record_video(agent, MUJOCO_ID, path, episodes=2, width=64, height=48, seed=3)
    assert result.path == path and path.is_file() and path.stat().st_size > 0
    assert len(result.lengths) == 2 and not result.truncated
    assert result.frames == sum(result.lengths) + 2  # a frame after each reset and after each step
    assert all(shape == (1, 4) for shape in agent.calls)  # a batch of one observation
    assert len(agent.calls) == sum(result.lengths)
    meta, frames = decode_mp4(path)
    assert meta["fps"] == pytest.approx(25.0)  # InvertedPendulum's render_fps
    assert len(frames) == result.frames
    assert frames[0].shape == (48, 64, 3)
    assert max(np.abs(f.astype(int) - frames[0]).mean() for f in frames) > 1.0  # the scene moves
    assert frames[0].std() > 5.0  # a picture, not a blank frame
    assert leftovers(path.parent) == []  # the temp file was renamed, not left behind


@needs_mp4
def test_max_frames_and_odd_sizes(tmp_path, mujoco_gl):
    path = tmp_path / "short.mp4"
    result = record_video(
        RandomAgent(), MUJOCO_ID, path, episodes=50, width=33, height=21, max_frames=9, fps=10
    )
    assert result.frames == 9 and result.truncated
    meta, frames = decode_mp4(path)
    assert len(frames) == 9 and meta["fps"] == pytest.approx(10.0)
    assert frames[0].shape == (22, 34, 3)  # padded to even sides for yuv420p


def test_gif_of_a_numpy_rendered_env(tmp_path):
    path = tmp_path / "cartpole.gif"
    result = record_video(CartPoleAgent(), "rlsuite/CartPole-v1", path, max_frames=12, width=120, height=80)
    assert result.frames == 12 and result.fps == 50.0
    frames = gif_frames(path)
    assert frames[0][0].shape == (80, 120, 3)
    assert 1 < len(frames) <= 12  # identical consecutive frames are merged ...
    assert sum(duration for _, duration in frames) == 12 * 20  # ... keeping the total duration


def test_video_writer_on_its_own(tmp_path):
    frames = [np.full((30, 40, 3), 10 * i, np.uint8) for i in range(6)]
    with VideoWriter(tmp_path / "ramp.gif", fps=10) as video:
        for frame in frames:
            video.append(frame)
        assert not (tmp_path / "ramp.gif").exists()  # nothing in place before close
    umask = os.umask(0o022)
    os.umask(umask)
    assert (tmp_path / "ramp.gif").stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600
    decoded = gif_frames(tmp_path / "ramp.gif")
    assert len(decoded) == 6 and all(duration == 100 for _, duration in decoded)
    assert [int(f[0, 0, 0]) for f, _ in decoded] == [10 * i for i in range(6)]
    if mp4_available():
        with VideoWriter(tmp_path / "ramp.mp4", fps=10) as video:
            for frame in frames:
                video.append(np.repeat(frame[:, :, :1], 4, axis=2))  # RGBA: alpha is dropped
        _, decoded = decode_mp4(tmp_path / "ramp.mp4")
        assert len(decoded) == 6 and decoded[0].shape == (30, 40, 3)
        assert abs(int(decoded[-1].mean()) - 50) <= 3


def test_a_failed_recording_leaves_the_old_file(tmp_path):
    path = tmp_path / "keep.gif"
    path.write_bytes(b"previous")
    with pytest.raises(RuntimeError, match="boom"), VideoWriter(path) as video:
        video.append(np.zeros((8, 8, 3), np.uint8))
        raise RuntimeError("boom")
    assert path.read_bytes() == b"previous" and leftovers(tmp_path) == []
    video = VideoWriter(path)
    video.append(np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="shape"):
        video.append(np.zeros((8, 9, 3), np.uint8))
    video.abort()
    with pytest.raises(ValueError, match="no frames"):
        VideoWriter(tmp_path / "empty.gif").close()
    assert path.read_bytes() == b"previous" and leftovers(tmp_path) == []
    assert not (tmp_path / "empty.gif").exists()


def test_bad_suffix_and_envs_that_cannot_render(tmp_path):
    for bad in ("clip.avi", "clip"):
        with pytest.raises(ValueError, match=r"accepted suffixes: \.mp4, \.gif"):
            record_video(RandomAgent(), "rlsuite/CartPole-v1", tmp_path / bad)
    with pytest.raises(ValueError, match=r"'test/IdentityDiscrete-v0'.*render"):
        record_video(RandomAgent(), "test/IdentityDiscrete-v0", tmp_path / "x.gif")
    assert list(tmp_path.iterdir()) == []


def test_gl_probe_reports_a_reason_instead_of_crashing():
    ok, reason = gl_backend_available("no-such-backend")
    assert not ok and "MUJOCO_GL=no-such-backend" in reason


def test_eval_cli_writes_a_video(tmp_path, mujoco_gl, capsys):
    from rlsuite.training.experiment import build_experiment, train

    config = build_experiment(
        {
            "experiment": "video",
            "seed": 1,
            "total_steps": 256,
            "device": "cpu",
            "run_dir": str(tmp_path / "run"),
            "env": {"id": MUJOCO_ID, "num_envs": 2},
            "algo": {"name": "ppo", "num_steps": 64, "minibatch_size": 64, "update_epochs": 1},
            "eval": {"episodes": 1},
            "log": {"tensorboard": False, "progress": False},
        }
    )
    run = train(config, quiet=True)
    capsys.readouterr()

    assert main(["eval", str(run), "--episodes", "1", "--video", "--video-episodes", "2"]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    suffix = ".mp4" if mp4_available() else ".gif"
    expected = run / "videos" / f"eval-step256{suffix}"
    assert report["video"] == str(expected) and f"video: {expected}" in err
    assert report["episodes"] == 1 and "return_mean" in report
    assert expected.stat().st_size > 0

    gif = tmp_path / "out" / "pendulum.gif"
    checkpoint = run / "checkpoints" / "latest.pt"
    assert main(["eval", str(checkpoint), "--episodes", "1", "--video", str(gif), "--fps", "10"]) == 0
    frames = gif_frames(gif)
    assert len(frames) > 1 and frames[0][0].shape == (480, 480, 3) and frames[0][1] == 100

    assert main(["eval", str(run), "--video", str(tmp_path / "clip.webm")]) == 2
    assert "accepted suffixes: .mp4, .gif" in capsys.readouterr().err


def test_missing_ffmpeg_is_a_clear_error(tmp_path, monkeypatch):
    import rlsuite.wrappers.video as video

    monkeypatch.setattr(video, "mp4_available", lambda: False)
    with pytest.raises(VideoError, match="imageio-ffmpeg"):
        VideoWriter(tmp_path / "x.mp4")
    assert video.default_video_path(tmp_path, 7) == tmp_path / "videos" / "eval-step7.gif"


def test_ensure_headless_gl_choice(monkeypatch):
    import sys

    import rlsuite.wrappers.video as video

    probed = []

    def fake_probe(backend=None, **_):
        probed.append(backend)
        return backend == "osmesa", f"MUJOCO_GL={backend}: fake"

    monkeypatch.setattr(video, "gl_backend_available", fake_probe)
    monkeypatch.setattr(video.sys, "platform", "linux")
    for name in ("MUJOCO_GL", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setitem(sys.modules, "mujoco", sys.modules.get("mujoco", video))  # "already imported"
    with pytest.warns(RuntimeWarning, match="after mujoco was imported"):
        assert ensure_headless_gl() == "osmesa"  # EGL cannot render here, OSMesa can
    assert probed == ["egl", "osmesa"] and os.environ["MUJOCO_GL"] == "osmesa"

    monkeypatch.setenv("MUJOCO_GL", "glfw")  # a choice already made is kept, unprobed
    assert ensure_headless_gl() == "glfw" and probed == ["egl", "osmesa"]
    monkeypatch.delenv("MUJOCO_GL")
    monkeypatch.setenv("DISPLAY", ":0")  # a display: MuJoCo's default works, nothing is set
    assert ensure_headless_gl() is None and "MUJOCO_GL" not in os.environ
    monkeypatch.delenv("DISPLAY")
    monkeypatch.setattr(video, "gl_backend_available", lambda backend=None, **_: (False, "none"))
    assert ensure_headless_gl() is None and "MUJOCO_GL" not in os.environ
