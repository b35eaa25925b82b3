"""WMAct's mechanics: token masks and advantages of multi-turn trajectories, the loop's turn cap, the
annealing formula, reward rescaling, the entire-plan mode, exact resume with the annealing state, config
checks and the held-out evaluation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rlsuite
from rlsuite.agents.text.gpt import GPTConfig
from rlsuite.agents.text.models import SamplingConfig, TextModelConfig
from rlsuite.agents.text.policy import Generation
from rlsuite.agents.text.tokenizer import ByteTokenizer
from rlsuite.algos.llm_ppo import clipped_policy_loss
from rlsuite.algos.multiturn import Trajectory, masked_gae, play_episodes, solver_responder, trajectory_batch
from rlsuite.algos.wmact import TurnCapSchedule, WMAct, WMActConfig, episode_rewards
from rlsuite.config import EnvConfig, EvalConfig

TOKENIZER = ByteTokenizer()
MAZE = {"size": 5, "prompt_style": "compact", "max_actions_per_turn": 2, "max_actions_per_episode": 8}


def encode(text: str, first: bool) -> list[int]:
    return TOKENIZER.encode(text, add_bos=first)


def maze_envs(count: int, **kwargs):
    envs = [rlsuite.make("rlsuite/MazeText-v0", **{**MAZE, "max_turns": 30, **kwargs}) for _ in range(count)]
    return envs, [env.reset(seed=seed)[0] for seed, env in enumerate(envs)]


def solver(per_turn: int = 1):
    return solver_responder(
        lambda text: TOKENIZER.encode(text),
        np.random.default_rng(0),
        actions_per_turn=per_turn,
        random_split=False,
    )


def fixed_reply(text: str):
    def respond(contexts, envs) -> Generation:
        ids = [TOKENIZER.encode(text) for _ in contexts]
        return Generation([list(c) for c in contexts], ids, [text] * len(contexts), [True] * len(contexts))

    return respond


def tiny(env_kwargs=None, eval_episodes: int = 4, **algo) -> WMAct:
    env = EnvConfig(id="rlsuite/MazeText-v0", num_envs=2, kwargs={**MAZE, **(env_kwargs or {})})
    settings = {
        "model": TextModelConfig(gpt=GPTConfig(layers=1, heads=2, dim=16, context=320)),
        "samples_per_prompt": 2,
        "sampling": SamplingConfig(max_new_tokens=16),
        "turn_cap": 4,
        "actor_lr": 1e-3,
        "critic_lr": 1e-3,
        "warmup_steps": 0,
        "critic_steps_per_rollout": 2,
        **algo,
    }
    return WMAct(
        env, WMActConfig(**settings), seed=0, device="cpu", eval_config=EvalConfig(episodes=eval_episodes)
    )


def test_env_tokens_get_zero_loss_weight_and_zero_advantage():
    envs, first = maze_envs(4)
    played = play_episodes(envs, first, solver(1), turn_cap=30, encode=encode)
    assert all(t.success for t in played) and max(t.turns for t in played) > 1
    data = trajectory_batch(played, TOKENIZER.pad_id)
    mask = data.batch.response_mask
    for row, trajectory in enumerate(played):  # the mask covers exactly the replies
        ids = data.batch.input_ids[row][mask[row] > 0].tolist()
        assert TOKENIZER.decode(ids) == "".join(trajectory.replies)
        assert data.last_generated[row] == max(np.flatnonzero(trajectory.generated))
    values = torch.randn(mask.shape)
    rewards = torch.zeros(mask.shape)
    rewards[torch.arange(len(played)), torch.tensor(data.last_generated)] = 1.0
    advantages, returns = masked_gae(values, mask, rewards, 1.0, 1.0)
    env_tokens = mask == 0
    assert advantages[env_tokens].abs().max() == 0 and returns[env_tokens].abs().max() == 0
    generated = mask > 0
    assert torch.allclose(advantages[generated], (1.0 - values)[generated])  # gamma = lambda = 1: A = R - V
    assert torch.allclose(returns[generated], torch.ones(int(generated.sum())))
    logprobs = torch.zeros(mask.shape, requires_grad=True)
    loss, _, _ = clipped_policy_loss(logprobs, torch.zeros(mask.shape), advantages, mask, 0.2)
    loss.backward()
    assert logprobs.grad[env_tokens].abs().max() == 0 and logprobs.grad[generated].abs().sum() > 0


def test_gae_skips_env_tokens_between_turns():
    mask = torch.tensor([[0, 1, 1, 0, 0, 1, 0.0]])
    values = torch.tensor([[9, 0.5, 0.25, 9, 9, 0.75, 9]])
    rewards = torch.tensor([[0, 0, 0.1, 0, 0, 1.0, 0]])
    advantages, _ = masked_gae(values, mask, rewards, 0.5, 1.0)
    # generated tokens in order: V = (0.5, 0.25, 0.75), r = (0, 0.1, 1); delta = r + 0.5 V' - V
    deltas = [0 + 0.5 * 0.25 - 0.5, 0.1 + 0.5 * 0.75 - 0.25, 1.0 - 0.75]
    expected = [deltas[0] + 0.5 * (deltas[1] + 0.5 * deltas[2]), deltas[1] + 0.5 * deltas[2], deltas[2]]
    assert torch.allclose(advantages[0, [1, 2, 5]], torch.tensor(expected))
    assert advantages[0, [0, 3, 4, 6]].abs().max() == 0


def test_the_loop_enforces_the_turn_cap():
    envs, first = maze_envs(3)  # the envs would allow 30 turns
    played = play_episodes(envs, first, fixed_reply("<answer>Jump</answer>"), turn_cap=3, encode=encode)
    assert [t.turns for t in played] == [3, 3, 3] and {t.ended_by for t in played} == {"turn_cap"}
    assert all(not t.success and t.actions_issued == 3 and t.efficacy == 0 for t in played)
    limited = play_episodes(
        envs,
        [e.reset(seed=0)[0] for e in envs],
        fixed_reply("<answer>Jump</answer>"),
        turn_cap=30,
        encode=encode,
        max_context_tokens=len(encode(first[0], True)) + 40,
        reply_budget=16,
    )
    assert {t.ended_by for t in limited} == {"context"} and all(t.turns < 30 for t in limited)
    assert all(t.generated[-1] == 1 for t in limited)  # no env tokens after the last reply


def test_annealing_follows_the_formula():
    schedule = TurnCapSchedule(30, every=2)
    assert schedule.cap == 30
    assert not schedule.record([4, 6]) and schedule.cap == 30
    assert schedule.record([5, 5])  # L_max <- (5 + 30) / 2 = 17.5, enforced as 18
    assert schedule.limit == 17.5 and schedule.cap == 18
    schedule.record([1, 1, 1, 1])
    schedule.record([1, 1])
    assert schedule.limit == pytest.approx((1 + 17.5) / 2) and schedule.cap == 9
    for _ in range(20):
        schedule.record([1])
    assert schedule.cap == 1 and schedule.updates == 12
    off = TurnCapSchedule(30, every=1, enabled=False)
    off.record([1])
    assert off.cap == 30 and off.updates == 0
    assert TurnCapSchedule(2, every=1, minimum=2).record([1]) and TurnCapSchedule(2, 1, minimum=2).cap == 2


def test_wmact_anneals_its_cap_from_the_turns_it_used():
    algo = tiny(turn_annealing=True, anneal_every=2)
    turns = []
    for _ in range(2):
        turns.append(algo.collect()["rollout/mean_turns"])
        algo.update()
    assert algo.schedule.limit == pytest.approx((np.mean(turns) + 4) / 2)
    assert algo.collect()["train/turn_cap"] == algo.schedule.cap


def test_rescaling_is_the_plain_outcome_when_every_action_is_effective():
    envs, first = maze_envs(4)
    played = play_episodes(envs, first, solver(2), turn_cap=30, encode=encode)
    for trajectory in played:
        assert trajectory.efficacy == 1.0
        assert episode_rewards(trajectory, True, 0.0) == episode_rewards(trajectory, False, 0.0)
        assert episode_rewards(trajectory, True, 0.0)[-1] == (trajectory.turn_ends[-1], 1.0)
    wasteful = Trajectory(turn_ends=[5, 9], success=True, actions_issued=4, effective_actions=3)
    assert episode_rewards(wasteful, True, 0.0) == [(9, 0.75)]
    assert episode_rewards(wasteful, False, -0.1) == [(5, -0.1), (9, -0.1), (9, 1.0)]
    failed = Trajectory(turn_ends=[3], success=False, actions_issued=1, effective_actions=1)
    assert episode_rewards(failed, True, 0.0) == [(3, 0.0)]


def test_entire_plan_mode_is_exactly_one_turn():
    algo = tiny(mode="entire_plan", eval_episodes=2)
    world = algo.env.envs[0].unwrapped
    assert world.max_turns == 1 and world.max_actions_per_turn == world.max_actions_per_episode == 8
    stats = algo.collect()
    assert stats["rollout/mean_turns"] == 1.0 and algo.evaluate().extras["mean_turns"] == 1.0
    demos = algo.demonstrations(algo.env, 2)  # whole solver plans in one reply
    replies = [TOKENIZER.decode(row[m > 0].tolist()) for row, m in zip(demos.input_ids, demos.response_mask)]
    assert all(r.startswith("<answer>") and r.count("</answer>") == 1 for r in replies)


def test_resume_is_exact_with_the_annealing_state(tmp_path):
    settings = {"turn_annealing": True, "anneal_every": 1, "sft_warmup_steps": 2, "reward_rescaling": True}
    straight = tiny(**settings)
    for _ in range(2):
        straight.collect(), straight.update()
    straight.global_step = 8
    straight.save(tmp_path / "ckpt.pt")
    for _ in range(2):
        straight.collect(), straight.update()
    resumed = tiny(**settings)
    resumed.load(tmp_path / "ckpt.pt")
    assert resumed.schedule.state_dict() == WMAct.load(tmp_path / "ckpt.pt").schedule.state_dict()
    assert resumed.warmed_up and resumed.env.drawn == 4
    for _ in range(2):
        resumed.collect(), resumed.update()
    assert resumed.schedule.state_dict() == straight.schedule.state_dict()
    assert resumed.schedule.updates == 4 and resumed.env.drawn == straight.env.drawn
    for a, b in zip(straight.policy.parameters(), resumed.policy.parameters()):
        assert torch.equal(a, b)
    for a, b in zip(straight.critic.parameters(), resumed.critic.parameters()):
        assert torch.equal(a, b)


def test_config_problems_and_envs_are_refused_with_clear_messages():
    with pytest.raises(ValueError, match="turn_annealing needs"):
        tiny(mode="entire_plan", turn_annealing=True)
    with pytest.raises(ValueError, match="max_context_tokens"):
        tiny(max_context_tokens=4096)
    with pytest.raises(ValueError, match="multi-turn text worlds"):
        WMAct(EnvConfig(id="rlsuite/Arithmetic-v0", num_envs=2), WMActConfig(), device="cpu")


def test_evaluation_is_on_held_out_levels_that_training_never_draws():
    algo = tiny(eval_episodes=6)
    assert len(algo.held_out) >= 4
    messages = algo.env.reset(2, 2) + algo.env.reset(2, 2)
    assert not set(messages) & algo.held_out
    result = algo.evaluate()
    assert set(result.extras) == {
        "single_turn_success_rate",
        "mean_turns",
        "mean_actions",
        "efficacy",
        "turn_cap",
    }
    assert result.metrics()["eval/turn_cap"] == 4.0 and len(result.successes) == 6
    assert algo.evaluate().returns == result.returns  # greedy on fixed levels: reproducible


def test_a_local_hugging_face_checkpoint_plays_and_trains(tmp_path):
    pytest.importorskip("transformers", reason="the Hugging Face adapter needs the 'llm' extra")
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    raw = Tokenizer(models.BPE(unk_token=None))
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>"], initial_alphabet=alphabet)
    raw.train_from_iterator(["Maze: move P to G <answer>Up || Left</answer> Did Up. Turn 2"] * 10, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw, eos_token="<|endoftext|>", bos_token="<|endoftext|>"
    )
    tokenizer.save_pretrained(tmp_path)
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(tokenizer), n_layer=1, n_embd=32, n_head=2, n_positions=1024)
    GPT2LMHeadModel(config).save_pretrained(tmp_path)
    algo = tiny(model=TextModelConfig(source=str(tmp_path), add_bos=False), max_context_tokens=1000)
    assert algo.context_limit() == 1000
    stats = algo.collect()
    assert stats["rollout/mean_turns"] >= 1
    mask = algo.rollout.batch.response_mask
    assert algo.rollout.advantages[mask == 0].abs().max() == 0 and mask.sum() > 0
    algo.update()


def test_multiturn_sft_learns_from_demonstrations_and_warm_starts_wmact(tmp_path):
    from rlsuite.algos.multiturn_sft import MultiTurnSFT, MultiTurnSFTConfig

    config = MultiTurnSFTConfig(
        model=TextModelConfig(gpt=GPTConfig(layers=1, heads=2, dim=16, context=320)),
        sampling=SamplingConfig(max_new_tokens=16),
        turn_cap=4,
        lr=3e-3,
        warmup_steps=0,
    )
    env = EnvConfig(id="rlsuite/MazeText-v0", num_envs=4, kwargs=MAZE)
    sft = MultiTurnSFT(env, config, seed=0, device="cpu", eval_config=EvalConfig(episodes=2))
    losses = []
    for _ in range(6):
        sft.collect()
        losses.append(sft.update()["train/sft_loss"])
    assert sft.global_step == 24 and sft.env.drawn >= 24 and losses[-1] < losses[0] - 0.25
    sft.save(tmp_path / "sft.pt")
    algo = tiny(init_from=str(tmp_path / "sft.pt"))
    for a, b in zip(sft.policy.parameters(), algo.policy.parameters()):
        assert torch.equal(a, b)
