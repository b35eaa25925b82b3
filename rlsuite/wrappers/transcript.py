"""Transcripts of text policies: what a language-model policy answered to held-out problems, in Markdown.

The counterpart of a video for text envs (``rlsuite eval RUN --video`` on an LLM run writes one): each
problem's prompt, the policy's response, its reward and whether it was correct, after a header with the
accuracy and mean reward.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlsuite.core.atomic import atomic_write_text

TRANSCRIPT_SUFFIXES = (".md", ".txt")


@dataclass
class TranscriptResult:
    """What :func:`write_transcript` wrote."""

    path: Path
    episodes: int
    accuracy: float | None


def transcript_path(path: str | os.PathLike) -> Path:
    """``path`` with a transcript suffix: ``.mp4``/``.gif`` (a video path given for a text run) -> ``.md``."""
    path = Path(path)
    return path if path.suffix.lower() in TRANSCRIPT_SUFFIXES else path.with_suffix(".md")


def _fence(text: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}\n{text.rstrip()}\n{fence}"


def write_transcript(
    algo: Any,
    path: str | os.PathLike,
    *,
    episodes: int = 10,
    deterministic: bool = True,
    result: Any = None,
) -> TranscriptResult:
    """Answer ``episodes`` held-out problems with a text learner's policy and write the transcript.

    ``result``: the :class:`~rlsuite.training.evaluation.EvalResult` of an evaluation just run by ``algo``
    (its prompts and responses are still on ``algo``): written as it is, without answering again.
    """
    path = transcript_path(path)
    if result is None:
        result = algo.evaluate(episodes, deterministic=deterministic)
    prompts, responses = algo.last_eval_prompts, algo.last_eval_texts
    correct = result.successes
    accuracy = sum(correct) / len(correct) if correct else None
    lines = [
        f"# Transcript: {algo.name} on {algo.env_config.id}, step {algo.global_step}",
        "",
        f"{len(result.returns)} held-out problems, {'greedy' if deterministic else 'sampled'} decoding; "
        + (
            f"accuracy {100 * accuracy:.1f}% ({sum(correct)}/{len(correct)}); "
            if accuracy is not None
            else ""
        )
        + f"mean reward {result.mean:.3f}.",
    ]
    for index, (prompt, response, reward) in enumerate(zip(prompts, responses, result.returns)):
        verdict = "" if index >= len(correct) else (" (correct)" if correct[index] else " (wrong)")
        lines += [
            "",
            f"## Problem {index + 1}: reward {reward:g}{verdict}",
            "",
            "Prompt:",
            "",
            _fence(prompt),
            "",
            "Response:",
            "",
            _fence(response),
        ]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return TranscriptResult(path=path, episodes=len(result.returns), accuracy=accuracy)
