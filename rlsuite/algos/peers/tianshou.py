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
- **Training is Tianshou's trainer, run once.** ``algorithm.create_trainer(params).run()`` with
  ``OnPolicyTrainerParams``/``OffPolicyTrainerParams``: one epoch of the whole remaining budget, no
  test collector (rlsuite evaluates), no Tianshou logging or progress output. Its collect -> update
  cycle (and the on-policy buffer reset) runs unchanged: the trainer calls its ``training_fn`` hook
  before every collection step, and that hook calls ``pause(env steps so far)``; when ``pause``
  returns ``False`` the hook raises :class:`StopTraining`, which ends ``run``. No hand-written
  collect/update loop is needed. The collector's ``on_step_hook`` sees every vector step: it feeds
  rewards/dones to ``self.episodes`` and counts env steps (``peer_step``: warm-up, trainer and
  pre-resume steps). SAC's warm-up (the example's ``collector.collect(n_step=start_timesteps,
  random=True)``) runs before the trainer, in pieces of ``chunk_steps`` with a pause before each; its
  steps count towards the budget. One difference from the example scripts: the collector is reset
  by the adapter (at the first training call and after a restore), not again by the trainer
  (``run(reset_collectors=False)``), so warm-up episodes run on into training and a later
  ``learn()`` call continues the same episodes.
- **Statistics** are the trainer's latest update statistics (kept from its logger calls) under
  ``train/``: PPO ``loss``, ``actor_loss``, ``vf_loss``, ``ent_loss`` (means over the update's
  minibatches), ``gradient_steps`` and, with ``lr_decay``, ``learning_rate``; SAC ``actor_loss``,
  ``critic1_loss``, ``critic2_loss``, ``alpha``, ``alpha_loss`` (of the last gradient step).
- **Checkpoints** hold the algorithm's ``state_dict`` (networks, target networks, Tianshou's optimiser
  states), the learning-rate scheduler and auto-alpha optimiser states, the env-step counter, the
  observation normaliser and, for SAC with ``checkpoint.save_replay_buffer``, the replay buffer (its
  arrays, counters and sampler state as plain data: checkpoints hold no pickles). Envs are re-seeded
  with ``seed + step`` and start new episodes on resume.

Config fields hold the trainer- and network-level quantities Tianshou's example scripts expose,
under Tianshou's names (``*TrainerParams`` fields where they exist), with the examples' defaults
(see each config class); ``algo.kwargs`` go unchanged to ``PPO(...)``/``SAC(...)`` (``eps_clip``,
``gamma``, ``gae_lambda``, ``vf_coef``, ``max_grad_norm``, ``tau``, ``alpha``...), whose defaults
are the classes' own (not the example scripts' overrides of them).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from rlsuite.algos.base import Capabilities
from rlsuite.algos.peers.base import PeerConfig
from rlsuite.algos.peers.tianshou_base import (
    ACTIVATIONS,
    StopTraining,
    TianshouAlgorithm,
    buffer_state,
    round_up,
)
from rlsuite.config import param


@dataclass
class TianshouPPOConfig(PeerConfig):
    """Tianshou PPO settings beside ``kwargs`` (``PPO(...)``'s own arguments, Tianshou's defaults).

    Defaults are those of Tianshou's MuJoCo PPO example (``examples/mujoco/mujoco_ppo.py``), except
    ``lr_decay`` and ``obs_norm``, which the example turns on and Tianshou's classes leave off.
    """

    hidden_sizes: list[int] = param([64, 64], help="hidden layer sizes of the actor and critic bodies", min=1)
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
    """Tianshou SAC settings beside ``kwargs`` (``SAC(...)``'s own: ``tau``, ``gamma``, ``alpha``...).

    All defaults are those of Tianshou's MuJoCo SAC example (``examples/mujoco/mujoco_sac.py``).
    """

    hidden_sizes: list[int] = param(
        [256, 256], help="hidden layer sizes of the actor and both critics", min=1
    )
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


def _orthogonal_init(module: torch.nn.Module, gain: float) -> None:
    for layer in module.modules():
        if isinstance(layer, torch.nn.Linear):
            torch.nn.init.orthogonal_(layer.weight, gain=gain)
            torch.nn.init.zeros_(layer.bias)


class TianshouPPO(TianshouAlgorithm):
    name = "tianshou:PPO"
    description = "Tianshou's PPO as a peer (extra tianshou)"
    tianshou_class = "PPO"
    built_here = frozenset({"policy", "critic", "optim"})
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

        body, n_actions = self._net(self.config.hidden_sizes), int(self.single_action_space.n)
        actor = DiscreteActor(preprocess_net=body, action_shape=n_actions).to(self.device)
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
        with warnings.catch_warnings():  # it warns about max_action=1, which an unbounded actor ignores
            warnings.filterwarnings("ignore", message="action_scaling and action_bound_method are only")
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
            optim.with_lr_scheduler_factory(_LinearDecayToRunEnd(self._planned_updates))
        return optim

    def total_steps_schedules(self) -> list[str]:
        return ["algo.lr_decay"] if self.config.lr_decay else []

    def _planned_updates(self) -> int:
        """Updates (one per collection step) in the run's planned ``total_steps``."""
        return math.ceil(self.total_steps / self.collect_size())

    def trainer_params(self, remaining: int, training_fn: Callable[[int, int], None], logger: Any) -> Any:
        from tianshou.trainer import OnPolicyTrainerParams

        return OnPolicyTrainerParams(
            **self.common_trainer_params(remaining, training_fn, logger),
            update_step_num_repetitions=self.config.update_step_num_repetitions,
        )


def _diagonal_gaussian(loc_scale: tuple[torch.Tensor, torch.Tensor]) -> torch.distributions.Distribution:
    loc, scale = loc_scale
    return torch.distributions.Independent(torch.distributions.Normal(loc, scale), 1)


class _LinearDecayToRunEnd:
    """Tianshou's linear learning-rate decay (an ``LRSchedulerFactory``), over the run's updates.

    Tianshou's ``LRSchedulerFactoryLinear`` needs the epoch layout when the optimiser is built; the
    run's length is known only when training starts, so ``updates()`` is asked at each step. The
    lambda is a plain function, so scheduler state dicts hold nothing but counters.
    """

    def __init__(self, updates: Callable[[], int]) -> None:
        self.updates = updates

    def create_scheduler(self, optim: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LRScheduler:
        updates = self.updates

        def factor(update: int) -> float:
            return max(1.0 - update / max(updates(), 1), 0.0)

        return torch.optim.lr_scheduler.LambdaLR(optim, lr_lambda=factor)


class TianshouSAC(TianshouAlgorithm):
    name = "tianshou:SAC"
    description = "Tianshou's SAC as a peer (extra tianshou)"
    tianshou_class = "SAC"
    built_here = frozenset({"policy", "policy_optim", "critic", "critic_optim", "critic2", "critic2_optim"})
    config_cls = TianshouSACConfig
    on_policy_chunk = False
    capabilities = Capabilities(discrete_actions=False, continuous_actions=True, on_policy=False)

    @classmethod
    def config_problems(cls, config: Any) -> list[str]:
        problems = super().config_problems(config)
        if config.auto_alpha and "alpha" in config.kwargs:
            problems.append("algo.kwargs.alpha is set and so is algo.auto_alpha; choose one")
        return problems

    def build_algorithm(self, kwargs: dict[str, Any]) -> Any:
        from tianshou.algorithm import SAC
        from tianshou.algorithm.modelfree.sac import SACPolicy
        from tianshou.algorithm.optim import AdamOptimizerFactory
        from tianshou.utils.net.common import Net
        from tianshou.utils.net.continuous import ContinuousActorProbabilistic

        cfg = self.config
        actor = ContinuousActorProbabilistic(
            preprocess_net=Net(
                state_shape=self.single_observation_space.shape, hidden_sizes=cfg.hidden_sizes
            ),
            action_shape=self.single_action_space.shape,
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
        target_entropy = -float(np.prod(self.single_action_space.shape))
        alpha = AutoAlpha(target_entropy, 0.0, AdamOptimizerFactory(lr=self.config.alpha_lr))
        return {**kwargs, "alpha": alpha.to(self.device)}

    def warm_up(self, pause: Callable[[int], bool]) -> None:
        """The example's ``collect(n_step=start_timesteps, random=True)``, in pieces between pauses."""
        end = min(self.config.start_timesteps, self.total_steps)
        while self._steps < end:
            if not pause(self._steps):
                raise StopTraining
            piece = min(self.chunk(), end - self._steps)
            self.collector.collect(n_step=round_up(piece, self.env_config.num_envs), random=True)

    def trainer_params(self, remaining: int, training_fn: Callable[[int, int], None], logger: Any) -> Any:
        from tianshou.trainer import OffPolicyTrainerParams

        return OffPolicyTrainerParams(
            **self.common_trainer_params(remaining, training_fn, logger),
            update_step_num_gradient_steps_per_sample=self.config.update_step_num_gradient_steps_per_sample,
        )

    def algorithm_state(self) -> dict[str, Any]:
        state = super().algorithm_state()
        if self.save_replay_buffer:
            state["replay_buffer"] = buffer_state(self.collector.buffer)
        if self.config.auto_alpha:  # AutoAlpha keeps its optimiser outside the algorithm's list
            state["alpha_optim"] = self.algorithm.alpha._optim.state_dict()
        return state

    def load_algorithm_state(self, state: dict[str, Any]) -> None:
        super().load_algorithm_state(state)
        if state.get("alpha_optim") is not None:
            self.algorithm.alpha._optim.load_state_dict(state["alpha_optim"])
