"""Text policies: tokenizer, the small GPT, batched sampling, log-prob / value alignment, the HF adapter."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from rlsuite.agents.text import (
    ByteTokenizer,
    GPTConfig,
    SamplingParams,
    TextModelConfig,
    TextPolicy,
    TokenBatch,
    build_critic,
    build_policy,
)
from rlsuite.agents.text.gpt import LMOutput
from rlsuite.algos.llm_ppo import terminal_reward_advantages

SMALL = TextModelConfig(gpt=GPTConfig(layers=2, heads=2, dim=32, context=64))
PROMPTS = ["What is 12 + 34?\n", "hi", "a longer prompt than the others\n"]


@pytest.fixture
def policy() -> TextPolicy:
    torch.manual_seed(0)
    return build_policy(SMALL, torch.device("cpu"))


def test_byte_tokenizer_round_trips_any_text():
    tokenizer = ByteTokenizer()
    text = "x = 5 √ \\boxed{\\frac{1}{2}} é"
    ids = tokenizer.encode(text, add_bos=True)
    assert ids[0] == tokenizer.bos_id and max(ids[1:]) < 256
    assert tokenizer.decode(ids) == text
    assert tokenizer.decode([*tokenizer.encode("ab"), tokenizer.eos_id, tokenizer.pad_id]) == "ab"


def test_greedy_generation_matches_teacher_forced_argmax(policy):
    """Left-padded cached decoding and right-padded full forwards agree token by token."""
    generation = policy.generate(PROMPTS, SamplingParams(max_new_tokens=12, greedy=True))
    batch = TokenBatch.from_pairs(generation.prompt_ids, generation.response_ids, policy.tokenizer.pad_id)
    logits = policy(batch).logits
    for row, (prompt, response) in enumerate(zip(generation.prompt_ids, generation.response_ids)):
        start = len(prompt)
        assert logits[row, start - 1 : start - 1 + len(response)].argmax(-1).tolist() == response
    assert generation.finished == [False] * 3  # a random model emits no stop string in 12 tokens


def test_right_padded_batches_take_the_causal_kernel_with_the_masked_paths_values(policy, monkeypatch):
    """Training batches (real tokens a prefix of each row) run the fused causal kernel; on every real
    position its outputs and its parameter gradients equal the explicit-mask path's, and left-padded
    batches still take the explicit mask."""
    from rlsuite.agents.text import gpt

    model = policy.backend
    lengths = torch.tensor([9, 5, 1, 7])
    mask = (torch.arange(9)[None] < lengths[:, None]).long()
    ids = torch.randint(0, 256, (4, 9)) * mask
    positions = torch.arange(9).expand(4, 9)
    assert gpt._is_right_padded(mask) and not gpt._is_right_padded(mask.flip(1))

    def run() -> tuple[torch.Tensor, list[torch.Tensor]]:
        model.zero_grad()
        hidden = model(ids, mask, positions).hidden
        (hidden.square() * mask[..., None]).sum().backward()
        return hidden.detach(), [p.grad.clone() for p in model.parameters() if p.grad is not None]

    fused, fused_grads = run()
    monkeypatch.setattr(gpt, "_is_right_padded", lambda attention_mask: False)
    masked, masked_grads = run()
    real = mask.bool()
    assert torch.allclose(fused[real], masked[real], atol=1e-5)
    assert len(fused_grads) == len(masked_grads)
    for a, b in zip(fused_grads, masked_grads):
        assert torch.allclose(a, b, atol=1e-5, rtol=1e-4)

    monkeypatch.undo()  # the real _is_right_padded again; now watch which mask the kernel gets
    calls = []
    monkeypatch.setattr(gpt.F, "scaled_dot_product_attention", lambda *a, **k: calls.append(k) or a[0])
    model(ids, mask, positions)
    model(ids, mask.flip(1), positions)
    layers = len(model.blocks)
    assert all(call.get("is_causal") for call in calls[:layers])
    assert all(call.get("attn_mask") is not None for call in calls[layers:])


def test_left_and_right_padding_give_each_row_its_unpadded_logits(policy):
    """Batched generation left-pads, training right-pads: on real tokens both equal the row run alone."""
    model = policy.backend
    rows = [torch.randint(0, 256, (n,)) for n in (7, 3, 5)]
    alone = [model(r[None], torch.ones(1, len(r)), torch.arange(len(r))[None]).logits[0] for r in rows]
    width = max(len(r) for r in rows)
    for left in (True, False):
        ids = torch.zeros(len(rows), width, dtype=torch.long)
        mask = torch.zeros(len(rows), width, dtype=torch.long)
        positions = torch.zeros(len(rows), width, dtype=torch.long)
        for i, r in enumerate(rows):
            cols = slice(width - len(r), width) if left else slice(0, len(r))
            ids[i, cols], mask[i, cols], positions[i, cols] = r, 1, torch.arange(len(r))
        logits = model(ids, mask, positions).logits
        for i, expected in enumerate(alone):
            real = logits[i][mask[i].bool()]
            assert torch.allclose(real, expected, atol=1e-5), f"left={left}, row {i}"


def test_logprobs_score_each_token_from_the_previous_position(policy):
    generation = policy.generate(PROMPTS, SamplingParams(max_new_tokens=6))
    batch = TokenBatch.from_pairs(generation.prompt_ids, generation.response_ids, policy.tokenizer.pad_id)
    logprobs = policy.token_logprobs(batch)
    log_softmax = torch.log_softmax(policy(batch).logits, dim=-1)
    for row, (prompt, response) in enumerate(zip(generation.prompt_ids, generation.response_ids)):
        for k, token in enumerate(response):
            t = len(prompt) + k
            assert batch.input_ids[row, t] == token and batch.response_mask[row, t] == 1
            assert logprobs[row, t].item() == pytest.approx(log_softmax[row, t - 1, token].item(), abs=1e-5)
    assert batch.response_mask.sum(1).tolist() == [6, 6, 6]


def test_values_are_read_at_the_state_before_each_token(policy):
    critic = build_critic(policy)
    generation = policy.generate(PROMPTS[:2], SamplingParams(max_new_tokens=5))
    batch = TokenBatch.from_pairs(generation.prompt_ids, generation.response_ids, policy.tokenizer.pad_id)
    values = critic(batch)
    hidden = critic.backend(batch.input_ids, batch.attention_mask, batch.position_ids).hidden
    expected = critic.value_head(hidden).squeeze(-1)
    torch.testing.assert_close(values[:, 1:], expected[:, :-1])
    assert torch.all(values[:, 0] == 0)
    # fresh value head: N(0, (1/(hidden+1))^2) weights, so initial values are small
    assert critic.value_head.weight.std().item() == pytest.approx(1 / 33, rel=0.5)
    assert values.abs().mean() < 0.3


def test_critic_starts_from_the_policy_weights_and_trains_separately(policy):
    critic = build_critic(policy)
    for (name, p), (_, c) in zip(policy.backend.named_parameters(), critic.backend.named_parameters()):
        assert torch.equal(p, c), name
        assert p.data_ptr() != c.data_ptr()


class ScriptedBackend(nn.Module):
    """Greedy decoding emits ``script`` after a prompt of ``prompt_tokens`` tokens (test double)."""

    hidden_size = 4

    def __init__(self, script: list[int], prompt_tokens: int, vocab: int = 259) -> None:
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros(1))
        self.script, self.prompt_tokens, self.vocab = script, prompt_tokens, vocab

    def forward(self, input_ids, attention_mask, position_ids, past=None):
        index = (position_ids + 1 - self.prompt_tokens).clamp(0, len(self.script) - 1)
        targets = torch.tensor(self.script)[index]
        logits = torch.nn.functional.one_hot(targets, self.vocab).float() * 10
        return LMOutput(logits, torch.zeros(*input_ids.shape, 4), None)


def scripted_policy(text: str, prompt: str = "Q\n", eos: bool = False) -> TextPolicy:
    tokenizer = ByteTokenizer()
    script = tokenizer.encode(text) + ([tokenizer.eos_id] if eos else [])
    return TextPolicy(ScriptedBackend(script, len(tokenizer.encode(prompt, add_bos=True))), tokenizer)


def test_stop_strings_end_a_response_and_are_kept():
    policy = scripted_policy("<answer>42</answer> trailing text")
    params = SamplingParams(max_new_tokens=40, greedy=True, stop=("</answer>", "User:"))
    generation = policy.generate(["Q\n"], params)
    assert generation.texts == ["<answer>42</answer>"]
    assert generation.finished == [True]
    assert len(generation.response_ids[0]) == len("<answer>42</answer>")


def test_eos_ends_a_response_without_appearing_in_the_text():
    policy = scripted_policy("<answer>7</answer>", eos=True)
    generation = policy.generate(["Q\n"], SamplingParams(max_new_tokens=40, greedy=True))
    assert generation.texts == ["<answer>7</answer>"] and generation.finished == [True]
    assert generation.response_ids[0][-1] == ByteTokenizer.eos_id


def test_the_token_budget_truncates_and_marks_unfinished():
    policy = scripted_policy("<answer>123456</answer>")
    generation = policy.generate(["Q\n"], SamplingParams(max_new_tokens=10, greedy=True, stop=("</answer>",)))
    assert generation.texts == ["<answer>12"] and generation.finished == [False]


def test_top_p_keeps_only_the_nucleus(policy):
    """With a tiny top-p, sampling reduces to the most likely token: equal to greedy decoding."""
    torch.manual_seed(3)
    sampled = policy.generate(PROMPTS, SamplingParams(max_new_tokens=8, top_p=1e-6))
    greedy = policy.generate(PROMPTS, SamplingParams(max_new_tokens=8, greedy=True))
    assert sampled.response_ids == greedy.response_ids


def test_sampling_is_reproducible_under_a_seed(policy):
    runs = []
    for _ in range(2):
        torch.manual_seed(11)
        runs.append(policy.generate(PROMPTS, SamplingParams(max_new_tokens=8)).response_ids)
    assert runs[0] == runs[1]


@pytest.mark.parametrize("kwargs", [{"temperature": 0.0}, {"top_p": 0.0}, {"max_new_tokens": 0}])
def test_bad_sampling_parameters_are_rejected(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        SamplingParams(**kwargs)


def test_context_overflow_names_the_setting(policy):
    with pytest.raises(ValueError, match=r"model.context"):
        policy.generate(["x" * 70], SamplingParams(max_new_tokens=4))


def test_gae_with_gamma_lambda_one_is_reward_minus_value_for_every_token(policy):
    generation = policy.generate(PROMPTS, SamplingParams(max_new_tokens=7))
    batch = TokenBatch.from_pairs(generation.prompt_ids, generation.response_ids, policy.tokenizer.pad_id)
    values = torch.randn(batch.input_ids.shape)
    rewards = torch.tensor([1.0, 0.0, 0.1])
    advantages, returns = terminal_reward_advantages(values, batch, rewards, 1.0, 1.0)
    mask = batch.response_mask.bool()
    for row in range(3):
        expected = rewards[row] - values[row][mask[row]]
        torch.testing.assert_close(advantages[row][mask[row]], expected)
        torch.testing.assert_close(returns[row][mask[row]], torch.full_like(expected, rewards[row].item()))
    assert torch.all(advantages[~mask] == 0)


def test_gae_with_discounting_matches_a_hand_computation():
    tokenizer = ByteTokenizer()
    batch = TokenBatch.from_pairs([[1, 2]], [[3, 4, 5]], tokenizer.pad_id)
    values = torch.tensor([[0.0, 0.0, 0.5, 0.2, 0.4]])  # V(s) before tokens 3, 4, 5 at columns 2, 3, 4
    gamma, lam, reward = 0.9, 0.8, 1.0
    d2 = reward - 0.4
    d1 = gamma * 0.4 - 0.2
    d0 = gamma * 0.2 - 0.5
    a2 = d2
    a1 = d1 + gamma * lam * a2
    a0 = d0 + gamma * lam * a1
    advantages, _ = terminal_reward_advantages(values, batch, torch.tensor([reward]), gamma, lam)
    np.testing.assert_allclose(advantages[0].numpy(), [0, 0, a0, a1, a2], rtol=1e-6, atol=1e-7)


def _tiny_hf_checkpoint(folder) -> None:
    pytest.importorskip("transformers", reason="the Hugging Face adapter needs the 'llm' extra")
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    raw = Tokenizer(models.BPE(unk_token=None))
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    raw.train_from_iterator(["What is 12 + 34? <answer>46</answer>"] * 10, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw, eos_token="<|endoftext|>", bos_token="<|endoftext|>"
    )
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_layer=1,
        n_embd=32,
        n_head=2,
        n_positions=64,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    GPT2LMHeadModel(config).save_pretrained(folder)


def test_hugging_face_checkpoint_loads_from_a_local_folder(tmp_path):
    _tiny_hf_checkpoint(tmp_path)
    policy = build_policy(TextModelConfig(source=str(tmp_path)), torch.device("cpu"))
    generation = policy.generate(PROMPTS[:2], SamplingParams(max_new_tokens=6, greedy=True))
    batch = TokenBatch.from_pairs(generation.prompt_ids, generation.response_ids, policy.tokenizer.pad_id)
    logits = policy(batch).logits
    for row, (prompt, response) in enumerate(zip(generation.prompt_ids, generation.response_ids)):
        assert logits[row, len(prompt) - 1 : len(prompt) - 1 + len(response)].argmax(-1).tolist() == response
    values = build_critic(policy)(batch)
    assert values.shape == batch.input_ids.shape


def test_a_model_name_is_refused_instead_of_downloaded():
    with pytest.raises(FileNotFoundError, match="never downloads"):
        build_policy(TextModelConfig(source="Qwen/Qwen2.5-0.5B"), torch.device("cpu"))
