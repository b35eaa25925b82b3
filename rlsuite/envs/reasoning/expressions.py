"""Safe arithmetic expressions: evaluation without ``eval`` and random solvable expressions.

:func:`evaluate_expression` parses with :mod:`ast` and accepts only number literals, ``+ - * /`` and
parentheses (unary ``+``/``-`` included); values are exact fractions. Used by the countdown reward and
by the task generators to compute ground truths.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

__all__ = [
    "ALLOWED_CHARS",
    "ExpressionError",
    "evaluate_expression",
    "expression_numbers",
    "random_expression",
]

ALLOWED_CHARS = re.compile(r"[0-9+\-*/(). ]+")
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_MAX_MAGNITUDE = Fraction(10) ** 30  # larger intermediates are rejected (no runaway products)


class ExpressionError(ValueError):
    """The text is not an arithmetic expression this module accepts."""


def _parse(expression: str) -> ast.expr:
    if not ALLOWED_CHARS.fullmatch(expression):
        raise ExpressionError(
            f"illegal characters in {expression!r}; allowed: digits, + - * / ( ) . and spaces"
        )
    try:
        return ast.parse(expression.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ExpressionError(f"not a valid arithmetic expression: {expression!r}") from exc


def _value(node: ast.expr) -> Fraction:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return Fraction(node.value) if isinstance(node.value, int) else Fraction(str(node.value))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _value(node.left), _value(node.right)
        if isinstance(node.op, ast.Div) and right == 0:
            raise ExpressionError("division by zero")
        result = _BINARY[type(node.op)](left, right)
    elif isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        result = _UNARY[type(node.op)](_value(node.operand))
    else:
        raise ExpressionError(
            f"unsupported syntax {type(node).__name__}; only numbers, + - * / and parentheses"
        )
    if abs(result) > _MAX_MAGNITUDE:
        raise ExpressionError("intermediate value too large")
    return result


def evaluate_expression(expression: str) -> Fraction:
    """Exact value of ``expression``; :class:`ExpressionError` for anything but plain arithmetic."""
    return _value(_parse(expression))


def expression_numbers(expression: str) -> list[Fraction]:
    """The number literals of ``expression`` in order of appearance (as written, signs excluded)."""
    numbers = []
    for node in ast.walk(_parse(expression)):
        if isinstance(node, ast.Constant):
            value = node.value
            numbers.append(Fraction(value) if isinstance(value, int) else Fraction(str(value)))
    return numbers


def _combine(
    a: tuple[Fraction, str, bool], b: tuple[Fraction, str, bool], op: str
) -> tuple[Fraction, str, bool]:
    def wrap(item: tuple[Fraction, str, bool]) -> str:
        return f"({item[1]})" if item[2] else item[1]

    value = {"+": a[0] + b[0], "-": a[0] - b[0], "*": a[0] * b[0], "/": a[0] / b[0] if b[0] else None}[op]
    return value, f"{wrap(a)} {op} {wrap(b)}", True


def random_expression(
    numbers: Sequence[int],
    rng: np.random.Generator,
    *,
    ops: Sequence[str] = ("+", "-", "*", "/"),
    positive_integers: bool = True,
    tries: int = 100,
) -> tuple[str, Fraction] | None:
    """A random expression using every number of ``numbers`` exactly once, and its value.

    With ``positive_integers`` every intermediate value is a positive integer (no fractions, no zero).
    Returns None if ``tries`` random trees all fail that condition.
    """
    for _ in range(tries):
        items = [(Fraction(n), str(n), False) for n in numbers]
        ok = True
        while len(items) > 1 and ok:
            i, j = rng.choice(len(items), size=2, replace=False)
            op = ops[int(rng.integers(len(ops)))]
            value, text, compound = _combine(items[i], items[j], op)
            ok = value is not None and (not positive_integers or (value > 0 and value.denominator == 1))
            items = [item for k, item in enumerate(items) if k not in (i, j)] + [(value, text, compound)]
        if ok:
            return items[0][1], items[0][0]
    return None
