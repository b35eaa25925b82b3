"""Answer extraction and equivalence for rule-rewarded reasoning tasks (Open-Reasoner-Zero's rules).

* :func:`extract_answer` reads the final answer from a response: the last ``<answer>...</answer>`` block;
  inside it the last ``\\boxed{...}`` (brace-matched) if there is one, else the block's text. Without an
  ``<answer>`` tag, the last ``\\boxed{...}`` anywhere; else ``None``.
* :func:`answers_equal` compares a prediction with the ground truth: cheap normalisation (spaces, ``$``,
  ``\\text{}``, trailing ``.``, leading ``+``, thousands separators, ``\\frac{a}{b}``, ``x = 5``) then a
  numeric comparison (exact fractions, else floats with 1e-6 relative tolerance), then a string
  comparison; if those disagree and ``math-verify`` is installed, its ``parse``/``verify`` decide (gold
  parsed first, as its API requires). Very long or repetitive predictions are rejected before any parsing.
"""

from __future__ import annotations

import functools
import math
import re
import threading
from fractions import Fraction

__all__ = [
    "MAX_ANSWER_LENGTH",
    "answers_equal",
    "extract_answer",
    "extract_answers",
    "has_math_verify",
    "is_repetitive",
    "last_boxed",
    "normalize_answer",
    "parse_number",
]

MAX_ANSWER_LENGTH = 1024  # longer predictions are rejected outright
_REPETITION_CHECK_LENGTH = 128  # ORZ: strings longer than this are checked for repetition
_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_BOXED_PREFIXES = ("\\boxed", "\\fbox")


def _boxed_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of the content of every complete ``\\boxed{...}`` / ``\\fbox{...}``, in order."""
    spans = []
    i = 0
    while True:
        starts = [(text.find(p, i), p) for p in _BOXED_PREFIXES]
        starts = [(s, p) for s, p in starts if s >= 0]
        if not starts:
            return spans
        start, prefix = min(starts)
        j = start + len(prefix)
        while j < len(text) and text[j] == " ":
            j += 1
        if j >= len(text) or text[j] != "{":
            i = start + len(prefix)
            continue
        depth, k = 0, j
        while k < len(text):
            depth += {"{": 1, "}": -1}.get(text[k], 0)
            if depth == 0:
                break
            k += 1
        if depth != 0:  # unbalanced: no complete box from here on
            return spans
        spans.append((j + 1, k))
        i = k + 1


def last_boxed(text: str) -> str | None:
    """Content of the last complete ``\\boxed{...}`` in ``text`` (brace-matched, stripped); else None."""
    spans = _boxed_spans(text)
    if not spans:
        return None
    start, end = spans[-1]
    return text[start:end].strip()


def all_boxed(text: str) -> list[str]:
    """Contents of every complete ``\\boxed{...}`` in ``text``, in order."""
    return [text[s:e].strip() for s, e in _boxed_spans(text)]


def extract_answer(text: str) -> str | None:
    """The final answer of a response (see the module docstring); None if it gives none."""
    blocks = _ANSWER_TAG.findall(text)
    if blocks:
        block = blocks[-1]
        boxed = last_boxed(block)
        return boxed if boxed is not None else block.strip()
    return last_boxed(text)


def extract_answers(text: str) -> list[str]:
    """Several answers in order (compound problems): every ``\\boxed{}`` of the last ``<answer>`` block,
    or, without boxes, the block's text split on ``;`` or ``,``. Without an ``<answer>`` tag, every
    ``\\boxed{}`` in the text. Empty list if none."""
    blocks = _ANSWER_TAG.findall(text)
    if not blocks:
        return all_boxed(text)
    block = blocks[-1]
    boxed = all_boxed(block)
    if boxed:
        return boxed
    separator = ";" if ";" in block else ","
    parts = [p.strip() for p in block.split(separator)]
    return [p for p in parts if p] if any(parts) else []


def is_repetitive(text: str, *, ngram: int = 8, threshold: float = 0.5) -> bool:
    """True for a string longer than 128 characters whose distinct character ``ngram``s are fewer than
    ``threshold`` of all its ngrams (a degenerate, looping answer)."""
    if len(text) <= _REPETITION_CHECK_LENGTH:
        return False
    grams = [text[i : i + ngram] for i in range(len(text) - ngram + 1)]
    return len(set(grams)) < threshold * len(grams)


_RIGHT_UNITS = re.compile(r"^([-+]?[\d.,/]+)\s*\\(?:text|mbox|mathrm)\s*\{\s*[A-Za-z ]+\}$")
_TEXT_WRAPPERS = re.compile(r"\\(?:text|textbf|mathrm|mathbf|mbox)\s*\{([^{}]*)\}")
_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_FRAC_SHORT = re.compile(r"\\[dt]?frac(\d)(\d)")
_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d*)?$")
_ASSIGNMENT = re.compile(r"^[A-Za-z]\w*\s*=\s*(.+)$", re.DOTALL)


def normalize_answer(answer: str) -> str:
    """A canonical string form of an answer (see the module docstring). Idempotent."""
    s = answer.strip()
    s = (
        s.replace("\\left", "")
        .replace("\\right", "")
        .replace("\\!", "")
        .replace("\\,", "")
        .replace("\\;", "")
    )
    s = s.replace("\\%", "").replace("%", "").replace("^\\circ", "").replace("^{\\circ}", "")
    s = s.replace("\\(", "").replace("\\)", "").replace("\\[", "").replace("\\]", "").strip("$ ")
    s = _RIGHT_UNITS.sub(r"\1", s)  # "12 \text{ cm}" -> "12"
    s = _TEXT_WRAPPERS.sub(r"\1", s)
    s = _FRAC_SHORT.sub(r"\1/\2", s)
    s = _FRAC.sub(r"(\1)/(\2)", s)
    s = s.strip()
    match = _ASSIGNMENT.match(s)
    if match:
        s = match.group(1)
    s = s.strip().rstrip(".").strip()
    if _THOUSANDS.match(s):
        s = s.replace(",", "")
    s = re.sub(r"\s+", "", s)
    s = re.sub(r"^\((-?[\d.]+)\)/\((-?[\d.]+)\)$", r"\1/\2", s)  # (1)/(2) -> 1/2
    if s.startswith("+"):
        s = s[1:]
    return s


def parse_number(text: str) -> Fraction | float | None:
    """A normalised answer as an exact Fraction (integers, decimals, ``a/b``) or float; None if not one."""
    s = text.strip()
    if not s or len(s) > 64:
        return None
    if re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)(/[-+]?(\d+\.?\d*|\.\d+))?", s):
        try:
            if "/" in s:
                num, den = s.split("/")
                return Fraction(num) / Fraction(den)
            return Fraction(s)
        except (ValueError, ZeroDivisionError):
            return None
    try:
        value = float(s)  # scientific notation, inf/nan are not answers
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _numbers_equal(a: Fraction | float, b: Fraction | float) -> bool:
    if isinstance(a, Fraction) and isinstance(b, Fraction) and a == b:
        return True
    return math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-9)


@functools.lru_cache(maxsize=1)
def has_math_verify() -> bool:
    """Whether the optional ``math-verify`` package can be imported."""
    try:
        import math_verify  # noqa: F401
    except ImportError:
        return False
    return True


def _math_verify_equal(predicted: str, gold: str) -> bool:
    from math_verify import parse, verify

    # math-verify's timeouts use signal.alarm, which only works on the main thread.
    timeout = 5 if threading.current_thread() is threading.main_thread() else None
    try:
        gold_parsed = parse(gold, parsing_timeout=timeout) or parse(f"${gold}$", parsing_timeout=timeout)
        if not gold_parsed:
            return False
        pred_parsed = parse(predicted, parsing_timeout=timeout) or parse(
            f"${predicted}$", parsing_timeout=timeout
        )
        if not pred_parsed:
            return False
        return bool(verify(gold_parsed, pred_parsed, timeout_seconds=timeout))
    except Exception:  # a parser crash or timeout on odd input is a wrong answer, not an error
        return False


def answers_equal(predicted: str | None, gold: str, *, use_math_verify: bool | None = None) -> bool:
    """Whether ``predicted`` is equivalent to the ground truth ``gold``.

    ``use_math_verify``: None uses math-verify when installed, True requires it (ImportError otherwise),
    False uses only the built-in normalisation and numeric comparison.
    """
    if use_math_verify is True and not has_math_verify():
        raise ImportError("use_math_verify=True needs the math-verify package: pip install 'rlsuite[llm]'")
    if predicted is None:
        return False
    predicted = predicted.strip()
    if not predicted or len(predicted) > MAX_ANSWER_LENGTH or is_repetitive(predicted):
        return False
    pred_norm, gold_norm = normalize_answer(predicted), normalize_answer(gold)
    if pred_norm == gold_norm and pred_norm:
        return True
    pred_num, gold_num = parse_number(pred_norm), parse_number(gold_norm)
    if pred_num is not None and gold_num is not None:
        return _numbers_equal(pred_num, gold_num)
    if use_math_verify is False or (use_math_verify is None and not has_math_verify()):
        return False
    return _math_verify_equal(predicted, gold)
