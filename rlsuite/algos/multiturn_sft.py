"""Supervised warm start on solver trajectories in the multi-turn format (``algo.name: multiturn_sft``).

WMAct (Shu et al., 2025, arXiv:2511.23476) starts RL from a model that can already act sensibly (a weaker
base failed). A model trained from scratch gets that ability here: each iteration plays ``env.num_envs``
training levels with the envs' optimal solvers as the policy, in the same multi-turn format RL uses
(:mod:`rlsuite.algos.multiturn`): each turn the solver's reply ``<answer>A || B</answer>`` holds the next
1..``max_actions_per_turn`` actions of a shortest plan from the current state (drawn uniformly, unless
``sft_actions_per_turn`` fixes it; ``entire_plan`` mode: the whole plan in one turn), the env's feedback
follows, and so on until solved. One AdamW step on the token-mean NLL of the *reply* tokens,

    L(theta) = - (1 / sum_i |y_i|) * sum_i sum_{t generated} log pi_theta(y_i,t | y_i,<t),

with first messages and feedback as context only (zero weight). ``global_step`` counts demonstrations.
Evaluation is the multi-turn greedy evaluation on the held-out levels (docs/wmact.md). A finished run is a
warm start for ``wmact`` through ``algo.init_from``.
"""

from __future__ import annotations

from dataclasses import dataclass

from rlsuite.algos.llm_sft import LLMSFT, LLMSFTConfig
from rlsuite.algos.multiturn_base import MultiTurnConfig, MultiTurnTextAlgorithm
from rlsuite.config import param

__all__ = ["MultiTurnSFT", "MultiTurnSFTConfig"]


@dataclass
class MultiTurnSFTConfig(LLMSFTConfig, MultiTurnConfig):
    """SFT's settings (``llm_sft``'s) plus the multi-turn ones (mode, turn caps, context limit)."""

    name: str = param("multiturn_sft", help="algorithm name (fixed)", choices=("multiturn_sft",))


class MultiTurnSFT(MultiTurnTextAlgorithm, LLMSFT):
    """Teacher-forced training on solver-played multi-turn episodes (``algo.name: multiturn_sft``)."""

    name = "multiturn_sft"
    description = "Supervised warm start on solver trajectories in the multi-turn text-world format"
    config_cls = MultiTurnSFTConfig
    config: MultiTurnSFTConfig

    def collect(self) -> dict[str, float]:
        self._batch = self.demonstrations(self.env, self.env.num_envs)
        self.global_step += self.env.num_envs
        tokens = self._batch.response_mask.sum(1)
        return {"rollout/reply_tokens": float(tokens.mean())}
