"""A user-registered env from an experiment's ``imports:``: train, eval and resume from other folders."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from rlsuite.cli import main
from rlsuite.config import ConfigError
from rlsuite.training.user_modules import IMPORTS_FILE, import_user_modules

ENV_MODULE = '''
import gymnasium as gym
import numpy as np
from gymnasium import spaces

import rlsuite


class Beacon(gym.Env):
    """Observe which of two lamps is lit; reward 1 for pressing it; 10 steps."""

    metadata = {{"render_modes": ["rgb_array"], "render_fps": 10}}

    def __init__(self, render_mode=None):
        self.observation_space = spaces.Box(0.0, 1.0, (2,), np.float32)
        self.action_space = spaces.Discrete(2)
        self.render_mode = render_mode

    def _obs(self):
        obs = np.zeros(2, np.float32)
        obs[self.lit] = 1.0
        return obs

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.lit = 0, int(self.np_random.integers(2))
        return self._obs(), {{}}

    def step(self, action):
        reward = float(int(action) == self.lit)
        self.t += 1
        self.lit = int(self.np_random.integers(2))
        return self._obs(), reward, False, self.t >= 10, {{}}

    def render(self):
        frame = np.zeros((16, 16, 3), np.uint8)
        frame[:, 8 * self.lit : 8 * self.lit + 8] = 255
        return frame


rlsuite.register("{namespace}/Beacon-v0", entry_point=Beacon, max_episode_steps=10)
'''


@pytest.fixture
def project(tmp_path, monkeypatch):
    """``tmp/proj/<pkg>/envs.py`` registering ``<pkg>/Beacon-v0`` and ``tmp/proj/experiments/beacon.yaml``."""
    monkeypatch.setattr(sys, "path", list(sys.path))  # undo the sys.path entries the import adds
    package = f"lab_{uuid.uuid4().hex[:8]}"
    root = tmp_path / "proj"
    (root / package).mkdir(parents=True)
    (root / package / "__init__.py").write_text("")
    (root / package / "envs.py").write_text(ENV_MODULE.format(namespace=package))
    (root / "experiments").mkdir()
    config = {
        "experiment": "beacon",
        "seed": 1,
        "total_steps": 256,
        "device": "cpu",
        "imports": [f"{package}.envs"],
        "env": {"id": f"{package}/Beacon-v0", "num_envs": 2},
        "algo": {"name": "ppo", "num_steps": 64, "minibatch_size": 64, "update_epochs": 1},
        "eval": {"episodes": 2},
        "log": {"tensorboard": False},
        "runs_root": str(tmp_path / "runs"),
    }
    (root / "experiments" / "beacon.yaml").write_text(yaml.safe_dump(config))
    yield root, package
    for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        del sys.modules[name]


def test_train_from_another_folder_then_eval_and_video_from_a_third(project, tmp_path, monkeypatch, capsys):
    root, package = project
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # neither the project folder nor the experiments folder
    assert main(["train", str(root / "experiments" / "beacon.yaml"), "--quiet"]) == 0
    run_dir = next((tmp_path / "runs" / "beacon").iterdir())
    recorded = json.loads((run_dir / IMPORTS_FILE).read_text())["paths"]
    assert recorded == {f"{package}.envs": str(root.resolve())}

    # A fresh interpreter state: the module is gone from sys.modules and sys.path.
    for name in [m for m in sys.modules if m.startswith(package)]:
        del sys.modules[name]
    sys.path[:] = [p for p in sys.path if p != str(root.resolve())]
    import gymnasium as gym

    from rlsuite.envs import registry

    monkeypatch.delitem(registry._REGISTRY, f"{package}/Beacon-v0")
    monkeypatch.delitem(gym.registry, f"{package}/Beacon-v0")
    capsys.readouterr()
    monkeypatch.chdir(tmp_path)
    video = tmp_path / "beacon.gif"
    assert main(["eval", str(run_dir), "--episodes", "2", "--video", str(video)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["episodes"] == 2 and 0.0 <= report["return_mean"] <= 10.0
    assert video.stat().st_size > 0


def test_module_found_nowhere_names_where_it_was_sought(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"cannot find module 'nolab_xyz\.envs'.*PYTHONPATH"):
        import_user_modules(["nolab_xyz.envs"], [tmp_path])


def test_unknown_namespace_hints_at_imports():
    import rlsuite

    with pytest.raises(rlsuite.UnknownEnvError, match=r"nothing is registered under 'nolab/'.*imports:"):
        rlsuite.make("nolab/Thing-v0")


def test_search_dirs_include_parents(project, tmp_path, monkeypatch):
    root, package = project
    monkeypatch.chdir(tmp_path)
    found = import_user_modules([f"{package}.envs"], [Path(root / "experiments")])
    assert found == {f"{package}.envs": str(root.resolve())}
