"""Stable-Baselines3 as a peer: ``sb3:PPO``, ``sb3:A2C``, ``sb3:SAC``, ``sb3:TD3``, ``sb3:DQN``.

The model is SB3's own class with SB3's defaults, built with ``"MlpPolicy"`` on a ``DummyVecEnv`` of
``env.num_envs`` copies of ``rlsuite.make(env.id)``, seeded with the run's seed. ``algo.kwargs`` go to
the constructor unchanged (``n_steps``, ``learning_rate``, ``policy_kwargs: {net_arch: [64, 64],
activation_fn: tanh}``...); as in RL Zoo, ``learning_rate``/``clip_range`` may be ``lin_<value>``
(linear decay to 0 over the run). ``normalize_obs``/``normalize_reward`` wrap the envs in SB3's
``VecNormalize`` (RL Zoo's ``normalize: true``); evaluation then standardises observations with the
training statistics, and episode returns are the env's raw rewards.

One ``model.learn(total_steps)`` call trains; it pauses at the start of a rollout (after the previous
update) every ``chunk_steps`` steps so rlsuite can log, evaluate and checkpoint. Checkpoints hold,
as plain data (no pickles; see :mod:`rlsuite.core.plain_data`), what SB3's own ``save`` stores:
``get_parameters()`` (weights and optimiser states), its torch variables (SAC's log entropy
coefficient), the model's data attributes (counters, last observations, episode-info buffers), the
samplers of its spaces, the VecNormalize statistics and, for off-policy models with
``checkpoint.save_replay_buffer``, the replay buffer's arrays. What SB3 would cloudpickle (the policy
class, learning-rate and exploration schedules, ``train_freq``) is rebuilt from the run's config.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from rlsuite.algos.base import Capabilities
from rlsuite.algos.peers.base import PeerAgent, PeerAlgorithm, PeerConfig, require
from rlsuite.config import param
from rlsuite.core.object_state import capture_object, restore_object, restore_value

EXTRA = "sb3"
TRAIN_PREFIX = "train/"
ACTIVATIONS = {
    "tanh": torch.nn.Tanh,
    "relu": torch.nn.ReLU,
    "elu": torch.nn.ELU,
    "leaky_relu": torch.nn.LeakyReLU,
}


def _policy_kwargs(kwargs: dict[str, Any], algo: str) -> dict[str, Any]:
    """YAML-friendly ``policy_kwargs``: ``activation_fn`` may be a name from :data:`ACTIVATIONS`."""
    policy_kwargs = dict(kwargs.get("policy_kwargs") or {})
    activation = policy_kwargs.get("activation_fn")
    if isinstance(activation, str):
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"{algo}: algo.kwargs.policy_kwargs.activation_fn={activation!r}; "
                f"accepted: {', '.join(ACTIVATIONS)}"
            )
        policy_kwargs["activation_fn"] = ACTIVATIONS[activation]
    return policy_kwargs


class LinearSchedule:
    """RL Zoo's ``lin_<value>``: ``value * progress_remaining`` (``value`` at the start, 0 at the end)."""

    def __init__(self, initial: float) -> None:
        self.initial = initial

    def __call__(self, progress_remaining: float) -> float:
        return progress_remaining * self.initial


SCHEDULE_KEYS = ("learning_rate", "clip_range", "clip_range_vf")


def _schedules(kwargs: dict[str, Any], algo: str) -> dict[str, Any]:
    """``learning_rate: lin_1e-3`` (RL Zoo's spelling) -> a linear schedule SB3 calls with its progress."""
    out = dict(kwargs)
    for key in SCHEDULE_KEYS:
        value = out.get(key)
        if isinstance(value, str):
            match = re.fullmatch(r"lin_([-+0-9.eE]+)", value)
            if match is None:
                raise ValueError(f"{algo}: algo.kwargs.{key}={value!r}; expected a number or 'lin_<number>'")
            out[key] = LinearSchedule(float(match.group(1)))
    return out


@dataclass
class SB3Config(PeerConfig):
    """SB3 settings: ``kwargs`` for the model class, plus RL Zoo's ``VecNormalize`` switch."""

    normalize_obs: bool = param(False, help="wrap the envs in SB3's VecNormalize: standardise observations")
    normalize_reward: bool = param(False, help="VecNormalize: scale rewards by the discounted-return std")
    obs_clip: float = param(10.0, help="VecNormalize clip_obs", min=0.0, min_exclusive=True)
    reward_clip: float = param(10.0, help="VecNormalize clip_reward", min=0.0, min_exclusive=True)


class SB3Algorithm(PeerAlgorithm):
    """One SB3 model class behind rlsuite's ``Algorithm`` interface (see the module docstring)."""

    config_cls = SB3Config
    library = "stable_baselines3"
    extra = EXTRA
    sb3_class: ClassVar[str]  # attribute of the stable_baselines3 module

    def setup(self) -> None:
        sb3 = require("stable_baselines3", self.name, EXTRA)
        vec_env_module = require("stable_baselines3.common.vec_env", self.name, EXTRA)
        self._sb3_cls = getattr(sb3, self.sb3_class)
        self.vec_env = vec_env_module.DummyVecEnv([self.make_single_env] * self.env_config.num_envs)
        cfg = self.config
        self.normalizer = None
        if cfg.normalize_obs or cfg.normalize_reward:
            self.normalizer = self.vec_env = vec_env_module.VecNormalize(
                self.vec_env,
                norm_obs=cfg.normalize_obs,
                norm_reward=cfg.normalize_reward,
                clip_obs=cfg.obs_clip,
                clip_reward=cfg.reward_clip,
                gamma=float(cfg.kwargs.get("gamma", 0.99)),
            )
        kwargs = _schedules(self.config.kwargs, self.name)
        kwargs["policy_kwargs"] = _policy_kwargs(kwargs, self.name)
        try:
            self.model = self._sb3_cls(
                kwargs.pop("policy", "MlpPolicy"),
                self.vec_env,
                seed=self.seed,
                device=str(self.device),
                verbose=0,
                **kwargs,
            )
        except TypeError as exc:
            raise ValueError(f"{self.name}: bad algo.kwargs for SB3 {self.sb3_class} ({exc})") from exc
        self._attach_logger()
        self.agent = PeerAgent(self._predict, self.device)

    @classmethod
    def config_problems(cls, config: Any) -> list[str]:
        """Keyword arguments SB3's class does not take (its constructor would fail mid-sweep)."""
        import inspect

        missing = super().config_problems(config)
        if missing:
            return missing
        sb3 = require(cls.library, cls.name, EXTRA)
        accepted = set(inspect.signature(getattr(sb3, cls.sb3_class)).parameters) - {"env", "seed", "device"}
        unknown = sorted(set(config.kwargs) - accepted)
        if not unknown:
            return []
        listing = ", ".join(sorted(accepted))
        return [f"algo.kwargs: SB3 {cls.sb3_class} takes no {', '.join(unknown)}; accepted: {listing}"]

    def _attach_logger(self) -> None:
        logger_module = require("stable_baselines3.common.logger", self.name, EXTRA)
        self._captured = _CapturedValues()
        self.model.set_logger(logger_module.Logger(folder=None, output_formats=[self._captured.writer()]))

    def _predict(self, obs: np.ndarray, deterministic: bool) -> np.ndarray:
        if self.normalizer is not None:
            obs = self.normalizer.normalize_obs(obs)  # the training statistics, not updated here
        return self.model.predict(obs, deterministic=deterministic)[0]

    def _raw_rewards(self, rewards: np.ndarray) -> np.ndarray:
        """The env's own rewards (VecNormalize hands the model scaled ones)."""
        return rewards if self.normalizer is None else self.normalizer.get_original_reward()

    # --- the peer's training call --------------------------------------------------------------
    def train_target(self, pause: Callable[[int], bool]) -> None:
        callback = _pause_callback(pause, self.episodes, self._raw_rewards)
        remaining = max(self.total_steps - self.model.num_timesteps, 0)
        # reset_num_timesteps=False: SB3 adds its own counter, so the total (and the progress of
        # learning-rate schedules) is the run's, also after a resume.
        self.model.learn(remaining, callback=callback, reset_num_timesteps=self.model.num_timesteps == 0)

    def total_steps_schedules(self) -> list[str]:
        """``lin_<value>`` settings, and DQN's exploration: SB3 runs them over the total timesteps."""
        keys = [f"algo.kwargs.{key}" for key in SCHEDULE_KEYS if isinstance(self.config.kwargs.get(key), str)]
        if self.sb3_class == "DQN":
            keys.append("algo.kwargs.exploration_fraction")
        return keys

    def peer_step(self) -> int:
        return int(self.model.num_timesteps)

    def rollout_steps(self) -> int:
        return int(self.model.n_steps) * self.env_config.num_envs

    def peer_stats(self) -> dict[str, float]:
        values = {**self._captured.latest, **self.model.logger.name_to_value}
        return {k: float(v) for k, v in values.items() if k.startswith(TRAIN_PREFIX) and _is_number(v)}

    # --- checkpoints ---------------------------------------------------------------------------
    def algorithm_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {**_model_state(self.model), "normalizer": None, "replay_buffer": None}
        if self.normalizer is not None:
            rms = {"obs_rms": self.normalizer.obs_rms, "ret_rms": self.normalizer.ret_rms}
            state["normalizer"] = capture_object(rms, "normalizer")
        if self.save_replay_buffer and getattr(self.model, "replay_buffer", None) is not None:
            state["replay_buffer"] = capture_object(self.model.replay_buffer, "replay_buffer")
        return state

    def load_algorithm_state(self, state: dict[str, Any]) -> None:
        _load_model_state(self.model, state, self.device)
        if state.get("normalizer") is not None:
            rms = {"obs_rms": self.normalizer.obs_rms, "ret_rms": self.normalizer.ret_rms}
            restore_object(rms, state["normalizer"], "normalizer")
            self.normalizer.obs_rms, self.normalizer.ret_rms = rms["obs_rms"], rms["ret_rms"]
        if state.get("replay_buffer") is not None:
            restore_object(self.model.replay_buffer, state["replay_buffer"], "replay_buffer")
        self._attach_logger()
        self._training = None  # the next collect starts a learn() call on the restored model

    def close_peer(self) -> None:
        self.vec_env.close()


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.floating, np.integer)) and np.isfinite(value)


def _model_state(model: Any) -> dict[str, Any]:
    """What SB3's ``save`` writes, as plain data: parameters, torch variables and the model's other
    attributes (counters, last observations, episode-info deques, space samplers). Attributes that are
    configuration (classes, schedules, ``train_freq``) are rebuilt from the run's config instead."""
    save_util = require("stable_baselines3.common.save_util", "sb3", EXTRA)
    state_dicts, variables = model._get_torch_save_params()
    skipped = set(model._excluded_save_params()) | {name.split(".")[0] for name in state_dicts + variables}
    attributes = {}
    for name, value in vars(model).items():
        # Lists of tensors (batch-norm statistics) are views of the networks, restored with them.
        if name not in skipped and not _holds_tensor(value) and not _is_configuration(value):
            attributes[name] = capture_object(value, name)
    return {
        "parameters": model.get_parameters(),
        "variables": {name: save_util.recursive_getattr(model, name).detach().clone() for name in variables},
        "attributes": attributes,
    }


def _load_model_state(model: Any, state: dict[str, Any], device: Any) -> None:
    """Write a :func:`_model_state` into ``model`` (built from the same config), as SB3's ``load`` does."""
    for name, saved in state["attributes"].items():
        setattr(model, name, restore_value(getattr(model, name, None), saved, name))
    # As SB3's load(force_reset=True): the envs are not checkpointed, so learn() resets them first.
    model._last_obs = None
    model.set_parameters(state["parameters"], exact_match=True, device=device)
    save_util = require("stable_baselines3.common.save_util", "sb3", EXTRA)
    for name, tensor in state["variables"].items():
        save_util.recursive_getattr(model, name).data.copy_(tensor)
    if model.use_sde:
        model.policy.reset_noise()


def _is_configuration(value: Any) -> bool:
    """Classes, schedules (callables) and named tuples such as ``TrainFreq``: set from the config."""
    return (
        isinstance(value, type) or callable(value) or (isinstance(value, tuple) and hasattr(value, "_fields"))
    )


def _holds_tensor(value: Any) -> bool:
    if isinstance(value, torch.Tensor):
        return True
    if isinstance(value, dict):
        return any(_holds_tensor(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_tensor(item) for item in value)
    return False


class _CapturedValues:
    """Keeps the values of SB3's latest log dump (its loggers clear them after dumping)."""

    def __init__(self) -> None:
        self.latest: dict[str, Any] = {}

    def writer(self) -> Any:
        logger_module = require("stable_baselines3.common.logger", "sb3", EXTRA)
        captured = self

        class Writer(logger_module.KVWriter):
            def write(self, key_values: dict[str, Any], key_excluded: Any, step: int = 0) -> None:
                captured.latest.update(key_values)

        return Writer()


def _pause_callback(
    pause: Callable[[int], bool], episodes: Any, raw_rewards: Callable[[np.ndarray], np.ndarray]
) -> Any:
    """An SB3 callback: pause at each rollout start; feed every env step to rlsuite's episode tracker."""
    callbacks = require("stable_baselines3.common.callbacks", "sb3", EXTRA)

    class PauseCallback(callbacks.BaseCallback):
        keep_training = True

        def _on_rollout_start(self) -> None:
            self.keep_training = pause(self.num_timesteps)

        def _on_step(self) -> bool:
            rewards = raw_rewards(np.asarray(self.locals["rewards"]))
            episodes.step(np.asarray(rewards, np.float64), np.asarray(self.locals["dones"]))
            return self.keep_training

    return PauseCallback()


class SB3PPO(SB3Algorithm):
    name = "sb3:PPO"
    description = "Stable-Baselines3's PPO as a peer (extra sb3)"
    sb3_class = "PPO"
    capabilities = Capabilities(discrete_actions=True, continuous_actions=True)


class SB3A2C(SB3Algorithm):
    name = "sb3:A2C"
    description = "Stable-Baselines3's A2C as a peer (extra sb3)"
    sb3_class = "A2C"
    capabilities = Capabilities(discrete_actions=True, continuous_actions=True)


class SB3SAC(SB3Algorithm):
    name = "sb3:SAC"
    description = "Stable-Baselines3's SAC as a peer (extra sb3)"
    sb3_class = "SAC"
    on_policy_chunk = False
    capabilities = Capabilities(discrete_actions=False, continuous_actions=True, on_policy=False)


class SB3TD3(SB3Algorithm):
    name = "sb3:TD3"
    description = "Stable-Baselines3's TD3 as a peer (extra sb3)"
    sb3_class = "TD3"
    on_policy_chunk = False
    capabilities = Capabilities(discrete_actions=False, continuous_actions=True, on_policy=False)


class SB3DQN(SB3Algorithm):
    name = "sb3:DQN"
    description = "Stable-Baselines3's DQN as a peer (extra sb3)"
    sb3_class = "DQN"
    on_policy_chunk = False
    capabilities = Capabilities(discrete_actions=True, continuous_actions=False, on_policy=False)
