"""``rlsuite export RUN --format torchscript|onnx``: the acting policy as one standalone file.

The exported module maps a batch of raw observations ``float32 [N, *obs_shape]`` to the actions the env
takes: observation normalisation (PPO's running statistics, TD3+BC's dataset statistics) is baked in as
constants, then the policy network, then the action mapping (argmax plus the space's offset for discrete
actions; the mean clipped to the bounds for PPO's Gaussian; ``tanh`` rescaled to the bounds for SAC,
TD3, MPDP, TD3+BC, SAC-N/EDAC and SO2). It is deterministic: the action rlsuite evaluates with.

* TorchScript (``.pt``): ``torch.jit.load(path)(obs)``, no rlsuite needed (torch 2.9+ calls TorchScript
  deprecated in favour of ``torch.export``; its files still load in torch and libtorch).
* ONNX (``.onnx``, extra ``export``: ``pip install 'rlsuite[export]'``): input ``obs``, output
  ``action``, dynamic batch size; runs in onnxruntime.

A JSON file beside the export records the env, the observation shape and the action space. After writing,
the export is run on observations from the env and compared with the original policy.
"""

from __future__ import annotations

import argparse
import copy
import json
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rlsuite.core.atomic import atomic_path, atomic_write_text

FORMATS = ("torchscript", "onnx")
SUFFIXES = {"torchscript": ".pt", "onnx": ".onnx"}
SUPPORTED = "single-agent policies (ppo, sac, td3, mpdp, td3bc, sac_n, edac, so2)"


class ExportError(ValueError):
    """The policy cannot be exported (unsupported kind, missing package, mismatch after export)."""


# --- acting modules ----------------------------------------------------------------------------------
class _ActorCriticPolicy(nn.Module):
    """PPO's acting path: normalise, actor head, argmax (+ offset) or the clipped Gaussian mean."""

    def __init__(self, agent: Any) -> None:
        super().__init__()
        normalizer = agent.obs_normalizer
        self.normalize = bool(normalizer.enabled)
        stats = normalizer.stats
        self.register_buffer("mean", torch.as_tensor(stats.mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(np.sqrt(stats.var + 1e-8), dtype=torch.float32))
        self.clip = float(normalizer.clip)
        self.encoder = copy.deepcopy(agent.encoder)  # identity (mlp) or the conv torso
        self.network = copy.deepcopy(agent.actor_critic)
        self.discrete = bool(agent.discrete)
        if self.discrete:
            self.offset = int(agent.action_offset)
        else:
            self.register_buffer("low", torch.as_tensor(agent.action_low))
            self.register_buffer("high", torch.as_tensor(agent.action_high))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        x = obs.reshape(obs.shape[0], -1)
        if self.normalize:
            x = ((x - self.mean) / self.std).clamp(-self.clip, self.clip)
        out = self.network(self.encoder(x))[0]
        if self.discrete:
            return out.argmax(-1) + self.offset
        return torch.maximum(torch.minimum(out, self.high), self.low)


class _SquashedPolicy(nn.Module):
    """SAC/TD3-family acting path: the actor's deterministic ``[-1, 1]`` action, rescaled and clipped."""

    def __init__(self, agent: Any) -> None:
        super().__init__()
        self.actor = copy.deepcopy(agent.actor)
        self.register_buffer("center", torch.as_tensor(agent._center))
        self.register_buffer("scale", torch.as_tensor(agent._scale))
        self.register_buffer("low", torch.as_tensor(agent._bounds[0]))
        self.register_buffer("high", torch.as_tensor(agent._bounds[1]))
        self.action_shape = tuple(agent.action_shape)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        action = self.actor.action(obs.reshape(obs.shape[0], -1), True)
        action = torch.maximum(torch.minimum(self.center + self.scale * action, self.high), self.low)
        return action.reshape(obs.shape[0], *self.action_shape)


def acting_module(algo: Any) -> nn.Module:
    """The deterministic acting path of ``algo``'s agent as a plain ``nn.Module`` on the CPU, in eval mode."""
    from rlsuite.agents.actor_critic import ActorCriticAgent
    from rlsuite.agents.continuous import ContinuousPolicyAgent

    agent = algo.agent
    if isinstance(agent, ActorCriticAgent):
        module: nn.Module = _ActorCriticPolicy(agent)
    elif isinstance(agent, ContinuousPolicyAgent):
        module = _SquashedPolicy(agent)
    else:
        raise ExportError(f"cannot export {algo.name}'s {type(agent).__name__}: export supports {SUPPORTED}")
    return module.to("cpu").eval().requires_grad_(False)


# --- writing -----------------------------------------------------------------------------------------
@dataclass
class ExportResult:
    """What was written and what the check found."""

    path: Path
    format: str
    metadata_path: Path
    checked_observations: int
    max_difference: float


def _write_torchscript(module: nn.Module, example: torch.Tensor, path: Path) -> None:
    with warnings.catch_warnings(), atomic_path(path) as tmp:
        # torch 2.9+ calls TorchScript deprecated in favour of torch.export; its files still load everywhere
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        traced = torch.jit.trace(module, example, check_trace=False)
        torch.jit.save(traced, str(tmp))


def _write_onnx(module: nn.Module, example: torch.Tensor, path: Path) -> None:
    try:
        import onnx  # noqa: F401  (the exporter needs it)
    except ImportError as exc:
        raise ExportError("--format onnx needs the onnx package: pip install 'rlsuite[export]'") from exc
    with warnings.catch_warnings(), atomic_path(path) as tmp:
        warnings.simplefilter("ignore")  # the TorchScript-based exporter announces its deprecation
        torch.onnx.export(
            module,
            (example,),
            str(tmp),
            dynamo=False,
            input_names=["obs"],
            output_names=["action"],
            dynamic_axes={"obs": {0: "batch"}, "action": {0: "batch"}},
            opset_version=17,
        )


def run_exported(path: str | Path, observations: np.ndarray) -> np.ndarray:
    """Actions of an exported policy file on ``observations`` (TorchScript in torch, ONNX in onnxruntime)."""
    path = Path(path)
    obs = np.asarray(observations, np.float32)
    if path.suffix == ".onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return session.run(None, {"obs": obs})[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        module = torch.jit.load(str(path), map_location="cpu")
    with torch.inference_mode():
        return module(torch.as_tensor(obs)).numpy()


def sample_observations(algo: Any, count: int = 256, seed: int = 0) -> np.ndarray:
    """Observations the policy meets: it plays ``count`` steps on a fresh env."""
    env = algo._make_env(min(8, count))
    try:
        obs, _ = env.reset(seed=seed)
        rows = []
        while sum(len(r) for r in rows) < count:
            rows.append(np.asarray(obs, np.float32))
            obs, *_ = env.step(algo.agent.act(obs, deterministic=True))
    finally:
        env.close()
    return np.concatenate(rows)[:count]


def export_policy(
    algo: Any, path: str | Path, fmt: str = "torchscript", *, check_observations: int = 256
) -> ExportResult:
    """Write ``algo``'s acting policy to ``path`` in ``fmt``, then check it against the agent."""
    if fmt not in FORMATS:
        raise ExportError(f"--format {fmt!r}; accepted: {', '.join(FORMATS)}")
    path = Path(path)
    module = acting_module(algo)
    observations = sample_observations(algo, check_observations)
    example = torch.as_tensor(observations[:2])
    (_write_onnx if fmt == "onnx" else _write_torchscript)(module, example, path)
    difference = (
        _check(algo, path, observations) if fmt == "torchscript" or _has_onnxruntime() else float("nan")
    )
    metadata_path = path.with_suffix(path.suffix + ".json")
    atomic_write_text(metadata_path, json.dumps(_metadata(algo, fmt, observations), indent=2) + "\n")
    return ExportResult(path, fmt, metadata_path, len(observations), difference)


def _has_onnxruntime() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def _check(algo: Any, path: Path, observations: np.ndarray) -> float:
    expected = np.asarray(algo.agent.act(observations, deterministic=True))
    got = run_exported(path, observations)
    if expected.shape != got.shape:
        raise ExportError(f"the export gives actions of shape {got.shape}, the policy {expected.shape}")
    difference = float(np.max(np.abs(expected.astype(np.float64) - got.astype(np.float64)), initial=0.0))
    if difference > 1e-4:
        raise ExportError(f"the export's actions differ from the policy's by up to {difference:.3g}")
    return difference


def _metadata(algo: Any, fmt: str, observations: np.ndarray) -> dict[str, Any]:
    space = algo.env.single_action_space
    action = {"type": type(space).__name__}
    if hasattr(space, "n"):
        action.update(n=int(space.n), start=int(getattr(space, "start", 0)))
    else:
        action.update(shape=list(space.shape), low=space.low.tolist(), high=space.high.tolist())
    return {
        "format": fmt,
        "algo": algo.name,
        "env": algo.env_config.id,
        "global_step": algo.global_step,
        "input": {"name": "obs", "dtype": "float32", "shape": ["batch", *observations.shape[1:]]},
        "output": {"name": "action", "space": action},
        "deterministic": True,
    }


# --- command line ------------------------------------------------------------------------------------
def add_export_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "export",
        help="write a run's acting policy as a standalone TorchScript or ONNX file",
        description="rlsuite export RUN_DIR_OR_CHECKPOINT [--format torchscript|onnx] [--out PATH]: the "
        "deterministic acting policy, observation normalisation included, checked against the original",
    )
    parser.add_argument("target", help="run folder or checkpoint .pt file")
    parser.add_argument("--format", default="torchscript", choices=FORMATS, help="file format")
    parser.add_argument("--out", default=None, help="output file (default: <run>/export/policy.pt|.onnx)")
    parser.set_defaults(handler=_export_command)


def _export_command(args: argparse.Namespace) -> int:
    from rlsuite.algos.base import Algorithm
    from rlsuite.training.user_modules import import_run_modules

    target = Path(args.target)
    folder = target if target.is_dir() else target.parent
    run_dir = folder.parent if folder.name == "checkpoints" else folder
    import_run_modules(run_dir)
    algo = Algorithm.from_checkpoint(target, device="cpu", inference=True)
    try:
        out = Path(args.out) if args.out else run_dir / "export" / f"policy{SUFFIXES[args.format]}"
        result = export_policy(algo, out, args.format)
    finally:
        algo.close()
    checked = (
        f"same actions as the policy on {result.checked_observations} observations "
        f"(max difference {result.max_difference:.2g})"
        if np.isfinite(result.max_difference)
        else "not checked (onnxruntime is not installed)"
    )
    print(json.dumps({k: str(v) if isinstance(v, Path) else v for k, v in asdict(result).items()}, indent=2))
    print(f"exported {result.path} ({result.format}): {checked}")
    return 0
