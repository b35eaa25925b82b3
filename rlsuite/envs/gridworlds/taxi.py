"""Taxi (Gymnasium's ``Taxi-v4`` rules and encoding) on a numba-batched core: ``TaxiVectorEnv``, ``TaxiEnv``.

The 5x5 map, depots R(0,0) G(0,4) Y(4,0) B(4,3), actions (0 south, 1 north, 2 east, 3 west, 4 pickup,
5 dropoff), rewards (-1 per step, +20 delivery which terminates, -10 illegal pickup/dropoff; dropping the
passenger at another depot moves them there for -1), the encoding ``((row * 5 + col) * 5 + passenger) * 4
+ destination`` and the ``action_mask`` are Gymnasium's, built by the same rules into transition tables
(:data:`TRANSITIONS`); ``is_rainy`` / ``rainy_probability`` and ``fickle_passenger`` /
``fickle_probability`` follow Gymnasium 1.4's ``Taxi-v4``. Episodes start uniformly on one of the 300
initial states (or ``reset(options={"state": s})``) and truncate at ``max_steps=200`` (Taxi-v4's
``TimeLimit``). Only the random stream differs from Gymnasium (splitmix64 per env, not PCG64).

Observation: ``observation="grid"`` (default) gives ``uint8[4, 5, 5]`` planes (empty taxi, taxi carrying
the passenger, waiting passenger, destination); ``observation="index"`` gives Gymnasium's ``Discrete(500)``.
Info: ``prob`` (probability of the sampled transition), ``action_mask``, ``is_success`` (delivered).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces, utils
from gymnasium.envs.toy_text.utils import categorical_sample
from gymnasium.error import ResetNeeded
from numba import njit, types
from numba.experimental import structref

from rlsuite.envs.batched import KernelStateType
from rlsuite.envs.gridworlds._common import (
    GridCore,
    GridEnv,
    GridVectorEnv,
    check_positive_int,
    check_random_stream,
    rand_float,
    rand_int,
    world_options,
)
from rlsuite.envs.gridworlds.taxi_rules import (
    ACTION_NAMES,
    DESC,
    INITIAL_DISTRIBUTION,
    INITIAL_STATES,
    LOC_NAMES,
    LOCS,
    MAP,
    MASKS,
    NUM_STATES,
    OBSERVATIONS,
    TRANSITIONS,
    build_transitions,
    decode,
    encode,
)
from rlsuite.envs.inputs import check_reset_options, check_reset_seed

__all__ = [
    "ACTION_NAMES",
    "LOCS",
    "MAP",
    "TRANSITIONS",
    "TaxiCore",
    "TaxiEnv",
    "TaxiVectorEnv",
    "decode",
    "encode",
]


# ---------------------------------------------------------------------------------------------------
@njit(cache=True)
def planes_kernel(states, obs):
    """Grid observations ``uint8[k, 4, 5, 5]`` of encoded ``states[k]``."""
    locs = np.array([[0, 0], [0, 4], [4, 0], [4, 3]])
    for j in range(states.shape[0]):
        st = states[j]
        row, col, p, d = st // 100, (st // 20) % 5, (st // 4) % 5, st % 4
        obs[j] = 0
        obs[j, 1 if p == 4 else 0, row, col] = 1
        if p < 4:
            obs[j, 2, locs[p, 0], locs[p, 1]] = 1
        obs[j, 3, locs[d, 0], locs[d, 1]] = 1


# The kernel state of a TaxiCore: its arrays and the rules, one numba value (see KernelState).
TAXI_STATE = KernelStateType(
    [
        ("states", types.int64[::1]),  # encoded state per env
        ("fickle_step", types.boolean[::1]),  # the passenger may still change destination
        ("steps", types.int64[::1]),
        ("last_action", types.int64[::1]),
        ("rng", types.uint64[::1]),
        ("next_state", types.int64[:, :, ::1]),  # transition tables [500, 6, k]: outcome j of (s, a)
        ("outcome_prob", types.float64[:, :, ::1]),
        ("outcome_reward", types.float64[:, :, ::1]),
        ("outcome_terminates", types.boolean[:, :, ::1]),
        ("outcome_count", types.int64[:, ::1]),
        ("mask_table", types.int8[:, ::1]),  # action mask per encoded state
        ("initial_states", types.int64[::1]),
        ("fickle", types.boolean),
        ("fickle_probability", types.float64),
        ("max_steps", types.int64),
        ("action_mask", types.int8[:, ::1]),  # info rows
        ("is_success", types.boolean[::1]),
        ("prob", types.float64[::1]),
        ("final_states", types.int64[::1]),  # rows of the envs that finished on the last step
        ("final_action_mask", types.int8[:, ::1]),
        ("final_is_success", types.boolean[::1]),
        ("final_prob", types.float64[::1]),
        ("done_idx", types.int64[::1]),
    ]
)


@njit(cache=True)
def taxi_state(
    states,
    fickle_step,
    steps,
    last_action,
    rng,
    next_state,
    outcome_prob,
    outcome_reward,
    outcome_terminates,
    outcome_count,
    mask_table,
    initial_states,
    fickle,
    fickle_probability,
    max_steps,
    action_mask,
    is_success,
    prob,
    final_states,
    final_action_mask,
    final_is_success,
    final_prob,
    done_idx,
):
    """Bundle a TaxiCore's arrays (shared, not copied) and rules as its kernel state."""
    taxi = structref.new(TAXI_STATE)
    taxi.states, taxi.fickle_step, taxi.steps, taxi.last_action, taxi.rng = (
        states,
        fickle_step,
        steps,
        last_action,
        rng,
    )
    taxi.next_state, taxi.outcome_prob, taxi.outcome_reward = next_state, outcome_prob, outcome_reward
    taxi.outcome_terminates, taxi.outcome_count = outcome_terminates, outcome_count
    taxi.mask_table, taxi.initial_states = mask_table, initial_states
    taxi.fickle, taxi.fickle_probability, taxi.max_steps = fickle, fickle_probability, max_steps
    taxi.action_mask, taxi.is_success, taxi.prob = action_mask, is_success, prob
    taxi.final_states, taxi.final_action_mask = final_states, final_action_mask
    taxi.final_is_success, taxi.final_prob, taxi.done_idx = final_is_success, final_prob, done_idx
    return taxi


@njit(cache=True)
def _new_episode(taxi, i):
    """Env ``i`` starts on a random initial state (with a fickle passenger at ``fickle_probability``)."""
    taxi.states[i] = taxi.initial_states[rand_int(taxi.rng, i, taxi.initial_states.size)]
    taxi.fickle_step[i] = taxi.fickle and rand_float(taxi.rng, i) < taxi.fickle_probability
    taxi.steps[i] = 0
    taxi.last_action[i] = -1


@njit(cache=True)
def reset_kernel(taxi, mask, start):
    """New episodes in the masked envs (from ``start[i]`` where it is >= 0), with fresh info rows."""
    for i in range(mask.shape[0]):
        if mask[i]:
            _new_episode(taxi, i)
            if start[i] >= 0:
                taxi.states[i] = start[i]
            taxi.action_mask[i] = taxi.mask_table[taxi.states[i]]
            taxi.is_success[i] = False
            taxi.prob[i] = 1.0


@njit(cache=True)
def step_kernel(taxi, actions, autoreset, rewards, terminated, truncated):
    """Advance every taxi one step (same-step autoreset if ``autoreset``); returns the finished count."""
    states, fickle_step, steps, rng, mask_table = (
        taxi.states,
        taxi.fickle_step,
        taxi.steps,
        taxi.rng,
        taxi.mask_table,
    )
    next_state, outcome_count, outcome_prob = taxi.next_state, taxi.outcome_count, taxi.outcome_prob
    outcome_reward, outcome_terminates, last_action = (
        taxi.outcome_reward,
        taxi.outcome_terminates,
        taxi.last_action,
    )
    masks, success, probs = taxi.action_mask, taxi.is_success, taxi.prob
    fickle, max_steps = taxi.fickle, taxi.max_steps
    ndone = 0
    for i in range(actions.shape[0]):
        a, st = actions[i], states[i]
        k = 0
        if outcome_count[st, a] > 1:  # Gymnasium's categorical_sample: first index with cumsum > u
            u = rand_float(rng, i)
            cumulative = 0.0
            for j in range(outcome_count[st, a]):
                cumulative += outcome_prob[st, a, j]
                if cumulative > u:
                    k = j
                    break
        ns = next_state[st, a, k]
        if fickle and fickle_step[i] and (st // 4) % 5 == 4 and ns // 20 != st // 20:
            fickle_step[i] = False
            j = rand_int(rng, i, 3)
            new_dest = j if j < st % 4 else j + 1
            ns = ns - ns % 4 + new_dest
        states[i], last_action[i] = ns, a
        steps[i] += 1
        rewards[i] = outcome_reward[st, a, k]
        terminated[i] = outcome_terminates[st, a, k]
        truncated[i] = steps[i] >= max_steps
        masks[i] = mask_table[ns]
        success[i] = outcome_terminates[st, a, k]
        probs[i] = outcome_prob[st, a, k]
        if terminated[i] or truncated[i]:
            taxi.done_idx[ndone] = i
            if autoreset:
                taxi.final_states[ndone] = ns
                taxi.final_action_mask[ndone] = masks[i]
                taxi.final_is_success[ndone], taxi.final_prob[ndone] = success[i], probs[i]
                _new_episode(taxi, i)
                masks[i], success[i], probs[i] = mask_table[states[i]], False, 1.0
            ndone += 1
    return ndone


# ---------------------------------------------------------------------------------------------------
class TaxiCore(GridCore):
    """The encoded states of ``n`` taxis, their fickle flags and counters, on table-driven kernels."""

    num_actions = 6
    reward_type = int  # Gymnasium's Taxi rewards are ints (-1, 20, -10)
    state_keys = ("s", "fickle_step", "steps", "last_action")
    world_keys = ("s",)
    kernel_fields = frozenset((*state_keys, "tables", "final_states"))

    def __init__(
        self,
        n: int,
        is_rainy: bool,
        fickle_passenger: bool,
        rainy_probability: float,
        fickle_probability: float,
        max_steps: int,
        observation: str,
    ):
        if observation not in OBSERVATIONS:
            raise ValueError(f"observation must be one of {OBSERVATIONS}, got {observation!r}")
        self.index_obs = observation == "index"
        self.obs_shape = () if self.index_obs else (4, 5, 5)
        self.obs_dtype = np.int64 if self.index_obs else np.uint8
        super().__init__(n, extra_info={"prob": np.float64})
        self.tables = (
            TRANSITIONS["dry"] if not is_rainy else build_transitions(True, float(rainy_probability))
        )
        self.fickle, self.fickle_p = bool(fickle_passenger), float(fickle_probability)
        self.max_steps = check_positive_int("max_steps", max_steps)
        self.s = np.zeros(n, dtype=np.int64)
        self.fickle_step = np.zeros(n, dtype=np.bool_)
        self.steps = np.zeros(n, dtype=np.int64)
        self.last_action = np.full(n, -1, dtype=np.int64)
        self.final_states = np.zeros(n, dtype=np.int64)

    def _reset(self, mask: np.ndarray, options: dict[str, Any]) -> None:
        start = np.full(self.n, -1, dtype=np.int64)
        if options.get("state") is not None:
            start[:] = np.broadcast_to(np.asarray(options["state"], dtype=np.int64), (self.n,))
            if ((start < 0) | (start >= NUM_STATES)).any():
                raise ValueError(
                    f"options['state'] must be encoded states in [0, 500), got {options['state']!r}"
                )
        reset_kernel(self.kernel_state, mask, start)

    def _observe(self, out: np.ndarray) -> None:
        self._encode(self.s, out)

    def _encode(self, states: np.ndarray, out: np.ndarray) -> None:
        if self.index_obs:
            out[:] = states
        else:
            planes_kernel(states, out)

    def _kernel_state(self):
        info, final = self.info, self.final
        return taxi_state(
            self.s,
            self.fickle_step,
            self.steps,
            self.last_action,
            self.rng,
            *self.tables,
            MASKS,
            INITIAL_STATES,
            self.fickle,
            self.fickle_p,
            self.max_steps,
            info["action_mask"],
            info["is_success"],
            info["prob"],
            self.final_states,
            final["action_mask"],
            final["is_success"],
            final["prob"],
            self.done_idx,
        )

    def _step(self, actions, autoreset, obs, rewards, terminated, truncated) -> int:
        ndone = step_kernel(self.kernel_state, actions, autoreset, rewards, terminated, truncated)
        self._encode(self.s, obs)
        if ndone and autoreset:
            self._encode(self.final_states[:ndone], self.final_obs[:ndone])
        return ndone

    def step_drawing_from(self, action: int, rng: np.random.Generator) -> tuple[int, bool, bool]:
        """Env 0's step with Gymnasium's ``TaxiEnv.step`` draws on ``rng`` (one ``categorical_sample`` per
        step, ``rng.choice`` for a fickle destination); returns ``(reward, terminated, truncated)``."""
        if self.needs_reset:
            raise ResetNeeded("Call reset() before step().")
        if not 0 <= action < self.num_actions:
            raise ValueError(f"invalid action {action!r}: actions are ints in [0, {self.num_actions})")
        nxt, prob, rew, term, count = self.tables
        st = int(self.s[0])
        k = int(categorical_sample(prob[st, action, : count[st, action]], rng))
        ns = int(nxt[st, action, k])
        if self.fickle and self.fickle_step[0] and (st // 4) % 5 == 4 and ns // 20 != st // 20:
            self.fickle_step[0] = False
            ns = ns - ns % 4 + int(rng.choice([d for d in range(4) if d != st % 4]))
        self.s[0], self.last_action[0] = ns, action
        self.steps[0] += 1
        self.info["action_mask"][0] = MASKS[ns]
        self.info["is_success"][0] = term[st, action, k]
        self.info["prob"][0] = prob[st, action, k]
        return int(rew[st, action, k]), bool(term[st, action, k]), bool(self.steps[0] >= self.max_steps)

    def render(self, i: int, mode: str) -> Any:
        from rlsuite.envs.gridworlds.render import taxi_rgb

        s, last = int(self.s[i]), int(self.last_action[i])
        if mode == "rgb_array":
            return taxi_rgb(decode(s))
        return taxi_ansi(s, last) if mode == "ansi" else taxi_text(s)


def taxi_ansi(s: int, last_action: int = -1) -> str:
    """Gymnasium's ``TaxiEnv._render_text`` (ANSI colours, last action in brackets)."""
    out = [[c.decode("utf-8") for c in line] for line in DESC.copy().tolist()]
    row, col, p, d = decode(s)
    if p < 4:
        out[1 + row][2 * col + 1] = utils.colorize(out[1 + row][2 * col + 1], "yellow", highlight=True)
        pi, pj = LOCS[p]
        out[1 + pi][2 * pj + 1] = utils.colorize(out[1 + pi][2 * pj + 1], "blue", bold=True)
    else:
        cell = out[1 + row][2 * col + 1]
        out[1 + row][2 * col + 1] = utils.colorize("_" if cell == " " else cell, "green", highlight=True)
    di, dj = LOCS[d]
    out[1 + di][2 * dj + 1] = utils.colorize(out[1 + di][2 * dj + 1], "magenta")
    text = "\n".join("".join(r) for r in out) + "\n"
    return text + (f"  ({ACTION_NAMES[last_action]})\n" if last_action >= 0 else "\n")


def taxi_text(s: int) -> str:
    """Plain map with the taxi drawn as ``T`` plus one line on the passenger and destination."""
    row, col, p, d = decode(s)
    out = [list(line) for line in MAP]
    out[1 + row][2 * col + 1] = "T"
    where = "in the taxi" if p == 4 else f"waiting at {LOC_NAMES[p]}"
    return "\n".join("".join(r) for r in out) + f"\nPassenger: {where}. Destination: {LOC_NAMES[d]}."


def _defaults(
    is_rainy: bool = False,
    fickle_passenger: bool = False,
    rainy_probability: float = 0.8,
    fickle_probability: float = 0.3,
    max_steps: int = 200,
    observation: str = "grid",
) -> dict[str, Any]:
    return dict(locals())


def _obs_space(core: TaxiCore) -> spaces.Space:
    return spaces.Discrete(NUM_STATES) if core.index_obs else spaces.Box(0, 1, core.obs_shape, dtype=np.uint8)


_DOC_KWARGS = """
    Keyword arguments: ``is_rainy=False``, ``fickle_passenger=False``, ``rainy_probability=0.8``,
    ``fickle_probability=0.3``, ``max_steps=200``, ``observation="grid"`` or ``"index"``, ``render_mode``.
    ``reset(options={"state": s})`` starts from encoded state ``s`` (an int, or one per env).
"""


class TaxiVectorEnv(GridVectorEnv):
    __doc__ = "``num_envs`` taxis on one numba core (same-step autoreset).\n" + _DOC_KWARGS

    def __init__(
        self, num_envs: int = 1, render_mode: str | None = None, random_stream: str = "core", **kwargs: Any
    ):
        check_random_stream(random_stream, single_env=False)
        core = TaxiCore(check_positive_int("num_envs", num_envs), **world_options(_defaults, kwargs, "Taxi"))
        self._setup(core, _obs_space(core), render_mode)


class TaxiEnv(GridEnv):
    __doc__ = (
        "One taxi on the batched core's kernels.\n"
        + _DOC_KWARGS
        + """
    ``random_stream="gymnasium"`` draws the start state, the fickle flag, rainy outcomes and fickle
    destinations from ``np_random`` (PCG64) exactly as Gymnasium's ``TaxiEnv`` does, so with
    ``observation="index"`` the env reproduces ``gymnasium.make("Taxi-v4")`` episode for episode under the
    same seeds and actions (its info adds ``is_success``). The default ``"core"`` uses the core's
    splitmix64 stream, shared with the vector env.
"""
    )

    def __init__(self, render_mode: str | None = None, random_stream: str = "core", **kwargs: Any):
        self.random_stream = check_random_stream(random_stream, single_env=True)
        core = TaxiCore(1, **world_options(_defaults, kwargs, "Taxi"))
        self._setup(core, _obs_space(core), render_mode)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        if self.random_stream == "core":
            return super().reset(seed=seed, options=options)
        options = check_reset_options(options)
        gym.Env.reset(self, seed=check_reset_seed(seed))
        if options.get("state") is None:  # TaxiEnv.reset's draws: the start state, then the fickle flag
            options["state"] = int(categorical_sample(INITIAL_DISTRIBUTION, self.np_random))
        core = self._core
        obs = core.reset(np.ones(1, dtype=np.bool_), options)
        core.fickle_step[0] = core.fickle and self.np_random.random() < core.fickle_p
        self._over = False
        return self._single_obs(obs), core.single_info(0)

    def step(self, action: Any) -> tuple[Any, int, bool, bool, dict[str, Any]]:
        if self.random_stream == "core":
            return super().step(action)
        core = self._core
        self._check_running()
        reward, terminated, truncated = core.step_drawing_from(self._action_int(action), self.np_random)
        self._over = terminated or truncated
        obs = np.empty((1, *core.obs_shape), dtype=core.obs_dtype)
        core._observe(obs)
        return self._single_obs(obs), reward, terminated, truncated, core.single_info(0)

    @property
    def s(self) -> int:
        """The encoded state (Gymnasium's ``TaxiEnv.s``)."""
        return int(self._core.s[0])

    @property
    def lastaction(self) -> int | None:
        last = int(self._core.last_action[0])
        return None if last < 0 else last
