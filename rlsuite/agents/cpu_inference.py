"""The NumPy accelerator of PPO's rollout inference (``rollout_backend="numpy_accelerated"``, the default
on a CPU): ``ActorCriticAgent`` forwards without torch dispatch.

At rollout batch sizes (a few to a few hundred observations) a small MLP forward costs far less than
torch's per-operator overhead, so on the CPU the collector runs the agent's own weights through NumPy
batched matmuls instead (one ``matmul`` per layer for actor and critic together, as ``StackedMLP``
lays them out): the same network (live views of ``StackedMLP.flat``, no copy), the same sampling rule
(Gumbel-max for categorical actions, ``mean + std * noise`` for Gaussian ones), float32 arithmetic.
Results agree with the torch forward to float32 rounding (~1e-7), far inside PPO's ratio clip; the
update recomputes log-probabilities with torch as usual. Noise comes from a NumPy generator whose state
is saved in checkpoints, so runs stay reproducible and resumable.
"""

from __future__ import annotations

import numba
import numpy as np
import torch

from rlsuite.agents.actor_critic import LOG_SQRT_2PI, ActorCriticAgent

ACTIVATIONS = {
    "tanh": lambda h: np.tanh(h, out=h),
    "relu": lambda h: np.maximum(h, 0.0, out=h),
    "elu": lambda h: np.where(h > 0, h, np.expm1(np.minimum(h, 0.0))).astype(np.float32),
    "silu": lambda h: h / (1.0 + np.exp(-h)),
}


@numba.njit(cache=True)
def sample_categorical(logits, uniform):
    """Gumbel-max sampling; returns ``(actions, log_probs)``."""
    batch, n = logits.shape
    actions = np.empty(batch, np.int64)
    logp = np.empty(batch, np.float32)
    for b in range(batch):
        best, best_score, peak = 0, -np.inf, logits[b].max()
        total = 0.0
        for a in range(n):
            total += np.exp(logits[b, a] - peak)
            score = logits[b, a] - np.log(-np.log(uniform[b, a]))
            if score > best_score:
                best, best_score = a, score
        actions[b] = best
        logp[b] = logits[b, best] - peak - np.log(total)
    return actions, logp


class CPURolloutPolicy:
    """Samples actions and values from an ``ActorCriticAgent`` on the CPU with NumPy."""

    def __init__(self, agent: ActorCriticAgent, seed: int) -> None:
        if agent.device.type != "cpu":
            raise ValueError(
                "the NumPy-accelerated rollout runs on the CPU; use rollout_backend=torch on other devices"
            )
        self.agent = agent
        self.rng = np.random.default_rng(seed)
        self.activation = ACTIVATIONS[agent.actor_critic.activation_name]
        self.out_dim = agent.actor_critic.out_dims[0]
        self.refresh()

    def refresh(self) -> None:
        """Take NumPy views of the weights. Views share memory with the parameters, so in-place optimiser
        steps and ``load_state_dict`` show through; call again only if the parameter objects change."""
        self.weights = [t.detach().numpy() for t in self.agent.actor_critic.tensors()]
        self.log_std = None if self.agent.discrete else self.agent.log_std.detach().numpy()

    def _heads(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tensors = self.weights
        h = np.asarray(obs, np.float32)
        last = len(tensors) // 2 - 1
        for layer in range(last + 1):
            weight = tensors[2 * layer]
            # per-network 2-D matmuls: BLAS for any batch size (broadcast stacked matmul is not)
            h = np.stack([(h if h.ndim == 2 else h[i]) @ weight[i] for i in range(weight.shape[0])])
            h += tensors[2 * layer + 1]
            if layer < last:
                h = self.activation(h)
        return h[0, :, : self.out_dim], h[1, :, 0]

    def value(self, obs: np.ndarray) -> np.ndarray:
        """``V(obs)`` as a NumPy array."""
        return self._heads(obs)[1]

    def sample(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(action, log pi(action|obs), V(obs))`` as NumPy arrays."""
        policy_out, value = self._heads(obs)
        if self.agent.discrete:
            uniform = self.rng.random(policy_out.shape, np.float32)
            np.maximum(uniform, np.finfo(np.float32).tiny, out=uniform)
            action, logp = sample_categorical(policy_out, uniform)
            return action, logp, value
        log_std = self.log_std
        noise = self.rng.standard_normal(policy_out.shape, np.float32)
        action = policy_out + np.exp(log_std) * noise
        logp = (-0.5 * noise**2 - log_std - LOG_SQRT_2PI).sum(-1).astype(np.float32)
        return action.astype(np.float32), logp, value

    def state_dict(self) -> dict:
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]


def torch_difference(policy: CPURolloutPolicy, obs: np.ndarray) -> float:
    """Largest absolute difference between the NumPy and torch heads on ``obs``."""
    with torch.no_grad():
        out, value = policy.agent.heads(torch.from_numpy(np.asarray(obs, np.float32)))
    np_out, np_value = policy._heads(obs)
    return float(max(np.abs(out.numpy() - np_out).max(), np.abs(value.numpy() - np_value).max()))
