"""Multi-Agent PPO (Yu et al., "The Surprising Effectiveness of PPO in Cooperative Multi-Agent Games",
NeurIPS 2022 Datasets and Benchmarks, arXiv:2103.01955).

PPO with centralised training and decentralised execution. Every agent acts with one shared actor
``pi_theta(a_i | o_i, i)`` on its local observation and one-hot id; a centralised critic ``V_phi`` sees
the global state (see ``critic_input``). The team reward drives a per-agent GAE, and each agent's
clipped-surrogate loss is averaged over the agents that are alive ("active"): the paper's death
masking keeps dead agents' steps, whose only available action is no-op, out of both losses.

The paper's implementation details (its five suggestions and its appendix), all on by default, with its
SMAC hyperparameters (the ``onpolicy`` reference code and its per-map scripts):

* value normalisation (Suggestion 1): the critic predicts returns standardised by running statistics
  (:class:`ValueNorm`, the reference's debiased EMA with beta = 0.99999);
* agent-specific global state for the critic (Suggestion 2; ``critic_input="AS"``);
* few epochs over the whole batch, one minibatch (Suggestion 3): 5 epochs, 15 on easy maps;
* PPO clip 0.2 (Suggestion 4; 0.05 on some hard maps);
* death masking (Suggestion 5) through the ``active`` mask;
* GAE (gamma 0.99, lambda 0.95) with advantages standardised over the active agent-steps of the batch;
* Huber value loss (delta 10) with value clipping, entropy bonus 0.01 over the available actions only,
  Adam (lr 5e-4, eps 1e-5) for actor and critic separately, gradient-norm clipping at 10 per network;
* LayerNorm on inputs and hidden layers, ReLU, orthogonal init, 64-unit layers; unavailable actions
  get logit -inf;
* optional recurrent actor and critic (the paper's rMAPPO): a GRU after the MLP, trained by
  truncated BPTT over chunks of ``chunk_length`` (10) steps that start from the stored hidden state.

Two small departures from the reference code (value-normaliser updates and the centre of the value
clip) are described in docs/marl.md ("MAPPO").

Rollouts: ``num_steps`` steps of all envs (default 400 steps x 8 envs, the reference's
``episode_length x n_rollout_threads``). Episodes cut by the env's time limit (``truncated``) are
bootstrapped with the value of the final state: ``r_t += gamma * V(s_final)``; battles that are won,
lost or drawn (``terminated``) are not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from rlsuite.agents.marl_actor_critic import (
    CRITIC_INPUTS,
    MAPPOAgent,
    masked_entropy,
    masked_log_probs,
    sample_masked,
)
from rlsuite.algos.base import Capabilities
from rlsuite.algos.marl_base import MultiAgentAlgorithm
from rlsuite.config import param
from rlsuite.core.checkpointed import Checkpointed
from rlsuite.core.optim import clip_grad_norm
from rlsuite.core.returns import (
    IdentityValueNorm,
    ValueNorm,
    bootstrap_truncated,
    explained_variance,
    multi_head_gae,
)
from rlsuite.core.schedules import linear_anneal
from rlsuite.core.team import TeamSpec, TeamStep


@dataclass
class MAPPOConfig:
    """MAPPO's settings; defaults are the paper's SMAC hyperparameters (module docstring)."""

    name: str = param("mappo", help="algorithm name (fixed)", choices=("mappo",))
    # rollout
    num_steps: int = param(
        400, help="steps per env in each rollout; batch = num_steps * num_envs team steps", min=1
    )
    gamma: float = param(0.99, help="discount factor", min=0.0, max=1.0)
    gae_lambda: float = param(0.95, help="GAE lambda (0 = one-step TD, 1 = Monte Carlo)", min=0.0, max=1.0)
    # optimisation
    lr: float = param(5e-4, help="actor Adam learning rate", min=0.0, min_exclusive=True)
    critic_lr: float = param(5e-4, help="critic Adam learning rate", min=0.0, min_exclusive=True)
    adam_eps: float = param(1e-5, help="Adam epsilon", min=0.0, min_exclusive=True)
    anneal_lr: bool = param(False, help="anneal both learning rates linearly to 0 over the run's total_steps")
    update_epochs: int = param(5, help="PPO epochs over each rollout (paper: 15 on easy SMAC maps)", min=1)
    num_minibatches: int = param(
        1, help="minibatches per epoch (paper: 1, the whole batch; Suggestion 3)", min=1
    )
    max_grad_norm: float = param(10.0, help="gradient-norm clip, per network (0 disables)", min=0.0)
    # loss
    clip_coef: float = param(
        0.2, help="policy ratio clip epsilon (also clips the value update)", min=0.0, min_exclusive=True
    )
    clip_vloss: bool = param(True, help="clip the value update around the rollout's values")
    norm_adv: bool = param(True, help="standardise advantages over the batch's active agent-steps")
    ent_coef: float = param(0.01, help="entropy bonus coefficient (entropy over available actions)", min=0.0)
    vf_coef: float = param(1.0, help="value loss coefficient", min=0.0)
    huber_delta: float = param(10.0, help="Huber value loss delta (0: squared error)", min=0.0)
    value_norm: bool = param(True, help="train the critic on returns standardised by running statistics")
    # networks
    critic_input: str = param(
        "AS",
        help="critic input: 'AS' global state + own obs + agent id (per agent; the paper's agent-specific "
        "state), 'EP' global state + agent id (per agent), 'state' global state (one value per team)",
        choices=CRITIC_INPUTS,
    )
    hidden_sizes: tuple[int, ...] = param((64, 64), help="hidden layer widths of actor and critic", min=1)
    activation: str = param("relu", help="hidden activation", choices=("relu", "tanh"))
    layer_norm: bool = param(True, help="LayerNorm on the inputs and after every hidden layer")
    actor_output_gain: float = param(0.01, help="orthogonal-init gain of the policy logits layer", min=0.0)
    recurrent: bool = param(False, help="GRU actor and critic (rMAPPO), trained on chunks of chunk_length")
    chunk_length: int = param(10, help="BPTT chunk length of the recurrent networks (steps)", min=1)


@dataclass
class TeamRollout:
    """One rollout of ``T = num_steps`` steps of ``N`` team envs, written step by step during ``collect``
    (``n`` agents, ``V`` value heads: ``n`` per-agent critics or 1 team critic, ``H`` GRU width)."""

    obs: np.ndarray  # [T, N, n, obs_size] float32  local observations o_t
    state: np.ndarray  # [T, N, state_size] float32  global state s_t
    action_mask: np.ndarray  # [T, N, n, n_actions] bool  available actions
    actions: np.ndarray  # [T, N, n] int64  a_t
    logprobs: np.ndarray  # [T, N, n] float32  log pi_old(a_t | o_t)
    values: np.ndarray  # [T, N, V] float32  denormalised V(s_t)
    rewards: np.ndarray  # [T, N, V] float32  team reward, + gamma V(s_final) at truncations
    dones: np.ndarray  # [T, N] bool  step t ended an episode
    first: np.ndarray  # [T, N] bool  step t started an episode (recurrent state zeroed there)
    actor_h: np.ndarray | None = None  # [T, N, n, H] float32  actor GRU state before step t (rMAPPO)
    critic_h: np.ndarray | None = None  # [T, N, V, H] float32  critic GRU state before step t (rMAPPO)

    @classmethod
    def zeros(cls, steps: int, n: int, spec: TeamSpec, value_heads: int, hidden: int | None) -> TeamRollout:
        """Zeroed arrays for ``n`` envs of a team env with ``spec``; ``hidden``: GRU width, None if
        feed-forward."""
        agents = spec.n_agents
        recurrent = hidden is not None
        return cls(
            obs=np.zeros((steps, n, agents, spec.obs_size), np.float32),
            state=np.zeros((steps, n, spec.state_size), np.float32),
            action_mask=np.zeros((steps, n, agents, spec.n_actions), bool),
            actions=np.zeros((steps, n, agents), np.int64),
            logprobs=np.zeros((steps, n, agents), np.float32),
            values=np.zeros((steps, n, value_heads), np.float32),
            rewards=np.zeros((steps, n, value_heads), np.float32),
            dones=np.zeros((steps, n), bool),
            first=np.zeros((steps, n), bool),
            actor_h=np.zeros((steps, n, agents, hidden), np.float32) if recurrent else None,
            critic_h=np.zeros((steps, n, value_heads, hidden), np.float32) if recurrent else None,
        )


class MAPPOBatch(NamedTuple):
    """Training tensors of one rollout. ``prepare_batch`` gives them ``[T, N, ...]``; minibatches are
    ``[B, ...]`` team-steps (feed-forward) or ``[L, B, ...]`` chunks of ``L`` steps (recurrent)."""

    obs: torch.Tensor  # [..., n, obs_size]
    state: torch.Tensor  # [..., state_size]
    action_mask: torch.Tensor  # [..., n, n_actions] bool
    actions: torch.Tensor  # [..., n] int64
    logprobs: torch.Tensor  # [..., n]  log pi_old(a | o)
    advantages: torch.Tensor  # [..., n]  GAE, standardised over the active agent-steps
    active: torch.Tensor  # [..., n] bool  agent alive (death masking)
    value_active: torch.Tensor  # [..., V] bool  value heads in the critic loss
    returns: torch.Tensor  # [..., V]  value targets, normalised
    old_values: torch.Tensor  # [..., V]  V_old, normalised with the updated statistics
    first: torch.Tensor  # [...] bool  step starts an episode
    actor_h: torch.Tensor | None  # [..., n, H]  GRU states (rMAPPO; [0] of a chunk starts it)
    critic_h: torch.Tensor | None  # [..., V, H]

    def map(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> MAPPOBatch:
        """``fn`` applied to every tensor field (absent recurrent fields stay None)."""
        return MAPPOBatch(*(None if value is None else fn(value) for value in self))


class MAPPOLosses(NamedTuple):
    """Differentiable losses of a minibatch and their diagnostics (scalars)."""

    actor_loss: torch.Tensor  # policy_loss - ent_coef * entropy
    critic_loss: torch.Tensor  # vf_coef * value_loss
    policy_loss: torch.Tensor
    value_loss: torch.Tensor
    entropy: torch.Tensor
    approx_kl: torch.Tensor
    clip_fraction: torch.Tensor


class MAPPO(MultiAgentAlgorithm):
    """Multi-agent PPO with a centralised critic (``algo.name: mappo``)."""

    name = "mappo"
    description = "Multi-agent PPO with a centralised critic, optionally recurrent"
    config_cls = MAPPOConfig
    capabilities = Capabilities(
        discrete_actions=True, continuous_actions=False, multi_agent=True, on_policy=True
    )

    @classmethod
    def config_problems(cls, config: MAPPOConfig) -> list[str]:
        problems = []
        if config.recurrent and config.num_steps % config.chunk_length:
            problems.append(
                f"recurrent MAPPO needs num_steps ({config.num_steps}) to be a multiple of "
                f"chunk_length ({config.chunk_length})"
            )
        return problems

    def setup(self) -> None:
        cfg, env = self.config, self.env
        problems = self.config_problems(cfg)
        if problems:
            raise ValueError("; ".join(problems))
        spec = self.team_spec
        self.agent = MAPPOAgent(
            spec.obs_size,
            spec.state_size,
            spec.n_agents,
            spec.n_actions,
            critic_input=cfg.critic_input,
            hidden_sizes=cfg.hidden_sizes,
            activation=cfg.activation,
            layer_norm=cfg.layer_norm,
            recurrent=cfg.recurrent,
            actor_output_gain=cfg.actor_output_gain,
        ).to(self.device)
        self.agent.memory = self.agent.initial_state(env.num_envs)
        self.actor_params = list(self.agent.actor.parameters())
        self.critic_params = list(self.agent.critic.parameters())
        self.actor_optimizer = torch.optim.Adam(self.actor_params, lr=cfg.lr, eps=cfg.adam_eps)
        self.critic_optimizer = torch.optim.Adam(self.critic_params, lr=cfg.critic_lr, eps=cfg.adam_eps)
        self.value_normalizer = ValueNorm() if cfg.value_norm else IdentityValueNorm()
        hidden = self.agent.hidden_size if cfg.recurrent else None
        self.buffer = TeamRollout.zeros(cfg.num_steps, env.num_envs, spec, self.agent.value_heads, hidden)
        # Which envs start a new episode at the next step (the recurrent networks zero their state there).
        self.first = np.ones(env.num_envs, bool)

    # --- acting ----------------------------------------------------------------------------------
    def _tensor(self, x: np.ndarray, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        return torch.as_tensor(x, dtype=dtype, device=self.device)

    def collect(self) -> dict[str, float]:
        with torch.inference_mode():
            return self._collect()

    def _collect(self) -> dict[str, float]:
        cfg, buf, agent = self.config, self.buffer, self.agent
        for t in range(cfg.num_steps):
            obs, state, mask = self.observation.obs, self.observation.state, self.observation.action_mask
            buf.obs[t], buf.state[t], buf.action_mask[t] = obs, state, mask
            buf.first[t] = self.first
            if cfg.recurrent:
                buf.actor_h[t] = agent.memory[0].cpu().numpy()
                buf.critic_h[t] = agent.memory[1].cpu().numpy()
            # One batched forward of the actor over all envs and agents, one of the critic.
            obs_t, mask_t = self._tensor(obs), self._tensor(mask, torch.bool)
            log_probs = agent.policy_step(obs_t, mask_t)
            action = sample_masked(log_probs)
            logp = log_probs.gather(-1, action.unsqueeze(-1)).squeeze(-1)
            value = agent.value_step(obs_t, self._tensor(state))
            action_np = action.cpu().numpy()
            buf.actions[t], buf.logprobs[t] = action_np, logp.cpu().numpy()
            buf.values[t] = self.value_normalizer.denormalize(value.cpu().numpy())

            step = self.step_env(action_np)
            done = step.done
            self.track(step)
            buf.rewards[t] = bootstrap_truncated(
                step.reward, step.terminated, step.truncated, self._final_values(step), cfg.gamma
            )
            buf.dones[t] = done
            self.first = done
            agent.memory = agent.reset_state(agent.memory, np.flatnonzero(done))
        self.last_values = self._values(self.observation.obs, self.observation.state)
        self.global_step += cfg.num_steps * self.env.num_envs
        return self.rollout_stats()

    def _values(self, obs: np.ndarray, state: np.ndarray) -> np.ndarray:
        """Denormalised ``V [N, heads]`` of observations, from the current memory (not advanced)."""
        value = self.agent.value_step(self._tensor(obs), self._tensor(state), advance=False)
        return self.value_normalizer.denormalize(value.cpu().numpy()).astype(np.float32)

    def _final_values(self, step: TeamStep) -> np.ndarray:
        """``V(s_final)`` for envs cut by the time limit (zeros elsewhere): one extra critic forward."""
        heads = self.agent.value_heads
        cut = np.logical_and(step.truncated, np.logical_not(step.terminated))
        if not cut.any():
            return np.zeros((self.env.num_envs, heads), np.float32)
        final = step.final_observation(cut)
        return self._values(final.obs, final.state)

    # --- learning --------------------------------------------------------------------------------
    def update(self) -> dict[str, float]:
        cfg = self.config
        self.restore_torch_threads()  # evaluation may have stepped an env since the last collect
        lr_scale = self._lr_scale()
        for optimizer, lr in ((self.actor_optimizer, cfg.lr), (self.critic_optimizer, cfg.critic_lr)):
            for group in optimizer.param_groups:
                group["lr"] = lr * lr_scale

        batch, diagnostics = self.prepare_batch()
        stats: list[dict[str, float]] = []
        for _epoch in range(cfg.update_epochs):
            for minibatch in self._minibatches(batch):
                stats.append(self._minibatch_step(minibatch))
        out = {f"train/{k}": float(np.mean([s[k] for s in stats])) for k in stats[0]}
        out["train/lr"] = cfg.lr * lr_scale
        out.update(diagnostics)
        return out

    def prepare_batch(self) -> tuple[MAPPOBatch, dict[str, float]]:
        """GAE, returns, value-normaliser update, death masks: the rollout as training tensors
        ``[T, N, ...]`` (and diagnostics)."""
        cfg, buf = self.config, self.buffer
        advantages = multi_head_gae(
            buf.rewards, buf.values, buf.dones, self.last_values, cfg.gamma, cfg.gae_lambda
        )
        returns = advantages + buf.values
        # Death masking: an agent is active unless it is dead (only no-op available); the team critic
        # ("state") has one head per env, always active.
        active = buf.action_mask[..., 1:].any(-1)
        value_active = active if self.agent.value_heads > 1 else np.ones_like(returns, bool)
        self.value_normalizer.update(returns[value_active])
        actor_adv = np.broadcast_to(advantages, active.shape) if self.agent.value_heads == 1 else advantages
        if cfg.norm_adv:
            chosen = actor_adv[active]
            if chosen.size > 1:
                actor_adv = (actor_adv - chosen.mean()) / (chosen.std() + 1e-5)
        arrays = MAPPOBatch(
            obs=buf.obs,
            state=buf.state,
            action_mask=buf.action_mask,
            actions=buf.actions,
            logprobs=buf.logprobs,
            advantages=actor_adv.astype(np.float32),
            active=active,
            value_active=value_active,
            # Targets and old predictions in the critic's (normalised) units.
            returns=self.value_normalizer.normalize(returns).astype(np.float32),
            old_values=self.value_normalizer.normalize(buf.values).astype(np.float32),
            first=buf.first,
            actor_h=buf.actor_h,
            critic_h=buf.critic_h,
        )
        batch = arrays.map(lambda array: torch.as_tensor(np.ascontiguousarray(array), device=self.device))
        mean, var = self.value_normalizer.mean_var()
        diagnostics = {
            "train/explained_variance": explained_variance(buf.values[value_active], returns[value_active]),
            "train/value_norm_mean": mean,
            "train/value_norm_std": float(np.sqrt(var)),
            "train/active_fraction": float(active.mean()),
        }
        return batch, diagnostics

    def total_steps_schedules(self) -> list[str]:
        return ["algo.anneal_lr"] if self.config.anneal_lr else []

    def _lr_scale(self) -> float:
        """Factor on both learning rates: 1, or annealed linearly to 0 over the run when ``anneal_lr``."""
        if not self.config.anneal_lr:
            return 1.0
        return linear_anneal(self.iteration, self.total_steps, self.config.num_steps * self.env.num_envs)

    def _minibatches(self, batch: MAPPOBatch) -> Iterator[MAPPOBatch]:
        """Feed-forward: shuffled team-steps ``[B, ...]``. Recurrent: shuffled chunks ``[L, B, ...]``."""
        cfg = self.config
        steps, n = cfg.num_steps, self.env.num_envs
        if cfg.recurrent:
            length = cfg.chunk_length
            # [T, N, ...] -> [L, C * N, ...]: chunk c of env e is sequence c * N + e.
            seqs = batch.map(
                lambda v: v.reshape(steps // length, length, n, *v.shape[2:]).transpose(0, 1).flatten(1, 2)
            )
            count, axis = seqs.first.shape[1], 1
        else:
            seqs = batch.map(lambda v: v.flatten(0, 1))
            count, axis = steps * n, 0
        order = torch.randperm(count, device=self.device) if cfg.num_minibatches > 1 else None
        for rows in order.tensor_split(cfg.num_minibatches) if order is not None else [None]:
            if rows is None:
                yield seqs
            else:
                yield seqs.map(partial(torch.index_select, dim=axis, index=rows))

    def _evaluate(self, mb: MAPPOBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(log pi(a), entropy, V)`` of a minibatch under the current networks."""
        agent = self.agent
        actor_in = agent.actor_inputs(mb.obs)
        critic_in = agent.critic_inputs(mb.obs, mb.state)
        if self.config.recurrent:
            logits = _sequence(agent.actor, actor_in, mb.actor_h[0], mb.first)
            values = _sequence(agent.critic, critic_in, mb.critic_h[0], mb.first)
        else:
            logits, values = agent.actor(actor_in)[0], agent.critic(critic_in)[0]
        log_probs = masked_log_probs(logits, mb.action_mask)
        logp = log_probs.gather(-1, mb.actions.unsqueeze(-1)).squeeze(-1)
        return logp, masked_entropy(log_probs, mb.action_mask), values.squeeze(-1)

    def losses(self, mb: MAPPOBatch) -> MAPPOLosses:
        """The actor and critic losses of a minibatch (and diagnostics), as differentiable tensors."""
        cfg = self.config
        logp, entropy, values = self._evaluate(mb)
        active = mb.active.to(logp.dtype)
        n_active = active.sum().clamp(min=1.0)
        masked_mean = lambda x: (x * active).sum() / n_active  # noqa: E731

        # Actor objective (MAPPO paper, Sec. 3 / App. A; PPO's clipped surrogate) over the active
        # agent-steps, minimised:
        #   L(theta) = -E[ min( r A, clip(r, 1 - eps, 1 + eps) A ) ],  r = pi_theta(a|o) / pi_old(a|o)
        log_ratio = logp - mb.logprobs
        ratio = log_ratio.exp()
        adv = mb.advantages
        surrogate = torch.min(ratio * adv, ratio.clamp(1 - cfg.clip_coef, 1 + cfg.clip_coef) * adv)
        policy_loss = -masked_mean(surrogate)
        # Entropy bonus sigma * S[pi_theta], over the available actions, active agents only.
        entropy_mean = masked_mean(entropy)

        # Critic objective (MAPPO paper) on normalised returns R_hat, Huber loss l instead of the square:
        #   L(phi) = E[ max( l(V_phi(s) - R_hat), l(clip(V_phi(s), V_old - eps, V_old + eps) - R_hat) ) ]
        # averaged over the active agents (per-agent critics) or over all team steps ("state").
        value_active = mb.value_active.to(values.dtype)
        value_error = _huber(values - mb.returns, cfg.huber_delta)
        if cfg.clip_vloss:
            clipped = mb.old_values + (values - mb.old_values).clamp(-cfg.clip_coef, cfg.clip_coef)
            value_error = torch.max(value_error, _huber(clipped - mb.returns, cfg.huber_delta))
        value_loss = (value_error * value_active).sum() / value_active.sum().clamp(min=1.0)
        with torch.no_grad():  # k3 estimator of KL(old || new)
            approx_kl = masked_mean((ratio - 1) - log_ratio)
            clip_fraction = masked_mean(((ratio - 1).abs() > cfg.clip_coef).to(logp.dtype))
        return MAPPOLosses(
            actor_loss=policy_loss - cfg.ent_coef * entropy_mean,
            critic_loss=cfg.vf_coef * value_loss,
            policy_loss=policy_loss,
            value_loss=value_loss,
            entropy=entropy_mean,
            approx_kl=approx_kl,
            clip_fraction=clip_fraction,
        )

    def _minibatch_step(self, mb: MAPPOBatch) -> dict[str, float]:
        cfg = self.config
        losses = self.losses(mb)
        # Actor and critic are separate networks with separate optimisers and gradient clipping.
        stats = {}
        for key, loss, optimizer, params in (
            ("actor", losses.actor_loss, self.actor_optimizer, self.actor_params),
            ("critic", losses.critic_loss, self.critic_optimizer, self.critic_params),
        ):
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.max_grad_norm > 0:
                stats[f"{key}_grad_norm"] = clip_grad_norm(params, cfg.max_grad_norm).item()
            optimizer.step()
        stats.update(
            policy_loss=losses.policy_loss.item(),
            value_loss=losses.value_loss.item(),
            entropy=losses.entropy.item(),
            approx_kl=losses.approx_kl.item(),
            clip_fraction=losses.clip_fraction.item(),
        )
        return stats

    # --- checkpoint ------------------------------------------------------------------------------
    checkpointed = Checkpointed(
        modules=("agent", "actor_optimizer", "critic_optimizer", "value_normalizer"), values=("first",)
    )

    def algorithm_state(self) -> dict[str, Any]:
        memory = self.agent.memory  # recurrent hidden states (None for feed-forward actors)
        return {
            **super().algorithm_state(),
            "memory": None if memory is None else [h.detach().cpu().clone() for h in memory],
        }

    def load_algorithm_state(self, state: dict[str, Any]) -> None:
        super().load_algorithm_state(state)
        if state["memory"] is not None:
            self.agent.memory = tuple(h.to(self.device) for h in state["memory"])  # type: ignore[assignment]


def _sequence(net, x: torch.Tensor, hidden: torch.Tensor, first: torch.Tensor) -> torch.Tensor:
    """Run a recurrent net over chunks: ``x [L, B, k, d]``, ``hidden [B, k, H]``, ``first [L, B]``."""
    length, batch, k = x.shape[:3]
    out, _ = net(
        x.reshape(length, batch * k, -1),
        hidden.reshape(batch * k, -1),
        first.unsqueeze(-1).expand(length, batch, k).reshape(length, batch * k),
    )
    return out.reshape(length, batch, k, -1)


def _huber(error: torch.Tensor, delta: float) -> torch.Tensor:
    """Huber loss (squared error / 2 within ``delta``, linear beyond); ``delta == 0``: squared error / 2."""
    if delta <= 0:
        return 0.5 * error.square()
    return F.huber_loss(error, torch.zeros_like(error), reduction="none", delta=delta)
