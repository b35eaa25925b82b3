"""Loading a checkpoint never runs code.

A doctored checkpoint (an object whose ``__reduce__`` calls ``exec``, planted at the top level, inside
the algorithm's state, inside the env state or inside the RNG state) is refused with a one-line error
by every loading path: ``load_checkpoint``, ``Algorithm.from_checkpoint``/``load``, ``rlsuite eval``
(file and run folder), ``rlsuite train resume=...``, ``offline.init_from`` (SO2), the LLM learners'
``init_from`` and ``rlsuite data collect --policy``; the payload never runs. Checkpoints themselves
are plain data (what is not is refused when written). That normal checkpoints still resume
bit-exactly is tested in ``tests/test_checkpoint_resume.py``.
"""

from __future__ import annotations

import os
import pickle
import random
import shutil
import subprocess
import sys
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


def test_transient_attributes_of_a_batched_core_are_skipped_and_dropped_on_restore():
    """A core's numba kernel bundle is a cache of its arrays: not saved, rebuilt after a restore."""
    import rlsuite
    from rlsuite.core.object_state import capture_object, restore_object

    env = rlsuite.make_vec("rlsuite/SMAC-3m-v0", 2)
    env.reset(seed=0)
    core = env.battles
    assert core.kernel_state is not None  # built
    saved = capture_object(core, "core")
    assert "_kernel" not in saved["attrs"]
    restore_object(core, saved, "core")
    assert "_kernel" not in vars(core)  # rebuilt from the restored arrays on next use
    env.step(np.ones((2, 3), np.int64))  # stop: the kernels run on the rebuilt bundle
