"""Building text policies and critics from a config section (``algo.model`` in LLM experiments)."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from rlsuite.agents.base import MemorylessPolicy
from rlsuite.agents.text.gpt import GPTConfig, SmallGPT
from rlsuite.agents.text.policy import Generation, SamplingParams, TextPolicy, ValueModel
from rlsuite.agents.text.tokenizer import ByteTokenizer
from rlsuite.config import param

__all__ = [
    "SamplingConfig",
    "TextAgent",
    "TextModelConfig",
    "build_critic",
    "build_policy",
    "generate_in_chunks",
]


@dataclass
class TextModelConfig:
    """Which causal LM to train: the suite's small GPT (from scratch) or a local Hugging Face checkpoint."""

    source: str = param(
        "gpt",
        help="'gpt' (the suite's small GPT with a byte tokenizer, randomly initialised) or the path of a "
        "local Hugging Face checkpoint folder (never downloaded)",
        path=True,
    )
    gpt: GPTConfig = param(default_factory=GPTConfig, help="shape of the small GPT (source 'gpt')")
    dtype: str = param(
        "float32",
        help="weights dtype of a Hugging Face checkpoint",
        choices=("float32", "bfloat16", "float16"),
    )
    add_bos: bool = param(True, help="prefix prompts with the tokenizer's BOS token (when it has one)")


@dataclass
class SamplingConfig:
    """How responses are sampled (``algo.sampling``); evaluation uses the same settings, decoding greedily."""

    max_new_tokens: int = param(32, help="response token budget; a response that hits it is truncated", min=1)
    temperature: float = param(
        1.0, help="sampling temperature (ORZ: 1.0; PPO's ratio assumes 1.0)", min=0.0, min_exclusive=True
    )
    top_p: float = param(1.0, help="nucleus sampling mass (ORZ: 1.0)", min=0.0, max=1.0, min_exclusive=True)
    stop: tuple[str, ...] | None = param(None, help="stop strings; null = the env template's")
    generation_batch_size: int = param(0, help="prompts per generate call; 0 = the whole batch", min=0)

    def params(self, default_stop: Sequence[str], *, greedy: bool = False) -> SamplingParams:
        stop = tuple(self.stop) if self.stop is not None else tuple(default_stop)
        return SamplingParams(self.max_new_tokens, self.temperature, self.top_p, stop, greedy)


def build_policy(config: TextModelConfig, device: torch.device) -> TextPolicy:
    if config.source == "gpt":
        tokenizer = ByteTokenizer()
        backend = SmallGPT(config.gpt, tokenizer.vocab_size)
    else:
        from rlsuite.agents.text.hf import load_hf_backend

        backend, tokenizer = load_hf_backend(config.source, config.dtype)
    return TextPolicy(backend, tokenizer, add_bos=config.add_bos).to(device)


def build_critic(policy: TextPolicy) -> ValueModel:
    """A separate critic initialised from the policy's current weights (ORZ: same base checkpoint), with a
    fresh value head."""
    return ValueModel(copy.deepcopy(policy.backend)).to(policy.device)


def generate_in_chunks(
    policy: TextPolicy, prompts: Sequence[str], params: SamplingParams, chunk_size: int = 0
) -> Generation:
    """``policy.generate`` over chunks of ``chunk_size`` prompts (0 = all at once), as one Generation."""
    step = chunk_size or len(prompts)
    chunks = [policy.generate(prompts[s : s + step], params) for s in range(0, len(prompts), step)]
    fields = ("prompt_ids", "response_ids", "texts", "finished")
    return Generation(*([item for chunk in chunks for item in getattr(chunk, f)] for f in fields))


class TextAgent(MemorylessPolicy):
    """The acting side for text envs: prompts in, responses out (a memoryless :class:`Policy`).

    ``step`` returns the whole :class:`Generation` (token ids, texts, whether each response finished by
    itself), which is what a text env's ``step(texts, finished=...)`` and evaluation read; ``act`` returns
    the texts alone.
    """

    def __init__(self, policy: TextPolicy, sampling: SamplingParams, generation_batch_size: int = 0) -> None:
        self.policy = policy
        self.sampling = sampling
        self.generation_batch_size = generation_batch_size

    @property
    def device(self) -> torch.device:
        return self.policy.device

    def generate(self, obs: Sequence[str], deterministic: bool = False) -> Generation:
        """Responses for a batch of prompts; ``deterministic`` decodes greedily."""
        params = dataclasses.replace(self.sampling, greedy=deterministic)
        return generate_in_chunks(self.policy, list(obs), params, self.generation_batch_size)

    def step(
        self, obs: Sequence[str], state: None = None, deterministic: bool = False
    ) -> tuple[Generation, None]:
        return self.generate(obs, deterministic), state

    def act(self, obs: Sequence[str], deterministic: bool = False) -> np.ndarray:
        """Responses (an object array of str) for a batch of prompts; ``deterministic`` decodes greedily."""
        return np.array(self.generate(obs, deterministic).texts, dtype=object)
