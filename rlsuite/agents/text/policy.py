"""Text policies: one interface for causal language models, with batched sampling, token log-probs and values.

A :class:`TextPolicy` wraps a backend (the suite's :class:`~rlsuite.agents.text.gpt.SmallGPT` or a local
Hugging Face checkpoint, :mod:`rlsuite.agents.text.hf`) and its tokenizer:

* ``generate(prompts, SamplingParams)`` samples responses for a batch of prompts: left-padded prompts, one
  forward over them, then one cached forward per new token; temperature, top-p, stop strings (kept in the
  response, as Open-Reasoner-Zero keeps ``</answer>``), the end-of-sequence token and a token budget. A
  response that hits the budget is ``finished=False`` (truncated).
* ``token_logprobs(batch)`` scores the response tokens of a :class:`TokenBatch` by teacher forcing:
  ``logprobs[:, t] = log pi(token_t | tokens_<t)``, read from the logits at position ``t - 1`` (the shift by
  one).
* :class:`ValueModel` is the separate critic: the same kind of backend plus a value head, with
  ``values[:, t] = V(s_t)``, the value of the state *before* token ``t`` (hidden state at ``t - 1``), so
  values line up with the log-probs of the tokens they precede.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["Generation", "SamplingParams", "TextPolicy", "TokenBatch", "ValueModel"]


@dataclass(frozen=True)
class SamplingParams:
    max_new_tokens: int = 64
    temperature: float = 1.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    greedy: bool = False

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if not self.greedy and self.temperature <= 0:
            raise ValueError(f"temperature must be > 0 (or greedy=True), got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")


@dataclass
class Generation:
    """Sampled responses: token ids (stop string and EOS included), decoded text (cut after the stop
    string, EOS dropped) and whether each one ended by itself (stop string or EOS), not by the budget."""

    prompt_ids: list[list[int]]
    response_ids: list[list[int]]
    texts: list[str]
    finished: list[bool]

    @property
    def num_response_tokens(self) -> int:
        return sum(len(r) for r in self.response_ids)


@dataclass
class TokenBatch:
    """Right-padded prompt+response sequences ``[B, L]`` for teacher-forced scoring and training."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    position_ids: torch.Tensor
    response_mask: torch.Tensor  # float, 1 at response-token positions
    response_start: torch.Tensor  # [B] index of each row's first response token

    @classmethod
    def from_pairs(
        cls,
        prompt_ids: Sequence[Sequence[int]],
        response_ids: Sequence[Sequence[int]],
        pad_id: int,
        device: torch.device | str = "cpu",
    ) -> TokenBatch:
        if any(len(r) == 0 for r in response_ids):
            raise ValueError("empty responses cannot be scored; drop them before building the batch")
        rows = [list(p) + list(r) for p, r in zip(prompt_ids, response_ids)]
        length = max(map(len, rows))
        input_ids = torch.full((len(rows), length), pad_id, dtype=torch.long)
        attention = torch.zeros((len(rows), length), dtype=torch.long)
        response = torch.zeros((len(rows), length))
        for i, (row, prompt) in enumerate(zip(rows, prompt_ids)):
            input_ids[i, : len(row)] = torch.tensor(row)
            attention[i, : len(row)] = 1
            response[i, len(prompt) : len(row)] = 1.0
        positions = torch.arange(length).expand(len(rows), length).clone()
        start = torch.tensor([len(p) for p in prompt_ids])
        return cls(*(t.to(device) for t in (input_ids, attention, positions, response, start)))

    def __len__(self) -> int:
        return self.input_ids.shape[0]

    def select(self, index: torch.Tensor | slice) -> TokenBatch:
        return TokenBatch(
            *(
                t[index]
                for t in (
                    self.input_ids,
                    self.attention_mask,
                    self.position_ids,
                    self.response_mask,
                    self.response_start,
                )
            )
        )

    @property
    def num_response_tokens(self) -> int:
        return int(self.response_mask.sum())


def _sample(logits: torch.Tensor, params: SamplingParams, generator: torch.Generator | None) -> torch.Tensor:
    """One token per row: argmax, or a draw from the temperature-scaled, top-p-truncated distribution."""
    if params.greedy:
        return logits.argmax(-1)
    probs = torch.softmax(logits.float() / params.temperature, dim=-1)
    if params.top_p < 1.0:
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        outside = sorted_probs.cumsum(-1) - sorted_probs > params.top_p  # keep the smallest set reaching p
        sorted_probs = sorted_probs.masked_fill(outside, 0.0)
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def _cut_at_stop(text: str, stops: Sequence[str]) -> str | None:
    """``text`` up to the end of its earliest stop string, or None when it holds none."""
    ends = [text.find(s) + len(s) for s in stops if s and s in text]
    return text[: min(ends)] if ends else None


class TextPolicy(nn.Module):
    """A causal LM as a policy over response tokens."""

    def __init__(self, backend: nn.Module, tokenizer, *, add_bos: bool = True) -> None:
        super().__init__()
        self.backend = backend
        self.tokenizer = tokenizer
        self.add_bos = add_bos and getattr(tokenizer, "bos_id", None) is not None
        banned = [
            i
            for i in (getattr(tokenizer, "pad_id", None), getattr(tokenizer, "bos_id", None))
            if i is not None and i != getattr(tokenizer, "eos_id", None)
        ]
        self.register_buffer("_banned", torch.tensor(banned, dtype=torch.long), persistent=False)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def encode_prompts(self, prompts: Sequence[str]) -> list[list[int]]:
        return [self.tokenizer.encode(p, add_bos=self.add_bos) for p in prompts]

    def forward(self, batch: TokenBatch):
        return self.backend(batch.input_ids, batch.attention_mask, batch.position_ids)

    # --- sampling ------------------------------------------------------------------------------
    @torch.no_grad()
    def generate(
        self, prompts: Sequence[str], params: SamplingParams, generator: torch.Generator | None = None
    ) -> Generation:
        return self.generate_ids(self.encode_prompts(prompts), params, generator)

    @torch.no_grad()
    def generate_ids(
        self,
        prompt_ids: Sequence[Sequence[int]],
        params: SamplingParams,
        generator: torch.Generator | None = None,
    ) -> Generation:
        """:meth:`generate` from already tokenised prompts (multi-turn contexts keep their exact tokens)."""
        prompt_ids = [list(row) for row in prompt_ids]
        ids, mask = self._left_pad(prompt_ids)
        positions = (mask.cumsum(1) - 1).clamp(min=0)
        out = self.backend(ids, mask, positions)
        logits, past, next_position = out.logits[:, -1], out.past, positions[:, -1] + 1
        state = _DecodeState(len(prompt_ids))
        for _ in range(params.max_new_tokens):
            if self._banned.numel():
                logits = logits.index_fill(-1, self._banned, float("-inf"))
            tokens = _sample(logits, params, generator).cpu().tolist()
            state.advance(tokens, self.tokenizer, params.stop)
            if state.all_done:
                break
            step_ids = torch.tensor(tokens, device=ids.device)[:, None]
            mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
            out = self.backend(step_ids, mask, next_position[:, None], past)
            logits, past, next_position = out.logits[:, -1], out.past, next_position + 1
        return Generation(prompt_ids, state.response_ids, state.final_texts(self.tokenizer), state.finished)

    def _left_pad(self, rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        length = max(map(len, rows))
        ids = torch.full((len(rows), length), self.tokenizer.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), length), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, length - len(row) :] = torch.tensor(row)
            mask[i, length - len(row) :] = 1
        return ids.to(self.device), mask.to(self.device)

    # --- scoring -------------------------------------------------------------------------------
    def score(
        self, batch: TokenBatch, *, with_entropy: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Teacher-forced ``[B, L]`` log-probs (column t: log pi(token_t | tokens_<t), read from the logits at
        t - 1; column 0 is 0) and, if asked, the entropy of the distribution each token was drawn from."""
        logits = self(batch).logits[:, :-1].float()
        targets = batch.input_ids[:, 1:]
        normaliser = torch.logsumexp(logits, dim=-1)
        logprobs = logits.gather(-1, targets[..., None]).squeeze(-1) - normaliser
        entropy = None
        if with_entropy:
            entropy = normaliser - (torch.softmax(logits, dim=-1) * logits).sum(-1)
            entropy = torch.cat([torch.zeros_like(entropy[:, :1]), entropy], dim=1)
        return torch.cat([torch.zeros_like(logprobs[:, :1]), logprobs], dim=1), entropy

    def token_logprobs(self, batch: TokenBatch) -> torch.Tensor:
        """``[B, L]`` teacher-forced log-probs of every token (see :meth:`score`); mask with response_mask."""
        return self.score(batch)[0]


class _DecodeState:
    """Per-row bookkeeping of a batched decode: tokens so far, finished/done flags, stop-string cuts."""

    def __init__(self, rows: int) -> None:
        self.response_ids: list[list[int]] = [[] for _ in range(rows)]
        self.finished = [False] * rows
        self.done = [False] * rows
        self.cut_texts: list[str | None] = [None] * rows

    @staticmethod
    def window(stops: Sequence[str]) -> int:
        return max(len(stop.encode("utf-8")) for stop in stops) + 1

    @property
    def all_done(self) -> bool:
        return all(self.done)

    def advance(self, tokens: list[int], tokenizer, stops: Sequence[str]) -> None:
        tail = self.window(stops) if stops else 0
        for row, token in enumerate(tokens):
            if self.done[row]:
                continue
            self.response_ids[row].append(token)
            if token == tokenizer.eos_id:
                self.finished[row] = self.done[row] = True
            elif stops and _cut_at_stop(tokenizer.decode(self.response_ids[row][-tail:]), stops):
                # A stop string of n UTF-8 bytes spans at most n tokens (every token covers >= 1 byte), so the
                # tail is checked every step and the whole response decoded only once it matches.
                cut = _cut_at_stop(tokenizer.decode(self.response_ids[row]), stops)
                if cut is not None:
                    self.cut_texts[row] = cut
                    self.finished[row] = self.done[row] = True

    def final_texts(self, tokenizer) -> list[str]:
        return [
            cut if cut is not None else tokenizer.decode(ids)
            for cut, ids in zip(self.cut_texts, self.response_ids)
        ]


class ValueModel(nn.Module):
    """Critic: a backend plus a bias-free linear value head, ``values[:, t] = V(s_t)`` (hidden state at t-1).

    The head starts from N(0, (1 / (hidden + 1))^2), as Open-Reasoner-Zero's code (via OpenRLHF)
    re-initialises it, so the first values are close to 0.
    """

    def __init__(self, backend: nn.Module) -> None:
        super().__init__()
        self.backend = backend
        hidden = backend.hidden_size
        self.value_head = nn.Linear(hidden, 1, bias=False)
        nn.init.normal_(self.value_head.weight, std=1.0 / (hidden + 1))

    def forward(self, batch: TokenBatch) -> torch.Tensor:
        hidden = self.backend(batch.input_ids, batch.attention_mask, batch.position_ids).hidden
        values = self.value_head(hidden[:, :-1].float()).squeeze(-1)
        return torch.cat([torch.zeros_like(values[:, :1]), values], dim=1)
