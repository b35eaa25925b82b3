"""A batch of battles on one map: the numba state plus SMAC's options, shared by every face of the
simulator (``StarCraft2Env``, the PettingZoo env and the batched vector env)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Protocol

import numba
import numpy as np

from rlsuite.envs.batched import BatchedCore, EnvStreams
from rlsuite.envs.smac import core, observe
from rlsuite.envs.smac import units as ut
from rlsuite.envs.smac.maps import (
    MAP_SIZE,
    MapSpec,
    ally_order,
    formation,
    get_map,
    pathing_grid,
    type_onehot_ids,
)


@dataclass(frozen=True)
class SMACOptions:
    """SMAC's ``StarCraft2Env`` keyword arguments (same names and defaults) plus the simulator's own.

    Game-process options of SMAC (``difficulty``, ``game_version``, ``replay_dir``, ``window_size_x``...)
    are accepted by :class:`~rlsuite.envs.smac.env.StarCraft2Env` and ignored: there is no game process.
    """

    step_mul: int = 8  # game loops per env step
    move_amount: float = 2.0
    continuing_episode: bool = False
    obs_all_health: bool = True
    obs_own_health: bool = True
    obs_last_action: bool = False
    obs_pathing_grid: bool = False
    obs_terrain_height: bool = False
    obs_instead_of_state: bool = False
    obs_timestep_number: bool = False
    state_last_action: bool = True
    state_timestep_number: bool = False
    reward_sparse: bool = False
    reward_only_positive: bool = True
    reward_death_value: float = 10.0
    reward_win: float = 200.0
    reward_defeat: float = 0.0
    reward_negative_scale: float = 0.5
    reward_scale: bool = True
    reward_scale_rate: float = 20.0
    heuristic_ai: bool = False
    heuristic_rest: bool = False
    # Simulator-only options.
    spawn_jitter: float = 0.25  # uniform ± offset (map units) of each spawn position, drawn per episode
    episode_limit: int | None = None  # None: the map's limit

    def __post_init__(self) -> None:
        if self.obs_all_health:  # SMAC: "This flag is ignored when obs_all_health == True"
            object.__setattr__(self, "obs_own_health", True)
        if not isinstance(self.step_mul, int) or self.step_mul < 1:
            raise ValueError(f"step_mul must be a positive int, got {self.step_mul!r}")
        if self.move_amount <= 0:
            raise ValueError(f"move_amount must be positive, got {self.move_amount!r}")
        if self.spawn_jitter < 0:
            raise ValueError(f"spawn_jitter must be >= 0, got {self.spawn_jitter!r}")
        if self.episode_limit is not None and self.episode_limit < 1:
            raise ValueError(f"episode_limit must be a positive int or None, got {self.episode_limit!r}")

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


# SMAC keyword arguments that only concern the game process; accepted and ignored.
GAME_ONLY_OPTIONS = (
    "difficulty",
    "game_version",
    "seed",
    "replay_dir",
    "replay_prefix",
    "window_size_x",
    "window_size_y",
    "debug",
)


def split_options(kwargs: dict[str, Any]) -> tuple[SMACOptions, dict[str, Any]]:
    """SMAC-style kwargs → (options, game-only kwargs). Unknown names raise, listing the accepted ones."""
    known = set(SMACOptions.names())
    unknown = sorted(k for k in kwargs if k not in known and k not in GAME_ONLY_OPTIONS)
    if unknown:
        accepted = ", ".join(sorted(known | set(GAME_ONLY_OPTIONS)))
        raise TypeError(f"unknown SMAC option(s) {', '.join(unknown)}; accepted: {accepted}")
    options = SMACOptions(**{k: v for k, v in kwargs.items() if k in known})
    return options, {k: v for k, v in kwargs.items() if k in GAME_ONLY_OPTIONS}


class Scenario(Protocol):
    """Per-episode armies (SMACv2-style maps): fills unit types and spawn positions of the battles in
    ``mask`` from their random streams, before the spawn."""

    def fill(self, rng: np.ndarray, mask: np.ndarray, types: np.ndarray, xy: np.ndarray) -> None: ...


@dataclass(frozen=True)
class Layout:
    """Sizes and one-hot tables of one map under one set of options."""

    n_agents: int
    n_enemies: int
    n_actions: int
    obs_size: int
    state_size: int
    unit_type_bits: int
    shield_ally: int
    shield_enemy: int
    ally_ids: np.ndarray
    enemy_ids: np.ndarray


def make_layout(spec: MapSpec, options: SMACOptions) -> Layout:
    utb, sa, se = spec.unit_type_bits, spec.shield_bits_ally, spec.shield_bits_enemy
    n_agents, n_enemies, n_actions = spec.n_agents, spec.n_enemies, spec.n_actions
    move = 4 + 8 * options.obs_pathing_grid + 9 * options.obs_terrain_height
    nf_en = 4 + utb + (1 + se) * options.obs_all_health
    nf_al = 4 + utb + (1 + sa) * options.obs_all_health + n_actions * options.obs_last_action
    own = utb + (1 + sa) * options.obs_own_health + options.obs_timestep_number
    obs_size = move + n_enemies * nf_en + (n_agents - 1) * nf_al + own
    state_size = n_agents * obs_size if options.obs_instead_of_state else unit_state_size(spec, options)
    return Layout(
        n_agents,
        n_enemies,
        n_actions,
        obs_size,
        state_size,
        utb,
        sa,
        se,
        type_onehot_ids(spec, True),
        type_onehot_ids(spec, False),
    )


def unit_state_size(spec: MapSpec, options: SMACOptions) -> int:
    """The size of SMAC's unit-based state (ally rows, enemy rows, last actions, timestep)."""
    utb, sa, se = spec.unit_type_bits, spec.shield_bits_ally, spec.shield_bits_enemy
    size = spec.n_agents * (4 + sa + utb) + spec.n_enemies * (3 + se + utb)
    return size + spec.n_agents * spec.n_actions * options.state_last_action + options.state_timestep_number


PARALLEL_MIN_BATTLES = 32  # battles stepped in parallel threads from this batch size on


class BattleCore(BatchedCore):
    """``num_battles`` battles of one map: reset, step with SMAC actions, and read SMAC's arrays."""

    kernel_fields = frozenset(("fs", "ist", "table", "grid", "height", "last_action", "steps", "layout"))

    def __init__(
        self,
        map_name: str | MapSpec,
        num_battles: int,
        options: SMACOptions,
        scenario: Scenario | None = None,
    ) -> None:
        self.spec = map_name if isinstance(map_name, MapSpec) else get_map(map_name)
        self.scenario = scenario
        self.options = options
        self.num_battles = self.num_envs = num_battles
        self.layout = make_layout(self.spec, options)
        self.episode_limit = options.episode_limit or self.spec.episode_limit
        self.table = ut.unit_table()
        self.grid = pathing_grid(self.spec)
        self.height = np.where(self.grid, 0.5, 0.0)  # approximate: one level for all walkable ground
        n, u = num_battles, self.layout.n_agents + self.layout.n_enemies
        self.fs = np.zeros((n, u, core.N_FS))
        self.ist = np.zeros((n, u, core.N_IS), dtype=np.int64)
        self.loops = np.zeros(n, dtype=np.int64)
        self.steps = np.zeros(n, dtype=np.int64)
        self.streams = EnvStreams(n)
        self.last_action = np.full((n, self.layout.n_agents), -1, dtype=np.int64)
        self.max_reward = np.zeros(n)
        self.spawn_types = np.zeros((n, u), dtype=np.int64)
        self.spawn_xy = np.zeros((n, u, 2))
        self._set_fixed_spawns()
        self._flags = np.array(
            [
                options.obs_all_health,
                options.obs_own_health,
                options.obs_last_action,
                options.obs_pathing_grid,
                options.obs_terrain_height,
                options.obs_timestep_number,
                options.state_last_action,
                options.state_timestep_number,
            ],
            dtype=np.int64,
        )
        self._reward_params = np.array(
            [
                options.reward_sparse,
                options.reward_only_positive,
                options.reward_death_value,
                options.reward_win,
                options.reward_defeat,
                options.reward_negative_scale,
                options.reward_scale,
                options.reward_scale_rate,
            ],
            dtype=np.float64,
        )
        points = self.spec.order_points or ((0.0, 0.0),)
        self._order_points = np.array(points, dtype=np.float64).reshape(-1, 2)
        # 1: SMAC's MMM rule (enemy side: exactly one unit left, a medivac); 2: SMACv2's Terran rule
        # (enemy side: no non-medivac left). Allies lose in both when only medivacs are left.
        # Custom maps with a medivac follow SMAC's MMM rule.
        has_medivac = any(g.unit == "medivac" for g in self.spec.allies + self.spec.enemies)
        default_rule = 1 if self.spec.map_type == "custom" and has_medivac else 0
        self._medivac_rule = {"MMM": 1, "terran_gen": 2}.get(self.spec.map_type, default_rule)

    # ----- reset / step ---------------------------------------------------------------------------
    def _set_fixed_spawns(self) -> None:
        """Allies in SMAC's sorted order, enemies in creation order, from the spawn formation."""
        a_types, a_xy = formation(self.spec.allies, self.grid)
        order = ally_order(self.spec, a_types, a_xy)
        e_types, e_xy = formation(self.spec.enemies, self.grid)
        self.spawn_types[:] = np.concatenate([a_types[order], e_types])
        self.spawn_xy[:] = np.concatenate([a_xy[order], e_xy])

    def reset(self, mask: np.ndarray) -> None:
        """Start new episodes in the battles where ``mask`` (the streams must be seeded)."""
        if self.scenario is not None:
            self.scenario.fill(self.streams.rng, mask, self.spawn_types, self.spawn_xy)
        core.spawn(
            self.fs,
            self.ist,
            self.table,
            self.loops,
            self.streams.rng,
            mask,
            self.spawn_types,
            self.spawn_xy,
            float(self.options.spawn_jitter),
            self.spec.enemy_order,
            self._order_points,
            self.layout.n_agents,
        )
        self.steps[mask] = 0
        self.last_action[mask] = -1  # SMAC starts with all-zero last-action one-hots
        enemy_types = self.spawn_types[:, self.layout.n_agents :]
        per_enemy = self.table[enemy_types, ut.F_HEALTH] + self.table[enemy_types, ut.F_SHIELD]
        max_reward = (
            self.layout.n_enemies * self.options.reward_death_value
            + self.options.reward_win
            + per_enemy.sum(axis=1)
        )
        self.max_reward[mask] = max_reward[mask]

    def step(self, actions: np.ndarray, active: np.ndarray) -> dict[str, np.ndarray]:
        """Run one env step in the ``active`` battles; returns reward, end code, timeout and dead counts."""
        # Few battles: one thread. Waking numba's pool costs more than it saves there, and its spinning
        # threads slow whatever runs next (a learner's torch kernels) on a busy machine.
        threads = numba.config.NUMBA_NUM_THREADS if self.num_battles >= PARALLEL_MIN_BATTLES else 1
        if numba.get_num_threads() != threads:
            numba.set_num_threads(threads)
        core.simulate(
            self.fs,
            self.ist,
            self.table,
            self.grid,
            self.loops,
            self.streams.rng,
            actions,
            active,
            self.layout.n_agents,
            float(self.options.move_amount),
            self.options.step_mul,
        )
        self.last_action[active] = actions[active]
        return self.outcome(active)

    def outcome(self, active: np.ndarray) -> dict[str, np.ndarray]:
        """SMAC's reward and game-end bookkeeping after a step of the ``active`` battles (also used by the
        real-SC2 adapter once it has filled the arrays from the game)."""
        n = self.num_battles
        out = {
            "reward": np.zeros(n),
            "battle_reward": np.zeros(n),  # SMAC's reward_battle(): damage and kills, before win and scale
            "end_code": np.zeros(n, dtype=np.int64),
            "timeout": np.zeros(n, dtype=np.bool_),
            "dead_allies": np.zeros(n, dtype=np.int64),
            "dead_enemies": np.zeros(n, dtype=np.int64),
        }
        observe.battle_outcome(
            self.fs,
            self.ist,
            self.table,
            active,
            self.steps,
            self.layout.n_agents,
            self.episode_limit,
            self._medivac_rule,
            self._reward_params,
            self.max_reward,
            out["reward"],
            out["battle_reward"],
            out["end_code"],
            out["timeout"],
            out["dead_allies"],
            out["dead_enemies"],
        )
        return out

    # ----- SMAC arrays ----------------------------------------------------------------------------
    def avail_actions(self) -> np.ndarray:
        lay = self.layout
        out = np.zeros((self.num_battles, lay.n_agents, lay.n_actions), dtype=np.int64)
        observe.avail_actions(
            self.fs,
            self.ist,
            self.table,
            self.grid,
            lay.n_agents,
            lay.n_actions,
            float(self.options.move_amount),
            out,
        )
        return out

    def _kernel_state(self):
        lay = self.layout
        return observe.observed_battles(
            self.fs,
            self.ist,
            self.table,
            self.grid,
            self.height,
            self.last_action,
            self.steps,
            int(self.episode_limit),
            lay.n_agents,
            lay.n_actions,
            lay.unit_type_bits,
            int(lay.shield_ally),
            int(lay.shield_enemy),
            lay.ally_ids,
            lay.enemy_ids,
            self._flags,
            float(self.options.move_amount),
        )

    def obs(self, avail: np.ndarray | None = None) -> np.ndarray:
        lay = self.layout
        avail = self.avail_actions() if avail is None else avail
        out = np.zeros((self.num_battles, lay.n_agents, lay.obs_size), dtype=np.float32)
        observe.agent_obs(self.kernel_state, avail, out)
        return out

    def state(self, obs: np.ndarray | None = None) -> np.ndarray:
        if self.options.obs_instead_of_state:
            obs = self.obs() if obs is None else obs
            return obs.reshape(self.num_battles, -1).copy()
        return self.unit_state(float(MAP_SIZE), float(MAP_SIZE))

    def unit_state(self, map_x: float, map_y: float, fs: np.ndarray | None = None) -> np.ndarray:
        """SMAC's unit-based state ``[B, size]`` whatever ``obs_instead_of_state`` (what ``get_state_dict``
        holds); positions relative to the map centre over ``map_x`` / ``map_y``."""
        lay = self.layout
        out = np.zeros((self.num_battles, unit_state_size(self.spec, self.options)), dtype=np.float32)
        observe.global_state(
            self.fs if fs is None else fs,
            self.ist,
            self.table,
            self.last_action,
            self.steps,
            self.episode_limit,
            lay.n_agents,
            lay.n_actions,
            lay.unit_type_bits,
            lay.shield_ally,
            lay.shield_enemy,
            lay.ally_ids,
            lay.enemy_ids,
            self._flags,
            map_x,
            map_y,
            out,
        )
        return out

    # ----- checkpoints ----------------------------------------------------------------------------
    def get_state(self) -> dict[str, np.ndarray]:
        names = ("fs", "ist", "loops", "steps", "last_action", "max_reward", "spawn_types", "spawn_xy")
        state = {k: getattr(self, k).copy() for k in names}
        state["rng"] = self.streams.rng.copy()
        state["seeded"] = self.streams.seeded.copy()
        return state

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        for k in ("fs", "ist", "loops", "steps", "last_action", "max_reward", "spawn_types", "spawn_xy"):
            getattr(self, k)[...] = state[k]
        self.streams.rng[...] = state["rng"]
        self.streams.seeded[...] = state["seeded"]


Battles = BattleCore  # the name before the batched cores shared one (BatchedCore)
