"""Task generators (determinism, correct ground truths, solvable countdowns) and the file loader."""

from __future__ import annotations

import json
import re
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest

from rlsuite.envs.reasoning import (
    SAMPLE_DATA,
    ArithmeticTask,
    CompoundTask,
    CountdownTask,
    JSONLTask,
    LinearEquationTask,
    evaluate_expression,
    get_template,
    load_problems,
    make_task,
)
from rlsuite.envs.reasoning.expressions import ExpressionError, expression_numbers


def _draw(task, seed: int, n: int = 30):
    rng = np.random.default_rng(seed)
    return [task.sample(rng) for _ in range(n)]


@pytest.mark.parametrize("name", ["arithmetic", "countdown", "linear_equation", "compound"])
def test_seeded_determinism(name):
    task = make_task(name)
    assert _draw(task, 1) == _draw(task, 1)
    assert [p.question for p in _draw(task, 1)] != [p.question for p in _draw(task, 2)]


def test_arithmetic_answers_are_correct():
    task = ArithmeticTask(
        min_digits=1, max_digits=4, ops=("+", "-", "*"), num_operands=3, allow_negative=True
    )
    for problem in _draw(task, 0, 200):
        expression = re.fullmatch(r"What is (.+)\?", problem.question).group(1)
        operands = [int(t) for t in re.findall(r"\d+", expression)]
        assert len(operands) == 3 and all(0 <= v < 10_000 for v in operands)
        assert int(problem.answer) == eval(expression)  # test-only cross-check against Python
    positive = ArithmeticTask(ops=("-",))
    assert all(int(p.answer) >= 0 for p in _draw(positive, 0, 200))
    digits = {len(str(v)) for p in _draw(ArithmeticTask(), 0, 200) for v in re.findall(r"\d+", p.question)}
    assert digits == {2, 3}


def test_linear_equation_solution_satisfies_equation():
    for problem in _draw(LinearEquationTask(x_max=12, a_max=7, b_max=30), 4, 300):
        match = re.fullmatch(r"Solve for x: (-?\d*)x(?: ([+-]) (\d+))? = (-?\d+)", problem.question)
        assert match, problem.question
        a = {"": 1, "-": -1}.get(match.group(1), None) or int(match.group(1))
        b = int(match.group(3) or 0) * (-1 if match.group(2) == "-" else 1)
        x = int(problem.answer)
        assert a * x + b == int(match.group(4)) and abs(x) <= 12 and a != 0


def test_countdown_is_solvable_with_the_exact_multiset():
    task = CountdownTask(num_count=(3, 4), max_number=50)
    for problem in _draw(task, 7, 200):
        nums, target, expression = problem.meta["nums"], problem.meta["target"], problem.meta["answer_text"]
        assert 3 <= len(nums) <= 4 and all(1 <= n <= 50 for n in nums)
        assert Counter(expression_numbers(expression)) == Counter(Fraction(n) for n in nums)
        assert evaluate_expression(expression) == target == int(problem.answer) and target >= 1
        assert str(nums) in problem.question and str(target) in problem.question


def test_safe_expression_evaluator():
    assert evaluate_expression("(1 + 2) / 3") == 1
    assert evaluate_expression("7 / 2") == Fraction(7, 2)
    assert evaluate_expression("-(3 - 5) * 2.5") == 5
    for bad in ("2 ** 3", "abs(3)", "3 = 3", "x + 1", "1 +", "1 / 0", "9" * 40 + " * " + "9" * 40):
        with pytest.raises(ExpressionError):
            evaluate_expression(bad)


def test_compound_question_and_answers():
    problem = CompoundTask(k=4).sample(np.random.default_rng(0))
    assert problem.answer == ", ".join(problem.meta["answers"]) and len(problem.meta["answers"]) == 4
    for i, sub in enumerate(problem.meta["subproblems"], start=1):
        assert f"Problem {i}: {sub['question']}" in problem.question
    with pytest.raises(ValueError, match="scoring='best'; accepted values: 'all', 'fraction'"):
        CompoundTask(scoring="best")


def test_make_task_errors():
    with pytest.raises(ValueError, match="unknown task 'algebra'; accepted names: arithmetic, countdown"):
        make_task("algebra")
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['digits'\].*accepted: \['min_digits'"):
        make_task("arithmetic", digits=3)
    with pytest.raises(ValueError, match="each op must be one of"):
        ArithmeticTask(ops=("/",))
    with pytest.raises(ValueError, match="num_count must be"):
        CountdownTask(num_count=(4, 3))


def test_templates_round_trip():
    problem = ArithmeticTask().sample(np.random.default_rng(0))
    orz = get_template("orz")
    prompt = orz.prompt(problem)
    assert prompt.endswith("\nAssistant: <think>") and "This is the problem:\n" + problem.question in prompt
    assert orz.response(problem).endswith(rf"<answer> \boxed{{{problem.answer}}} </answer>")
    assert get_template("compact").prompt(problem) == problem.question + "\n"
    assert get_template("compact").response(problem) == f"<answer>{problem.answer}</answer>"
    for name in ("orz", "tinyzero", "compact"):
        template = get_template(name)
        assert template.finished(template.response(problem))
    assert not orz.finished("I am still thinking") and orz.finished("... User:  \n")
    with pytest.raises(ValueError, match="accepted names: orz, tinyzero, compact"):
        get_template("chatml")


# -- files ------------------------------------------------------------------------------------------------


def _write_jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_plain_layout_with_dotted_fields(tmp_path):
    path = _write_jsonl(
        tmp_path / "p.jsonl", [{"q": "1+1?", "sol": {"final": 2}}, {"q": "2+2?", "sol": {"final": 4}}]
    )
    problems = load_problems(path, question_field="q", answer_field="sol.final")
    assert [(p.question, p.answer) for p in problems] == [("1+1?", "2"), ("2+2?", "4")]
    assert problems[1].meta == {"line": 2}


def test_orz_layout(tmp_path):
    train = [
        [{"from": "human", "value": "What is 2+3?"}, {"from": "assistant", "ground_truth": {"value": "5"}}],
        [
            {"from": "human", "value": "Half of 1?"},
            {"from": "assistant", "ground_truth": {"value": "\\frac12"}},
        ],
    ]
    path = tmp_path / "orz.json"
    path.write_text(json.dumps(train))
    task = JSONLTask(path)
    assert [(p.question, p.answer) for p in task.problems] == [
        ("What is 2+3?", "5"),
        ("Half of 1?", "\\frac12"),
    ]
    evals = tmp_path / "eval.json"
    evals.write_text(json.dumps([{"prompt": "3*3?", "final_answer": "9", "file_name": "x"}]))
    assert load_problems(evals)[0].answer == "9"


def _verl_rows():
    return [
        {
            "data_source": "gsm8k",
            "prompt": [{"role": "system", "content": "be brief"}, {"role": "user", "content": f"{i} + 1?"}],
            "ability": "math",
            "reward_model": {"style": "rule", "ground_truth": str(i + 1)},
            "extra_info": {"split": "train", "index": i},
        }
        for i in range(3)
    ]


def test_verl_layout_jsonl_and_parquet(tmp_path):
    problems = load_problems(_write_jsonl(tmp_path / "v.jsonl", _verl_rows()))
    assert [(p.question, p.answer) for p in problems] == [("0 + 1?", "1"), ("1 + 1?", "2"), ("2 + 1?", "3")]
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(_verl_rows()), tmp_path / "v.parquet")
    assert load_problems(tmp_path / "v.parquet") == [
        p.__class__(p.question, p.answer, p.task, meta={"row": i}) for i, p in enumerate(problems)
    ]


def test_file_errors_name_field_file_and_position(tmp_path):
    path = _write_jsonl(tmp_path / "bad.jsonl", [{"question": "a", "answer": "1"}, {"question": "b"}])
    with pytest.raises(ValueError, match=r"bad.jsonl, line 2: missing or empty field 'answer'"):
        load_problems(path)
    verl = _verl_rows()
    del verl[1]["reward_model"]["ground_truth"]
    with pytest.raises(
        ValueError, match=r"line 2: missing or empty field 'reward_model.ground_truth' \(verl"
    ):
        load_problems(_write_jsonl(tmp_path / "v.jsonl", verl))
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(ValueError, match=r"empty\.jsonl holds no problems"):
        load_problems(tmp_path / "empty.jsonl")
    (tmp_path / "broken.jsonl").write_text('{"question": "a", "answer": "1"}\n{oops\n')
    with pytest.raises(ValueError, match="line 2 is not valid JSON"):
        load_problems(tmp_path / "broken.jsonl")
    with pytest.raises(ValueError, match="layout='csv'; accepted values: 'auto', 'plain', 'orz', 'verl'"):
        load_problems(path, layout="csv")
    with pytest.raises(ValueError, match="needs path="):
        make_task("jsonl")


def test_shipped_sample_file():
    problems = JSONLTask(SAMPLE_DATA).problems
    assert len(problems) == 32 and len({p.question for p in problems}) == 32
