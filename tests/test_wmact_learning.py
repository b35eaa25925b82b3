"""WMAct learns: one update moves the policy toward rewarded multi-turn episodes (fast), and RL from a
supervised warm start raises the held-out success rate of the small GPT with a fixed seed (slow)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rlsuite.agents.text.gpt import GPTConfig
from rlsuite.agents.text.models import SamplingConfig, TextModelConfig
from rlsuite.agents.text.policy import Generation
from rlsuite.algos.multiturn import play_episodes, solver_responder
from rlsuite.algos.wmact import WMAct, WMActConfig
from rlsuite.config import EnvConfig, EvalConfig

CORRIDOR = {  # a 1x6 maze corridor: the goal is left or right of the player
    "size": [3, 8],
    "wall_density": 0.0,
    "prompt_style": "compact",
    "max_actions_per_turn": 3,
    "max_actions_per_episode": 6,
}


def wmact(eval_episodes: int, **algo) -> WMAct:
    settings = {
        "model": TextModelConfig(gpt=GPTConfig(layers=2, heads=4, dim=64, context=384)),
        "samples_per_prompt": 4,
        "sampling": SamplingConfig(max_new_tokens=24),
        "turn_cap": 3,
        "sft_lr": 5e-3,
        "sft_batch_size": 16,
        "actor_lr": 1e-4,
        "critic_lr": 1e-3,
        "warmup_steps": 0,
        "critic_steps_per_rollout": 2,
        "reward_rescaling": True,
        **algo,
    }
    env = EnvConfig(id="rlsuite/MazeText-v0", num_envs=8, kwargs=CORRIDOR)
    return WMAct(
        env, WMActConfig(**settings), seed=0, device="cpu", eval_config=EvalConfig(episodes=eval_episodes)
    )


def reply_logprob(algo: WMAct, played) -> torch.Tensor:
    """Mean log-probability of each episode's generated tokens under the current policy."""
    from rlsuite.algos.multiturn import trajectory_batch

    batch = trajectory_batch(played, algo.policy.tokenizer.pad_id).batch
    with torch.no_grad():
        logprobs = algo.policy.score(batch)[0]
    return (logprobs * batch.response_mask).sum(1) / batch.response_mask.sum(1)


def test_one_update_moves_the_policy_toward_rewarded_episodes():
    torch.manual_seed(0)
    algo = wmact(2, actor_lr=3e-3, critic_steps_per_rollout=1, warmup_steps=0)
    stream = algo.env
    solver = solver_responder(
        lambda text: algo.policy.tokenizer.encode(text),
        np.random.default_rng(0),
        actions_per_turn=3,
        random_split=False,
    )

    def mixed(contexts, envs) -> Generation:  # envs 0, 2, 4... follow the solver, the others bump a wall
        good = solver(contexts, envs)
        texts = [
            t if stream.envs.index(e) % 2 == 0 else "<answer>Up</answer>" for t, e in zip(good.texts, envs)
        ]
        ids = [algo.policy.tokenizer.encode(t) for t in texts]
        return Generation(good.prompt_ids, ids, texts, [True] * len(texts))

    played = play_episodes(
        stream.envs, stream.reset(8, 4), mixed, turn_cap=3, encode=algo.encode_env_text, reply_budget=24
    )
    solved = torch.tensor([t.success for t in played])
    assert solved[::2].all() and not solved[1::2].any()
    before = reply_logprob(algo, played)
    algo._score(played)
    algo.update()
    change = reply_logprob(algo, played) - before
    assert change[solved].mean() > 0 > change[~solved].mean()


@pytest.mark.slow
def test_rl_from_a_warm_start_raises_held_out_success(margin):
    torch.manual_seed(0)
    algo = wmact(32, sft_warmup_steps=60)
    stats = algo.collect()  # the warm start (60 SFT steps on solver episodes), then the first rollout
    algo.update()
    warm = stats["warmup/eval_success_rate"]
    for _ in range(19):
        algo.collect()
        algo.update()
    after = algo.evaluate().metrics()["eval/success_rate"]
    assert margin("held-out success gain over the warm start", after - warm, 0.2)
