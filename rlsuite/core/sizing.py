"""Is this config sized for a GPU? A rough compute estimate, and a warning when the device is a CPU.

Gradient-step cost is estimated as ``6 x trained parameters x samples`` floating-point operations
(forward and backward through dense layers), with samples per env step taken from the config:
``batch_size x utd_ratio`` for off-policy learners (``batch_size`` per step for offline learners,
whose steps are gradient steps), ``update_epochs`` passes for PPO-style learners. Divided by this
CPU's measured matrix-multiply rate, it gives the order of magnitude of the run's time: enough to
tell 10 minutes from 400 hours (EDAC's 50-critic ensemble at paper size on a 2-core CPU).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch

# Warn when a CPU run is estimated to need longer than this.
WARN_SECONDS = 2 * 3600.0
# A fast desktop CPU's dense float32 rate; runs cheaper than WARN_SECONDS at this rate skip the benchmark.
OPTIMISTIC_CPU_FLOPS = 2e11


@dataclass(frozen=True)
class ComputeEstimate:
    """What one run costs in gradient-step arithmetic, and how long that takes at ``flops_per_second``."""

    parameters: int  # trained parameters (target networks left out)
    samples_per_step: float  # samples through the networks per env (or gradient) step
    total_steps: int
    flops_per_second: float

    @property
    def total_flops(self) -> float:
        return 6.0 * self.parameters * self.samples_per_step * self.total_steps

    @property
    def seconds(self) -> float:
        return self.total_flops / self.flops_per_second


def trained_parameters(algo: Any) -> int:
    """Parameters of the algorithm's torch modules, each counted once, target networks excluded."""
    seen: set[int] = set()
    total = 0
    for name, value in vars(algo).items():
        if not isinstance(value, torch.nn.Module) or "target" in name or "reference" in name:
            continue
        for parameter in value.parameters():
            if id(parameter) not in seen and parameter.requires_grad:
                seen.add(id(parameter))
                total += parameter.numel()
    return total


def samples_per_step(algo: Any) -> float | None:
    """Samples pushed through the networks per step of ``total_steps``; None for unknown learners."""
    config = algo.config
    if getattr(algo.capabilities, "text", False):
        return None  # token counts, not samples, set an LLM's cost
    if hasattr(config, "batch_size"):
        utd = 1.0 if algo.capabilities.offline else float(getattr(config, "utd_ratio", 1.0))
        return float(config.batch_size) * utd
    if hasattr(config, "update_epochs"):
        return float(config.update_epochs) + 1.0 / 3.0  # the epochs, plus the rollout's forward pass
    return None


def cpu_flops_per_second(size: int = 512, repeats: int = 5) -> float:
    """This machine's float32 matrix-multiply rate with torch's thread count (best of ``repeats``, ~0.1 s).

    The best repeat is taken so that a moment of load from other processes does not make every
    estimate pessimistic.
    """
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - started)
    return 2.0 * size**3 / max(best, 1e-9)


def estimate(algo: Any, total_steps: int, flops_per_second: float | None = None) -> ComputeEstimate | None:
    samples = samples_per_step(algo)
    if samples is None:
        return None
    remaining = max(total_steps - algo.global_step, 0)
    params = trained_parameters(algo)
    optimistic = ComputeEstimate(params, samples, remaining, OPTIMISTIC_CPU_FLOPS)
    if flops_per_second is None:
        if optimistic.seconds < WARN_SECONDS:
            return optimistic  # small enough on any CPU: no benchmark needed
        flops_per_second = cpu_flops_per_second()
    return ComputeEstimate(params, samples, remaining, flops_per_second)


def _duration(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} minutes"
    if seconds < 72 * 3600:
        return f"{seconds / 3600:.0f} hours"
    return f"{seconds / 86400:.0f} days"


def gpu_sized_warning(algo: Any, total_steps: int, flops_per_second: float | None = None) -> str | None:
    """A warning when ``algo`` runs on a CPU and its estimated time passes :data:`WARN_SECONDS`."""
    if torch.device(algo.device).type != "cpu":
        return None
    found = estimate(algo, total_steps, flops_per_second)
    if found is None or found.seconds < WARN_SECONDS:
        return None
    return (
        f"this config looks sized for a GPU: {found.parameters / 1e6:.1f}M trained parameters x "
        f"{found.samples_per_step:g} samples per step x {found.total_steps:,} steps is about "
        f"{found.total_flops:.1e} FLOPs, roughly {_duration(found.seconds)} on this CPU "
        f"({found.flops_per_second / 1e9:.0f} GFLOP/s measured). Run it with device=cuda on a GPU, or "
        "shrink it (fewer steps, a smaller ensemble or batch) for a CPU"
    )
