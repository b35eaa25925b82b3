"""WMAct: world-model reasoning by multi-turn interaction (Shu, Cai, Sun et al., 2025, "Thinking by Doing:
Building Efficient World Model Reasoning in LLMs via Multi-turn Interaction", arXiv:2511.23476).

An LLM agent plays a text world (Sokoban, Maze, Taxi) over several turns; each turn it may think, then
issues a *set* of actions; the env executes them and answers with the new state. Trained with PPO, and

1. **Reward rescaling** by action efficacy, so the agent stops issuing redundant actions:
       R = R_outcome * N_eff / N,
   R_outcome = 1 if solved else 0; N = actions issued in the episode, N_eff = those that changed the state
   (both counted by the env, docs/wmact.md). With every action effective it is the plain outcome reward.
2. **Interaction-frequency (turn-cap) annealing**, so the agent internalises the dynamics instead of
   leaning on feedback: every tau training iterations
       L_max <- (mean turns used in those iterations + L_max) / 2,
   starting from L_max = 30 (tau = 100 worked best in the paper). The loop enforces L_max rounded half
   up (``TurnCapSchedule``).

so that the policy ends up solving in a single turn what used to take many. Every rung of the paper's
ablation ladder is this class with flags: ``mode=entire_plan`` (PPO-EntirePlan: the whole plan in one
turn), ``mode=interactive`` (PPO-Interactive), ``+ reward_rescaling``, ``+ turn_annealing`` (= WMAct), and
``step_penalty=-0.1`` (the alternative to annealing: a penalty on every turn).

**PPO** is ``llm_ppo``'s (Open-Reasoner-Zero style, "strict on-policy"): the whole episode is one token
sequence (:mod:`rlsuite.algos.multiturn`); the env's tokens are context only, masked out of the policy and
value losses; GAE runs over the generated tokens only with gamma = lambda = 1, the outcome reward on the last
generated token (a step penalty on each turn's last token), advantages normalised over the batch's
generated tokens; clipped surrogate, clipped value loss, separate critic, no KL by default:
    L_pi = - mean_{t generated} min(rho_t A_t, clip(rho_t, 1 - eps, 1 + eps) A_t)
    L_V  = 0.5 * mean_{t generated} max((V_t - R_t)^2, (V_old,t + clip(V_t - V_old,t, -c, c) - R_t)^2)
Each iteration plays ``env.num_envs`` levels x ``samples_per_prompt`` episodes. A model trained from
scratch needs a warm start first (``sft_warmup_steps`` of :mod:`rlsuite.algos.multiturn_sft`'s
demonstrations, or ``init_from`` a ``multiturn_sft`` run).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from rlsuite.algos.llm_ppo import LLMPPO, LLMPPOConfig, PPOExperience
from rlsuite.algos.llm_sft import make_adamw, sft_step
from rlsuite.algos.multiturn import Trajectory, masked_gae, trajectory_batch
from rlsuite.algos.multiturn_base import MultiTurnConfig, MultiTurnTextAlgorithm, rollout_stats
from rlsuite.config import param
from rlsuite.core.progress import task
from rlsuite.core.schedules import warmup_factor

__all__ = ["TurnCapSchedule", "WMAct", "WMActConfig", "episode_rewards"]


@dataclass
class WMActConfig(LLMPPOConfig, MultiTurnConfig):
    """WMAct's settings: ``llm_ppo``'s PPO, the multi-turn ones, and the paper's two flags (+ the
    step-penalty alternative). ``turn_cap`` is L_max's start (paper: 30)."""

    name: str = param("wmact", help="algorithm name (fixed)", choices=("wmact",))
    reward_rescaling: bool = param(False, help="R = R_outcome * N_eff / N (action efficacy)")
    turn_annealing: bool = param(
        False, help="every anneal_every iterations L_max <- (mean turns + L_max) / 2 (interactive mode)"
    )
    anneal_every: int = param(
        100, help="tau: training iterations between turn-cap updates (paper: 100)", min=1
    )
    min_turn_cap: int = param(1, help="the annealed turn cap never goes below this", min=1)
    step_penalty: float = param(
        0.0, help="reward added per turn used, on each turn's last token (paper's alternative: -0.1)", max=0.0
    )


class TurnCapSchedule:
    """Turn-cap annealing state: L_max (a float, the paper's recursion) and the running window.

    ``cap`` is the enforced integer cap: L_max rounded half up, at least ``minimum`` (our choice; the
    paper does not say how L_max is rounded). L_bar is the mean number of turns over every training episode
    of the window's ``every`` iterations (episodes cut by the cap count the cap).
    """

    def __init__(self, start: int, every: int, minimum: int = 1, enabled: bool = True) -> None:
        self.limit, self.every, self.minimum, self.enabled = float(start), every, minimum, enabled
        self.window_turns = 0
        self.window_episodes = 0
        self.window_iterations = 0
        self.updates = 0

    @property
    def cap(self) -> int:
        return max(self.minimum, math.floor(self.limit + 0.5))

    def record(self, turns: list[int]) -> bool:
        """Add one iteration's episode lengths (turns); update L_max at the end of a window (True then)."""
        if not self.enabled:
            return False
        self.window_turns += int(sum(turns))
        self.window_episodes += len(turns)
        self.window_iterations += 1
        if self.window_iterations < self.every:
            return False
        mean_turns = self.window_turns / max(self.window_episodes, 1)
        self.limit = (mean_turns + self.limit) / 2
        self.window_turns = self.window_episodes = self.window_iterations = 0
        self.updates += 1
        return True

    def state_dict(self) -> dict[str, Any]:
        keys = ("limit", "window_turns", "window_episodes", "window_iterations", "updates")
        return {key: getattr(self, key) for key in keys}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.limit = float(state["limit"])
        for key in ("window_turns", "window_episodes", "window_iterations", "updates"):
            setattr(self, key, int(state[key]))


def episode_rewards(trajectory: Trajectory, rescaling: bool, step_penalty: float) -> list[tuple[int, float]]:
    """(token column, reward) pairs of one episode: R_outcome (x N_eff / N when rescaling) on the last
    generated token, and ``step_penalty`` on each turn's last generated token."""
    outcome = float(trajectory.success)
    if rescaling:
        outcome *= trajectory.efficacy
    rewards = [(end, step_penalty) for end in trajectory.turn_ends] if step_penalty else []
    return [*rewards, (trajectory.turn_ends[-1], outcome)]


class WMAct(MultiTurnTextAlgorithm, LLMPPO):
    """Multi-turn PPO with efficacy reward rescaling and turn-cap annealing (``algo.name: wmact``)."""

    name = "wmact"
    description = "WMAct: multi-turn LLM PPO on text worlds, efficacy reward rescaling, turn-cap annealing"
    config_cls = WMActConfig
    config: WMActConfig

    @classmethod
    def config_problems(cls, config: WMActConfig) -> list[str]:
        problems = []
        if config.mode == "entire_plan" and config.turn_annealing:
            problems.append("algo.turn_annealing needs algo.mode=interactive (entire_plan is one turn)")
        gpt = config.model.gpt
        if config.model.source == "gpt" and config.max_context_tokens > gpt.context:
            problems.append(
                f"algo.max_context_tokens ({config.max_context_tokens}) is over the small GPT's context "
                f"(algo.model.gpt.context = {gpt.context})"
            )
        return problems

    def setup(self) -> None:
        problems = self.config_problems(self.config)
        if problems:
            raise ValueError("; ".join(problems))
        cfg = self.config
        self.schedule = TurnCapSchedule(cfg.turn_cap, cfg.anneal_every, cfg.min_turn_cap, cfg.turn_annealing)
        super().setup()

    def current_turn_cap(self) -> int:
        return 1 if self.config.mode == "entire_plan" else self.schedule.cap

    # --- warm start ----------------------------------------------------------------------------------
    def _warm_start(self) -> dict[str, float]:
        """``sft_warmup_steps`` SFT steps on solver demonstrations (own level stream), then a fresh critic."""
        cfg = self.config
        size = cfg.sft_batch_size or self.env_config.num_envs
        stream = self._level_stream(size, self.seed + 1, self.held_out)
        optimizer = make_adamw(self.policy.parameters(), cfg.sft_lr, cfg.adam_betas, cfg.weight_decay)
        with task("SFT warm-up", cfg.sft_warmup_steps) as bar:
            for step in range(cfg.sft_warmup_steps):
                for group in optimizer.param_groups:
                    group["lr"] = cfg.sft_lr * warmup_factor(step, min(20, cfg.sft_warmup_steps // 5))
                batch = self.demonstrations(stream, size)
                loss = sft_step(self.policy, optimizer, batch, cfg.micro_batch_size, cfg.max_grad_norm)
                bar.advance(1, note=f"loss {loss:.3f}")
                self.log_side_metrics(step + 1, {"warmup/sft_loss": loss})
        stream.close()
        self._build_learners()
        self.warmed_up = True
        with task("warm-up eval", None):
            result = self.evaluate()
        return {"warmup/sft_loss": loss, "warmup/eval_success_rate": float(np.mean(result.successes))}

    # --- rollout -------------------------------------------------------------------------------------
    def collect(self) -> dict[str, float]:
        stats = {} if self.warmed_up else self._warm_start()
        cap = self.current_turn_cap()
        started = time.perf_counter()
        messages = self.env.reset(self.env_config.num_envs, self.group_size)
        played = self.play(self.env, messages, self.lm_responder(self.sampling_params()), cap)
        seconds = time.perf_counter() - started
        self.global_step += len(played)
        rewards = self._score(played)
        self.episodes.step(rewards, np.ones(len(played), bool))
        stats.update(rollout_stats(played))
        stats["rollout/reward_mean"] = float(np.mean(rewards))
        stats["train/turn_cap"] = float(cap)
        generated = sum(sum(t.generated) for t in played)
        stats["time/gen_tokens_per_s"] = self.per_second(generated, seconds)
        if self.config.mode == "interactive":
            self.schedule.record([t.turns for t in played])
        return stats

    def _score(self, played: list[Trajectory]) -> np.ndarray:
        """Rewards of the episodes, and the rollout (old log-probs, values, GAE) of the kept ones."""
        cfg = self.config
        per_episode = [episode_rewards(t, cfg.reward_rescaling, cfg.step_penalty) for t in played]
        totals = np.array([sum(r for _, r in rewards) for rewards in per_episode], np.float64)
        keep = [i for i, t in enumerate(played) if any(t.replies) or not cfg.drop_empty_responses]
        if not keep:
            keep = list(range(len(played)))
        data = trajectory_batch([played[i] for i in keep], self.policy.tokenizer.pad_id, self.device)
        batch = data.batch
        token_rewards = torch.zeros(batch.input_ids.shape)
        for row, i in enumerate(data.kept):
            for column, reward in per_episode[keep[i]]:
                token_rewards[row, column] += reward
        old_logprobs, values, reference = self._old_scores(batch)
        advantages, returns = masked_gae(
            values, batch.response_mask, token_rewards, cfg.gamma, cfg.gae_lambda
        )
        self.rollout: PPOExperience | None = self._experience(
            batch, old_logprobs, values, advantages, returns, reference
        )
        return totals

    # --- checkpoints ---------------------------------------------------------------------------------
    def algorithm_state(self) -> dict[str, Any]:
        return {**super().algorithm_state(), "turn_cap_schedule": self.schedule.state_dict()}

    def load_algorithm_state(self, state: dict[str, Any]) -> None:
        super().load_algorithm_state(state)
        self.schedule.load_state_dict(state["turn_cap_schedule"])
