"""The numba CartPole against Gymnasium's CartPole-v1: physics, rewards, termination, truncation,
same-step autoreset, seeding, checkpoints and the Gymnasium API."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from rlsuite.envs.classic.cartpole import (
    STATE_KEYS,
    THETA_THRESHOLD_RADIANS,
    X_THRESHOLD,
    CartPoleEnv,
    CartPoleVectorEnv,
)

INTEGRATORS = ["euler", "semi-implicit euler"]
# A linear policy that balances the pole for 500+ steps from any default reset state.
BALANCE = np.array([0.05, 0.1, 1.0, 0.5])


def gym_cartpoles(n: int, sutton_barto_reward: bool = False, integrator: str = "euler") -> list:
    envs = []
    for i in range(n):
        env = gym.make("CartPole-v1", sutton_barto_reward=sutton_barto_reward).unwrapped
        env.kinematics_integrator = integrator
        env.reset(seed=i)
        envs.append(env)
    return envs


def random_states(rng: np.random.Generator, n: int) -> np.ndarray:
    """A mix of reset-like states, wide states and states at / just inside the termination thresholds."""
    states = rng.uniform(-0.05, 0.05, size=(n, 4))
    kind = rng.integers(0, 5, size=n)
    sign = rng.choice([-1.0, 1.0], size=n)
    wide = kind == 1
    states[wide] = rng.uniform([-2.4, -3.0, -0.21, -3.5], [2.4, 3.0, 0.21, 3.5], size=(wide.sum(), 4))
    near_x = kind == 2  # cart close to an edge, moving either way
    states[near_x, 0] = sign[near_x] * (X_THRESHOLD - rng.uniform(0.0, 0.08, near_x.sum()))
    states[near_x, 1] = rng.uniform(-2.0, 3.0, near_x.sum()) * sign[near_x]
    states[near_x, 3] = rng.uniform(-1.0, 1.0, near_x.sum())
    near_theta = kind == 3  # pole close to the failure angle
    states[near_theta, 0] = rng.uniform(-2.0, 2.0, near_theta.sum())
    states[near_theta, 2] = sign[near_theta] * (
        THETA_THRESHOLD_RADIANS - rng.uniform(0.0, 0.05, near_theta.sum())
    )
    states[near_theta, 3] = rng.uniform(-1.5, 3.0, near_theta.sum()) * sign[near_theta]
    exact = np.flatnonzero(kind == 4)[:8]  # exactly on a threshold, at rest: strict '<'/'>' keeps them alive
    for j, i in enumerate(exact):
        states[i] = 0.0
        states[i, 0 if j % 2 else 2] = (X_THRESHOLD if j % 2 else THETA_THRESHOLD_RADIANS) * sign[i]
    return states


# ---------------------------------------------------------------------------------------------------
# Physics equality with Gymnasium
def test_spaces_match_gymnasium():
    ref = gym.make("CartPole-v1").unwrapped
    venv = CartPoleVectorEnv(num_envs=5)
    env = CartPoleEnv()
    for obs_space, act_space in [
        (venv.single_observation_space, venv.single_action_space),
        (env.observation_space, env.action_space),
    ]:
        assert obs_space == ref.observation_space
        assert obs_space.dtype == np.float32
        assert act_space == ref.action_space
    assert venv.observation_space == gym.vector.utils.batch_space(ref.observation_space, 5)
    assert venv.action_space == gym.vector.utils.batch_space(ref.action_space, 5)
    assert venv.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP


@pytest.mark.parametrize("sutton_barto_reward", [False, True])
@pytest.mark.parametrize("integrator", INTEGRATORS)
def test_single_transitions_equal_gymnasium(sutton_barto_reward, integrator):
    """From thousands of identical states and actions: next state (float64, bit-exact), obs, reward and
    termination equal Gymnasium's, N envs in parallel against N Gymnasium envs."""
    n, rounds = 128, 40
    rng = np.random.default_rng(1234 + 2 * sutton_barto_reward + (integrator != "euler"))
    venv = CartPoleVectorEnv(n, sutton_barto_reward=sutton_barto_reward, kinematics_integrator=integrator)
    venv.reset(seed=0)
    refs = gym_cartpoles(n, sutton_barto_reward, integrator)
    n_term = 0
    for _ in range(rounds):
        states = random_states(rng, n)
        actions = rng.integers(0, 2, size=n)
        venv.set_physics_state(states)
        obs, rew, term, trunc, infos = venv.step(actions)
        physics = venv.physics_state
        for i, ref in enumerate(refs):
            ref.state = states[i].copy()
            ref.steps_beyond_terminated = None
            r_obs, r_rew, r_term, _, _ = ref.step(int(actions[i]))
            assert r_term == term[i] and not trunc[i]
            assert r_rew == rew[i]
            if r_term:
                assert infos["_final_obs"][i]
                np.testing.assert_array_equal(infos["final_obs"][i], r_obs)
            else:
                np.testing.assert_array_equal(physics[i], ref.state)  # float64 bits
                np.testing.assert_array_equal(obs[i], r_obs)
        n_term += int(term.sum())
    # the state mix must exercise both outcomes heavily
    assert 0.08 * n * rounds < n_term < 0.7 * n * rounds


@pytest.mark.parametrize("integrator", INTEGRATORS)
def test_trajectories_equal_gymnasium(integrator):
    """Multi-step rollouts: Gymnasium follows the vector env (adopting its reset states), bit-exact."""
    n, steps = 32, 200
    rng = np.random.default_rng(7)
    venv = CartPoleVectorEnv(n, kinematics_integrator=integrator)
    venv.reset(seed=5)
    refs = gym_cartpoles(n, integrator=integrator)
    for i, ref in enumerate(refs):
        ref.state = venv.physics_state[i]
    episodes = 0
    for _ in range(steps):
        actions = rng.integers(0, 2, size=n)
        obs, rew, term, _, infos = venv.step(actions)
        physics = venv.physics_state
        for i, ref in enumerate(refs):
            r_obs, r_rew, r_term, _, _ = ref.step(int(actions[i]))
            assert (r_rew, r_term) == (rew[i], term[i])
            if term[i]:
                np.testing.assert_array_equal(infos["final_obs"][i], r_obs)
                ref.state = physics[i].copy()
                ref.steps_beyond_terminated = None
                episodes += 1
            else:
                np.testing.assert_array_equal(ref.state, physics[i])
                np.testing.assert_array_equal(obs[i], r_obs)
    assert episodes > n  # random actions: episodes of ~20 steps


def test_stepping_after_termination_raises_as_every_rlsuite_env():
    """Up to termination the single env matches Gymnasium; a step after it raises ``EpisodeOver`` (a
    ``gymnasium.error.ResetNeeded``), the rule every rlsuite family follows, instead of Gymnasium's
    warning and undefined continuation."""
    from rlsuite.envs.inputs import EpisodeOver

    for sutton_barto in (False, True):
        env = CartPoleEnv(sutton_barto_reward=sutton_barto)
        ref = gym.make("CartPole-v1", sutton_barto_reward=sutton_barto).unwrapped
        ref.reset(seed=0)
        start = np.array([2.3, 1.5, 0.05, 0.0])
        env.set_physics_state(start)
        ref.state = start.copy()
        terminated = False
        steps = 0
        while not terminated:
            out, r_out = env.step(1), ref.step(1)
            np.testing.assert_array_equal(out[0], r_out[0])
            assert out[1:4] == r_out[1:4]
            assert isinstance(out[1], float) and isinstance(out[2], bool)
            terminated = out[2]
            steps += 1
        assert steps < 8 and out[1] == (-1.0 if sutton_barto else 1.0)
        with pytest.raises(EpisodeOver, match="call reset"):
            env.step(1)
        with pytest.raises(gym.error.ResetNeeded):
            env.step(0)
        env.reset(seed=1)
        env.step(0)  # a reset starts a new episode


# ---------------------------------------------------------------------------------------------------
# Same-step autoreset and truncation
def test_matches_sync_vector_env_same_step():
    """Obs, rewards, masks and the infos dict equal SyncVectorEnv(SAME_STEP) over Gymnasium's CartPole
    (with its TimeLimit), the reference adopting our reset states."""
    n, limit = 16, 30
    venv = CartPoleVectorEnv(n, max_episode_steps=limit)
    sync = SyncVectorEnv(
        [lambda: gym.make("CartPole-v1", max_episode_steps=limit) for _ in range(n)],
        autoreset_mode=AutoresetMode.SAME_STEP,
    )
    obs, info = venv.reset(seed=11)
    sync.reset(seed=0)
    assert info == {}
    for i, env in enumerate(sync.envs):
        env.unwrapped.state = venv.physics_state[i]
    rng = np.random.default_rng(3)
    seen_trunc = seen_term = 0
    for _ in range(300):
        actions = rng.integers(0, 2, size=n)
        obs, rew, term, trunc, infos = venv.step(actions)
        s_obs, s_rew, s_term, s_trunc, s_infos = sync.step(actions)
        assert rew.dtype == s_rew.dtype and obs.dtype == s_obs.dtype
        np.testing.assert_array_equal(rew, s_rew)
        np.testing.assert_array_equal(term, s_term)
        np.testing.assert_array_equal(trunc, s_trunc)
        assert list(infos) == list(s_infos)
        done = term | trunc
        if done.any():
            np.testing.assert_array_equal(infos["_final_obs"], s_infos["_final_obs"])
            np.testing.assert_array_equal(infos["_final_info"], s_infos["_final_info"])
            assert infos["final_info"] == s_infos["final_info"] == {}
            assert infos["final_obs"].dtype == object and infos["final_obs"].shape == (n,)
            for i in range(n):
                if done[i]:
                    assert infos["final_obs"][i].dtype == np.float32
                    np.testing.assert_array_equal(infos["final_obs"][i], s_infos["final_obs"][i])
                    sync.envs[i].unwrapped.state = venv.physics_state[i]
                else:
                    assert infos["final_obs"][i] is None and s_infos["final_obs"][i] is None
        np.testing.assert_array_equal(obs[~done], s_obs[~done])
        assert np.all(np.abs(obs[done]) <= 0.05)  # reset observations
        seen_term += int(term.sum())
        seen_trunc += int((trunc & ~term).sum())
    assert seen_term > 20 and seen_trunc > 5


def test_truncation_at_exactly_500_steps():
    n = 8
    venv = CartPoleVectorEnv(n)
    obs, _ = venv.reset(seed=3)
    for t in range(1, 500):
        obs, rew, term, trunc, infos = venv.step((obs @ BALANCE > 0).astype(np.int64))
        assert not term.any() and not trunc.any() and infos == {}, t
    before = venv.get_state()
    np.testing.assert_array_equal(before["elapsed_steps"], 499)
    actions = (obs @ BALANCE > 0).astype(np.int64)
    obs, rew, term, trunc, infos = venv.step(actions)
    assert trunc.all() and not term.any()
    np.testing.assert_array_equal(rew, 1.0)
    assert infos["_final_obs"].all() and infos["_final_info"].all()
    # the terminal observations are the continuation of the physics ...
    longer = CartPoleVectorEnv(n, max_episode_steps=501)
    longer.set_state(before)
    expected, *_ = longer.step(actions)
    np.testing.assert_array_equal(np.stack(infos["final_obs"]), expected)
    # ... and the returned observations are fresh reset states
    after = venv.get_state()
    np.testing.assert_array_equal(after["elapsed_steps"], 0)
    assert np.all(np.abs(after["physics"]) <= 0.05)
    np.testing.assert_array_equal(obs, after["physics"].astype(np.float32))
    _, _, _, trunc2, infos2 = venv.step(np.zeros(n, dtype=np.int64))
    assert not trunc2.any() and infos2 == {}


def test_terminated_and_truncated_on_the_last_step():
    """Terminating on step 500 reports terminated=True and truncated=True, as Gymnasium's TimeLimit."""
    falling = [2.39, 2.0, 0.0, 0.0]  # x crosses 2.4 this step
    calm = [0.0, 0.0, 0.0, 0.0]
    venv = CartPoleVectorEnv(4)
    venv.reset(seed=0)
    venv.set_physics_state([falling, calm, falling, calm], elapsed_steps=[499, 499, 10, 10])
    _, rew, term, trunc, infos = venv.step([1, 1, 1, 1])
    assert term.tolist() == [True, False, True, False]
    assert trunc.tolist() == [True, True, False, False]
    assert infos["_final_obs"].tolist() == [True, True, True, False]
    assert infos["final_obs"][3] is None

    ref = gym.make("CartPole-v1")
    ref.reset(seed=0)
    ref.unwrapped.state = np.array(falling)
    ref._elapsed_steps = 499  # TimeLimit is the outermost wrapper
    _, r_rew, r_term, r_trunc, _ = ref.step(1)
    assert (r_term, r_trunc, r_rew) == (True, True, rew[0])

    env = CartPoleEnv()
    env.reset(seed=0)
    env.set_physics_state(falling, elapsed_steps=499)
    assert env.step(1)[2:4] == (True, True)


# ---------------------------------------------------------------------------------------------------
# Seeding, PRNG and checkpoints
def rollout(venv: CartPoleVectorEnv, actions: np.ndarray) -> list:
    out = []
    for a in actions:
        obs, rew, term, trunc, infos = venv.step(a)
        final = np.stack([f for f in infos["final_obs"] if f is not None]) if infos else None
        out.append((obs, rew, term, trunc, final))
    return out


def assert_same_rollout(a: list, b: list) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        for u, v in zip(x, y):
            if u is None or v is None:
                assert u is None and v is None
            else:
                np.testing.assert_array_equal(u, v)


def test_seeding_reproducible_and_distinct():
    n = 16
    actions = np.random.default_rng(0).integers(0, 2, size=(300, n))
    runs = {}
    for key, seed in [("a", 42), ("b", 42), ("c", 43)]:
        venv = CartPoleVectorEnv(n)
        obs, _ = venv.reset(seed=seed)
        runs[key] = [(obs, None, None, None, None), *rollout(venv, actions)]
    assert_same_rollout(runs["a"], runs["b"])
    assert not np.array_equal(runs["a"][0][0], runs["c"][0][0])
    # seed=42 gives env i the stream of seed 42 + i, as SyncVectorEnv does: shifted by one env
    np.testing.assert_array_equal(runs["a"][0][0][1:], runs["c"][0][0][:-1])
    # resets without a seed continue the stream (deterministic after a seeded reset), with distinct draws
    venv = CartPoleVectorEnv(n)
    first, _ = venv.reset(seed=42)
    second, _ = venv.reset()
    third, _ = venv.reset(seed=42)
    np.testing.assert_array_equal(first, third)
    assert not np.array_equal(first, second)
    fourth, _ = venv.reset()
    np.testing.assert_array_equal(second, fourth)
    # list seeds: one per env, None continues that env's stream
    venv.reset(seed=[42 + i for i in range(n)])
    np.testing.assert_array_equal(venv.reset(seed=[*range(42, 42 + n - 1), None])[0][:-1], first[:-1])


def test_reset_distribution_and_stream_independence():
    n = 20000
    venv = CartPoleVectorEnv(n)
    obs, _ = venv.reset(seed=0)
    physics = venv.physics_state
    np.testing.assert_array_equal(obs, physics.astype(np.float32))
    assert physics.min() >= -0.05 and physics.max() < 0.05
    assert np.all(np.abs(physics.mean(axis=0)) < 0.0015)
    np.testing.assert_allclose(physics.std(axis=0), 0.1 / np.sqrt(12), rtol=0.03)
    counts = np.histogram(physics[:, 0], bins=10, range=(-0.05, 0.05))[0]
    assert np.all(np.abs(counts - n / 10) < 5 * np.sqrt(n / 10))
    # neighbouring envs' streams (seeds s and s + 1) and consecutive draws are uncorrelated
    assert abs(np.corrcoef(physics[:-1, 0], physics[1:, 0])[0, 1]) < 0.05
    assert abs(np.corrcoef(physics[:, 0], physics[:, 1])[0, 1]) < 0.05
    # custom bounds apply to the reset and to later autoresets
    small = CartPoleVectorEnv(64)
    obs, _ = small.reset(seed=1, options={"low": -0.2, "high": -0.1})
    assert obs.min() >= -0.2 and obs.max() <= -0.1
    obs, _, term, trunc, infos = small.step(np.ones(64, dtype=np.int64))
    while not infos:
        obs, _, term, trunc, infos = small.step(np.ones(64, dtype=np.int64))
    done = term | trunc
    assert obs[done].min() >= -0.2 and obs[done].max() <= -0.1
    with pytest.raises(ValueError, match="Lower bound"):
        small.reset(options={"low": 0.1, "high": -0.1})


def test_reset_mask_resets_only_masked_envs():
    venv = CartPoleVectorEnv(4)
    venv.reset(seed=0)
    venv.step([1, 1, 1, 1])
    before = venv.get_state()
    mask = np.array([True, False, True, False])
    venv.reset(options={"reset_mask": mask})
    after = venv.get_state()
    np.testing.assert_array_equal(after["physics"][~mask], before["physics"][~mask])
    np.testing.assert_array_equal(after["elapsed_steps"], [0, 1, 0, 1])
    assert not np.array_equal(after["physics"][mask], before["physics"][mask])


def test_get_state_set_state_round_trip():
    n = 16
    rng = np.random.default_rng(5)
    warmup, actions = rng.integers(0, 2, size=(120, n)), rng.integers(0, 2, size=(400, n))
    venv = CartPoleVectorEnv(n, sutton_barto_reward=True)
    venv.reset(seed=9)
    rollout(venv, warmup)
    state = venv.get_state()
    assert set(state) == set(STATE_KEYS)
    assert state["physics"].dtype == np.float64 and state["physics"].shape == (n, 4)
    assert state["rng_state"].dtype == np.uint64 and state["elapsed_steps"].dtype == np.int64
    reference = rollout(venv, actions)  # includes many autoresets, i.e. PRNG draws

    venv.set_state(state)
    state["physics"][:] = 1.0  # set_state copied: mutating the dict afterwards changes nothing
    state["rng_state"][:] = 0
    assert_same_rollout(reference, rollout(venv, actions))

    fresh = CartPoleVectorEnv(n, sutton_barto_reward=True)
    snapshot = venv.get_state()
    snapshot_copy = {k: v.copy() for k, v in snapshot.items()}
    fresh.set_state(snapshot)
    more = rng.integers(0, 2, size=(200, n))
    assert_same_rollout(rollout(venv, more), rollout(fresh, more))
    for key in STATE_KEYS:  # get_state returned copies that stepping did not touch
        np.testing.assert_array_equal(snapshot[key], snapshot_copy[key])
    with pytest.raises(ValueError, match="shape"):
        CartPoleVectorEnv(n + 1).set_state(snapshot)
    with pytest.raises(KeyError, match="rng_state"):
        fresh.set_state({k: v for k, v in snapshot.items() if k != "rng_state"})


def test_single_env_equals_vector_env_with_one_env():
    rng = np.random.default_rng(2)
    env, venv = CartPoleEnv(), CartPoleVectorEnv(1)
    obs, info = env.reset(seed=77)
    vobs, _ = venv.reset(seed=77)
    assert info == {} and obs.shape == (4,) and obs.dtype == np.float32
    np.testing.assert_array_equal(obs, vobs[0])
    episodes = 0
    for _ in range(1500):
        a = int(rng.integers(0, 2))
        obs, rew, term, trunc, _ = env.step(a)
        vobs, vrew, vterm, vtrunc, vinfos = venv.step(np.array([a]))
        assert (rew, term, trunc) == (vrew[0], vterm[0], vtrunc[0])
        if term or trunc:
            np.testing.assert_array_equal(obs, vinfos["final_obs"][0])
            obs, _ = env.reset()
            episodes += 1
        np.testing.assert_array_equal(obs, vobs[0])
    assert episodes > 20
    s, vs = env.get_state(), venv.get_state()
    for key in STATE_KEYS:
        np.testing.assert_array_equal(s[key], vs[key])
    # env i of a vector env seeded s == a single env seeded s + i
    obs4, _ = CartPoleVectorEnv(4).reset(seed=100)
    for i in range(4):
        np.testing.assert_array_equal(CartPoleEnv().reset(seed=100 + i)[0], obs4[i])
    # and the state dicts are interchangeable
    single = CartPoleEnv()
    single.set_state(venv.get_state())
    np.testing.assert_array_equal(single.state, venv.physics_state[0])


# ---------------------------------------------------------------------------------------------------
# API conformance
def test_check_env_passes():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # infinite Box bounds, no spec: Gymnasium's own CartPole warns too
        check_env(CartPoleEnv())
        check_env(CartPoleEnv(render_mode="rgb_array"))
        check_env(CartPoleEnv(sutton_barto_reward=True, kinematics_integrator="semi-implicit euler"))


def test_check_env_through_gymnasium_make():
    env_id = "rlsuite_test/NumbaCartPole-v1"
    gym.register(env_id, entry_point=CartPoleEnv, max_episode_steps=None)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            env = gym.make(env_id, render_mode="rgb_array")
            check_env(env)  # also renders every declared mode through env.spec.make
            check_env(env.unwrapped)
        assert not any(isinstance(w, gym.wrappers.TimeLimit) for w in _wrappers(env))
    finally:
        gym.registry.pop(env_id, None)


def _wrappers(env):
    while isinstance(env, gym.Wrapper):
        yield env
        env = env.env


def test_bad_actions_raise_value_error():
    venv = CartPoleVectorEnv(3)
    venv.reset(seed=0)
    before = venv.get_state()
    for bad in ([0, 1], np.zeros((3, 1), dtype=np.int64), [0, 2, 1], [-1, 0, 0], np.array([0.0, 1.0, 1.0])):
        with pytest.raises(ValueError, match=r"\{0, 1\}"):
            venv.step(bad)
    after = venv.get_state()  # a rejected step changes nothing
    for key in STATE_KEYS:
        np.testing.assert_array_equal(before[key], after[key])
    venv.step([0, 1, 1])
    venv.step(np.array([True, False, True]))
    venv.step(np.array([1, 0, 1], dtype=np.int32))

    env = CartPoleEnv()
    env.reset(seed=0)
    for bad in (2, -1, 0.5, "1", np.array([1]), None):
        with pytest.raises(ValueError, match=r"\{0, 1\}"):
            env.step(bad)
    env.step(np.int64(1))
    env.step(np.array(0))
    with pytest.raises(gym.error.ResetNeeded):
        CartPoleVectorEnv(2).step([0, 1])
    with pytest.raises(ValueError, match="kinematics_integrator"):
        CartPoleEnv(kinematics_integrator="rk4")


def test_returned_arrays_are_fresh():
    venv = CartPoleVectorEnv(4)
    obs0, _ = venv.reset(seed=0)
    out1 = venv.step([0, 0, 0, 0])
    out2 = venv.step([1, 1, 1, 1])
    for a, b in zip([obs0, *out1[:4]], [out1[0], *out2[:4]]):
        assert not np.shares_memory(a, b)


def test_render_draws_cart_and_pole():
    venv = CartPoleVectorEnv(2, render_mode="rgb_array")
    venv.reset(seed=0)
    venv.set_physics_state([[1.0, 0.0, 0.15, 0.0], [0.0, 0.0, 0.0, 0.0]])
    frame = venv.render()
    assert frame.shape == (400, 600, 3) and frame.dtype == np.uint8
    black = np.all(frame == 0, axis=-1)
    pole = np.all(frame == (202, 152, 101), axis=-1)
    cart_cols = np.flatnonzero(black.sum(axis=0) > 5)  # cart columns (the track is one row)
    cart_center = (cart_cols.min() + cart_cols.max()) / 2
    assert abs(cart_center - (300 + 1.0 * 600 / 4.8)) < 2
    assert pole.sum() > 500
    rows, cols = np.nonzero(pole)
    top = rows < np.percentile(rows, 10)  # pole tip (image rows grow downwards)
    assert cols[top].mean() > cart_center + 10  # positive theta leans right, as in Gymnasium
    env = CartPoleEnv(render_mode="rgb_array")
    env.reset(seed=0)
    assert env.render().shape == (400, 600, 3)
