"""QMIX: Monotonic Value Function Factorisation (Rashid et al., 2018, arXiv:1803.11485).

Agents act on local observations with a shared recurrent Q-network ``Q_i(tau_i, a_i)``
(:class:`~rlsuite.agents.recurrent.RecurrentQAgent`). During training a *mixing network* combines the
chosen agent values into a joint value conditioned on the global state,

    Q_tot(tau, a, s) = f_s(Q_1(tau_1, a_1), ..., Q_n(tau_n, a_n)),   dQ_tot / dQ_i >= 0   (paper eq. 5)

Monotonicity makes the joint greedy action the tuple of each agent's greedy action, so the agents
can act greedily and independently. The mixer is a two-layer network whose weights are produced by
hypernetworks from ``s`` and made non-negative by an absolute value; the biases are state-conditioned
and unconstrained, the last one being a ReLU network ``V(s)`` (paper Sec. 4.1, Fig. 2):

    h = ELU(Q W_1(s) + b_1(s)),   Q_tot = h W_2(s) + V(s),   W_k(s) = |hyper_k(s)|

Everything is trained end to end on whole episodes drawn from an episode replay buffer (paper eq. 6),

    L = sum_{b,t} m_{b,t} (y_{b,t} - Q_tot(tau_t, a_t, s_t))^2 / sum_{b,t} m_{b,t}
    y_t = r_t + gamma (1 - d_t) Qbar_tot(tau_{t+1}, a*_{t+1}, s_{t+1}),
    a*_{t+1,i} = argmax_{a available to i at t+1} Q_i(tau_{t+1,i}, a)     (double Q: the online agent)

with target networks (barred) copied every ``target_update_episodes`` episodes, ``m`` masking the
padding after each episode's end and ``d_t`` set only by termination (won, lost, draw): a step cut by
the episode limit bootstraps from the state after it. Optionally the target is the TD(lambda) return
of pymarl2 (Hu et al. 2021, arXiv:2102.03479), ``y_t = r_t + gamma (1 - d_t) [(1 - lambda) Qbar_{t+1}
+ lambda y_{t+1}]`` ending in ``Qbar`` at each episode's last step.

Defaults are PyMARL's SMAC configuration (``src/config/default.yaml`` and ``algs/qmix.yaml``): RMSprop
lr 5e-4 (alpha 0.99, eps 1e-5), 32 episodes per batch, 5000 episodes of replay, epsilon 1.0 -> 0.05
over 50k env steps, hard target copies every 200 episodes, gamma 0.99, gradient-norm clip 10, double
Q, mixing embedding 32 with 2-layer hypernetworks of width 64, GRU agents of width 64 seeing their last
action and id. ``mixer: vdn`` gives VDN (``rlsuite.algos.vdn``).

One iteration collects until ``num_envs`` episodes have finished, then takes ``updates_per_collect``
gradient steps (PyMARL's parallel-runner ratio); docs/marl.md ("QMIX and VDN") explains the schedule.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from rlsuite.agents.recurrent import RecurrentQAgent
from rlsuite.algos.base import Capabilities
from rlsuite.algos.marl_base import MultiAgentAlgorithm
from rlsuite.config import param
from rlsuite.core.checkpointed import Checkpointed
from rlsuite.core.marl import EpisodeBuffer, Field, masked_argmax
from rlsuite.core.optim import clip_grad_norm, polyak_update
from rlsuite.core.replay import warn_replay_not_restored
from rlsuite.core.schedules import LinearSchedule
from rlsuite.core.team import TeamObservation
from rlsuite.core.training_stats import MeanAccumulator


@dataclass
class QMIXConfig:
    """QMIX's settings; defaults are PyMARL's SMAC configuration (module docstring)."""

    name: str = param("qmix", help="algorithm name (fixed)", choices=("qmix",))
    # replay and schedule
    buffer_size: int = param(5000, help="replay capacity in episodes", min=1)
    batch_size: int = param(32, help="episodes per gradient step (training starts when stored)", min=1)
    updates_per_collect: int = param(
        1, help="gradient steps after each collect of num_envs episodes (PyMARL: 1)", min=0
    )
    gamma: float = param(0.99, help="discount factor", min=0.0, max=1.0)
    td_lambda: float = param(
        0.0, help="TD(lambda) targets (pymarl2 uses 0.6); 0 = one-step TD as in QMIX", min=0.0, max=1.0
    )
    double_q: bool = param(True, help="pick next actions with the online agent, value them with the target")
    target_update_episodes: int = param(
        200, help="episodes between hard copies into the target networks (when tau is null)", min=1
    )
    tau: float | None = param(
        None,
        help="Polyak rate of the target networks after every gradient step; null = hard copies",
        min=0.0,
        max=1.0,
        min_exclusive=True,
    )
    # exploration
    epsilon_start: float = param(1.0, help="initial epsilon of epsilon-greedy acting", min=0.0, max=1.0)
    epsilon_finish: float = param(0.05, help="final epsilon", min=0.0, max=1.0)
    epsilon_anneal_steps: int = param(50_000, help="env steps of the linear epsilon decay", min=0)
    # optimisation
    lr: float = param(5e-4, help="RMSprop learning rate", min=0.0, min_exclusive=True)
    optim_alpha: float = param(0.99, help="RMSprop smoothing constant alpha", min=0.0, max=1.0)
    optim_eps: float = param(1e-5, help="RMSprop epsilon", min=0.0, min_exclusive=True)
    grad_clip: float = param(10.0, help="global gradient-norm clip (0 disables)", min=0.0)
    # agent network
    rnn_hidden: int = param(64, help="width of the agents' GRU (and of their input layer)", min=1)
    obs_last_action: bool = param(True, help="agents see their previous action (one-hot)")
    obs_agent_id: bool = param(True, help="agents see their id (one-hot)")
    # mixer
    mixer: str = param("qmix", help="'qmix' (monotonic hypernetwork) or 'vdn' (sum)", choices=("qmix", "vdn"))
    mixing_embed_dim: int = param(32, help="width of the mixing network's hidden layer (qmix)", min=1)
    hypernet_layers: int = param(2, help="layers of the weight hypernetworks (qmix)", choices=(1, 2))
    hypernet_embed: int = param(64, help="hidden width of 2-layer weight hypernetworks (qmix)", min=1)


# --- mixers --------------------------------------------------------------------------------------------
class QMixer(nn.Module):
    """The monotonic mixing network: ``(Q [..., n_agents], s [..., S]) -> Q_tot [...]``."""

    def __init__(
        self,
        n_agents: int,
        state_size: int,
        embed_dim: int = 32,
        hypernet_layers: int = 2,
        hypernet_embed: int = 64,
    ) -> None:
        super().__init__()
        self.n_agents, self.embed_dim = n_agents, embed_dim

        def hypernet(out: int) -> nn.Module:
            if hypernet_layers == 1:
                return nn.Linear(state_size, out)
            return nn.Sequential(
                nn.Linear(state_size, hypernet_embed), nn.ReLU(), nn.Linear(hypernet_embed, out)
            )

        self.hyper_w1 = hypernet(n_agents * embed_dim)  # W_1(s): n_agents x embed, made >= 0 by |.|
        self.hyper_w2 = hypernet(embed_dim)  # W_2(s): embed x 1, made >= 0 by |.|
        self.hyper_b1 = nn.Linear(state_size, embed_dim)  # b_1(s), unconstrained
        # V(s): the state-dependent bias of the output, a 2-layer ReLU network (unconstrained)
        self.value = nn.Sequential(nn.Linear(state_size, embed_dim), nn.ReLU(), nn.Linear(embed_dim, 1))

    def forward(self, agent_qs: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
        lead = agent_qs.shape[:-1]
        qs = agent_qs.reshape(-1, 1, self.n_agents)
        s = states.reshape(qs.shape[0], -1)
        w1 = self.hyper_w1(s).abs().view(-1, self.n_agents, self.embed_dim)
        b1 = self.hyper_b1(s).view(-1, 1, self.embed_dim)
        hidden = F.elu(torch.bmm(qs, w1) + b1)
        w2 = self.hyper_w2(s).abs().view(-1, self.embed_dim, 1)
        q_tot = torch.bmm(hidden, w2).view(-1) + self.value(s).view(-1)
        return q_tot.view(lead)


class VDNMixer(nn.Module):
    """Value decomposition (Sunehag et al. 2017): ``Q_tot = sum_i Q_i``; the state is ignored."""

    def forward(self, agent_qs: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
        return agent_qs.sum(-1)


# --- batches -------------------------------------------------------------------------------------------
class TeamEpisodes(NamedTuple):
    """``B`` whole episodes from the replay, padded to the longest one's ``T`` steps (``n`` agents).

    State fields hold ``T + 1`` entries (the observation before every step and the one after the last);
    step fields ``T``. ``mask`` marks the real steps; the rest is zero padding.
    """

    obs: torch.Tensor  # [B, T + 1, n, obs_size] float32
    state: torch.Tensor  # [B, T + 1, state_size] float32
    action_mask: torch.Tensor  # [B, T + 1, n, n_actions] bool
    actions: torch.Tensor  # [B, T, n] int64
    reward: torch.Tensor  # [B, T] float32  team reward
    terminated: torch.Tensor  # [B, T] float32  1 where the task ended the episode (not a time limit)
    mask: torch.Tensor  # [B, T] bool  real steps


# --- targets -------------------------------------------------------------------------------------------
def td_targets(
    reward: torch.Tensor,
    terminated: torch.Tensor,
    mask: torch.Tensor,
    next_value: torch.Tensor,
    gamma: float,
    td_lambda: float = 0.0,
) -> torch.Tensor:
    """Targets ``y [B, T]`` from ``r_t``, ``d_t`` (termination only), the step ``mask`` and
    ``next_value[:, t] = Qbar_tot(s_{t+1})``:

    one-step (lambda = 0): ``y_t = r_t + gamma (1 - d_t) Qbar_{t+1}``;
    TD(lambda): ``y_t = r_t + gamma (1 - d_t) [(1 - lambda) Qbar_{t+1} + lambda y_{t+1}]``, with
    ``y_{t+1}`` replaced by ``Qbar_{t+1}`` at the last real step of each episode (``mask`` ends there).
    Values at padded steps are meaningless and must be masked out by the caller.
    """
    not_done = 1.0 - terminated
    if td_lambda == 0.0:
        return reward + gamma * not_done * next_value
    steps = reward.shape[1]
    targets: list[torch.Tensor] = []
    y_next = next_value[:, -1]  # unused at t = T - 1, where the bootstrap is Qbar_T itself
    for t in reversed(range(steps)):
        bootstrap = next_value[:, t]
        if t < steps - 1:  # blend in y_{t+1} where step t + 1 is real
            blended = (1.0 - td_lambda) * bootstrap + td_lambda * y_next
            bootstrap = torch.where(mask[:, t + 1], blended, bootstrap)
        y_next = reward[:, t] + gamma * not_done[:, t] * bootstrap
        targets.append(y_next)
    targets.reverse()
    return torch.stack(targets, 1)


def stored_observation(observation: TeamObservation) -> dict[str, np.ndarray]:
    """The per-step state fields the episode buffer stores: ``obs``, ``state`` and ``action_mask``."""
    return {"obs": observation.obs, "state": observation.state, "action_mask": observation.action_mask}


# --- the learner ---------------------------------------------------------------------------------------
class QMIX(MultiAgentAlgorithm):
    """QMIX (and VDN with ``mixer: vdn``) on a team vector env (``algo.name: qmix``)."""

    name = "qmix"
    description = "Multi-agent value decomposition with a monotonic hypernetwork mixer, recurrent agents"
    config_cls = QMIXConfig
    capabilities = Capabilities(
        discrete_actions=True, continuous_actions=False, multi_agent=True, on_policy=False
    )
    default_log_every: ClassVar[int] = 10_000

    def setup(self) -> None:
        cfg, env, spec = self.config, self.env, self.team_spec
        self.agent = RecurrentQAgent(
            spec.obs_size,
            spec.n_agents,
            spec.n_actions,
            hidden_size=cfg.rnn_hidden,
            last_action=cfg.obs_last_action,
            agent_id=cfg.obs_agent_id,
            seed=self.seed,
        ).to(self.device)
        self.mixer = self.build_mixer().to(self.device)
        self.target_network = copy.deepcopy(self.agent.network).requires_grad_(False)
        self.target_mixer = copy.deepcopy(self.mixer).requires_grad_(False)
        self.parameters = [*self.agent.network.parameters(), *self.mixer.parameters()]
        self.optimizer = torch.optim.RMSprop(
            self.parameters, lr=cfg.lr, alpha=cfg.optim_alpha, eps=cfg.optim_eps
        )
        self.epsilon = LinearSchedule(cfg.epsilon_start, cfg.epsilon_finish, cfg.epsilon_anneal_steps)
        self.buffer = EpisodeBuffer(self.buffer_fields(), spec.episode_limit, cfg.buffer_size, env.num_envs)
        self.buffer.begin(stored_observation(self.observation))
        self.agent.memory = self.agent.initial_state(env.num_envs)
        self.sample_rng = np.random.default_rng(self.seed)
        self.gradient_steps = 0
        self.last_target_update = 0  # buffer.total_episodes at the last hard target copy
        self.train_stats = MeanAccumulator()  # means over the gradient steps since the last metrics row

    def build_mixer(self) -> nn.Module:
        """The mixing network ``config.mixer`` names: QMIX's hypernetwork mixer or VDN's sum."""
        cfg, spec = self.config, self.team_spec
        if cfg.mixer == "vdn":
            return VDNMixer()
        return QMixer(
            spec.n_agents, spec.state_size, cfg.mixing_embed_dim, cfg.hypernet_layers, cfg.hypernet_embed
        )

    def buffer_fields(self) -> dict[str, Field]:
        """The episode replay's fields: those of :class:`TeamEpisodes` (but ``mask``, which it computes)."""
        spec = self.team_spec
        return {
            "obs": Field((spec.n_agents, spec.obs_size)),
            "state": Field((spec.state_size,)),
            "action_mask": Field((spec.n_agents, spec.n_actions), bool),
            "actions": Field((spec.n_agents,), np.int64, per_state=False),
            "reward": Field((), np.float32, per_state=False),
            "terminated": Field((), np.float32, per_state=False),
        }

    # --- acting ----------------------------------------------------------------------------------
    def collect(self) -> dict[str, float]:
        """Step all envs until ``num_envs`` episodes have finished (<= episode_limit vector steps)."""
        n = self.env.num_envs
        start = self.buffer.total_episodes
        with torch.no_grad():
            while self.buffer.total_episodes - start < n:
                self.agent.epsilon = self.epsilon(self.global_step)
                actions, self.agent.memory = self.agent.step(self.observation, self.agent.memory)
                step = self.step_env(actions)
                taken = {"actions": actions, "reward": step.reward, "terminated": step.terminated}
                self.buffer.append(
                    taken,
                    stored_observation(step.final_observation()),
                    step.done,
                    stored_observation(step.observation),
                )
                self.track(step)
                self.agent.memory = self.agent.reset_state(self.agent.memory, np.flatnonzero(step.done))
                self.global_step += n
        return {**self.rollout_stats(), "rollout/epsilon": self.agent.epsilon}

    # --- learning --------------------------------------------------------------------------------
    def update(self) -> dict[str, float]:
        if len(self.buffer) < self.config.batch_size:
            return {}
        self.restore_torch_threads()  # see MultiAgentAlgorithm.step_env
        for _ in range(self.config.updates_per_collect):
            slots = self.buffer.sample_episodes(self.config.batch_size, self.sample_rng)
            batch = TeamEpisodes(**self.buffer.episodes_batch(slots, self.device))
            self.train_stats.add(self.train_step(batch))
        return {}

    def train_step(self, batch: TeamEpisodes) -> dict[str, torch.Tensor]:
        loss, stats = self.loss(batch)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.grad_clip > 0:
            stats["grad_norm"] = clip_grad_norm(self.parameters, self.config.grad_clip)
        self.optimizer.step()
        self.gradient_steps += 1
        self.update_targets()
        return stats

    def loss(self, batch: TeamEpisodes) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The masked squared TD error of ``Q_tot`` over a batch of padded episodes (module docstring)."""
        cfg = self.config
        actions, state, mask = batch.actions, batch.state, batch.mask
        inputs = self.agent.sequence_inputs(batch.obs, actions)  # [B, T + 1, n, in]

        # Q_tot(tau_t, a_t, s_t) of the actions taken, t = 0..T-1.
        q = self.agent.network.unroll(inputs)  # [B, T + 1, n, A]
        chosen = q[:, :-1].gather(-1, actions.unsqueeze(-1)).squeeze(-1)  # [B, T, n]
        q_tot = self.mixer(chosen, state[:, :-1])

        # y_t = r_t + gamma (1 - d_t) Qbar_tot(tau_{t+1}, a*_{t+1}, s_{t+1}), a* among available actions.
        with torch.no_grad():
            target_q = self.target_network.unroll(inputs)[:, 1:]
            selector = q.detach()[:, 1:] if cfg.double_q else target_q
            best = masked_argmax(selector, batch.action_mask[:, 1:])
            next_q = target_q.gather(-1, best.unsqueeze(-1)).squeeze(-1)
            next_q_tot = self.target_mixer(next_q, state[:, 1:])
            targets = td_targets(batch.reward, batch.terminated, mask, next_q_tot, cfg.gamma, cfg.td_lambda)

        # L = sum m (Q_tot - y)^2 / sum m: padding after an episode's end contributes nothing.
        weight = mask.to(q_tot.dtype)
        count = weight.sum()
        td_error = (q_tot - targets) * weight
        loss = td_error.square().sum() / count
        with torch.no_grad():
            stats = {
                "loss": loss.detach(),
                "td_error_abs": td_error.abs().sum() / count,
                "q_taken_mean": (q_tot * weight).sum() / count,
                "target_mean": (targets * weight).sum() / count,
            }
        return loss, stats

    def update_targets(self) -> None:
        """Polyak averaging after every gradient step, or hard copies every ``target_update_episodes``."""
        cfg = self.config
        if cfg.tau is not None:
            polyak_update(self.target_network, self.agent.network, cfg.tau)
            polyak_update(self.target_mixer, self.mixer, cfg.tau)
        elif self.buffer.total_episodes - self.last_target_update >= cfg.target_update_episodes:
            self.target_network.load_state_dict(self.agent.network.state_dict())
            self.target_mixer.load_state_dict(self.mixer.state_dict())
            self.last_target_update = self.buffer.total_episodes

    def logged_stats(self) -> dict[str, float]:
        """Means of the training statistics over the gradient steps since the last metrics row."""
        out = self.train_stats.pop_means(prefix="train/")
        out["train/gradient_steps"] = self.gradient_steps
        out["train/buffer_episodes"] = len(self.buffer)
        return out

    # --- checkpoint ------------------------------------------------------------------------------
    checkpointed = Checkpointed(
        modules=("agent", "mixer", "target_network", "target_mixer", "optimizer"),
        values=("gradient_steps", "last_target_update"),
        generators=("sample_rng",),
    )

    def algorithm_state(self) -> dict[str, Any]:
        return {
            **super().algorithm_state(),
            "acting": self.agent.acting_state(),
            "buffer": self.buffer.state_dict(include_episodes=self.save_replay_buffer),
            "replay_saved": self.save_replay_buffer,
            "stats": self.train_stats.state_dict(),
        }

    def load_algorithm_state(self, state: dict[str, Any]) -> None:
        super().load_algorithm_state(state)
        self.agent.load_acting_state(state["acting"])
        self.buffer.load_state_dict(state["buffer"])
        if not state["replay_saved"]:
            warn_replay_not_restored("replay episodes")
        self.train_stats.load_state_dict(state["stats"], self.device)
