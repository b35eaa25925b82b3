"""SFT then ORZ-style PPO on 2-digit addition with the suite's small GPT, on CPU.

Stage 1 trains ``experiments/llm_sft/addition_cpu.yaml`` (a short SFT warm start); stage 2 trains
``experiments/llm_ppo/addition_cpu.yaml`` from that run (``init_from``, no further SFT). Both evaluate greedy
accuracy on the same 200 held-out problems, so the lift is PPO's. Then it times generation and one PPO
iteration (rollout + update) on the trained model. Prints a Markdown table for BENCHMARKS.md.

    python benchmarks/bench_llm_addition.py --out benchmarks/out/llm_addition [--ppo-steps 51200] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from rlsuite.algos.base import Algorithm
from rlsuite.training.experiment import load_experiment, train

ROOT = Path(__file__).resolve().parent.parent


def run(config: str, out: Path, overrides: list[str]) -> Path:
    cfg = load_experiment(ROOT / config, [f"runs_root={out}", *overrides])
    return train(cfg, quiet=True)


def summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def throughput(run_dir: Path, prompts: int = 512) -> dict[str, float]:
    """Generation tokens/s (sampling, batch ``prompts``) and PPO training tokens/s (one rollout + update)."""
    algo = Algorithm.from_checkpoint(run_dir / "checkpoints" / "latest.pt", device="cpu")
    problems = [f"What is {10 + i % 90} + {10 + (7 * i) % 90}?\n" for i in range(prompts)]
    params = algo.sampling_params()  # the run's sampling settings (temperature 1)
    started = time.perf_counter()
    generation = algo.generate(problems, params)
    gen_tps = generation.num_response_tokens / (time.perf_counter() - started)
    algo.collect()
    tokens = int(algo.rollout["batch"].attention_mask.sum())
    started = time.perf_counter()
    algo.update()
    train_tps = tokens / (time.perf_counter() - started)
    return {"gen_tokens_per_s": gen_tps, "train_tokens_per_s": train_tps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/out/llm_addition")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ppo-steps", type=int, default=51200)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    common = [f"seed={args.seed}", f"torch_threads={args.threads}"]
    started = time.perf_counter()
    sft_dir = run("experiments/llm_sft/addition_cpu.yaml", out, common)
    sft_s = time.perf_counter() - started
    started = time.perf_counter()
    ppo_dir = run(
        "experiments/llm_ppo/addition_cpu.yaml",
        out,
        [
            *common,
            f"algo.init_from={sft_dir}",
            "algo.sft_warmup_steps=0",
            f"total_steps={args.ppo_steps}",
        ],
    )
    ppo_s = time.perf_counter() - started
    before, after = summary(sft_dir), summary(ppo_dir)
    speed = throughput(ppo_dir)
    print(
        "| seed | SFT accuracy (held-out 200) | after PPO | lift | SFT wall | PPO wall | PPO responses "
        "| gen tokens/s | train tokens/s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    lift = 100 * (after["success_rate"] - before["success_rate"])
    print(
        f"| {args.seed} | {before['success_rate']:.3f} | {after['success_rate']:.3f} | {lift:+.1f} pts | "
        f"{sft_s:.0f} s | {ppo_s:.0f} s | {after['total_steps']} | {speed['gen_tokens_per_s']:.0f} | "
        f"{speed['train_tokens_per_s']:.0f} |"
    )


if __name__ == "__main__":
    main()
