"""SAC's gradient steps with the chain rule written out (``update_backend="fused"``, the default).

It takes the same gradient steps as SAC's readable autograd path (``SAC.critic_loss`` and
``SAC.actor_update`` in ``rlsuite/algos/sac.py``) on the same losses, drawing the same random numbers in
the same order; only the way the gradient is obtained differs. On a CPU, a SAC step for 256-256 networks
is 16 GEMMs of 256 x 256 x 256 and about a thousand small tensor operations whose cost is torch's
per-operator and autograd bookkeeping; here the step is about 150 operations without autograd, with
gradients written straight into preallocated buffers:

    critic:  J_Q = 1/2 sum_k mean_b (Q_k(s, a) - y)^2          dJ/dQ_kb = (Q_kb - y_b) / B
    actor:   J_pi = mean_b (alpha log pi(a|s) - min_k Q_k(s, a)),  a = tanh(u),  u = mu + sigma eps
             dJ/da = -(1/B) dQ_k*/da (k* the argmin member, as torch's ``min`` routes it)
             dJ/du = dJ/da (1 - a^2) + (2 alpha / B) a        (d log pi / du = 2 tanh(u), eps fixed)
             dJ/dmu = dJ/du;  dJ/dlog_sigma = dJ/du sigma eps - alpha / B   (zero outside the clamp)
    MLP:     dW = h_in^T g;  db = sum_b g;  g_in = (g W^T) * act'(z)

then the learner's own torch Adam optimisers step on these gradients, so optimiser state and
checkpoints are the same whichever path ran. ``tests/test_sac_fused.py`` is this module's contract: it
checks every gradient step against the autograd path, so a change to SAC's losses must be mirrored here
(or run ``update_backend=autograd``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn

from rlsuite.agents.continuous import LOG_2, LOG_SQRT_2PI, EnsembleQ, SquashedGaussianActor
from rlsuite.core.replay import ReplaySample

Tensor = torch.Tensor
Activation = tuple[Callable[[Tensor], Tensor], Callable[[Tensor, Tensor, Tensor], Tensor]]


def activation_pair(name: str) -> Activation:
    """``(f(z), backward(g, z, h))`` for the hidden activations SAC accepts: ``backward`` returns
    ``g * f'(z)`` given the pre-activation ``z`` and the output ``h = f(z)``. ReLU is applied in place
    (its backward needs only ``h``; ``z`` is then not kept)."""
    if name == "relu":
        return torch.relu_, lambda g, z, h: torch.ops.aten.threshold_backward(g, h, 0.0)
    if name == "tanh":
        return torch.tanh, lambda g, z, h: g * (1.0 - h * h)
    if name == "elu":
        return nn.functional.elu, lambda g, z, h: g * torch.where(z > 0, 1.0, h + 1.0)
    if name == "silu":

        def silu_backward(g: torch.Tensor, z: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
            s = torch.sigmoid(z)
            return g * s * (1.0 + z * (1.0 - s))

        return nn.functional.silu, silu_backward
    raise ValueError(f"activation={name!r}; accepted values: relu, tanh, elu, silu")


class StackedCriticPass:
    """Forward and backward of an ``EnsembleQ`` (K stacked MLPs, weights ``[K, in, out]``, x @ W)."""

    def __init__(self, critic: EnsembleQ, activation: str) -> None:
        self.critic = critic
        self.act, self.act_grad = activation_pair(activation)
        self.keep_pre = activation != "relu"  # ReLU's backward needs only its output
        self.grad = torch.zeros_like(critic.flat)
        self.grads = [g.view(s) for g, s in zip(self.grad.split(critic.net.sizes), critic.net.shapes)]

    def forward(self, weights: list[torch.Tensor], x: torch.Tensor) -> tuple[torch.Tensor, list, list]:
        """``Q [K, B]`` plus each layer's input and pre-activation (for ``backward``)."""
        k = self.critic.num_q
        h = x.unsqueeze(0).expand(k, *x.shape)
        inputs, pre = [], []
        last = len(weights) // 2 - 1
        for layer in range(last + 1):
            inputs.append(h)
            z = torch.baddbmm(weights[2 * layer + 1], h, weights[2 * layer])
            pre.append(z if self.keep_pre else None)
            h = self.act(z) if layer < last else z
        return h.squeeze(-1), inputs, pre

    def backward(
        self,
        weights: list[torch.Tensor],
        inputs: list,
        pre: list,
        grad_q: torch.Tensor,
        *,
        weight_grads: bool = True,
        input_columns: slice | None = None,
    ) -> torch.Tensor | None:
        """Back-propagate ``dJ/dQ [K, B]``: into ``self.grads`` (``weight_grads``) and, with
        ``input_columns``, return ``dJ/dx[:, columns]`` summed over members ``[B, c]``."""
        g = grad_q.unsqueeze(-1)  # [K, B, 1]
        for layer in range(len(inputs) - 1, -1, -1):
            if layer < len(inputs) - 1:
                g = self.act_grad(g, pre[layer], inputs[layer + 1])
            if weight_grads:
                torch.bmm(inputs[layer].transpose(1, 2), g, out=self.grads[2 * layer])
                torch.sum(g, 1, keepdim=True, out=self.grads[2 * layer + 1])
            if layer > 0:
                g = torch.bmm(g, weights[2 * layer].transpose(1, 2))
            elif input_columns is not None:
                return torch.bmm(g, weights[0][:, input_columns].transpose(1, 2)).sum(0)
        return None

    def selected_member_input_grad(
        self,
        weights: list[torch.Tensor],
        inputs: list,
        pre: list,
        member: torch.Tensor,
        scale: float,
        columns,
    ) -> torch.Tensor:
        """``d(scale * Q_{m_b}(x_b)) / dx_b[columns]`` with one member ``m_b`` per sample (the argmin of
        the clipped double-Q): the backward runs through each sample's member only, rows grouped by
        member, so each layer costs one GEMM of ``B`` rows in all instead of ``K`` of them. ``[B, c]``."""
        last = len(weights) // 2 - 1
        first = weights[0][:, columns]
        out = torch.empty(member.shape[0], first.shape[1], dtype=first.dtype, device=first.device)
        for k in range(self.critic.num_q):
            rows = (member == k).nonzero().squeeze(1)
            if rows.numel() == 0:
                continue
            g = (scale * weights[2 * last][k, :, 0]).expand(rows.numel(), -1)
            for layer in range(last, 0, -1):
                z = None if pre[layer - 1] is None else pre[layer - 1][k].index_select(0, rows)
                g = self.act_grad(g, z, inputs[layer][k].index_select(0, rows))
                weight = first[k] if layer == 1 else weights[2 * (layer - 1)][k]
                g = torch.mm(g, weight.t())
            out.index_copy_(0, rows, g)
        return out


class ActorPass:
    """Forward and backward of a ``SquashedGaussianActor`` (``nn.Linear`` layers: x @ W^T + b)."""

    def __init__(self, actor: SquashedGaussianActor, activation: str) -> None:
        self.actor = actor
        self.act, self.act_grad = activation_pair(activation)
        self.keep_pre = activation != "relu"
        self.linears = [m for m in actor.net if isinstance(m, nn.Linear)]
        self.params = [p for linear in self.linears for p in (linear.weight, linear.bias)]
        if len(self.params) != len(list(actor.parameters())):
            raise ValueError("the fused SAC update supports SquashedGaussianActor's own MLP only")
        self.grads = [torch.zeros_like(p) for p in self.params]

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, list, list]:
        """The head ``[B, 2A]`` plus each layer's input and pre-activation."""
        h, inputs, pre = obs, [], []
        last = len(self.linears) - 1
        for i, linear in enumerate(self.linears):
            inputs.append(h)
            z = torch.addmm(linear.bias, h, linear.weight.t())
            pre.append(z if self.keep_pre else None)
            h = self.act(z) if i < last else z
        return h, inputs, pre

    def backward(self, inputs: list, pre: list, grad_head: torch.Tensor) -> None:
        g = grad_head
        for i in range(len(self.linears) - 1, -1, -1):
            if i < len(self.linears) - 1:
                g = self.act_grad(g, pre[i], inputs[i + 1])
            torch.mm(g.t(), inputs[i], out=self.grads[2 * i])
            torch.sum(g, 0, out=self.grads[2 * i + 1])
            if i > 0:
                g = torch.mm(g, self.linears[i].weight)

    def sample(self, obs: torch.Tensor):
        """``SquashedGaussianActor.sample`` with what the backward needs: (a, log pi, cache)."""
        head, inputs, pre = self.forward(obs)
        a_dim = self.actor.act_dim
        raw_log_std = head[:, a_dim:]
        log_std = raw_log_std.clamp(self.actor.log_std_min, self.actor.log_std_max)
        noise = torch.randn_like(head[:, :a_dim])
        std = log_std.exp()
        u = head[:, :a_dim] + std * noise
        log_gauss = -0.5 * noise.square() - log_std - LOG_SQRT_2PI
        log_jacobian = 2.0 * (LOG_2 - u - nn.functional.softplus(-2.0 * u))
        action = torch.tanh(u)
        return action, (log_gauss - log_jacobian).sum(-1), (inputs, pre, raw_log_std, std, noise)


def adam(params: Iterable[nn.Parameter], lr: float) -> torch.optim.Adam:
    """torch's Adam, fused where this build supports it (one kernel per parameter: about 4x faster than
    the per-tensor loop on a CPU for SAC's networks; the same update rule)."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr)


class FusedSACUpdate:
    """The critic and actor steps of SAC with hand-written gradients (module docstring)."""

    def __init__(self, algo) -> None:
        cfg = algo.config
        self.algo = algo
        self.critic = StackedCriticPass(algo.critic, cfg.activation)
        self.actor = ActorPass(algo.actor, cfg.activation)
        self.obs_dim = algo.obs_dim

    @torch.no_grad()
    def critic_step(self, batch: ReplaySample, alpha: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``SAC.critic_update``: one Adam step on the soft Bellman residual (clipped double-Q target,
        ``1/2 sum_k mean_b``); returns (loss, mean Q)."""
        next_actions, next_logp, _ = self.actor.sample(batch.next_obs)
        target_weights = self.algo.critic_target.net.tensors()
        next_x = torch.cat([batch.next_obs, next_actions], dim=-1)
        next_q = self.critic.forward(target_weights, next_x)[0].min(0).values
        target = batch.rewards + batch.discount * (next_q - alpha * next_logp)
        return self.regress_critic(batch, target, reduction="half_sum_of_means")

    @torch.no_grad()
    def regress_critic(
        self, batch: ReplaySample, target: torch.Tensor, reduction: str
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One Adam step of the critics towards ``target`` (``[B]``, or ``[K, B]`` per member) on
        ``1/2 sum_k mean_b (Q_k - y)^2`` (``"half_sum_of_means"``, SAC) or ``mean_{k,b} (Q_k - y)^2``
        (``"mean"``, SO2); returns (loss, mean Q)."""
        algo = self.algo
        weights = algo.critic.net.tensors()
        q, inputs, pre = self.critic.forward(weights, torch.cat([batch.obs, batch.actions], dim=-1))
        error = q - target
        if reduction == "half_sum_of_means":
            loss, scale = 0.5 * error.square().mean(1).sum(), 1.0 / error.shape[1]
        elif reduction == "mean":
            loss, scale = error.square().mean(), 2.0 / error.numel()
        else:
            raise ValueError(f"reduction={reduction!r}; accepted values: 'half_sum_of_means', 'mean'")
        self.critic.backward(weights, inputs, pre, error * scale)
        self._step(algo.critic_optimizer, [algo.critic.flat], [self.critic.grad])
        return loss, q.mean()

    @torch.no_grad()
    def actor_step(self, obs: torch.Tensor, alpha: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``SAC.actor_update``: one Adam step on the reparameterised policy loss; (loss, log pi)."""
        algo = self.algo
        action, logp, (inputs, pre, raw_log_std, std, noise) = self.actor.sample(obs)
        weights = algo.critic.net.tensors()
        q, c_inputs, c_pre = self.critic.forward(weights, torch.cat([obs, action], dim=-1))
        q_min, member = q.min(0)
        batch = obs.shape[0]
        grad_action = self.critic.selected_member_input_grad(
            weights, c_inputs, c_pre, member, -1.0 / batch, slice(self.obs_dim, None)
        )
        grad_u = grad_action * (1.0 - action.square()) + (2.0 / batch) * alpha * action
        grad_log_std = grad_u * std * noise - alpha / batch
        inside = (raw_log_std >= self.actor.actor.log_std_min) & (raw_log_std <= self.actor.actor.log_std_max)
        grad_head = torch.cat([grad_u, grad_log_std * inside], dim=-1)
        self.actor.backward(inputs, pre, grad_head)
        self._step(algo.actor_optimizer, self.actor.params, self.actor.grads)
        return (alpha * logp - q_min).mean(), logp

    @torch.no_grad()
    def temperature_step(self, logp: torch.Tensor, target_entropy: float) -> torch.Tensor:
        """``SAC.temperature_update``: J = -mean(log_alpha (log pi + target)), dJ/dlog_alpha =
        -mean(log pi + target); one Adam step; returns J."""
        log_alpha = self.algo.log_alpha
        shifted_mean = (logp + target_entropy).mean()
        loss = -(log_alpha * shifted_mean)  # before the step, as the autograd path reports it
        self._step(self.algo.alpha_optimizer, [log_alpha], [-shifted_mean])
        return loss

    @staticmethod
    def _step(optimizer: torch.optim.Adam, params: list, grads: list) -> None:
        adam_step(optimizer, params, grads)


def adam_step(optimizer: torch.optim.Adam, params: list[torch.Tensor], grads: list[torch.Tensor]) -> None:
    """``optimizer.step()`` with ``grads`` as the gradients of ``params`` (one param group).

    A fused Adam whose state exists is stepped by calling its kernel directly, on the optimizer's own
    state tensors (what ``torch.optim.Adam(fused=True).step`` does, without its Python bookkeeping, which
    costs more than the kernel at SAC's sizes); otherwise through ``step``.
    """
    group = optimizer.param_groups[0]
    states = [optimizer.state.get(param) for param in params]
    direct = group.get("fused") and not group["amsgrad"] and not group["maximize"]
    if not direct or not all(states) or len(optimizer.param_groups) != 1:
        for param, grad in zip(params, grads):
            param.grad = grad
        optimizer.step()
        for param in params:  # the buffers stay ours: an autograd step must not accumulate into them
            param.grad = None
        return
    steps = [state["step"] for state in states]
    torch._foreach_add_(steps, 1)
    beta1, beta2 = group["betas"]
    torch._fused_adam_(
        params,
        grads,
        [state["exp_avg"] for state in states],
        [state["exp_avg_sq"] for state in states],
        [],
        steps,
        amsgrad=False,
        lr=group["lr"],
        beta1=beta1,
        beta2=beta2,
        weight_decay=group["weight_decay"],
        eps=group["eps"],
        maximize=False,
        grad_scale=None,
        found_inf=None,
    )
