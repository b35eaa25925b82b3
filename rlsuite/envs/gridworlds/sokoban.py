"""Sokoban (gym-sokoban rules and generator) on a numba-batched core: ``SokobanVectorEnv`` and ``SokobanEnv``.

Dynamics and rewards are gym-sokoban's: ``-0.1`` per step, ``+1`` for a box pushed onto a target, ``-1``
for one pushed off, ``+10`` when every box is on a target (terminates); ``max_steps`` truncates. Actions:
by default the four push-or-move directions (0 up, 1 down, 2 left, 3 right = gym-sokoban ids 1-4, as RAGEN
uses them); ``full_action_space=True`` gives gym-sokoban's nine (0 no-op, 1-4 push, 5-8 move).

Observation: ``uint8[7, h, w]`` one-hot cell types (wall, floor, target, box on target, box, player,
player on target). Levels come from reverse play in numba (see :mod:`.sokoban_kernels`), generated at
every reset from the env's own PRNG stream, or drawn from a pool: ``pool_size`` levels pre-generated from
``pool_seed`` (fast resets for large batches), or the user's ``levels`` (text, XSB or RAGEN symbols).
``reset(options={"level": text})`` plays a given level.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from rlsuite.envs.gridworlds import render as R
from rlsuite.envs.gridworlds import sokoban_kernels as K
from rlsuite.envs.gridworlds._common import (
    GridCore,
    GridEnv,
    GridVectorEnv,
    check_positive_int,
    world_options,
)

__all__ = ["SokobanCore", "SokobanEnv", "SokobanVectorEnv", "level_text", "parse_level"]

# symbol -> (fixed code, state code); XSB and RAGEN symbols
_SYMBOLS = {
    "#": (0, 0),
    " ": (1, 1),
    "_": (1, 1),
    "-": (1, 1),
    ".": (2, 2),
    "O": (2, 2),
    "$": (1, 4),
    "X": (1, 4),
    "*": (2, 3),
    "√": (2, 3),
    "@": (1, 5),
    "P": (1, 5),
    "+": (2, 5),
    "S": (2, 5),
}


def parse_level(text: str, shape: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(fixed, state)`` ``uint8`` arrays from a level drawn in XSB or RAGEN symbols.

    Short rows are padded with walls, a level not enclosed by walls gets a wall border, and ``shape``
    pads the room (bottom/right, with walls) to that size.
    """
    rows = [line.rstrip("\n") for line in text.strip("\n").splitlines()]
    if not rows:
        raise ValueError("empty Sokoban level")
    fixed = np.zeros((len(rows), max(len(r) for r in rows)), dtype=np.uint8)
    state = np.zeros_like(fixed)
    for r, row in enumerate(rows):
        for c, ch in enumerate(row):
            if ch not in _SYMBOLS:
                raise ValueError(f"unknown Sokoban symbol {ch!r} at row {r}, column {c}")
            fixed[r, c], state[r, c] = _SYMBOLS[ch]
    boxes = int(np.isin(state, (3, 4)).sum())
    if (state == 5).sum() != 1 or boxes < 1 or boxes != int((fixed == 2).sum()):
        raise ValueError("a level needs exactly one player, at least one box and as many targets as boxes")
    ring = np.ones(fixed.shape, dtype=bool)
    ring[1:-1, 1:-1] = False
    if fixed[ring].any():  # the kernels rely on a wall border
        fixed, state = np.pad(fixed, 1), np.pad(state, 1)
    if shape is not None:
        h, w = shape
        if fixed.shape[0] > h or fixed.shape[1] > w:
            raise ValueError(f"level of shape {fixed.shape} does not fit the room shape {tuple(shape)}")
        pad = ((0, h - fixed.shape[0]), (0, w - fixed.shape[1]))
        fixed, state = np.pad(fixed, pad), np.pad(state, pad)
    return fixed, state


def level_text(fixed: np.ndarray, state: np.ndarray, symbols: str = "ragen") -> str:
    """Inverse of :func:`parse_level`."""
    return R.sokoban_text(fixed, state, symbols)


def _dims(dim_room: Any) -> tuple[int, int]:
    h, w = (int(v) for v in dim_room)
    if h < 3 or w < 3 or h * w > 256:
        raise ValueError(f"dim_room must be at least (3, 3) with at most 256 cells, got {dim_room!r}")
    return h, w


class SokobanCore(GridCore):
    """The arrays of ``n`` Sokoban envs (``fixed``/``state`` rooms, player, counters) and their kernels."""

    obs_dtype = np.uint8
    state_keys = ("fixed", "state", "player", "steps", "on_target", "n_targets")
    world_keys = ("state",)
    kernel_fields = frozenset((*state_keys, "pool_fixed", "pool_state", "gparams", "rparams"))

    def __init__(
        self,
        n: int,
        dim_room: tuple[int, int],
        num_boxes: int,
        max_steps: int,
        search_depth: int,
        max_states: int,
        p_change_directions: float,
        num_gen_steps: int | None,
        pool: tuple[np.ndarray, np.ndarray] | None,
        full_action_space: bool,
        rewards: tuple[float, float, float, float],
    ):
        self.h, self.w = _dims(dim_room)
        self.num_actions = 9 if full_action_space else 4
        self.offset = 0 if full_action_space else 1
        self.obs_shape = (K.NUM_CELL_TYPES, self.h, self.w)
        super().__init__(n)
        if not 1 <= num_boxes <= 7:
            raise ValueError(f"num_boxes must be in [1, 7], got {num_boxes!r}")
        if search_depth < 2:
            raise ValueError(f"search_depth must be >= 2, got {search_depth!r}")
        self.max_steps = check_positive_int("max_steps", max_steps)
        gen_steps = int(1.7 * (self.h + self.w)) if num_gen_steps is None else int(num_gen_steps)
        self.gparams = np.array([num_boxes, gen_steps, search_depth, max_states, 1000], dtype=np.int64)
        self.p_change = float(p_change_directions)
        self.rparams = np.array(rewards, dtype=np.float64)
        empty = np.zeros((0, self.h, self.w), dtype=np.uint8)
        self.pool_fixed, self.pool_state = pool if pool is not None else (empty, empty)
        self.fixed = np.zeros((n, self.h, self.w), dtype=np.uint8)
        self.state = np.zeros((n, self.h, self.w), dtype=np.uint8)
        self.player = np.zeros((n, 2), dtype=np.int64)
        self.steps = np.zeros(n, dtype=np.int64)
        self.on_target = np.zeros(n, dtype=np.int64)
        self.n_targets = np.zeros(n, dtype=np.int64)
        self.failures = np.zeros(1, dtype=np.int64)

    def _kernel_state(self):
        return K.sokoban_state(
            self.fixed,
            self.state,
            self.player,
            self.steps,
            self.on_target,
            self.n_targets,
            self.rng,
            self.pool_fixed,
            self.pool_state,
            self.gparams,
            self.p_change,
            self.rparams,
            self.offset,
            self.max_steps,
            self.info["action_mask"],
            self.info["is_success"],
            self.final_obs,
            self.final["action_mask"],
            self.final["is_success"],
            self.done_idx,
            self.failures,
        )

    def _reset(self, mask: np.ndarray, options: dict[str, Any]) -> None:
        level = options.get("level")
        pool = (self.pool_fixed, self.pool_state)
        if level is not None:
            fixed, state = parse_level(level, (self.h, self.w)) if isinstance(level, str) else level
            pool = (np.asarray(fixed, np.uint8)[None], np.asarray(state, np.uint8)[None])  # a one-level pool
        failures = K.reset_kernel(self.kernel_state, *pool, mask)
        if failures:
            raise RuntimeError(f"no Sokoban level found for these settings (gparams={self.gparams.tolist()})")

    def _observe(self, out: np.ndarray) -> None:
        K.observe_kernel(self.fixed, self.state, out)

    def _step(self, actions, autoreset, obs, rewards, terminated, truncated) -> int:
        ndone = K.step_kernel(self.kernel_state, actions, autoreset, obs, rewards, terminated, truncated)
        if self.failures[0]:
            raise RuntimeError("Sokoban level generation failed during autoreset")
        return ndone

    def render(self, i: int, mode: str) -> Any:
        if mode == "rgb_array":
            return R.sokoban_rgb(self.fixed[i], self.state[i])
        if mode == "ansi":
            return R.sokoban_ansi(self.fixed[i], self.state[i])
        return R.sokoban_text(self.fixed[i], self.state[i])


def _make_core(n: int, kw: dict[str, Any]) -> SokobanCore:
    levels = kw.pop("levels")
    pool_size, pool_seed = int(kw.pop("pool_size")), int(kw.pop("pool_seed"))
    rewards = tuple(kw.pop(k) for k in ("reward_step", "reward_box_on", "reward_box_off", "reward_finished"))
    dim_room = kw.pop("dim_room")
    pool = None
    if levels is not None:
        parsed = [parse_level(text) for text in levels]
        if not parsed:
            raise ValueError("levels must hold at least one level")
        dim_room = (max(f.shape[0] for f, _ in parsed), max(f.shape[1] for f, _ in parsed))
        parsed = [parse_level(text, dim_room) for text in levels]
        pool = (np.stack([f for f, _ in parsed]), np.stack([s for _, s in parsed]))
    core = SokobanCore(n, dim_room, pool=pool, rewards=rewards, **kw)  # type: ignore[arg-type]
    if pool is None and pool_size > 0:
        seeds = np.uint64(pool_seed) * np.uint64(1_000_003) + np.arange(pool_size, dtype=np.uint64)
        fixed, state, ok = K.generate_pool(seeds, core.gparams, core.p_change, core.h, core.w)
        if not ok.all():
            raise RuntimeError("Sokoban level generation failed for some pool levels")
        core.pool_fixed, core.pool_state = fixed, state
    return core


_DOC_KWARGS = """
    Keyword arguments: ``dim_room=(6, 6)`` (rows, cols, border included; at most 256 cells), ``num_boxes=1``
    (1-7), ``max_steps=100``, ``search_depth=300`` and ``max_states=300_000`` (reverse-play search),
    ``p_change_directions=0.35`` and ``num_gen_steps=None`` (``int(1.7 * (h + w))``) for the topology walk,
    ``pool_size=0`` / ``pool_seed=0`` (pre-generated level pool; 0 generates a level at every reset),
    ``levels=None`` (list of level strings to draw from instead), ``full_action_space=False``, rewards
    ``reward_step=-0.1``, ``reward_box_on=1.0``, ``reward_box_off=-1.0``, ``reward_finished=10.0`` and
    ``render_mode`` (``"ansi"``, ``"text"`` or ``"rgb_array"``).
"""


def _defaults(
    dim_room: Sequence[int] = (6, 6),
    num_boxes: int = 1,
    max_steps: int = 100,
    search_depth: int = 300,
    max_states: int = 300_000,
    p_change_directions: float = 0.35,
    num_gen_steps: int | None = None,
    pool_size: int = 0,
    pool_seed: int = 0,
    levels: Sequence[str] | None = None,
    full_action_space: bool = False,
    reward_step: float = -0.1,
    reward_box_on: float = 1.0,
    reward_box_off: float = -1.0,
    reward_finished: float = 10.0,
) -> dict[str, Any]:
    return dict(locals())


class SokobanVectorEnv(GridVectorEnv):
    __doc__ = "``num_envs`` Sokoban envs on one numba core (same-step autoreset).\n" + _DOC_KWARGS

    def __init__(self, num_envs: int = 1, render_mode: str | None = None, **kwargs: Any):
        core = _make_core(
            check_positive_int("num_envs", num_envs), world_options(_defaults, kwargs, "Sokoban")
        )
        obs_space = spaces.Box(0, 1, core.obs_shape, dtype=np.uint8)
        self._setup(core, obs_space, render_mode)


class SokobanEnv(GridEnv):
    __doc__ = "One Sokoban env on the batched core's kernels.\n" + _DOC_KWARGS

    def __init__(self, render_mode: str | None = None, **kwargs: Any):
        core = _make_core(1, world_options(_defaults, kwargs, "Sokoban"))
        self._setup(core, spaces.Box(0, 1, core.obs_shape, dtype=np.uint8), render_mode)

    @property
    def room_fixed(self) -> np.ndarray:
        """Walls (0), floor (1) and targets (2) of the current room."""
        return self._core.fixed[0].copy()

    @property
    def room_state(self) -> np.ndarray:
        """The current room in gym-sokoban's codes (0 wall ... 5 player)."""
        return self._core.state[0].copy()

    @property
    def max_steps(self) -> int:
        return self._core.max_steps

    @property
    def elapsed_steps(self) -> int:
        return int(self._core.steps[0])
