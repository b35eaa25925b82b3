"""Hugging Face adapter: a local causal-LM checkpoint folder as a text-policy backend. Never downloads.

``load_hf_backend(path)`` opens a folder written by ``save_pretrained`` (weights, config, tokenizer files)
with ``local_files_only=True``; a path that is not a local folder is refused before transformers is asked,
so a model name can never turn into a hub download. Needs the ``llm`` extra (transformers).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from rlsuite.agents.text.gpt import LMOutput

__all__ = ["HFBackend", "HFTokenizer", "load_hf_backend"]

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class HFTokenizer:
    """The interface of :class:`~rlsuite.agents.text.tokenizer.ByteTokenizer` over a HF tokenizer."""

    name = "hf"

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer
        self.eos_id = tokenizer.eos_token_id
        self.bos_id = tokenizer.bos_token_id
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos_id
        if self.pad_id is None:
            raise ValueError("the tokenizer has neither a pad nor an eos token; set one in its config")
        self.vocab_size = len(tokenizer)

    def encode(self, text: str, *, add_bos: bool = False) -> list[int]:
        ids = self.tokenizer.encode(text, add_special_tokens=False)
        return [self.bos_id, *ids] if add_bos and self.bos_id is not None else ids

    def decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=True)


class HFBackend(nn.Module):
    """``forward(input_ids, attention_mask, position_ids, past) -> LMOutput`` over a transformers LM."""

    def __init__(self, model) -> None:
        super().__init__()
        self.model = model
        config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
        self.hidden_size = config.hidden_size
        self.vocab_size = config.vocab_size
        # transformers >= 5.2x names the key/value cache argument `cache`; older releases `past_key_values`.
        parameters = inspect.signature(model.forward).parameters
        self._cache_argument = "cache" if "cache" in parameters else "past_key_values"

    def forward(self, input_ids, attention_mask, position_ids, past=None) -> LMOutput:
        out = self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            use_cache=True,
            output_hidden_states=True,
            **{self._cache_argument: past},
        )
        cache = out.get("cache", out.get("past_key_values"))
        return LMOutput(out.logits, out.hidden_states[-1], cache)


def load_hf_backend(path: str | Path, dtype: str = "float32") -> tuple[HFBackend, HFTokenizer]:
    """Model and tokenizer from a local checkpoint folder (``config.json`` + weights + tokenizer files)."""
    folder = Path(path).expanduser()
    if not folder.is_dir() or not (folder / "config.json").is_file():
        raise FileNotFoundError(
            f"model.source={str(path)!r} is not a local Hugging Face checkpoint folder (no config.json); "
            "rlsuite never downloads weights: pass 'gpt' or the path of a folder written by save_pretrained"
        )
    if dtype not in _DTYPES:
        raise ValueError(f"dtype={dtype!r}; accepted values: {', '.join(_DTYPES)}")
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise ImportError(
            "loading a Hugging Face checkpoint needs the 'llm' extra: pip install 'rlsuite[llm]'"
        ) from exc
    # Loading never runs code from the folder: no custom modelling code, no pickled weights.
    safe = {"local_files_only": True, "trust_remote_code": False}
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=_DTYPES[dtype], weights_only=True, **safe)
    tokenizer = AutoTokenizer.from_pretrained(folder, **safe)
    return HFBackend(model), HFTokenizer(tokenizer)
