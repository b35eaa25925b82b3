"""Taxi against Gymnasium's Taxi-v4: every state x action transition, reward, termination, info and mask;
the rainy tables; fickle passengers; the start distribution, time limit, renders and the shortest path."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from rlsuite.envs.gridworlds.solvers import taxi_shortest_path
from rlsuite.envs.gridworlds.taxi import (
    INITIAL_STATES,
    TaxiEnv,
    TaxiVectorEnv,
    build_transitions,
    decode,
    encode,
)


@pytest.fixture(scope="module")
def gym_taxi():
    return gym.make("Taxi-v4").unwrapped


def test_every_transition_equals_gymnasium(gym_taxi):
    ours = TaxiEnv(observation="index")
    ours.reset(seed=0)
    for s in range(500):
        for a in range(6):
            obs0, info0 = ours.reset(options={"state": s})
            assert obs0 == s
            np.testing.assert_array_equal(info0["action_mask"], gym_taxi.action_mask(s))
            gym_taxi.s = s
            expected = gym_taxi.step(a)
            got = ours.step(a)
            assert got[:4] == expected[:4], (s, a)
            assert got[4]["prob"] == expected[4]["prob"]
            np.testing.assert_array_equal(got[4]["action_mask"], expected[4]["action_mask"])
            assert got[4]["is_success"] == expected[2]


@pytest.mark.parametrize("rainy_probability", [0.8, 0.6])
def test_rainy_transition_tables_equal_gymnasium(rainy_probability):
    g = gym.make("Taxi-v4", is_rainy=True, rainy_probability=rainy_probability).unwrapped
    nxt, prob, rew, term, count = build_transitions(True, rainy_probability)
    for s in range(500):
        for a in range(6):
            ours = [(prob[s, a, j], nxt[s, a, j], rew[s, a, j], term[s, a, j]) for j in range(count[s, a])]
            assert [(float(p), int(t), float(r), bool(d)) for p, t, r, d in ours] == [
                (float(p), int(t), float(r), bool(d)) for p, t, r, d in g.P[s][a]
            ], (s, a)


def test_rainy_outcome_frequencies():
    n = 4000
    env = TaxiVectorEnv(num_envs=n, is_rainy=True, observation="index")
    s = encode(2, 2, 0, 1)  # open on every side
    env.reset(seed=0, options={"state": s})
    obs, *_ = env.step(np.full(n, 2))  # east: 0.8 east, 0.1 north, 0.1 south
    freq = {decode(int(o))[:2]: c / n for o, c in zip(*np.unique(obs, return_counts=True))}
    assert set(freq) == {(2, 3), (1, 2), (3, 2)}
    assert freq[(2, 3)] == pytest.approx(0.8, abs=0.03)
    assert freq[(1, 2)] == pytest.approx(0.1, abs=0.02)


def test_fickle_passenger_changes_destination_once():
    start = encode(0, 0, 0, 1)  # taxi and passenger at R, destination G
    env = TaxiEnv(observation="index", fickle_passenger=True, fickle_probability=1.0)
    env.reset(seed=0, options={"state": start})
    obs, *_ = env.step(4)  # pickup
    assert decode(obs) == (0, 0, 4, 1)
    obs, *_ = env.step(0)  # first move with the passenger: the destination changes
    assert decode(obs)[:3] == (1, 0, 4) and decode(obs)[3] != 1
    dest = decode(obs)[3]
    obs, *_ = env.step(1)
    assert decode(obs)[3] == dest
    calm = TaxiEnv(observation="index", fickle_passenger=True, fickle_probability=0.0)
    calm.reset(seed=0, options={"state": start})
    calm.step(4)
    assert decode(calm.step(0)[0])[3] == 1


def test_start_states_time_limit_and_observations():
    assert len(INITIAL_STATES) == 300
    g = gym.make("Taxi-v4").unwrapped
    np.testing.assert_array_equal(np.flatnonzero(g.initial_state_distrib), INITIAL_STATES)
    env = TaxiVectorEnv(num_envs=2000, observation="index")
    obs, _ = env.reset(seed=1)
    assert set(obs.tolist()) <= set(INITIAL_STATES.tolist()) and len(set(obs.tolist())) > 250
    single = TaxiEnv()
    obs, _ = single.reset(seed=0, options={"state": encode(0, 0, 4, 2)})
    assert obs.shape == (4, 5, 5) and obs[1, 0, 0] == 1 and obs[3, 4, 0] == 1 and obs.sum() == 2
    for t in range(200):
        _, r, term, trunc, _ = single.step(1)  # north at row 0: a no-op
        assert r == -1 and not term and trunc == (t == 199)


def test_ansi_render_equals_gymnasium():
    ours = TaxiEnv(render_mode="ansi")
    g = gym.make("Taxi-v4", render_mode="ansi").unwrapped
    g.reset(seed=0)
    for s in [0, 17, 123, 256, 499, *INITIAL_STATES[::37].tolist()]:
        ours.reset(seed=0, options={"state": s})
        g.s, g.lastaction = s, None
        assert ours.render() == g.render()
        ours.step(2)
        g.step(2)
        assert ours.render() == g.render()
    assert "T" in ours.render_text()
    frame = TaxiEnv(render_mode="rgb_array")
    frame.reset(seed=0)
    assert frame.render().shape == (160, 160, 3)


def test_shortest_path_delivers():
    g = gym.make("Taxi-v4").unwrapped
    for s in INITIAL_STATES[::10]:
        path = taxi_shortest_path(int(s))
        g.s = int(s)
        rewards = [g.step(a)[1] for a in path]
        assert rewards[-1] == 20 and all(r == -1 for r in rewards[:-1])
    # taxi at R with the passenger there, destination G: pick up, 4 east moves blocked by walls ...
    assert len(taxi_shortest_path(encode(0, 0, 0, 1))) == 1 + 8 + 1
