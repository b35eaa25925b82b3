"""Problems from a local file in one of three layouts.

* ``plain``: JSON Lines (or a JSON list) of objects holding ``question_field`` and ``answer_field``
  (dotted paths reach into nested objects, e.g. ``reward_model.ground_truth``).
* ``orz``: Open-Reasoner-Zero's JSON list of ``[{"from": "human", "value": q}, {"from": "assistant",
  "ground_truth": {"value": a}}]`` pairs, or its evaluation items ``{"prompt": q, "final_answer": a}``.
* ``verl``: rows with ``prompt`` (a list of chat messages; the last user message is the question) and
  ``reward_model.ground_truth``, from ``.jsonl``/``.json`` or ``.parquet`` (needs pyarrow or pandas).

``auto`` picks the layout from the file's extension and its first record.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rlsuite.envs.reasoning.problem import Problem, Task, check_choice

__all__ = ["LAYOUTS", "JSONLTask", "load_problems"]

LAYOUTS = ("auto", "plain", "orz", "verl")
_MISSING = object()


def _get(record: Any, dotted: str) -> Any:
    value = record
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _read_records(path: Path) -> tuple[list[Any], str]:
    """The file's records and the word naming a position in it (``line``, ``item`` or ``row``)."""
    if path.suffix == ".parquet":
        return _read_parquet(path), "row"
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json" or (path.suffix != ".jsonl" and text.lstrip().startswith("[")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc})") from exc
        if not isinstance(data, list):
            raise ValueError(f"{path}: a .json file must hold a list of records, got {type(data).__name__}")
        return data, "item"
    records: list[Any] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: line {number} is not valid JSON ({exc})") from exc
    return records, "line"


def _read_parquet(path: Path) -> list[Any]:
    try:
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    except ImportError:
        pass
    try:
        import pandas as pd
    except ImportError as exc:
        raise ImportError(f"reading {path} needs pyarrow or pandas: pip install pyarrow") from exc
    rows = pd.read_parquet(path).to_dict("records")
    return [{k: v.tolist() if hasattr(v, "tolist") else v for k, v in row.items()} for row in rows]


def _detect(record: Any, path: Path) -> str:
    if path.suffix == ".parquet":
        return "verl"
    if isinstance(record, list):
        return "orz"
    if isinstance(record, Mapping):
        if isinstance(record.get("prompt"), list) and "reward_model" in record:
            return "verl"
        if "final_answer" in record and "prompt" in record:
            return "orz"
        return "plain"
    raise ValueError(f"{path}: cannot tell the layout of a {type(record).__name__} record; pass layout=")


def _orz_fields(record: Any) -> tuple[Any, Any, str, str]:
    if isinstance(record, Mapping):
        return record.get("prompt", _MISSING), record.get("final_answer", _MISSING), "prompt", "final_answer"
    if not isinstance(record, list):
        return _MISSING, _MISSING, "a [human, assistant] pair", "ground_truth.value"
    human = next((m for m in record if isinstance(m, Mapping) and m.get("from") == "human"), {})
    helper = next((m for m in record if isinstance(m, Mapping) and m.get("from") == "assistant"), {})
    return (
        human.get("value", _MISSING),
        _get(helper, "ground_truth.value"),
        "human value",
        "ground_truth.value",
    )


def _verl_question(record: Any, question_field: str) -> tuple[Any, str]:
    if question_field != "question":
        return _get(record, question_field), question_field
    messages = _get(record, "prompt")
    if isinstance(messages, str):
        return messages, "prompt"
    if not isinstance(messages, list):
        return _MISSING, "prompt"
    users = [m.get("content") for m in messages if isinstance(m, Mapping) and m.get("role") == "user"]
    return (users[-1] if users else _MISSING), "prompt[role=user].content"


def _fields(record: Any, layout: str, question_field: str, answer_field: str) -> tuple[Any, Any, str, str]:
    if layout == "orz":
        return _orz_fields(record)
    if layout == "verl":
        question, q_name = _verl_question(record, question_field)
        a_name = answer_field if answer_field != "answer" else "reward_model.ground_truth"
        return question, _get(record, a_name), q_name, a_name
    return _get(record, question_field), _get(record, answer_field), question_field, answer_field


def load_problems(
    path: str | Path, *, question_field: str = "question", answer_field: str = "answer", layout: str = "auto"
) -> list[Problem]:
    """Every problem of ``path``, in file order. ValueError names the file, position and missing field."""
    check_choice("layout", layout, LAYOUTS)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no problem file at {path}")
    records, unit = _read_records(path)
    numbered = records if unit == "line" else list(enumerate(records))
    if not numbered:
        raise ValueError(f"{path} holds no problems")
    chosen = _detect(numbered[0][1], path) if layout == "auto" else layout
    problems = []
    for number, record in numbered:
        question, answer, q_name, a_name = _fields(record, chosen, question_field, answer_field)
        for value, name in ((question, q_name), (answer, a_name)):
            if value is _MISSING or value is None or (isinstance(value, str) and not value.strip()):
                raise ValueError(
                    f"{path}, {unit} {number}: missing or empty field {name!r} ({chosen} layout)"
                )
        if isinstance(answer, float) and answer.is_integer():
            answer = int(answer)
        answer_text = ", ".join(map(str, answer)) if isinstance(answer, list) else str(answer)
        problems.append(Problem(str(question).strip(), answer_text.strip(), "jsonl", meta={unit: number}))
    return problems


class JSONLTask(Task):
    """Problems read from a local file (see the module docstring); ``sample`` draws rows uniformly.

    ``problems`` holds every row in file order; environments build held-out splits from it.
    """

    name = "jsonl"

    def __init__(
        self,
        path: str | Path | None = None,
        question_field: str = "question",
        answer_field: str = "answer",
        layout: str = "auto",
    ) -> None:
        if path is None:
            raise ValueError("the jsonl task needs path=... (a .jsonl, .json or .parquet file of problems)")
        self.path = str(path)
        self.layout = layout
        self.problems: Sequence[Problem] = tuple(
            load_problems(path, question_field=question_field, answer_field=answer_field, layout=layout)
        )

    def sample(self, rng: np.random.Generator) -> Problem:
        return self.problems[int(rng.integers(len(self.problems)))]

    def __repr__(self) -> str:
        return f"JSONLTask(path={self.path!r}, layout={self.layout!r}, problems={len(self.problems)})"
