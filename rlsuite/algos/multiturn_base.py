"""Shared side of the multi-turn text learners (``wmact`` and its supervised warm start ``multiturn_sft``).

They train on the multi-turn text worlds (``rlsuite/SokobanText-v0``, ``rlsuite/MazeText-v0``,
``rlsuite/TaxiText-v0``, or any env with their protocol: Text spaces, ``info["success"]``,
``info["actions_issued"]``, ``info["effective_actions"]``, and ``optimal_actions()`` for demonstrations).

* **Levels.** A :class:`LevelStream` holds the envs of one batch and draws levels from a seeded stream
  (level k of a run seeded s is reset with a seed derived from (s, k)); each level is played by ``group``
  envs in a row. The **held-out** evaluation set is the first ``eval.episodes`` levels of a fixed stream
  shared by every run (so every rung of a ladder is scored on the same levels); training and demonstration
  streams skip any level whose first message equals one of them, so no evaluation level is trained on.
* **Modes.** ``interactive``: up to ``turn_cap`` turns (the loop's cap), ``max_actions_per_turn`` actions
  each. ``entire_plan``: exactly one turn holding the whole plan (the env gets ``max_turns=1`` and
  ``max_actions_per_turn = max_actions_per_episode``).
* **Evaluation.** Greedy decoding on the held-out levels with ``eval_turn_cap`` turns (the same for every
  rung); ``success_rate`` plus the extras ``single_turn_success_rate``, ``mean_turns``, ``mean_actions``,
  ``efficacy`` (mean N_eff / N) and ``turn_cap`` (the current training cap).
* ``global_step`` counts episodes (trajectories), so every rung runs the same number of iterations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

import rlsuite
from rlsuite.agents.text.policy import Generation, SamplingParams, TokenBatch
from rlsuite.algos.llm_base import TextAlgorithm
from rlsuite.algos.multiturn import (
    Responder,
    Trajectory,
    play_episodes,
    solver_responder,
    trajectory_batch,
)
from rlsuite.config import param
from rlsuite.core.episodes import EpisodeTracker
from rlsuite.training.evaluation import EvalResult

__all__ = ["MODES", "LevelStream", "MultiTurnConfig", "MultiTurnTextAlgorithm"]

MODES = ("interactive", "entire_plan")
HELD_OUT_STREAM = 2_147_483_647  # the stream key of the held-out levels (shared by every run)
MAX_LEVEL_DRAWS = 10_000  # consecutive held-out levels a training stream may skip before giving up
STOP = ("</answer>",)


@dataclass
class MultiTurnConfig:
    """Settings of the multi-turn text learners (mixed into their config dataclasses)."""

    mode: str = param(
        "interactive",
        help="interactive (several turns, env feedback between them) or entire_plan (the whole plan in "
        "one turn)",
        choices=MODES,
    )
    turn_cap: int = param(
        30, help="turns an episode may use (WMAct: L_max starts at 30); loop-enforced", min=1
    )
    eval_turn_cap: int = param(0, help="turn cap of the greedy evaluation; 0 = turn_cap", min=0)
    max_context_tokens: int = param(
        0,
        help="end an episode whose context would pass this many tokens; 0 = the small GPT's context "
        "(no limit for a Hugging Face model)",
        min=0,
    )
    sft_actions_per_turn: int = param(
        0, help="actions per demonstration turn; 0 = drawn uniformly from 1..max_actions_per_turn", min=0
    )


class LevelStream:
    """``size`` text-world envs and a deterministic stream of levels, skipping held-out ones."""

    def __init__(
        self,
        make_env: Callable[[], gym.Env],
        size: int,
        stream: int,
        held_out: frozenset[str] = frozenset(),
    ) -> None:
        self.envs = [make_env() for _ in range(size)]
        self.num_envs, self.stream, self.held_out = size, int(stream), held_out
        self.single_action_space = self.envs[0].action_space
        self.single_observation_space = self.envs[0].observation_space
        self.drawn = 0  # levels drawn so far (the stream position; checkpointed)

    def level_seed(self, index: int) -> int:
        return int(np.random.SeedSequence([self.stream, index]).generate_state(1)[0])

    def reset(self, levels: int, group: int = 1) -> list[str]:
        """Reset the first ``levels * group`` envs on the next ``levels`` levels (``group`` envs each, in a
        row); returns their first messages."""
        if levels * group > self.num_envs:
            raise ValueError(f"{levels} levels x {group} > {self.num_envs} envs")
        messages = []
        for level in range(levels):
            first = self.envs[level * group]
            for _ in range(MAX_LEVEL_DRAWS):
                seed = self.level_seed(self.drawn)
                self.drawn += 1
                text, _ = first.reset(seed=seed)
                if text not in self.held_out:
                    break
            else:
                raise ValueError(
                    f"{MAX_LEVEL_DRAWS} levels in a row were held out: the env settings allow too few "
                    "distinct levels for eval.episodes held-out ones; lower eval.episodes or use larger ones"
                )
            messages.append(text)
            for k in range(1, group):
                messages.append(self.envs[level * group + k].reset(seed=seed)[0])
        return messages

    def reset_fixed(self, indices: Sequence[int]) -> list[str]:
        """Reset env k on level ``indices[k]`` of the stream (no skipping): the held-out set."""
        return [env.reset(seed=self.level_seed(i))[0] for env, i in zip(self.envs, indices)]

    def get_state(self) -> dict[str, Any]:
        return {"drawn": self.drawn}

    def set_state(self, state: dict[str, Any]) -> None:
        self.drawn = int(state["drawn"])

    def close(self) -> None:
        for env in self.envs:
            env.close()


class MultiTurnTextAlgorithm(TextAlgorithm):
    """Envs, held-out levels, demonstrations and greedy evaluation of the multi-turn text learners."""

    config: Any  # a dataclass with the MultiTurnConfig fields

    # --- envs ----------------------------------------------------------------------------------
    def _env_kwargs(self) -> dict[str, Any]:
        cfg, kwargs = self.config, dict(self.env_config.kwargs)
        problem = (
            f"{self.name} trains on the multi-turn text worlds (rlsuite/SokobanText-v0, rlsuite/MazeText-v0, "
            f"rlsuite/TaxiText-v0); {self.env_config.id!r} is not one"
        )
        try:
            probe = rlsuite.make(self.env_config.id, **kwargs)
        except TypeError as exc:
            raise ValueError(f"{problem} ({exc})") from exc
        world = probe.unwrapped
        if not isinstance(probe.action_space, spaces.Text) or not hasattr(world, "max_actions_per_episode"):
            probe.close()
            raise ValueError(problem)
        budget = int(world.max_actions_per_episode)
        probe.close()
        if cfg.mode == "entire_plan":
            kwargs.update(max_turns=1, max_actions_per_turn=budget)
        else:
            kwargs["max_turns"] = max(cfg.turn_cap, cfg.eval_turn_cap)  # the env's own backstop
        return kwargs

    def _level_stream(self, size: int, stream: int, held_out: frozenset[str] = frozenset()) -> LevelStream:
        kwargs = self._kwargs
        return LevelStream(lambda: rlsuite.make(self.env_config.id, **kwargs), size, stream, held_out)

    def _build_training_env(self) -> None:
        self._kwargs = self._env_kwargs()
        episodes = self.eval_config.episodes
        self._eval_env = self._level_stream(self.eval_config.num_envs or min(episodes, 64), HELD_OUT_STREAM)
        self.held_out = frozenset(self._held_out_messages(episodes))
        self.env = self._level_stream(self.env_config.num_envs * self.group_size, self.seed, self.held_out)
        self._check_supported(self.env.single_action_space)
        self.episodes = EpisodeTracker(self.env.num_envs)
        self.obs = np.zeros(0, np.float32)  # every iteration plays whole episodes from fresh levels

    def _held_out_messages(self, count: int) -> list[str]:
        messages = []
        for start in range(0, count, self._eval_env.num_envs):
            indices = range(start, min(count, start + self._eval_env.num_envs))
            messages += self._eval_env.reset_fixed(indices)
        return messages

    @property
    def template(self):
        raise AttributeError(f"{self.name} has no single-turn template (its envs are multi-turn)")

    # --- acting ----------------------------------------------------------------------------------
    def sampling_params(self, *, greedy: bool = False) -> SamplingParams:
        return self.config.sampling.params(STOP, greedy=greedy)

    def encode_env_text(self, text: str, first: bool) -> list[int]:
        return self.policy.tokenizer.encode(text, add_bos=first and self.policy.add_bos)

    def context_limit(self) -> int:
        cfg = self.config
        if cfg.max_context_tokens:
            return cfg.max_context_tokens
        return cfg.model.gpt.context if cfg.model.source == "gpt" else 0

    def lm_responder(self, params: SamplingParams) -> Responder:
        """Replies sampled from the policy, ``generation_batch_size`` contexts per call."""
        chunk = self.config.sampling.generation_batch_size

        def respond(contexts: list[list[int]], envs: list[Any]) -> Generation:
            step = chunk or len(contexts)
            parts = [
                self.policy.generate_ids(contexts[s : s + step], params)
                for s in range(0, len(contexts), step)
            ]
            fields = ("prompt_ids", "response_ids", "texts", "finished")
            return Generation(*([x for part in parts for x in getattr(part, f)] for f in fields))

        return respond

    def play(
        self, stream: LevelStream, messages: list[str], respond: Responder, turn_cap: int
    ) -> list[Trajectory]:
        return play_episodes(
            stream.envs[: len(messages)],
            messages,
            respond,
            turn_cap=1 if self.config.mode == "entire_plan" else turn_cap,
            encode=self.encode_env_text,
            max_context_tokens=self.context_limit(),
            reply_budget=self.config.sampling.max_new_tokens,
        )

    # --- demonstrations (supervised warm start) ------------------------------------------------------
    def demonstrations(self, stream: LevelStream, count: int) -> TokenBatch:
        """``count`` solver-played episodes in the multi-turn format as one batch (loss on replies only)."""
        cfg = self.config
        rng = np.random.default_rng([self.seed, stream.stream, stream.drawn])
        world = stream.envs[0].unwrapped
        per_turn = int(world.max_actions_per_turn)
        respond = solver_responder(
            lambda text: self.policy.tokenizer.encode(text),
            rng,
            actions_per_turn=cfg.sft_actions_per_turn or per_turn,
            random_split=cfg.mode == "interactive" and cfg.sft_actions_per_turn == 0,
            separator=world.parser.separator,
        )
        trajectories = self.play(stream, stream.reset(count), respond, cfg.turn_cap)
        return trajectory_batch(trajectories, self.policy.tokenizer.pad_id, self.device).batch

    # --- evaluation ----------------------------------------------------------------------------------
    def current_turn_cap(self) -> int:
        return 1 if self.config.mode == "entire_plan" else self.config.turn_cap

    def evaluate(self, episodes: int | None = None, deterministic: bool | None = None) -> EvalResult:
        """Play the first ``episodes`` held-out levels (greedy unless ``deterministic=False``)."""
        episodes = episodes or self.eval_config.episodes
        greedy = self.eval_config.deterministic if deterministic is None else deterministic
        cap = self.config.eval_turn_cap or self.config.turn_cap
        respond = self.lm_responder(self.sampling_params(greedy=greedy))
        stream, played = self._eval_env, []
        was_training = self.policy.training
        self.policy.eval()
        try:
            for start in range(0, episodes, stream.num_envs):
                indices = list(range(start, min(episodes, start + stream.num_envs)))
                played += self.play(stream, stream.reset_fixed(indices), respond, cap)
        finally:
            self.policy.train(was_training)
        result = episode_metrics(played, self.current_turn_cap())
        self.last_eval_texts, self.last_eval_prompts = result.responses, result.prompts
        return result


def episode_metrics(played: Sequence[Trajectory], turn_cap: int) -> EvalResult:
    """The evaluation record of played episodes: return = outcome (1 solved, 0 not), length = turns."""
    result = EvalResult(
        returns=[float(t.success) for t in played],
        lengths=[t.turns for t in played],
        successes=[t.success for t in played],
        responses=[" | ".join(t.replies) for t in played],
    )
    result.extras = {
        "single_turn_success_rate": float(np.mean([t.single_turn_success for t in played])),
        "mean_turns": float(np.mean([t.turns for t in played])),
        "mean_actions": float(np.mean([t.actions_issued for t in played])),
        "efficacy": float(np.mean([t.efficacy for t in played])),
        "turn_cap": float(turn_cap),
    }
    return result


def rollout_stats(played: Sequence[Trajectory]) -> dict[str, float]:
    """Training-rollout figures (``rollout/...``) of played episodes."""
    return {
        "rollout/success_rate": float(np.mean([t.success for t in played])),
        "rollout/single_turn_success_rate": float(np.mean([t.single_turn_success for t in played])),
        "rollout/mean_turns": float(np.mean([t.turns for t in played])),
        "rollout/mean_actions": float(np.mean([t.actions_issued for t in played])),
        "rollout/efficacy": float(np.mean([t.efficacy for t in played])),
        "rollout/capped_rate": float(np.mean([t.ended_by != "env" for t in played])),
        "rollout/trajectory_tokens": float(np.mean([len(t.token_ids) for t in played])),
    }
