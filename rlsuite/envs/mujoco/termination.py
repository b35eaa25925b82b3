"""Known termination rules of the Gymnasium MuJoCo tasks, for model rollouts (MBPO's "static fns").

The MuJoCo registrations declare :func:`termination_fn` as their task knowledge, so learners reach a rule
through the registry, ``rlsuite.spec(env_id).termination_rule()``, never by importing this module.

``termination_fn(env_id)`` returns ``fn(obs, act, next_obs) -> bool tensor`` of the leading shape of
``next_obs`` (``[B]`` for ``[B, obs_dim]``), computed from ``next_obs`` alone and with default env kwargs
(Gymnasium v5; v4 uses the same thresholds and the same leading observation entries). The rules are
comparisons on detached tensors, so they are safe inside differentiable rollouts (no gradient flows
through a termination flag). Besides the env rule, a non-finite ``next_obs`` always terminates: a model
can produce one, the simulator does not, so this never disagrees with real transitions.

How each rule maps onto the observation (positions x, or x and y, are excluded by default):

* Hopper: ``obs = [qpos[1:], clip(qvel, -10, 10)]``; healthy iff ``0.7 < z = obs[0]``,
  ``-0.2 < angle = obs[1] < 0.2`` and every entry of ``obs[1:]`` is in (-100, 100). The env tests the
  *unclipped* velocities against +-100, which the clipped observation cannot show: exact except when a
  true joint velocity exceeds 100 in magnitude (not seen in practice).
* Walker2d: ``0.8 < z = obs[0] < 2.0`` and ``-1 < angle = obs[1] < 1``. Exact.
* Ant: ``0.2 <= z = obs[0] <= 1.0`` and a finite state (here: a finite observation). Exact.
* Humanoid: ``1.0 < z = obs[0] < 2.0``. Exact.
* InvertedPendulum: terminates iff the observation is not finite or ``|angle| = |obs[1]| > 0.2``. Exact.
* InvertedDoublePendulum: the env terminates iff the height of the "tip" site is ``<= 1``. From the XML,
  the cart sits at height 0, pole 1 (hinge angle ``a1``) is 0.6 long and pole 2 (hinge angle ``a2``,
  relative to pole 1) carries the tip 0.6 further, so ``tip_z = 0.6 cos(a1) + 0.6 cos(a1 + a2)``; the
  observation holds ``sin``/``cos`` of both angles (``obs[1:3]``, ``obs[3:5]``), so
  ``cos(a1 + a2) = cos a1 cos a2 - sin a1 sin a2``. Exact up to float rounding at ``tip_z == 1``.
* HalfCheetah, Swimmer, Reacher, Pusher, HumanoidStandup: never terminate.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import torch

TerminationFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


class UnknownTaskError(KeyError):
    """A task without a known termination rule; the message names the known tasks."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0])


def _finite(next_obs: torch.Tensor) -> torch.Tensor:
    return torch.isfinite(next_obs).all(dim=-1)


def _between(x: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """``low < x < high`` (strict, as the envs test it)."""
    return (x > low) & (x < high)


def hopper(obs: torch.Tensor, act: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
    s = next_obs.detach()
    healthy = _between(s[..., 1:], -100.0, 100.0).all(dim=-1)
    healthy &= s[..., 0] > 0.7
    healthy &= _between(s[..., 1], -0.2, 0.2)
    return ~(healthy & _finite(s))


def walker2d(obs: torch.Tensor, act: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
    s = next_obs.detach()
    healthy = _between(s[..., 0], 0.8, 2.0) & _between(s[..., 1], -1.0, 1.0)
    return ~(healthy & _finite(s))


def ant(obs: torch.Tensor, act: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
    s = next_obs.detach()
    healthy = (s[..., 0] >= 0.2) & (s[..., 0] <= 1.0)
    return ~(healthy & _finite(s))


def humanoid(obs: torch.Tensor, act: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
    s = next_obs.detach()
    return ~(_between(s[..., 0], 1.0, 2.0) & _finite(s))


def inverted_pendulum(obs: torch.Tensor, act: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
    s = next_obs.detach()
    return ~_finite(s) | (s[..., 1].abs() > 0.2)


def inverted_double_pendulum(obs: torch.Tensor, act: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
    s = next_obs.detach()
    sin1, sin2, cos1, cos2 = s[..., 1], s[..., 2], s[..., 3], s[..., 4]
    tip_z = 0.6 * cos1 + 0.6 * (cos1 * cos2 - sin1 * sin2)
    return ~_finite(s) | (tip_z <= 1.0)


def never(obs: torch.Tensor, act: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
    return torch.zeros(next_obs.shape[:-1], dtype=torch.bool, device=next_obs.device)


TERMINATION_FNS: dict[str, TerminationFn] = {
    "Hopper": hopper,
    "Walker2d": walker2d,
    "Ant": ant,
    "Humanoid": humanoid,
    "InvertedPendulum": inverted_pendulum,
    "InvertedDoublePendulum": inverted_double_pendulum,
    "HalfCheetah": never,
    "Swimmer": never,
    "Reacher": never,
    "Pusher": never,
    "HumanoidStandup": never,
}
SUPPORTED_VERSIONS = ("v4", "v5")
_ID = re.compile(r"^(?:[\w.-]+/)?(?P<name>[A-Za-z0-9_]+?)(?:-(?P<version>v\d+))?$")


def termination_fn(env_id: str, *, default: str | None = None) -> TerminationFn:
    """The termination rule for ``env_id`` (``"Hopper-v5"``, ``"rlsuite/Hopper-v5"``, ``"Hopper"``).

    Unknown tasks raise ``UnknownTaskError`` (a ``KeyError``) naming the known ones, unless
    ``default="never"`` (then they never terminate). Versions other than v4/v5 raise: their rules or
    observations may differ.
    """
    if default not in (None, "never"):
        raise ValueError(f"default={default!r}; accepted values: None, 'never'")
    match = _ID.match(env_id)
    name = match["name"] if match else env_id
    version = match["version"] if match else None
    if name in TERMINATION_FNS:
        if version is not None and version not in SUPPORTED_VERSIONS:
            raise UnknownTaskError(
                f"{env_id!r}: termination rules are written for {'/'.join(SUPPORTED_VERSIONS)} of {name}"
            )
        return TERMINATION_FNS[name]
    if default == "never":
        return never
    raise UnknownTaskError(
        f"no known termination function for {env_id!r}; known tasks: {', '.join(TERMINATION_FNS)} "
        "(pass default='never' for a task that never terminates)"
    )
