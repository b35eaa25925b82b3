"""Proximal Policy Optimization (Schulman et al., 2017, arXiv:1707.06347).

The clipped-surrogate PPO with the implementation details that make it work in practice
(Huang et al., "The 37 Implementation Details of PPO", ICLR Blog Track 2022): GAE, per-minibatch
advantage normalisation, value clipping, linear learning-rate annealing, global gradient clipping,
observation and reward normalisation, separate actor/critic MLPs with orthogonal init.

The loss, minimised per minibatch of a rollout (``ppo_loss``; PPO paper eqs. 7 and 9):

    L = -E[min(r A, clip(r, 1 - eps, 1 + eps) A)] + c_v L^V - c_ent E[H(pi(.|s))],   r = pi / pi_old
    L^V = 0.5 E[max((V - R)^2, (V_old + clip(V - V_old, -eps, eps) - R)^2)]   (unclipped: 0.5 E[(V - R)^2])

with A the GAE advantages (standardised per minibatch) and R = A + V_old. Defaults are CleanRL's
(``ppo.py``/``ppo_continuous_action.py``): lr 2.5e-4 annealed, 128 steps per env, 4 epochs, minibatch 256,
gamma 0.99, lambda 0.95, eps 0.2, c_v 0.5, no entropy bonus, grad-norm 0.5, 64-64 tanh networks.

Rollouts run over any same-step-autoreset ``VectorEnv`` (a native numba batch, sync or async) with one
batched policy forward per step. Time-limit truncations are bootstrapped: the reward of a truncated step
gets ``gamma * V(final_obs)`` added, so the value target does not treat a time limit as a failure.

**Which code runs.** Two parts have a NumPy *accelerator* for the CPU, chosen by config keys:
``update_backend`` picks who takes the gradient steps on ``ppo_loss``: ``"torch"`` (``AutogradPPOUpdate``:
autograd on ``ppo_loss`` itself, the reference) or ``"numpy_accelerated"``
(``rlsuite.algos.ppo_numpy_accelerated.NumpyAcceleratedPPOUpdate``: the same loss's gradient derived by
hand, ~5x faster for small networks on a CPU); ``rollout_backend`` picks the rollout inference:
``"torch"`` (the agent's forward) or ``"numpy_accelerated"`` (``rlsuite.agents.cpu_inference``). Both
default to ``"auto"``: the accelerator on a CPU device, torch elsewhere. ``tests/test_ppo_cpu.py`` is the
accelerator's contract: it runs both update backends from the same state and requires equal parameters,
Adam moments and losses, so an edit to ``ppo_loss`` fails that test until the accelerator's gradient is
edited to match (or run with ``update_backend=torch``). Details: docs/ppo.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np
import torch
from gymnasium import spaces

from rlsuite.agents.actor_critic import ActorCriticAgent
from rlsuite.agents.cpu_inference import CPURolloutPolicy
from rlsuite.algos.base import Algorithm, Capabilities
from rlsuite.algos.ppo_numpy_accelerated import NumpyAcceleratedPPOUpdate
from rlsuite.config import param
from rlsuite.core.buffers import RolloutBuffer, RolloutMinibatch, shuffled_minibatches, unpack
from rlsuite.core.checkpointed import Checkpointed
from rlsuite.core.episodes import final_observations
from rlsuite.core.optim import clip_grad_norm
from rlsuite.core.returns import explained_variance
from rlsuite.core.running_stats import RewardScaler
from rlsuite.core.schedules import linear_anneal
from rlsuite.core.threads import single_threaded_blas

BACKENDS = ("auto", "torch", "numpy_accelerated", "numpy")


def uses_numpy_accelerator(backend: str, device: torch.device) -> bool:
    """Whether a ``rollout_backend``/``update_backend`` value selects the NumPy accelerator on ``device``."""
    return backend in ("numpy_accelerated", "numpy") or (backend == "auto" and device.type == "cpu")


@dataclass
class PPOConfig:
    """PPO's settings; defaults are CleanRL's (module docstring)."""

    name: str = param("ppo", help="algorithm name (fixed)", choices=("ppo",))
    # rollout
    num_steps: int = param(128, help="steps per env in each rollout; batch = num_steps * env.num_envs", min=1)
    gamma: float = param(0.99, help="discount factor", min=0.0, max=1.0)
    gae_lambda: float = param(0.95, help="GAE lambda (0 = one-step TD, 1 = Monte Carlo)", min=0.0, max=1.0)
    bootstrap_truncated: bool = param(True, help="add gamma*V(final obs) to the reward of truncated steps")
    # optimisation
    lr: float = param(2.5e-4, help="Adam learning rate", min=0.0, min_exclusive=True)
    anneal_lr: bool = param(True, help="anneal the learning rate linearly to 0 over the run's total_steps")
    adam_eps: float = param(1e-5, help="Adam epsilon", min=0.0, min_exclusive=True)
    update_epochs: int = param(4, help="passes over each rollout", min=1)
    minibatch_size: int = param(256, help="samples per gradient step", min=1)
    max_grad_norm: float = param(0.5, help="global gradient-norm clip (0 disables)", min=0.0)
    target_kl: float | None = param(None, help="stop the epochs early when approx KL exceeds this", min=0.0)
    # loss
    clip_coef: float = param(0.2, help="policy ratio clip epsilon", min=0.0, min_exclusive=True)
    clip_vloss: bool = param(True, help="clip the value update around the old values (same epsilon)")
    norm_adv: bool = param(True, help="normalise advantages within each minibatch")
    ent_coef: float = param(0.0, help="entropy bonus coefficient", min=0.0)
    vf_coef: float = param(0.5, help="value loss coefficient", min=0.0)
    # normalisation
    normalize_obs: bool = param(False, help="standardise observations with running statistics")
    normalize_reward: bool = param(False, help="scale rewards by the running std of the discounted return")
    obs_clip: float = param(
        10.0, help="clip normalised observations to +-obs_clip", min=0.0, min_exclusive=True
    )
    reward_clip: float = param(10.0, help="clip scaled rewards to +-reward_clip", min=0.0, min_exclusive=True)
    # networks
    hidden_sizes: tuple[int, ...] = param((64, 64), help="hidden layer widths of actor and critic", min=1)
    activation: str = param("tanh", help="hidden activation", choices=("tanh", "relu", "elu", "silu"))
    log_std_init: float = param(0.0, help="initial log-std of the Gaussian policy (continuous actions)")
    encoder: str = param(
        "mlp",
        help="observation encoder: 'mlp' (flat input) or 'conv' (3x3 convolutions over (C, H, W) grid "
        "observations such as Sokoban, Maze and Taxi; trains with the torch backends)",
        choices=("mlp", "conv"),
    )
    conv_channels: tuple[int, ...] = param((32, 64), help="channels of the conv encoder's layers")
    # speed: NumPy accelerators for the CPU (module docstring; 'numpy' is the old name of numpy_accelerated)
    rollout_backend: str = param(
        "auto",
        help="rollout inference: 'torch' (the agent's forward), 'numpy_accelerated' (NumPy matmuls on the "
        "same weights, CPU only), 'auto' (numpy_accelerated on a CPU device, else torch)",
        choices=BACKENDS,
    )
    update_backend: str = param(
        "auto",
        help="gradient steps on ppo_loss: 'torch' (autograd), 'numpy_accelerated' (its gradient derived by "
        "hand, CPU only; tests/test_ppo_cpu.py checks it equals autograd), 'auto' (numpy_accelerated on a "
        "CPU device, else torch)",
        choices=BACKENDS,
    )


class PPO(Algorithm):
    """PPO on any single-agent vector env, discrete or continuous actions (``algo.name: ppo``)."""

    name = "ppo"
    description = "Proximal Policy Optimization: clipped surrogate, GAE, discrete and continuous actions"
    config_cls = PPOConfig
    capabilities = Capabilities(discrete_actions=True, continuous_actions=True, on_policy=True)

    @classmethod
    def config_problems(cls, config: PPOConfig) -> list[str]:
        """The NumPy backends implement the MLP only: a conv encoder needs the torch ones."""
        return [
            f"algo.{name}: {getattr(config, name)!r} implements the MLP encoder only; "
            "use 'torch' (or 'auto') with encoder='conv'"
            for name in ("rollout_backend", "update_backend")
            if config.encoder == "conv" and getattr(config, name) in ("numpy_accelerated", "numpy")
        ]

    def setup(self) -> None:
        problems = self.config_problems(self.config)
        if problems:
            raise ValueError("; ".join(problems))
        cfg, env = self.config, self.env
        self.agent = ActorCriticAgent(
            env.single_observation_space,
            env.single_action_space,
            hidden_sizes=cfg.hidden_sizes,
            activation=cfg.activation,
            log_std_init=cfg.log_std_init,
            normalize_obs=cfg.normalize_obs,
            obs_clip=cfg.obs_clip,
            encoder=cfg.encoder,
            conv_channels=cfg.conv_channels,
        ).to(self.device)
        self.parameters = list(self.agent.parameters())
        # fused=True: one kernel for all parameters' Adam updates (CPU and CUDA), same arithmetic.
        self.optimizer = torch.optim.Adam(self.parameters, lr=cfg.lr, eps=cfg.adam_eps, fused=True)
        action_space = env.single_action_space
        discrete = isinstance(action_space, spaces.Discrete)
        self.buffer = RolloutBuffer(
            cfg.num_steps,
            env.num_envs,
            (int(np.prod(env.single_observation_space.shape)),),
            () if discrete else action_space.shape,
            np.int64 if discrete else np.float32,
        )
        self.reward_scaler = (
            RewardScaler(env.num_envs, cfg.gamma, cfg.reward_clip) if cfg.normalize_reward else None
        )
        # Which code runs (module docstring): the NumPy accelerators on a CPU by default. They implement
        # the MLP only: a conv encoder trains with torch.
        mlp = cfg.encoder == "mlp"
        numpy_rollout = mlp and uses_numpy_accelerator(cfg.rollout_backend, self.device)
        numpy_update = mlp and uses_numpy_accelerator(cfg.update_backend, self.device)
        self.rollout_policy = CPURolloutPolicy(self.agent, self.seed) if numpy_rollout else None
        self.minibatch_update: PPOUpdate = (
            NumpyAcceleratedPPOUpdate(self.agent, self.optimizer, cfg)
            if numpy_update
            else AutogradPPOUpdate(self.agent, self.optimizer, self.parameters, cfg)
        )

    # --- acting ----------------------------------------------------------------------------------
    def _policy_input(self, raw_obs: np.ndarray, *, update_stats: bool) -> np.ndarray:
        flat = np.asarray(raw_obs, np.float32).reshape(raw_obs.shape[0], -1)
        if update_stats:
            self.agent.obs_normalizer.update(flat)
        return self.agent.obs_normalizer.normalize_numpy(flat)

    def collect(self) -> dict[str, float]:
        with single_threaded_blas(), torch.inference_mode():
            return self._collect()

    def _collect(self) -> dict[str, float]:
        cfg, buf, agent = self.config, self.buffer, self.agent
        for t in range(cfg.num_steps):
            obs = self._policy_input(self.obs, update_stats=True)
            action, logp, value = self._sample(obs)
            next_obs, reward, terminated, truncated, infos = self.env.step(agent.to_env_action(action))
            done = np.logical_or(terminated, truncated)
            self.episodes.step(reward, done)
            reward = np.asarray(reward, np.float32)
            if self.reward_scaler is not None:
                reward = self.reward_scaler(reward, done)
            if cfg.bootstrap_truncated:
                reward = self._bootstrap_truncated(reward, terminated, truncated, infos)
            buf.obs[t], buf.actions[t], buf.rewards[t], buf.dones[t] = obs, action, reward, done
            buf.logprobs[t], buf.values[t] = logp, value
            self.obs = next_obs
        last_values = self._values(self._policy_input(self.obs, update_stats=False))
        buf.compute_returns(last_values, cfg.gamma, cfg.gae_lambda)
        self.global_step += cfg.num_steps * self.env.num_envs
        return {}

    def _sample(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One batched policy forward: ``(action, log-prob, value)`` as NumPy arrays."""
        if self.rollout_policy is not None:
            return self.rollout_policy.sample(obs)
        action, logp, value = self.agent.sample(torch.from_numpy(obs).to(self.device))
        return action.cpu().numpy(), logp.cpu().numpy(), value.cpu().numpy()

    def _values(self, obs: np.ndarray) -> np.ndarray:
        if self.rollout_policy is not None:
            return self.rollout_policy.value(obs)
        return self.agent.value(torch.from_numpy(obs).to(self.device)).cpu().numpy()

    def _bootstrap_truncated(self, reward, terminated, truncated, infos) -> np.ndarray:
        """r_t += gamma * V(s_final) where the episode was cut by a time limit, not ended by the task."""
        cut = np.flatnonzero(np.logical_and(truncated, np.logical_not(terminated)))
        if cut.size == 0:
            return reward
        final = self._policy_input(final_observations(infos, cut), update_stats=False)
        reward = reward.copy()
        reward[cut] += self.config.gamma * self._values(final)
        return reward

    # --- learning --------------------------------------------------------------------------------
    def update(self) -> dict[str, float]:
        with single_threaded_blas():
            return self._update()

    def _update(self) -> dict[str, float]:
        cfg = self.config
        lr = self._learning_rate()
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        packed, layout = self.buffer.packed(self.device)
        if self.minibatch_update.takes_numpy:
            packed = packed.numpy()
        diagnostics: list[dict[str, float]] = []
        for _epoch in range(cfg.update_epochs):
            minibatches = list(shuffled_minibatches(packed, cfg.minibatch_size))
            for i, rows in enumerate(minibatches):
                # Diagnostics (KL, clip fraction, losses) from each epoch's last minibatch: the one the
                # target_kl check reads, as in CleanRL; computing them for every minibatch costs ~10% more.
                last = i == len(minibatches) - 1
                stats = self.minibatch_update.step(unpack(rows, layout), with_diagnostics=last)
            diagnostics.append(stats)
            if cfg.target_kl is not None and stats["approx_kl"] > cfg.target_kl:
                break
        out = {f"train/{k}": float(np.mean([d[k] for d in diagnostics])) for k in diagnostics[0]}
        out["train/lr"] = lr
        out["train/explained_variance"] = explained_variance(self.buffer.values, self.buffer.returns)
        return out

    def total_steps_schedules(self) -> list[str]:
        return ["algo.anneal_lr"] if self.config.anneal_lr else []

    def _learning_rate(self) -> float:
        """``lr``, annealed linearly to 0 over the run's planned iterations when ``anneal_lr``."""
        cfg = self.config
        if not cfg.anneal_lr:
            return cfg.lr
        return cfg.lr * linear_anneal(self.iteration, self.total_steps, cfg.num_steps * self.env.num_envs)

    # --- checkpoint ------------------------------------------------------------------------------
    checkpointed = Checkpointed(
        modules=("agent", "optimizer"),
        # None without reward normalisation / when the update runs in autograd (GPU)
        optional_modules=("reward_scaler", "rollout_policy"),
    )


# --- the loss and the reference (autograd) update -------------------------------------------------------
class PPOLoss(NamedTuple):
    """``ppo_loss`` of a minibatch: the total to minimise, its terms, and the ratios (for diagnostics)."""

    total: torch.Tensor  # L = L^CLIP_loss + c_v L^V - c_ent H
    policy_loss: torch.Tensor  # -E[min(r A, clip(r) A)]
    value_loss: torch.Tensor  # L^V
    entropy: torch.Tensor  # E[H(pi(.|s))]
    ratio: torch.Tensor  # [M] r = pi / pi_old
    log_ratio: torch.Tensor  # [M] log r


def ppo_loss(
    new_logp: torch.Tensor,
    entropy: torch.Tensor,
    new_value: torch.Tensor,
    mb: RolloutMinibatch,
    cfg: PPOConfig,
) -> PPOLoss:
    """The PPO loss (module docstring) from the current policy's log-probs, entropies and values on ``mb``.

    This is the one definition of the loss: ``AutogradPPOUpdate`` differentiates it, and the NumPy
    accelerator implements its gradient by hand (``tests/test_ppo_cpu.py`` holds the two equal).
    """
    log_ratio = new_logp - mb.logprobs
    ratio = log_ratio.exp()
    advantages = mb.advantages
    if cfg.norm_adv and advantages.numel() > 1:
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)

    # Clipped surrogate objective (PPO paper, eq. 7), minimised as its negative:
    #   L^CLIP = E_t[ min( r_t(theta) A_t , clip(r_t(theta), 1 - eps, 1 + eps) A_t ) ]
    policy_loss = torch.max(
        -advantages * ratio, -advantages * ratio.clamp(1 - cfg.clip_coef, 1 + cfg.clip_coef)
    ).mean()

    # Value loss: 0.5 * (V - R)^2, optionally clipped around the rollout's values:
    #   L^V = 0.5 * E_t[ max( (V - R)^2 , (V_old + clip(V - V_old, -eps, eps) - R)^2 ) ]
    value_error = (new_value - mb.returns).square()
    if cfg.clip_vloss:
        clipped = mb.values + (new_value - mb.values).clamp(-cfg.clip_coef, cfg.clip_coef)
        value_error = torch.max(value_error, (clipped - mb.returns).square())
    value_loss = 0.5 * value_error.mean()

    # Total: L = L^CLIP_loss - c_ent * H[pi] + c_v * L^V (PPO paper, eq. 9, as a loss).
    total = policy_loss + cfg.vf_coef * value_loss
    if cfg.ent_coef:
        total = total - cfg.ent_coef * entropy.mean()
    return PPOLoss(total, policy_loss, value_loss, entropy.mean(), ratio, log_ratio)


class PPOUpdate(Protocol):
    """Takes one gradient step on ``ppo_loss`` for a minibatch (the ``update_backend``)."""

    takes_numpy: bool  # minibatches as NumPy arrays (else torch tensors on the training device)

    def step(self, mb: RolloutMinibatch, with_diagnostics: bool) -> dict[str, float]:
        """One optimiser step; with ``with_diagnostics`` also the losses, entropy, approx. KL and clip
        fraction of the minibatch before the step."""
        ...


class AutogradPPOUpdate:
    """``update_backend="torch"``: autograd on ``ppo_loss``, global-norm clip, Adam (any device)."""

    takes_numpy = False

    def __init__(
        self,
        agent: ActorCriticAgent,
        optimizer: torch.optim.Optimizer,
        parameters: list[torch.nn.Parameter],
        config: PPOConfig,
    ) -> None:
        self.agent, self.optimizer, self.parameters, self.config = agent, optimizer, parameters, config

    def step(self, mb: RolloutMinibatch, with_diagnostics: bool) -> dict[str, float]:
        cfg = self.config
        new_logp, entropy, new_value = self.agent.evaluate(mb.obs, mb.actions)
        loss = ppo_loss(new_logp, entropy, new_value, mb, cfg)
        self.optimizer.zero_grad(set_to_none=True)
        loss.total.backward()
        if cfg.max_grad_norm > 0:
            clip_grad_norm(self.parameters, cfg.max_grad_norm)
        self.optimizer.step()
        if not with_diagnostics:
            return {}
        ratio, log_ratio = loss.ratio, loss.log_ratio
        with torch.no_grad():  # k3 estimator of KL(old || new) (Schulman, "Approximating KL divergence")
            return {
                "policy_loss": loss.policy_loss.item(),
                "value_loss": loss.value_loss.item(),
                "entropy": loss.entropy.item(),
                "approx_kl": ((ratio - 1) - log_ratio).mean().item(),
                "clip_fraction": ((ratio - 1).abs() > cfg.clip_coef).float().mean().item(),
            }
