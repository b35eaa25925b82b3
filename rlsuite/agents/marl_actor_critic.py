"""MAPPO's networks: a decentralised actor on local observations and a centralised critic.

Both follow the MAPPO reference implementation (Yu et al., 2022, arXiv:2103.01955, ``onpolicy``'s
``R_Actor``/``R_Critic``): a LayerNorm on the raw input ("feature normalisation"), then
``Linear -> ReLU -> LayerNorm`` blocks with orthogonal init (ReLU gain), optionally a GRU whose output
is LayerNormed again, then a linear head (gain 0.01 for the policy logits, 1 for the value). One
network of each is shared by all agents (parameter sharing); the actor sees its observation with a
one-hot agent id appended, so agents can still behave differently.

The critic's input is chosen by ``critic_input``:

* ``"EP"``: the environment-provided global state plus the agent's id, one value per agent;
* ``"AS"``: the agent-specific global state, global state + the agent's own observation + its id, one
  value per agent (the paper's suggestion for SMAC: agent-specific features help the critic);
* ``"state"``: the global state alone, one value per team.

Unavailable actions get logit ``-inf``: they have probability 0, are never sampled, and contribute
neither to log-probabilities' normaliser nor to the entropy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from rlsuite.agents.networks import orthogonal_init
from rlsuite.core.marl import masked_argmax
from rlsuite.core.team import TeamObservation

CRITIC_INPUTS = ("EP", "AS", "state")
MAPPOState = tuple[torch.Tensor, torch.Tensor] | None  # (actor_h [N, n_agents, H], critic_h [N, heads, H])
_ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh}


# --- masked categorical distribution ---------------------------------------------------------------
def masked_log_probs(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Log-softmax over the allowed actions only (``-inf`` for the others)."""
    return torch.log_softmax(logits.masked_fill(~mask, -torch.inf), dim=-1)


def masked_entropy(log_probs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``-sum_a pi(a) log pi(a)`` over allowed actions (``-inf`` entries zeroed first: no NaN gradients)."""
    return -(log_probs.exp() * log_probs.masked_fill(~mask, 0.0)).sum(-1)


def sample_masked(log_probs: torch.Tensor) -> torch.Tensor:
    """One draw per row (Gumbel-max): unavailable actions (``-inf``) can never win the argmax."""
    uniform = torch.rand_like(log_probs).clamp_(min=1e-20)
    return torch.argmax(log_probs - torch.log(-torch.log(uniform)), dim=-1)


# --- networks ---------------------------------------------------------------------------------------
class _Net(nn.Module):
    """LayerNorm(input) -> [Linear -> act -> LayerNorm]* -> (GRU -> LayerNorm) -> Linear head."""

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        hidden_sizes: Sequence[int],
        *,
        activation: str,
        layer_norm: bool,
        recurrent: bool,
        output_gain: float,
    ) -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation={activation!r}; accepted values: {', '.join(_ACTIVATIONS)}")
        if not hidden_sizes:
            raise ValueError("hidden_sizes must name at least one layer")
        gain = nn.init.calculate_gain(activation)
        layers: list[nn.Module] = [nn.LayerNorm(in_dim)] if layer_norm else []
        last = in_dim
        for width in hidden_sizes:
            layers += [orthogonal_init(nn.Linear(last, width), gain), _ACTIVATIONS[activation]()]
            if layer_norm:
                layers.append(nn.LayerNorm(width))
            last = width
        self.trunk = nn.Sequential(*layers)
        self.hidden_size = last
        self.gru: nn.GRUCell | None = None
        if recurrent:
            self.gru = nn.GRUCell(last, last)
            for name, param in self.gru.named_parameters():
                if "weight" in name:
                    nn.init.orthogonal_(param)
                else:
                    nn.init.zeros_(param)
            self.gru_norm = nn.LayerNorm(last) if layer_norm else nn.Identity()
        self.head = orthogonal_init(nn.Linear(last, out_dim), output_gain)

    def forward(
        self, x: torch.Tensor, hidden: torch.Tensor | None = None, first: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Feed-forward: ``x [..., d]`` -> ``(out [..., out_dim], None)``.

        Recurrent: ``x [L, B, d]`` a sequence, ``hidden [B, H]`` the state before its first step and
        ``first [L, B]`` bool marking episode starts (the state is zeroed before those steps); returns
        ``(out [L, B, out_dim], hidden after the last step)``.
        """
        features = self.trunk(x)
        if self.gru is None:
            return self.head(features), None
        assert hidden is not None and first is not None
        outputs = []
        for t in range(features.shape[0]):
            hidden = self.gru(features[t], hidden * (~first[t]).unsqueeze(-1).to(hidden.dtype))
            outputs.append(hidden)
        return self.head(self.gru_norm(torch.stack(outputs))), hidden


class MAPPOAgent(nn.Module):
    """Shared decentralised actor ``pi(a | o_i, i)`` and centralised critic ``V(critic input)``.

    A team :class:`~rlsuite.agents.base.Policy`: ``step(observation, state)`` returns actions
    ``[num_envs, n_agents]``. The state of recurrent agents is ``(actor_h [N, n_agents, H],
    critic_h [N, value_heads, H])``, of feed-forward ones None; ``memory`` holds the training rollout's
    (``policy_step``/``value_step`` read and advance it).
    """

    def __init__(
        self,
        obs_size: int,
        state_size: int,
        n_agents: int,
        n_actions: int,
        *,
        critic_input: str = "AS",
        hidden_sizes: Sequence[int] = (64, 64),
        activation: str = "relu",
        layer_norm: bool = True,
        recurrent: bool = False,
        actor_output_gain: float = 0.01,
    ) -> None:
        super().__init__()
        if critic_input not in CRITIC_INPUTS:
            raise ValueError(f"critic_input={critic_input!r}; accepted values: {', '.join(CRITIC_INPUTS)}")
        self.obs_size, self.state_size = obs_size, state_size
        self.n_agents, self.n_actions = n_agents, n_actions
        self.critic_input, self.recurrent = critic_input, recurrent
        self.value_heads = 1 if critic_input == "state" else n_agents
        critic_dim = {
            "EP": state_size + n_agents,
            "AS": state_size + obs_size + n_agents,
            "state": state_size,
        }[critic_input]
        kwargs: dict[str, Any] = dict(activation=activation, layer_norm=layer_norm, recurrent=recurrent)
        self.actor = _Net(
            obs_size + n_agents, n_actions, hidden_sizes, output_gain=actor_output_gain, **kwargs
        )
        self.critic = _Net(critic_dim, 1, hidden_sizes, output_gain=1.0, **kwargs)
        self.hidden_size = self.actor.hidden_size
        self.register_buffer("agent_ids", torch.eye(n_agents), persistent=False)
        self.memory: tuple[torch.Tensor, torch.Tensor] | None = None

    @property
    def device(self) -> torch.device:
        return self.agent_ids.device

    # --- inputs -----------------------------------------------------------------------------------
    def actor_inputs(self, obs: torch.Tensor) -> torch.Tensor:
        """``[..., n_agents, obs_size]`` -> observation with the one-hot agent id appended."""
        return torch.cat([obs, self.agent_ids.expand(*obs.shape[:-1], self.n_agents)], dim=-1)

    def critic_inputs(self, obs: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """``obs [..., n_agents, obs_size]``, ``state [..., S]`` -> ``[..., value_heads, critic_dim]``."""
        if self.critic_input == "state":
            return state.unsqueeze(-2)
        shared = state.unsqueeze(-2).expand(*obs.shape[:-1], state.shape[-1])
        ids = self.agent_ids.expand(*obs.shape[:-1], self.n_agents)
        parts = [shared, obs, ids] if self.critic_input == "AS" else [shared, ids]
        return torch.cat(parts, dim=-1)

    # --- one step over a batch of envs (acting; recurrent state read from / written to memory) -----
    def _step(self, net: _Net, x: torch.Tensor, hidden: torch.Tensor | None) -> tuple[torch.Tensor, Any]:
        """``x [N, k, d]`` -> ``(out [N, k, o], new hidden [N, k, H] or None)``."""
        if net.gru is None:
            return net(x)[0], None
        n, k = x.shape[:2]
        first = torch.zeros(1, n * k, dtype=torch.bool, device=x.device)
        out, new = net(x.reshape(1, n * k, -1), hidden.reshape(n * k, -1), first)
        return out.reshape(n, k, -1), new.reshape(n, k, -1)

    def _ensure_memory(self, num_envs: int) -> None:
        if self.recurrent and (self.memory is None or self.memory[0].shape[0] != num_envs):
            self.memory = self.initial_state(num_envs)

    def _actor_step(
        self, obs: torch.Tensor, mask: torch.Tensor, hidden: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Masked log-probabilities ``[N, n_agents, n_actions]`` and the actor's next hidden state."""
        logits, new = self._step(self.actor, self.actor_inputs(obs), hidden)
        return masked_log_probs(logits, mask), new

    def policy_step(self, obs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Masked log-probabilities ``[N, n_agents, n_actions]``; advances the actor's memory."""
        self._ensure_memory(obs.shape[0])
        log_probs, new = self._actor_step(obs, mask, self.memory[0] if self.recurrent else None)
        if self.recurrent:
            self.memory = (new, self.memory[1])
        return log_probs

    def value_step(self, obs: torch.Tensor, state: torch.Tensor, *, advance: bool = True) -> torch.Tensor:
        """Values ``[N, value_heads]`` (in the critic's normalised units); ``advance`` updates memory."""
        self._ensure_memory(obs.shape[0])
        hidden = self.memory[1] if self.recurrent else None
        value, new = self._step(self.critic, self.critic_inputs(obs, state), hidden)
        if self.recurrent and advance:
            self.memory = (self.memory[0], new)
        return value.squeeze(-1)

    # --- the Policy protocol ------------------------------------------------------------------------
    def initial_state(self, num_envs: int) -> MAPPOState:
        if not self.recurrent:
            return None
        zeros = lambda k: torch.zeros(num_envs, k, self.hidden_size, device=self.device)  # noqa: E731
        return zeros(self.n_agents), zeros(self.value_heads)

    def reset_state(self, state: MAPPOState, rows: np.ndarray) -> MAPPOState:
        """Zero the recurrent state of env ``rows``."""
        rows = np.asarray(rows)
        if state is None or rows.size == 0:
            return state
        index = torch.as_tensor(rows, device=self.device)
        return tuple(h.index_fill(0, index, 0.0) for h in state)  # type: ignore[return-value]

    def step(
        self, observation: TeamObservation, state: MAPPOState, deterministic: bool = False
    ) -> tuple[np.ndarray, MAPPOState]:
        with torch.inference_mode():
            obs_t = torch.as_tensor(observation.obs, dtype=torch.float32, device=self.device)
            mask = torch.as_tensor(observation.action_mask, dtype=torch.bool, device=self.device)
            if self.recurrent and (state is None or state[0].shape[0] != obs_t.shape[0]):
                state = self.initial_state(obs_t.shape[0])
            log_probs, new = self._actor_step(obs_t, mask, state[0] if self.recurrent else None)
            action = masked_argmax(log_probs, mask) if deterministic else sample_masked(log_probs)
            if self.recurrent:
                state = (new, state[1])
            return action.cpu().numpy(), state
