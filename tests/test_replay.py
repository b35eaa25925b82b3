"""Replay buffer: ring layout, n-step returns against a hand computation, checkpoint round trip."""

import numpy as np
import pytest
import torch

from rlsuite.core.replay import ReplayBuffer


def filled(num_envs=2, rows=6, steps=5, n_step=1, gamma=0.5, seed=0, dones=None, terminated=None):
    """A buffer whose transition (t, e) has obs = 10 t + e, reward = t + 1 + 100 e."""
    buf = ReplayBuffer(rows * num_envs, num_envs, (1,), (1,), n_step=n_step, gamma=gamma, seed=seed)
    for t in range(steps):
        obs = np.array([[10 * t + e] for e in range(num_envs)], np.float32)
        term = np.zeros(num_envs, bool) if terminated is None else terminated[t]
        done = term if dones is None else dones[t]
        buf.add(obs, obs * 0, np.arange(num_envs) * 100 + t + 1.0, obs + 10, term, done & ~term)
    return buf


def test_add_sample_and_ring_wrap():
    buf = filled(steps=8)  # 8 vector steps into 6 rows: rows 0-1 overwritten by steps 6-7
    assert len(buf) == 12 and buf.full and buf.pos == 2
    batch = buf.sample(512)
    obs = batch.obs.squeeze(1)
    assert set(obs.tolist()) == {10 * t + e for t in range(2, 8) for e in range(2)}
    torch.testing.assert_close(batch.next_obs.squeeze(1), obs + 10)
    torch.testing.assert_close(batch.discount, torch.full((512,), 0.5))
    order = buf.all_transitions().obs.squeeze(1).tolist()
    assert order == [10 * t + e for t in range(2, 8) for e in range(2)]  # oldest first


def n_step_expected(rewards, dones, terminated, t, n, gamma, newest):
    """Hand computation of the n-step return and bootstrap discount for one env."""
    total, k = 0.0, 0
    while True:
        total += gamma**k * rewards[t + k]
        if dones[t + k] or k + 1 == n or t + k == newest:
            return total, gamma ** (k + 1) * (not terminated[t + k]), t + k
        k += 1


@pytest.mark.parametrize("n_step", [2, 3, 5])
def test_n_step_returns_match_hand_computation(n_step):
    steps, gamma = 7, 0.5
    terminated = np.zeros((steps, 1), bool)
    dones = np.zeros((steps, 1), bool)
    terminated[2] = dones[2] = True  # episode ends by termination after step 2
    dones[4] = True  # ... and by truncation after step 4 (bootstrapped)
    buf = filled(
        num_envs=1, rows=10, steps=steps, n_step=n_step, gamma=gamma, dones=dones, terminated=terminated
    )
    rewards = [t + 1.0 for t in range(steps)]
    batch = buf.sample(2000)
    for obs, reward, discount, next_obs in zip(
        batch.obs.squeeze(1), batch.rewards, batch.discount, batch.next_obs.squeeze(1)
    ):
        t = int(obs) // 10
        want, want_discount, last = n_step_expected(
            rewards, dones[:, 0], terminated[:, 0], t, n_step, gamma, 6
        )
        assert float(reward) == pytest.approx(want)
        assert float(discount) == pytest.approx(want_discount)
        assert float(next_obs) == 10 * last + 10


def test_state_dict_round_trip_continues_identically():
    buf = filled(steps=4, seed=3)
    copy = ReplayBuffer(12, 2, (1,), (1,), gamma=0.5, seed=99)
    copy.load_state_dict(buf.state_dict())
    assert len(copy) == len(buf) and copy.pos == buf.pos
    for a, b in zip(buf.sample(64), copy.sample(64), strict=True):
        torch.testing.assert_close(a, b)


def test_layout_mismatch_and_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="layout mismatch"):
        ReplayBuffer(20, 2, (1,), (1,)).load_state_dict(filled().state_dict())
    with pytest.raises(ValueError, match="at least num_envs"):
        ReplayBuffer(1, 2, (1,), (1,))
    with pytest.raises(RuntimeError, match="empty"):
        ReplayBuffer(4, 1, (1,), (1,)).sample(1)


def test_checkpoint_holds_only_the_filled_rows(tmp_path):
    buf = ReplayBuffer(100_000, 1, (8,), (2,))
    for _ in range(10):
        buf.add(
            np.ones((1, 8)),
            np.ones((1, 2)),
            np.ones(1),
            np.ones((1, 8)),
            np.zeros(1, bool),
            np.zeros(1, bool),
        )
    torch.save(buf.state_dict(), tmp_path / "replay.pt")
    assert (tmp_path / "replay.pt").stat().st_size < 20_000  # not the 100k-row storage (~7 MB)
