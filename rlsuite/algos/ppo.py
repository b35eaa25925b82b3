"""Proximal Policy Optimization (Schulman et al., 2017, arXiv:1707.06347).

The clipped-surrogate PPO with the implementation details that make it work in practice
(Huang et al., "The 37 Implementation Details of PPO", ICLR Blog Track 2022): GAE, per-minibatch
advantage normalisation, value clipping, linear learning-rate annealing, global gradient clipping,
observation and reward normalisation, separate actor/critic MLPs with orthogonal init.

Rollouts run over any same-step-autoreset ``VectorEnv`` (a native numba batch, sync or async) with one
batched policy forward per step. Time-limit truncations are bootstrapped: the reward of a truncated step
gets ``gamma * V(final_obs)`` added, so the value target does not treat a time limit as a failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from rlsuite.agents.actor_critic import ActorCriticAgent
from rlsuite.agents.cpu_inference import CPURolloutPolicy
from rlsuite.algos.base import Algorithm, Capabilities
from rlsuite.algos.ppo_cpu import NumpyPPOUpdate
from rlsuite.config import param
from rlsuite.core.buffers import RolloutBuffer, shuffled_minibatches, unpack
from rlsuite.core.episodes import final_observations
from rlsuite.core.optim import clip_grad_norm
from rlsuite.core.running_stats import RewardScaler
from rlsuite.core.threads import single_threaded_blas


@dataclass
class PPOConfig:
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
    # speed
    rollout_backend: str = param(
        "auto",
        help="rollout inference: 'numpy' (CPU matmuls on the same weights), 'torch', 'auto' (numpy on CPU)",
        choices=("auto", "numpy", "torch"),
    )
    update_backend: str = param(
        "auto",
        help="gradient steps: 'numpy' (hand-derived gradients of the same loss, CPU), 'torch' (autograd), "
        "or 'auto' (numpy on CPU)",
        choices=("auto", "numpy", "torch"),
    )


class PPO(Algorithm):
    name = "ppo"
    config_cls = PPOConfig
    capabilities = Capabilities(discrete_actions=True, continuous_actions=True, on_policy=True)

    def setup(self) -> None:
        cfg, env = self.config, self.env
        self.agent = ActorCriticAgent(
            env.single_observation_space,
            env.single_action_space,
            hidden_sizes=cfg.hidden_sizes,
            activation=cfg.activation,
            log_std_init=cfg.log_std_init,
            normalize_obs=cfg.normalize_obs,
            obs_clip=cfg.obs_clip,
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
        # CPU fast paths (same network, same loss; see agents/cpu_inference.py and algos/ppo_cpu.py).
        numpy_rollout, numpy_update = (
            choice == "numpy" or (choice == "auto" and self.device.type == "cpu")
            for choice in (cfg.rollout_backend, cfg.update_backend)
        )
        self.rollout_policy = CPURolloutPolicy(self.agent, self.seed) if numpy_rollout else None
        self.numpy_update = NumpyPPOUpdate(self.agent, self.optimizer, cfg) if numpy_update else None

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
        if self.numpy_update is not None:
            packed = packed.numpy()
        minibatch_step = self._minibatch_step if self.numpy_update is None else self.numpy_update.step
        diagnostics: list[dict[str, float]] = []
        for _epoch in range(cfg.update_epochs):
            minibatches = list(shuffled_minibatches(packed, cfg.minibatch_size))
            for i, rows in enumerate(minibatches):
                # Diagnostics (KL, clip fraction, losses) from each epoch's last minibatch: the one the
                # target_kl check reads, as in CleanRL; computing them for every minibatch costs ~10% more.
                last = i == len(minibatches) - 1
                stats = minibatch_step(unpack(rows, layout), with_diagnostics=last)
            diagnostics.append(stats)
            if cfg.target_kl is not None and stats["approx_kl"] > cfg.target_kl:
                break
        out = {f"train/{k}": float(np.mean([d[k] for d in diagnostics])) for k in diagnostics[0]}
        out["train/lr"] = lr
        out["train/explained_variance"] = _explained_variance(self.buffer.values, self.buffer.returns)
        return out

    def _learning_rate(self) -> float:
        if not self.config.anneal_lr or self.total_steps <= 0:
            return self.config.lr
        batch = self.config.num_steps * self.env.num_envs
        num_iterations = max(1, -(-self.total_steps // batch))
        return self.config.lr * max(0.0, 1.0 - self.iteration / num_iterations)

    def _minibatch_step(self, mb: dict[str, torch.Tensor], with_diagnostics: bool) -> dict[str, float]:
        cfg = self.config
        new_logp, entropy, new_value = self.agent.evaluate(mb["obs"], mb["actions"])
        log_ratio = new_logp - mb["logprobs"]
        ratio = log_ratio.exp()
        advantages = mb["advantages"]
        if cfg.norm_adv and advantages.numel() > 1:
            advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)

        # Clipped surrogate objective (PPO paper, eq. 7), minimised as its negative:
        #   L^CLIP = E_t[ min( r_t(theta) A_t , clip(r_t(theta), 1 - eps, 1 + eps) A_t ) ]
        policy_loss = torch.max(
            -advantages * ratio, -advantages * ratio.clamp(1 - cfg.clip_coef, 1 + cfg.clip_coef)
        ).mean()

        # Value loss: 0.5 * (V - R)^2, optionally clipped around the rollout's values:
        #   L^V = 0.5 * E_t[ max( (V - R)^2 , (V_old + clip(V - V_old, -eps, eps) - R)^2 ) ]
        value_error = (new_value - mb["returns"]).square()
        if cfg.clip_vloss:
            clipped = mb["values"] + (new_value - mb["values"]).clamp(-cfg.clip_coef, cfg.clip_coef)
            value_error = torch.max(value_error, (clipped - mb["returns"]).square())
        value_loss = 0.5 * value_error.mean()

        # Total: L = L^CLIP_loss - c_ent * H[pi] + c_v * L^V (PPO paper, eq. 9, as a loss).
        loss = policy_loss + cfg.vf_coef * value_loss
        if cfg.ent_coef:
            loss = loss - cfg.ent_coef * entropy.mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.max_grad_norm > 0:
            clip_grad_norm(self.parameters, cfg.max_grad_norm)
        self.optimizer.step()
        if not with_diagnostics:
            return {}
        with torch.no_grad():  # k3 estimator of KL(old || new) (Schulman, "Approximating KL divergence")
            return {
                "policy_loss": policy_loss.item(),
                "value_loss": value_loss.item(),
                "entropy": entropy.mean().item(),
                "approx_kl": ((ratio - 1) - log_ratio).mean().item(),
                "clip_fraction": ((ratio - 1).abs() > cfg.clip_coef).float().mean().item(),
            }

    # --- checkpoint ------------------------------------------------------------------------------
    def algorithm_state(self) -> dict[str, Any]:
        return {
            "agent": self.agent.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "reward_scaler": None if self.reward_scaler is None else self.reward_scaler.state_dict(),
            "rollout_policy": None if self.rollout_policy is None else self.rollout_policy.state_dict(),
        }

    def load_algorithm_state(self, state: dict[str, Any]) -> None:
        self.agent.load_state_dict(state["agent"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.reward_scaler is not None:
            self.reward_scaler.load_state_dict(state["reward_scaler"])
        if self.rollout_policy is not None and state.get("rollout_policy") is not None:
            self.rollout_policy.load_state_dict(state["rollout_policy"])


def _explained_variance(predicted: np.ndarray, target: np.ndarray) -> float:
    """1 - Var[R - V] / Var[R]: 1 is a perfect critic, 0 no better than a constant."""
    var = float(np.var(target))
    return float("nan") if var == 0 else 1.0 - float(np.var(target - predicted)) / var
