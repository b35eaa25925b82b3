"""The batched MuJoCo family against Gymnasium's v5 envs: observations, rewards, terminations,
truncations, infos, reset draws and same-step autoreset (bit for bit), plus seeding, checkpoints, errors,
threads, the Gymnasium API and rendering."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import rlsuite
from rlsuite.envs.checks import check_vector_env
from rlsuite.envs.mujoco import TASKS, AntVectorEnv, HopperEnv, MujocoVectorEnv

ALL_TASKS = list(TASKS)
LIMIT = 30  # a short episode limit, so every task crosses truncation in the equivalence test


def gym_env(task: str, seed: int, **kwargs) -> gym.Env:
    """Gymnasium's env as ``SyncVectorEnv`` would hold it (``gym.make``: TimeLimit, checkers)."""
    env = gym.make(f"{task}-v5", **kwargs)
    env.reset(seed=seed)
    return env


def assert_same(ours, theirs, what: str) -> None:
    """Bit equality, with the dtype ``SyncVectorEnv`` would give."""
    theirs_arr = np.asarray(theirs)
    np.testing.assert_array_equal(np.asarray(ours), theirs_arr, err_msg=what, strict=False)


def compare_info(vec_info: dict, i: int, ref_info: dict, what: str) -> None:
    for key, value in ref_info.items():
        assert vec_info[f"_{key}"][i], f"{what}: mask _{key} of env {i} is False"
        assert_same(vec_info[key][i], value, f"{what}: info[{key!r}] of env {i}")
        assert vec_info[key].dtype == np.asarray(value).dtype, f"{what}: dtype of info[{key!r}]"


def perturbed_states(venv: MujocoVectorEnv, rng: np.random.Generator, scale: float):
    """The reset states plus noise, so that contacts, falls and terminations come early."""
    qpos = venv.qpos + rng.uniform(-scale, scale, venv.qpos.shape)
    qvel = venv.qvel + rng.normal(0.0, 10 * scale, venv.qvel.shape)
    return qpos, qvel


# ---------------------------------------------------------------------------------------------------
def run_against_gymnasium(task: str, n: int, steps: int, seed: int, perturb: float, **kwargs) -> int:
    """Step ``make_vec`` and ``n`` Gymnasium envs side by side and compare everything, bit for bit: reset
    observations and infos (env ``i`` of ``reset(seed=seed)`` against ``reset(seed=seed + i)``), then, from
    perturbed states set into both, every step's observation, reward, termination, truncation and info,
    the final observation and info of finished envs and the reset that follows. Returns the number of
    finished episodes."""
    venv = rlsuite.make_vec(f"rlsuite/{task}-v5", n, **kwargs)
    limit = kwargs.pop("max_episode_steps", None)
    refs = [gym_env(task, seed + i, max_episode_steps=limit, **kwargs) for i in range(n)]
    assert venv.single_observation_space == refs[0].observation_space
    assert venv.single_action_space == refs[0].action_space
    obs, info = venv.reset(seed=seed)
    for i, ref in enumerate(refs):
        ref_obs, ref_info = ref.reset(seed=seed + i)
        assert_same(obs[i], ref_obs, f"{task} reset obs")
        compare_info(info, i, ref_info, f"{task} reset")
    rng = np.random.default_rng(sum(map(ord, task)))
    if perturb:
        qpos, qvel = perturbed_states(venv, rng, perturb)
        obs = venv.set_physics_state(qpos, qvel)
        for i, ref in enumerate(refs):
            ref.unwrapped.set_state(qpos[i], qvel[i])
            assert_same(obs[i], ref.unwrapped._get_obs(), f"{task} obs after set_state")
    low, high = venv.single_action_space.low, venv.single_action_space.high
    finished = 0
    for t in range(steps):
        actions = rng.uniform(1.2 * low, 1.2 * high, (n, len(low))).astype(np.float32)
        obs, rewards, terminated, truncated, infos = venv.step(actions)
        assert obs.dtype == np.float64 and rewards.dtype == np.float64
        for i, ref in enumerate(refs):
            r_obs, r_rew, r_term, r_trunc, r_info = ref.step(actions[i])
            what = f"{task} step {t} env {i}"
            assert_same(rewards[i], r_rew, f"{what} reward")
            assert (terminated[i], truncated[i]) == (r_term, r_trunc), what
            if r_term or r_trunc:
                finished += 1
                assert infos["_final_obs"][i] and infos["_final_info"][i], what
                assert_same(infos["final_obs"][i], r_obs, f"{what} final_obs")
                compare_info(infos["final_info"], i, r_info, f"{what} final_info")
                r_obs, r_info = ref.reset()
                for key in infos:  # the top level holds the reset info, as in SyncVectorEnv
                    if not key.startswith("_") and key not in ("final_obs", "final_info"):
                        assert infos[f"_{key}"][i] == (key in r_info), f"{what} mask of {key}"
                compare_info(infos, i, r_info, f"{what} reset info")
            else:
                compare_info(infos, i, r_info, what)
                if "final_obs" not in infos:
                    assert set(infos) == {k for key in r_info for k in (key, f"_{key}")}, what
            assert_same(obs[i], r_obs, f"{what} obs")
    venv.close()
    return finished


@pytest.mark.parametrize("task", ALL_TASKS)
def test_many_single_transitions_equal_gymnasium(task):
    """Many one-step transitions from random states (the reset states plus noise of growing scale) set
    into both: catches last-bit differences in the reward maths, which short trajectories can miss."""
    n, rounds = (24 if task in ("Ant", "Humanoid", "Hopper", "Walker2d") else 96), 10
    venv = rlsuite.make_vec(f"rlsuite/{task}-v5", n)
    ref = gym.make(f"{task}-v5").unwrapped
    ref.reset(seed=0)
    rng = np.random.default_rng(7)
    low, high = venv.single_action_space.low, venv.single_action_space.high
    for r in range(rounds):
        venv.reset(seed=r)  # zero warm starts, as after Gymnasium's reset
        qpos, qvel = perturbed_states(venv, rng, 0.02 * (1 + r % 4))
        venv.set_physics_state(qpos, qvel)
        actions = rng.uniform(1.2 * low, 1.2 * high, (n, len(low))).astype(np.float32)
        obs, rewards, terminated, _, infos = venv.step(actions)
        for i in range(n):
            ref.reset()
            ref.set_state(qpos[i], qvel[i])
            r_obs, r_rew, r_term, _, r_info = ref.step(actions[i])
            what = f"{task} round {r} env {i}"
            assert_same(rewards[i], r_rew, f"{what} reward")
            assert terminated[i] == r_term, what
            assert_same(obs[i] if not r_term else infos["final_obs"][i], r_obs, f"{what} obs")
            compare_info(infos if not r_term else infos["final_info"], i, r_info, what)


@pytest.mark.parametrize("task", ALL_TASKS)
def test_trajectories_equal_gymnasium(task):
    """N envs against N Gymnasium envs with random (partly out-of-range) float32 actions, across
    terminations, truncations and same-step autoresets."""
    finished = run_against_gymnasium(task, n=3, steps=75, seed=100, perturb=0.05, max_episode_steps=LIMIT)
    assert finished >= 3  # every env crossed at least one episode boundary


def test_default_episode_limits_and_registration():
    for task in ALL_TASKS:
        entry = rlsuite.envs.registry.spec(f"rlsuite/{task}-v5")
        assert entry.max_episode_steps is None and entry.has_native_vector  # truncation is in the core
        assert TASKS[task].max_episode_steps == gym.spec(f"{task}-v5").max_episode_steps
    env = rlsuite.make("rlsuite/Hopper-v5")
    assert isinstance(env.unwrapped, HopperEnv)
    assert not any(isinstance(w, gym.wrappers.TimeLimit) for w in _wrappers(env))
    venv = rlsuite.make_vec("rlsuite/Ant-v5", 2)
    assert isinstance(venv, AntVectorEnv)
    assert venv.metadata["autoreset_mode"] == gym.vector.AutoresetMode.SAME_STEP
    assert venv.metadata["render_fps"] == gym.make("Ant-v5").metadata["render_fps"] == 20


def _wrappers(env):
    while isinstance(env, gym.Wrapper):
        yield env
        env = env.env


def test_single_env_equals_gymnasium_across_the_default_limit():
    """Reacher (50-step episodes): the single env under its built-in truncation against gym.make."""
    env, ref = rlsuite.make("rlsuite/Reacher-v5"), gym.make("Reacher-v5")
    rng = np.random.default_rng(0)
    assert_same(env.reset(seed=7)[0], ref.reset(seed=7)[0], "reset")
    truncations = 0
    for t in range(120):
        action = rng.uniform(-1.5, 1.5, 2)  # float64 actions this time
        o1, r1, te1, tr1, i1 = env.step(action)
        o2, r2, te2, tr2, i2 = ref.step(action)
        assert_same(o1, o2, f"obs {t}")
        assert r1 == r2 and (te1, tr1) == (te2, tr2) and i1.keys() == i2.keys(), t
        for key in i1:
            assert_same(i1[key], i2[key], key)
        if te1 or tr1:
            truncations += tr1
            assert_same(env.reset()[0], ref.reset()[0], f"reset {t}")
    assert truncations == 2


def test_float64_actions_and_results_do_not_depend_on_threads():
    rng = np.random.default_rng(3)
    actions = rng.uniform(-1, 1, (40, 4, 8))  # float64
    runs = []
    for nthread in (1, 2, 3):
        venv = AntVectorEnv(4, nthread=nthread)
        assert venv.nthread == nthread
        trace = [venv.reset(seed=5)[0]]
        for a in actions:
            obs, rew, *_ = venv.step(a)
            trace += [obs, rew]
        runs.append(trace)
    for other in runs[1:]:
        for x, y in zip(runs[0], other):
            np.testing.assert_array_equal(x, y)
    ref = gym_env("Ant", 5)
    ref.reset(seed=5)
    for t, a in enumerate(actions[:10]):
        assert_same(runs[0][1 + 2 * t][0], ref.step(a[0])[0], "Ant obs with float64 actions")


# ---------------------------------------------------------------------------------------------------
def test_reset_noise_distributions():
    n = 400
    cheetah = rlsuite.make_vec("rlsuite/HalfCheetah-v5", n)
    cheetah.reset(seed=0)
    qpos0 = cheetah.model.qpos0
    assert np.abs(cheetah.qpos - qpos0).max() <= 0.1
    assert (
        0.09 < np.abs(cheetah.qpos - qpos0).max() and abs(np.std(cheetah.qpos - qpos0) - 0.1 / 3**0.5) < 0.005
    )
    assert abs(np.std(cheetah.qvel) - 0.1) < 0.005  # qvel ~ 0.1 * N(0, 1)
    assert np.abs(cheetah.qvel).max() > 0.25
    hopper = rlsuite.make_vec("rlsuite/Hopper-v5", n)
    hopper.reset(seed=0)
    assert np.abs(hopper.qpos - hopper.model.qpos0).max() <= 5e-3 and np.abs(hopper.qvel).max() <= 5e-3
    reacher = rlsuite.make_vec("rlsuite/Reacher-v5", n)
    reacher.reset(seed=0)
    assert (np.linalg.norm(reacher.qpos[:, -2:], axis=1) < 0.2).all() and (reacher.qvel[:, -2:] == 0).all()
    pusher = rlsuite.make_vec("rlsuite/Pusher-v5", n)
    pusher.reset(seed=0)
    assert (np.linalg.norm(pusher.qpos[:, -4:-2], axis=1) > 0.17).all() and (pusher.qpos[:, -2:] == 0).all()
    np.testing.assert_array_equal(pusher.qpos[:, :-4], np.broadcast_to(pusher.model.qpos0[:-4], (n, 7)))


def test_seeding():
    venv = rlsuite.make_vec("rlsuite/Walker2d-v5", 3)
    a, _ = venv.reset(seed=42)
    b, _ = venv.reset(seed=42)
    c, _ = venv.reset(seed=43)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(a[1], c[0])  # env i is seeded with seed + i
    assert len({row.tobytes() for row in a}) == 3
    d, _ = venv.reset(seed=[42, None, 44])
    np.testing.assert_array_equal(d[0], a[0])
    np.testing.assert_array_equal(d[2], a[2])
    e, _ = venv.reset()  # continues the streams
    assert not np.array_equal(e[0], a[0])
    single = rlsuite.make("rlsuite/Walker2d-v5")
    np.testing.assert_array_equal(single.reset(seed=43)[0], a[1])
    mask = np.array([True, False, True])
    venv.reset(seed=42)
    before = venv.qpos
    obs, info = venv.reset(seed=9, options={"reset_mask": mask})
    np.testing.assert_array_equal(venv.qpos[1], before[1])
    np.testing.assert_array_equal(obs[0], single.reset(seed=9)[0])  # masked envs get seed + i
    np.testing.assert_array_equal(obs[2], single.reset(seed=11)[0])
    assert info["_x_position"].tolist() == [True, False, True]
    with pytest.raises(ValueError, match="must have num_envs=3 entries"):
        venv.reset(seed=[1, 2])


def test_get_state_set_state_continuation_is_bit_identical():
    for task, n in (("Ant", 3), ("Hopper", 4)):
        venv = rlsuite.make_vec(f"rlsuite/{task}-v5", n, max_episode_steps=15)
        venv.reset(seed=1)
        rng = np.random.default_rng(0)
        actions = rng.uniform(-1, 1, (60, *venv.action_space.shape)).astype(np.float32)
        for a in actions[:10]:
            venv.step(a)
        saved = venv.get_state()

        def rollout(env, actions=actions):
            out = []
            for a in actions[10:]:
                obs, rew, term, trunc, info = env.step(a)
                out += [obs, rew, term, trunc, *(v for k, v in sorted(info.items()) if k != "final_obs")]
            return out

        first = rollout(venv)
        venv.set_state(saved)
        fresh = rlsuite.make_vec(f"rlsuite/{task}-v5", n, max_episode_steps=15)
        fresh.set_state(saved)
        for again in (rollout(venv), rollout(fresh)):
            assert len(again) == len(first)
            for x, y in zip(first, again):
                if isinstance(x, dict):
                    assert x.keys() == y.keys()
                    x, y = [x[k] for k in sorted(x)], [y[k] for k in sorted(y)]
                np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    with pytest.raises(KeyError, match="missing"):
        venv.set_state({"physics": saved["physics"]})


def test_errors():
    venv = rlsuite.make_vec("rlsuite/Swimmer-v5", 3)
    with pytest.raises(gym.error.ResetNeeded):
        venv.step(np.zeros((3, 2)))
    venv.reset(seed=0)
    with pytest.raises(ValueError, match=r"shape \(3, 2\).*got \(2, 3\)"):
        venv.step(np.zeros((2, 3)))
    bad = np.zeros((3, 2))
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="env 2 is not finite"):
        venv.step(bad)
    bad[2, 1] = np.inf
    with pytest.raises(ValueError, match="env 2"):
        venv.step(bad)
    with pytest.raises(
        TypeError, match=r"unexpected keyword argument\(s\) 'ctrl_cost'.*accepted:.*ctrl_cost_weight"
    ):
        rlsuite.make_vec("rlsuite/Swimmer-v5", 2, ctrl_cost=0.1)
    with pytest.raises(TypeError, match="healthy_z_range"):
        rlsuite.make("rlsuite/Hopper-v5", healthy_z=(0, 1))
    with pytest.raises(ValueError, match="num_envs"):
        rlsuite.make_vec("rlsuite/Hopper-v5", 0, vectorization="native")
    single = rlsuite.make("rlsuite/Hopper-v5").unwrapped
    single.reset(seed=0)
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        single.step(np.zeros(4))


@pytest.mark.parametrize(
    ("task", "kwargs"),
    [
        (
            "Ant",
            dict(
                include_cfrc_ext_in_observation=False,
                exclude_current_positions_from_observation=False,
                ctrl_cost_weight=0.1,
                contact_force_range=(-2.0, 2.0),
                main_body="torso",
                frame_skip=4,
            ),
        ),
        (
            "Humanoid",
            dict(
                include_cinert_in_observation=False,
                include_cvel_in_observation=False,
                contact_cost_range=(-1.0, 1.0),
                healthy_z_range=(0.8, 2.5),
            ),
        ),
        (
            "Hopper",
            dict(terminate_when_unhealthy=False, healthy_angle_range=(-0.5, 0.5), reset_noise_scale=0.1),
        ),
        ("InvertedDoublePendulum", dict(healthy_reward=3.0, reset_noise_scale=0.3, max_episode_steps=12)),
    ],
)
def test_gymnasium_kwargs_are_honoured(task, kwargs):
    """Non-default Gymnasium keywords give Gymnasium's spaces and trajectories."""
    finished = run_against_gymnasium(task, n=2, steps=25, seed=3, perturb=0.0, **kwargs)
    if "max_episode_steps" in kwargs:  # the 12-step limit: both envs truncated twice in 25 steps
        assert finished >= 4


# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("task", ["Hopper", "Humanoid", "InvertedDoublePendulum"])
def test_gymnasium_env_checker_and_vector_checks(task):
    env = rlsuite.make(f"rlsuite/{task}-v5")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # advisory warnings (unbounded Box) are not failures
        check_env(env.unwrapped, skip_render_check=True)
    check_vector_env(f"rlsuite/{task}-v5")


def test_render_rgb_array():
    """Rendering needs an OpenGL backend: run it in a subprocess with MUJOCO_GL=egl (or the caller's)."""
    code = (
        "import rlsuite, numpy as np\n"
        "env = rlsuite.make('rlsuite/Hopper-v5', render_mode='rgb_array', width=160, height=120)\n"
        "env.reset(seed=0); env.step(env.action_space.sample()); frame = env.render()\n"
        "assert frame.shape == (120, 160, 3) and frame.dtype == np.uint8 and frame.std() > 1, frame.shape\n"
        "venv = rlsuite.make_vec('rlsuite/Ant-v5', 2, render_mode='rgb_array')\n"
        "venv.reset(seed=0); frame = venv.render()\n"
        "assert frame.shape == (480, 480, 3) and frame.dtype == np.uint8\n"
        "print('RENDER-OK')\n"
    )
    environ = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    result = subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=120
    )
    if "RENDER-OK" not in result.stdout:
        if "OpenGL" in result.stderr or "EGL" in result.stderr or "GL" in result.stderr.split("Error")[-1]:
            pytest.skip(f"no OpenGL backend for MUJOCO_GL={environ['MUJOCO_GL']}: {result.stderr[-300:]}")
        raise AssertionError(result.stderr[-2000:])
    env = rlsuite.make("rlsuite/Hopper-v5").unwrapped
    env.reset(seed=0)
    with pytest.warns(UserWarning, match="without specifying any render mode"):
        assert env.render() is None
