"""``rlsuite export``: standalone TorchScript / ONNX policies that act exactly as the original."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import yaml

from rlsuite.algos.ppo import PPO, PPOConfig
from rlsuite.algos.sac import SAC, SACConfig
from rlsuite.cli import main
from rlsuite.export import ExportError, export_policy, run_exported


def recorded_observations(algo, steps: int = 50, seed: int = 123) -> np.ndarray:
    """Observations of an episode stream played by the original policy (not the export's own sample)."""
    env = algo._make_env(4)
    obs, _ = env.reset(seed=seed)
    rows = []
    for _ in range(steps):
        rows.append(np.asarray(obs, np.float32))
        obs, *_ = env.step(algo.agent.act(obs, deterministic=True))
    env.close()
    return np.concatenate(rows)


def trained(kind: str):
    if kind == "ppo-discrete":
        algo = PPO("rlsuite/CartPole-v1", PPOConfig(num_steps=32, normalize_obs=True), device="cpu")
    elif kind == "ppo-continuous":
        algo = PPO("Pendulum-v1", PPOConfig(num_steps=32, normalize_obs=True), device="cpu")
    else:
        algo = SAC("Pendulum-v1", SACConfig(learning_starts=64, hidden_sizes=(32, 32)), device="cpu")
    algo.learn(256)
    return algo


@pytest.mark.parametrize("kind", ["ppo-discrete", "ppo-continuous", "sac"])
@pytest.mark.parametrize("fmt", ["torchscript", "onnx"])
def test_exported_policy_gives_the_same_actions(tmp_path, kind, fmt):
    if fmt == "onnx":
        pytest.importorskip("onnx")
        pytest.importorskip("onnxruntime")
    algo = trained(kind)
    try:
        if kind.startswith("ppo"):
            assert algo.agent.obs_normalizer.stats.count > 100  # the statistics are not the identity
        result = export_policy(algo, tmp_path / f"policy.{'onnx' if fmt == 'onnx' else 'pt'}", fmt)
        obs = recorded_observations(algo)
        expected = algo.agent.act(obs, deterministic=True)
    finally:
        algo.close()
    got = run_exported(result.path, obs)
    assert got.shape == expected.shape
    if kind == "ppo-discrete":
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    meta = json.loads(result.metadata_path.read_text())
    assert meta["format"] == fmt and meta["input"]["shape"][0] == "batch"


def test_cli_export_writes_a_file_that_runs_without_rlsuite(tmp_path, capsys):
    config = {
        "experiment": "exp",
        "total_steps": 256,
        "device": "cpu",
        "env": {"id": "rlsuite/CartPole-v1", "num_envs": 4},
        "algo": {"name": "ppo", "num_steps": 32, "normalize_obs": True},
        "log": {"tensorboard": False},
        "runs_root": str(tmp_path),
    }
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(config))
    assert main(["train", str(tmp_path / "exp.yaml"), "--quiet"]) == 0
    run_dir = next((tmp_path / "exp").iterdir())
    capsys.readouterr()
    assert main(["export", str(run_dir)]) == 0
    assert "same actions as the policy on 256 observations" in capsys.readouterr().out
    path = run_dir / "export" / "policy.pt"
    script = (
        "import sys, torch; m = torch.jit.load(sys.argv[1]); "
        "a = m(torch.zeros(3, 4)); print(a.tolist()); assert 'rlsuite' not in sys.modules"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)) == 3
    with pytest.raises(SystemExit):  # argparse names the accepted formats
        main(["export", str(run_dir), "--format", "tflite"])
    assert "torchscript" in capsys.readouterr().err


def test_unsupported_policies_are_named():
    from rlsuite.algos.mappo import MAPPO, MAPPOConfig

    algo = MAPPO("rlsuite/SMAC-3m-v0", MAPPOConfig(num_steps=8), device="cpu")
    try:
        with pytest.raises(ExportError, match="export supports single-agent policies"):
            export_policy(algo, "unused.pt")
    finally:
        algo.close()


def test_conv_encoder_policy_exports_too(tmp_path):
    algo = PPO(
        "rlsuite/Maze-v0",
        PPOConfig(num_steps=16, encoder="conv", conv_channels=(8, 8), normalize_obs=True),
        device="cpu",
    )
    try:
        algo.learn(128)
        result = export_policy(algo, tmp_path / "maze.pt")
        obs = recorded_observations(algo, steps=20)
        np.testing.assert_array_equal(run_exported(result.path, obs), algo.agent.act(obs, deterministic=True))
    finally:
        algo.close()
