"""Reasoning environments: single env, vector env layout, held-out split, state round trip, registry."""

from __future__ import annotations

import json

import numpy as np
import pytest

import rlsuite
from rlsuite.core.episodes import SUCCESS_KEYS, episode_flag
from rlsuite.envs.checks import check_all
from rlsuite.envs.reasoning import (
    ArithmeticTask,
    ProblemStream,
    ReasoningEnv,
    ReasoningVectorEnv,
    get_template,
)
from rlsuite.envs.registry import list_envs

REASONING_IDS = [
    "rlsuite/Arithmetic-v0",
    "rlsuite/Countdown-v0",
    "rlsuite/LinearEquation-v0",
    "rlsuite/CompoundQA-v0",
    "rlsuite/ReasoningJSONL-v0",
]


def test_single_env_episode():
    env = ReasoningEnv("arithmetic", template="compact")
    prompt, info = env.reset(seed=3)
    problem = info["problem"]
    assert prompt == f"{problem.question}\n" and info["answer"] == problem.answer
    _, reward, terminated, truncated, info = env.step(f"<answer>{problem.answer}</answer>")
    assert (reward, terminated, truncated, info["correct"], info["success"], info["finished"]) == (
        1.0, True, False, True, True, True,
    )  # fmt: skip
    env.reset()
    wrong = str(int(env.problem.answer) + 1)
    assert env.step(f"<answer>{wrong}</answer>")[1] == 0.0
    env.reset()
    _, reward, _, _, info = env.step(f"<answer>{env.problem.answer}")  # no stop string: truncated
    assert reward == 0.0 and not info["finished"]
    assert env.reset(seed=3)[0] == prompt


def test_vector_env_scores_and_same_step_autoreset():
    env = ReasoningVectorEnv(4, "linear_equation", template="orz")
    prompts, infos = env.reset(seed=0)
    assert len(prompts) == 4 and prompts in env.observation_space
    first = list(env.problems)
    assert list(infos["answer"]) == [p.answer for p in first]
    gold = [get_template("orz").response(p) for p in first]
    responses = [gold[0], gold[1].replace("</answer>", ""), "<answer> \\boxed{1000} </answer>", gold[3]]
    next_prompts, rewards, terminated, truncated, infos = env.step(responses)
    np.testing.assert_array_equal(rewards, [1.0, 0.0, 0.0, 1.0])
    assert terminated.all() and not truncated.any()
    np.testing.assert_array_equal(infos["finished"], [True, False, True, True])
    np.testing.assert_array_equal(infos["correct"], [True, False, False, True])
    assert infos["extracted"][2] == "1000" and list(infos["answer"]) == [p.answer for p in first]
    assert list(infos["final_obs"]) == list(prompts) and next_prompts == env.prompts
    assert [episode_flag(infos, i, SUCCESS_KEYS) for i in range(4)] == [True, False, False, True]
    # explicit finished flags override the stop-string rule
    _, rewards, *_ = env.step(
        [get_template("orz").response(p) for p in env.problems], finished=[False, True] * 2
    )
    np.testing.assert_array_equal(rewards, [0.0, 1.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="step needs 4 responses"):
        env.step(["x"])


def test_group_size_layout():
    env = ReasoningVectorEnv(6, "arithmetic", group_size=3)
    env.reset(seed=1)
    questions = [p.question for p in env.problems]
    assert questions[:3] == [questions[0]] * 3 and questions[3:] == [questions[3]] * 3
    assert questions[0] != questions[3]
    with pytest.raises(ValueError, match="group_size must be a positive int dividing num_envs=6"):
        ReasoningVectorEnv(6, group_size=4)


def test_held_out_split_is_disjoint_fixed_and_ordered():
    kwargs = {
        "task": "arithmetic",
        "test_size": 50,
        "min_digits": 1,
        "max_digits": 1,
    }  # 100 distinct problems
    test = ReasoningVectorEnv(10, split="test", **kwargs)
    held_out = [p.question for p in test.stream.held_out]
    assert len(set(held_out)) == 50
    seen = []
    for seed in (0, 1):
        test.reset(seed=seed)
        batches = [[p.question for p in test.problems]]
        for _ in range(5):
            test.step([""] * 10)
            batches.append([p.question for p in test.problems])
        seen.append(batches)
    assert seen[0] == seen[1]  # independent of the reset seed
    assert [q for batch in seen[0][:5] for q in batch] == held_out and seen[0][5] == held_out[
        :10
    ]  # in order, cycling
    train = ReasoningVectorEnv(10, split="train", **kwargs)
    train.reset(seed=0)
    drawn = set()
    for _ in range(60):
        drawn.update(p.question for p in train.problems)
        train.step([""] * 10)
    assert drawn.isdisjoint(held_out) and len(drawn) == 50  # every non-held-out problem, none held out


def test_held_out_split_for_files(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text(
        "".join(json.dumps({"question": f"{i} + {i}?", "answer": str(2 * i)}) + "\n" for i in range(20))
    )
    test = ProblemStream(rlsuite.envs.reasoning.make_task("jsonl", path=path), "test", test_size=5)
    train_env = ReasoningVectorEnv(8, "jsonl", path=path, test_size=5)
    train_env.reset(seed=0)
    held_out = {p.question for p in test.held_out}
    assert len(held_out) == 5 and held_out == train_env.stream.held_out_questions
    assert not held_out & {p.question for p in train_env.problems}
    with pytest.raises(ValueError, match=r"every problem .* is held out"):
        ReasoningVectorEnv(2, "jsonl", path=path, test_size=20)
    with pytest.raises(ValueError, match="test_size=21 exceeds the 20 distinct problems"):
        ReasoningVectorEnv(2, "jsonl", path=path, test_size=21)
    with pytest.raises(ValueError, match="gave only 9 distinct problems"):  # x in 0..8 with a=1, b=0
        ProblemStream(
            rlsuite.envs.reasoning.make_task("linear_equation", x_max=8, a_max=1, b_max=0, negative=False)
        )


def test_state_round_trip_resumes_exactly():
    env = ReasoningVectorEnv(4, "countdown", group_size=2)
    env.reset(seed=5)
    env.step([""] * 4)
    state, state_problems, state_prompts = env.get_state(), list(env.problems), env.prompts
    expected = []
    for _ in range(3):
        env.step([""] * 4)
        expected.append(env.prompts)
    other = ReasoningVectorEnv(4, "countdown", group_size=2)
    other.set_state(state)
    assert other.problems == state_problems and other.prompts == state_prompts
    got = []
    for _ in range(3):
        other.step([""] * 4)
        got.append(other.prompts)
    assert got == expected
    test_env = ReasoningVectorEnv(2, split="test", test_size=10)
    test_env.reset()
    test_env.step(["", ""])
    position = test_env.get_state()
    after = test_env.step(["", ""])[0]
    test_env.set_state(position)
    assert test_env.step(["", ""])[0] == after


def test_task_object_and_defaults():
    env = ReasoningVectorEnv(2, ArithmeticTask(ops=("*",)), template="compact", reward="math")
    env.reset(seed=0)
    assert all("*" in p.question for p in env.problems)
    assert ReasoningVectorEnv(2, "countdown").template.name == "tinyzero"
    assert ReasoningVectorEnv(2, "compound").reward_fn.__name__ == "compound_reward"
    with pytest.raises(ValueError, match="split='valid'; accepted values: 'train', 'test'"):
        ReasoningVectorEnv(2, split="valid")


def test_registry_ids_and_checks():
    assert set(REASONING_IDS) <= set(list_envs("reasoning"))
    assert check_all(REASONING_IDS) == {}
    env = rlsuite.make_vec("rlsuite/Countdown-v0", 2)
    assert isinstance(env, ReasoningVectorEnv) and env.reward_fn.__name__ == "countdown_reward"
    single = rlsuite.make("rlsuite/ReasoningJSONL-v0")
    prompt, info = single.reset(seed=0)
    assert "This is the problem:" in prompt and info["problem"].task == "jsonl"


def test_vector_seeding_follows_gymnasium_convention():
    """Env i of ``reset(seed=s)`` sees the problems of ``ReasoningEnv().reset(seed=s + i)`` and its later
    resets; with groups, group j those of the env seeded ``s + j * group_size``."""
    for group_size in (1, 2):
        vec = ReasoningVectorEnv(4, "countdown", group_size=group_size)
        batches = [vec.reset(seed=5)[0]]
        for _ in range(2):
            batches.append(vec.step([""] * 4)[0])
        for i in range(0, 4, group_size):
            single = ReasoningEnv("countdown")
            expected = [single.reset(seed=5 + i)[0], single.reset()[0], single.reset()[0]]
            assert [batch[i] for batch in batches] == expected
            assert all(batch[i] == batch[i + group_size - 1] for batch in batches)
    assert len(set(batches[0])) == 2  # groups differ
    with pytest.raises(ValueError, match="seed must be None, a non-negative int or a list"):
        vec.reset(seed=True)
    with pytest.raises(ValueError, match="seed must be None, a non-negative int or a list"):
        vec.reset(seed="1")
