"""Schedules shared by the learners: linear, linearly annealed, cosine and warm-up factors.

Each is a pure function of a step counter (or a small callable object), so a resumed run recomputes the
same value from its restored counters; nothing here holds state a checkpoint must carry.
"""

from __future__ import annotations

import math


class LinearSchedule:
    """``start`` -> ``end`` linearly over ``duration`` steps, then constant (e.g. epsilon-greedy)."""

    def __init__(self, start: float, end: float, duration: int) -> None:
        if duration < 0:
            raise ValueError(f"duration must be >= 0, got {duration}")
        self.start, self.end, self.duration = start, end, duration

    def __call__(self, step: int) -> float:
        if self.duration == 0 or step >= self.duration:
            return self.end
        return self.start + (self.end - self.start) * step / self.duration


def linear_anneal(iteration: int, total_steps: int, steps_per_iteration: int) -> float:
    """Factor 1 -> 0, linear in ``iteration``, over the iterations a run of ``total_steps`` takes.

    ``num_iterations = ceil(total_steps / steps_per_iteration)`` (at least 1); the factor is
    ``max(0, 1 - iteration / num_iterations)``, CleanRL's PPO learning-rate annealing. With no planned
    horizon (``total_steps <= 0``) it stays 1.
    """
    if total_steps <= 0:
        return 1.0
    num_iterations = max(1, -(-total_steps // steps_per_iteration))
    return max(0.0, 1.0 - iteration / num_iterations)


def cosine_anneal(step: int, start: float, end: float, duration: int) -> float:
    """``start`` -> ``end`` along half a cosine over ``duration`` steps, then ``end`` (SGDR without restarts,
    Loshchilov and Hutter, 2017, arXiv:1608.03983; torch's ``CosineAnnealingLR``):

        value = end + (start - end) (1 + cos(pi min(step, duration) / duration)) / 2
    """
    progress = min(step, duration) / duration
    return end + 0.5 * (start - end) * (1.0 + math.cos(math.pi * progress))


def warmup_factor(step: int, warmup_steps: int) -> float:
    """Linear warm-up to 1 over ``warmup_steps`` optimizer steps, then constant (ORZ's schedule)."""
    return min(1.0, (step + 1) / warmup_steps) if warmup_steps else 1.0
