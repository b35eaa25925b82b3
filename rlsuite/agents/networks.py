"""Network building blocks shared by agents."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from rlsuite.core.running_stats import RunningMeanStd

ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU, "silu": nn.SiLU}


def orthogonal_init(layer: nn.Linear, gain: float = math.sqrt(2), bias: float = 0.0) -> nn.Linear:
    nn.init.orthogonal_(layer.weight, gain)
    nn.init.constant_(layer.bias, bias)
    return layer


def mlp(
    in_dim: int,
    hidden_sizes: Sequence[int],
    out_dim: int,
    *,
    activation: str = "tanh",
    output_gain: float = 1.0,
) -> nn.Sequential:
    """An MLP with orthogonal initialisation: gain sqrt(2) on hidden layers, ``output_gain`` on the last."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation={activation!r}; accepted values: {', '.join(ACTIVATIONS)}")
    layers: list[nn.Module] = []
    last = in_dim
    for width in hidden_sizes:
        layers += [orthogonal_init(nn.Linear(last, width)), ACTIVATIONS[activation]()]
        last = width
    layers.append(orthogonal_init(nn.Linear(last, out_dim), gain=output_gain))
    return nn.Sequential(*layers)


class ObservationNormalizer(nn.Module):
    """Standardises observations with running statistics, clipped to ``[-clip, clip]``.

    Statistics are updated explicitly by the learner (``update``) and saved with the module (extra state),
    so a saved agent normalises exactly as it did in training.
    """

    def __init__(self, shape: tuple[int, ...], clip: float = 10.0, enabled: bool = True) -> None:
        super().__init__()
        self.enabled = enabled
        self.clip = clip
        self.stats = RunningMeanStd(shape)
        self._cache: tuple[torch.Tensor, torch.Tensor] | None = None

    def update(self, obs: np.ndarray) -> None:
        if self.enabled:
            self.stats.update(obs)
            self._cache = None

    def normalize_numpy(self, obs: np.ndarray) -> np.ndarray:
        if not self.enabled:
            return np.asarray(obs, np.float32)
        scaled = (obs - self.stats.mean) / np.sqrt(self.stats.var + 1e-8)
        return np.clip(scaled, -self.clip, self.clip).astype(np.float32)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if not self.enabled:
            return obs
        if self._cache is None or self._cache[0].device != obs.device:
            mean = torch.as_tensor(self.stats.mean, dtype=torch.float32, device=obs.device)
            std = torch.as_tensor(np.sqrt(self.stats.var + 1e-8), dtype=torch.float32, device=obs.device)
            self._cache = (mean, std)
        mean, std = self._cache
        return ((obs - mean) / std).clamp(-self.clip, self.clip)

    def get_extra_state(self) -> dict:
        return {"enabled": self.enabled, "clip": self.clip, "stats": self.stats.state_dict()}

    def set_extra_state(self, state: dict) -> None:
        self.enabled, self.clip = state["enabled"], state["clip"]
        self.stats.load_state_dict(state["stats"])
        self._cache = None


class StackedMLP(nn.Module):
    """K same-shaped MLPs evaluated together with batched matmuls: one op per layer for all K.

    Used for PPO's separate actor and critic: mathematically two independent MLPs (each with its own
    orthogonal init), at half the operator count of running them one after the other, which is what
    dominates on a CPU at rollout batch sizes. Heads may differ in width; narrower ones are zero-padded
    and sliced off.
    """

    def __init__(
        self,
        in_dim: int,
        hidden_sizes: Sequence[int],
        out_dims: Sequence[int],
        *,
        activation: str = "tanh",
        output_gains: Sequence[float],
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation={activation!r}; accepted values: {', '.join(ACTIVATIONS)}")
        self.out_dims = list(out_dims)
        self.activation = ACTIVATIONS[activation]()
        widths = [in_dim, *hidden_sizes, max(out_dims)]
        k = len(out_dims)
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for layer, (fan_in, fan_out) in enumerate(itertools.pairwise(widths)):
            weight = torch.zeros(k, fan_in, fan_out)
            for i in range(k):
                last = layer == len(widths) - 2
                cols = out_dims[i] if last else fan_out
                gain = output_gains[i] if last else math.sqrt(2)
                # Same init as nn.Linear + orthogonal_: an orthogonal [out, in] matrix, stored transposed.
                block = torch.empty(cols, fan_in)
                nn.init.orthogonal_(block, gain)
                weight[i, :, :cols] = block.t()
            self.weights.append(nn.Parameter(weight))
            self.biases.append(nn.Parameter(torch.zeros(k, 1, fan_out)))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        h = x.unsqueeze(0).expand(len(self.out_dims), *x.shape)
        last = len(self.weights) - 1
        for i, (weight, bias) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(bias, h, weight)
            if i < last:
                h = self.activation(h)
        return [h[i, :, :d] for i, d in enumerate(self.out_dims)]
