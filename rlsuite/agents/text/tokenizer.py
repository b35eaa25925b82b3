"""Byte-level tokenizer for the suite's own small language models.

Every UTF-8 byte is one token (ids 0-255), so any text round-trips exactly and nothing has to be
trained or downloaded. Three special tokens follow the bytes: ``<pad>`` (256), ``<bos>`` (257) and
``<eos>`` (258). Decoding skips special tokens and replaces invalid UTF-8 (a response cut in the middle
of a multi-byte character) with U+FFFD.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["ByteTokenizer"]


class ByteTokenizer:
    """UTF-8 bytes as tokens, plus pad / bos / eos. Stateless: nothing to save but its name."""

    name = "byte"
    vocab_size = 259
    pad_id = 256
    bos_id = 257
    eos_id = 258

    def encode(self, text: str, *, add_bos: bool = False) -> list[int]:
        ids = list(text.encode("utf-8"))
        return [self.bos_id, *ids] if add_bos else ids

    def decode(self, ids: Sequence[int]) -> str:
        return bytes(int(i) for i in ids if 0 <= int(i) < 256).decode("utf-8", errors="replace")

    def __repr__(self) -> str:
        return "ByteTokenizer(vocab_size=259)"
