"""MPDP: Model-based Planning Distilled to Policy (Li et al., 2023, arXiv:2307.12933).

MPDP extends SAC's policy-improvement step: instead of projecting the policy onto exp(Q/alpha) at one
state, it improves the policy jointly over the next ``H`` steps of a learned model, which the paper
proves still improves monotonically and converges to SAC's max-entropy optimum.

* **Model**: an MBPO ensemble (``rlsuite.agents.dynamics.EnsembleDynamics``: 7 Gaussian members, 5
  elites, holdout early stopping) predicting reward and state change, refitted on the replay buffer
  every ``model_train_freq`` env steps.
* **Policy improvement**: from replay states s_0, roll the current policy through the model for H steps
  with reparameterised actions (and reparameterised model noise), and maximise

      J_H(pi) = E[ sum_{h=0}^{H-1} gamma^h w_h (r^(s_h, a_h) - alpha log pi(a_h|s_h))
                   + gamma^H w_H (min_k Q_k(s_H, a_H) - alpha log pi(a_H|s_H)) ],

  the entropy term at every step and a soft-Q bootstrap at the horizon; w_h = prod_{j<h} (1 - done_j)
  stops the sum at model-predicted terminations (known termination functions). Gradients flow through
  actions, model and critic into the actor only. With H = 0 this is exactly SAC's actor loss.
* **Critic** and **temperature**: SAC's (soft Bellman residual on real transitions, clipped double-Q;
  alpha tuned towards the entropy target from log pi at the replay states). With ``value_expansion``
  the critics also regress on the imagined steps of an H-step rollout from the replay states, towards
  soft TD(lambda) returns bootstrapped on the target critics (model-based value expansion, Feinberg et
  al. 2018, in the lambda-return form of DI-engine's MBSAC):

      G_{H-1} = r^_{H-1} + gamma c_{H-1} V(s_H)
      G_h = r^_h + gamma c_h [ (1 - lambda) V(s_{h+1}) + lambda (G_{h+1} - alpha log pi(a_{h+1}|s_{h+1})) ]
      V(s_{h+1}) = min_k Qbar_k(s_{h+1}, a_{h+1}) - alpha log pi(a_{h+1}|s_{h+1})
      J_Q += 1/2 sum_k E[ sum_h w_h (Q_k(s_h, a_h) - G_h)^2 ] / H

  with c_h = 1 - done_h of the model step and w_h = prod_{j<h} c_j. The paper does not say how its
  critic learns; this is off by default (``docs/off_policy.md``).

Defaults: SAC's (lr 3e-4, batch 256, 256-256 ReLU, tau 0.005), H = 3 reached by a linear ramp from 1
between 20k and 40k env steps, model refits every 250 env steps. Where the paper leaves a detail open the
choice is a config field; docs/off_policy.md ("MPDP") lists them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch

import rlsuite
from rlsuite.agents.dynamics import MBPO_WEIGHT_DECAYS, EnsembleDynamics
from rlsuite.algos.sac import SAC, SACConfig
from rlsuite.config import param
from rlsuite.core.replay import ReplaySample


class ImaginedRollout(NamedTuple):
    """An H-step model rollout of the policy, time first. ``states`` and ``actions`` hold s_0..s_H and
    a_0..a_H; ``rewards``, ``continues`` (1 - done of each model step) and ``weights`` (w_h, alive before
    step h) hold steps 0..H-1; ``next_logp`` and ``next_values`` (the target critics' soft value) belong
    to s_1..s_H."""

    states: torch.Tensor  # [H + 1, B, obs_dim]
    actions: torch.Tensor  # [H + 1, B, act_dim]
    rewards: torch.Tensor  # [H, B]
    continues: torch.Tensor  # [H, B]
    weights: torch.Tensor  # [H, B]
    next_logp: torch.Tensor  # [H, B]
    next_values: torch.Tensor  # [H, B]


def never_terminates(obs: torch.Tensor, act: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
    """The termination rule of tasks without terminations: all False, of ``next_obs``'s leading shape."""
    return torch.zeros(next_obs.shape[:-1], dtype=torch.bool, device=next_obs.device)


@dataclass
class MPDPConfig(SACConfig):
    """MPDP's settings: SAC's plus the planning horizon and the MBPO model."""

    name: str = param("mpdp", help="algorithm name (fixed)", choices=("mpdp",))
    # planning horizon of the policy objective
    horizon: int = param(3, help="model steps H in the policy objective (0 = SAC)", min=0)
    horizon_ramp: tuple[int, int] = param(
        (20_000, 40_000),
        help="env steps over which H grows linearly from 1 to horizon; (0, 0) = fixed H",
        min=0,
    )
    deterministic_model: bool = param(False, help="use member means instead of sampled model steps")
    model_members: str = param(
        "partition",
        help="elite per sample: 'partition' (random, one member's compute), 'random' (MBPO), 'mean'",
        choices=("partition", "random", "mean"),
    )
    value_expansion: bool = param(
        False, help="also fit the critics to TD(lambda) returns of the H-step model rollout (MVE)"
    )
    value_lambda: float = param(
        0.8, help="lambda of the value-expansion targets (MBSAC: 0.8)", min=0.0, max=1.0
    )
    termination: str = param(
        "auto",
        help="model terminations: 'auto' (known rule, else never with a warning), 'known', 'never'",
        choices=("auto", "known", "never"),
    )
    # dynamics model (MBPO)
    ensemble_size: int = param(7, help="ensemble members", min=1)
    num_elites: int = param(5, help="members used in rollouts (lowest holdout error)", min=1)
    model_hidden_sizes: tuple[int, ...] = param((200, 200, 200, 200), help="model hidden widths", min=1)
    model_weight_decays: tuple[float, ...] | None = param(
        MBPO_WEIGHT_DECAYS,
        help="model L2 coefficient per layer (hidden layers, then output); None: none",
        min=0.0,
    )
    model_lr: float = param(1e-3, help="model Adam learning rate", min=0.0, min_exclusive=True)
    model_batch_size: int = param(256, help="model minibatch size", min=1)
    model_train_freq: int = param(250, help="env steps between model fits", min=1)
    model_fit_subset: int | None = param(
        None,
        help="fit on N real transitions drawn uniformly from the whole buffer, a fresh draw per fit "
        "(None: every transition, MBPO's)",
        min=2,
    )
    model_holdout_ratio: float = param(0.2, help="holdout fraction for early stopping", min=0.0, max=0.9)
    model_max_holdout: int = param(5000, help="cap on holdout transitions", min=1)
    model_max_epochs: int | None = param(None, help="cap on epochs per fit (None: until early stop)", min=1)
    model_patience: int = param(5, help="epochs without >1% holdout improvement before stopping", min=1)


class MPDP(SAC):
    """Model-based planning distilled to policy (``algo.name: mpdp``)."""

    name = "mpdp"
    description = "Model-based: SAC with H-step policy improvement through an MBPO dynamics ensemble"
    config_cls = MPDPConfig

    def build(self) -> None:
        super().build()
        cfg = self.config
        self.model = EnsembleDynamics(
            self.obs_dim,
            self.act_dim,
            ensemble_size=cfg.ensemble_size,
            num_elites=cfg.num_elites,
            hidden_sizes=cfg.model_hidden_sizes,
            weight_decays=cfg.model_weight_decays,
            lr=cfg.model_lr,
            device=self.device,
        )
        self.model_rng = torch.Generator(device=self.device)
        self.model_rng.manual_seed(self.seed + 7919)
        self.model_fits = 0
        self.last_model_fit = -1
        self.model_stats: dict[str, float] = {}
        self.is_terminal = self._termination_rule()

    def _termination_rule(self):
        """The env family's declared termination rule (``rlsuite.spec(id).termination_rule()``)."""
        cfg, env_id = self.config, self.env_config.id
        if cfg.termination == "never":
            return never_terminates
        rule = rlsuite.spec(env_id).termination_rule()
        if rule is not None:
            return rule
        if cfg.termination == "known":
            known = [e for e in rlsuite.list_envs() if rlsuite.spec(e).termination is not None]
            raise KeyError(f"no known termination rule for {env_id!r}; known tasks: {', '.join(known)}")
        warnings.warn(
            f"mpdp: no known termination rule for {env_id!r}; model rollouts never terminate "
            "(set algo.termination=never to silence this for tasks without terminations)",
            stacklevel=3,
        )
        return never_terminates

    # --- model learning ------------------------------------------------------------------------------
    def update(self) -> dict[str, float]:
        if self.global_step > self.config.learning_starts and self._model_due():
            self.fit_model()
        return super().update()

    def _model_due(self) -> bool:
        every = self.config.model_train_freq
        return self.model_fits == 0 or self.global_step // every > self.last_model_fit // every

    def fit_model(self) -> dict[str, Any]:
        """Refit the ensemble on the real transitions (MBPO: warm-started, holdout early stopping): all of
        them, or a uniform draw of ``model_fit_subset`` (a CPU-scale shrink of the fit's cost that keeps
        the model's training data distributed as the replay states its rollouts start from)."""
        cfg, data = self.config, self.buffer.all_transitions()
        if cfg.model_fit_subset is not None and len(data.obs) > cfg.model_fit_subset:
            pick = torch.randperm(len(data.obs), generator=self.model_rng, device=self.model_rng.device)
            pick = pick[: cfg.model_fit_subset].to(data.obs.device)
            data = type(data)(*(field[pick] for field in data))
        stats = self.model.fit(
            data.obs,
            data.actions,
            data.rewards,
            data.next_obs,
            holdout_ratio=cfg.model_holdout_ratio,
            max_holdout=cfg.model_max_holdout,
            batch_size=cfg.model_batch_size,
            max_epochs=cfg.model_max_epochs,
            max_epochs_since_update=cfg.model_patience,
            generator=self.model_rng,
        )
        self.model_fits += 1
        self.last_model_fit = self.global_step
        self.model_stats = {
            "model/holdout_mse": float(stats["holdout_mse"]),
            "model/train_loss": float(stats["train_loss"]),
            "model/epochs": float(stats["epochs"]),
            "model/fits": float(self.model_fits),
        }
        return stats

    def logged_stats(self) -> dict[str, float]:
        out = super().logged_stats()
        if out:
            out.update(self.model_stats, **{"train/horizon": float(self.current_horizon())})
        return out

    # --- policy improvement through the model ---------------------------------------------------------
    def current_horizon(self) -> int:
        """H at the current env step: ``horizon``, or the linear ramp from 1 inside ``horizon_ramp``."""
        cfg = self.config
        start, end = cfg.horizon_ramp
        if cfg.horizon <= 1 or end <= start or self.global_step >= end:
            return cfg.horizon
        if self.global_step <= start:
            return 1
        return 1 + int((cfg.horizon - 1) * (self.global_step - start) / (end - start))

    def actor_update(self, obs: torch.Tensor, alpha: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Ascend J_H (module docstring) with gradients through the rollout into the actor only."""
        self.model.requires_grad_(False)
        self.critic.requires_grad_(False)
        try:
            objective, first_logp = self.model_objective(obs, alpha, self.current_horizon())
        finally:
            self.model.requires_grad_(True)
            self.critic.requires_grad_(True)
        loss = -objective.mean()
        self.actor_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.actor_optimizer.step()
        return loss.detach(), first_logp.detach()

    def model_objective(
        self, obs: torch.Tensor, alpha: torch.Tensor, horizon: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-sample J_H and log pi(a_0|s_0) (for the temperature update)."""
        cfg, gamma = self.config, self.config.gamma
        state, alive, total, first_logp = obs, torch.ones_like(obs[:, 0]), torch.zeros_like(obs[:, 0]), None
        for h in range(horizon):
            action, logp = self.actor.sample(state)
            first_logp = logp if first_logp is None else first_logp
            step = self.model.predict(
                state,
                action,
                deterministic=cfg.deterministic_model,
                members=cfg.model_members,
                generator=self.model_rng,
            )
            total = total + gamma**h * alive * (step.reward - alpha * logp)
            alive = alive * (~self.is_terminal(state, action, step.next_obs)).float()
            state = step.next_obs
        action, logp = self.actor.sample(state)
        first_logp = logp if first_logp is None else first_logp
        q = self.critic(state, action).min(0).values
        total = total + gamma**horizon * alive * (q - alpha * logp)
        return total, first_logp

    # --- critic: SAC's, plus model-based value expansion -----------------------------------------------
    def critic_update(self, batch: ReplaySample, alpha: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """SAC's critic step, with the value-expansion term (module docstring) when it is on."""
        horizon = self.current_horizon()
        if not self.config.value_expansion or horizon == 0:
            return super().critic_update(batch, alpha)
        real_loss, q = SAC.critic_loss(self, batch, alpha)
        loss = real_loss + self.value_expansion_loss(batch.obs, alpha, horizon)
        self.critic_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.critic_optimizer.step()
        return loss.detach(), q.detach().mean()

    def value_expansion_loss(self, obs: torch.Tensor, alpha: torch.Tensor, horizon: int) -> torch.Tensor:
        """1/2 sum_k mean over imagined steps of w_h (Q_k(s_h, a_h) - G_h)^2."""
        with torch.no_grad():
            rollout = self.imagined_rollout(obs, alpha, horizon)
            targets = self.lambda_returns(rollout, alpha)
        states, actions = rollout.states[:horizon].flatten(0, 1), rollout.actions[:horizon].flatten(0, 1)
        q = self.critic(states, actions)  # [num_q, H * B]
        weighted = (q - targets.flatten()).square() * rollout.weights.flatten()
        return 0.5 * weighted.mean(1).sum()

    def imagined_rollout(self, obs: torch.Tensor, alpha: torch.Tensor, horizon: int) -> ImaginedRollout:
        """H model steps of the current policy from ``obs``, and the target critics' soft values at
        s_1..s_H (on the rollout's own next actions)."""
        cfg = self.config
        states, actions, logps, rewards, continues, weights = [obs], [], [], [], [], []
        alive = torch.ones_like(obs[:, 0])
        for _ in range(horizon):
            action, logp = self.actor.sample(states[-1])
            step = self.model.predict(
                states[-1],
                action,
                deterministic=cfg.deterministic_model,
                members=cfg.model_members,
                generator=self.model_rng,
            )
            cont = (~self.is_terminal(states[-1], action, step.next_obs)).float()
            actions.append(action)
            logps.append(logp)
            rewards.append(step.reward)
            continues.append(cont)
            weights.append(alive)
            alive = alive * cont
            states.append(step.next_obs)
        action, logp = self.actor.sample(states[-1])
        actions.append(action)
        logps.append(logp)
        later_states, later_actions = torch.stack(states[1:]), torch.stack(actions[1:])
        q = self.critic_target(later_states.flatten(0, 1), later_actions.flatten(0, 1)).min(0).values
        later_logp = torch.stack(logps[1:])
        return ImaginedRollout(
            states=torch.stack(states),
            actions=torch.stack(actions),
            rewards=torch.stack(rewards),
            continues=torch.stack(continues),
            weights=torch.stack(weights),
            next_logp=later_logp,
            next_values=q.view_as(later_logp) - alpha * later_logp,
        )

    def lambda_returns(self, rollout: ImaginedRollout, alpha: torch.Tensor) -> torch.Tensor:
        """Soft TD(lambda) targets G_0..G_{H-1} of the rollout, [H, B] (module docstring)."""
        gamma, lam = self.config.gamma, self.config.value_lambda
        horizon = rollout.rewards.shape[0]
        targets = [rollout.rewards[-1] + gamma * rollout.continues[-1] * rollout.next_values[-1]]
        for h in range(horizon - 2, -1, -1):
            later = targets[-1] - alpha * rollout.next_logp[h]
            mixed = (1 - lam) * rollout.next_values[h] + lam * later
            targets.append(rollout.rewards[h] + gamma * rollout.continues[h] * mixed)
        return torch.stack(targets[::-1])

    # --- checkpoint ---------------------------------------------------------------------------------
    def networks_state(self) -> dict[str, Any]:
        state = super().networks_state()
        state["model"] = {
            "weights": self.model.state_dict(),
            "optimizer": self.model.optimizer.state_dict(),
            "rng": self.model_rng.get_state(),
            "fits": self.model_fits,
            "last_fit": self.last_model_fit,
            "stats": dict(self.model_stats),
        }
        return state

    def load_networks_state(self, state: dict[str, Any]) -> None:
        super().load_networks_state(state)
        model = state["model"]
        self.model.load_state_dict(model["weights"])
        self.model.optimizer.load_state_dict(model["optimizer"])
        self.model_rng.set_state(model["rng"])
        self.model_fits, self.last_model_fit = int(model["fits"]), int(model["last_fit"])
        self.model_stats = dict(model["stats"])
