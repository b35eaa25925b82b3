"""The real-StarCraft II adapter, tested without the game: availability checks, the launch up to the process
boundary (a fake ``SC2_x64`` that records its command line), SMAC's data decoding, the unit conversion, and
the whole reset/step bookkeeping against the simulator playing the game behind a fake controller."""

from __future__ import annotations

import importlib.util
import os
import stat
from types import SimpleNamespace

import numpy as np
import pytest

from rlsuite.envs.smac import core
from rlsuite.envs.smac import sc2 as sc2mod
from rlsuite.envs.smac.battle import Battles
from rlsuite.envs.smac.env import StarCraft2Env
from rlsuite.envs.smac.maps import get_map
from rlsuite.envs.smac.sc2 import (
    SC2GameError,
    SC2NotAvailableError,
    SC2StarCraft2Env,
    UnitOrder,
    decode_pathing_grid,
    decode_terrain_height,
    fill_unit_arrays,
    sc2_availability,
    unit_command,
)
from rlsuite.envs.smac.units import UNIT_TYPES

HAS_PYSC2 = importlib.util.find_spec("pysc2") is not None
needs_pysc2 = pytest.mark.skipif(not HAS_PYSC2, reason="pysc2 is not installed (pip install 'rlsuite[sc2]')")
ALLY_MIN_TYPE = 1913  # any id: SMAC's maps define their *_RL units at consecutive ids from some minimum
TAG_BASE = 10_000


# ----- availability ------------------------------------------------------------------------------------
def _game_dir(root, map_file="3m", build=75689, script_exit=3):
    """A fake SC2PATH: an SC2_x64 that writes its argv next to itself and exits, Libs/, the map file."""
    exe = root / "Versions" / f"Base{build}" / "SC2_x64"
    exe.parent.mkdir(parents=True)
    exe.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "$(dirname "$0")/argv.txt"\nexit {script_exit}\n')
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    (root / "Libs").mkdir()
    (root / "Maps" / "SMAC_Maps").mkdir(parents=True)
    (root / "Maps" / "SMAC_Maps" / f"{map_file}.SC2Map").write_bytes(b"")
    return exe


def test_availability_lists_every_missing_piece_of_an_empty_sc2path(tmp_path, monkeypatch):
    monkeypatch.setenv("SC2PATH", str(tmp_path))
    missing = sc2_availability("3m")
    text = "\n".join(missing)
    assert f"{tmp_path}/Versions/Base<build>/SC2_x64" in text
    assert f"{tmp_path}/Libs/" in text
    assert f"{tmp_path}/Maps/SMAC_Maps/3m.SC2Map" in text
    assert ("pip install 'rlsuite[sc2]'" in text) == (not HAS_PYSC2)
    assert len(missing) == 3 + (not HAS_PYSC2)
    with pytest.raises(SC2NotAvailableError) as err:
        SC2StarCraft2Env("3m")
    assert isinstance(err.value, RuntimeError) and err.value.missing == missing
    for item in missing:
        assert item in str(err.value)
    assert "docs/smac_sc2.md" in str(err.value)


def test_availability_without_sc2path_uses_home_starcraftii(tmp_path, monkeypatch):
    monkeypatch.delenv("SC2PATH", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    missing = sc2_availability("MMM")
    assert any(
        f"no StarCraft II directory at {tmp_path}/StarCraftII" in m and "SC2PATH is unset" in m
        for m in missing
    )
    assert any(f"{tmp_path}/StarCraftII/Maps/SMAC_Maps/MMM.SC2Map" in m for m in missing)


def test_availability_checks_the_newest_build_smacv2_maps_and_unknown_names(tmp_path, monkeypatch):
    monkeypatch.setenv("SC2PATH", str(tmp_path))
    exe = _game_dir(tmp_path, map_file="32x32_flat")
    (tmp_path / "Versions" / "Base76811").mkdir()  # a newer, empty build folder: pysc2 would run that one
    text = "\n".join(sc2_availability("10gen_protoss"))
    assert "Base76811/SC2_x64" in text and "32x32_flat" not in text
    assert "Base76811" not in "\n".join(sc2_availability("10gen_zerg", game_version="4.10"))
    exe.chmod(0o644)
    missing = sc2_availability("10gen_zerg", game_version="4.10")
    assert any("is not executable: chmod +x" in m for m in missing)
    assert any("SMAC_Maps/3m.SC2Map" in m for m in sc2_availability("3m"))
    with pytest.raises(ValueError, match="unknown SMAC map"):
        sc2_availability("3mm")


def test_module_imports_without_pysc2_and_constructor_fails_before_anything():
    code = (
        "import sys; sys.modules['pysc2'] = None; import rlsuite.envs.smac.sc2 as m; "
        "assert any('pip install' in x for x in m.sc2_availability('3m'))"
    )
    import subprocess
    import sys

    env = {**os.environ, "SC2PATH": "/nonexistent-sc2path"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)


# ----- launch up to the process boundary ---------------------------------------------------------------
@needs_pysc2
@pytest.mark.parametrize("game_version", [None, "4.10"])
def test_reset_launches_the_game_binary_with_smacs_command_line(tmp_path, monkeypatch, game_version):
    root = tmp_path / "StarCraftII"
    exe = _game_dir(root)
    monkeypatch.setenv("SC2PATH", str(root))
    assert sc2_availability("3m", game_version) == []
    env = SC2StarCraft2Env("3m", seed=7, game_version=game_version, sc2_timeout=20)
    assert env.get_env_info()["obs_shape"] == 30  # sizes need no game
    with pytest.raises(SC2GameError) as err:
        env.reset()
    message = str(err.value)
    assert str(exe) in message and "never answered" in message and "ConnectError" in message
    argv = (exe.parent / "argv.txt").read_text().split("\n")[:-1]
    assert argv[0:2] == ["-listen", "127.0.0.1"]
    assert argv[2] == "-port" and argv[3].isdigit()
    assert argv[4:6] == ["-dataDir", f"{root}/"]
    assert argv[6] == "-tempDir" and os.path.basename(argv[7].rstrip("/")).startswith("sc-")
    assert argv[7].endswith("/")
    if game_version is None:  # "latest": the newest Base folder, no data version pinned
        assert len(argv) == 8
    else:
        assert argv[8:] == ["-dataVersion", "B89B5D6FA7CBF6452E721311BFBC6CB2"]
    assert not os.path.exists(argv[7])  # pysc2 cleaned its temp dir
    env.close()
    with pytest.raises(RuntimeError, match="call reset"):
        env.step([1, 1, 1])


@needs_pysc2
def test_import_pysc2_applies_the_workarounds():
    pysc2 = sc2mod.import_pysc2()
    from absl import flags

    assert os.environ["PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION"] == "python"
    assert flags.FLAGS.is_parsed() and flags.FLAGS.sc2_run_config is None  # no UnparsedFlagAccessError
    from pysc2.lib import colors, features  # noqa: F401 - features builds palettes at import (3.11 shuffle)

    assert colors.unit_type().shape[1] == 3
    assert pysc2.sc_pb.RequestAction is not None


@needs_pysc2
def test_pysc2_pitfalls_in_a_fresh_process(tmp_path):
    """absl flags: pysc2 read outside absl.app raises UnparsedFlagAccessError until import_pysc2() parses
    them; protobuf already loaded with its C backend: availability says which variable to set."""
    import subprocess
    import sys

    _game_dir(tmp_path)
    flags_code = (
        "from absl import flags\n"
        "from pysc2 import run_configs\n"
        "try:\n    run_configs.get()\nexcept flags.UnparsedFlagAccessError:\n    print('unparsed')\n"
        "import rlsuite.envs.smac.sc2 as m\n"
        "m.import_pysc2()\n"
        "print(run_configs.get().version.build_version)\n"
    )
    env = {**os.environ, "SC2PATH": str(tmp_path), "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": "python"}
    out = subprocess.run(
        [sys.executable, "-c", flags_code], env=env, capture_output=True, text=True, timeout=60, check=True
    ).stdout.split()
    assert out == ["unparsed", "75689"]
    upb_code = (
        "import google.protobuf.descriptor_pool\n"
        "import rlsuite.envs.smac.sc2 as m\n"
        "print('|'.join(m.sc2_availability('3m')))\n"
    )
    env.pop("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION")
    out = subprocess.run(
        [sys.executable, "-c", upb_code], env=env, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    if "does not import" in out:  # protobuf >= 4 with the upb/cpp backend (older protobuf imports fine)
        assert "export PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python" in out


def test_fixed_shuffle_is_pythons_old_shuffle_with_a_constant_random():
    x = list(range(10))
    sc2mod._fixed_shuffle(x)
    y = list(range(10))
    for i in reversed(range(1, 10)):  # Python 3.10's random.shuffle(y, lambda: 0.5)
        j = int(0.5 * (i + 1))
        y[i], y[j] = y[j], y[i]
    assert x == y and sorted(x) == list(range(10))


def test_smacv2_maps_are_refused_by_the_game_adapter():
    spec = get_map("3m")
    v2 = type(spec)("10gen_terran", spec.allies, spec.enemies, 200, "T", "T", 3, "terran_gen")
    with pytest.raises(NotImplementedError, match="SMACv2"):
        SC2StarCraft2Env(v2)
    with pytest.raises(NotImplementedError, match="10gen_zerg: SMACv2"):
        SC2StarCraft2Env("10gen_zerg")


# ----- SMAC's decoding of game_info and its unit commands ------------------------------------------------
def _smac_pathing(data, bpp, map_x, map_y):  # oxwhirl/smac starcraft2.py, verbatim
    if bpp == 1:
        vals = np.array(list(data)).reshape(map_x, int(map_y / 8))
        return np.transpose(
            np.array([[(b >> i) & 1 for b in row for i in range(7, -1, -1)] for row in vals], dtype=bool)
        )
    return np.invert(np.flip(np.transpose(np.array(list(data), dtype=bool).reshape(map_x, map_y)), axis=1))


def test_pathing_grid_and_terrain_decoding_match_smac():
    rng = np.random.default_rng(0)
    for mx, my in ((32, 32), (40, 24)):
        packed = rng.integers(0, 256, mx * my // 8, dtype=np.uint8).tobytes()
        got = decode_pathing_grid(packed, 1, mx, my)
        assert got.flags.c_contiguous and got.dtype == bool
        np.testing.assert_array_equal(got, _smac_pathing(packed, 1, mx, my))
        full = (rng.random(mx * my) < 0.5).astype(np.uint8).tobytes()
        np.testing.assert_array_equal(decode_pathing_grid(full, 8, mx, my), _smac_pathing(full, 8, mx, my))
        heights = rng.integers(0, 256, mx * my, dtype=np.uint8).tobytes()
        smac = np.flip(np.transpose(np.array(list(heights)).reshape(mx, my)), 1) / 255
        np.testing.assert_array_equal(decode_terrain_height(heights, mx, my), smac)


def test_unit_commands_are_smacs():
    allies, enemies = [11, 12, 13], [21, 22]
    assert unit_command(0, 11, 5.0, 6.0, False, 2.0, allies, enemies) is None
    assert unit_command(1, 11, 5.0, 6.0, False, 2.0, allies, enemies) == {
        "ability_id": 4,
        "unit_tags": [11],
        "queue_command": False,
    }
    moves = {a: unit_command(a, 12, 5.0, 6.0, False, 2.0, allies, enemies) for a in (2, 3, 4, 5)}
    assert {a: m["target_world_space_pos"] for a, m in moves.items()} == {
        2: (5.0, 8.0),
        3: (5.0, 4.0),
        4: (7.0, 6.0),
        5: (3.0, 6.0),
    }
    assert all(m["ability_id"] == 16 and m["unit_tags"] == [12] for m in moves.values())
    assert unit_command(7, 11, 0, 0, False, 2.0, allies, enemies)["target_unit_tag"] == 22
    assert unit_command(7, 11, 0, 0, False, 2.0, allies, enemies)["ability_id"] == 23
    heal = unit_command(8, 13, 0, 0, True, 2.0, allies, enemies)
    assert heal["ability_id"] == 386 and heal["target_unit_tag"] == 13


# ----- unit conversion ------------------------------------------------------------------------------------
def _sc2_type(spec, type_index, ally):
    name = UNIT_TYPES[type_index].name
    return ALLY_MIN_TYPE + spec.ally_type_names().index(name) if ally else UNIT_TYPES[type_index].sc2_id


def raw_units(battles, rng=None):
    """pysc2-like raw units of battle 0's living units (allies owner 1, enemies owner 2); allies are
    shuffled among the enemies (SMAC sorts them), enemies keep their order."""
    spec, fs, ist, table = battles.spec, battles.fs[0], battles.ist[0], battles.table
    n_agents = battles.layout.n_agents
    units = []
    for u in range(ist.shape[0]):
        if not ist[u, core.IS_ALIVE]:
            continue
        t = int(ist[u, core.IS_TYPE])
        units.append(
            SimpleNamespace(
                tag=TAG_BASE + u,
                owner=1 if u < n_agents else 2,
                unit_type=_sc2_type(spec, t, u < n_agents),
                health=fs[u, core.FS_HEALTH],
                health_max=table[t, 0],
                shield=fs[u, core.FS_SHIELD],
                shield_max=table[t, 1],
                energy=fs[u, core.FS_ENERGY],
                weapon_cooldown=fs[u, core.FS_COOLDOWN],
                pos=SimpleNamespace(x=fs[u, core.FS_X], y=fs[u, core.FS_Y], z=0.0),
            )
        )
    if rng is not None:
        allies = [x for x in units if x.owner == 1]
        enemies = [x for x in units if x.owner == 2]
        rng.shuffle(allies)
        slots = sorted(rng.choice(len(units), len(allies), replace=False))
        merged, ai, ei = [], iter(allies), iter(enemies)
        for k in range(len(units)):
            merged.append(next(ai) if k in slots else next(ei))
        units = merged
    return units


def _fresh(battles):
    """A Battles of the same map and options whose arrays hold nothing of the original."""
    other = Battles(battles.spec, 1, battles.options)
    other.fs[:] = np.nan
    other.ist[:] = -7
    other.last_action[:] = battles.last_action
    other.steps[:] = battles.steps
    return other


@pytest.mark.parametrize("map_name", ["3m", "MMM", "2s3z", "1c3s5z", "bane_vs_bane", "6h_vs_8z"])
def test_raw_units_give_the_simulators_obs_state_and_avail(map_name):
    rng = np.random.default_rng(1)
    sim = StarCraft2Env(map_name, seed=3, spawn_jitter=0.0, obs_last_action=True, obs_pathing_grid=True)
    sim.reset()
    b = sim._battles
    # Episode start: SMAC's ordering from the raw list alone (allies sorted by (type id, x, y)).
    conv = _fresh(b)
    order = fill_unit_arrays(raw_units(b, rng), b.spec, conv.fs[0], conv.ist[0])
    assert order.ally_tags == [TAG_BASE + u for u in range(sim.n_agents)]
    assert order.enemy_tags == [TAG_BASE + u for u in range(sim.n_agents, sim.n_agents + sim.n_enemies)]
    assert order.ally_min_type == ALLY_MIN_TYPE
    fields = [core.FS_X, core.FS_Y, core.FS_HEALTH, core.FS_SHIELD, core.FS_ENERGY, core.FS_COOLDOWN]
    np.testing.assert_array_equal(conv.fs[0][:, fields], b.fs[0][:, fields])
    np.testing.assert_array_equal(
        conv.ist[0][:, [core.IS_TYPE, core.IS_ALIVE]], b.ist[0][:, [core.IS_TYPE, core.IS_ALIVE]]
    )
    # Mid-episode, with dead units: matched by tag.
    for _ in range(25):
        avail = np.array(sim.get_avail_actions())
        acts = [int(rng.choice(np.flatnonzero(row))) for row in avail]
        if sim.step(acts)[1]:
            break
    conv = _fresh(b)
    fill_unit_arrays(raw_units(b, rng), b.spec, conv.fs[0], conv.ist[0], order)
    alive = b.ist[0, :, core.IS_ALIVE] == 1
    np.testing.assert_array_equal(conv.ist[0][:, core.IS_ALIVE], b.ist[0][:, core.IS_ALIVE])
    np.testing.assert_array_equal(conv.fs[0][alive][:, fields], b.fs[0][alive][:, fields])
    np.testing.assert_array_equal(conv.avail_actions(), b.avail_actions())
    np.testing.assert_array_equal(conv.obs(), b.obs())
    np.testing.assert_array_equal(conv.state(), b.state())


def test_unknown_unit_types_and_wrong_counts_are_reported():
    sim = StarCraft2Env("3m", seed=0)
    sim.reset()
    b = sim._battles
    units = raw_units(b)
    units[0].unit_type = 4242
    order = UnitOrder(
        [TAG_BASE + u for u in range(3)],
        [TAG_BASE + u for u in range(3, 6)],
        ALLY_MIN_TYPE,
        {ALLY_MIN_TYPE: 0},
    )
    with pytest.raises(ValueError, match="SC2 type id 4242"):
        fill_unit_arrays(units, b.spec, b.fs[0].copy(), b.ist[0].copy(), order)
    with pytest.raises(ValueError, match="the map has 3 \\+ 3"):
        fill_unit_arrays(raw_units(b)[:-1], b.spec, b.fs[0].copy(), b.ist[0].copy())


# ----- the env against the simulator behind a fake controller -----------------------------------------
class FakeProtocolError(Exception):
    pass


class FakeConnectionError(Exception):
    pass


FAKE_PYSC2 = SimpleNamespace(  # message constructors: plain records
    sc_pb=SimpleNamespace(RequestAction=SimpleNamespace, Action=SimpleNamespace),
    r_pb=SimpleNamespace(ActionRawUnitCommand=SimpleNamespace, ActionRaw=SimpleNamespace),
    sc_common=SimpleNamespace(Point2D=SimpleNamespace),
    d_pb=SimpleNamespace(DebugCommand=SimpleNamespace, DebugKillUnit=SimpleNamespace),
    protocol=SimpleNamespace(ProtocolError=FakeProtocolError, ConnectionError=FakeConnectionError),
)


class FakeGame:
    """pysc2's controller as far as the adapter uses it, with the simulator playing the game: raw unit
    commands are turned back into SMAC actions, ``step(n)`` runs ``n`` game loops, the debug kill empties
    the map and the next step respawns it (the SMAC maps' trigger)."""

    launches = 0

    def __init__(self, spec, options, seed):
        FakeGame.launches += 1
        self.battles = Battles(spec, 1, options)
        self.battles.streams.seed([seed], 0)
        self.battles.reset(np.ones(1, dtype=np.bool_))
        self.n_agents = self.battles.layout.n_agents
        self.pending = np.zeros((1, self.n_agents), dtype=np.int64)
        self.respawn = False
        self.fail_next_step = False
        self.closed = False

    def map_info(self):
        grid = self.battles.grid
        packed = np.packbits(grid.T, axis=1).tobytes()  # inverse of SMAC's 1-bit decoding
        return SimpleNamespace(
            playable_area=SimpleNamespace(p0=SimpleNamespace(x=0, y=0), p1=SimpleNamespace(x=32, y=32)),
            map_size=SimpleNamespace(x=32, y=32),
            pathing_grid=SimpleNamespace(data=packed, bits_per_pixel=1),
            terrain_height=SimpleNamespace(data=bytes(32 * 32)),
        )

    def actions(self, request):
        fs = self.battles.fs[0]
        for action in request.actions:
            cmd = action.action_raw.unit_command
            (tag,) = cmd.unit_tags
            a = tag - TAG_BASE
            if cmd.ability_id == 4:
                self.pending[0, a] = 1
            elif cmd.ability_id == 16:
                dx = cmd.target_world_space_pos.x - fs[a, core.FS_X]
                dy = cmd.target_world_space_pos.y - fs[a, core.FS_Y]
                self.pending[0, a] = (4 if dx > 0 else 5) if abs(dx) > abs(dy) else (2 if dy > 0 else 3)
            elif cmd.ability_id == 23:
                self.pending[0, a] = 6 + cmd.target_unit_tag - TAG_BASE - self.n_agents
            elif cmd.ability_id == 386:
                self.pending[0, a] = 6 + cmd.target_unit_tag - TAG_BASE
            else:
                raise AssertionError(f"unexpected ability {cmd.ability_id}")

    def step(self, loops):
        if self.fail_next_step:
            self.fail_next_step = False
            raise FakeProtocolError("Game has crashed")
        b = self.battles
        if self.respawn:
            self.respawn = False
            b.reset(np.ones(1, dtype=np.bool_))
            return
        core.simulate(
            b.fs,
            b.ist,
            b.table,
            b.grid,
            b.loops,
            b.streams.rng,
            self.pending,
            np.ones(1, dtype=np.bool_),
            self.n_agents,
            float(b.options.move_amount),
            int(loops),
        )
        self.pending[:] = 0

    def observe(self):
        units = raw_units(self.battles)
        return SimpleNamespace(observation=SimpleNamespace(raw_data=SimpleNamespace(units=units)))

    def debug(self, commands):
        (command,) = commands
        for tag in command.kill_unit.tag:
            self.battles.ist[0, tag - TAG_BASE, core.IS_ALIVE] = 0
        self.respawn = True

    def close(self):
        self.closed = True


@pytest.fixture
def fake_game(monkeypatch):
    games = []

    def launch(self):
        game = FakeGame(self._battles.spec, self.options, self._seed)
        games.append(game)
        self._sc2, self._proc, self._controller = FAKE_PYSC2, game, game
        self._read_map(game.map_info())

    monkeypatch.setattr(sc2mod, "sc2_availability", lambda *args, **kwargs: [])
    monkeypatch.setattr(SC2StarCraft2Env, "_launch", launch)
    return games


@pytest.mark.parametrize(
    ("map_name", "kwargs"),
    [
        ("3m", {}),
        ("MMM", {"obs_last_action": True, "reward_only_positive": False}),
        ("2s3z", {"obs_pathing_grid": True, "state_timestep_number": True}),
    ],
)
def test_env_on_a_fake_game_matches_the_simulator_env(fake_game, map_name, kwargs):
    seed = 11
    env = SC2StarCraft2Env(map_name, seed=seed, spawn_jitter=0.0, **kwargs)
    ref = StarCraft2Env(map_name, seed=seed, spawn_jitter=0.0, **kwargs)
    assert env.get_env_info() == ref.get_env_info()
    rng = np.random.default_rng(5)
    for episode in range(2):
        obs, state = env.reset()
        ref_obs, ref_state = ref.reset()
        assert len(fake_game) == 1  # launched once, then reset through the debug kill
        np.testing.assert_array_equal(np.array(obs), np.array(ref_obs))
        np.testing.assert_array_equal(state, ref_state)
        for _ in range(ref.episode_limit):
            avail = env.get_avail_actions()
            assert avail == ref.get_avail_actions()
            actions = [int(rng.choice(np.flatnonzero(row))) for row in avail]
            reward, terminated, info = env.step(actions)
            ref_reward, ref_terminated, ref_info = ref.step(actions)
            assert (reward, terminated, info) == (ref_reward, ref_terminated, ref_info)
            np.testing.assert_array_equal(np.array(env.get_obs()), np.array(ref.get_obs()))
            np.testing.assert_array_equal(env.get_state(), ref.get_state())
            np.testing.assert_array_equal(env.get_obs_agent(1), ref.get_obs_agent(1))
            if terminated:
                break
        assert env.get_stats() == ref.get_stats(), episode
    assert env.get_stats()["battles_game"] == 2
    env.close()
    assert fake_game[0].closed


def test_env_relaunches_the_game_on_protocol_errors(fake_game):
    env = SC2StarCraft2Env("3m", seed=2, spawn_jitter=0.0)
    env.reset()
    env.step([1, 1, 1])
    fake_game[-1].fail_next_step = True
    reward, terminated, info = env.step([1, 1, 1])
    assert (reward, terminated, info["restarted"], info["battle_won"]) == (0.0, True, True, False)
    assert len(fake_game) == 2 and fake_game[0].closed and env.get_stats()["restarts"] == 1
    obs, state = env.reset()  # a fresh game from the relaunch: same seed, same armies
    ref = StarCraft2Env("3m", seed=2, spawn_jitter=0.0)
    ref_obs, ref_state = ref.reset()
    np.testing.assert_array_equal(np.array(obs), np.array(ref_obs))
    np.testing.assert_array_equal(state, ref_state)
    with pytest.raises(ValueError, match="cannot perform action 0"):
        env.step([0, 1, 1])


def test_heuristic_ai_drives_the_fake_game_like_the_simulator(fake_game):
    env = SC2StarCraft2Env("3m", seed=4, spawn_jitter=0.0, heuristic_ai=True)
    ref = StarCraft2Env("3m", seed=4, spawn_jitter=0.0, heuristic_ai=True)
    env.reset()
    ref.reset()
    for _ in range(ref.episode_limit):
        out = env.step([0, 0, 0])
        assert out == ref.step([0, 0, 0])
        if out[1]:
            break
    assert env.get_stats() == ref.get_stats()


def test_playable_area_smaller_than_the_map_normalises_the_state_like_smac(fake_game):
    env = SC2StarCraft2Env("3m", seed=0, spawn_jitter=0.0)
    env.reset()
    env.max_distance_x, env.max_distance_y = 24.0, 16.0
    state = env.get_state()
    fs = env._battles.fs[0]
    np.testing.assert_allclose(state[2], (fs[0, core.FS_X] - 16.0) / 24.0, rtol=1e-6)
    np.testing.assert_allclose(state[3], (fs[0, core.FS_Y] - 16.0) / 16.0, rtol=1e-6)


def test_the_adapter_offers_smacs_whole_surface(fake_game):
    """Every public method and attribute of SMAC's StarCraft2Env (tests/test_smac_api.py records them) on the
    real-game adapter, before the game starts and on a (fake) running game, agreeing with the simulator."""
    from smac_reference import SMAC_ATTRIBUTES, SMAC_METHODS

    env = SC2StarCraft2Env("MMM", seed=3, spawn_jitter=0.0)
    assert [m for m in SMAC_METHODS if not callable(getattr(env, m, None))] == []
    assert env.marine_id == env.medivac_id == 0 and env.renderer is None  # ids are known from the game
    env.reset()
    ref = StarCraft2Env("MMM", seed=3, spawn_jitter=0.0)
    ref.reset()
    assert [name for name in SMAC_ATTRIBUTES if not hasattr(env, name)] == []
    assert (env.marauder_id, env.marine_id, env.medivac_id) == (
        ALLY_MIN_TYPE,
        ALLY_MIN_TYPE + 1,
        ALLY_MIN_TYPE + 2,
    )
    ours, sim = env.get_unit_by_id(1), ref.get_unit_by_id(1)
    assert ours.tag == env._order.ally_tags[1]  # the game's tags
    assert (ours.health, ours.pos, ours.unit_type - ALLY_MIN_TYPE) == (
        sim.health,
        sim.pos,
        sim.unit_type - 1970,
    )
    np.testing.assert_array_equal(env.get_visibility_matrix(), ref.get_visibility_matrix())
    for key, value in ref.get_state_dict().items():
        np.testing.assert_allclose(env.get_state_dict()[key], value)
    stop = env.get_agent_action(0, 1)  # an sc_pb.Action (records here, as FAKE_PYSC2 builds them)
    assert stop.action_raw.unit_command.ability_id == 4
    assert stop.action_raw.unit_command.unit_tags == [env.agents[0].tag]
    command, number = env.get_agent_action_heuristic(0, 0)
    assert command is not None and number == ref.get_agent_action_heuristic(0, 0)[1]
    reward = env.step([1] * env.n_agents)[0]
    assert reward == ref.step([1] * env.n_agents)[0] and env.reward_battle() == ref.reward_battle()
    assert env.previous_ally_units[1].health == ours.health
