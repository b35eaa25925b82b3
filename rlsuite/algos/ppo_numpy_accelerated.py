"""The NumPy accelerator of PPO's update (``update_backend="numpy_accelerated"``, the default on a CPU).

It takes the same gradient steps as ``rlsuite.algos.ppo.AutogradPPOUpdate`` on the same loss,
``rlsuite.algos.ppo.ppo_loss`` (clipped surrogate, optionally clipped value loss, entropy bonus); only the
way the gradient is obtained differs. On a CPU, a PPO step for a small MLP is a few dozen tiny tensor
operations whose cost is torch's per-operator and autograd bookkeeping, not arithmetic, so the chain rule
of ``ppo_loss`` is written out here once:

    policy:  dL/dlogp_i = -A_i r_i / n        where the unclipped surrogate is the active branch
    value:   dL/dV_i    = c_v (V_i - R_i) / n where the unclipped squared error is the active branch
             (ties split as torch.maximum does; clamp passes gradient on its closed interval)
    categorical head: dlogp/dlogits = onehot(a) - softmax;  dH/dlogits = -p (log p + H)
    Gaussian head:    dlogp/dmu = z / sigma;  dlogp/dlog_sigma = z^2 - 1;  dH/dlog_sigma = 1
    MLP: dW = h_in^T g;  db = sum g;  g_in = (g W^T) * act'(z)

then the global-norm clip and Adam (torch's update rule, in place on the parameters and on the torch
optimiser's own ``exp_avg``/``exp_avg_sq`` tensors, so checkpoints are the same whichever path ran).
``tests/test_ppo_cpu.py`` is this module's contract: it checks it against autograd step by step, so
a change to ``ppo_loss`` must be mirrored here (or run ``update_backend=torch``).
"""

from __future__ import annotations

import numpy as np
import torch

from rlsuite.agents.actor_critic import LOG_SQRT_2PI, ActorCriticAgent
from rlsuite.core.buffers import RolloutMinibatch


def _activation_and_derivative(name: str):
    """``(f(z), f'(z))`` pairs computed from the pre-activation ``z``."""
    if name == "tanh":
        return lambda z: np.tanh(z), lambda z, h: 1.0 - h * h
    if name == "relu":
        return lambda z: np.maximum(z, 0.0), lambda z, h: (z > 0).astype(np.float32)
    if name == "elu":
        return lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0.0))), lambda z, h: np.where(
            z > 0, 1.0, h + 1.0
        )

    def silu_grad(z, h):
        s = 1.0 / (1.0 + np.exp(-z))
        return s * (1.0 + z * (1.0 - s))

    return lambda z: z / (1.0 + np.exp(-z)), silu_grad


def _max_grad_share(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Share of ``torch.maximum(a, b)``'s gradient that flows to ``a`` (ties split half and half)."""
    return np.where(a == b, 0.5, (a > b).astype(np.float32))


class NumpyAcceleratedPPOUpdate:
    """Runs PPO minibatch steps on an ``ActorCriticAgent`` with NumPy gradients and torch's Adam rule."""

    takes_numpy = True  # minibatches arrive as NumPy arrays

    def __init__(self, agent: ActorCriticAgent, optimizer: torch.optim.Adam, config) -> None:
        if agent.device.type != "cpu":
            raise ValueError(
                "the NumPy-accelerated update runs on the CPU; use update_backend=torch on other devices"
            )
        self.agent, self.optimizer, self.config = agent, optimizer, config
        net = agent.actor_critic
        self.activation, self.activation_grad = _activation_and_derivative(net.activation_name)
        # Gradients are produced in this order: the network's flat tensor, then the Gaussian log-std.
        self.params = [net.flat] if agent.discrete else [net.flat, agent.log_std]
        if len(self.params) != len(list(agent.parameters())):
            raise ValueError("NumpyAcceleratedPPOUpdate supports ActorCriticAgent's own parameters only")
        self._init_adam_state()
        self.weights = [t.detach().numpy() for t in net.tensors()]
        self.grad_flat = np.zeros(net.flat.numel(), np.float32)
        offsets = np.cumsum([0, *net.sizes])
        self.grads = [
            self.grad_flat[offsets[i] : offsets[i + 1]].reshape(shape) for i, shape in enumerate(net.shapes)
        ]
        self.out_dim = net.out_dims[0]

    def _init_adam_state(self) -> None:
        """Create torch Adam's per-parameter state (as its lazy init would). ``load_state_dict`` copies
        into these tensors in place, so the NumPy views taken by ``_adam_views`` stay valid."""
        for p in self.params:
            state = self.optimizer.state[p]
            if not state:
                state["step"] = torch.tensor(0.0)
                state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    def _adam_views(self) -> list[tuple[torch.Tensor, np.ndarray, np.ndarray, np.ndarray]]:
        views = []
        for p in self.params:
            state = self.optimizer.state[p]
            views.append(
                (state["step"], state["exp_avg"].numpy(), state["exp_avg_sq"].numpy(), p.detach().numpy())
            )
        return views

    # --- forward / backward through the stacked actor-critic MLP ----------------------------------
    def _forward(self, obs: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
        """Per-network 2-D matmuls (BLAS; stacked or broadcast ``np.matmul`` is not), heads stacked."""
        k = self.weights[0].shape[0]
        inputs: list[np.ndarray] = [np.broadcast_to(obs, (k, *obs.shape))]
        pre: list[np.ndarray] = []
        last = len(self.weights) // 2 - 1
        for layer in range(last + 1):
            weight, bias = self.weights[2 * layer], self.weights[2 * layer + 1]
            z = np.empty((k, obs.shape[0], weight.shape[2]), np.float32)
            for i in range(k):
                np.matmul(inputs[-1][i], weight[i], out=z[i])
            z += bias
            pre.append(z)
            if layer < last:
                inputs.append(self.activation(z))
        return inputs, pre, z

    def _backward(self, inputs: list[np.ndarray], pre: list[np.ndarray], grad_out: np.ndarray) -> None:
        g = grad_out
        k = g.shape[0]
        for layer in range(len(pre) - 1, -1, -1):
            weight, weight_grad = self.weights[2 * layer], self.grads[2 * layer]
            for i in range(k):
                np.matmul(inputs[layer][i].T, g[i], out=weight_grad[i])
            np.sum(g, axis=1, keepdims=True, out=self.grads[2 * layer + 1])
            if layer > 0:
                g_in = np.empty((k, g.shape[1], weight.shape[1]), np.float32)
                for i in range(k):
                    np.matmul(g[i], weight[i].T, out=g_in[i])
                g_in *= self.activation_grad(pre[layer - 1], inputs[layer])
                g = g_in

    # --- one minibatch ----------------------------------------------------------------------------
    def step(self, mb: RolloutMinibatch, with_diagnostics: bool) -> dict[str, float]:
        cfg, n = self.config, mb.obs.shape[0]
        inputs, pre, out = self._forward(mb.obs)
        head, value = out[0, :, : self.out_dim], out[1, :, 0]
        new_logp, entropy, head_grad_of_logp, log_std_grad = self._head(head, mb.actions)
        log_ratio = new_logp - mb.logprobs
        ratio = np.exp(log_ratio)
        adv = mb.advantages
        if cfg.norm_adv and n > 1:
            adv = (adv - adv.mean()) / (adv.std(ddof=1) + 1e-8)

        # L^CLIP gradient: -A r / n through whichever branch torch.max selects.
        low, high = 1 - cfg.clip_coef, 1 + cfg.clip_coef
        clipped_ratio = np.clip(ratio, low, high)
        surrogate, surrogate_clipped = -adv * ratio, -adv * clipped_ratio
        share = _max_grad_share(surrogate, surrogate_clipped)
        in_range = (ratio >= low) & (ratio <= high)
        d_logp = (-adv * ratio / n) * (share + (1 - share) * in_range)

        # L^V gradient: c_v (V - R) / n, through the clipped branch only where the clamp is inactive.
        error = value - mb.returns
        d_value = error
        if cfg.clip_vloss:
            delta = value - mb.values
            clipped_error = mb.values + np.clip(delta, -cfg.clip_coef, cfg.clip_coef) - mb.returns
            share_v = _max_grad_share(error * error, clipped_error * clipped_error)
            clamp_open = np.abs(delta) <= cfg.clip_coef
            d_value = share_v * error + (1 - share_v) * clipped_error * clamp_open
        grad_out = np.zeros_like(out)
        grad_out[1, :, 0] = cfg.vf_coef * d_value / n
        grad_out[0, :, : self.out_dim], log_std_total = self._head_gradient(
            d_logp, head_grad_of_logp, log_std_grad, n
        )
        self._backward(inputs, pre, grad_out)
        self._apply(log_std_total)
        if not with_diagnostics:
            return {}
        value_error = error * error
        if cfg.clip_vloss:
            value_error = np.maximum(value_error, clipped_error * clipped_error)
        return {
            "policy_loss": float(np.maximum(surrogate, surrogate_clipped).mean()),
            "value_loss": float(0.5 * value_error.mean()),
            "entropy": float(entropy.mean()),
            "approx_kl": float(((ratio - 1) - log_ratio).mean()),
            "clip_fraction": float((np.abs(ratio - 1) > cfg.clip_coef).mean()),
        }

    def _head(self, head: np.ndarray, actions: np.ndarray):
        """Log-probs, entropies and their derivatives for the policy head."""
        if self.agent.discrete:
            shifted = head - head.max(axis=1, keepdims=True)
            log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            probs = np.exp(log_probs)
            index = actions.astype(np.int64)
            rows = np.arange(len(index))
            onehot = np.zeros_like(probs)
            onehot[rows, index] = 1.0
            entropy = -(probs * log_probs).sum(axis=1)
            entropy_grad = -probs * (log_probs + entropy[:, None])
            return log_probs[rows, index], entropy, (onehot - probs, entropy_grad), None
        log_std = self.agent.log_std.detach().numpy()
        std = np.exp(log_std)
        z = (actions - head) / std
        logp = (-0.5 * z * z - log_std - LOG_SQRT_2PI).sum(axis=1)
        entropy = np.full(len(head), (0.5 + LOG_SQRT_2PI + log_std).sum(), np.float32)
        return logp, entropy, (z / std, None), z * z - 1.0

    def _head_gradient(self, d_logp, head_grads, log_std_grad, n):
        dlogp_dhead, dentropy_dhead = head_grads
        grad_head = d_logp[:, None] * dlogp_dhead
        ent = self.config.ent_coef
        if ent and dentropy_dhead is not None:
            grad_head = grad_head - (ent / n) * dentropy_dhead
        log_std_total = None
        if log_std_grad is not None:
            log_std_total = (d_logp[:, None] * log_std_grad).sum(axis=0) - ent
        return grad_head, log_std_total

    # --- clip and Adam ----------------------------------------------------------------------------
    def _apply(self, log_std_grad: np.ndarray | None) -> None:
        grads = (
            [self.grad_flat] if log_std_grad is None else [self.grad_flat, log_std_grad.astype(np.float32)]
        )
        if self.config.max_grad_norm > 0:
            norm = np.sqrt(sum(float(np.dot(g, g)) for g in grads))
            scale = min(1.0, self.config.max_grad_norm / (norm + 1e-6))
            for g in grads:
                g *= scale
        group = self.optimizer.param_groups[0]
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        for (step_tensor, m, v, p), grad in zip(self._adam_views(), grads):
            step_tensor += 1
            step = float(step_tensor)
            # torch.optim.Adam: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
            # p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
            m *= beta1
            m += (1 - beta1) * grad
            v *= beta2
            v += (1 - beta2) * np.square(grad)
            denom = np.sqrt(v)
            denom *= 1.0 / np.sqrt(1 - beta2**step)
            denom += eps
            p -= (lr / (1 - beta1**step)) * (m / denom)
