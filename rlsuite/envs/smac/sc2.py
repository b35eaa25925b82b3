"""``SC2StarCraft2Env``: the same ``StarCraft2Env`` interface backed by a running StarCraft II game.

    from rlsuite.envs.smac.sc2 import SC2StarCraft2Env, sc2_availability
    print(sc2_availability("3m"))        # [] when the game, the maps and pysc2 are all there
    env = SC2StarCraft2Env(map_name="3m", seed=0)
    obs, state = env.reset()
    reward, terminated, info = env.step(actions)
    env.close()

The game is launched through pysc2 along oxwhirl/smac's ``_launch`` path
(https://github.com/oxwhirl/smac/blob/master/smac/env/starcraft2/starcraft2.py): the
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
import logging
import os
import weakref
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np

from rlsuite.envs.inputs import EpisodeOver
from rlsuite.envs.smac import units as ut
from rlsuite.envs.smac.battle import Battles, split_options
from rlsuite.envs.smac.core import (
    FS_HEALTH,
    FS_PREV_HS,
    FS_SHIELD,
    FS_X,
    FS_Y,
    IS_ALIVE,
    IS_DEAD,
)
from rlsuite.envs.smac.interface import SMACInterface
from rlsuite.envs.smac.maps import MapSpec, get_map
from rlsuite.envs.smac.sc2_data import (  # noqa: F401  (re-exported: the adapter's data functions)
    ABILITY_ATTACK,
    ABILITY_HEAL,
    ABILITY_MOVE,
    ABILITY_STOP,
    ENEMY_TYPE_IDS,
    UnitOrder,
    _type_index,
    ally_type_ids,
    decode_pathing_grid,
    decode_terrain_height,
    fill_unit_arrays,
    order_units,
    unit_command,
)
from rlsuite.envs.smac.sc2_setup import (  # noqa: F401  (re-exported: the adapter's setup checks)
    DIFFICULTIES,
    DOCS,
    MIN_BUILD,
    PIP_INSTALL,
    SMACV2_MAP_FILE,
    SC2GameError,
    SC2NotAvailableError,
    _fixed_shuffle,
    import_pysc2,
    is_smacv2_map,
    map_file_name,
    sc2_availability,
    sc2_path,
)

log = logging.getLogger(__name__)

_RACES = {"T": "Terran", "P": "Protoss", "Z": "Zerg", "R": "Random"}
# Game loops SMAC's reset waits at most for the map trigger to respawn both armies (SMAC waits forever).
MAX_SPAWN_WAIT_LOOPS = 2000


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
        self._init_bookkeeping()
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
        self._start_episode()
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
            raise EpisodeOver()
        actions = self._checked_actions(actions)
        battles = self._battles
        self._remember_units()
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
        ist = self._battles.ist[0]
        out = []
        for a, act in enumerate(actions):
            if not ist[a, IS_ALIVE]:
                continue
            cmd = self._command(a, int(act))
            if cmd is None:
                continue
            if self.debug:
                log.debug("agent %d: action %d → %s", a, act, cmd)
            out.append(self._as_action(cmd))
        return out

    def _as_action(self, command: dict[str, Any] | None) -> Any:
        """SMAC's ``sc_pb.Action`` protobuf of a raw unit command (None stays None)."""
        if command is None:
            return None
        sc2 = self._sc2 or import_pysc2()
        cmd = dict(command)
        pos = cmd.pop("target_world_space_pos", None)
        if pos is not None:
            cmd["target_world_space_pos"] = sc2.sc_common.Point2D(x=pos[0], y=pos[1])
        raw = sc2.r_pb.ActionRawUnitCommand(**cmd)
        return sc2.sc_pb.Action(action_raw=sc2.r_pb.ActionRaw(unit_command=raw))

    @property
    def _min_unit_type(self) -> int:
        """SMAC's smallest agent unit-type id, known from the first episode (0 before, as SMAC)."""
        return 0 if self._order is None else self._order.ally_min_type

    def _unit_tags(self) -> list[int] | None:
        return None if self._order is None else self._order.ally_tags + self._order.enemy_tags

    def _outcome(self) -> tuple[float, bool, dict[str, Any]]:
        b = self._battles
        out = b.outcome(np.ones(1, dtype=np.bool_))
        terminated, info = self._record_outcome(out)
        self._last_info = info
        return float(out["reward"][0]), terminated, info

    # ----- observations (the simulator's kernels on the game's units) ---------------------------------
    def get_state(self) -> np.ndarray:
        """SMAC's state: positions relative to the map centre over the playable-area size."""
        if self.options.obs_instead_of_state:
            return self._battles.state()[0]
        return self._unit_state_vector()

    def _unit_state_vector(self) -> np.ndarray:
        b = self._battles
        fs = b.fs
        dx, dy = self.max_distance_x or float(b.grid.shape[0]), self.max_distance_y or float(b.grid.shape[1])
        mx, my = self.map_x or b.grid.shape[0], self.map_y or b.grid.shape[1]
        if (dx, dy) != (mx, my):  # the kernel centres at size/2: shift so (x - map_x/2)/dx comes out
            fs = fs.copy()
            fs[..., FS_X] += (dx - mx) / 2.0
            fs[..., FS_Y] += (dy - my) / 2.0
        return b.unit_state(float(dx), float(dy), fs)[0]

    # ----- SMAC's remaining methods ------------------------------------------------------------------
    def close(self) -> None:
        """Quit the game process and close the render window (SMAC's ``close``)."""
        self._over = True
        if self.renderer is not None:
            self.renderer.close()
            self.renderer = None
        proc, self._proc, self._controller = self._proc, None, None
        if proc is not None:
            try:
                proc.close()
            except Exception as exc:  # closing must not raise at exit
                log.warning("closing StarCraft II failed: %s", exc)

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

    def get_battle_state(self) -> dict[str, np.ndarray]:
        """A snapshot of the battle arrays as last observed (it cannot be restored into a game)."""
        return self._battles.get_state()

    def set_battle_state(self, state: dict[str, np.ndarray]) -> None:
        raise NotImplementedError("a running StarCraft II game cannot be set to a saved state")
