"""Single-turn reasoning environments: the observation is a prompt, the action is the model's response.

:class:`ReasoningEnv` (``gymnasium.Env``) and :class:`ReasoningVectorEnv` (``gymnasium.vector.VectorEnv``,
same-step autoreset) share one construction: a task (:mod:`.tasks`), a prompt template (:mod:`.templates`),
a reward function (:mod:`.rewards`) and a problem stream with a held-out split (:mod:`.stream`). Every
episode is one step: ``step(response)`` scores the response and ends the episode.

``finished``: whether the response ended by one of the template's stop strings (after ``rstrip``), or
True when the template has none; the vector env also takes it explicitly (e.g. from the sampler's
end-of-sequence flags). Unfinished (truncated) responses score 0.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from rlsuite.envs.inputs import EpisodeOver, check_reset_options, check_reset_seed, check_vector_seed
from rlsuite.envs.reasoning.problem import Problem, Task
from rlsuite.envs.reasoning.rewards import RewardFn, RewardResult, get_reward
from rlsuite.envs.reasoning.stream import DEFAULT_TEST_SEED, ProblemStream, train_stream_seed
from rlsuite.envs.reasoning.tasks import make_task
from rlsuite.envs.reasoning.templates import PromptTemplate, get_template

__all__ = ["ACTION_MAX_LENGTH", "OBS_MAX_LENGTH", "ReasoningEnv", "ReasoningVectorEnv"]

BASE_CHARSET = frozenset(string.printable)
OBS_MAX_LENGTH = 16384
ACTION_MAX_LENGTH = 8192  # the action space's bound for sampling and checks; step accepts any length


class _ReasoningCore:
    """Construction shared by both environments."""

    def _build(
        self,
        task: str | Task,
        template: str | PromptTemplate | None,
        reward: str | RewardFn | None,
        split: str,
        test_size: int | None,
        test_seed: int,
        task_kwargs: dict[str, Any],
    ) -> None:
        self.task = make_task(task, **task_kwargs)
        self.template = get_template(template if template is not None else self.task.default_template)
        self.reward_fn = get_reward(reward if reward is not None else self.task.default_reward)
        self.stream = ProblemStream(self.task, split, test_size, test_seed)
        self.split = split
        charset, max_length = set(BASE_CHARSET), OBS_MAX_LENGTH
        if self.task.problems is not None:  # file tasks: accept every character and length the file holds
            for problem in self.task.problems:
                prompt = self.template.prompt(problem)
                charset.update(prompt)
                max_length = max(max_length, len(prompt))
        self._charset = frozenset(charset)
        self.prompt_space = spaces.Text(max_length, min_length=1, charset=self._charset)
        self.response_space = spaces.Text(ACTION_MAX_LENGTH, min_length=0, charset=self._charset)

    def prompts_for(self, problems: Sequence[Problem]) -> tuple[str, ...]:
        """The template's prompts for ``problems`` (characters outside the space become ``?``)."""
        return tuple(self._prompt(p) for p in problems)

    def _prompt(self, problem: Problem) -> str:
        text = self.template.prompt(problem)
        if not set(text) <= self._charset:
            text = "".join(ch if ch in self._charset else "?" for ch in text)
        return text[: self.prompt_space.max_length]

    def score(self, response: str, problem: Problem, finished: bool | None = None) -> RewardResult:
        """The reward function's verdict on one response (``finished`` None: the stop-string rule)."""
        if finished is None:
            finished = self.template.finished(response)
        result = self.reward_fn(response, problem, bool(finished))
        result.info.setdefault("finished", bool(finished))
        return result


class ReasoningEnv(_ReasoningCore, gym.Env):
    """One prompt per episode. ``reset`` -> ``(prompt, {"problem", "answer"})``; ``step(response)`` ->
    ``(prompt, reward, True, False, {"correct", "extracted", "answer", "finished", "success", ...})``.

    Arguments as :class:`ReasoningVectorEnv` without ``num_envs``/``group_size``.
    """

    metadata = {"render_modes": ["ansi"]}  # noqa: RUF012

    def __init__(
        self,
        task: str | Task = "arithmetic",
        template: str | PromptTemplate | None = None,
        reward: str | RewardFn | None = None,
        *,
        split: str = "train",
        test_size: int | None = 200,
        test_seed: int = DEFAULT_TEST_SEED,
        render_mode: str | None = None,
        **task_kwargs: Any,
    ) -> None:
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode={render_mode!r}; accepted values: None, 'ansi'")
        self._build(task, template, reward, split, test_size, test_seed, task_kwargs)
        self.render_mode = render_mode
        self.observation_space = self.prompt_space
        self.action_space = self.response_space
        self.problem: Problem | None = None
        self._over = True
        self._prompt_text = ""

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict]:
        check_reset_options(options)
        super().reset(seed=check_reset_seed(seed))
        if seed is not None or self.stream.rng is None:
            self.stream.seed(int(self.np_random.integers(2**63)))  # = train_stream_seed(seed) when seeded
        self.problem = self.stream.next()
        self._over = False
        self._prompt_text = self._prompt(self.problem)
        return self._prompt_text, {"problem": self.problem, "answer": self.problem.answer}

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self.problem is None or self._over:
            raise EpisodeOver()
        self._over = True  # every episode is one step
        result = self.score(action, self.problem)
        info = {
            "correct": bool(result.correct),
            "extracted": result.extracted,
            "answer": self.problem.answer,
            "finished": bool(result.info["finished"]),
            "success": bool(result.correct),
            "reward_info": result.info,
        }
        return self._prompt_text, float(result.reward), True, False, info

    def render(self) -> str | None:
        return self._prompt_text if self.render_mode == "ansi" else None


def _objects(values: Sequence[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


class ReasoningVectorEnv(_ReasoningCore, gym.vector.VectorEnv):
    """``num_envs`` prompts per batch; every step scores all responses and draws the next batch
    (same-step autoreset).

    ``task``: a task name or :class:`Task` (``task_kwargs`` build it); ``template`` / ``reward``: names or
    objects (None: the task's defaults); ``group_size``: consecutive groups of that many envs share one
    problem; ``split``: ``"train"`` (seeded streams without held-out questions) or ``"test"`` (the
    held-out set of ``test_size`` problems from ``test_seed``, in order, cycling; reset rewinds it).

    Seeding follows Gymnasium's vector convention on the train split: each group draws from its own
    stream, and ``reset(seed=s)`` gives group ``j`` the stream of a :class:`ReasoningEnv` reset with
    ``s + j * group_size`` (its first env's index), so with ``group_size=1`` env ``i`` sees exactly the
    problems ``ReasoningEnv().reset(seed=s + i)`` and its following resets see. A list of seeds gives one
    per env (a group takes its first env's). The test split is a fixed walk, independent of seeds.
    """

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}  # noqa: RUF012

    def __init__(
        self,
        num_envs: int = 1,
        task: str | Task = "arithmetic",
        template: str | PromptTemplate | None = None,
        reward: str | RewardFn | None = None,
        *,
        group_size: int = 1,
        split: str = "train",
        test_size: int | None = 200,
        test_seed: int = DEFAULT_TEST_SEED,
        **task_kwargs: Any,
    ) -> None:
        if not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive int, got {num_envs!r}")
        if not isinstance(group_size, int) or group_size < 1 or num_envs % group_size:
            raise ValueError(
                f"group_size must be a positive int dividing num_envs={num_envs}, got {group_size!r}"
            )
        self._build(task, template, reward, split, test_size, test_seed, task_kwargs)
        self.num_envs, self.group_size = num_envs, group_size
        self.single_observation_space = self.prompt_space
        self.single_action_space = self.response_space
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.render_mode = None
        self.problems: list[Problem] = []
        self.prompts: tuple[str, ...] = ()
        self._rngs: list[np.random.Generator] | None = None  # one train stream per group

    def _next_batch(self) -> tuple[str, ...]:
        if self.split == "test":
            groups = [self.stream.next() for _ in range(self.num_envs // self.group_size)]
        else:
            if self._rngs is None:  # never seeded: fresh entropy, as an unseeded ReasoningEnv
                self._rngs = [np.random.default_rng() for _ in range(self.num_envs // self.group_size)]
            groups = [self.stream.draw(rng) for rng in self._rngs]
        self.problems = [p for p in groups for _ in range(self.group_size)]
        self.prompts = self.prompts_for(self.problems)
        return self.prompts

    def _reset_infos(self) -> dict[str, Any]:
        ones = np.ones(self.num_envs, bool)
        return {
            "problem": _objects(self.problems),
            "_problem": ones,
            "answer": _objects([p.answer for p in self.problems]),
            "_answer": ones.copy(),
        }

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[tuple[str, ...], dict]:
        """A new batch; ``seed`` (an int, or one int per env) re-seeds the train streams (see the class
        docstring) and rewinds the test split; ``None`` continues them."""
        check_reset_options(options)
        seed = check_vector_seed(seed, self.num_envs)
        if seed is not None:
            leaders = range(0, self.num_envs, self.group_size)
            seeds = [seed[i] for i in leaders] if isinstance(seed, list) else [seed + i for i in leaders]
            rngs: list[np.random.Generator | None] = list(self._rngs or [None] * len(seeds))
            for group, group_seed in enumerate(seeds):  # None in a list keeps that group's stream
                if group_seed is not None:
                    rngs[group] = np.random.default_rng(train_stream_seed(group_seed))
                elif rngs[group] is None:
                    rngs[group] = np.random.default_rng()
            self._rngs = rngs
            self.stream.seed(None)  # rewinds the test split
        return self._next_batch(), self._reset_infos()

    def step(
        self, actions: Sequence[str], finished: Sequence[bool] | None = None
    ) -> tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Score ``actions`` (one response per env) against the current batch, then draw the next."""
        if not self.problems:
            raise RuntimeError("call reset() before step()")
        if len(actions) != self.num_envs or (finished is not None and len(finished) != self.num_envs):
            raise ValueError(f"step needs {self.num_envs} responses (and finished flags, if given)")
        flags = [None] * self.num_envs if finished is None else [bool(f) for f in finished]
        results = [self.score(str(a), p, f) for a, p, f in zip(actions, self.problems, flags)]
        rewards = np.array([r.reward for r in results], np.float64)
        ones = np.ones(self.num_envs, bool)
        step_info = {
            "correct": np.array([r.correct for r in results], bool),
            "success": np.array([r.correct for r in results], bool),
            "finished": np.array([r.info["finished"] for r in results], bool),
            "extracted": _objects([r.extracted for r in results]),
            "answer": _objects([p.answer for p in self.problems]),
            "reward_info": _objects([r.info for r in results]),
        }
        step_info.update({f"_{k}": ones.copy() for k in list(step_info)})
        final_obs = _objects(self.prompts)
        next_prompts = self._next_batch()
        infos = {
            **step_info,
            "final_info": dict(step_info),
            "_final_info": ones.copy(),
            "final_obs": final_obs,
            "_final_obs": ones.copy(),
        }
        return next_prompts, rewards, ones.copy(), np.zeros(self.num_envs, bool), infos

    def get_state(self) -> dict[str, Any]:
        """The train streams' RNG states, the position in the test split and the current batch."""
        rngs = None if self._rngs is None else [rng.bit_generator.state for rng in self._rngs]
        return {
            "rngs": rngs,
            "test_pos": self.stream.test_pos,
            "problems": [p.to_dict() for p in self.problems],
        }

    def set_state(self, state: dict[str, Any]) -> None:
        problems = [Problem.from_dict(d) for d in state["problems"]]
        if problems and len(problems) != self.num_envs:
            raise ValueError(f"state holds {len(problems)} problems; this env has num_envs={self.num_envs}")
        self.stream.set_state({"rng": None, "test_pos": state["test_pos"]})
        self._rngs = _generators(state, self.num_envs // self.group_size)
        self.problems = problems
        self.prompts = self.prompts_for(problems)


def _generators(state: dict[str, Any], groups: int) -> list[np.random.Generator] | None:
    """The per-group generators of a ``get_state`` dict. A state saved before per-group streams holds one
    ``rng``: each group's stream is then seeded from its draws (a deterministic, not bit-exact, resume)."""
    if "rngs" not in state:
        if state.get("rng") is None:
            return None
        legacy = np.random.default_rng()
        legacy.bit_generator.state = state["rng"]
        return [np.random.default_rng(int(legacy.integers(2**63))) for _ in range(groups)]
    if state["rngs"] is None:
        return None
    if len(state["rngs"]) != groups:
        raise ValueError(f"state holds {len(state['rngs'])} streams; this env has {groups} groups")
    rngs = []
    for saved in state["rngs"]:
        rng = np.random.default_rng()
        rng.bit_generator.state = saved
        rngs.append(rng)
    return rngs
