"""Convolutional encoders for grid observations (Sokoban, Maze, Taxi), selectable by config."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rlsuite.agents.networks import FlatEncoder, GridConvEncoder, make_encoder
from rlsuite.algos.ppo import PPO, AutogradPPOUpdate, PPOConfig
from rlsuite.config import ConfigError
from rlsuite.training.experiment import load_experiment


def test_conv_encoder_shares_weights_across_positions():
    encoder = GridConvEncoder((3, 5, 5), channels=(4,))
    assert encoder.out_dim == 4 * 5 * 5
    grid = torch.zeros(1, 3, 5, 5)
    grid[0, 1, 1, 1] = 1.0  # one cell of type 1 at (1, 1)...
    shifted = torch.zeros(1, 3, 5, 5)
    shifted[0, 1, 2, 3] = 1.0  # ... and at (2, 3)
    a = encoder(grid.reshape(1, -1)).reshape(4, 5, 5)
    b = encoder(shifted.reshape(1, -1)).reshape(4, 5, 5)
    # the same features, moved with the cell (translation equivariance of convolutions, away from edges)
    torch.testing.assert_close(a[:, 1, 1], b[:, 2, 3])
    torch.testing.assert_close(a[:, 0:3, 0:3], b[:, 1:4, 2:5])
    assert isinstance(make_encoder("mlp", (3, 5, 5)), FlatEncoder)
    with pytest.raises(ValueError, match=r"needs \(channels, height, width\)"):
        make_encoder("conv", (8,))


@pytest.mark.parametrize("env_id", ["rlsuite/Sokoban-v0", "rlsuite/Maze-v0", "rlsuite/Taxi-v0"])
def test_ppo_trains_with_the_conv_encoder_on_every_grid_world(env_id, tmp_path):
    algo = PPO(env_id, PPOConfig(num_steps=16, encoder="conv", conv_channels=(8, 16)), device="cpu")
    try:
        assert isinstance(algo.agent.encoder, GridConvEncoder)
        assert algo.rollout_policy is None  # the torch paths
        assert isinstance(algo.minibatch_update, AutogradPPOUpdate)
        before = [p.detach().clone() for p in algo.agent.encoder.parameters()]
        algo.learn(256)
        after = list(algo.agent.encoder.parameters())
        assert any(not torch.equal(x, y) for x, y in zip(before, after))  # the torso learns
        obs, _ = algo.env.reset(seed=0)
        actions, _ = algo.predict(obs)
        algo.save(tmp_path / "conv.pt")
        again = PPO.load(tmp_path / "conv.pt", device="cpu")
        np.testing.assert_array_equal(again.predict(obs)[0], actions)
        again.close()
    finally:
        algo.close()


def test_numpy_backends_refuse_the_conv_encoder():
    config = PPOConfig(encoder="conv", rollout_backend="numpy")
    assert PPO.config_problems(config) == [
        "algo.rollout_backend: 'numpy' implements the MLP encoder only; use 'torch' (or 'auto') with "
        "encoder='conv'"
    ]
    with pytest.raises(ConfigError, match=r"algo\.encoder: expected one of 'mlp', 'conv'"):
        load_experiment("experiments/ppo/sokoban_conv.yaml", ["algo.encoder=cnn"])
