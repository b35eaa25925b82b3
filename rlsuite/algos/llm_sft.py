"""Supervised fine-tuning (SFT) of a text policy on a reasoning task's gold responses.

The warm start for a model trained from scratch: before reinforcement learning can reward correct answers,
the model has to produce answers in the template's format (``<answer>579</answer>``, ``\\boxed{}``...) at
all. Each iteration draws ``env.num_envs`` training problems, builds the template's gold response for each
(``PromptTemplate.response``: the worked solution when the task has one, then the answer and the stop
string), and takes one AdamW step on the token-mean negative log-likelihood of the response tokens:

    L(theta) = - (1 / sum_i |y_i|) * sum_i sum_t log pi_theta(y_i,t | x_i, y_i,<t)

Prompts are context only (no loss on them). The gold responses are also stepped through the env, so the
logged ``rollout/reward_mean`` checks that the task's reward function accepts its own gold answers (it
should be 1.0). ``env.num_envs`` is the batch size; ``global_step`` counts training examples.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from rlsuite.agents.text.models import SamplingConfig, TextModelConfig
from rlsuite.agents.text.policy import TokenBatch
from rlsuite.algos.llm_base import TextAlgorithm, microbatches, sequence_cross_entropy
from rlsuite.config import param
from rlsuite.core.checkpointed import Checkpointed
from rlsuite.core.optim import clip_grad_norm
from rlsuite.core.schedules import warmup_factor

__all__ = ["LLMSFT", "LLMSFTConfig", "sft_step"]


@dataclass
class LLMSFTConfig:
    """SFT's settings (AdamW with linear warm-up, gradient accumulation)."""

    name: str = param("llm_sft", help="algorithm name (fixed)", choices=("llm_sft",))
    model: TextModelConfig = param(default_factory=TextModelConfig, help="the causal LM to train")
    init_from: str | None = param(
        None, help="initialise the policy from a text-learner checkpoint or run folder", path=True
    )
    lr: float = param(1e-3, help="AdamW learning rate (after warm-up)", min=0.0, min_exclusive=True)
    warmup_steps: int = param(20, help="optimizer steps of linear learning-rate warm-up", min=0)
    adam_betas: tuple[float, float] = param((0.9, 0.95), help="AdamW betas")
    weight_decay: float = param(0.0, help="AdamW weight decay", min=0.0)
    max_grad_norm: float = param(1.0, help="global gradient-norm clip (0 disables)", min=0.0)
    micro_batch_size: int = param(
        0, help="rows per forward/backward (gradient accumulation); 0 = whole batch", min=0
    )
    sampling: SamplingConfig = param(
        default_factory=SamplingConfig, help="response sampling when evaluating (greedy by default)"
    )


def sft_step(policy, optimizer, batch: TokenBatch, micro_batch_size: int, max_grad_norm: float) -> float:
    """One optimizer step on the token-mean response NLL, accumulated over micro-batches; returns the loss."""
    optimizer.zero_grad(set_to_none=True)
    total_tokens, total_loss = batch.num_response_tokens, 0.0
    for rows in microbatches(len(batch), micro_batch_size):
        loss_sum, _ = sequence_cross_entropy(policy, batch.select(rows))
        (loss_sum / total_tokens).backward()
        total_loss += float(loss_sum.detach())
    if max_grad_norm:
        clip_grad_norm([p for p in policy.parameters() if p.grad is not None], max_grad_norm)
    optimizer.step()
    return total_loss / total_tokens


def gold_batch(policy, prompts, responses, device) -> TokenBatch:
    """Prompts with their gold ``responses`` as one teacher-forcing :class:`TokenBatch`."""
    targets = [policy.tokenizer.encode(r) for r in responses]
    return TokenBatch.from_pairs(policy.encode_prompts(prompts), targets, policy.tokenizer.pad_id, device)


def make_adamw(params, lr: float, betas, weight_decay: float) -> torch.optim.AdamW:
    """AdamW with the learners' settings (``betas`` from a config list or tuple)."""
    return torch.optim.AdamW(params, lr=lr, betas=tuple(betas), weight_decay=weight_decay)


class LLMSFT(TextAlgorithm):
    """Teacher-forced training on the template's gold responses (``algo.name: llm_sft``)."""

    name = "llm_sft"
    description = "Supervised warm start of a causal LM on a task's gold responses"
    config_cls = LLMSFTConfig
    config: LLMSFTConfig

    def setup(self) -> None:
        cfg = self.config
        self.policy = self.build_text_policy(cfg.model, cfg.init_from)
        self.agent = self.make_agent()
        self.optimizer = make_adamw(self.policy.parameters(), cfg.lr, cfg.adam_betas, cfg.weight_decay)
        self.optimizer_steps = 0
        self._batch: TokenBatch | None = None

    def collect(self) -> dict[str, float]:
        prompts = list(self.obs)
        responses = [self.template.response(problem) for problem in self.env.problems]
        self._batch = gold_batch(self.policy, prompts, responses, self.device)
        self.obs, rewards, _, _, infos = self.env.step(responses, finished=[True] * len(responses))
        self.global_step += len(prompts)
        lengths = self._batch.response_mask.sum(1).long().tolist()
        stats = self.record_rewards(rewards, infos, lengths, [True] * len(responses))
        return {"rollout/gold_reward_mean": stats["rollout/reward_mean"]}

    def update(self) -> dict[str, float]:
        cfg = self.config
        for group in self.optimizer.param_groups:
            group["lr"] = cfg.lr * warmup_factor(self.optimizer_steps, cfg.warmup_steps)
        started = time.perf_counter()
        loss = sft_step(self.policy, self.optimizer, self._batch, cfg.micro_batch_size, cfg.max_grad_norm)
        seconds = time.perf_counter() - started
        self.optimizer_steps += 1
        return {
            "train/sft_loss": loss,
            "train/lr": self.optimizer.param_groups[0]["lr"],
            "time/train_tokens_per_s": self.per_second(int(self._batch.attention_mask.sum()), seconds),
        }

    checkpointed = Checkpointed(modules=("policy", "optimizer"), values=("optimizer_steps",))
