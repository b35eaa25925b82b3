import gymnasium as gym
import numpy as np
import pytest

import rlsuite


def test_builtin_ids_are_namespaced_and_listed():
    ids = rlsuite.list_envs()
    assert "rlsuite/CartPole-v1" in ids
    assert {f"rlsuite/{t}-v5" for t in ("HalfCheetah", "Hopper", "Walker2d", "Ant", "Humanoid")} <= set(ids)
    assert rlsuite.list_envs("classic") == ["rlsuite/CartPole-v1"]


def test_make_single_and_through_gymnasium():
    env = rlsuite.make("rlsuite/CartPole-v1")
    assert isinstance(env.unwrapped, gym.Env)
    assert env.action_space == gym.spaces.Discrete(2)
    via_gym = gym.make("rlsuite/CartPole-v1")
    assert via_gym.observation_space == env.observation_space
    env.close()
    via_gym.close()


def test_make_vec_prefers_native_core_with_same_step_autoreset():
    venv = rlsuite.make_vec("rlsuite/CartPole-v1", 4)
    assert type(venv).__name__ == "CartPoleVectorEnv"
    assert venv.metadata["autoreset_mode"] == gym.vector.AutoresetMode.SAME_STEP
    sync = rlsuite.make_vec("rlsuite/CartPole-v1", 4, vectorization="sync")
    assert isinstance(sync, gym.vector.SyncVectorEnv)
    assert sync.metadata["autoreset_mode"] == gym.vector.AutoresetMode.SAME_STEP


def test_plain_gymnasium_ids_work_with_same_step_autoreset():
    venv = rlsuite.make_vec("CartPole-v1", 2)
    assert venv.metadata["autoreset_mode"] == gym.vector.AutoresetMode.SAME_STEP


def test_unknown_id_names_closest_ids():
    with pytest.raises(rlsuite.UnknownEnvError) as info:
        rlsuite.make("rlsuite/CartPol-v1")
    message = str(info.value)
    assert "unknown environment id 'rlsuite/CartPol-v1'" in message
    assert "'rlsuite/CartPole-v1'" in message
    with pytest.raises(rlsuite.UnknownEnvError, match="rlsuite/HalfCheetah-v5"):
        rlsuite.make_vec("HalfCheeta", 2)


def test_bad_make_vec_arguments():
    with pytest.raises(ValueError, match="accepted values: auto, native, sync, async"):
        rlsuite.make_vec("rlsuite/CartPole-v1", 2, vectorization="fast")
    with pytest.raises(ValueError, match="num_envs must be a positive integer"):
        rlsuite.make_vec("rlsuite/CartPole-v1", 0)
    with pytest.raises(ValueError, match="has no native batched core"):
        rlsuite.make_vec("rlsuite/TaxiText-v0", 2, vectorization="native")


def test_user_registration_round_trip():
    class Walk(gym.Env):
        observation_space = gym.spaces.Box(-np.inf, np.inf, (1,), np.float32)
        action_space = gym.spaces.Discrete(2)

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            self.x = 0.0
            return np.array([self.x], np.float32), {}

        def step(self, action):
            self.x += 1.0 if action else -1.0
            return np.array([self.x], np.float32), 0.0, abs(self.x) >= 3, False, {}

    rlsuite.register("mine/Walk-v0", entry_point=Walk, max_episode_steps=10)
    try:
        assert "mine/Walk-v0" in rlsuite.list_envs()
        env = rlsuite.make("mine/Walk-v0")
        assert env.spec.max_episode_steps == 10
        with pytest.raises(ValueError, match="already registered"):
            rlsuite.register("mine/Walk-v0", entry_point=Walk)
        venv = rlsuite.make_vec("mine/Walk-v0", 3)
        obs, _ = venv.reset(seed=0)
        assert obs.shape == (3, 1)
    finally:
        rlsuite.envs.registry._REGISTRY.pop("mine/Walk-v0")
        del gym.registry["mine/Walk-v0"]


def test_invalid_id_rejected():
    with pytest.raises(ValueError, match="invalid environment id"):
        rlsuite.register("not an id", entry_point=lambda: None)


# The conformance checks of the registered ids: tests/test_conformance.py (a representative id per family by
# default, the whole registry under the slow mark).
