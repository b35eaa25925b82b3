"""``SC2StarCraft2Env``: the same ``StarCraft2Env`` interface backed by a running StarCraft II game.

    from rlsuite.envs.smac.sc2 import SC2StarCraft2Env, sc2_availability
    print(sc2_availability("3m"))        # [] when the game, the maps and pysc2 are all there
    env = SC2StarCraft2Env(map_name="3m", seed=0)
    obs, state = env.reset()
    reward, terminated, info = env.step(actions)
    env.close()

The game is launched through pysc2 along oxwhirl/smac's ``_launch`` path (environments.md §1.11): the
Linux run config (``$SC2PATH`` or ``~/StarCraftII``), ``Maps/SMAC_Maps/<map>.SC2Map``, ``start()``,
``RequestCreateGame`` (local map, not realtime, the ``seed``) with a participant and a computer player of
the map's enemy race and ``difficulty``, a join with the raw interface, and the playable area, pathing grid
and terrain height from ``game_info``. Each step sends SMAC's raw unit commands (move 16, attack 23,
stop 4, heal 386), advances ``step_mul`` game loops and observes. The observed units are written into
the simulator's battle arrays (``Battles`` with one battle), so availability, observations, state,
reward and termination come from the very kernels of :mod:`rlsuite.envs.smac.observe` that the simulator
uses: the layouts are identical by construction. Resets kill every unit with a debug command and let the
map's trigger respawn the armies; a ``ProtocolError`` / ``ConnectionError`` relaunches the game (SMAC's
``full_restart``).

When the game cannot run, :func:`sc2_availability` lists exactly what is missing and the constructor
raises :class:`SC2NotAvailableError` naming all of it before touching anything. Importing this module
never needs pysc2. See docs/smac_sc2.md.
"""

from __future__ import annotations

import atexit
import importlib.util
import inspect
import logging
import os
import platform
import random
import warnings
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from rlsuite.envs.smac import observe
from rlsuite.envs.smac import units as ut
from rlsuite.envs.smac.battle import Battles, split_options
from rlsuite.envs.smac.core import (
    FS_COOLDOWN,
    FS_ENERGY,
    FS_HEALTH,
    FS_PREV_HS,
    FS_SHIELD,
    FS_X,
    FS_Y,
    IS_ALIVE,
    IS_DEAD,
    IS_TYPE,
)
from rlsuite.envs.smac.heuristic import smac_heuristic_actions
from rlsuite.envs.smac.interface import SMACInterface
from rlsuite.envs.smac.maps import MapSpec, get_map
from rlsuite.envs.smac.units import TYPE_INDEX, UNIT_TYPES

log = logging.getLogger(__name__)

PIP_INSTALL = "pip install 'rlsuite[sc2]'"
DOCS = "docs/smac_sc2.md"
SMACV2_MAP_FILE = "32x32_flat"
# pysc2 refuses game builds older than 3.16.1 (build 55958).
MIN_BUILD = 55958

# SMAC's raw ability ids.
ABILITY_MOVE, ABILITY_ATTACK, ABILITY_STOP, ABILITY_HEAL = 16, 23, 4, 386
# SMAC's difficulty codes → s2clientprotocol Difficulty names.
DIFFICULTIES = {
    "1": "VeryEasy",
    "2": "Easy",
    "3": "Medium",
    "4": "MediumHard",
    "5": "Hard",
    "6": "Harder",
    "7": "VeryHard",
    "8": "CheatVision",
    "9": "CheatMoney",
    "A": "CheatInsane",
}
_RACES = {"T": "Terran", "P": "Protoss", "Z": "Zerg", "R": "Random"}
# Game loops SMAC's reset waits at most for the map trigger to respawn both armies (SMAC waits forever).
MAX_SPAWN_WAIT_LOOPS = 2000
# Stock SC2 unit-type id → rlsuite unit-type index (what SMAC sees for enemy units).
ENEMY_TYPE_IDS: dict[int, int] = {u.sc2_id: i for i, u in enumerate(UNIT_TYPES)}


class SC2NotAvailableError(RuntimeError):
    """StarCraft II, the SMAC maps or pysc2 are missing; ``missing`` lists each item with its fix."""

    def __init__(self, map_name: str, missing: Sequence[str]) -> None:
        self.map_name = map_name
        self.missing = list(missing)
        items = "\n".join(f"  - {m}" for m in self.missing)
        super().__init__(
            f"the real-StarCraft II SMAC env for map {map_name!r} cannot run; missing:\n{items}\n"
            f"(the simulator needs none of this: rlsuite.envs.smac.env.StarCraft2Env; setup: {DOCS})"
        )


class SC2GameError(RuntimeError):
    """The game was found and started but did not behave (no websocket answer, a protocol failure...)."""


# ----- installation checks ---------------------------------------------------------------------------
def sc2_path() -> Path:
    """Where pysc2's Linux run config looks for the game: ``$SC2PATH``, else ``~/StarCraftII``."""
    return Path(os.path.expanduser(os.environ.get("SC2PATH") or "~/StarCraftII"))


def is_smacv2_map(map_name: str | MapSpec) -> bool:
    """SMACv2's ``10gen_<race>`` scenarios, which all play on ``32x32_flat.SC2Map``."""
    if isinstance(map_name, MapSpec):
        return map_name.map_type.endswith("_gen") or map_name.name.startswith("10gen_")
    return str(map_name).startswith("10gen_")


def map_file_name(map_name: str | MapSpec) -> str:
    """The ``.SC2Map`` file (without extension) under ``Maps/SMAC_Maps`` that a map is played on."""
    if is_smacv2_map(map_name):
        return SMACV2_MAP_FILE
    return map_name.name if isinstance(map_name, MapSpec) else str(map_name)


def _builds(versions: Path) -> list[int]:
    if not versions.is_dir():
        return []
    out = []
    for d in versions.iterdir():
        if d.name.startswith("Base") and d.name[4:].isdigit():
            out.append(int(d.name[4:]))
    return sorted(out)


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # ValueError: blocked with sys.modules[name] = None
        return False


def _pysc2_problems() -> list[str]:
    if not (_has_module("pysc2") and _has_module("s2clientprotocol")):
        return [
            f"pysc2 is not installed (module 'pysc2' not importable): {PIP_INSTALL} "
            "(pysc2 4.0.0 + s2clientprotocol; keep it out of environments that need pygame-ce)"
        ]
    try:
        import_pysc2()
    except Exception as exc:  # every failure is reported, with its cause
        return [f"pysc2 is installed but does not import: {type(exc).__name__}: {exc}"]
    return []


def sc2_availability(map_name: str | MapSpec = "3m", game_version: str | None = None) -> list[str]:
    """What is missing to play ``map_name`` in the real game: an empty list when everything is there.

    Checks, in order: pysc2 importable (with protobuf's pure-python backend, see :func:`import_pysc2`);
    the Linux platform; the game directory (``$SC2PATH`` or ``~/StarCraftII``); a game binary
    ``Versions/Base<build>/SC2_x64`` (the newest build is the one pysc2 runs when ``game_version`` is
    None); ``Libs/``; and ``Maps/SMAC_Maps/<map>.SC2Map`` (``32x32_flat.SC2Map`` for SMACv2 maps).
    Each item names the path and the fix.
    """
    name = map_name.name if isinstance(map_name, MapSpec) else str(map_name)
    if not isinstance(map_name, MapSpec) and not is_smacv2_map(name):
        get_map(name)  # an unknown name raises, listing the known maps
    missing = _pysc2_problems()
    if platform.system() != "Linux":
        missing.append(
            f"this adapter drives the Linux SC2 package; the platform is {platform.system()} "
            "(pysc2 itself also supports the Windows/macOS clients, untested here)"
        )
    root = sc2_path()
    source = "from SC2PATH" if os.environ.get("SC2PATH") else "SC2PATH is unset, so ~/StarCraftII"
    if not root.is_dir():
        missing.append(
            f"no StarCraft II directory at {root} ({source}): unpack the Linux package "
            "SC2.4.10.zip (password 'iagreetotheeula') there or set SC2PATH to its location"
        )
    versions = root / "Versions"
    builds = _builds(versions)
    if not builds:
        missing.append(
            f"no game binary {versions}/Base<build>/SC2_x64 (SC2 4.10 is "
            f"{versions}/Base75689/SC2_x64): the Versions/ folder of the Linux package"
        )
    else:
        candidates = [builds[-1]] if game_version is None else builds
        binaries = [versions / f"Base{b:05d}" / "SC2_x64" for b in candidates]
        present = [p for p in binaries if p.is_file()]
        if not present:
            which = "the newest build, the one pysc2 runs" if game_version is None else "any build"
            missing.append(
                f"no game binary at {binaries[-1]} ({which}): copy SC2_x64 from the Linux "
                "package, or remove the empty Base* folder"
            )
        elif not any(os.access(p, os.X_OK) for p in present):
            missing.append(f"{present[-1]} is not executable: chmod +x {present[-1]}")
        if builds[-1] < MIN_BUILD:
            missing.append(
                f"build {builds[-1]} in {versions} is older than 3.16.1 ({MIN_BUILD}); pysc2 "
                "refuses it: install SC2 4.10 (Base75689)"
            )
    libs = root / "Libs"
    if not libs.is_dir():
        missing.append(
            f"no {libs}/ (the game's shared libraries, put on LD_LIBRARY_PATH by pysc2): the "
            "Libs/ folder of the Linux package"
        )
    map_path = root / "Maps" / "SMAC_Maps" / f"{map_file_name(map_name)}.SC2Map"
    if not map_path.is_file():
        if is_smacv2_map(map_name):
            source = (
                "SMACv2's map: copy it from SMAC_Maps.zip (oxwhirl/smacv2 releases, tag 'maps') or the "
                "smacv2 repo's smacv2/env/starcraft2/maps/SMAC_Maps/"
            )
        else:
            source = (
                "the SMAC map: copy it from SMAC_Maps.zip (oxwhirl/smac releases) or the smac repo's "
                "smac/env/starcraft2/maps/SMAC_Maps/"
            )
        missing.append(f"no {map_path} ({source} into {root}/Maps/SMAC_Maps/)")
    return missing


# ----- pysc2 import (protobuf, absl flags, Python 3.11) --------------------------------------------
def _fixed_shuffle(x: list) -> None:
    """``random.shuffle(x, lambda: 0.5)`` as Python < 3.11 computed it (the ``random`` argument is gone)."""
    for i in reversed(range(1, len(x))):
        j = int(0.5 * (i + 1))
        x[i], x[j] = x[j], x[i]


def _patch_pysc2_colors() -> None:
    """pysc2 4.0.0 ``lib/colors.py:shuffled_hue`` calls ``random.shuffle(palette, lambda: 0.5)``: a
    TypeError on Python >= 3.11, raised when ``pysc2.lib.features`` is imported (fixed upstream, never
    released). The SMAC path does not import it, but anything else using pysc2 in this process would;
    replace the function by the same fixed shuffle (idempotent)."""
    if "random" in inspect.signature(random.Random.shuffle).parameters:
        return  # Python < 3.11: the original works
    colors = importlib.import_module("pysc2.lib.colors")
    if getattr(colors.shuffled_hue, "_rlsuite_patched", False):
        return

    def shuffled_hue(scale):
        palette = list(colors.smooth_hue_palette(scale))
        _fixed_shuffle(palette)
        return np.array(palette)

    shuffled_hue._rlsuite_patched = True  # type: ignore[attr-defined]
    colors.shuffled_hue = shuffled_hue


def _parse_absl_flags() -> None:
    """pysc2 reads absl flags (``sc2_run_config``, ``sc2_version``, ``sc2_port``, ``sc2_timeout``...).
    Outside ``absl.app.run`` nothing parses them and the first read raises ``UnparsedFlagAccessError``
    (smac #126, pysc2 #317). Parse an empty command line (defaults) unless someone already parsed."""
    from absl import flags

    if not flags.FLAGS.is_parsed():
        flags.FLAGS(["rlsuite"], known_only=True)


_PYSC2: SimpleNamespace | None = None


def import_pysc2() -> SimpleNamespace:
    """Import what the adapter uses from pysc2 / s2clientprotocol, with the three workarounds applied."""
    global _PYSC2
    if _PYSC2 is not None:
        return _PYSC2
    # pysc2 4.0.0 and s2clientprotocol ship protobuf files generated by an old protoc; protobuf >= 4
    # refuses them ("Descriptors cannot be created directly") unless the pure-python backend is used.
    # The backend is fixed when google.protobuf is first imported, so set it only if the user did not
    # choose one; if protobuf is already loaded with another backend, the import below fails and the
    # message says what to do.
    os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")
    try:
        with warnings.catch_warnings():  # the pure-python backend flags every old-style descriptor
            warnings.simplefilter("ignore", DeprecationWarning)
            from pysc2 import run_configs
            from pysc2.lib import protocol, remote_controller, sc_process
            from pysc2.maps import lib as maps_lib
            from s2clientprotocol import common_pb2, debug_pb2, raw_pb2, sc2api_pb2
    except TypeError as exc:
        backend = "unknown"
        try:
            from google.protobuf.internal import api_implementation

            backend = api_implementation.Type()
        except Exception:
            pass
        first = (str(exc).strip().splitlines() or [""])[0]
        raise ImportError(
            f"{first} — protobuf's backend is {backend!r} but pysc2's generated files need the pure-python "
            "one: export PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python before starting Python (or call "
            "rlsuite.envs.smac.sc2.import_pysc2() before anything else imports protobuf, e.g. "
            "tensorboard)"
        ) from exc
    _patch_pysc2_colors()
    _parse_absl_flags()
    _PYSC2 = SimpleNamespace(
        run_configs=run_configs,
        protocol=protocol,
        remote_controller=remote_controller,
        sc_process=sc_process,
        maps_lib=maps_lib,
        sc_common=common_pb2,
        sc_pb=sc2api_pb2,
        r_pb=raw_pb2,
        d_pb=debug_pb2,
    )
    return _PYSC2


# ----- game data → battle arrays (pure python) ------------------------------------------------------
@dataclass
class UnitOrder:
    """Which raw unit is which SMAC unit: agent tags in SMAC's agent order, enemy tags in observation
    order, and the smallest ally unit-type id (SMAC resolves the maps' custom ``*_RL`` ids from it)."""

    ally_tags: list[int]
    enemy_tags: list[int]
    ally_min_type: int
    ally_types: dict[int, int] = field(default_factory=dict)  # SC2 id → rlsuite type index


def _pos(unit) -> tuple[float, float]:
    return float(unit.pos.x), float(unit.pos.y)


def ally_type_ids(spec: MapSpec, ally_min_type: int) -> dict[int, int]:
    """SMAC's ``_init_ally_unit_types``: the map's ``*_RL`` ids are ``min_unit_type + k`` in the order of
    the map type (marauder/marine/medivac, stalker/zealot, colossus/stalker/zealot, baneling/zergling)."""
    return {ally_min_type + k: TYPE_INDEX[name] for k, name in enumerate(spec.ally_type_names())}


def _type_index(unit, table: dict[int, int], team: str) -> int:
    try:
        return table[int(unit.unit_type)]
    except KeyError:
        raise ValueError(
            f"{team} unit of SC2 type id {int(unit.unit_type)} is not one of this map's types "
            f"(known ids: {sorted(table)})"
        ) from None


def order_units(units: Sequence[Any], spec: MapSpec) -> UnitOrder:
    """SMAC's ``init_units`` order: allies (owner 1) sorted by (unit_type, x, y), enemies (owner 2) in
    observation order. Units without a ``tag`` get their index in ``units`` as tag."""
    allies = [(i, u) for i, u in enumerate(units) if int(u.owner) == 1]
    enemies = [(i, u) for i, u in enumerate(units) if int(u.owner) == 2]
    if not allies:
        raise ValueError("no ally units (owner 1) in the observation")
    allies.sort(key=lambda iu: (int(iu[1].unit_type), *_pos(iu[1])))
    min_type = min(int(u.unit_type) for _, u in allies)
    return UnitOrder(
        ally_tags=[int(getattr(u, "tag", i)) for i, u in allies],
        enemy_tags=[int(getattr(u, "tag", i)) for i, u in enemies],
        ally_min_type=min_type,
        ally_types=ally_type_ids(spec, min_type),
    )


def fill_unit_arrays(
    units: Sequence[Any], spec: MapSpec, fs: np.ndarray, ist: np.ndarray, order: UnitOrder | None = None
) -> UnitOrder:
    """Write raw units (pysc2 ``observation.raw_data.units`` records or look-alikes with ``unit_type``,
    ``owner``, ``health``, ``shield``, ``energy``, ``weapon_cooldown``, ``pos.x``, ``pos.y`` and
    optionally ``tag``) into one battle's arrays ``fs[U, N_FS]`` / ``ist[U, N_IS]`` (allies first).

    With ``order=None`` (an episode start) the units are ordered as SMAC's ``init_units`` does and the
    order is returned; later calls pass it back and units are matched by tag, a missing tag meaning a
    dead unit (SMAC's ``update_units``). Only the observed fields (position, health, shield, energy,
    weapon cooldown, type, alive) are written: the reward bookkeeping (``FS_PREV_HS``, ``IS_DEAD``) is
    left to :func:`rlsuite.envs.smac.observe.battle_outcome` and :meth:`SC2StarCraft2Env.reset`.
    """
    if order is None:
        order = order_units(units, spec)
    by_tag = {int(getattr(u, "tag", i)): u for i, u in enumerate(units) if int(u.owner) in (1, 2)}
    n_agents = len(order.ally_tags)
    tags = order.ally_tags + order.enemy_tags
    if len(tags) != ist.shape[0]:
        raise ValueError(
            f"{n_agents} allies + {len(order.enemy_tags)} enemies observed, the map has "
            f"{spec.n_agents} + {spec.n_enemies}"
        )
    for u, tag in enumerate(tags):
        unit = by_tag.get(tag)
        if unit is None:  # gone from the observation: dead
            ist[u, IS_ALIVE] = 0
            fs[u, FS_HEALTH] = 0.0
            fs[u, FS_SHIELD] = 0.0
            continue
        ally = u < n_agents
        ist[u, IS_TYPE] = _type_index(
            unit, order.ally_types if ally else ENEMY_TYPE_IDS, "ally" if ally else "enemy"
        )
        alive = float(unit.health) > 0.0
        ist[u, IS_ALIVE] = int(alive)
        fs[u, FS_X], fs[u, FS_Y] = _pos(unit)
        fs[u, FS_HEALTH] = float(unit.health) if alive else 0.0
        fs[u, FS_SHIELD] = float(unit.shield) if alive else 0.0
        fs[u, FS_ENERGY] = float(unit.energy)
        fs[u, FS_COOLDOWN] = float(unit.weapon_cooldown)
    return order


def decode_pathing_grid(data: bytes, bits_per_pixel: int, map_x: int, map_y: int) -> np.ndarray:
    """SMAC's decoding of ``game_info.start_raw.pathing_grid`` (verbatim, quirks included), as a
    C-contiguous bool array indexed ``[x, y]``."""
    raw = np.frombuffer(bytes(data), dtype=np.uint8)
    if bits_per_pixel == 1:
        bits = np.unpackbits(raw.reshape(map_x, map_y // 8), axis=1).astype(bool)  # MSB first, as SMAC
        grid = bits.T
    else:
        grid = np.invert(np.flip(raw.astype(bool).reshape(map_x, map_y).T, axis=1))
    return np.ascontiguousarray(grid, dtype=bool)


def decode_terrain_height(data: bytes, map_x: int, map_y: int) -> np.ndarray:
    """SMAC's ``terrain_height``: the height map transposed, flipped along y, divided by 255."""
    raw = np.frombuffer(bytes(data), dtype=np.uint8).astype(np.float64)
    return np.ascontiguousarray(np.flip(raw.reshape(map_x, map_y).T, axis=1) / 255.0)


def unit_command(
    action: int,
    tag: int,
    x: float,
    y: float,
    healer: bool,
    move_amount: float,
    ally_tags: Sequence[int],
    enemy_tags: Sequence[int],
) -> dict[str, Any] | None:
    """SMAC's ``get_agent_action`` as plain data: ``{"ability_id", "unit_tags", "queue_command"}`` plus
    ``target_world_space_pos`` (x, y) or ``target_unit_tag``; None for the no-op."""
    if action == 0:
        return None
    cmd: dict[str, Any] = {"unit_tags": [int(tag)], "queue_command": False}
    if action == 1:
        cmd["ability_id"] = ABILITY_STOP
    elif action <= 5:
        dx = {4: move_amount, 5: -move_amount}.get(action, 0.0)
        dy = {2: move_amount, 3: -move_amount}.get(action, 0.0)
        cmd["ability_id"] = ABILITY_MOVE
        cmd["target_world_space_pos"] = (x + dx, y + dy)
    else:
        target = action - observe.N_ACTIONS_NO_ATTACK
        cmd["ability_id"] = ABILITY_HEAL if healer else ABILITY_ATTACK
        cmd["target_unit_tag"] = int((ally_tags if healer else enemy_tags)[target])
    return cmd


# ----- the env -----------------------------------------------------------------------------------------
def _close_at_exit(ref: weakref.ref) -> None:
    env = ref()
    if env is not None:
        env.close()


class SC2StarCraft2Env(SMACInterface):
    """One SMAC battle in a running StarCraft II, with the methods of
    :class:`rlsuite.envs.smac.env.StarCraft2Env` (and of oxwhirl/smac's ``StarCraft2Env``).

    Keyword arguments are SMAC's (``step_mul``, ``move_amount``, ``difficulty``, ``game_version``,
    ``seed``, the ``obs_*`` / ``state_*`` / ``reward_*`` flags, ``replay_dir``, ``replay_prefix``,
    ``window_size_x/y``, ``heuristic_ai``, ``heuristic_rest``, ``debug``) plus ``sc2_timeout``: seconds
    pysc2 waits for the game's websocket and for each answer (None: pysc2's ``--sc2_timeout``, 360).
    """

    def __init__(
        self, map_name: str | MapSpec = "8m", *, sc2_timeout: int | None = None, **kwargs: Any
    ) -> None:
        options, game_kwargs = split_options(kwargs)
        if is_smacv2_map(map_name):
            name = map_name.name if isinstance(map_name, MapSpec) else map_name
            raise NotImplementedError(
                f"{name}: SMACv2 scenarios create their units with debug commands from the capability "
                "config; the real-game adapter plays the SMAC (v1) maps only. Use rlsuite.envs.smac.smacv2 "
                "on the simulator."
            )
        spec = map_name if isinstance(map_name, MapSpec) else get_map(map_name)
        self.difficulty = str(game_kwargs.get("difficulty", "7"))
        if self.difficulty not in DIFFICULTIES:
            raise ValueError(f"difficulty {self.difficulty!r}; accepted: {', '.join(DIFFICULTIES)}")
        self.game_version = game_kwargs.get("game_version")
        missing = sc2_availability(spec, self.game_version)
        if missing:
            raise SC2NotAvailableError(spec.name, missing)
        self._seed = game_kwargs.get("seed")
        self.window_size = (
            int(game_kwargs.get("window_size_x", 1920)),
            int(game_kwargs.get("window_size_y", 1200)),
        )
        self.replay_dir = game_kwargs.get("replay_dir") or ""
        self.replay_prefix = game_kwargs.get("replay_prefix") or ""
        self.debug = bool(game_kwargs.get("debug", False))
        self.sc2_timeout = sc2_timeout
        self._battles = Battles(spec, 1, options)
        self._base_table = self._battles.table.copy()
        self.options = options
        self.map_name = spec.name
        lay = self._battles.layout
        self.n_agents, self.n_enemies, self.n_actions = lay.n_agents, lay.n_enemies, lay.n_actions
        self.episode_limit = self._battles.episode_limit
        self.n_actions_no_attack = observe.N_ACTIONS_NO_ATTACK
        self._episode_steps = 0
        self._episode_count = 0
        self._total_steps = 0
        self.battles_won = self.battles_game = self.timeouts = self.force_restarts = 0
        self._over = True
        self._avail: np.ndarray | None = None
        self._heuristic_targets = np.full(self.n_agents, -1, dtype=np.int64)
        self._order: UnitOrder | None = None
        self._max_reward: float | None = None
        self._last_info: dict[str, Any] = {"battle_won": False, "dead_allies": 0, "dead_enemies": 0}
        # Game handles and map geometry (filled by _launch).
        self._sc2: SimpleNamespace | None = None
        self._run_config = None
        self._proc = None
        self._controller = None
        self._obs = None
        self.map_x = self.map_y = 0
        self.max_distance_x = self.max_distance_y = 0.0
        self.pathing_grid: np.ndarray | None = None
        self.terrain_height: np.ndarray | None = None
        atexit.register(_close_at_exit, weakref.ref(self))

    # ----- game process ------------------------------------------------------------------------------
    def _launch(self) -> None:
        """Start SC2 and create the game (SMAC's ``_launch``)."""
        sc2 = self._sc2 = import_pysc2()
        sc_pb, sc_common = sc2.sc_pb, sc2.sc_common
        launch_errors = (
            sc2.remote_controller.ConnectError,
            sc2.sc_process.SC2LaunchError,
            sc2.protocol.ProtocolError,
            sc2.protocol.ConnectionError,
            OSError,
            RuntimeError,
        )
        try:
            self._run_config = sc2.run_configs.get(version=self.game_version)
        except (sc2.sc_process.SC2LaunchError, ValueError, OSError) as exc:
            raise SC2GameError(f"pysc2 found no usable game under {sc2_path()}: {exc}; see {DOCS}") from exc
        smac_map = sc2.maps_lib.Map()  # an unregistered Map: no clash with smac's own map classes
        smac_map.directory, smac_map.players, smac_map.step_mul = "SMAC_Maps", 2, 8
        smac_map.filename = map_file_name(self._battles.spec)
        data_dir = self._run_config.data_dir
        build = self._run_config.version.build_version
        exec_path = os.path.join(data_dir, "Versions", f"Base{build:05d}", "SC2_x64")
        try:
            self._proc = self._run_config.start(
                window_size=self.window_size, want_rgb=False, timeout_seconds=self.sc2_timeout
            )
        except launch_errors as exc:
            self._proc = None
            raise SC2GameError(
                f"StarCraft II was started ({exec_path} -listen 127.0.0.1 -port <free> -dataDir {data_dir}/ "
                f"-tempDir <tmp>/sc-*/) but never answered on its websocket ({type(exc).__name__}: {exc}). "
                f"Check that the binary runs on this machine (a 64-bit Linux package such as SC2 4.10, its "
                f"libraries in {os.path.join(data_dir, 'Libs')}) and that nothing blocks 127.0.0.1; "
                f"see {DOCS}."
            ) from exc
        self._controller = self._proc.controller
        spec = self._battles.spec
        try:
            create = sc_pb.RequestCreateGame(
                local_map=sc_pb.LocalMap(
                    map_path=smac_map.path, map_data=self._run_config.map_data(smac_map.path)
                ),
                realtime=False,
                random_seed=self._seed,
            )
            create.player_setup.add(type=sc_pb.Participant)
            create.player_setup.add(
                type=sc_pb.Computer,
                race=getattr(sc_common, _RACES[spec.enemy_race]),
                difficulty=getattr(sc_pb, DIFFICULTIES[self.difficulty]),
            )
            self._controller.create_game(create)
            join = sc_pb.RequestJoinGame(
                race=getattr(sc_common, _RACES[spec.ally_race]),
                options=sc_pb.InterfaceOptions(raw=True, score=False),
            )
            self._controller.join_game(join)
            game_info = self._controller.game_info()
        except (sc2.remote_controller.RequestError, ValueError, *launch_errors) as exc:
            self.close()
            raise SC2GameError(
                f"StarCraft II did not start a game on {smac_map.path} "
                f"({type(exc).__name__}: {exc}); see {DOCS}"
            ) from exc
        self._read_map(game_info.start_raw)

    def _read_map(self, map_info) -> None:
        area = map_info.playable_area
        self.max_distance_x = float(area.p1.x - area.p0.x)
        self.max_distance_y = float(area.p1.y - area.p0.y)
        self.map_x, self.map_y = int(map_info.map_size.x), int(map_info.map_size.y)
        grid = map_info.pathing_grid
        self.pathing_grid = decode_pathing_grid(grid.data, grid.bits_per_pixel, self.map_x, self.map_y)
        self.terrain_height = decode_terrain_height(map_info.terrain_height.data, self.map_x, self.map_y)
        self._battles.grid = self.pathing_grid
        self._battles.height = self.terrain_height

    def _game_errors(self) -> tuple[type[BaseException], ...]:
        sc2 = self._sc2 or import_pysc2()
        return (sc2.protocol.ProtocolError, sc2.protocol.ConnectionError)

    def _restart(self) -> None:
        """SMAC's ``_restart``: kill every unit; the map's trigger respawns both armies."""
        try:
            self._kill_all_units()
            self._controller.step(2)
        except self._game_errors():
            self.full_restart()

    def _kill_all_units(self) -> None:
        assert self._sc2 is not None and self._order is not None
        d_pb = self._sc2.d_pb
        alive = [
            tag
            for u, tag in enumerate(self._order.ally_tags + self._order.enemy_tags)
            if self._battles.ist[0, u, IS_ALIVE]
        ]
        self._controller.debug([d_pb.DebugCommand(kill_unit=d_pb.DebugKillUnit(tag=alive))])

    def full_restart(self) -> None:
        """SMAC's ``full_restart``: close the game process and launch a new one. The current episode is
        over; call :meth:`reset`."""
        if self._proc is not None:
            self._proc.close()
            self._proc = self._controller = None
        self._launch()
        self.force_restarts += 1
        self._over = True

    # ----- episode -----------------------------------------------------------------------------------
    def reset(self, episode_config: dict | None = None) -> tuple[list[np.ndarray], np.ndarray]:
        """Start a battle (launching the game on first use); returns ``(obs, state)`` as SMAC does."""
        if self._proc is None:
            self._launch()
        else:
            self._restart()
        try:
            self._obs = self._controller.observe()
            self._init_units()
        except self._game_errors():
            self.full_restart()
            self._obs = self._controller.observe()
            self._init_units()
        self._episode_steps = 0
        self._over = False
        self._avail = None
        self._heuristic_targets[:] = -1
        self._last_info = {"battle_won": False, "dead_allies": 0, "dead_enemies": 0}
        return self.get_obs(), self.get_state()

    def _raw_units(self) -> Sequence[Any]:
        return self._obs.observation.raw_data.units

    def _init_units(self) -> None:
        """SMAC's ``init_units``: wait (one loop at a time) until both armies exist, then fix the order."""
        spec = self._battles.spec
        for _ in range(MAX_SPAWN_WAIT_LOOPS):
            units = self._raw_units()
            n_al = sum(1 for u in units if u.owner == 1)
            n_en = sum(1 for u in units if u.owner == 2)
            if n_al == spec.n_agents and n_en == spec.n_enemies:
                break
            self._controller.step(1)
            self._obs = self._controller.observe()
        else:
            raise SC2GameError(
                f"the map {map_file_name(spec)}.SC2Map did not spawn {spec.n_agents} allies "
                f"and {spec.n_enemies} enemies within {MAX_SPAWN_WAIT_LOOPS} game loops "
                f"(last seen: {n_al} and {n_en}); is it the SMAC map of that name?"
            )
        battles = self._battles
        order = order_units(units, spec)
        if self._order is not None:  # SMAC resolves the ally ids once, in the first episode
            order.ally_min_type, order.ally_types = self._order.ally_min_type, self._order.ally_types
        self._order = fill_unit_arrays(units, spec, battles.fs[0], battles.ist[0], order)
        if self._max_reward is None:
            self._set_unit_maxima(units)
        fs, ist = battles.fs[0], battles.ist[0]
        fs[:, FS_PREV_HS] = fs[:, FS_HEALTH] + fs[:, FS_SHIELD]
        ist[:, IS_DEAD] = 0
        battles.steps[0] = 0
        battles.last_action[0] = -1  # SMAC starts with all-zero last-action one-hots
        battles.max_reward[0] = self._max_reward

    def _set_unit_maxima(self, units: Sequence[Any]) -> None:
        """From the first episode's units: SMAC's ``max_reward`` (enemy ``health_max + shield_max``) and
        the health normalisers (``health / health_max`` in SMAC's obs and state)."""
        o = self.options
        table = self._base_table.copy()
        total = 0.0
        order = self._order
        assert order is not None
        for u in units:
            if u.owner not in (1, 2):
                continue
            t = _type_index(u, order.ally_types if u.owner == 1 else ENEMY_TYPE_IDS, "unit")
            if float(u.health_max) > 0:
                table[t, ut.F_HEALTH] = float(u.health_max)
            if u.owner == 2:
                total += float(u.health_max) + float(getattr(u, "shield_max", table[t, ut.F_SHIELD]))
        self._battles.table = table
        self._max_reward = self.n_enemies * o.reward_death_value + o.reward_win + total

    def step(self, actions) -> tuple[float, bool, dict[str, Any]]:
        """Apply one action per agent in the game; returns ``(reward, terminated, info)``."""
        if self._over:
            raise RuntimeError("the episode is over (or never started); call reset() first")
        actions = np.asarray([int(a) for a in actions], dtype=np.int64)
        if actions.shape != (self.n_agents,):
            raise ValueError(f"step expects {self.n_agents} actions (one per agent), got {actions.shape[0]}")
        battles = self._battles
        avail = self._avail_array()
        if self.options.heuristic_ai:
            actions = smac_heuristic_actions(
                battles, self._heuristic_targets, avail[0], self.options.heuristic_rest
            )
        else:
            for a, act in enumerate(actions):
                if not 0 <= act < self.n_actions or not avail[0, a, act]:
                    allowed = np.flatnonzero(avail[0, a]).tolist()
                    raise ValueError(f"Agent {a} cannot perform action {act}; available actions: {allowed}")
        request = self._sc2.sc_pb.RequestAction(actions=self._commands(actions))
        try:
            self._controller.actions(request)
            self._controller.step(self.options.step_mul)
            self._obs = self._controller.observe()
        except self._game_errors():
            self.full_restart()
            return 0.0, True, {**self._last_info, "battle_won": False, "restarted": True}
        self._avail = None
        self._episode_steps += 1
        self._total_steps += 1
        fill_unit_arrays(self._raw_units(), battles.spec, battles.fs[0], battles.ist[0], self._order)
        battles.last_action[0] = actions
        return self._outcome()

    def _commands(self, actions: np.ndarray) -> list:
        sc_pb, r_pb, sc_common = self._sc2.sc_pb, self._sc2.r_pb, self._sc2.sc_common
        fs, ist, table = self._battles.fs[0], self._battles.ist[0], self._battles.table
        order = self._order
        out = []
        for a, act in enumerate(actions):
            if not ist[a, IS_ALIVE]:
                continue
            healer = table[ist[a, IS_TYPE], ut.F_WEAPON] == ut.WEAPON_HEAL
            cmd = unit_command(
                int(act),
                order.ally_tags[a],
                fs[a, FS_X],
                fs[a, FS_Y],
                bool(healer),
                float(self.options.move_amount),
                order.ally_tags,
                order.enemy_tags,
            )
            if cmd is None:
                continue
            pos = cmd.pop("target_world_space_pos", None)
            if pos is not None:
                cmd["target_world_space_pos"] = sc_common.Point2D(x=pos[0], y=pos[1])
            if self.debug:
                log.debug("agent %d: action %d → %s", a, act, cmd)
            raw = r_pb.ActionRawUnitCommand(**cmd)
            out.append(sc_pb.Action(action_raw=r_pb.ActionRaw(unit_command=raw)))
        return out

    def _outcome(self) -> tuple[float, bool, dict[str, Any]]:
        b = self._battles
        out = b.outcome(np.ones(1, dtype=np.bool_))
        terminated, info = self._record_outcome(out)
        self._last_info = info
        return float(out["reward"][0]), terminated, info

    # ----- observations (the simulator's kernels on the game's units) ---------------------------------
    def _avail_array(self) -> np.ndarray:
        if self._avail is None:
            self._avail = self._battles.avail_actions()
        return self._avail

    def get_obs(self) -> list[np.ndarray]:
        obs = self._battles.obs(self._avail_array())[0]
        return [obs[a] for a in range(self.n_agents)]

    def get_state(self) -> np.ndarray:
        """SMAC's state: positions relative to the map centre over the playable-area size."""
        b, lay = self._battles, self._battles.layout
        if self.options.obs_instead_of_state:
            return b.state()[0]
        fs = b.fs
        dx, dy = self.max_distance_x or float(b.grid.shape[0]), self.max_distance_y or float(b.grid.shape[1])
        mx, my = self.map_x or b.grid.shape[0], self.map_y or b.grid.shape[1]
        if (dx, dy) != (mx, my):  # the kernel centres at size/2: shift so (x - map_x/2)/dx comes out
            fs = fs.copy()
            fs[..., FS_X] += (dx - mx) / 2.0
            fs[..., FS_Y] += (dy - my) / 2.0
        out = np.zeros((1, lay.state_size), dtype=np.float32)
        observe.global_state(
            fs,
            b.ist,
            b.table,
            b.last_action,
            b.steps,
            b.episode_limit,
            lay.n_agents,
            lay.n_actions,
            lay.unit_type_bits,
            lay.shield_ally,
            lay.shield_enemy,
            lay.ally_ids,
            lay.enemy_ids,
            b._flags,
            float(dx),
            float(dy),
            out,
        )
        return out[0]

    # ----- units (for scripted policies and rendering) ------------------------------------------------
    # ----- SMAC's remaining methods ------------------------------------------------------------------
    def close(self) -> None:
        """Quit the game process (SMAC's ``close``)."""
        self._over = True
        proc, self._proc, self._controller = self._proc, None, None
        if proc is not None:
            try:
                proc.close()
            except Exception as exc:  # closing must not raise at exit
                log.warning("closing StarCraft II failed: %s", exc)

    def render(self, mode: str = "rgb_array") -> np.ndarray:
        """A top-down frame of the observed units (the simulator's renderer on the game's arrays)."""
        from rlsuite.envs.smac.frames import render_frame

        if mode != "rgb_array":
            raise ValueError(f"render mode {mode!r} is not supported; accepted: 'rgb_array'")
        return render_frame(self._battles, 0)

    def save_replay(self) -> str:
        """Save an SC2 replay (SMAC's ``save_replay``); returns its path."""
        if self._controller is None:
            raise RuntimeError("no game is running; reset() first")
        path = self._run_config.save_replay(
            self._controller.save_replay(),
            replay_dir=self.replay_dir,
            prefix=self.replay_prefix or self.map_name,
        )
        log.info("Replay saved at: %s", path)
        return path

    def get_state_dict(self) -> dict[str, np.ndarray]:
        """A snapshot of the battle arrays as last observed (it cannot be restored into a game)."""
        return self._battles.get_state()

    def set_state_dict(self, state: dict[str, np.ndarray]) -> None:
        raise NotImplementedError("a running StarCraft II game cannot be set to a saved state")
