"""Answer extraction, equivalence (built-in fallback and math-verify) and the built-in reward functions."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from rlsuite.envs.reasoning import (
    CompoundTask,
    CountdownTask,
    Problem,
    RewardResult,
    answers_equal,
    checking,
    extract_answer,
    extract_answers,
    get_reward,
    get_template,
    has_math_verify,
    last_boxed,
    list_rewards,
    normalize_answer,
    register_reward,
)

BACKENDS = [
    False,
    pytest.param(True, marks=pytest.mark.skipif(not has_math_verify(), reason="no math-verify")),
]


def test_last_boxed_brace_matching_and_malformed():
    assert last_boxed(r"a \boxed{1} b \boxed{\frac{1}{2}}") == r"\frac{1}{2}"
    assert last_boxed(r"\boxed{ {x}^{2} }") == "{x}^{2}"
    assert last_boxed(r"\boxed{12} then \boxed{\frac{1}{2}") == "12"  # unbalanced last box is ignored
    assert last_boxed(r"\boxed{}") == ""
    assert last_boxed(r"\boxed 5") is None
    assert last_boxed("no box") is None
    assert last_boxed(r"\fbox{7}") == "7"


def test_extract_answer_rules():
    assert extract_answer(r"<think>\boxed{3}</think> <answer> so \boxed{42} </answer>") == "42"
    assert extract_answer("<answer> 17 </answer>") == "17"
    assert extract_answer("<answer>1</answer> more <answer>2</answer>") == "2"  # last answer wins
    assert extract_answer(r"<answer>\boxed{1}, \boxed{2}</answer>") == "2"
    assert extract_answer(r"the answer is \boxed{9}.") == "9"  # no tag: last box anywhere
    assert extract_answer("I think it is 5") is None
    assert extract_answer("<answer>5") is None  # unclosed tag, no box
    assert extract_answer(r"<answer>\boxed{}</answer>") == ""
    assert extract_answers(r"<answer>\boxed{1}, \boxed{\frac{1}{2}}</answer>") == ["1", r"\frac{1}{2}"]
    assert extract_answers("<answer>3, 4; 5</answer>") == ["3, 4", "5"]
    assert extract_answers("<answer> 3, -4 </answer>") == ["3", "-4"]
    assert extract_answers("nothing") == []


@pytest.mark.parametrize("use_mv", BACKENDS)
@pytest.mark.parametrize(
    ("pred", "gold"),
    [
        (".5", "0.5"),
        ("1/2", r"\frac{1}{2}"),
        (r"\frac{1}{2}", "0.5"),
        (r"\dfrac12", "0.5"),
        ("1,000", "1000"),
        ("+7", "7"),
        ("7.", "7"),
        ("x = 5", "5"),
        ("$12$", "12"),
        (r"12 \text{ cm}", "12"),
        ("-3", "-3.0"),
        ("0.3333333", "1/3"),
        ("  42  ", "42"),
    ],
)
def test_equivalent_forms(pred, gold, use_mv):
    assert answers_equal(pred, gold, use_math_verify=use_mv)
    assert answers_equal(gold, pred, use_math_verify=use_mv)


@pytest.mark.parametrize("use_mv", BACKENDS)
@pytest.mark.parametrize(
    ("pred", "gold"), [("6", "5"), ("0.51", "0.5"), ("1/3", "0.33"), ("", "5"), (None, "5")]
)
def test_different_answers(pred, gold, use_mv):
    assert not answers_equal(pred, gold, use_math_verify=use_mv)


def test_fallback_string_compare_and_normalisation():
    assert answers_equal(r"\text{Tuesday}", "Tuesday", use_math_verify=False)
    assert not answers_equal("Monday", "Tuesday", use_math_verify=False)
    assert normalize_answer(normalize_answer(r"$\frac{3}{4}$.")) == "3/4"
    assert normalize_answer("1,234,567") == "1234567"
    assert normalize_answer("(1, 2)") == "(1,2)"  # a tuple keeps its comma


def test_math_verify_only_forms():
    pytest.importorskip("math_verify")
    assert answers_equal(r"\sqrt{4}", "2")  # needs symbolic evaluation
    assert not answers_equal(r"\sqrt{4}", "2", use_math_verify=False)


def test_math_verify_off_the_main_thread():
    pytest.importorskip("math_verify")
    results = []
    worker = threading.Thread(target=lambda: results.append(answers_equal(r"\sqrt{9}", "3")))
    worker.start()
    worker.join()
    assert results == [True]


def test_use_math_verify_true_without_package(monkeypatch):
    monkeypatch.setattr(checking, "has_math_verify", lambda: False)
    with pytest.raises(ImportError, match="math-verify"):
        answers_equal("1", "1", use_math_verify=True)
    assert answers_equal(".5", "1/2")  # auto falls back


def test_long_and_repetitive_answers_rejected():
    assert not answers_equal("5" * 2000, "5" * 2000, use_math_verify=False)
    assert not answers_equal("1+" * 100 + "1", "101", use_math_verify=False)
    assert checking.is_repetitive("ab" * 100) and not checking.is_repetitive("ab" * 60)


def _p(answer: str) -> Problem:
    return Problem("q", answer, "arithmetic")


def test_math_reward_finished_and_truncated():
    math = get_reward("math")
    ok = math(r"... </think> <answer> \boxed{579} </answer>", _p("579"), True)
    assert (ok.reward, ok.correct, ok.extracted) == (1.0, True, "579")
    truncated = math(r"... </think> <answer> \boxed{579} </answer>", _p("579"), False)
    assert (truncated.reward, truncated.correct) == (0.0, False)
    assert math("<answer> 578 </answer>", _p("579"), True).reward == 0.0
    assert math("no tags 579", _p("579"), True).reward == 0.0


def _countdown(nums, target) -> Problem:
    return Problem(f"{nums} -> {target}", str(target), "countdown", meta={"nums": nums, "target": target})


@pytest.mark.parametrize(
    ("response", "reward", "verdict"),
    [
        ("<answer> (25 - 5) * 4 </answer>", 1.0, "correct"),
        ("<answer>4*(25-5)</answer>", 1.0, "correct"),
        ("<answer> 25 * 4 - 5 </answer>", 0.1, "wrong_value"),
        ("<answer> (25 - 5) * 4 * 1 </answer>", 0.1, "numbers"),  # a number not given
        ("<answer> (25 - 5) * 4 + 4 - 4 </answer>", 0.1, "numbers"),  # reuse
        ("<answer> (25 - 5) * 4 = 80 </answer>", 0.1, "illegal"),  # '=' is not allowed
        ("<answer> __import__('os') </answer>", 0.1, "illegal"),
        ("<answer> 25 ** 5 ** 4 </answer>", 0.1, "illegal"),  # power is parsed, rejected
        ("<answer> 4 / (5 - 5) * 25 </answer>", 0.1, "numbers"),
        ("the answer is (25 - 5) * 4", 0.0, "no_answer"),
    ],
)
def test_countdown_scores(response, reward, verdict):
    result = get_reward("countdown")(response, _countdown([25, 5, 4], 80), True)
    assert result.reward == reward and result.info["verdict"] == verdict
    assert result.correct == (reward == 1.0)


def test_countdown_division_and_truncation():
    problem = _countdown([6, 4, 3], 8)
    assert get_reward("countdown")("<answer> 6 / 3 * 4 </answer>", problem, True).reward == 1.0
    assert (
        get_reward("countdown")("<answer> 6 / (3 - 3) </answer>", _countdown([6, 3, 3], 8), True).reward
        == 0.1
    )
    assert get_reward("countdown")("<answer> 6 / 3 * 4 </answer>", problem, False).reward == 0.0
    with pytest.raises(ValueError, match="nums"):
        get_reward("countdown")("<answer>1</answer>", _p("1"), True)


def test_compound_all_and_fraction():
    problem = CompoundTask(k=3, scoring="all").sample(np.random.default_rng(3))
    answers = list(problem.meta["answers"])
    gold = get_template("orz").response(problem)
    assert get_reward("compound")(gold, problem, True).reward == 1.0
    wrong_last = "<answer>" + ", ".join([*answers[:2], str(int(answers[2]) + 1)]) + "</answer>"
    assert get_reward("compound")(wrong_last, problem, True).reward == 0.0
    fraction = get_reward("compound_fraction")(wrong_last, problem, True)
    assert fraction.reward == pytest.approx(2 / 3) and fraction.info["sub_correct"] == [True, True, False]
    assert get_reward("compound_fraction")("<answer>" + answers[0] + "</answer>", problem, True).reward == (
        pytest.approx(1 / 3)
    )
    frac_task = CompoundTask(k=3, scoring="fraction").sample(np.random.default_rng(3))
    assert get_reward("compound")(wrong_last, frac_task, True).reward == pytest.approx(2 / 3)
    assert get_reward("compound")(gold, problem, False).reward == 0.0


def test_compound_with_countdown_subproblems():
    problem = CompoundTask(k=2, tasks=("countdown",)).sample(np.random.default_rng(0))
    assert get_reward("compound")(get_template("compact").response(problem), problem, True).reward == 1.0
    # the targets are not valid countdown answers
    assert get_reward("compound")(f"<answer>{problem.answer}</answer>", problem, True).reward == 0.0


def test_reward_registry():
    assert {"math", "countdown", "compound"} <= set(list_rewards())
    with pytest.raises(ValueError, match=r"registered rewards: .*countdown"):
        get_reward("nope")

    def length_reward(response: str, problem: Problem, finished: bool) -> RewardResult:
        return RewardResult(float(len(response)), True, None)

    register_reward("test_length", length_reward)
    assert get_reward("test_length")("abc", _p("1"), True).reward == 3.0
    with pytest.raises(ValueError, match="already registered"):
        register_reward("test_length", length_reward)
    register_reward("test_length", length_reward, override=True)


def test_countdown_task_problem_scores_with_its_solution():
    problem = CountdownTask().sample(np.random.default_rng(5))
    assert (
        get_reward("countdown")(f"<answer>{problem.meta['answer_text']}</answer>", problem, True).reward
        == 1.0
    )
