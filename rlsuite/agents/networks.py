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
STACKED_INITS = ("orthogonal", "pytorch")


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
    init: str = "orthogonal",
) -> nn.Sequential:
    """An MLP. ``init="orthogonal"``: gain sqrt(2) on hidden layers, ``output_gain`` on the last, zero
    biases (the PPO convention); ``init="pytorch"``: ``nn.Linear``'s default uniform init (SAC/TD3's)."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation={activation!r}; accepted values: {', '.join(ACTIVATIONS)}")
    if init not in STACKED_INITS:
        raise ValueError(f"init={init!r}; accepted values: {', '.join(STACKED_INITS)}")
    orthogonal = init == "orthogonal"
    layers: list[nn.Module] = []
    last = in_dim
    for width in hidden_sizes:
        linear = nn.Linear(last, width)
        layers += [orthogonal_init(linear) if orthogonal else linear, ACTIVATIONS[activation]()]
        last = width
    head = nn.Linear(last, out_dim)
    layers.append(orthogonal_init(head, gain=output_gain) if orthogonal else head)
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
    and sliced off. All weights and biases live in one flat parameter (``flat``), split into views on
    each forward, so the optimiser, gradient clipping and ``zero_grad`` each touch a single tensor.
    Layer ``l`` has weight ``[K, fan_in, fan_out]`` (applied as ``x @ W``) and bias ``[K, 1, fan_out]``.
    """

    def __init__(
        self,
        in_dim: int,
        hidden_sizes: Sequence[int],
        out_dims: Sequence[int],
        *,
        activation: str = "tanh",
        output_gains: Sequence[float] | None = None,
        init: str = "orthogonal",
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation={activation!r}; accepted values: {', '.join(ACTIVATIONS)}")
        if init not in STACKED_INITS:
            raise ValueError(f"init={init!r}; accepted values: {', '.join(STACKED_INITS)}")
        self.activation_name = activation
        self.activation = ACTIVATIONS[activation]()
        self.out_dims = list(out_dims)
        k, widths = len(out_dims), [in_dim, *hidden_sizes, max(out_dims)]
        self.shapes: list[tuple[int, ...]] = []
        for fan_in, fan_out in itertools.pairwise(widths):
            self.shapes += [(k, fan_in, fan_out), (k, 1, fan_out)]
        self.sizes = [math.prod(shape) for shape in self.shapes]
        self.flat = nn.Parameter(torch.zeros(sum(self.sizes)))
        if init == "orthogonal":
            self._orthogonal_init(output_gains or [1.0] * k)
        else:
            self._linear_default_init()

    @torch.no_grad()
    def _orthogonal_init(self, output_gains: Sequence[float]) -> None:
        weights = self.tensors()[0::2]
        for layer, weight in enumerate(weights):
            last = layer == len(weights) - 1
            for i in range(weight.shape[0]):
                cols = self.out_dims[i] if last else weight.shape[2]
                block = torch.empty(
                    cols, weight.shape[1]
                )  # nn.Linear layout [out, in], as orthogonal_ expects
                nn.init.orthogonal_(block, output_gains[i] if last else math.sqrt(2))
                weight[i, :, :cols] = block.t()

    @torch.no_grad()
    def _linear_default_init(self) -> None:
        """``nn.Linear``'s default: weights and biases uniform in +-1/sqrt(fan_in) (SB3 and CleanRL's
        SAC/TD3 networks use it)."""
        tensors = self.tensors()
        for weight, bias in zip(tensors[0::2], tensors[1::2]):
            bound = 1.0 / math.sqrt(weight.shape[1])
            weight.uniform_(-bound, bound)
            bias.uniform_(-bound, bound)

    def tensors(self) -> list[torch.Tensor]:
        """Views ``[W0, b0, W1, b1, ...]`` into ``flat``."""
        return [chunk.view(shape) for chunk, shape in zip(self.flat.split(self.sizes), self.shapes)]

    def forward(self, x: torch.Tensor, per_member: bool = False) -> list[torch.Tensor]:
        """Every member on the same input ``x`` ``[B, in]``, or with ``per_member`` member ``k`` on
        ``x[k]`` (``x`` shaped ``[K, B, in]``)."""
        tensors = self.tensors()
        h = x if per_member else x.unsqueeze(0).expand(len(self.out_dims), *x.shape)
        last = len(tensors) // 2 - 1
        for layer in range(last + 1):
            h = torch.baddbmm(tensors[2 * layer + 1], h, tensors[2 * layer])
            if layer < last:
                h = self.activation(h)
        return [h[i, :, :d] for i, d in enumerate(self.out_dims)]


ENCODERS = ("mlp", "conv")


class FlatEncoder(nn.Module):
    """No encoder: the (normalised) flat observation is the feature vector."""

    def __init__(self, obs_dim: int) -> None:
        super().__init__()
        self.out_dim = obs_dim

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return obs


class GridConvEncoder(nn.Module):
    """3x3 convolutions (same padding, ReLU) over a ``(channels, height, width)`` grid, then flattened.

    For one-hot grid observations (Sokoban, Maze, Taxi: one plane per cell type), where an MLP on the
    flattened grid has to learn every position separately; the convolutions share weights across
    positions. Input: flat observations ``[B, C*H*W]`` (as PPO stores them), reshaped here.
    """

    def __init__(self, shape: tuple[int, ...], channels: Sequence[int] = (32, 64)) -> None:
        super().__init__()
        if len(shape) != 3:
            raise ValueError(
                f"encoder='conv' needs (channels, height, width) observations, got shape {tuple(shape)}; "
                "use encoder='mlp' for flat observations"
            )
        if not channels or any(int(c) < 1 for c in channels):
            raise ValueError(f"conv_channels must be positive widths, got {list(channels)}")
        self.shape = tuple(int(s) for s in shape)
        layers: list[nn.Module] = []
        previous = self.shape[0]
        for width in channels:
            conv = nn.Conv2d(previous, int(width), kernel_size=3, padding=1)
            nn.init.orthogonal_(conv.weight, math.sqrt(2))
            nn.init.zeros_(conv.bias)
            layers += [conv, nn.ReLU()]
            previous = int(width)
        self.net = nn.Sequential(*layers, nn.Flatten())
        self.out_dim = previous * self.shape[1] * self.shape[2]

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs.reshape(obs.shape[0], *self.shape))


def make_encoder(kind: str, obs_shape: tuple[int, ...], conv_channels: Sequence[int] = (32, 64)) -> nn.Module:
    """The observation encoder named by ``kind`` (``"mlp"`` or ``"conv"``)."""
    if kind == "mlp":
        return FlatEncoder(int(math.prod(obs_shape)))
    if kind == "conv":
        return GridConvEncoder(obs_shape, conv_channels)
    raise ValueError(f"encoder={kind!r}; accepted values: {', '.join(ENCODERS)}")
