"""PPO for language models in the Open-Reasoner-Zero style (Hu et al., 2025, arXiv:2503.24290).

Reinforcement learning on a causal LM with a rule-based reward and *vanilla* PPO:

* **Rollout.** Each iteration takes ``env.num_envs`` prompts and samples ``samples_per_prompt`` responses
  for each (temperature 1, top-p 1, stop strings kept). The env's reward function scores each response; a
  response cut by the token budget scores 0. The scalar reward sits on the *last* response token; every
  other token gets 0. No KL penalty, no entropy bonus (both available, off by default).
* **Advantage.** Token-level GAE over the response tokens,
      delta_t = r_t + gamma * V(s_{t+1}) - V(s_t),    A_t = sum_k (gamma * lambda)^k delta_{t+k},
  with gamma = lambda = 1, which collapses to A_t = R - V(s_t) and return target R_t = R for every token.
  Advantages are normalised over the whole batch (masked mean and std), not per prompt (that would be
  GRPO-like).
* **Critic.** A separate model initialised from the same base weights as the policy, with a fresh value
  head. V(s_t) is read at the position *before* token t. Loss, with value clipping around the old values:
      L_V = 0.5 * mean_t max((V_t - R_t)^2, (V_old,t + clip(V_t - V_old,t, -c, c) - R_t)^2)
  trained for ``critic_steps_per_rollout`` minibatch steps (ORZ: 12), before the actor.
* **Actor.** The clipped surrogate, averaged over all response tokens of the batch,
      L_pi = - mean_t min(rho_t A_t, clip(rho_t, 1 - eps, 1 + eps) A_t),   rho_t = pi_theta / pi_old,
  with exactly ``actor_steps_per_rollout`` optimizer steps per rollout (ORZ: 1, gradient accumulation over
  the whole batch): strictly on-policy, no epochs.
* **Optimiser.** AdamW, betas (0.9, 0.95), no weight decay, linear warm-up then constant, grad-norm clip 1.

ORZ trains 0.5B-32B models from a pretrained base. A model trained from scratch first needs the answer
format: ``sft_warmup_steps`` runs :mod:`rlsuite.algos.llm_sft` steps before RL (or ``init_from`` loads an
``llm_sft`` run), and the critic is copied from the warmed-up policy.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np
import torch

from rlsuite.agents.text.models import SamplingConfig, TextModelConfig, build_critic
from rlsuite.agents.text.policy import Generation, TokenBatch
from rlsuite.algos.llm_base import TextAlgorithm, microbatches
from rlsuite.algos.llm_sft import gold_batch, make_adamw, sft_step
from rlsuite.config import param
from rlsuite.core.checkpointed import Checkpointed
from rlsuite.core.optim import clip_grad_norm
from rlsuite.core.progress import task
from rlsuite.core.returns import generalized_advantages
from rlsuite.core.schedules import warmup_factor

__all__ = ["LLMPPO", "LLMPPOConfig", "PPOExperience", "terminal_reward_advantages"]


@dataclass
class LLMPPOConfig:
    """ORZ-style PPO's settings; defaults are ORZ's where it has one (module docstring)."""

    name: str = param("llm_ppo", help="algorithm name (fixed)", choices=("llm_ppo",))
    model: TextModelConfig = param(
        default_factory=TextModelConfig, help="the causal LM (policy and critic base)"
    )
    init_from: str | None = param(
        None, help="initialise the policy from a text-learner checkpoint or run folder", path=True
    )
    # warm start (models trained from scratch)
    sft_warmup_steps: int = param(0, help="SFT steps on gold responses before RL (batch env.num_envs)", min=0)
    sft_lr: float = param(1e-3, help="learning rate of the SFT warm-up", min=0.0, min_exclusive=True)
    sft_batch_size: int = param(0, help="gold responses per SFT warm-up step; 0 = env.num_envs", min=0)
    # rollout
    samples_per_prompt: int = param(8, help="responses sampled per prompt (ORZ: 64)", min=1)
    sampling: SamplingConfig = param(
        default_factory=SamplingConfig,
        help="response sampling (ORZ: temperature 1, top-p 1, its stop strings)",
    )
    drop_empty_responses: bool = param(True, help="leave responses with empty text out of the update (ORZ)")
    # advantage
    gamma: float = param(1.0, help="discount over response tokens (ORZ: 1)", min=0.0, max=1.0)
    gae_lambda: float = param(1.0, help="GAE lambda (ORZ: 1)", min=0.0, max=1.0)
    advantage_norm: str = param(
        "batch", help="advantage normalisation: over the whole batch, or none", choices=("batch", "none")
    )
    # losses
    clip_eps: float = param(0.2, help="policy ratio clip epsilon", min=0.0, min_exclusive=True)
    value_clip: float = param(0.2, help="value clip around the old values (0 disables)", min=0.0)
    kl_coef: float = param(
        0.0, help="KL(pi || initial policy) loss coefficient, k3 estimator (ORZ: 0)", min=0.0
    )
    ent_coef: float = param(0.0, help="entropy bonus coefficient (ORZ: 0)", min=0.0)
    # optimisation
    actor_lr: float = param(
        1e-6, help="policy AdamW learning rate (ORZ 7B: 1e-6)", min=0.0, min_exclusive=True
    )
    critic_lr: float = param(
        5e-6, help="critic AdamW learning rate (ORZ 7B: 5e-6)", min=0.0, min_exclusive=True
    )
    warmup_steps: int = param(50, help="optimizer steps of linear learning-rate warm-up (ORZ: 50)", min=0)
    adam_betas: tuple[float, float] = param((0.9, 0.95), help="AdamW betas")
    weight_decay: float = param(0.0, help="AdamW weight decay", min=0.0)
    max_grad_norm: float = param(1.0, help="global gradient-norm clip (0 disables)", min=0.0)
    actor_steps_per_rollout: int = param(1, help="policy optimizer steps per rollout (ORZ: 1)", min=1)
    critic_steps_per_rollout: int = param(12, help="critic optimizer steps per rollout (ORZ: 12)", min=1)
    micro_batch_size: int = param(0, help="rows per forward/backward (gradient accumulation); 0 = all", min=0)


@dataclass(frozen=True)
class PPOExperience:
    """One scored rollout: ``R`` kept responses with their prompts, right-padded to length ``L``.

    Every ``[R, L]`` tensor is aligned with ``batch.input_ids`` (column t: token t) and is only meaningful
    where ``batch.response_mask`` is 1; all were computed without gradients before the update.
    """

    batch: TokenBatch  # prompt + response token ids, attention and response masks [R, L]
    old_logprobs: torch.Tensor  # [R, L]  log pi_old(token_t | tokens_<t)
    old_values: torch.Tensor  # [R, L]  V_old(s_t), s_t the state before token t
    advantages: torch.Tensor  # [R, L]  GAE with the reward on the last token (normalised if configured)
    returns: torch.Tensor  # [R, L]  value targets
    reference_logprobs: torch.Tensor | None  # [R, L]  log pi_ref(token_t | ...) for the KL term; None if off


def terminal_reward_advantages(
    values: torch.Tensor, batch: TokenBatch, rewards: torch.Tensor, gamma: float, gae_lambda: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """GAE over each row's response tokens with the scalar reward on its last token; ``[B, L]`` advantages
    and returns (0 outside the responses). ``values[:, t]`` is V(s_t), the state before token t."""
    lengths = batch.response_mask.sum(1).long().cpu()
    rows, width = len(batch), int(lengths.max())
    offsets = torch.arange(width)
    valid = offsets[None] < lengths[:, None]
    index = batch.response_start.cpu()[:, None] + offsets[None]
    row_index = torch.arange(rows)[:, None].expand(rows, width)
    aligned_values = torch.zeros(rows, width)
    aligned_values[valid] = values.detach().float().cpu()[row_index[valid], index[valid]]
    token_rewards = torch.zeros(rows, width)
    token_rewards[torch.arange(rows), lengths - 1] = rewards.float().cpu()
    ended = (offsets[None] >= lengths[:, None] - 1).float()  # the response ends after its last token
    aligned = generalized_advantages(
        token_rewards.T.numpy(),
        aligned_values.T.numpy(),
        ended.T.numpy(),
        np.zeros(rows, np.float32),
        gamma,
        gae_lambda,
    ).T
    advantages = torch.zeros_like(values, dtype=torch.float32)
    advantages[row_index[valid], index[valid]] = torch.from_numpy(aligned)[valid].to(values.device)
    return advantages, advantages + values.detach().float() * batch.response_mask


def masked_normalize(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(x - mean) / std over the masked entries of the whole tensor; 0 outside the mask."""
    count = mask.sum().clamp(min=1)
    mean = (x * mask).sum() / count
    std = (((x - mean) * mask).pow(2).sum() / count).sqrt()
    return (x - mean) / (std + 1e-8) * mask


def clipped_policy_loss(logprobs, old_logprobs, advantages, mask, clip_eps: float):
    """Sum over masked tokens of -min(rho A, clip(rho, 1-eps, 1+eps) A); also the clipped-token count and
    the summed approximate KL(old || new) (k3) for logging."""
    log_ratio = logprobs - old_logprobs
    ratio = log_ratio.exp()
    surrogate = torch.min(ratio * advantages, ratio.clamp(1 - clip_eps, 1 + clip_eps) * advantages)
    clipped = ((ratio - 1).abs() > clip_eps).float()
    approx_kl = (ratio - 1) - log_ratio
    return -(surrogate * mask).sum(), (clipped * mask).sum(), (approx_kl * mask).sum()


def clipped_value_loss(values, old_values, returns, mask, value_clip: float) -> torch.Tensor:
    """Sum over masked tokens of 0.5 max((V - R)^2, (V_old + clip(V - V_old, -c, c) - R)^2) (c = 0: plain)."""
    loss = (values - returns).pow(2)
    if value_clip > 0:
        clipped = old_values + (values - old_values).clamp(-value_clip, value_clip)
        loss = torch.max(loss, (clipped - returns).pow(2))
    return 0.5 * (loss * mask).sum()


def k3_kl(logprobs, reference_logprobs) -> torch.Tensor:
    """Per-token KL(pi || ref) estimate exp(ref - log pi) - (ref - log pi) - 1 (always >= 0)."""
    delta = reference_logprobs - logprobs
    return delta.exp() - delta - 1


class LLMPPO(TextAlgorithm):
    """ORZ-style PPO on a text policy (``algo.name: llm_ppo``)."""

    name = "llm_ppo"
    description = "Token-level PPO for LLMs in the Open-Reasoner-Zero style (separate critic, no KL)"
    config_cls = LLMPPOConfig
    config: LLMPPOConfig

    @property
    def group_size(self) -> int:
        return self.config.samples_per_prompt

    def setup(self) -> None:
        cfg = self.config
        self.policy = self.build_text_policy(cfg.model, cfg.init_from)
        self.agent = self.make_agent()
        self.warmed_up = cfg.sft_warmup_steps == 0
        self.actor_steps = self.critic_steps = 0
        self._build_learners()
        self.rollout: PPOExperience | None = None

    def _build_learners(self) -> None:
        """Critic (a copy of the current policy + value head), optimisers and the frozen KL reference."""
        cfg = self.config
        self.critic = build_critic(self.policy)
        self.actor_optimizer = make_adamw(
            self.policy.parameters(), cfg.actor_lr, cfg.adam_betas, cfg.weight_decay
        )
        self.critic_optimizer = make_adamw(
            self.critic.parameters(), cfg.critic_lr, cfg.adam_betas, cfg.weight_decay
        )
        self.reference = copy.deepcopy(self.policy).requires_grad_(False) if cfg.kl_coef > 0 else None

    # --- warm start ----------------------------------------------------------------------------
    def _warm_start(self) -> dict[str, float]:
        """``sft_warmup_steps`` SFT steps on gold responses (own problem stream), then a fresh critic."""
        cfg = self.config
        env = self._make_text_env(cfg.sft_batch_size or self.env_config.num_envs, 1, "train")
        prompts, _ = env.reset(seed=self.seed + 1)
        optimizer = make_adamw(self.policy.parameters(), cfg.sft_lr, cfg.adam_betas, cfg.weight_decay)
        with task("SFT warm-up", cfg.sft_warmup_steps) as bar:
            for step in range(cfg.sft_warmup_steps):
                for group in optimizer.param_groups:
                    group["lr"] = cfg.sft_lr * warmup_factor(step, min(20, cfg.sft_warmup_steps // 5))
                responses = [env.template.response(problem) for problem in env.problems]
                batch = gold_batch(self.policy, list(prompts), responses, self.device)
                loss = sft_step(self.policy, optimizer, batch, cfg.micro_batch_size, cfg.max_grad_norm)
                prompts, *_ = env.step(responses, finished=[True] * len(responses))
                bar.advance(1, note=f"loss {loss:.3f}")
                self.log_side_metrics(step + 1, {"warmup/sft_loss": loss})
        env.close()
        self._build_learners()
        self.warmed_up = True
        with task("warm-up eval", None):
            result = self.evaluate()
        return {
            "warmup/sft_loss": loss,
            "warmup/eval_return_mean": result.mean,
            "warmup/eval_success_rate": float(np.mean(result.successes)),
        }

    # --- rollout -------------------------------------------------------------------------------
    def collect(self) -> dict[str, float]:
        stats = {} if self.warmed_up else self._warm_start()
        prompts = list(self.obs)
        started = time.perf_counter()
        generation = self.generate(prompts, self.sampling_params())
        generation_seconds = time.perf_counter() - started
        self.obs, rewards, _, _, infos = self.env.step(generation.texts, finished=generation.finished)
        self.global_step += len(prompts)
        lengths = [len(r) for r in generation.response_ids]
        stats.update(self.record_rewards(rewards, infos, lengths, generation.finished))
        stats["time/gen_tokens_per_s"] = self.per_second(generation.num_response_tokens, generation_seconds)
        self.rollout = self._score_rollout(generation, np.asarray(rewards, np.float32))
        return stats

    def _score_rollout(self, generation: Generation, rewards: np.ndarray) -> PPOExperience:
        """Old log-probs, old values, advantages and returns of the kept responses (no gradients)."""
        cfg = self.config
        keep = [i for i, text in enumerate(generation.texts) if text or not cfg.drop_empty_responses]
        batch = TokenBatch.from_pairs(
            [generation.prompt_ids[i] for i in keep],
            [generation.response_ids[i] for i in keep],
            self.policy.tokenizer.pad_id,
            self.device,
        )
        old_logprobs, values, reference = self._old_scores(batch)
        advantages, returns = terminal_reward_advantages(
            values, batch, torch.from_numpy(rewards[keep]), cfg.gamma, cfg.gae_lambda
        )
        return self._experience(batch, old_logprobs, values, advantages, returns, reference)

    @torch.no_grad()
    def _old_scores(self, batch: TokenBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Log-probs under the current policy, critic values and (with a KL term) reference log-probs."""
        old_logprobs, old_values, reference = [], [], []
        for rows in microbatches(len(batch), self.config.micro_batch_size):
            old_logprobs.append(self.policy.score(batch.select(rows))[0])
            old_values.append(self.critic(batch.select(rows)))
            if self.reference is not None:
                reference.append(self.reference.score(batch.select(rows))[0])
        return torch.cat(old_logprobs), torch.cat(old_values), torch.cat(reference) if reference else None

    def _experience(self, batch, old_logprobs, values, advantages, returns, reference) -> PPOExperience:
        """The scored rollout, advantages normalised over the batch's response tokens if configured."""
        if self.config.advantage_norm == "batch":
            advantages = masked_normalize(advantages, batch.response_mask)
        return PPOExperience(batch, old_logprobs, values, advantages, returns, reference)

    # --- update --------------------------------------------------------------------------------
    def update(self) -> dict[str, float]:
        started = time.perf_counter()
        stats = self._update_critic()  # ORZ trains the critic first; advantages were fixed at collection
        stats.update(self._update_actor())
        batch = self.rollout.batch
        seconds = time.perf_counter() - started
        # Tokens of the rollout (prompts included) trained through both critic and actor, per second.
        stats["time/train_tokens_per_s"] = self.per_second(int(batch.attention_mask.sum()), seconds)
        self.rollout = None
        return stats

    def _set_lr(self, optimizer, base_lr: float, steps: int) -> None:
        for group in optimizer.param_groups:
            group["lr"] = base_lr * warmup_factor(steps, self.config.warmup_steps)

    def _update_critic(self) -> dict[str, float]:
        cfg, data = self.config, self.rollout
        batch = data.batch
        order = torch.randperm(len(batch), device=batch.input_ids.device)
        losses = []
        for chunk in order.tensor_split(min(cfg.critic_steps_per_rollout, len(batch))):
            self._set_lr(self.critic_optimizer, cfg.critic_lr, self.critic_steps)
            self.critic_optimizer.zero_grad(set_to_none=True)
            tokens = batch.response_mask[chunk].sum()
            total = 0.0
            for rows in microbatches(len(chunk), cfg.micro_batch_size):
                index = chunk[rows]
                mini = batch.select(index)
                loss = (
                    clipped_value_loss(
                        self.critic(mini),
                        data.old_values[index],
                        data.returns[index],
                        mini.response_mask,
                        cfg.value_clip,
                    )
                    / tokens
                )
                loss.backward()
                total += float(loss.detach())
            self._clip_and_step(self.critic, self.critic_optimizer)
            self.critic_steps += 1
            losses.append(total)
        return {
            "train/value_loss": float(np.mean(losses)),
            "train/critic_lr": self.critic_optimizer.param_groups[0]["lr"],
        }

    def _update_actor(self) -> dict[str, float]:
        cfg, data = self.config, self.rollout
        batch = data.batch
        sums = {"policy_loss": 0.0, "clipfrac": 0.0, "approx_kl": 0.0, "entropy": 0.0, "kl_ref": 0.0}
        total_tokens = batch.num_response_tokens
        order = torch.arange(len(batch), device=batch.input_ids.device)
        for chunk in order.tensor_split(min(cfg.actor_steps_per_rollout, len(batch))):
            self._set_lr(self.actor_optimizer, cfg.actor_lr, self.actor_steps)
            self.actor_optimizer.zero_grad(set_to_none=True)
            tokens = batch.response_mask[chunk].sum()
            for rows in microbatches(len(chunk), cfg.micro_batch_size):
                self._actor_backward(chunk[rows], tokens, sums)
            self._clip_and_step(self.policy, self.actor_optimizer)
            self.actor_steps += 1
        stats = {f"train/{k}": v / total_tokens for k, v in sums.items()}
        stats["train/actor_lr"] = self.actor_optimizer.param_groups[0]["lr"]
        return stats

    def _actor_backward(self, index: torch.Tensor, tokens: torch.Tensor, sums: dict[str, float]) -> None:
        cfg, data = self.config, self.rollout
        mini = data.batch.select(index)
        mask = mini.response_mask
        logprobs, entropy = self.policy.score(mini, with_entropy=True)
        policy_loss, clipped, approx_kl = clipped_policy_loss(
            logprobs, data.old_logprobs[index], data.advantages[index], mask, cfg.clip_eps
        )
        entropy_sum = (entropy * mask).sum()
        loss = policy_loss - cfg.ent_coef * entropy_sum
        if self.reference is not None:
            kl_sum = (k3_kl(logprobs, data.reference_logprobs[index]) * mask).sum()
            loss = loss + cfg.kl_coef * kl_sum
            sums["kl_ref"] += kl_sum.item()
        (loss / tokens).backward()
        sums["policy_loss"] += policy_loss.item()
        sums["clipfrac"] += clipped.item()
        sums["approx_kl"] += approx_kl.item()
        sums["entropy"] += entropy_sum.item()

    def _clip_and_step(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None:
        if self.config.max_grad_norm:
            clip_grad_norm([p for p in model.parameters() if p.grad is not None], self.config.max_grad_norm)
        optimizer.step()

    # --- checkpoints ---------------------------------------------------------------------------
    checkpointed = Checkpointed(
        modules=("policy", "critic", "actor_optimizer", "critic_optimizer"),
        optional_modules=("reference",),  # None without the KL penalty
        values=("actor_steps", "critic_steps", "warmed_up"),
    )
