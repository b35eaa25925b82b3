"""Entity features of SMAC battles for entity-based learners (ACE): one row per unit, allies first.

ACE (Li et al., AAAI 2023) does not read SMAC's per-agent observation vectors. Its environment wrapper
(``dizoo/smac/envs/smac_env_ace.py`` in opendilab/ACE) describes every unit with one vector of
``32 + T`` numbers (T = the number of distinct unit types on the map) and every ordered pair of units
with a 6-number relation, and it indexes attack targets by entity, not by enemy:

entity vector (``ENTITY_*`` columns below)::

    is_enemy | type one-hot (T) | x / map_x, y / map_y | health / 100, shield / 100, shield > 0 |
    weapon cooldown (normalised) | last-action class one-hot (7) | 9 pathing cells | 9 terrain cells

relation of unit i to unit j (computed by the learner from positions and ranges, see
``rlsuite.agents.ace``)::

    clip((d_ij - range_j) / 6), clip((d_ij - range_i) / 6), cos θ_ij, sin θ_ij,
    d_ij <= range_j, d_ij <= range_i

entity actions: 0 no-op, 1 stop, 2-5 move N/S/E/W, ``6 + j`` attack entity j (a medivac's ``6 + j`` heals
ally j). :func:`entity_action_mask` and :func:`smac_actions` convert between this layout and SMAC's
(``6 + e`` = attack enemy e, or heal ally e for medivacs).

Choices where the reference does not say (documented in docs/marl.md): the last-action class of an
enemy is 6 ("attack") while it has a target and all-zero otherwise (the game hides enemies' orders);
ranges are the units' weapon ranges (heal range for medivacs); the relation distances are clipped to
[-1, 1]; the 9 pathing/terrain cells are SMAC's surrounding points (8 around the unit and its own).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from rlsuite.core.team import EntitySpec
from rlsuite.envs.smac import units as ut
from rlsuite.envs.smac.core import (
    FS_COOLDOWN,
    FS_ENERGY,
    FS_HEALTH,
    FS_SHIELD,
    FS_X,
    FS_Y,
    IS_AI_TARGET,
    IS_ALIVE,
    IS_TYPE,
)
from rlsuite.envs.smac.maps import MAP_SIZE, MapSpec
from rlsuite.envs.smac.observe import SIGHT_RANGE, _in_bounds, _surrounding

N_SELF_ACTIONS = 6  # no-op, stop, move N/S/E/W: SMAC's non-attack actions
N_ACTION_CLASSES = 7  # the six above + "attack/heal"
ENTITY_BASE_SIZE = 32  # entity vector length without the type one-hot
# The six per-unit quantities ACE's auxiliary loss predicts the next-step change of, as offsets into
# the entity vector past the type one-hot: x, y, health, shield, shield > 0, cooldown.
DYNAMICS_OFFSETS = (1, 2, 3, 4, 5, 6)


def entity_type_names(spec: MapSpec) -> tuple[str, ...]:
    """The unit types that can appear on a map, in a fixed order (their one-hot columns)."""
    if spec.map_type.endswith("_gen"):  # SMACv2 scenarios draw from the race's whole unit set
        names = list(spec.ally_type_names()) + list(spec.enemy_type_names())
    else:
        names = [g.unit for g in spec.allies + spec.enemies]
    return tuple(dict.fromkeys(names))


def entity_size(spec: MapSpec) -> int:
    return ENTITY_BASE_SIZE + len(entity_type_names(spec))


def type_columns(spec: MapSpec) -> np.ndarray:
    """Per unit-table index, its one-hot column in the entity vector (−1 for types not on the map)."""
    cols = np.full(len(ut.UNIT_TYPES), -1, dtype=np.int64)
    for i, name in enumerate(entity_type_names(spec)):
        cols[ut.TYPE_INDEX[name]] = i
    return cols


def feature_names(spec: MapSpec) -> tuple[str, ...]:
    """Names of the entity-vector columns (the layout in the module docstring)."""
    return (
        "is_enemy",
        *(f"type_{name}" for name in entity_type_names(spec)),
        "x",
        "y",
        "health",
        "shield",
        "shielded",
        "cooldown",
        *(f"last_action_{k}" for k in range(N_ACTION_CLASSES)),
        *(f"pathing_{k}" for k in range(9)),
        *(f"height_{k}" for k in range(9)),
    )


def smac_entity_spec(spec: MapSpec) -> EntitySpec:
    """The entity capability of a map: its unit rows, feature names and the global unit-type vocabulary."""
    return EntitySpec(
        n_entities=spec.n_agents + spec.n_enemies,
        feature_names=feature_names(spec),
        unit_types=tuple(u.name for u in ut.UNIT_TYPES),
        n_intrinsic_actions=N_SELF_ACTIONS,
    )


def dynamics_columns(spec: MapSpec) -> np.ndarray:
    """Entity-vector columns of the six quantities ACE's auxiliary dynamics loss predicts."""
    first = 1 + len(entity_type_names(spec))
    return np.array([first + o - 1 for o in DYNAMICS_OFFSETS], dtype=np.int64)


@njit(cache=True)
def entity_features(
    fs,
    ist,
    table,
    grid,
    height,
    last_action,
    type_cols,
    n_agents,
    move_amount,
    map_size,
    out_state,
    out_pos,
    out_range,
    out_alive,
):
    """Fill ``out_state[B, E, 32+T]``, ``out_pos[B, E, 2]`` (map units), ``out_range``, ``out_alive``."""
    n_batch, n_units = ist.shape[0], ist.shape[1]
    n_types = out_state.shape[2] - 32
    for b in range(n_batch):
        for u in range(n_units):
            for k in range(out_state.shape[2]):
                out_state[b, u, k] = 0.0
            t = ist[b, u, IS_TYPE]
            alive = ist[b, u, IS_ALIVE] != 0
            out_alive[b, u] = alive
            out_pos[b, u, 0] = fs[b, u, FS_X]
            out_pos[b, u, 1] = fs[b, u, FS_Y]
            out_range[b, u] = table[t, ut.F_RANGE]
            if not alive:
                continue
            enemy = u >= n_agents
            out_state[b, u, 0] = 1.0 if enemy else 0.0
            if type_cols[t] >= 0:
                out_state[b, u, 1 + type_cols[t]] = 1.0
            o = 1 + n_types
            out_state[b, u, o] = fs[b, u, FS_X] / map_size
            out_state[b, u, o + 1] = fs[b, u, FS_Y] / map_size
            out_state[b, u, o + 2] = fs[b, u, FS_HEALTH] / 100.0
            out_state[b, u, o + 3] = fs[b, u, FS_SHIELD] / 100.0
            out_state[b, u, o + 4] = 1.0 if fs[b, u, FS_SHIELD] > 0 else 0.0
            healer = table[t, ut.F_WEAPON] == ut.WEAPON_HEAL
            load = fs[b, u, FS_ENERGY] if healer else fs[b, u, FS_COOLDOWN]
            out_state[b, u, o + 5] = load / table[t, ut.F_COOLDOWN_NORM]
            cls = -1
            if not enemy and last_action[b, u] >= 0:
                cls = min(last_action[b, u], N_ACTION_CLASSES - 1)
            elif enemy and ist[b, u, IS_AI_TARGET] >= 0:
                cls = N_ACTION_CLASSES - 1
            if cls >= 0:
                out_state[b, u, o + 6 + cls] = 1.0
            o += 6 + N_ACTION_CLASSES
            for k in range(9):
                px, py = _surrounding(fs, b, u, move_amount, k)
                inside = _in_bounds(grid, px, py)
                out_state[b, u, o + k] = grid[px, py] if inside else 1.0
                out_state[b, u, o + 9 + k] = height[px, py] if inside else 1.0


def healer_agents(ist: np.ndarray, table: np.ndarray, n_agents: int) -> np.ndarray:
    """``[B, n_agents]`` bool: which agents heal allies instead of attacking enemies (medivacs)."""
    return table[ist[:, :n_agents, IS_TYPE], ut.F_WEAPON] == ut.WEAPON_HEAL


def entity_action_mask(avail: np.ndarray, healers: np.ndarray) -> np.ndarray:
    """SMAC's action mask ``[B, n, 6 + n_enemies]`` -> the entity layout ``[B, n, 6 + n + n_enemies]``."""
    b, n, n_actions = avail.shape
    n_enemies = n_actions - N_SELF_ACTIONS
    out = np.zeros((b, n, N_SELF_ACTIONS + n + n_enemies), dtype=bool)
    out[:, :, :N_SELF_ACTIONS] = avail[:, :, :N_SELF_ACTIONS]
    targets = avail[:, :, N_SELF_ACTIONS:].astype(bool)
    attackers = ~healers
    out[:, :, N_SELF_ACTIONS + n :][attackers] = targets[attackers]
    # A medivac's SMAC column 6 + e heals ally e (e < n_agents): it moves to entity column 6 + e.
    # (SMAC has only n_enemies target columns: with fewer enemies than agents, allies past them cannot
    # be healed.)
    heal = targets[:, :, :n]
    out[:, :, N_SELF_ACTIONS : N_SELF_ACTIONS + heal.shape[-1]][healers] = heal[healers]
    return out


def smac_actions(entity_actions: np.ndarray, healers: np.ndarray, n_agents: int) -> np.ndarray:
    """Entity-layout actions ``[B, n]`` -> SMAC's actions (attack enemy e = 6 + e; heal ally j = 6 + j)."""
    a = np.asarray(entity_actions, dtype=np.int64)
    target = a - N_SELF_ACTIONS
    smac = np.where(healers, N_SELF_ACTIONS + target, N_SELF_ACTIONS + target - n_agents)
    return np.where(a < N_SELF_ACTIONS, a, smac)


def action_targets(healers: np.ndarray, n_agents: int, n_actions: int) -> np.ndarray:
    """``[B, n, n_actions]`` int64: the unit each SMAC action targets (-1: none).

    Column ``6 + e`` attacks enemy ``e`` (unit ``n_agents + e``), or for a medivac heals ally ``e``.
    """
    target = np.arange(n_actions, dtype=np.int64) - N_SELF_ACTIONS  # e, per column
    attack = np.where(target >= 0, n_agents + target, -1)
    heal = np.where((target >= 0) & (target < n_agents), target, -1)
    return np.where(healers[:, :, None], heal, attack)


def visibility(battles, n_agents: int) -> np.ndarray:
    """``[B, n, E]`` bool: live agent i sees live unit j within SMAC's sight range (and itself)."""
    pos = battles.fs[:, :, [FS_X, FS_Y]]
    alive = battles.ist[:, :, IS_ALIVE] != 0
    delta = pos[:, None, :, :] - pos[:, :n_agents, None, :]
    near = np.hypot(delta[..., 0], delta[..., 1]) < SIGHT_RANGE
    near |= np.eye(n_agents, pos.shape[1], dtype=bool)[None]
    return near & alive[:, :n_agents, None] & alive[:, None, :]


def entity_arrays(battles, avail: np.ndarray) -> dict[str, np.ndarray]:
    """All entity fields of ``battles`` (a :class:`rlsuite.envs.smac.battle.Battles`) for the vector env."""
    lay, spec = battles.layout, battles.spec
    n_b, n_units = battles.num_battles, lay.n_agents + lay.n_enemies
    state = np.zeros((n_b, n_units, entity_size(spec)), dtype=np.float32)
    pos = np.zeros((n_b, n_units, 2), dtype=np.float32)
    rng = np.zeros((n_b, n_units), dtype=np.float32)
    alive = np.zeros((n_b, n_units), dtype=np.bool_)
    entity_features(
        battles.fs,
        battles.ist,
        battles.table,
        battles.grid,
        battles.height,
        battles.last_action,
        type_columns(spec),
        lay.n_agents,
        float(battles.options.move_amount),
        float(MAP_SIZE),
        state,
        pos,
        rng,
        alive,
    )
    healers = healer_agents(battles.ist, battles.table, lay.n_agents)
    enemy = np.zeros((n_b, n_units), dtype=np.bool_)
    enemy[:, lay.n_agents :] = True
    return {
        "entity_state": state,
        "entity_pos": pos,
        "entity_range": rng,
        "entity_alive": alive,
        "entity_enemy": enemy,
        "entity_type": battles.ist[:, :, IS_TYPE].astype(np.int64),
        "entity_visible": visibility(battles, lay.n_agents),
        "entity_action_mask": entity_action_mask(avail, healers),
        "entity_action_target": action_targets(healers, lay.n_agents, avail.shape[-1]),
        "healer": healers,
    }
