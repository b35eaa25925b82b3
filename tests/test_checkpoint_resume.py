"""Checkpoints in the plain-data format still resume bit-exactly, env state included.

Algorithms whose bit-exact resume is not tested elsewhere (PPO, SAC, TD3, MPDP, QMIX, MAPPO, ACE,
LLM-PPO, TD3-BC, EDAC and SO2 are, in their own test files), the env-state paths of the format
(Gymnasium envs saved attribute by attribute, one with MuJoCo's MjData; PettingZoo envs behind
ParallelVectorEnv), the peers' saved state, and ``rlsuite.core.object_state`` itself.
"""

from __future__ import annotations

import enum
import os
import random
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from rlsuite.algos.base import Algorithm
from rlsuite.config import EnvConfig, OfflineConfig
from rlsuite.core.checkpoint import load_checkpoint, save_checkpoint


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
    from rlsuite.training.experiment import build_experiment

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


# --- declared checkpoint members (rlsuite.core.checkpointed) ----------------------------------------------
class _Learner:
    def __init__(self, seed: int) -> None:
        torch.manual_seed(seed)
        self.net = torch.nn.Linear(3, 2)
        self.log_alpha = torch.zeros((), requires_grad=True)
        self.optimizer = torch.optim.Adam([*self.net.parameters(), self.log_alpha], lr=0.1)
        self.scaler = None
        self.steps, self.warm, self.rate = 0, False, 0.5
        self.first = np.ones(4, bool)
        self.last_loss = torch.zeros(())
        self.rng = np.random.default_rng(seed)
        self.agent = type("Agent", (), {})()
        self.agent.generator = torch.Generator().manual_seed(seed)

    def train(self) -> None:
        loss = self.net(torch.ones(2, 3)).square().mean() + self.log_alpha.square()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.steps, self.warm, self.rate = self.steps + 1, True, self.rate * 0.9
        self.first = self.rng.random(4) < 0.5
        self.last_loss = loss.detach()
        torch.rand(1, generator=self.agent.generator)


LEARNER_MEMBERS = {
    "modules": ("net", "optimizer"),
    "optional_modules": ("scaler",),
    "values": ("steps", "warm", "rate", "first", "log_alpha", "last_loss"),
    "generators": ("rng", "agent.generator"),
}


def test_declared_members_round_trip_through_a_weights_only_checkpoint(tmp_path):
    from rlsuite.core.checkpointed import Checkpointed

    members = Checkpointed(**LEARNER_MEMBERS)
    learner = _Learner(0)
    learner.train()
    save_checkpoint(members.capture(learner), tmp_path / "learner.pt")
    assert set(torch.load(tmp_path / "learner.pt", weights_only=True)) >= {"agent_generator", "first"}
    expected = _Learner(0)
    expected.train()
    expected.train()
    restored = _Learner(7)  # other weights, other streams
    log_alpha = restored.log_alpha
    members.restore(restored, load_checkpoint(tmp_path / "learner.pt"), "cpu")
    assert restored.log_alpha is log_alpha  # the optimiser's tensor, updated in place
    assert (restored.steps, restored.warm, restored.rate) == (1, True, 0.45)
    assert type(restored.steps) is int and restored.first.dtype == bool
    restored.train()
    for name in ("net", "optimizer"):
        assert_same_state(getattr(expected, name).state_dict(), getattr(restored, name).state_dict(), name)
    assert_same_state(members.capture(expected), members.capture(restored))


def test_declared_members_refuse_clashing_keys_and_missing_entries():
    from rlsuite.core.checkpointed import Checkpointed

    with pytest.raises(ValueError, match=r"more than once: \['agent_rng'\]"):
        Checkpointed(values=("agent_rng",), generators=("agent.rng",))
    with pytest.raises(ValueError, match="no entry 'steps'"):
        Checkpointed(values=("steps",)).restore(_Learner(0), {}, "cpu")
    with pytest.raises(TypeError, match="'agent' is a Agent"):
        Checkpointed(values=("agent",)).restore(_Learner(0), {"agent": 1}, "cpu")
