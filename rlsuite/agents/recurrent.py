"""The PyMARL recurrent agent: one GRU network shared by all agents of a team, acting on local observations.

Each agent ``i`` feeds ``x_t^i = [o_t^i, onehot(a_{t-1}^i), onehot(i)]`` (last action and agent id are
optional, both on by default as in PyMARL) through ``Linear -> ReLU -> GRUCell -> Linear`` and reads one
output per action. Parameters are shared; the agent id tells the agents apart. This is PyMARL's
``RNNAgent`` (Rashid et al. 2018; Samvelyan et al. 2019, arXiv:1902.04043), with hidden size 64.

:class:`RecurrentAgentNetwork` is the bare network (any output size: Q-values here, logits for an
actor); :class:`RecurrentQAgent` acts with it as a team :class:`~rlsuite.agents.base.Policy`: greedy (or
epsilon-greedy) over the *available* actions, with per-env hidden state and last actions as its state.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from rlsuite.core.marl import epsilon_greedy, masked_argmax
from rlsuite.core.team import TeamObservation

RecurrentQState = dict[str, torch.Tensor]  # {"hidden": [N, n_agents, H], "last_action": [N, n_agents, A]}


class RecurrentAgentNetwork(nn.Module):
    """``x -> Linear -> ReLU -> GRUCell -> Linear``; leading dimensions of ``x`` are batch dimensions."""

    def __init__(self, input_size: int, output_size: int, hidden_size: int = 64) -> None:
        super().__init__()
        self.input_size, self.output_size, self.hidden_size = input_size, output_size, hidden_size
        self.fc1 = nn.Linear(input_size, hidden_size)
        self.rnn = nn.GRUCell(hidden_size, hidden_size)
        self.fc2 = nn.Linear(hidden_size, output_size)

    def initial_state(self, *batch: int, device: torch.device | None = None) -> torch.Tensor:
        return torch.zeros(*batch, self.hidden_size, device=device)

    def forward(self, inputs: torch.Tensor, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One step: ``inputs [..., in]`` and ``hidden [..., H]`` -> ``(outputs [..., out], new hidden)``."""
        lead = inputs.shape[:-1]
        x = F.relu(self.fc1(inputs.reshape(-1, self.input_size)))
        h = self.rnn(x, hidden.reshape(-1, self.hidden_size))
        return self.fc2(h).reshape(*lead, self.output_size), h.reshape(*lead, self.hidden_size)

    def unroll(self, inputs: torch.Tensor, hidden: torch.Tensor | None = None) -> torch.Tensor:
        """A sequence ``inputs [B, T, ..., in]`` from ``hidden [B, ..., H]`` (zeros) -> ``[B, T, ..., out]``.

        The input layer and the output head act on all steps at once; only the GRU cell loops over time.
        """
        batch, steps, *rest = inputs.shape[:-1]
        x = F.relu(self.fc1(inputs)).transpose(0, 1).reshape(steps, -1, self.hidden_size)
        h = (
            x.new_zeros(x.shape[1], self.hidden_size)
            if hidden is None
            else hidden.reshape(-1, self.hidden_size)
        )
        states = []
        for x_t in x.unbind(0):  # unbind, not x[t]: its backward stacks, instead of T full-size adds
            h = self.rnn(x_t, h)
            states.append(h)
        out = self.fc2(torch.stack(states))  # [T, B * ..., out]
        return out.reshape(steps, batch, *rest, self.output_size).transpose(0, 1)


class RecurrentQAgent(nn.Module):
    """A team of agents sharing one :class:`RecurrentAgentNetwork` that outputs Q-values per action.

    ``step(observation, state)`` returns ``int [N, n_agents]``: the available action of highest Q
    (``observation.action_mask``), or with probability ``epsilon`` a uniformly drawn available one (never
    when ``deterministic``), and the new state: each env's GRU state ``hidden [N, n_agents, H]`` and
    ``last_action`` one-hots ``[N, n_agents, n_actions]``. States are replaced, never modified in place.
    ``memory`` holds the training rollout's state (checkpoints keep it, see :meth:`acting_state`).
    """

    def __init__(
        self,
        obs_size: int,
        n_agents: int,
        n_actions: int,
        *,
        hidden_size: int = 64,
        last_action: bool = True,
        agent_id: bool = True,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.obs_size, self.n_agents, self.n_actions = obs_size, n_agents, n_actions
        self.last_action, self.agent_id = last_action, agent_id
        input_size = obs_size + (n_actions if last_action else 0) + (n_agents if agent_id else 0)
        self.network = RecurrentAgentNetwork(input_size, n_actions, hidden_size)
        self.epsilon = 0.0
        self.rng = np.random.default_rng(seed)
        self.memory: RecurrentQState | None = None
        self.register_buffer("_eye", torch.eye(n_agents), persistent=False)

    @property
    def device(self) -> torch.device:
        return self.network.fc1.weight.device

    # --- inputs ----------------------------------------------------------------------------------
    def inputs(self, obs: torch.Tensor, last_action: torch.Tensor) -> torch.Tensor:
        """``[..., n_agents, in]`` from ``obs [..., n_agents, obs_size]`` and last-action one-hots."""
        parts = [obs]
        if self.last_action:
            parts.append(last_action)
        if self.agent_id:
            eye = self._eye if self._eye.device == obs.device else self._eye.to(obs.device)
            parts.append(eye.to(obs.dtype).expand(*obs.shape[:-2], self.n_agents, self.n_agents))
        return torch.cat(parts, -1)

    def sequence_inputs(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Inputs of whole episodes: ``obs [B, T + 1, n, o]`` and the actions taken ``[B, T, n]``.

        Step ``t`` sees the action of step ``t - 1`` (none at ``t = 0``), so the ``T + 1``-th input (the
        observation after the last step) sees the last action.
        """
        onehot = F.one_hot(actions.long(), self.n_actions).to(obs.dtype)
        last = torch.cat([torch.zeros_like(onehot[:, :1]), onehot], 1)
        return self.inputs(obs, last)

    def q_values(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Q-values ``[B, T + 1, n, A]`` along whole episodes, from a zero hidden state."""
        return self.network.unroll(self.sequence_inputs(obs, actions))

    # --- acting (the Policy protocol) ------------------------------------------------------------
    def initial_state(self, num_envs: int) -> RecurrentQState:
        return {
            "hidden": self.network.initial_state(num_envs, self.n_agents, device=self.device),
            "last_action": torch.zeros(num_envs, self.n_agents, self.n_actions, device=self.device),
        }

    def reset_state(self, state: RecurrentQState | None, rows: np.ndarray) -> RecurrentQState | None:
        """Zero the hidden state and last action of env ``rows``."""
        rows = np.asarray(rows, np.int64).reshape(-1)
        if state is None or rows.size == 0:
            return state
        keep = torch.ones(state["hidden"].shape[0], 1, 1, device=self.device)
        keep[torch.as_tensor(rows, device=self.device)] = 0.0
        return {k: v * keep for k, v in state.items()}

    @torch.no_grad()
    def step(
        self, observation: TeamObservation, state: RecurrentQState | None, deterministic: bool = False
    ) -> tuple[np.ndarray, RecurrentQState]:
        obs = torch.as_tensor(np.asarray(observation.obs), dtype=torch.float32, device=self.device)
        mask = np.asarray(observation.action_mask, bool)
        if state is None or state["hidden"].shape[0] != obs.shape[0]:
            state = self.initial_state(obs.shape[0])
        q, hidden = self.network(self.inputs(obs, state["last_action"]), state["hidden"])
        actions = masked_argmax(q, torch.as_tensor(mask, device=self.device)).cpu().numpy()
        if not deterministic:
            actions = epsilon_greedy(actions, mask, self.epsilon, self.rng)
        last = F.one_hot(torch.as_tensor(actions, device=self.device), self.n_actions).float()
        return actions, {"hidden": hidden, "last_action": last}

    # --- checkpoints -------------------------------------------------------------------------------
    def acting_state(self) -> dict[str, Any]:
        """What acting carries between steps: memory, epsilon and the exploration generator."""
        memory = None if self.memory is None else {k: v.clone() for k, v in self.memory.items()}
        return {"memory": memory, "epsilon": self.epsilon, "rng": self.rng.bit_generator.state}

    def load_acting_state(self, state: dict[str, Any]) -> None:
        memory = state["memory"]
        self.memory = None if memory is None else {k: v.to(self.device).clone() for k, v in memory.items()}
        self.epsilon = float(state["epsilon"])
        self.rng.bit_generator.state = state["rng"]
