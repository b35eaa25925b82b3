"""Offline RL: dataset file round trip, the D4RL-field loader, field errors, collection levels,
normalised scores, TD3-BC / SAC-N / EDAC (learning, diversity term by hand, exact resume)."""

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
import yaml

from rlsuite.algos.base import Algorithm
from rlsuite.algos.sac import SAC, SACConfig
from rlsuite.algos.sac_n import EDAC, SACN, EDACConfig, SACNConfig
from rlsuite.algos.td3bc import TD3BC, TD3BCConfig
from rlsuite.cli import main
from rlsuite.config import ConfigError, EnvConfig, EvalConfig, OfflineConfig
from rlsuite.offline import FIELDS, DatasetError, load_dataset, normalized_score, save_dataset
from rlsuite.offline.collect import collect_dataset

ENV = "test/IdentityContinuous-v0"  # observe a target in [-1, 1]; reward -(action - target)^2
ROOT = Path(__file__).resolve().parents[1]


def noisy_expert(noise: float, seed: int = 0):
    """The optimal action (the observed target) plus Gaussian noise: the behaviour policy."""
    rng = np.random.default_rng(seed)
    return lambda obs: np.clip(obs + noise * rng.standard_normal(obs.shape), -1, 1).astype(np.float32)


@pytest.fixture(scope="module")
def noisy_dataset(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "noisy.hdf5"
    dataset = collect_dataset(ENV, noisy_expert(0.6), 4000, num_envs=4, seed=0, level="noisy", policy="test")
    save_dataset(dataset, path)
    return path


def offline_algo(cls, config, dataset, seed=0):
    return cls(
        EnvConfig(id=ENV, num_envs=1),
        config,
        seed=seed,
        device="cpu",
        offline=OfflineConfig(dataset=str(dataset)),
        eval_config=EvalConfig(episodes=10),
    )


# --- datasets ------------------------------------------------------------------------------------
def test_dataset_round_trip(tmp_path):
    dataset = collect_dataset(ENV, None, 130, num_envs=3, seed=4, level="random", policy="uniform random")
    path = save_dataset(dataset, tmp_path / "d.hdf5")
    loaded = load_dataset(path)
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(loaded, name), getattr(dataset, name), err_msg=name)
        assert getattr(loaded, name).dtype == getattr(dataset, name).dtype
    assert loaded.metadata == {"rlsuite_format": 1, **dataset.metadata}
    assert loaded.metadata["env_id"] == ENV and loaded.metadata["seed"] == 4
    assert loaded.metadata["level"] == "random"
    # 3 streams of 44 steps (the last cut at 130): 20-step episodes, each stream's end marked as a timeout
    assert len(loaded) == 130 and not loaded.terminals.any()
    assert np.flatnonzero(loaded.timeouts).tolist() == [19, 39, 43, 63, 83, 87, 107, 127, 129]
    # the metadata counts what `data info` counts: 9 stored episodes, 6 of them finished by the env
    assert loaded.metadata["episodes"] == len(loaded.episode_returns()) == 9
    assert loaded.metadata["finished_episodes"] == 6
    # next_observations is the true successor: equal to the next row's observation inside an episode
    inside = np.flatnonzero(~loaded.timeouts[:-1])
    np.testing.assert_array_equal(loaded.next_observations[inside], loaded.observations[inside + 1])


def write_d4rl_file(path: Path, n: int = 50, drop: str | None = None, **replace) -> dict:
    """A small file laid out as D4RL's MuJoCo -v2 HDF5 files (float64 obs, float rewards, extra groups)."""
    rng = np.random.default_rng(0)
    arrays = {
        "observations": rng.standard_normal((n, 1)),
        "actions": rng.uniform(-1, 1, (n, 1)).astype(np.float32),
        "rewards": rng.standard_normal(n).astype(np.float32),
        "next_observations": rng.standard_normal((n, 1)),
        "terminals": np.arange(n) % 17 == 16,
        "timeouts": np.arange(n) % 20 == 19,
    }
    arrays.update(replace)
    with h5py.File(path, "w") as handle:
        for name, value in arrays.items():
            if name != drop:
                handle.create_dataset(name, data=value)
        handle.create_dataset("infos/qpos", data=rng.standard_normal((n, 2)))
        handle.create_dataset("metadata/algorithm", data="SAC")
    return arrays


def test_d4rl_field_loader(tmp_path):
    arrays = write_d4rl_file(tmp_path / "d4rl.hdf5")
    loaded = load_dataset(tmp_path / "d4rl.hdf5")
    for name, value in arrays.items():
        np.testing.assert_allclose(getattr(loaded, name), value, rtol=1e-6, err_msg=name)
    assert loaded.observations.dtype == np.float32 and loaded.terminals.dtype == bool
    assert loaded.metadata["source"] == "d4rl"
    assert loaded.episode_returns().size == int((arrays["terminals"] | arrays["timeouts"]).sum()) + 1


@pytest.mark.parametrize("field", FIELDS)
def test_missing_field_is_named(tmp_path, field):
    write_d4rl_file(tmp_path / "bad.hdf5", drop=field)
    with pytest.raises(DatasetError, match=f"missing field '{field}'"):
        load_dataset(tmp_path / "bad.hdf5")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("actions", np.zeros((49, 1)), "field 'actions' has 49 rows but 'rewards' has 50"),
        ("rewards", np.full(50, np.nan), "field 'rewards' holds NaN"),
        ("terminals", np.full(50, 2), "field 'terminals' must hold booleans"),
        ("observations", np.zeros(50), r"field 'observations' must be \[N, dim\]"),
        ("next_observations", np.zeros((50, 2)), "field 'next_observations' has width 2"),
        ("timeouts", np.zeros((50, 3)), "field 'timeouts' must be 1-D"),
    ],
)
def test_malformed_field_is_named(tmp_path, field, value, message):
    write_d4rl_file(tmp_path / "bad.hdf5", **{field: value})
    with pytest.raises(DatasetError, match=message):
        load_dataset(tmp_path / "bad.hdf5")


def test_bad_dataset_through_cli_names_the_field(tmp_path, capsys):
    write_d4rl_file(tmp_path / "bad.hdf5", drop="timeouts")
    config = yaml.safe_load((ROOT / "experiments/offline/td3bc_hopper_medium.yaml").read_text())
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump({**config, "env": {"id": ENV, "num_envs": 1}}))
    code = main(
        [
            "train",
            str(tmp_path / "exp.yaml"),
            "--quiet",
            f"runs_root={tmp_path}",
            f"offline.dataset={tmp_path}/bad.hdf5",
        ]
    )
    assert code == 2 and "missing field 'timeouts'" in capsys.readouterr().err
    code = main(
        ["train", str(tmp_path / "exp.yaml"), "--quiet", f"runs_root={tmp_path}", "offline.dataset=null"]
    )
    assert code == 2 and "offline.dataset: td3bc trains from a dataset" in capsys.readouterr().err
    code = main(
        ["train", str(tmp_path / "exp.yaml"), "--quiet", f"runs_root={tmp_path}", "offline.dataset=no.h5"]
    )
    assert code == 2 and "dataset no.h5 does not exist" in capsys.readouterr().err
    assert not any(tmp_path.glob("*/*/summary.json"))


def test_collect_cli_every_level(tmp_path, capsys):
    sac = SAC(
        EnvConfig(id=ENV, num_envs=2),
        SACConfig(hidden_sizes=(16,), learning_starts=40, batch_size=16),
        device="cpu",
    )
    sac.learn(80)
    sac.save(tmp_path / "sac.pt")
    out = {level: tmp_path / f"{level}.hdf5" for level in ("random", "medium", "medium-replay", "expert")}
    assert (
        main(
            [
                "data",
                "collect",
                "--level",
                "random",
                "--env",
                ENV,
                "--steps",
                "60",
                "--out",
                str(out["random"]),
            ]
        )
        == 0
    )
    for level in ("medium", "expert"):
        args = ["--policy", str(tmp_path / "sac.pt"), "--steps", "100", "--num-envs", "2", "--seed", "3"]
        assert main(["data", "collect", "--level", level, *args, "--out", str(out[level])]) == 0
    assert (
        main(
            [
                "data",
                "collect",
                "--level",
                "medium-replay",
                "--policy",
                str(tmp_path / "sac.pt"),
                "--out",
                str(out["medium-replay"]),
            ]
        )
        == 0
    )
    merged = tmp_path / "me.hdf5"
    assert (
        main(
            [
                "data",
                "collect",
                "--level",
                "medium-expert",
                "--from",
                str(out["medium"]),
                str(out["expert"]),
                "--out",
                str(merged),
            ]
        )
        == 0
    )
    sizes = {level: len(load_dataset(path)) for level, path in out.items()}
    assert sizes == {"random": 60, "medium": 100, "medium-replay": 80, "expert": 100}
    replay = load_dataset(out["medium-replay"])
    stored = sac.buffer.all_transitions()  # [rows * envs] in row order; the dataset is per env copy
    np.testing.assert_allclose(np.sort(replay.rewards), np.sort(stored.rewards.numpy()), rtol=1e-6)
    medium_expert = load_dataset(merged)
    assert len(medium_expert) == 200 and medium_expert.metadata["level"] == "medium-expert"
    np.testing.assert_array_equal(medium_expert.actions[:100], load_dataset(out["medium"]).actions)
    capsys.readouterr()
    assert main(["data", "info", str(merged), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["transitions"] == 200 and info["metadata"]["env_id"] == ENV
    assert main(["data", "collect", "--level", "medium", "--out", str(tmp_path / "x.hdf5")]) == 2
    assert "--level medium needs --policy" in capsys.readouterr().err
    assert main(["data", "collect", "--level", "random", "--env", ENV, "--out", str(merged)]) == 2
    assert "exists" in capsys.readouterr().err


def test_normalized_scores():
    assert normalized_score("rlsuite/Hopper-v5", -20.272305) == pytest.approx(0.0)
    assert normalized_score("rlsuite/Hopper-v5", 3234.3) == pytest.approx(100.0)
    assert normalized_score("HalfCheetah-v4", 0.0) == pytest.approx(100 * 280.178953 / (12135.0 + 280.178953))
    assert normalized_score("rlsuite/Walker2d-v5", 4592.3) == pytest.approx(100.0)
    assert normalized_score("Pendulum-v1", -100.0) is None


def test_offline_run_on_hopper_writes_normalized_score(tmp_path):
    dataset = collect_dataset("rlsuite/Hopper-v5", None, 300, seed=0, level="random")
    save_dataset(dataset, tmp_path / "hopper.hdf5")
    args = [
        "train", str(ROOT / "experiments/offline/td3bc_hopper_medium.yaml"), "--quiet",
        f"runs_root={tmp_path}", "total_steps=20", "eval.episodes=2", "eval.every_steps=0",
        f"offline.dataset={tmp_path}/hopper.hdf5", "checkpoint.every_steps=0", "log.tensorboard=false",
    ]  # fmt: skip
    assert main(args) == 0
    summary = json.loads(next(tmp_path.glob("*/*/summary.json")).read_text())
    assert summary["algo"] == "td3bc" and summary["total_steps"] == 20
    expected = 100 * (summary["eval_return_mean"] + 20.272305) / (3234.3 + 20.272305)
    assert summary["normalized_score"] == pytest.approx(expected, abs=1e-3)


# --- offline learners ------------------------------------------------------------------------------
def test_td3bc_beats_the_behaviour_policy(noisy_dataset, margin):
    behaviour = load_dataset(noisy_dataset).metadata["policy_return_mean"]
    algo = offline_algo(TD3BC, TD3BCConfig(hidden_sizes=(32, 32), batch_size=128), noisy_dataset, seed=1)
    before = algo.evaluate().mean
    algo.learn(600)
    after = algo.evaluate().mean
    assert behaviour < -4.0 and before < -4.0  # noise 0.6 over 20 steps; an untrained actor is as poor
    print(f"behaviour {behaviour:.2f} untrained {before:.2f} td3bc {after:.2f}")
    assert margin(
        "return vs 30% of behaviour's regret", after, 0.3 * behaviour
    )  # >= 70% of the regret removed


def test_td3bc_agent_normalises_with_the_dataset_statistics(noisy_dataset, tmp_path):
    algo = offline_algo(TD3BC, TD3BCConfig(hidden_sizes=(16,), batch_size=32), noisy_dataset)
    data = load_dataset(noisy_dataset)
    assert algo.obs_normalizer.mean.numpy() == pytest.approx(data.observations.mean(0), abs=1e-6)
    assert algo.obs_normalizer.std.numpy() == pytest.approx(data.observations.std(0) + 1e-3, abs=1e-6)
    algo.learn(10)
    algo.save(tmp_path / "td3bc.pt")
    restored = Algorithm.from_checkpoint(tmp_path / "td3bc.pt", device="cpu")  # no dataset needed to act
    obs = np.linspace(-1, 1, 7, dtype=np.float32).reshape(7, 1)
    np.testing.assert_array_equal(restored.agent.act(obs, True), algo.agent.act(obs, True))
    with pytest.raises(ConfigError, match=r"offline\.dataset: td3bc has no dataset to train on"):
        restored.learn(11)


def test_offline_learners_take_no_env_steps_and_count_gradient_steps(noisy_dataset):
    algo = offline_algo(SACN, SACNConfig(hidden_sizes=(8,), num_q=2, batch_size=8), noisy_dataset)
    obs = np.copy(algo.obs)
    algo.learn(7)
    assert not algo.replay.takes_env_steps
    assert algo.global_step == algo.gradient_steps == algo.iteration == 7
    np.testing.assert_array_equal(algo.obs, obs)  # the training env was never stepped
    assert algo.logged_stats()["train/buffer_size"] == len(load_dataset(noisy_dataset))


def test_edac_diversity_term_by_hand(noisy_dataset):
    algo = offline_algo(EDAC, EDACConfig(hidden_sizes=(8,), num_q=3, batch_size=5), noisy_dataset)
    batch = algo.buffer.sample(5)
    actions = batch.actions.unsqueeze(0).expand(3, -1, -1).clone().requires_grad_(True)
    q = algo.critic.per_member(batch.obs, actions)
    np.testing.assert_allclose(q.detach(), algo.critic(batch.obs, batch.actions).detach(), rtol=1e-6)
    value = SACN.diversity(q, actions)
    grads = []
    for k in range(3):  # member k's own action gradient, one member at a time
        a = batch.actions.clone().requires_grad_(True)
        grads.append(torch.autograd.grad(algo.critic(batch.obs, a)[k].sum(), a)[0])
    unit = [g / (g.norm(dim=-1, keepdim=True) + 1e-10) for g in grads]
    pairs = sum((unit[i] * unit[j]).sum(-1) for i in range(3) for j in range(3) if i != j)
    assert float(value.detach()) == pytest.approx(float(pairs.mean() / 2), rel=1e-5)
    loss, _ = algo.critic_loss(batch, torch.tensor(0.1))
    loss.backward()  # the diversity term is differentiable w.r.t. the critic weights
    assert algo.critic.flat.grad is not None and torch.isfinite(algo.critic.flat.grad).all()


def test_sac_n_target_is_the_min_over_all_members(noisy_dataset):
    algo = offline_algo(SACN, SACNConfig(hidden_sizes=(8,), num_q=4, batch_size=6), noisy_dataset)
    batch, alpha = algo.buffer.sample(6), torch.tensor(0.3)
    torch.manual_seed(3)
    loss, q = algo.critic_loss(batch, alpha)
    torch.manual_seed(3)
    with torch.no_grad():
        next_a, next_logp = algo.actor.sample(batch.next_obs)
        y = batch.rewards + batch.discount * (
            algo.critic_target(batch.next_obs, next_a).min(0).values - alpha * next_logp
        )
    assert float(loss.detach()) == pytest.approx(float((q.detach() - y).square().mean(1).sum()), rel=1e-6)


@pytest.mark.parametrize("cls", [TD3BC, EDAC])
def test_offline_resume_continues_exactly(cls, noisy_dataset, tmp_path):
    config_cls = TD3BCConfig if cls is TD3BC else EDACConfig
    extra = {} if cls is TD3BC else {"num_q": 3}
    config = config_cls(hidden_sizes=(16,), batch_size=32, **extra)
    straight = offline_algo(cls, config, noisy_dataset, seed=2)
    straight.learn(40)
    first = offline_algo(cls, config, noisy_dataset, seed=2)
    first.learn(20)
    first.save(tmp_path / "half.pt")
    torch.manual_seed(9)
    resumed = offline_algo(cls, config, noisy_dataset, seed=2)
    resumed.load(tmp_path / "half.pt")
    resumed.learn(40)
    assert resumed.gradient_steps == 40
    torch.testing.assert_close(resumed.critic.flat, straight.critic.flat, rtol=0, atol=0)


@pytest.mark.slow
@pytest.mark.parametrize(("cls", "config_cls"), [(SACN, SACNConfig), (EDAC, EDACConfig)])
def test_sac_n_and_edac_beat_the_behaviour_policy(noisy_dataset, cls, config_cls):
    behaviour = load_dataset(noisy_dataset).metadata["policy_return_mean"]
    algo = offline_algo(
        cls, config_cls(hidden_sizes=(64, 64), num_q=5, batch_size=128), noisy_dataset, seed=1
    )
    algo.learn(3000)
    assert algo.evaluate().mean > 0.5 * behaviour


def test_replay_extend_writes_a_single_stream_in_order_and_wraps():
    from rlsuite.core.replay import ReplayBuffer

    buffer = ReplayBuffer(5, 1, (1,), (1,), device="cpu")

    def steps(start, count):
        values = np.arange(start, start + count, dtype=np.float32)
        flags = np.zeros(count, bool)
        return values[:, None], values[:, None], values, values[:, None] + 0.5, flags, flags

    buffer.extend(*steps(0, 3))
    assert len(buffer) == 3 and buffer.pos == 3 and not buffer.full
    buffer.extend(*steps(3, 4))  # wraps: rows 3, 4, then 0, 1 are overwritten
    assert buffer.full and buffer.pos == 2 and len(buffer) == 5
    assert buffer.rewards[:, 0].tolist() == [5, 6, 2, 3, 4]
    buffer.extend(*steps(10, 7))  # more than the capacity: only the newest 5 are kept
    assert sorted(buffer.rewards[:, 0].tolist()) == [12, 13, 14, 15, 16] and buffer.pos == 4
    assert buffer.next_obs[4, 0, 0] == 12.5
    with pytest.raises(ValueError, match="num_envs=2"):
        ReplayBuffer(4, 2, (1,), (1,)).extend(*steps(0, 2))


def test_sweep_rejects_an_offline_learner_without_a_dataset_before_launch(tmp_path):
    from rlsuite.sweeps.runner import run_sweep
    from rlsuite.sweeps.spec import SweepError

    sweep = {
        "name": "offline",
        "seeds": 1,
        "total_steps": 10,
        "base": {"device": "cpu", "log": {"tensorboard": False}},
        "envs": ["Pendulum-v1"],
        "algorithms": ["td3bc", "edac"],
    }
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(sweep))
    with pytest.raises(SweepError) as error:
        run_sweep(tmp_path / "sweep.yaml", root=tmp_path / "out", quiet=True)
    assert "td3bc × Pendulum-v1: offline.dataset: td3bc trains from a dataset" in str(error.value)
    assert "edac × Pendulum-v1: offline.dataset: edac trains from a dataset" in str(error.value)
    assert not (tmp_path / "out").exists()
