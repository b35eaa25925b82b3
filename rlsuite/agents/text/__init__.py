"""Text policies for LLM environments: byte tokenizer, the suite's small GPT, a local Hugging Face adapter,
batched sampling, token log-probs and a value-head critic."""

from rlsuite.agents.text.gpt import GPTConfig, SmallGPT
from rlsuite.agents.text.models import SamplingConfig, TextAgent, TextModelConfig, build_critic, build_policy
from rlsuite.agents.text.policy import Generation, SamplingParams, TextPolicy, TokenBatch, ValueModel
from rlsuite.agents.text.tokenizer import ByteTokenizer

__all__ = [
    "ByteTokenizer",
    "GPTConfig",
    "Generation",
    "SamplingConfig",
    "SamplingParams",
    "SmallGPT",
    "TextAgent",
    "TextModelConfig",
    "TextPolicy",
    "TokenBatch",
    "ValueModel",
    "build_critic",
    "build_policy",
]
