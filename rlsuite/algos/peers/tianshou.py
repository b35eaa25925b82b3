"""Tianshou 2.x as a peer: ``tianshou:PPO`` (discrete and continuous actions) and ``tianshou:SAC``.

Everything is built with Tianshou's procedural API, the way its own examples build it:

- **Envs.** ``DummyVectorEnv([make_single_env] * env.num_envs)``, seeded with ``venv.seed(seed)`` (envs
  ``seed, seed + 1, ...`` and their action-space samplers); with ``obs_norm`` (PPO) wrapped in
  ``VectorEnvNormObs`` as in ``examples/mujoco/mujoco_ppo.py``.
- **Networks.** PPO on discrete actions follows ``test/discrete/test_ppo_discrete.py``: one ``Net``
  body shared by a ``DiscreteActor`` (softmax -> ``Categorical``) and a ``DiscreteCritic``, orthogonal
  init. PPO on continuous actions follows ``examples/mujoco/mujoco_ppo.py``: separate actor/critic
  ``Net`` bodies, a ``ContinuousActorProbabilistic`` with an unbounded mean and a state-independent
  log-std (initialised to -0.5), orthogonal init (gain sqrt 2) with the last policy layer scaled by
  0.01, a diagonal Gaussian, actions bounded (``action_bound_method``) and scaled to the action space
  by the policy. SAC follows ``examples/mujoco/mujoco_sac.py``: a ``ContinuousActorProbabilistic``
  with state-conditioned sigma, two concat-``Net`` critics, optional ``AutoAlpha``
  (target entropy ``-dim(A)``), and ``start_timesteps`` uniformly random warm-up steps.
- **Training is Tianshou's trainer, run once.** ``algorithm.create_trainer(...).run()`` with
  ``OnPolicyTrainerParams``/``OffPolicyTrainerParams``: one epoch of the whole remaining budget, no
  test collector (rlsuite evaluates), no Tianshou logging/progress output. Its collect -> update
  cycle (and the on-policy buffer reset) runs unchanged. The trainer's ``training_fn`` hook, which it
  calls before every collection step with the env step, calls ``pause(step)``; when that returns
  ``False`` the hook raises :class:`_StopTraining`, which ends the trainer's ``run``. The collector's
  ``on_step_hook`` sees every vector step: it feeds rewards/dones to ``self.episodes`` and counts the
  env steps (``peer_step``). SAC's warm-up (``collector.collect(n_step, random=True)``, as in the
  example) runs before the trainer, in pieces of ``chunk_steps`` with a pause before each.
  The collector is reset once per training call and the trainer told not to reset it again
  (``run(reset_collectors=False)``), so warm-up episodes continue into training.
- **Statistics** are the trainer's latest update statistics (captured from its logger calls) under
  ``train/``: PPO ``loss``, ``actor_loss``, ``vf_loss``, ``ent_loss`` (means over the update's
  minibatches), ``gradient_steps``; SAC ``actor_loss``, ``critic1_loss``, ``critic2_loss``, ``alpha``,
  ``alpha_loss``.
- **Checkpoints** hold the algorithm's ``state_dict`` (networks, target networks, Tianshou's optimiser
  states), the learning-rate scheduler and auto-alpha optimiser states, the env-step counter, the
  observation normaliser and, for SAC with ``checkpoint.save_replay_buffer``, the replay buffer
  (pickled). Envs are re-seeded with ``seed + step`` and start new episodes on resume.

Config fields hold the trainer- and network-level quantities Tianshou's example scripts expose,
under the examples' names; ``algo.kwargs`` go unchanged to ``PPO(...)``/``SAC(...)`` (``eps_clip``,
``gamma``, ``gae_lambda``, ``vf_coef``, ``max_grad_norm``, ``tau``, ``alpha``...), whose defaults are
Tianshou's own.
"""

from __future__ import annotations

import copy
import math
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from gymnasium import spaces

from rlsuite.algos.base import Capabilities
from rlsuite.algos.peers.base import PeerAgent, PeerAlgorithm, PeerConfig, require
from rlsuite.config import param

EXTRA = "tianshou"
TRAIN_PREFIX = "train/"
ACTIVATIONS = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}
_NOT_STATISTICS = ("train_time", "smoothed_loss")  # timing (not reproducible) and moving averages


class _StopTraining(Exception):
    """Raised from the trainer's ``training_fn`` when rlsuite asks training to stop."""


@dataclass
class TianshouPPOConfig(PeerConfig):
    """Tianshou PPO; defaults from Tianshou's MuJoCo PPO example (``examples/mujoco/mujoco_ppo.py``)."""

    hidden_sizes: list[int] = param([64, 64], help="hidden layer sizes of the actor and critic bodies")
    activation: str = param(
        "tanh",
        choices=tuple(ACTIVATIONS),
        help="hidden activation (MuJoCo example: tanh; Net's default: relu)",
    )
    lr: float = param(3e-4, min=0.0, min_exclusive=True, help="Adam learning rate")
    lr_decay: bool = param(
        False,
        help="decay the learning rate linearly to 0 over the run (Tianshou's LRSchedulerFactoryLinear; "
        "the MuJoCo example sets it)",
    )
    collection_step_num_env_steps: int = param(
        2048, min=1, help="env steps per collection step (rounded up to a multiple of env.num_envs)"
    )
    update_step_num_repetitions: int = param(10, min=1, help="passes over the collected data per update")
    batch_size: int | None = param(64, min=1, help="minibatch size; null = the whole collected batch")
    buffer_size: int = param(4096, min=1, help="on-policy buffer size; at least one collection step")
    action_bound_method: str = param(
        "clip", choices=("clip", "tanh"), help="continuous actions: how raw Gaussian samples are bounded"
    )
    obs_norm: bool = param(
        False, help="normalise observations with Tianshou's VectorEnvNormObs (the MuJoCo example sets it)"
    )


@dataclass
class TianshouSACConfig(PeerConfig):
    """Tianshou SAC; defaults from Tianshou's MuJoCo SAC example (``examples/mujoco/mujoco_sac.py``)."""

    hidden_sizes: list[int] = param([256, 256], help="hidden layer sizes of the actor and both critics")
    actor_lr: float = param(1e-3, min=0.0, min_exclusive=True, help="actor Adam learning rate")
    critic_lr: float = param(1e-3, min=0.0, min_exclusive=True, help="critics' Adam learning rate")
    auto_alpha: bool = param(False, help="tune alpha (Tianshou's AutoAlpha, target entropy -dim(A))")
    alpha_lr: float = param(3e-4, min=0.0, min_exclusive=True, help="Adam learning rate of log-alpha")
    start_timesteps: int = param(
        10_000, min=0, help="uniformly random warm-up env steps before training (count towards the budget)"
    )
    collection_step_num_env_steps: int = param(
        1, min=1, help="env steps per collection step (rounded up to a multiple of env.num_envs)"
    )
    update_step_num_gradient_steps_per_sample: float = param(
        1.0,
        min=0.0,
        min_exclusive=True,
        help="gradient steps per collected env step (example: update_per_step)",
    )
    batch_size: int = param(256, min=1, help="minibatch size sampled from the replay buffer")
    buffer_size: int = param(1_000_000, min=1, help="replay buffer size (transitions)")


class TianshouAlgorithm(PeerAlgorithm):
    """One Tianshou algorithm behind rlsuite's ``Algorithm`` interface (see the module docstring)."""

    tianshou_class: ClassVar[str]  # attribute of tianshou.algorithm, for messages

    def setup(self) -> None:
        require("tianshou", self.name, EXTRA)
        from tianshou.data import Collector
        from tianshou.env import DummyVectorEnv, VectorEnvNormObs

        envs = DummyVectorEnv([self.make_single_env] * self.env_config.num_envs)
        envs.seed(self.seed)
        self.train_envs = VectorEnvNormObs(envs) if getattr(self.config, "obs_norm", False) else envs
        self._steps = 0
        self._trained_for = 0  # the budget the latest trainer run was started for
        self._latest: dict[str, Any] = {}
        self.algorithm = self._build_with_kwargs()
        self.policy = self.algorithm.policy
        self.collector = Collector(
            self.algorithm,
            self.train_envs,
            self._make_buffer(),
            exploration_noise=True,
            on_step_hook=self._on_step,
        )
        self.agent = PeerAgent(self._predict, self.device)

    def _build_with_kwargs(self) -> Any:
        try:
            return self.build_algorithm(dict(self.config.kwargs))
        except TypeError as exc:
            raise ValueError(
                f"{self.name}: bad algo.kwargs for Tianshou {self.tianshou_class} ({exc})"
            ) from exc

    def build_algorithm(self, kwargs: dict[str, Any]) -> Any:
        """The Tianshou algorithm (networks, policy, optimiser factories), ``kwargs`` passed through."""
        raise NotImplementedError

    def trainer_params(self, remaining: int, training_fn: Callable[[int, int], None], logger: Any) -> Any:
        """Tianshou's ``*TrainerParams`` for one epoch of ``remaining`` env steps."""
        raise NotImplementedError

    def _make_buffer(self) -> Any:
        from tianshou.data import ReplayBuffer, VectorReplayBuffer

        num_envs = self.env_config.num_envs
        if self.config.buffer_size < self.collect_size():
            raise ValueError(
                f"{self.name}: algo.buffer_size={self.config.buffer_size} is smaller than one collection "
                f"step ({self.collect_size()} env steps)"
            )
        if num_envs == 1:
            return ReplayBuffer(self.config.buffer_size)
        return VectorReplayBuffer(self.config.buffer_size, num_envs)

    def collect_size(self) -> int:
        """Env steps per collection step: what Tianshou collects (every env steps the same number)."""
        num_envs = self.env_config.num_envs
        return math.ceil(self.config.collection_step_num_env_steps / num_envs) * num_envs

    # --- acting ------------------------------------------------------------------------------------
    def _predict(self, obs: np.ndarray, deterministic: bool) -> np.ndarray:
        """Env-ready actions: the policy's mode or a sample, mapped into the action space as collectors do."""
        from tianshou.data import Batch, to_numpy
        from tianshou.utils.torch_utils import policy_within_training_step, torch_train_mode

        if getattr(self.config, "obs_norm", False):
            obs = self.train_envs.get_obs_rms().norm(obs)
        policy, saved = self.policy, self.policy.deterministic_eval
        policy.deterministic_eval = deterministic
        try:
            with torch.no_grad(), policy_within_training_step(policy, False), torch_train_mode(policy, False):
                act = policy(Batch(obs=np.asarray(obs, np.float32), info=Batch())).act
        finally:
            policy.deterministic_eval = saved
        return policy.map_action(to_numpy(act))

    # --- the peer's training call ------------------------------------------------------------------
    def _on_step(self, action_batch: Any, rollout_batch: Any) -> None:
        """Collector step hook: one vector step of all envs (``n_step`` collection steps every env)."""
        rewards = np.asarray(rollout_batch.rew, np.float64).reshape(-1)
        self.episodes.step(rewards, np.asarray(rollout_batch.done, bool).reshape(-1))
        self._steps += len(rewards)

    def collect(self) -> dict[str, float]:
        if self._training is not None and self._training.finished and self._trained_for < self.total_steps:
            self._training = None  # an earlier learn() call's trainer ended at its budget: run another
        return super().collect()

    def train_target(self, pause: Callable[[int], bool]) -> None:
        self._trained_for = self.total_steps

        def training_fn(epoch: int, env_step: int) -> None:
            # env_step counts this trainer's steps; self._steps also holds warm-up and pre-resume steps.
            if not pause(self._steps):
                raise _StopTraining

        self.collector.reset(reset_buffer=False)
        try:
            self.warm_up(pause)
            remaining = self.total_steps - self._steps
            if remaining > 0:
                params = self.trainer_params(remaining, training_fn, _capturing_logger(self._latest))
                self.algorithm.create_trainer(params).run(reset_collectors=False)
        except _StopTraining:
            pass

    def warm_up(self, pause: Callable[[int], bool]) -> None:
        """Steps before the trainer runs (SAC's random ones); none by default."""

    def peer_step(self) -> int:
        return self._steps

    def rollout_steps(self) -> int:
        return self.collect_size()

    def peer_stats(self) -> dict[str, float]:
        stats = {}
        for key, value in self._latest.items():
            if isinstance(value, dict) and "mean" in value:
                value = value["mean"]
            if key not in _NOT_STATISTICS and _is_number(value):
                stats[TRAIN_PREFIX + key] = float(value)
        for scheduler in self.algorithm.lr_schedulers[:1]:
            stats[TRAIN_PREFIX + "learning_rate"] = float(scheduler.get_last_lr()[0])
        return stats

    # --- checkpoints -------------------------------------------------------------------------------
    def algorithm_state(self) -> dict[str, Any]:
        state = {
            "algorithm": self.algorithm.state_dict(),  # networks, target networks, optimisers
            "lr_schedulers": [s.state_dict() for s in self.algorithm.lr_schedulers],
            "env_steps": self._steps,
            "obs_rms": None,
            "replay_buffer": None,
        }
        if getattr(self.config, "obs_norm", False):
            state["obs_rms"] = copy.deepcopy(self.train_envs.get_obs_rms())
        return state

    def load_algorithm_state(self, state: dict[str, Any]) -> None:
        if self._training is not None:  # a paused trainer of the state being replaced
            self._training.stop()
            self._training = None  # the next collect starts a trainer on the restored state
        self.algorithm.load_state_dict(dict(state["algorithm"]))
        for scheduler, saved in zip(self.algorithm.lr_schedulers, state["lr_schedulers"], strict=True):
            scheduler.load_state_dict(saved)
        self._steps = int(state["env_steps"])
        if state.get("obs_rms") is not None:
            self.train_envs.set_obs_rms(copy.deepcopy(state["obs_rms"]))
        if state.get("replay_buffer") is not None:
            self.collector.buffer = pickle.loads(state["replay_buffer"])
        self.train_envs.seed(self.seed + self._steps)

    def close_peer(self) -> None:
        self.collector.close()


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, (int, float, np.floating, np.integer))
        and not isinstance(value, bool)
        and (np.isfinite(value))
    )


def _capturing_logger(latest: dict[str, Any]) -> Any:
    """A Tianshou logger that writes nothing and keeps the trainer's latest update statistics."""
    from tianshou.utils import LazyLogger

    class CapturingLogger(LazyLogger):
        def log_update_data(self, log_data: dict, step: int) -> None:
            latest.clear()
            latest.update(log_data)

    return CapturingLogger()


def _orthogonal_init(module: torch.nn.Module, gain: float) -> None:
    for layer in module.modules():
        if isinstance(layer, torch.nn.Linear):
            torch.nn.init.orthogonal_(layer.weight, gain=gain)
            torch.nn.init.zeros_(layer.bias)


class TianshouPPO(TianshouAlgorithm):
    name = "tianshou:PPO"
    tianshou_class = "PPO"
    config_cls = TianshouPPOConfig
    capabilities = Capabilities(discrete_actions=True, continuous_actions=True)

    def build_algorithm(self, kwargs: dict[str, Any]) -> Any:
        from tianshou.algorithm import PPO

        if isinstance(self.single_action_space, spaces.Discrete):
            policy, critic = self._discrete_actor_critic()
        else:
            policy, critic = self._gaussian_actor_critic()
        return PPO(policy=policy, critic=critic, optim=self._optimizer_factory(), **kwargs)

    def _net(self, hidden: list[int]) -> Any:
        from tianshou.utils.net.common import Net

        return Net(
            state_shape=self.single_observation_space.shape,
            hidden_sizes=hidden,
            activation=ACTIVATIONS[self.config.activation],
        )

    def _discrete_actor_critic(self) -> tuple[Any, Any]:
        """As Tianshou's discrete PPO test: a shared body, softmax actor, Categorical, orthogonal init."""
        from tianshou.algorithm.modelfree.reinforce import DiscreteActorPolicy
        from tianshou.utils.net.common import ActorCritic
        from tianshou.utils.net.discrete import DiscreteActor, DiscreteCritic

        body = self._net(self.config.hidden_sizes)
        actor = DiscreteActor(preprocess_net=body, action_shape=int(self.single_action_space.n)).to(
            self.device
        )
        critic = DiscreteCritic(preprocess_net=body).to(self.device)
        _orthogonal_init(ActorCritic(actor, critic), gain=1.0)
        policy = DiscreteActorPolicy(
            actor=actor,
            dist_fn=torch.distributions.Categorical,
            action_space=self.single_action_space,
            deterministic_eval=True,
        )
        return policy, critic

    def _gaussian_actor_critic(self) -> tuple[Any, Any]:
        """As Tianshou's MuJoCo PPO example: state-independent log-std, scaled last layer, bounded actions."""
        from tianshou.algorithm.modelfree.reinforce import ProbabilisticActorPolicy
        from tianshou.utils.net.common import ActorCritic
        from tianshou.utils.net.continuous import ContinuousActorProbabilistic, ContinuousCritic

        actor = ContinuousActorProbabilistic(
            preprocess_net=self._net(self.config.hidden_sizes),
            action_shape=self.single_action_space.shape,
            unbounded=True,
        ).to(self.device)
        critic = ContinuousCritic(preprocess_net=self._net(self.config.hidden_sizes)).to(self.device)
        torch.nn.init.constant_(actor.sigma_param, -0.5)
        _orthogonal_init(ActorCritic(actor, critic), gain=math.sqrt(2))
        for layer in actor.mu.modules():
            if isinstance(layer, torch.nn.Linear):
                torch.nn.init.zeros_(layer.bias)
                layer.weight.data.mul_(0.01)
        policy = ProbabilisticActorPolicy(
            actor=actor,
            dist_fn=_diagonal_gaussian,
            action_scaling=True,
            action_bound_method=self.config.action_bound_method,
            action_space=self.single_action_space,
            deterministic_eval=True,
        )
        return policy, critic

    def _optimizer_factory(self) -> Any:
        from tianshou.algorithm.optim import AdamOptimizerFactory

        optim = AdamOptimizerFactory(lr=self.config.lr)
        if self.config.lr_decay:
            optim.with_lr_scheduler_factory(_LinearDecayToRunEnd(self))
        return optim

    def trainer_params(self, remaining: int, training_fn: Callable[[int, int], None], logger: Any) -> Any:
        from tianshou.trainer import OnPolicyTrainerParams

        return OnPolicyTrainerParams(
            training_collector=self.collector,
            test_collector=None,
            max_epochs=1,
            epoch_num_steps=remaining,
            collection_step_num_env_steps=self.collect_size(),
            update_step_num_repetitions=self.config.update_step_num_repetitions,
            batch_size=self.config.batch_size,
            training_fn=training_fn,
            logger=logger,
            verbose=False,
            show_progress=False,
        )


def _diagonal_gaussian(loc_scale: tuple[torch.Tensor, torch.Tensor]) -> torch.distributions.Distribution:
    loc, scale = loc_scale
    return torch.distributions.Independent(torch.distributions.Normal(loc, scale), 1)


class _LinearDecayToRunEnd:
    """Tianshou's linear learning-rate decay, over the updates of the whole run (``algo.total_steps``).

    Tianshou's ``LRSchedulerFactoryLinear`` needs the epoch layout when the optimiser is built; the
    run's length is known only when training starts, so the decay reads it then. The lambda is a plain
    function, so scheduler state dicts hold no reference to the algorithm.
    """

    def __init__(self, algo: TianshouAlgorithm) -> None:
        self.algo = algo

    def create_scheduler(self, optim: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LRScheduler:
        algo = self.algo

        def factor(update: int) -> float:
            updates = max(math.ceil(algo.total_steps / algo.collect_size()), 1)
            return max(1.0 - update / updates, 0.0)

        return torch.optim.lr_scheduler.LambdaLR(optim, lr_lambda=factor)


class TianshouSAC(TianshouAlgorithm):
    name = "tianshou:SAC"
    tianshou_class = "SAC"
    config_cls = TianshouSACConfig
    on_policy_chunk = False
    capabilities = Capabilities(discrete_actions=False, continuous_actions=True, on_policy=False)

    def build_algorithm(self, kwargs: dict[str, Any]) -> Any:
        from tianshou.algorithm import SAC
        from tianshou.algorithm.modelfree.sac import SACPolicy
        from tianshou.algorithm.optim import AdamOptimizerFactory
        from tianshou.utils.net.common import Net
        from tianshou.utils.net.continuous import ContinuousActorProbabilistic

        cfg, obs_shape, act_shape = (
            self.config,
            self.single_observation_space.shape,
            self.single_action_space.shape,
        )
        actor = ContinuousActorProbabilistic(
            preprocess_net=Net(state_shape=obs_shape, hidden_sizes=cfg.hidden_sizes),
            action_shape=act_shape,
            unbounded=True,
            conditioned_sigma=True,
        ).to(self.device)
        critic1, critic2 = self._critic(), self._critic()
        policy = SACPolicy(actor=actor, action_space=self.single_action_space)
        return SAC(
            policy=policy,
            policy_optim=AdamOptimizerFactory(lr=cfg.actor_lr),
            critic=critic1,
            critic_optim=AdamOptimizerFactory(lr=cfg.critic_lr),
            critic2=critic2,
            critic2_optim=AdamOptimizerFactory(lr=cfg.critic_lr),
            **self._alpha_kwargs(kwargs),
        )

    def _critic(self) -> Any:
        from tianshou.utils.net.common import Net
        from tianshou.utils.net.continuous import ContinuousCritic

        net = Net(
            state_shape=self.single_observation_space.shape,
            action_shape=self.single_action_space.shape,
            hidden_sizes=self.config.hidden_sizes,
            concat=True,
        )
        return ContinuousCritic(preprocess_net=net).to(self.device)

    def _alpha_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """``alpha``: a fixed float from kwargs (default 0.2) or, with ``auto_alpha``, AutoAlpha."""
        from tianshou.algorithm.modelfree.sac import AutoAlpha
        from tianshou.algorithm.optim import AdamOptimizerFactory

        if not self.config.auto_alpha:
            if isinstance(kwargs.get("alpha"), int):
                kwargs["alpha"] = float(kwargs["alpha"])
            return kwargs
        if "alpha" in kwargs:
            raise ValueError(f"{self.name}: algo.kwargs.alpha is set and so is algo.auto_alpha; choose one")
        target_entropy = -float(np.prod(self.single_action_space.shape))
        alpha = AutoAlpha(target_entropy, 0.0, AdamOptimizerFactory(lr=self.config.alpha_lr))
        return {**kwargs, "alpha": alpha.to(self.device)}

    def warm_up(self, pause: Callable[[int], bool]) -> None:
        """The example's ``collect(n_step=start_timesteps, random=True)``, in pieces between pauses."""
        start = self.config.start_timesteps
        while self._steps < min(start, self.total_steps):
            if not pause(self._steps):
                raise _StopTraining
            piece = min(self.chunk(), start - self._steps)
            self.collector.collect(n_step=_round_up(piece, self.env_config.num_envs), random=True)

    def trainer_params(self, remaining: int, training_fn: Callable[[int, int], None], logger: Any) -> Any:
        from tianshou.trainer import OffPolicyTrainerParams

        return OffPolicyTrainerParams(
            training_collector=self.collector,
            test_collector=None,
            max_epochs=1,
            epoch_num_steps=remaining,
            collection_step_num_env_steps=self.collect_size(),
            update_step_num_gradient_steps_per_sample=self.config.update_step_num_gradient_steps_per_sample,
            batch_size=self.config.batch_size,
            training_fn=training_fn,
            logger=logger,
            verbose=False,
            show_progress=False,
        )

    def algorithm_state(self) -> dict[str, Any]:
        state = super().algorithm_state()
        if self.save_replay_buffer:
            state["replay_buffer"] = pickle.dumps(self.collector.buffer)
        if self.config.auto_alpha:  # AutoAlpha keeps its optimiser outside the algorithm's list
            state["alpha_optim"] = self.algorithm.alpha._optim.state_dict()
        return state

    def load_algorithm_state(self, state: dict[str, Any]) -> None:
        super().load_algorithm_state(state)
        if state.get("alpha_optim") is not None:
            self.algorithm.alpha._optim.load_state_dict(state["alpha_optim"])


def _round_up(steps: int, multiple: int) -> int:
    return math.ceil(steps / multiple) * multiple
