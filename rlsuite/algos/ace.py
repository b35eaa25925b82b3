"""ACE: cooperative multi-agent Q-learning with bidirectional action-dependency (Li et al., AAAI 2023).

arXiv:2211.16068; implementation details from the released code (github.com/opendilab/ACE:
``ace_dqn.py``, ``smac_ace.py``, ``exp/smac/*/config.py``). The details neither settles, and what was
chosen for each, are in docs/marl.md ("ACE").

ACE turns one multi-agent step into a chain of single-agent decisions. Agent k sees the actions
a_1..a_{k-1} already chosen (committed into the entity embeddings, ``rlsuite.agents.ace``) and values
the partially acted state:

    Q_k(s_t, a_1:k) = V(s_t^{a_1:k}),        acting: a_k = argmax_{a valid} Q_k(s_t, a_1:k-1, a)

Training (teacher forcing: the *stored* actions a_1:k-1 are committed, not greedy ones):

    a*_1:n = greedy chain of the online net on s_{t+N}                            (double-DQN style)
    y      = sum_{m<N} gamma^m r_{t+m} + gamma^N (1 - done) Q̄_n(s_{t+N}, a*_1:n)  (target net, last agent)
    L_RL   = mean_{batch, k} (y_k - Q_k(s_t, a_1:k))^2

``td_target`` picks y_k:

* ``"shared"`` (default; the released code): y_k = y for every agent k. Every intermediate value
  regresses onto the environment's n-step return reached through the successors' *taken* actions.
  This is what produced the published SMAC results, so it is the default.
* ``"intra"`` (the paper's sequential MDP): inside the step, y_k = Q̄_{k+1}(s_t, a_1:k, a'_{k+1}) with
  a'_{k+1} the online net's greedy next action (no reward, no discount inside the chain); the last
  agent takes the environment target y_n = y.

Plus, from the code: an auxiliary dynamics loss (predict each unit's change of x, y, health, shield,
shield > 0, cooldown, and their allied/enemy sums; weight ``aux_weight``; ``aux_labels`` picks the
released code's labels, n-step changes normalised per sample, or one-step changes normalised per batch),
random agent-order shuffling per sample (allies permuted in entities, masks, action targets and stored
actions together), RMSprop with cosine-annealed learning rate, gradient-norm clipping, Polyak-averaged
target net, and epsilon-greedy exploration drawn per agent inside the chain (the random action is
committed, so the agents after it react to it). TD ``done`` is won | lost | draw; time-outs are
bootstrapped.

Defaults are the released SMAC configs': embedding 256, 3-step returns, 32 episodes then 50 gradient
steps of 320 transitions, replay of 3000 episodes, RMSprop 3e-4 annealed (cosine) to 3e-6 over 50k
learner steps, tau 0.008, epsilon 1.0 -> 0.05 over 50k env steps, aux weight 10, gradient clip 50.

ACE reads entity features, which only the SMAC simulator provides (``entity_features=True``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch

from rlsuite.agents.ace import (
    ACEAgent,
    ACENetwork,
    EntityBatch,
    permute_allies,
    random_permutations,
    unpermute_actions,
)
from rlsuite.algos.base import Capabilities
from rlsuite.algos.marl_base import MultiAgentAlgorithm
from rlsuite.config import param
from rlsuite.core.checkpointed import Checkpointed
from rlsuite.core.marl import EpisodeBuffer, Field
from rlsuite.core.optim import clip_grad_norm, polyak_update
from rlsuite.core.schedules import LinearSchedule, cosine_anneal
from rlsuite.core.team import EntityObservation
from rlsuite.core.training_stats import MeanAccumulator

__all__ = [
    "ACE",
    "ACEAgent",
    "ACEConfig",
    "permute_allies",
    "random_permutations",
    "to_entity_batch",
    "unpermute_actions",
]

# Entity fields the replay buffer stores (its keys, as checkpoints hold them).
ENTITY_KEYS = ("entity_state", "entity_pos", "entity_range", "entity_alive", "entity_action_mask")
# Per-unit quantities whose next-step change the auxiliary loss predicts (named entity feature columns).
DYNAMICS_FEATURES = ("x", "y", "health", "shield", "shielded", "cooldown")


@dataclass
class ACEConfig:
    """ACE's settings; defaults are the released SMAC configs (module docstring)."""

    name: str = param("ace", help="algorithm name (fixed)", choices=("ace",))
    # network
    hidden: int = param(256, help="embedding width H (256 in the released SMAC configs)", min=2)
    # targets
    gamma: float = param(0.99, help="discount factor", min=0.0, max=1.0)
    nstep: int = param(3, help="n-step return length N", min=1)
    td_target: str = param(
        "shared",
        help="'shared': every agent regresses on the env n-step target (released code); 'intra': "
        "agent k on the target net's value of agent k+1's greedy action (paper's sequential MDP)",
        choices=("shared", "intra"),
    )
    # data
    episodes_per_collect: int = param(32, help="episodes gathered between learning phases", min=1)
    updates_per_collect: int = param(50, help="gradient steps after each collection", min=1)
    batch_size: int = param(320, help="transitions per gradient step", min=1)
    buffer_episodes: int = param(
        3000, help="replay capacity in episodes (the code keeps 300k transitions; ~3000 SMAC episodes)", min=1
    )
    learning_starts: int = param(0, help="env steps before the first gradient step", min=0)
    shuffle_agents: bool = param(
        True, help="random agent order per sample (training) and per game step (acting)"
    )
    # optimisation
    lr: float = param(3e-4, help="RMSprop learning rate at the start of the cosine schedule", min=0.0)
    lr_min: float = param(3e-6, help="learning rate at the end of the cosine schedule", min=0.0)
    lr_tmax: int = param(50_000, help="learner iterations of the cosine schedule (then constant)", min=1)
    rms_alpha: float = param(0.99, help="RMSprop smoothing constant", min=0.0, max=1.0)
    rms_eps: float = param(1e-5, help="RMSprop epsilon", min=0.0, min_exclusive=True)
    weight_decay: float = param(1e-5, help="RMSprop weight decay", min=0.0)
    max_grad_norm: float = param(50.0, help="global gradient-norm clip (0 disables)", min=0.0)
    tau: float = param(
        0.008, help="Polyak rate of the target net, applied after every gradient step", min=0.0
    )
    # exploration
    eps_start: float = param(1.0, help="initial epsilon", min=0.0, max=1.0)
    eps_end: float = param(0.05, help="final epsilon", min=0.0, max=1.0)
    eps_decay_steps: int = param(50_000, help="env steps of the linear epsilon decay", min=0)
    # auxiliary dynamics loss
    aux_weight: float = param(10.0, help="weight of the auxiliary dynamics loss (0 disables it)", min=0.0)
    aux_label_norm: bool = param(True, help="normalise the dynamics labels (the scope is set by aux_labels)")
    aux_labels: str = param(
        "released",
        help="'released': change from s_t to the bootstrap state s_t+N of every unit, normalised per sample "
        "by the largest |change| over units (team sums: over the 12 sums), as opendilab/ACE; 'one_step': "
        "change to s_t+1 of alive units, normalised per quantity by its largest |change| in the batch",
        choices=("released", "one_step"),
    )


def stored_entities(entities: EntityObservation) -> dict[str, np.ndarray]:
    """The entity fields the replay buffer stores, under its keys (:data:`ENTITY_KEYS`)."""
    return {
        "entity_state": entities.features,
        "entity_pos": entities.position,
        "entity_range": entities.attack_range,
        "entity_alive": entities.alive,
        "entity_action_mask": entities.action_mask,
    }


def to_entity_batch(arrays: dict[str, Any], device: torch.device) -> EntityBatch:
    """Tensors of the stored entity fields (:data:`ENTITY_KEYS`) of a batch of samples."""
    t = {k: torch.as_tensor(np.asarray(arrays[k]), device=device) for k in ENTITY_KEYS}
    return EntityBatch(
        t["entity_state"].float(),
        t["entity_pos"].float(),
        t["entity_range"].float(),
        t["entity_alive"].bool(),
        t["entity_action_mask"].bool(),
    )


class ACEBatch(NamedTuple):
    """``B`` n-step transitions for one gradient step, allies already permuted when ``shuffle_agents``."""

    now: EntityBatch  # entities at s_t (the state the taken actions were chosen in)
    next: EntityBatch | None  # entities at s_{t+1}: only for the one-step auxiliary labels, else None
    boot: EntityBatch  # entities at s_{t+N}, or the episode's last state when it ends sooner (bootstrap)
    actions: torch.Tensor  # [B, n] int64  the stored entity-layout actions a_1:n
    returns: torch.Tensor  # [B] float32  sum_{m<N} gamma^m r_{t+m} (within the episode)
    discount: torch.Tensor  # [B] float32  gamma^(boot - t), 0 where the episode terminated


class ACE(MultiAgentAlgorithm):
    """ACE's decision-chain Q-learning on SMAC entity features (``algo.name: ace``)."""

    name = "ace"
    description = "Sequential multi-agent Q-learning with bidirectional action dependency (entity network)"
    config_cls = ACEConfig
    capabilities = Capabilities(
        discrete_actions=True, continuous_actions=False, multi_agent=True, on_policy=False
    )
    default_log_every = 10_000

    def env_kwargs(self) -> dict[str, Any]:
        return {"entity_features": True}

    def setup(self) -> None:
        cfg, env, spec = self.config, self.env, self.team_spec
        entities = spec.entities
        if entities is None:
            raise ValueError(
                f"ACE needs entity features (team_spec.entities, e.g. the SMAC simulator's); "
                f"{self.env_config.id!r} does not provide them"
            )
        entity_size, self.n_entities = entities.feature_size, entities.n_entities
        self.n_self_actions = entities.n_intrinsic_actions
        net_shape = (entity_size, spec.n_agents, cfg.hidden, self.n_self_actions)
        self.net = ACENetwork(*net_shape).to(self.device)
        self.target_net = ACENetwork(*net_shape).to(self.device)
        self.target_net.load_state_dict(self.net.state_dict())
        self.target_net.requires_grad_(False)
        self.optimizer = torch.optim.RMSprop(
            self.net.parameters(),
            lr=cfg.lr,
            alpha=cfg.rms_alpha,
            eps=cfg.rms_eps,
            weight_decay=cfg.weight_decay,
        )
        self.agent = ACEAgent(self.net, spec.n_agents, cfg.shuffle_agents, self.seed, self.device)
        self.epsilon = LinearSchedule(cfg.eps_start, cfg.eps_end, cfg.eps_decay_steps)
        self.buffer = EpisodeBuffer(
            self._fields(entity_size), spec.episode_limit, cfg.buffer_episodes, env.num_envs
        )
        self.buffer.begin(stored_entities(self.observation.entities))
        self.rng = np.random.default_rng(self.seed + 1)
        self.dynamics_cols = torch.as_tensor(entities.columns(DYNAMICS_FEATURES), device=self.device)
        self.learner_steps = 0
        self.train_stats = MeanAccumulator()  # means over the gradient steps since the last metrics row

    def _fields(self, entity_size: int) -> dict[str, Field]:
        n, E = self.team_spec.n_agents, self.n_entities
        return {
            "entity_state": Field((E, entity_size)),
            "entity_pos": Field((E, 2)),
            "entity_range": Field((E,)),
            "entity_alive": Field((E,), bool),
            "entity_action_mask": Field((n, self.n_self_actions + E), bool),
            "actions": Field((n,), np.int64, per_state=False),
            "reward": Field((), np.float32, per_state=False),
            "terminated": Field((), bool, per_state=False),
        }

    # --- acting ------------------------------------------------------------------------------------
    def collect(self) -> dict[str, float]:
        """Play until ``episodes_per_collect`` more games have finished (all envs stepping together)."""
        self.agent.epsilon = self.epsilon(self.global_step)
        finished = 0
        with torch.inference_mode():
            while finished < self.config.episodes_per_collect:
                entities = self.observation.entities
                entity_actions = self.agent.act_entities(entities, self.agent.epsilon)
                step = self.step_env(entities.env_actions(entity_actions))
                taken = {"actions": entity_actions, "reward": step.reward, "terminated": step.terminated}
                self.buffer.append(
                    taken,
                    stored_entities(step.final_observation().entities),
                    step.done,
                    stored_entities(step.observation.entities),
                )
                self.track(step)
                self.global_step += self.env.num_envs
                finished += int(step.done.sum())
        return {**self.rollout_stats(), "rollout/epsilon": self.agent.epsilon}

    # --- learning ----------------------------------------------------------------------------------
    def update(self) -> dict[str, float]:
        if self.global_step < self.config.learning_starts:
            return {}
        self.restore_torch_threads()  # evaluation may have stepped an env since the last collect
        for _ in range(self.config.updates_per_collect):
            self.train_stats.add(self._gradient_step())
        return {"train/lr": self.optimizer.param_groups[0]["lr"], "train/learner_steps": self.learner_steps}

    def _gradient_step(self) -> dict[str, float]:
        cfg = self.config
        batch = self._sample(cfg.batch_size)
        online = self.net.taken_values(batch.now, batch.actions)
        q_taken = online.q  # [B, n]: Q_k(s_t, a_1:k) of the stored actions
        with torch.no_grad():
            target = self._td_targets(batch)
        rl_loss = (target - q_taken).pow(2).mean()
        loss = rl_loss
        stats = {"train/td_loss": rl_loss.item(), "train/q_taken": q_taken.mean().item()}
        if cfg.aux_weight > 0:
            aux_loss = self._dynamics_loss(online, batch)
            loss = loss + cfg.aux_weight * aux_loss
            stats["train/aux_loss"] = aux_loss.item()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.max_grad_norm > 0:
            stats["train/grad_norm"] = clip_grad_norm(list(self.net.parameters()), cfg.max_grad_norm).item()
        self._set_learning_rate()
        self.optimizer.step()
        self.learner_steps += 1
        polyak_update(self.target_net, self.net, cfg.tau)
        return stats

    def _td_targets(self, batch: ACEBatch) -> torch.Tensor:
        """[B, n] regression targets (see the module docstring for both variants)."""
        greedy = self.net.chain(batch.boot).actions  # a*_1:n under the online net
        bootstrap = self.target_net.taken_values(batch.boot, greedy).q[:, -1]  # Q̄_n(s_{t+N}, a*_1:n)
        y = batch.returns + batch.discount * bootstrap  # discount already 0 where done
        n = self.n_agents
        if self.config.td_target == "shared" or n == 1:
            return y[:, None].expand(-1, n)
        # Intra-step: y_k = Q̄_{k+1}(s_t, a_1:k, argmax_online Q_{k+1}), the last agent takes y.
        mask = batch.now.action_mask[:, 1:]
        online_q = self.net.chain(batch.now, batch.actions).q[:, 1:]  # candidates of agents 2..n
        next_greedy = online_q.masked_fill(~mask, -torch.inf).argmax(-1, keepdim=True)
        target_q = self.target_net.chain(batch.now, batch.actions).q[:, 1:]
        inner = target_q.gather(2, next_greedy)[..., 0]
        return torch.cat([inner, y[:, None]], dim=1)

    def _dynamics_loss(self, online, batch: ACEBatch) -> torch.Tensor:
        """MSE of the predicted changes of (x, y, health, shield, shield > 0, cooldown) (``aux_labels``)."""
        cols, n = self.dynamics_cols, self.n_agents
        released = self.config.aux_labels == "released"
        now, later = batch.now, (batch.boot if released else batch.next)
        delta = later.state[..., cols] - now.state[..., cols]  # [B, E, 6]
        alive = torch.ones_like(delta[..., :1]) if released else now.alive[..., None].to(delta.dtype)
        delta = delta * alive
        team = torch.cat([delta[:, :n].sum(1), delta[:, n:].sum(1)], dim=1)  # [B, 12]
        if self.config.aux_label_norm and released:  # per sample: over units, and over the 12 sums
            delta = delta / (delta.abs().amax(1, keepdim=True) + 1e-9)
            team = team / (team.abs().amax(1, keepdim=True) + 1e-9)
        elif self.config.aux_label_norm:  # per quantity, by its largest |change| in the batch
            delta = delta / delta.abs().amax((0, 1), keepdim=True).clamp_min(1e-6)
            team = team / team.abs().amax(0, keepdim=True).clamp_min(1e-6)
        unit_pred, team_pred = self.net.dynamics(online)
        squared = (unit_pred - delta).pow(2) * alive
        unit_loss = squared.sum() / (alive.sum() * delta.shape[-1]).clamp_min(1.0)
        return unit_loss + (team_pred - team).pow(2).mean()

    def _sample(self, size: int) -> ACEBatch:
        """n-step transitions: entities now, one step later (aux labels) and N steps later (bootstrap)."""
        cfg, buf = self.config, self.buffer
        slots, t = buf.sample_steps(size, self.rng)
        length = buf.length[slots]
        boot_t = np.minimum(t + cfg.nstep, length)
        steps = t[:, None] + np.arange(cfg.nstep)[None]
        valid = steps < length[:, None]
        rewards = buf.data["reward"][slots[:, None], np.minimum(steps, buf.max_len - 1)] * valid
        returns = (rewards * cfg.gamma ** np.arange(cfg.nstep)[None]).sum(1)
        ended = buf.data["terminated"][slots, length - 1] & (boot_t == length)
        discount = np.where(ended, 0.0, cfg.gamma ** (boot_t - t))

        def at(index: np.ndarray) -> EntityBatch:
            return to_entity_batch({k: buf.data[k][slots, index] for k in ENTITY_KEYS}, self.device)

        # s_t+1 only feeds the one-step auxiliary labels: skip its gather and permutation otherwise
        needs_next = cfg.aux_weight > 0 and cfg.aux_labels == "one_step"
        now, boot = at(t), at(boot_t)
        nxt = at(t + 1) if needs_next else None
        actions = torch.as_tensor(buf.data["actions"][slots, t], device=self.device)
        if cfg.shuffle_agents:
            perm = torch.as_tensor(random_permutations(size, self.n_agents, self.rng), device=self.device)
            now, actions = permute_allies(now, perm, actions)
            boot = permute_allies(boot, perm)
            nxt = permute_allies(nxt, perm) if needs_next else None
        return ACEBatch(
            now=now,
            next=nxt,
            boot=boot,
            actions=actions,
            returns=torch.as_tensor(returns, dtype=torch.float32, device=self.device),
            discount=torch.as_tensor(discount, dtype=torch.float32, device=self.device),
        )

    def _set_learning_rate(self) -> None:
        """Cosine annealing from ``lr`` to ``lr_min`` over ``lr_tmax`` learner steps, then constant."""
        cfg = self.config
        lr = cosine_anneal(self.learner_steps, cfg.lr, cfg.lr_min, cfg.lr_tmax)
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def logged_stats(self) -> dict[str, float]:
        """Means of the training statistics over the gradient steps since the last metrics row."""
        return self.train_stats.pop_means()

    # --- checkpoints -------------------------------------------------------------------------------
    checkpointed = Checkpointed(
        modules=("net", "target_net", "optimizer"),
        values=("learner_steps",),
        generators=("rng", "agent.rng", "agent.generator"),
    )

    def algorithm_state(self) -> dict[str, Any]:
        return {
            **super().algorithm_state(),
            "buffer": self.buffer.state_dict(include_episodes=self.save_replay_buffer),
            "agent_eval_rng": self.agent.eval_rng.bit_generator.state,
        }

    def load_algorithm_state(self, state: dict[str, Any]) -> None:
        super().load_algorithm_state(state)
        self.buffer.load_state_dict(state["buffer"])
        if "agent_eval_rng" in state:  # absent in checkpoints written before evaluation had its own stream
            self.agent.eval_rng.bit_generator.state = state["agent_eval_rng"]
