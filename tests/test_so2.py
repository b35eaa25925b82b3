"""SO2 and naive fine-tuning: loading an offline checkpoint, the PVU target by hand, per-member targets,
the 10%/90% minibatch, initial collection with the pretrained policy, IFQU counts, exact resume, the
CLI path from an offline run, and learning on a small task."""

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from rlsuite.algos.base import Algorithm
from rlsuite.algos.sac_n import SACN, SACNConfig
from rlsuite.algos.so2 import SO2, SO2Config, pretrained_checkpoint
from rlsuite.algos.td3bc import TD3BC, TD3BCConfig
from rlsuite.cli import main
from rlsuite.config import ConfigError, EnvConfig, EvalConfig, OfflineConfig
from rlsuite.core.checkpoint import load_checkpoint
from rlsuite.core.replay import ReplayNotRestoredWarning
from rlsuite.offline import save_dataset
from rlsuite.offline.collect import collect_dataset

ENV = "test/IdentityContinuous-v0"  # observe a target in [-1, 1]; reward -(action - target)^2
SMALL = {"hidden_sizes": (16, 16), "learning_starts": 40, "batch_size": 50, "buffer_size": 2000}


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory) -> dict[str, Path]:
    """A random-action dataset and a SAC-N checkpoint (5 members) trained on it briefly."""
    root = tmp_path_factory.mktemp("so2")
    save_dataset(collect_dataset(ENV, None, 1000, num_envs=2, seed=0, level="random"), root / "random.hdf5")
    sac_n = SACN(
        EnvConfig(id=ENV, num_envs=1),
        SACNConfig(hidden_sizes=(16, 16), num_q=5, batch_size=64),
        device="cpu",
        offline=OfflineConfig(dataset=str(root / "random.hdf5")),
    )
    sac_n.learn(200)
    sac_n.save(root / "sac_n.pt")
    return {"dataset": root / "random.hdf5", "checkpoint": root / "sac_n.pt", "root": root}


def make_so2(pretrained, seed=0, num_envs=1, dataset=True, **overrides):
    offline = OfflineConfig(
        dataset=str(pretrained["dataset"]) if dataset else None, init_from=str(pretrained["checkpoint"])
    )
    config = SO2Config(**{**SMALL, "num_q": 3, **overrides})
    return SO2(
        EnvConfig(id=ENV, num_envs=num_envs),
        config,
        seed=seed,
        device="cpu",
        offline=offline,
        eval_config=EvalConfig(episodes=10),
    )


def test_loads_actor_and_first_members_of_the_checkpoint(pretrained):
    source = Algorithm.from_checkpoint(pretrained["checkpoint"], device="cpu")
    so2 = make_so2(pretrained)
    obs, actions = torch.rand(6, 1) * 2 - 1, torch.rand(6, 1) * 2 - 1
    torch.testing.assert_close(so2.critic(obs, actions), source.critic(obs, actions)[:3])
    torch.testing.assert_close(so2.critic_target(obs, actions), source.critic_target(obs, actions)[:3])
    torch.testing.assert_close(so2.actor.distribution(obs), source.actor.distribution(obs))
    assert float(so2.log_alpha.detach().exp()) == pytest.approx(0.2)  # fixed alpha, not the checkpoint's
    with pytest.raises(ValueError, match="has 5 members; 6 needed"):
        make_so2(pretrained, num_q=6)
    with pytest.raises(ConfigError, match=r"algo.hidden_sizes: \[8\] differs"):
        make_so2(pretrained, hidden_sizes=(8,))


def test_rejects_checkpoints_without_a_stochastic_actor_and_ensemble(pretrained, tmp_path):
    td3bc = TD3BC(
        EnvConfig(id=ENV, num_envs=1),
        TD3BCConfig(hidden_sizes=(16, 16)),
        device="cpu",
        offline=OfflineConfig(dataset=str(pretrained["dataset"])),
    )
    td3bc.save(tmp_path / "td3bc.pt")
    with pytest.raises(ConfigError, match="'td3bc' checkpoint; so2 starts from sac_n, edac, so2"):
        make_so2({**pretrained, "checkpoint": tmp_path / "td3bc.pt"})
    assert "offline.init_from" in SO2.offline_problems(OfflineConfig())[0]
    with pytest.raises(ConfigError, match=r"offline\.dataset: so2 with online_ratio < 1 mixes in offline"):
        make_so2(pretrained, dataset=False)  # SO2's default 10%/90% mixing needs the dataset


def test_pvu_target_by_hand_with_fixed_noise(pretrained):
    so2 = make_so2(pretrained)
    batch = so2.pool.sample(8)
    alpha = torch.tensor(0.2)
    noise = torch.linspace(-2.0, 2.0, 8).reshape(8, 1)  # beyond the clip c = 0.6 at both ends
    torch.manual_seed(5)
    target = so2.td_target(batch, alpha, noise=noise)
    torch.manual_seed(5)
    next_a, next_logp = so2.actor.sample(batch.next_obs)  # the same draw of a' ~ pi(.|s')
    perturbed = (next_a + noise.clamp(-0.6, 0.6)).clamp(-1.0, 1.0)
    by_hand = torch.stack(
        [
            batch.rewards
            + batch.discount * (so2.critic_target(batch.next_obs, perturbed)[k] - alpha * next_logp)
            for k in range(3)
        ]
    )  # y_k: member k's own target, log-prob of the unperturbed a'
    assert target.shape == (3, 8)
    torch.testing.assert_close(target, by_hand)
    assert not torch.allclose(target[0], target[1])  # members bootstrap differently
    so2.config.target = "min"
    torch.manual_seed(5)
    torch.testing.assert_close(so2.td_target(batch, alpha, noise=noise), by_hand.min(0).values)
    so2.config.pvu = False
    torch.manual_seed(5)
    unperturbed = batch.rewards + batch.discount * (
        so2.critic_target(batch.next_obs, next_a).min(0).values - alpha * next_logp
    )
    torch.testing.assert_close(so2.td_target(batch, alpha, noise=noise), unperturbed)


def test_critic_loss_is_the_mean_over_members_and_batch(pretrained):
    so2 = make_so2(pretrained)
    batch = so2.pool.sample(8)
    torch.manual_seed(1)
    loss, q = so2.critic_loss(batch, torch.tensor(0.2))
    torch.manual_seed(1)
    target = so2.td_target(batch, torch.tensor(0.2))
    by_hand = ((q.detach() - target) ** 2).sum() / (3 * 8)
    assert float(loss.detach()) == pytest.approx(float(by_hand), rel=1e-6)


def test_minibatch_is_ten_percent_online_ninety_percent_pool(pretrained):
    so2 = make_so2(pretrained, batch_size=2560)
    marker = np.full(1, 1000.0, np.float32)
    for _ in range(30):  # online-only data carries a marker reward no env transition has
        so2.buffer.add(np.zeros((1, 1)), np.zeros((1, 1)), marker, np.zeros((1, 1)), [False], [False])
    batch = so2.sample_batch()
    assert batch.obs.shape == (2560, 1)
    assert int((batch.rewards == 1000.0).sum()) == 256
    assert bool((batch.rewards[:256] == 1000.0).all()) and bool((batch.rewards[256:] <= 0).all())
    naive = make_so2(pretrained, online_ratio=1.0, batch_size=64, dataset=False)
    assert naive.pool is None
    naive.buffer.add(np.zeros((1, 1)), np.zeros((1, 1)), marker, np.zeros((1, 1)), [False], [False])
    assert bool((naive.sample_batch().rewards == 1000.0).all())


def test_online_steps_go_to_the_buffer_and_the_pool(pretrained):
    so2 = make_so2(pretrained, num_envs=2, learning_starts=1000)
    so2.learn(20)
    assert len(so2.buffer) == 20 and len(so2.pool) == 1000 + 20
    pool_rewards = so2.pool.rewards[1000:1020, 0]
    online_rewards = so2.buffer.rewards[:10].flatten()  # [rows, envs] -> env-interleaved, as pushed
    torch.testing.assert_close(pool_rewards, online_rewards)


def test_initial_collection_uses_the_pretrained_policy(pretrained):
    def gap_to_the_policy_mode(policy):
        so2 = make_so2(pretrained, learning_starts=100, initial_policy=policy)
        so2.actor.log_std_min = so2.actor.log_std_max = -8.0  # a near-deterministic pretrained policy
        so2.learn(100)
        assert so2.gradient_steps == 0 and len(so2.buffer) == 100
        mode = torch.tanh(so2.actor.distribution(so2.buffer.obs[:100, 0])[0])
        return float((so2.buffer.actions[:100, 0] - mode).abs().max().detach())

    assert gap_to_the_policy_mode("pretrained") < 0.01  # the stored actions are the pretrained policy's
    assert gap_to_the_policy_mode("random") > 0.5  # uniform actions, unrelated to it


def test_update_frequency_critic_and_actor_counts(pretrained):
    so2 = make_so2(pretrained, learning_starts=50, utd_ratio=10, actor_update_freq=10)
    so2.learn(50 + 15)  # updates start once learning_starts (and a full batch) is reached
    assert so2.gradient_steps == 150
    actor_steps = {int(s["step"]) for s in so2.actor_optimizer.state.values()}
    critic_steps = {int(s["step"]) for s in so2.critic_optimizer.state.values()}
    assert actor_steps == {15} and critic_steps == {150}
    big_batch = make_so2(pretrained, learning_starts=64, batch_size=640)  # 64 online + 576 from the pool
    big_batch.learn(74)
    assert big_batch.gradient_steps == 100  # 10 env steps past learning_starts: 64 online samples suffice
    naive = make_so2(pretrained, learning_starts=50, utd_ratio=1, actor_update_freq=1, online_ratio=1.0)
    naive.learn(50 + 15)
    assert naive.gradient_steps == 15
    assert {int(s["step"]) for s in naive.actor_optimizer.state.values()} == {15}


def test_resume_continues_exactly_with_the_pool(pretrained, tmp_path):
    straight = make_so2(pretrained, seed=3)
    straight.learn(80)
    first = make_so2(pretrained, seed=3)
    first.learn(60)
    first.save(tmp_path / "half.pt")
    torch.manual_seed(11)
    np.random.seed(12)
    resumed = make_so2(pretrained, seed=3)
    resumed.load(tmp_path / "half.pt")
    assert len(resumed.pool) == 1000 + 60
    resumed.learn(80)
    torch.testing.assert_close(resumed.critic.flat, straight.critic.flat, rtol=0, atol=0)
    # the checkpoint holds the pool's online rows only, not the dataset
    saved = load_checkpoint(tmp_path / "half.pt")["algorithm"]["pool"]
    assert len(saved["rewards"]) == 60 and saved["first_row"] == 1000


def test_init_from_a_folder_of_runs_takes_the_same_seed(tmp_path):
    group = tmp_path / "edac-hopper-medium"
    for name in ("edac-Hopper-v5-s0-20260101-000000", "edac-Hopper-v5-s1-20260101-000000"):
        (group / name / "checkpoints").mkdir(parents=True)
        (group / name / "checkpoints" / "latest.pt").write_bytes(b"")
    assert pretrained_checkpoint(group, 1).name == "edac-Hopper-v5-s1-20260101-000000"
    with pytest.warns(UserWarning, match="no run with seed 7"):
        assert pretrained_checkpoint(group, 7).parent == group
    run = group / "edac-Hopper-v5-s0-20260101-000000"
    assert pretrained_checkpoint(run, 5) == run  # a run folder is used as it is
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match="holds no run folder"):
        pretrained_checkpoint(empty, 0)


def test_cli_offline_then_so2_then_naive(pretrained, tmp_path):
    """The documented path: offline run folder -> so2 run with offline.init_from=RUN_DIR -> eval."""
    common = ["--quiet", f"runs_root={tmp_path}", f"env.id={ENV}", "device=cpu", "log.tensorboard=false"]
    sizes = ["algo.hidden_sizes=[16,16]", "algo.num_q=3", "eval.episodes=2", "checkpoint.every_steps=0"]
    for seed in (0, 1):  # the EDAC file pins no run folder: a second seed does not overwrite the first
        code = main(
            ["train", "experiments/offline/edac_hopper_medium.yaml", *common, *sizes, "total_steps=50",
             f"seed={seed}", f"offline.dataset={pretrained['dataset']}", "eval.every_steps=0"]
        )  # fmt: skip
        assert code == 0
    runs = sorted(run.name.split("-s")[1][0] for run in (tmp_path / "edac-hopper-medium").iterdir())
    assert runs == ["0", "1"]
    for name in ("hopper_medium", "hopper_medium_naive"):
        code = main(
            ["train", f"experiments/so2/{name}.yaml", *common, *sizes, "total_steps=60",
             "eval.every_steps=30",
             "algo.learning_starts=40", "algo.batch_size=50", f"offline.dataset={pretrained['dataset']}",
             f"offline.init_from={tmp_path}/edac-hopper-medium", f"run_dir={tmp_path}/{name}"]
        )  # fmt: skip
        assert code == 0
        summary = json.loads((tmp_path / name / "summary.json").read_text())
        assert summary["algo"] == "so2" and summary["total_steps"] == 60
        assert "normalized_score" not in summary  # the test env has no D4RL reference
    with warnings.catch_warnings():  # the configs keep checkpoints small; evaluation only acts
        warnings.simplefilter("error", ReplayNotRestoredWarning)
        assert main(["eval", str(tmp_path / "hopper_medium"), "--episodes", "2"]) == 0


@pytest.mark.slow
def test_so2_fine_tuning_improves_on_a_small_task(pretrained):
    so2 = make_so2(pretrained, seed=1, learning_starts=100, batch_size=256, hidden_sizes=(16, 16))
    before = so2.evaluate().mean
    so2.learn(600)
    after = so2.evaluate().mean
    print(f"SO2 fine-tuning: {before:.2f} -> {after:.2f}")
    assert after > before + 1.0 and after > -2.0, (before, after)


@pytest.mark.parametrize("naive", [False, True])
def test_fused_update_matches_autograd(pretrained, naive):
    """SO2's critic (per-member PVU targets, mean loss) and actor steps by the fused update equal the
    autograd path's (SO2 and naive settings)."""
    settings = dict(utd_ratio=1, actor_update_freq=1, online_ratio=1.0, pvu=False) if naive else {}
    runs = {}
    for backend in ("autograd", "fused"):
        torch.manual_seed(0)
        so2 = make_so2(pretrained, seed=4, utd_ratio=3, actor_update_freq=2, update_backend=backend)
        if naive:
            so2 = make_so2(pretrained, seed=4, update_backend=backend, **settings)
        so2.learn(70)
        runs[backend] = so2
    slow, fast = runs["autograd"], runs["fused"]
    assert slow.fused is None and fast.fused is not None and fast.gradient_steps > 0
    for name in ("actor", "critic", "critic_target"):
        for x, y in zip(getattr(slow, name).parameters(), getattr(fast, name).parameters()):
            torch.testing.assert_close(x, y, atol=1e-5, rtol=1e-4, msg=name)
