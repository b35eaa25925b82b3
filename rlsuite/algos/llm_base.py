"""Shared machinery of the text (LLM) learners: text env batches, the policy, evaluation, warm starts.

A text learner trains a :class:`~rlsuite.agents.text.policy.TextPolicy` on a reasoning env
(``rlsuite/Arithmetic-v0``, ``rlsuite/Countdown-v0``, ...; docs/reasoning.md). One env step is one
prompt answered by one response, so ``global_step`` counts responses. ``env.num_envs`` is the number of
distinct prompts per batch; a learner that samples several responses per prompt multiplies it by its group
size. Evaluation decodes greedily on the env's held-out ``split="test"`` problems (the training split never
draws them) and reports accuracy as ``success_rate`` and the mean reward as the eval return.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from gymnasium import spaces

import rlsuite
from rlsuite.agents.text.models import TextAgent, TextModelConfig, build_policy, generate_in_chunks
from rlsuite.agents.text.policy import Generation, SamplingParams, TextPolicy, TokenBatch
from rlsuite.algos.base import Algorithm, Capabilities
from rlsuite.core.checkpoint import load_checkpoint
from rlsuite.core.episodes import EpisodeTracker
from rlsuite.training.evaluation import EvalResult, evaluate_policy

__all__ = ["TextAlgorithm", "load_policy_weights", "microbatches", "sequence_cross_entropy"]

TEXT_CAPABILITIES = Capabilities(discrete_actions=False, continuous_actions=False, text=True)


def microbatches(size: int, micro_batch_size: int) -> Iterator[slice]:
    """Consecutive slices of ``range(size)`` of at most ``micro_batch_size`` rows (0 = one slice)."""
    step = micro_batch_size or size
    for start in range(0, size, step):
        yield slice(start, min(start + step, size))


def sequence_cross_entropy(policy: TextPolicy, batch: TokenBatch) -> tuple[torch.Tensor, int]:
    """Summed negative log-likelihood of the response tokens (prompts are context only) and their count."""
    logprobs, _ = policy.score(batch)
    return -(logprobs * batch.response_mask).sum(), batch.num_response_tokens


def load_policy_weights(policy: TextPolicy, path: str | Path) -> None:
    """Initialise ``policy`` from an rlsuite text-learner checkpoint (a ``.pt`` file or a run folder)."""
    state = load_checkpoint(path, map_location=policy.device)
    weights = state.get("algorithm", {}).get("policy")
    if weights is None:
        raise ValueError(f"{path}: not a checkpoint of a text learner (llm_sft / llm_ppo): no policy weights")
    try:
        policy.load_state_dict(weights)
    except RuntimeError as exc:
        model = state.get("config", {}).get("model")
        raise ValueError(
            f"init_from={str(path)!r}: its policy does not fit algo.model (the checkpoint's model section: "
            f"{model}); use the same model settings\n{exc}"
        ) from exc


class TextAlgorithm(Algorithm):
    """Base of the LLM learners: builds the policy and the text envs, evaluates on held-out problems."""

    capabilities: ClassVar[Capabilities] = TEXT_CAPABILITIES
    policy: TextPolicy

    # --- envs ----------------------------------------------------------------------------------
    @property
    def group_size(self) -> int:
        """Responses sampled per prompt (1 unless the learner samples groups)."""
        return 1

    def _build_training_env(self) -> None:
        self.env = self._make_text_env(self.env_config.num_envs * self.group_size, self.group_size, "train")
        self._check_supported(self.env.single_action_space)
        self.episodes = EpisodeTracker(self.env.num_envs)
        self.obs, _ = self.env.reset(seed=self.seed)

    def _make_text_env(self, num_envs: int, group_size: int, split: str):
        cfg = self.env_config
        problem = (
            f"{self.name} trains on single-turn text envs with a held-out split (rlsuite/Arithmetic-v0, "
            f"rlsuite/Countdown-v0, ... or a user-registered ReasoningVectorEnv); {cfg.id!r} is not one"
        )
        kwargs = {**cfg.kwargs, "group_size": group_size, "split": split}
        try:
            env = rlsuite.make_vec(cfg.id, num_envs, vectorization=cfg.vectorization, **kwargs)
        except TypeError as exc:
            raise ValueError(f"{problem} ({exc})") from exc
        if not isinstance(env.single_action_space, spaces.Text):
            env.close()
            raise ValueError(problem)
        return env

    @property
    def template(self):
        return self.env.template

    # --- policy --------------------------------------------------------------------------------
    def build_text_policy(self, model: TextModelConfig, init_from: str | None) -> TextPolicy:
        policy = build_policy(model, self.device)
        if init_from:
            load_policy_weights(policy, init_from)
        return policy

    def sampling_params(self, *, greedy: bool = False) -> SamplingParams:
        return self.config.sampling.params(self.template.stop_strings, greedy=greedy)

    def make_agent(self) -> TextAgent:
        return TextAgent(self.policy, self.sampling_params(), self.config.sampling.generation_batch_size)

    def generate(self, prompts: Sequence[str], params: SamplingParams) -> Generation:
        """Sample in chunks of ``generation_batch_size`` prompts (0 = all at once); one Generation back."""
        return generate_in_chunks(self.policy, prompts, params, self.config.sampling.generation_batch_size)

    # --- evaluation ----------------------------------------------------------------------------
    def evaluate(self, episodes: int | None = None, deterministic: bool | None = None) -> EvalResult:
        """Answer the first ``episodes`` held-out problems (greedy unless ``deterministic=False``), with the
        policy in eval mode; the responses are kept in ``last_eval_texts`` for inspection."""
        episodes = episodes or self.eval_config.episodes
        greedy = self.eval_config.deterministic if deterministic is None else deterministic
        if self._eval_env is None:
            width = self.eval_config.num_envs or min(episodes, 64)
            self._eval_env = self._make_text_env(width, 1, "test")
        was_training = self.policy.training
        self.policy.eval()
        try:
            result = evaluate_policy(
                self.agent, self._eval_env, episodes, deterministic=greedy, seed=self.seed
            )
        finally:
            self.policy.train(was_training)
        self.last_eval_texts = result.responses  # the responses, for inspection (and transcripts)
        self.last_eval_prompts = result.prompts
        return result

    # --- shared bookkeeping ----------------------------------------------------------------------
    def record_rewards(
        self, rewards: np.ndarray, infos: dict[str, Any], lengths: Sequence[int], finished: Sequence[bool]
    ) -> dict[str, float]:
        """Episode tracking (each response is a one-step episode) and rollout statistics."""
        self.episodes.step(np.asarray(rewards, np.float64), np.ones(len(rewards), bool))
        return {
            "rollout/reward_mean": float(np.mean(rewards)),
            "rollout/accuracy": float(np.mean(np.asarray(infos["correct"], bool))),
            "rollout/finished_rate": float(np.mean(finished)),
            "rollout/response_tokens": float(np.mean(lengths)),
        }

    @staticmethod
    def per_second(count: float, seconds: float) -> float:
        return count / seconds if seconds > 0 else math.nan
