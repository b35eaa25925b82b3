"""ParallelVectorEnv: PettingZoo Parallel envs as batched team vector envs (the SMACVectorEnv interface)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from pettingzoo import ParallelEnv

import rlsuite
from rlsuite.envs import registry
from rlsuite.envs.smac.heuristic import attack_nearest_actions
from rlsuite.envs.smac.vector import SMACVectorEnv
from rlsuite.wrappers.multi_agent import ParallelVectorEnv

SMAC_ID = "rlsuite/SMAC-3m-v0"


# ----- a tiny hand-written ParallelEnv ------------------------------------------------------------------
class Duo(ParallelEnv):
    """Agents 'a' (reward 1/step) and 'b' (reward 3/step); actions 0, 1, 2; action 2 is masked on odd
    steps. 'b' leaves (terminated) when it plays 2; 'a' playing 2 after 'b' left ends the game (won).
    Truncation after ``max_cycles`` steps. No ``state()``. Observations ``[t, agent index, noise]``."""

    metadata = {"name": "duo_v0"}  # noqa: RUF012

    def __init__(self, max_cycles=5, dict_obs=True, b_actions=3, b_obs=3, limit=True):
        self.possible_agents = ["a", "b"]
        self.agents = []
        if limit:
            self.max_cycles = max_cycles
        self._limit = max_cycles
        self.dict_obs = dict_obs
        self._act = {"a": spaces.Discrete(3), "b": spaces.Discrete(b_actions)}
        box = {"a": spaces.Box(-9, 9, (3,), np.float32), "b": spaces.Box(-9, 9, (b_obs,), np.float32)}
        mask = spaces.Box(0, 1, (3,), np.int8)
        self._obs_spaces = {
            ag: spaces.Dict({"observation": box[ag], "action_mask": mask}) if dict_obs else box[ag]
            for ag in self.possible_agents
        }
        self.seeds, self.received = [], []

    def observation_space(self, agent):
        return self._obs_spaces[agent]

    def action_space(self, agent):
        return self._act[agent]

    def _mask(self):
        return np.array([1, 1, self.t % 2 == 0], dtype=np.int8)

    def _ob(self, agent):
        ob = np.array([self.t, self.possible_agents.index(agent), self.noise], np.float32)
        return {"observation": ob, "action_mask": self._mask()} if self.dict_obs else ob

    def _infos(self, agents, **extra):
        return {ag: ({} if self.dict_obs else {"action_mask": self._mask()}) | extra for ag in agents}

    def reset(self, seed=None, options=None):
        self.seeds.append(seed)
        self.t, self.noise = 0, float(np.random.default_rng(seed).random())
        self.agents = list(self.possible_agents)
        return {ag: self._ob(ag) for ag in self.agents}, self._infos(self.agents)

    def step(self, actions):
        self.received.append(dict(actions))
        live = list(self.agents)
        self.t += 1
        rewards = {ag: {"a": 1.0, "b": 3.0}[ag] for ag in live}
        won = actions.get("a") == 2 and "b" not in live
        terms = {ag: won or (ag == "b" and actions[ag] == 2) for ag in live}
        truncs = {ag: self.t >= self._limit and not terms[ag] for ag in live}
        obs = {ag: self._ob(ag) for ag in live}
        infos = self._infos(live, won=won)
        self.agents = [ag for ag in live if not (terms[ag] or truncs[ag])]
        return obs, rewards, terms, truncs, infos


def duo_vec(num_envs=2, **kwargs):
    return ParallelVectorEnv(lambda: Duo(**kwargs), num_envs)


def test_duo_interface_and_state_fallback():
    env = duo_vec(2)
    assert (env.num_envs, env.n_agents, env.n_actions, env.obs_size) == (2, 2, 3, 3)
    assert env.state_size == 6 and env.episode_limit == 5  # max_cycles
    assert env.single_action_space == spaces.Discrete(3)
    assert env.single_observation_space.shape == (3,) and env.state_space.shape == (6,)
    assert env.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    obs, info = env.reset(seed=4)
    assert obs.dtype == np.float32 and obs.shape == (2, 2, 3)
    assert info["state"].dtype == np.float32 and np.array_equal(info["state"], obs.reshape(2, 6))
    assert info["action_mask"].dtype == np.bool_ and info["action_mask"].all()  # t = 0: all allowed
    assert [e.seeds for e in env.envs] == [[4], [5]]  # env i gets s + i


def test_duo_agent_removal_team_reward_and_termination():
    env = duo_vec(2)
    obs, info = env.reset(seed=0)
    # env 0: 'b' leaves; env 1: both stay. Team reward: mean over the agents live at the step start.
    obs, reward, term, trunc, info = env.step(np.array([[0, 2], [1, 1]]))
    assert reward.dtype == np.float32 and reward.tolist() == [2.0, 2.0]
    assert not term.any() and not trunc.any() and "final_obs" not in info
    assert not obs[0, 1].any() and info["action_mask"][0, 1].tolist() == [True, False, False]  # b left
    assert info["action_mask"][0, 0].tolist() == [True, True, False]  # odd step: action 2 masked
    assert np.array_equal(info["state"], obs.reshape(2, 6))
    with pytest.raises(ValueError, match="not available"):
        env.step(np.array([[0, 1], [0, 0]]))  # the departed agent may only take 0
    obs, reward, term, trunc, info = env.step(np.array([[0, 0], [0, 0]]))
    assert env.envs[0].received[-1] == {"a": 0}  # a departed agent's action is not passed on
    assert reward.tolist() == [1.0, 2.0]
    obs, reward, term, trunc, info = env.step(np.array([[2, 0], [0, 0]]))  # 'a' alone plays 2: won
    assert term.tolist() == [True, False] and trunc.tolist() == [False, False]
    assert info["battle_won"].tolist() == [True, False] and info["_final"].tolist() == [True, False]
    assert info["final_obs"][0, 0, :2].tolist() == [3.0, 0.0] and not info["final_obs"][0, 1].any()
    assert not info["final_obs"][1].any() and not info["final_state"][1].any()
    assert np.array_equal(info["final_state"][0], info["final_obs"][0].reshape(-1))
    assert info["final_action_mask"][0, 1].tolist() == [True, False, False]
    # same-step autoreset: env 0 is at t = 0 again with both agents
    assert obs[0, :, 0].tolist() == [0.0, 0.0] and obs[0, 1, 1] == 1.0 and info["action_mask"][0].all()
    assert len(env.envs[0].seeds) == 2


def test_duo_truncation_by_max_cycles():
    env = duo_vec(1, max_cycles=3)
    env.reset(seed=1)
    for _ in range(2):
        _, _, term, trunc, info = env.step(np.zeros((1, 2), np.int64))
        assert not term[0] and not trunc[0]
    obs, _, term, trunc, info = env.step(np.zeros((1, 2), np.int64))
    assert trunc.tolist() == [True] and term.tolist() == [False] and info["battle_won"].tolist() == [False]
    assert info["final_obs"][0, :, 0].tolist() == [3.0, 3.0]  # the truncated agents' last observations
    assert obs[0, :, 0].tolist() == [0.0, 0.0]


def test_masks_from_infos_and_box_observations():
    env = duo_vec(1, dict_obs=False)
    _, info = env.reset(seed=0)
    assert info["action_mask"][0].tolist() == [[True, True, True]] * 2  # t = 0, from infos
    _, _, _, _, info = env.step(np.zeros((1, 2), np.int64))
    assert info["action_mask"][0].tolist() == [[True, True, False]] * 2  # t = 1
    assert np.array_equal(info["state"], env._obs.reshape(1, 6))


def test_bad_actions_and_mismatched_spaces():
    env = duo_vec(2)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros((2, 2), np.int64))
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"\(2, 2\)"):
        env.step(np.zeros(2, np.int64))
    with pytest.raises(ValueError, match=r"integers of shape \(2, 2\)"):
        env.step(np.zeros((2, 2), np.float32))
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        env.step(np.full((2, 2), 3))
    with pytest.raises(ValueError, match=r"agent 'b'.*Discrete\(4\)"):
        duo_vec(1, b_actions=4)
    with pytest.raises(ValueError, match=r"agent 'b'.*observation shape"):
        duo_vec(1, b_obs=4)
    with pytest.raises(ValueError, match="episode_limit"):
        duo_vec(1, limit=False)
    assert ParallelVectorEnv(lambda: Duo(limit=False), 1, episode_limit=7).episode_limit == 7
    with pytest.raises(TypeError, match="factory"):
        ParallelVectorEnv(Duo(), 2)
    assert ParallelVectorEnv(Duo(), 1).num_envs == 1


def test_seeded_runs_are_reproducible_and_checkpoints_restore():
    def run(env, steps, rng):
        out = []
        for _ in range(steps):
            mask = env._mask
            acts = np.array([[rng.choice(np.flatnonzero(m)) for m in row] for row in mask])
            obs, reward, term, trunc, _ = env.step(acts)
            out.append((obs.copy(), reward.copy(), term.copy(), trunc.copy()))
        return out

    a, b = duo_vec(3), duo_vec(3)
    a.reset(seed=11)
    b.reset(seed=11)
    ra, rb = run(a, 20, np.random.default_rng(0)), run(b, 20, np.random.default_rng(0))
    assert all(all(np.array_equal(x, y) for x, y in zip(s, t)) for s, t in zip(ra, rb))
    assert [e.seeds for e in a.envs] == [e.seeds for e in b.envs] and len(a.envs[0].seeds) > 2
    saved = a.get_state()
    rest = run(a, 10, np.random.default_rng(1))
    b.set_state(saved)
    again = run(b, 10, np.random.default_rng(1))
    assert all(all(np.array_equal(x, y) for x, y in zip(s, t)) for s, t in zip(rest, again))


def test_sub_envs_without_plain_data_state_have_no_checkpoint_methods():
    def make(hook):
        env = Duo()
        env.hook = hook
        return env

    # A lock keeps its state in C: it cannot be saved as plain data, so neither can the env.
    env = ParallelVectorEnv(lambda: make(threading.Lock()), 1)
    assert not hasattr(env, "get_state") and not hasattr(env, "set_state")
    # Code (a lambda) is not state: the env is still checkpointed, its hook kept as built.
    env = ParallelVectorEnv(lambda: make(lambda: None), 1)
    assert hasattr(env, "get_state") and hasattr(env, "set_state")


def test_registry_sync_for_ids_without_native_vector():
    registry.register(
        "test/Duo-v0", entry_point=Duo, multi_agent=True, kwargs={"max_cycles": 4}, override=True
    )
    try:
        env = rlsuite.make_vec("test/Duo-v0", 2)
        assert isinstance(env, ParallelVectorEnv) and env.episode_limit == 4
        with pytest.raises(ValueError, match=r"async.*not supported"):
            rlsuite.make_vec("test/Duo-v0", 2, vectorization="async")
        with pytest.raises(ValueError, match="native"):
            rlsuite.make_vec("test/Duo-v0", 2, vectorization="native")
    finally:
        registry._REGISTRY.pop("test/Duo-v0", None)


# ----- over SMAC's PettingZoo wrapper -------------------------------------------------------------------
def random_available(mask, rng):
    return np.array([[rng.choice(np.flatnonzero(m)) for m in row] for row in mask])


def test_smac_sync_matches_native_shapes_and_masks():
    env = rlsuite.make_vec(SMAC_ID, 2, vectorization="sync")
    assert isinstance(env, ParallelVectorEnv)
    assert isinstance(rlsuite.make_vec(SMAC_ID, 2), SMACVectorEnv)  # native path unchanged
    with pytest.raises(ValueError, match="async"):
        rlsuite.make_vec(SMAC_ID, 2, vectorization="async")
    native = SMACVectorEnv("3m", 2)
    # SMAC's PettingZoo wrapper drops no-op: one action fewer than the native env
    assert (env.n_agents, env.n_actions, env.obs_size, env.state_size) == (3, 8, 30, 48)
    assert env.n_actions == native.n_actions - 1 and env.episode_limit == native.episode_limit
    obs, info = env.reset(seed=5)
    n_obs, n_info = native.reset(seed=5)  # battle i seeded with 5 + i on both sides
    assert obs.shape == (2, 3, 30) and info["state"].shape == (2, 48)
    assert info["action_mask"].shape == (2, 3, 8)
    assert np.array_equal(obs, n_obs) and np.allclose(info["state"], n_info["state"])
    assert np.array_equal(info["action_mask"], n_info["action_mask"][:, :, 1:])


def attack_nearest(env):
    """SMAC's scripted attack-nearest policy, as PettingZoo actions (SMAC action - 1)."""
    out = np.zeros((env.num_envs, env.n_agents), np.int64)
    row = np.zeros((1, env.n_agents), np.int64)
    for i, e in enumerate(env.envs):
        b = e.battles
        attack_nearest_actions(b.fs, b.ist, b.table, b.avail_actions().astype(np.int64), env.n_agents, row)
        out[i] = np.maximum(row[0] - 1, 0)
    return out


def test_smac_dead_agents_battle_won_and_same_step_autoreset():
    env = ParallelVectorEnv(lambda: rlsuite.make(SMAC_ID), 2, episode_limit=60)
    obs, info = env.reset(seed=0)
    saw_dead, ended = False, np.zeros(2, bool)
    for _ in range(30):  # seed 0: battle 1 is lost at step 22, battle 0 won at step 25
        obs, reward, term, trunc, info = env.step(attack_nearest(env))
        assert info["battle_won"].dtype == np.bool_ and not trunc.any()
        for i, e in enumerate(env.envs):
            for k, agent in enumerate(env.possible_agents):
                if agent not in e.agents:
                    saw_dead = True
                    assert not obs[i, k].any() and info["action_mask"][i, k].tolist() == [True] + [False] * 7
        assert info["battle_won"].tolist() == [bool(term[0]), False]
        if term.any():
            assert info["_final"].tolist() == term.tolist()
            assert info["final_obs"].shape == (2, 3, 30) and info["final_state"].shape == (2, 48)
            assert not info["final_obs"][~term].any() and not info["final_state"][~term].any()
            assert info["final_action_mask"][term].any(-1).all()  # dead rows allow 0, never nothing
            for i in np.flatnonzero(term):  # reset within the step: every agent back, step counter 0
                assert env.envs[i].agents == env.possible_agents and int(env.envs[i].battles.steps[0]) == 0
                assert info["action_mask"][i].sum(-1).min() > 1
            if term[0]:
                assert reward[0] > 10  # the win bonus
            ended |= term
        if ended.all():
            break
    assert saw_dead and ended.all()


def test_smac_seeded_runs_are_reproducible():
    def run(seed, steps):
        env = ParallelVectorEnv(lambda: rlsuite.make(SMAC_ID, episode_limit=4), 2, episode_limit=4)
        obs, info = env.reset(seed=seed)
        rng, out = np.random.default_rng(0), [obs]
        for _ in range(steps):  # crosses autoresets (truncations at the limit of 4 steps)
            obs, reward, term, trunc, info = env.step(random_available(info["action_mask"], rng))
            out += [obs, reward, term, trunc, info["state"]]
            if trunc.any():
                assert not term[trunc].any() and info["_final"][trunc].all()
        return out

    assert all(np.array_equal(x, y) for x, y in zip(run(3, 9), run(3, 9)))
    assert not np.array_equal(run(3, 0)[0], run(4, 0)[0])
