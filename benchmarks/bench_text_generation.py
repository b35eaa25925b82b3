"""Batched sampling speed: rlsuite's TextPolicy.generate vs transformers' model.generate, same model.

Both sample from one randomly initialised GPT-2-shaped model (built locally, nothing downloaded) with
temperature 1, a budget of new tokens and no stop strings. HF is held to exactly that many tokens; rlsuite
rows end early only on a sampled EOS, and only the tokens actually made are counted. rlsuite drives the
HF model through its adapter (``HFBackend``), so the ratio isolates the sampler loop (KV cache, padding,
per-step bookkeeping). The two alternate ``--repeats`` times and the ratio of medians is reported, so
background load falls on both. The suite's own SmallGPT of the same shape is timed too.

    python benchmarks/bench_text_generation.py --batch 64 512 --new-tokens 24 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from rlsuite.agents.text import ByteTokenizer, GPTConfig, SamplingParams, SmallGPT, TextPolicy
from rlsuite.agents.text.hf import HFBackend


def hf_model(layers: int, dim: int, heads: int, context: int):
    from transformers import GPT2Config, GPT2LMHeadModel

    tokenizer = ByteTokenizer()
    config = GPT2Config(
        vocab_size=tokenizer.vocab_size,
        n_layer=layers,
        n_embd=dim,
        n_head=heads,
        n_positions=context,
        bos_token_id=tokenizer.bos_id,
        eos_token_id=tokenizer.eos_id,
        pad_token_id=tokenizer.pad_id,
    )
    return GPT2LMHeadModel(config).eval()


def time_rlsuite(policy: TextPolicy, prompts: list[str], new_tokens: int) -> float:
    params = SamplingParams(max_new_tokens=new_tokens)
    started = time.perf_counter()
    generation = policy.generate(prompts, params)
    # rows that sample EOS (1 in 259 per token here) stop early while the batch goes on: count what was made
    return generation.num_response_tokens / (time.perf_counter() - started)


def time_hf(model, policy: TextPolicy, prompts: list[str], new_tokens: int) -> float:
    ids, mask = policy._left_pad(policy.encode_prompts(prompts))
    started = time.perf_counter()
    with torch.no_grad():
        out = model.generate(
            input_ids=ids,
            attention_mask=mask,
            do_sample=True,
            temperature=1.0,
            top_k=0,
            top_p=1.0,
            max_new_tokens=new_tokens,
            min_new_tokens=new_tokens,
        )
    assert out.shape[1] - ids.shape[1] == new_tokens
    return len(prompts) * new_tokens / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[64, 512])
    parser.add_argument("--new-tokens", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--heads", type=int, default=4)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    context = 64
    model = hf_model(args.layers, args.dim, args.heads, context)
    tokenizer = ByteTokenizer()
    via_adapter = TextPolicy(HFBackend(model), tokenizer).eval()
    own = TextPolicy(
        SmallGPT(GPTConfig(args.layers, args.heads, args.dim, context), tokenizer.vocab_size), tokenizer
    ).eval()
    print(
        "| batch | rlsuite sampler on the HF model (tokens/s) | HF generate (tokens/s) | ratio "
        "| rlsuite SmallGPT (tokens/s) |"
    )
    print("|---|---|---|---|---|")
    for batch in args.batch:
        prompts = [f"What is {10 + i % 90} + {10 + (7 * i) % 90}?\n" for i in range(batch)]
        ours, theirs, small = [], [], []
        for _ in range(args.repeats):
            ours.append(time_rlsuite(via_adapter, prompts, args.new_tokens))
            theirs.append(time_hf(model, via_adapter, prompts, args.new_tokens))
            small.append(time_rlsuite(own, prompts, args.new_tokens))
        a, b, c = (statistics.median(x) for x in (ours, theirs, small))
        print(f"| {batch} | {a:,.0f} | {b:,.0f} | {a / b:.2f}x | {c:,.0f} |")


if __name__ == "__main__":
    main()
