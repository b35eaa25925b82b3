"""Loading a checkpoint never runs code.

A doctored checkpoint (an object whose ``__reduce__`` calls ``exec``, planted at the top level, inside
the algorithm's state, inside the env state or inside the RNG state) is refused with a one-line error
by every loading path: ``load_checkpoint``, ``Algorithm.from_checkpoint``/``load``, ``rlsuite eval``
(file and run folder), ``rlsuite train resume=...``, ``offline.init_from`` (SO2), the LLM learners'
``init_from`` and ``rlsuite data collect --policy``; the payload never runs. Checkpoints themselves
are plain data (what is not is refused when written), and the ones of every algorithm without a
bit-exact resume test elsewhere resume bit-exactly here.
"""

from __future__ import annotations

import enum
import os
import pickle
import random
import shutil
import subprocess
import sys
import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from rlsuite.algos.base import Algorithm
from rlsuite.cli import main
from rlsuite.config import EnvConfig, OfflineConfig
from rlsuite.core.checkpoint import CheckpointError, UnsafeCheckpointError, load_checkpoint, save_checkpoint
from rlsuite.core.plain_data import NotPlainDataError, decode, encode

ROOT = Path(__file__).resolve().parents[1]
PLACES = ("top_level", "algorithm", "env_state", "rng")
RUN_CONFIG = {
    "experiment": "safety",
    "seed": 1,
    "total_steps": 64,
    "device": "cpu",
    "env": {"id": "test/IdentityDiscrete-v0", "num_envs": 2},
    "algo": {"name": "ppo", "num_steps": 16, "minibatch_size": 16, "update_epochs": 1},
    "eval": {"episodes": 2},
    "log": {"tensorboard": False},
}


class Payload:
    """What an attacker plants: unpickling it calls ``exec``, which writes the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('code ran')",))


def plant(state: dict, place: str, payload: Payload) -> None:
    """Put ``payload`` at ``place`` in a raw (as stored) checkpoint state."""
    if place == "top_level":
        state["extra"] = payload
    elif place == "algorithm":
        state["algorithm"]["networks"] = {"actor": {"weight": [1.0, payload]}}
    elif place == "env_state":
        state["env_state"]["state"]["attrs"]["payload"] = payload
    elif place == "rng":
        state["rng"]["python"] = (3, payload, None)
    else:
        raise ValueError(place)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A real run folder (config.yaml, checkpoints/latest.pt) of a tiny PPO run."""
    root = tmp_path_factory.mktemp("safety")
    config = root / "exp.yaml"
    config.write_text(yaml.safe_dump(RUN_CONFIG))
    assert main(["train", str(config), "--quiet", f"run_dir={root / 'run'}"]) == 0
    return root / "run"


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "MARKER"
    yield path
    assert not path.exists(), "the doctored checkpoint ran code"


def doctored_run(run_dir: Path, tmp_path: Path, place: str, marker: Path) -> Path:
    """A copy of ``run_dir`` whose latest checkpoint carries the payload at ``place``."""
    copy = tmp_path / f"run-{place}"
    shutil.copytree(run_dir, copy)
    latest = copy / "checkpoints" / "latest.pt"
    state = torch.load(latest, weights_only=True)  # the raw, stored form (no decoding)
    plant(state, place, Payload(marker))
    latest.unlink()  # a hard link to step_N.pt: write a new file
    torch.save(state, latest)
    return copy


def assert_refused(error: BaseException | str, path: Path) -> None:
    message = str(error)
    assert "\n" not in message.strip()
    assert str(path) in message and "non-data objects" in message and "builtins.exec" in message


def assert_cli_refused(code: int, err: str, path: Path) -> None:
    assert code == 2
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert_refused(err.strip(), path)


# --- the payload is live: loading the file the unsafe way would run it ---------------------------------
def test_the_doctored_checkpoint_runs_code_when_loaded_unsafely(run_dir, tmp_path):
    target = doctored_run(run_dir, tmp_path, "rng", tmp_path / "LIVE") / "checkpoints" / "latest.pt"
    torch.load(target, weights_only=False)
    assert (tmp_path / "LIVE").read_text() == "code ran"


# --- every loading path refuses it ---------------------------------------------------------------------
@pytest.mark.parametrize("place", PLACES)
def test_load_checkpoint_and_from_checkpoint_refuse(run_dir, tmp_path, marker, place):
    run = doctored_run(run_dir, tmp_path, place, marker)
    latest = run / "checkpoints" / "latest.pt"
    for load in (
        lambda: load_checkpoint(latest),
        lambda: load_checkpoint(run),  # a run folder: its latest checkpoint
        lambda: Algorithm.from_checkpoint(latest, device="cpu"),
        lambda: Algorithm.from_checkpoint(run, device="cpu"),
    ):
        with pytest.raises(UnsafeCheckpointError) as error:
            load()
        assert_refused(error.value, latest)


@pytest.mark.parametrize("place", PLACES)
def test_algorithm_load_refuses(run_dir, tmp_path, marker, place):
    from rlsuite.algos.ppo import PPO, PPOConfig

    latest = doctored_run(run_dir, tmp_path, place, marker) / "checkpoints" / "latest.pt"
    algo = PPO(EnvConfig(id="test/IdentityDiscrete-v0", num_envs=2), PPOConfig(num_steps=16), device="cpu")
    with pytest.raises(UnsafeCheckpointError) as error:
        algo.load(latest)
    assert_refused(error.value, latest)
    assert algo.global_step == 0
    algo.close()


@pytest.mark.parametrize("place", PLACES)
def test_cli_eval_refuses_a_file_and_a_run_folder(run_dir, tmp_path, marker, place, capsys):
    run = doctored_run(run_dir, tmp_path, place, marker)
    latest = run / "checkpoints" / "latest.pt"
    for target in (latest, run):
        code = main(["eval", str(target), "--episodes", "1"])
        assert_cli_refused(code, capsys.readouterr().err, latest)


@pytest.mark.parametrize("place", PLACES)
def test_cli_train_resume_refuses(run_dir, tmp_path, marker, place, capsys):
    run = doctored_run(run_dir, tmp_path, place, marker)
    latest = run / "checkpoints" / "latest.pt"
    for resume in (run, latest):
        code = main(["train", "--quiet", f"resume={resume}", "total_steps=128"])
        assert_cli_refused(code, capsys.readouterr().err, latest)
    assert not (run / "checkpoints" / "step_128.pt").exists()


@pytest.mark.slow  # a fresh interpreter (the in-process tests above check the same exit code and message)
def test_the_real_command_exits_2_without_a_traceback(run_dir, tmp_path, marker):
    latest = doctored_run(run_dir, tmp_path, "algorithm", marker) / "checkpoints" / "latest.pt"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", "import sys; from rlsuite.cli import main; sys.exit(main())"]
    done = subprocess.run(
        [*command, "eval", str(latest)], capture_output=True, text=True, env=env, timeout=300
    )
    assert_cli_refused(done.returncode, done.stderr, latest)


@pytest.mark.parametrize("place", PLACES)
def test_so2_offline_init_from_refuses(run_dir, tmp_path, marker, place, capsys):
    from rlsuite.algos.so2 import SO2, SO2Config

    run = doctored_run(run_dir, tmp_path, place, marker)
    latest = run / "checkpoints" / "latest.pt"
    for init_from in (latest, run):
        with pytest.raises(UnsafeCheckpointError) as error:
            SO2(
                EnvConfig(id="test/IdentityContinuous-v0", num_envs=1),
                SO2Config(hidden_sizes=(8,), num_q=2, online_ratio=1.0),
                device="cpu",
                offline=OfflineConfig(init_from=str(init_from)),
            )
        assert_refused(error.value, latest)
    overrides = [
        "env.id=test/IdentityContinuous-v0", "device=cpu", "algo.online_ratio=1", "algo.hidden_sizes=[8]",
        "algo.num_q=2", f"offline.init_from={run}", f"run_dir={tmp_path / 'so2'}",
    ]  # fmt: skip
    code = main(["train", str(ROOT / "experiments" / "so2" / "hopper_medium.yaml"), "--quiet", *overrides])
    assert_cli_refused(code, capsys.readouterr().err, latest)


@pytest.mark.parametrize("place", PLACES)
def test_llm_init_from_refuses(run_dir, tmp_path, marker, place):
    from rlsuite.agents.text import GPTConfig, TextModelConfig
    from rlsuite.algos.llm_ppo import LLMPPO, LLMPPOConfig
    from rlsuite.algos.llm_sft import LLMSFT, LLMSFTConfig

    latest = doctored_run(run_dir, tmp_path, place, marker) / "checkpoints" / "latest.pt"
    tiny = TextModelConfig(gpt=GPTConfig(layers=1, heads=2, dim=32, context=48))
    kwargs = {"template": "compact", "min_digits": 1, "max_digits": 1, "test_size": 20}
    env = EnvConfig(id="rlsuite/Arithmetic-v0", num_envs=2, kwargs=kwargs)
    for cls, config in ((LLMSFT, LLMSFTConfig), (LLMPPO, LLMPPOConfig)):
        with pytest.raises(UnsafeCheckpointError) as error:
            cls(env, config(model=tiny, init_from=str(latest)), device="cpu")
        assert_refused(error.value, latest)


@pytest.mark.parametrize("place", PLACES)
def test_offline_data_collection_from_a_checkpoint_refuses(run_dir, tmp_path, marker, place, capsys):
    from rlsuite.offline.collect import policy_from_checkpoint, replay_from_checkpoint

    latest = doctored_run(run_dir, tmp_path, place, marker) / "checkpoints" / "latest.pt"
    for load in (policy_from_checkpoint, replay_from_checkpoint):
        with pytest.raises(UnsafeCheckpointError) as error:
            load(latest)
        assert_refused(error.value, latest)
    out = tmp_path / "data.hdf5"
    for level in ("medium", "medium-replay"):
        code = main(["data", "collect", "--level", level, "--policy", str(latest), "--out", str(out)])
        assert_cli_refused(code, capsys.readouterr().err, latest)
    assert not out.exists()


# --- files that are not checkpoints, or older pickled ones -----------------------------------------------
def test_pickled_numpy_arrays_and_garbage_are_refused(tmp_path):
    legacy = tmp_path / "legacy.pt"
    torch.save({"format": 1, "obs": np.zeros(3)}, legacy)  # what checkpoints held before format 2
    with pytest.raises(UnsafeCheckpointError, match=r"non-data objects \(numpy"):
        load_checkpoint(legacy)
    garbage = tmp_path / "garbage.pt"
    garbage.write_text("not a checkpoint\n")
    with pytest.raises(CheckpointError, match="not a readable rlsuite checkpoint") as error:
        load_checkpoint(garbage)
    assert not isinstance(error.value, UnsafeCheckpointError)
    truncated = tmp_path / "truncated.pt"
    save_checkpoint({"x": torch.zeros(1000)}, truncated)
    truncated.write_bytes(truncated.read_bytes()[:300])
    with pytest.raises(CheckpointError, match="not a readable rlsuite checkpoint"):
        load_checkpoint(truncated)
    bare = tmp_path / "bare.pt"
    bare.write_bytes(pickle.dumps(Payload(tmp_path / "MARKER")))  # not a zip: a bare pickle
    with pytest.raises(UnsafeCheckpointError, match=r"non-data objects \(builtins.exec\)"):
        load_checkpoint(bare)
    assert not (tmp_path / "MARKER").exists()
    damaged = tmp_path / "damaged.pt"  # a stored array whose data is not an array
    torch.save(
        {"obs": {"__rlsuite_ndarray__": torch.zeros(2, dtype=torch.bfloat16), "dtype": "<f4"}}, damaged
    )
    with pytest.raises(CheckpointError, match="a damaged rlsuite checkpoint"):
        load_checkpoint(damaged)
    listed = tmp_path / "list.pt"
    torch.save([1, 2], listed)
    with pytest.raises(CheckpointError, match="holds a list"):
        load_checkpoint(listed)


# --- what is written is plain data -----------------------------------------------------------------------
def test_objects_are_refused_when_a_checkpoint_is_written(tmp_path):
    with pytest.raises(
        NotPlainDataError, match=r"state\['algorithm'\]\['rng'\] is a numpy.random.*Generator"
    ):
        save_checkpoint({"algorithm": {"rng": np.random.default_rng(0)}}, tmp_path / "x.pt")
    with pytest.raises(NotPlainDataError, match=r"state\['env'\]\[1\] is a builtins.object"):
        save_checkpoint({"env": [1, object()]}, tmp_path / "x.pt")
    assert not (tmp_path / "x.pt").exists()


def test_numpy_values_round_trip_with_their_types(tmp_path):
    state = {
        "floats": np.arange(6, dtype=np.float32).reshape(2, 3)[:, ::2],  # not contiguous
        "big_endian": np.arange(3, dtype=">i4"),
        "unsigned": np.array([1, 2**63], dtype=np.uint64),
        "bools": np.array([True, False]),
        "half": np.ones(2, np.float16),
        "scalar": np.float32(1.5),
        "int_scalar": np.int64(-3),
        "strings": np.array([["a", "bc"], ["", "d"]]),
        "objects": np.array([{"k": np.int8(1)}, "text", None], dtype=object),
        "rng": np.random.default_rng(5).bit_generator.state,  # 128-bit Python ints
        "python_random": random.Random(3).getstate(),
        "nested": OrderedDict(a=(1, [2.5, {3}]), b=b"bytes"),
        "tensor": torch.arange(4),
    }
    save_checkpoint(state, tmp_path / "c.pt")
    loaded = load_checkpoint(tmp_path / "c.pt")
    for key in ("floats", "big_endian", "unsigned", "bools", "half", "strings"):
        np.testing.assert_array_equal(loaded[key], state[key])
        assert loaded[key].dtype == state[key].dtype and loaded[key].shape == state[key].shape
    assert type(loaded["scalar"]) is np.float32 and loaded["scalar"] == 1.5
    assert type(loaded["int_scalar"]) is np.int64 and loaded["int_scalar"] == -3
    assert (
        loaded["objects"].dtype == object
        and loaded["objects"][0] == {"k": 1}
        and loaded["objects"][2] is None
    )
    assert type(loaded["objects"][0]["k"]) is np.int8
    assert loaded["rng"] == state["rng"] and loaded["python_random"] == state["python_random"]
    assert loaded["nested"] == state["nested"] and type(loaded["nested"]) is OrderedDict
    assert torch.equal(loaded["tensor"], state["tensor"])
    assert decode(encode(state["nested"])) == state["nested"]


# --- normal checkpoints still resume bit-exactly -----------------------------------------------------------
# Algorithms whose bit-exact resume is not tested elsewhere (PPO, SAC, TD3, MPDP, QMIX, MAPPO, ACE,
# LLM-PPO, TD3-BC, EDAC and SO2 are, in their own test files), and the env-state paths this format
# added: Gymnasium envs saved attribute by attribute (one with MuJoCo's MjData) and PettingZoo envs
# behind ParallelVectorEnv.
def _vdn_on_pettingzoo_envs(seed):
    from rlsuite.algos.vdn import VDN, VDNConfig

    config = VDNConfig(batch_size=4, buffer_size=64, target_update_episodes=6, epsilon_anneal_steps=2000)
    env = EnvConfig(id="rlsuite/SMAC-3m-v0", num_envs=2, vectorization="sync")  # ParallelVectorEnv
    return VDN(env, config, seed=seed, device="cpu")


def _ppo_on_gymnasium_cartpole(seed):
    from rlsuite.algos.ppo import PPO, PPOConfig

    config = PPOConfig(num_steps=32, minibatch_size=32, update_epochs=2, normalize_obs=True, anneal_lr=False)
    return PPO(EnvConfig(id="CartPole-v1", num_envs=2), config, seed=seed, device="cpu")


def _sac_on_gymnasium_mujoco(seed):
    from rlsuite.algos.sac import SAC, SACConfig

    config = SACConfig(hidden_sizes=(16, 16), learning_starts=50, batch_size=16, buffer_size=500)
    return SAC(EnvConfig(id="InvertedDoublePendulum-v5", num_envs=2), config, seed=seed, device="cpu")


def _llm_sft(seed):
    from rlsuite.agents.text import GPTConfig, TextModelConfig
    from rlsuite.algos.llm_sft import LLMSFT, LLMSFTConfig

    kwargs = {"template": "compact", "min_digits": 1, "max_digits": 1, "test_size": 20}
    model = TextModelConfig(gpt=GPTConfig(layers=1, heads=2, dim=32, context=48))
    env = EnvConfig(id="rlsuite/Arithmetic-v0", num_envs=4, kwargs=kwargs)
    return LLMSFT(env, LLMSFTConfig(model=model, warmup_steps=2), seed=seed, device="cpu")


@pytest.fixture(scope="module")
def offline_dataset(tmp_path_factory) -> Path:
    from rlsuite.offline import save_dataset
    from rlsuite.offline.collect import collect_dataset

    path = tmp_path_factory.mktemp("data") / "random.hdf5"
    save_dataset(
        collect_dataset("test/IdentityContinuous-v0", None, 400, num_envs=2, seed=0, level="random"), path
    )
    return path


def _sac_n(seed, dataset):
    from rlsuite.algos.sac_n import SACN, SACNConfig

    env = EnvConfig(id="test/IdentityContinuous-v0", num_envs=1)
    offline = OfflineConfig(dataset=str(dataset))
    return SACN(
        env, SACNConfig(hidden_sizes=(16,), num_q=3, batch_size=32), seed=seed, device="cpu", offline=offline
    )


RESUME_CASES = {  # name: (builder, steps before the checkpoint, steps in all)
    "vdn-pettingzoo-sync": (_vdn_on_pettingzoo_envs, 160, 320),
    "ppo-gymnasium-cartpole": (_ppo_on_gymnasium_cartpole, 128, 256),
    "sac-gymnasium-mujoco": (_sac_on_gymnasium_mujoco, 80, 160),
    "llm_sft": (_llm_sft, 16, 32),
    "sac_n": (_sac_n, 20, 40),
}


def assert_same_state(a, b, where="state", space_rngs=False):
    """Two checkpoint states are identical (tensors and arrays bit for bit), wall time aside."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype, where
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, dict):
        assert set(a) == set(b), f"{where}: keys {sorted(map(str, set(a) ^ set(b)))}"
        for key in a:
            # Wall time differs; Gymnasium seeds its spaces' samplers from OS entropy when it builds an
            # env (two straight runs differ there too), and nothing in training samples from them.
            if key != "train_seconds" and (space_rngs or not (a.get("kind") == "space" and key == "rng")):
                assert_same_state(a[key], b[key], f"{where}[{key!r}]", space_rngs)
    elif isinstance(a, list | tuple):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_state(x, y, f"{where}[{i}]", space_rngs)
    else:
        assert a == b or (a != a and b != b), f"{where}: {a!r} != {b!r}"  # NaN == NaN here


@pytest.mark.parametrize("case", sorted(RESUME_CASES))
def test_a_resumed_run_is_bit_identical_to_an_uninterrupted_one(case, tmp_path, request):
    build, half, total = RESUME_CASES[case]
    if case == "sac_n":
        dataset = request.getfixturevalue("offline_dataset")
        build = lambda seed: _sac_n(seed, dataset)  # noqa: E731
    straight = build(3)
    straight.learn(total)
    first = build(3)
    first.learn(half)
    first.save(tmp_path / "half.pt")
    first.close()
    torch.manual_seed(12345)  # disturb every global RNG: the checkpoint must restore them
    np.random.seed(99)
    random.seed(7)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "the env state could not be saved": not here
        if case == "sac_n":  # offline learners are rebuilt with their dataset, then loaded
            resumed = build(3)
            resumed.load(tmp_path / "half.pt")
        else:
            resumed = Algorithm.from_checkpoint(tmp_path / "half.pt", device="cpu")
    assert resumed.global_step == first.global_step
    resumed.learn(total)
    assert resumed.global_step == straight.global_step >= total
    assert_same_state(straight.state_dict(), resumed.state_dict())
    straight.close()
    resumed.close()


PEERS = {
    "sb3:SAC": {
        "normalize_obs": True,
        "kwargs": {
            "learning_starts": 50,
            "buffer_size": 500,
            "batch_size": 16,
            "policy_kwargs": {"net_arch": [16]},
        },
    },
    "tianshou:SAC": {
        "hidden_sizes": [16],
        "batch_size": 16,
        "buffer_size": 500,
        "start_timesteps": 50,
        "auto_alpha": True,
    },
}


# Tianshou compiles its numba estimators once per process (~20 s alone); its buffer restore is also
# covered in the default run by tests/test_peers_tianshou.py.
@pytest.mark.parametrize("name", ["sb3:SAC", pytest.param("tianshou:SAC", marks=pytest.mark.slow)])
def test_a_peer_checkpoint_restores_the_saved_state_exactly(name, tmp_path):
    """Peers' weights, optimisers, counters, samplers, normaliser and replay buffer come back bit for bit
    (their envs are not saved: a resumed peer run starts new episodes, as documented)."""
    from rlsuite.algos import get_algorithm
    from rlsuite.config import build_experiment

    pytest.importorskip("stable_baselines3" if name.startswith("sb3") else "tianshou")
    env = {"id": "test/IdentityContinuous-v0", "num_envs": 1}
    config = build_experiment({"env": env, "algo": {"name": name, **PEERS[name]}}).algo
    algo = get_algorithm(name)(EnvConfig(**env), config, seed=0, device="cpu")
    algo.learn(100)
    algo.save(tmp_path / "peer.pt")
    saved = load_checkpoint(tmp_path / "peer.pt")["algorithm"]
    algo.close()
    with pytest.warns(UserWarning, match="starts new episodes"):
        restored = Algorithm.from_checkpoint(tmp_path / "peer.pt", device="cpu")
    state = restored.algorithm_state()
    restored.close()
    if name.startswith("sb3"):  # SB3's load(force_reset=True) drops the last observations too
        assert state["attributes"].pop("_last_obs") == {"kind": "value", "value": None}
        assert saved["attributes"].pop("_last_obs")["value"].shape == (1, 1)
        assert saved["replay_buffer"] is not None and saved["normalizer"] is not None
    else:
        assert saved["replay_buffer"]["attributes"]["_size"] == 100
    assert_same_state(saved, state, "algorithm", space_rngs=True)


# --- env state as plain data -------------------------------------------------------------------------------
class _Mode(enum.Enum):
    CALM = 1
    WILD = 2


class _Part:
    def __init__(self) -> None:
        self.value = 1.0


class _Sim:
    """An env-like object: arrays, a generator, a deque, an enum, shared and cyclic references, code."""

    def __init__(self) -> None:
        from collections import deque

        self.rng = np.random.default_rng(0)
        self.positions = np.zeros(3)
        self.history = deque([1, 2], maxlen=4)
        self.mode = _Mode.CALM
        self.part = _Part()
        self.same_part = self.part
        self.me = self
        self.hook = print

    def advance(self) -> float:
        self.positions += self.rng.random(3)
        self.history.append(len(self.history))
        self.mode = _Mode.WILD
        self.part.value *= 2
        return float(self.rng.random())


def test_object_state_round_trips_through_a_checkpoint_and_restores_in_place(tmp_path):
    from rlsuite.core.object_state import capture_object, restore_object

    sim = _Sim()
    sim.advance()
    save_checkpoint({"env": capture_object(sim)}, tmp_path / "env.pt")
    expected = [sim.advance() for _ in range(3)]
    positions = sim.positions
    restore_object(sim, load_checkpoint(tmp_path / "env.pt")["env"])
    assert sim.positions is positions  # written into the same array (others may hold it)
    assert sim.mode is _Mode.WILD and list(sim.history) == [1, 2, 2] and sim.history.maxlen == 4
    assert sim.same_part is sim.part and sim.me is sim and sim.hook is print and sim.part.value == 2.0
    assert [sim.advance() for _ in range(3)] == expected


def test_object_state_refuses_what_is_not_plain_data():
    import threading

    from rlsuite.core.object_state import StateCaptureError, capture_object

    class Engine:
        def __getstate__(self):
            raise TypeError("a running engine")

    for thing, problem in (
        (threading.Lock(), "outside Python attributes"),
        (open(os.devnull), "open file"),
        (Engine(), "defines its own copying"),
    ):
        sim = _Sim()
        sim.part.handle = thing
        with pytest.raises(StateCaptureError, match=rf"env\.part\.handle .*{problem}"):
            capture_object(sim)
        if hasattr(thing, "close"):
            thing.close()
