"""Typed team specs and observations (rlsuite.core.team) from every team family, and the one evaluator."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

import rlsuite
from rlsuite.agents.base import MemorylessPolicy
from rlsuite.agents.text.policy import Generation
from rlsuite.core.team import TeamObservation, TeamSpec, team_reset, team_step
from rlsuite.envs.smac.entities import dynamics_columns, smac_actions
from rlsuite.envs.smac.maps import get_map
from rlsuite.envs.smac.observe import SIGHT_RANGE
from rlsuite.training.evaluation import evaluate_policy

TEAM_IDS = [
    ("rlsuite/SMAC-3m-v0", "auto"),
    ("rlsuite/SMAC-3m-v0", "sync"),  # the generic PettingZoo adapter (the real-SC2 path uses it too)
    ("rlsuite/SMAC-10gen_zerg_5_vs_5-v0", "auto"),
    ("rlsuite/GRFSim-academy_3_vs_1_with_keeper-v0", "auto"),
]


def _random_actions(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return (rng.random(mask.shape) * mask).argmax(-1)


@pytest.mark.parametrize(("env_id", "vectorization"), TEAM_IDS)
def test_every_team_family_declares_its_spec_and_typed_observations(env_id, vectorization):
    env = rlsuite.make_vec(env_id, 3, vectorization=vectorization)
    spec = env.team_spec
    assert isinstance(spec, TeamSpec) and spec.entities is None
    info = env.get_env_info()
    assert (spec.n_agents, spec.n_actions, spec.obs_size) == (
        info["n_agents"],
        info["n_actions"],
        info["obs_shape"],
    )
    assert (spec.state_size, spec.episode_limit) == (info["state_shape"], info["episode_limit"])
    if vectorization == "sync":
        assert spec.agent_names == tuple(env.possible_agents)
    observation, _ = team_reset(env, 0)
    assert observation.obs.shape == (3, spec.n_agents, spec.obs_size)
    assert observation.state.shape == (3, spec.state_size)
    assert observation.action_mask.shape == (3, spec.n_agents, spec.n_actions)
    step = team_step(env, _random_actions(observation.action_mask, np.random.default_rng(0)))
    assert step.reward.shape == step.terminated.shape == step.truncated.shape == (3,)
    assert step.won is not None and step.won.shape == (3,)
    env.close()


def test_final_observation_takes_only_the_finished_games_rows():
    env = rlsuite.make_vec("rlsuite/SMAC-3m-v0", 4, entity_features=True, episode_limit=6)
    observation, _ = team_reset(env, 1)
    rng = np.random.default_rng(1)
    step = team_step(env, _random_actions(observation.action_mask, rng))
    while not step.done.any():
        step = team_step(env, _random_actions(step.observation.action_mask, rng))
    final, done = step.final_observation(), step.done
    np.testing.assert_array_equal(final.obs[done], step.info["final_obs"][done])
    np.testing.assert_array_equal(final.state[~done], step.observation.state[~done])
    np.testing.assert_array_equal(final.entities.features[done], step.info["final_entity_state"][done])
    np.testing.assert_array_equal(final.entities.alive[~done], step.observation.entities.alive[~done])
    assert step.final_observation(np.zeros(4, bool)) is step.observation


@pytest.mark.parametrize("map_name", ["MMM2", "2s3z"])
def test_smac_entity_capability(map_name):
    env = rlsuite.make_vec(f"rlsuite/SMAC-{map_name}-v0", 3, entity_features=True)
    entities_spec, n = env.team_spec.entities, env.n_agents
    observation, _ = team_reset(env, 2)
    rng = np.random.default_rng(2)
    for _ in range(12):  # into the fight: units move, shoot and die
        observation = team_step(env, _random_actions(observation.action_mask, rng)).observation
    ent = observation.entities
    assert entities_spec.n_entities == ent.features.shape[1] == n + env.n_enemies
    assert entities_spec.feature_size == ent.features.shape[2]
    # Named feature columns are where the entity layout puts them (ACE's dynamics columns among them).
    cols = entities_spec.columns(("x", "y", "health", "shield", "shielded", "cooldown"))
    np.testing.assert_array_equal(cols, dynamics_columns(get_map(map_name)))
    with pytest.raises(KeyError, match="available"):
        entities_spec.columns(("mana",))
    # Global unit-type ids name the map's units; allies first, then enemies.
    spec = get_map(map_name)
    names = [entities_spec.unit_types[t] for t in ent.unit_type[0]]
    assert Counter(names[:n]) == Counter({g.unit: g.count for g in spec.allies})
    assert Counter(names[n:]) == Counter({g.unit: g.count for g in spec.enemies})
    assert not ent.is_enemy[:, :n].any() and ent.is_enemy[:, n:].all()
    # Visibility: a live agent sees the live units within sight range, a dead agent sees nothing.
    dist = np.linalg.norm(ent.position[:, None, :, :] - ent.position[:, :n, None, :], axis=-1)
    expected = (dist < SIGHT_RANGE) & ent.alive[:, :n, None] & ent.alive[:, None, :]
    np.testing.assert_array_equal(ent.visible, expected)
    # The action -> target mapping converts entity actions exactly as SMAC's layout does.
    healer = observation.entities.action_target[:, :, 6] < n  # medivacs target allies
    for b, agent, k in zip(*np.nonzero(ent.action_mask), strict=True):
        actions = np.zeros((3, n), np.int64)
        actions[b, agent] = k
        env_action = ent.env_actions(actions)[b, agent]
        assert env_action == smac_actions(actions, healer, n)[b, agent]
        assert observation.action_mask[b, agent, env_action]
        target = ent.action_target[b, agent, env_action]
        assert (target == -1) if k < 6 else (target == k - 6)
    env.close()


class _StepCounter(MemorylessPolicy):
    """A team policy whose state counts each env's steps since its game started; it plays no-ops or the
    first available action and remembers the count at which each env's games ended."""

    device = "cpu"

    def __init__(self) -> None:
        self.ended_at: list[int] = []

    def initial_state(self, num_envs: int) -> np.ndarray:
        return np.zeros(num_envs, np.int64)

    def reset_state(self, state: np.ndarray, rows: np.ndarray) -> np.ndarray:
        self.ended_at += [int(state[i]) for i in rows]
        out = state.copy()
        out[rows] = 0
        return out

    def step(self, observation: TeamObservation, state, deterministic: bool = False):
        return observation.action_mask.argmax(-1), state + 1


def test_evaluator_plays_team_envs_and_resets_the_policy_state_per_game():
    env = rlsuite.make_vec("rlsuite/SMAC-3m-v0", 3, episode_limit=12)
    policy = _StepCounter()
    result = evaluate_policy(policy, env, 7, seed=0)
    assert len(result.returns) == len(result.wins) == 7 and not result.successes
    # Every game that ended (counted or not) cleared its env's row, at the game's length.
    assert not Counter(result.lengths) - Counter(policy.ended_at)
    assert len(policy.ended_at) >= 7 and max(policy.ended_at) <= 12
    env.close()


class _Answerer(MemorylessPolicy):
    """A text policy answering every prompt with a fixed response of ``k + 1`` tokens for prompt k."""

    device = "cpu"

    def __init__(self) -> None:
        self.prompts: list[str] = []

    def step(self, prompts, state=None, deterministic: bool = False):
        self.prompts += list(prompts)
        n = len(prompts)
        ids = [[0] * (len(self.prompts) - n + k + 1) for k in range(n)]
        return Generation([[1]] * n, ids, ["<answer>0</answer>"] * n, [True] * n), state


def test_evaluator_answers_the_first_held_out_problems_of_a_text_env():
    kwargs = {"template": "compact", "min_digits": 1, "max_digits": 1, "test_size": 20, "split": "test"}
    env = rlsuite.make_vec("rlsuite/Arithmetic-v0", 4, **kwargs)
    policy = _Answerer()
    result = evaluate_policy(policy, env, 10, seed=3)
    assert len(result.returns) == len(result.successes) == len(result.responses) == 10
    assert policy.prompts[:10] == list(
        rlsuite.make_vec("rlsuite/Arithmetic-v0", 10, **kwargs).reset(seed=3)[0]
    )
    assert result.lengths == list(range(1, 11))  # the first ten problems, in order, with their token counts
    assert len(policy.prompts) == 12  # three batches of four prompts were answered


def test_smac_api_envs_give_the_typed_spec_and_observation():
    """``StarCraft2Env`` and the real-SC2 adapter share SMACInterface, which types SMAC's API."""
    from rlsuite.envs.smac.env import StarCraft2Env

    env = StarCraft2Env("2s3z", seed=0)
    env.reset()
    spec, info = env.team_spec, env.get_env_info()
    assert (spec.n_agents, spec.n_actions, spec.obs_size, spec.state_size, spec.episode_limit) == (
        info["n_agents"],
        info["n_actions"],
        info["obs_shape"],
        info["state_shape"],
        info["episode_limit"],
    )
    observation = env.team_observation()
    np.testing.assert_array_equal(observation.obs[0], np.asarray(env.get_obs()))
    np.testing.assert_array_equal(observation.state[0], env.get_state())
    np.testing.assert_array_equal(observation.action_mask[0], np.asarray(env.get_avail_actions(), bool))
    env.close()
