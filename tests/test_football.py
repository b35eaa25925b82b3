"""The built-in football simulator: layouts (simple115v2, 19 actions, agents per scenario), reward rules
(checkpoints, a goal paying the remaining ones), episode-end rules, seeding, and its PettingZoo and
batched faces on one core (docs/football.md)."""

from __future__ import annotations

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test, parallel_seed_test

import rlsuite
from rlsuite.envs.checks import check_all
from rlsuite.envs.football import GRFSimParallelEnv, GRFSimVectorEnv
from rlsuite.envs.football import physics as ph
from rlsuite.envs.football.actions import (
    BOTTOM,
    IDLE,
    RELEASE_DIRECTION,
    RIGHT,
    SHOT,
    SPRINT,
    check_action,
    global_state,
)
from rlsuite.envs.football.match import MatchCore
from rlsuite.envs.football.scenarios import MODE_CORNER, MODE_NORMAL, MODE_THROW_IN, SCENARIOS
from rlsuite.envs.football.scripted import direction_action, scripted_actions

AGENTS = {  # the agent counts MARL papers use (docs/football.md)
    "academy_3_vs_1_with_keeper": 3,
    "academy_pass_and_shoot_with_keeper": 2,
    "academy_run_pass_and_shoot_with_keeper": 2,
    "academy_counterattack_easy": 4,
    "academy_counterattack_hard": 4,
    "academy_corner": 10,
}
TEAM_SIZES = {  # (left players, right players)
    "academy_3_vs_1_with_keeper": (4, 2),
    "academy_pass_and_shoot_with_keeper": (3, 2),
    "academy_run_pass_and_shoot_with_keeper": (3, 2),
    "academy_counterattack_easy": (11, 11),
    "academy_counterattack_hard": (11, 11),
    "academy_corner": (11, 11),
}
ALL = np.ones(1, dtype=np.bool_)


def fresh(scenario="academy_3_vs_1_with_keeper", seed=0, physics=None, **kwargs) -> MatchCore:
    # Mechanics tests start without the seeded kick-off delay (tested on its own below).
    match = MatchCore(scenario, 1, physics={"start_control_delay": 0, **(physics or {})}, **kwargs)
    match.streams.seed([seed], 0)
    match.reset(ALL)
    return match


def step(match: MatchCore, *actions: int) -> dict[str, np.ndarray]:
    return match.step(np.array([actions], dtype=np.int64))


def give_ball(match: MatchCore, slot: int, x: float, y: float) -> None:
    """Put ``slot`` at (x, y) with the ball at his feet, standing still."""
    match.players[0, slot, ph.P_X : ph.P_VY + 1] = (x, y, 0.0, 0.0)
    match.ball[0] = (x, y, 0.11, 0.0, 0.0, 0.0)
    match.game[0, ph.G_OWNER] = slot
    match.game[0, ph.G_PREV_TEAM] = match.game[0, ph.G_TOUCH_TEAM] = 0 if slot < 11 else 1


def free_ball(match: MatchCore, x, y, vx, vy, z=0.11) -> None:
    match.ball[0] = (x, y, z, vx, vy, 0.0)
    match.game[0, ph.G_OWNER] = -1


# --- layouts ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("scenario", sorted(AGENTS))
def test_layout_of_every_scenario(scenario):
    env = rlsuite.make(f"rlsuite/GRFSim-{scenario}-v0")
    n = AGENTS[scenario]
    assert env.possible_agents == [f"player_{k}" for k in range(n)]
    assert all(env.observation_space(a).shape == (115,) for a in env.possible_agents)
    assert all(env.action_space(a).n == 19 for a in env.possible_agents)
    obs, infos = env.reset(seed=1)
    assert env.state().shape == (115 + 11 * (n - 1),) == env.state_space.shape
    row = obs["player_0"]
    n_left, n_right = TEAM_SIZES[scenario]
    spec = SCENARIOS[scenario]
    np.testing.assert_allclose(row[0 : 2 * n_left].reshape(-1, 2), [(x, y) for x, y, _ in spec.left])
    np.testing.assert_allclose(row[44 : 44 + 2 * n_right].reshape(-1, 2), [(x, y) for x, y, _ in spec.right])
    assert (row[2 * n_left : 22] == -1).all() and (row[44 + 2 * n_right : 66] == -1).all()  # v2 padding
    assert (row[22 + 2 * n_left : 44] == -1).all() and (row[66 + 2 * n_right : 88] == -1).all()
    np.testing.assert_allclose(row[88:91], [*spec.ball, 0.11])
    mode = MODE_CORNER if scenario == "academy_corner" else MODE_NORMAL
    assert row[108 + mode] == 1 and row[108:115].sum() == 1
    for agent in env.possible_agents:  # each agent's own active player, never the keeper
        active = obs[agent][97:108]
        assert active.sum() == 1 and active[0] == 0
        assert infos[agent]["action_mask"].tolist() == [1] * 19
        np.testing.assert_array_equal(obs[agent][:97], row[:97])
    actives = {int(np.argmax(obs[a][97:108])) for a in env.possible_agents}
    assert len(actives) == n


def test_right_team_is_mirrored_into_the_global_frame():
    right = SCENARIOS["academy_pass_and_shoot_with_keeper"].right  # file frame: GK(-1, 0), CB(-0.75, 0.3)
    assert [(x, y) for x, y, _ in right] == [(1.0, 0.0), (0.75, -0.3)]


def test_global_state_holds_every_agents_active_block():
    obs = np.arange(3 * 115, dtype=np.float32).reshape(3, 115)
    state = global_state(obs)
    assert state.shape == (115 + 22,)
    np.testing.assert_array_equal(state[:97], obs[0, :97])
    np.testing.assert_array_equal(state[97:130], obs[:, 97:108].reshape(-1))
    np.testing.assert_array_equal(state[130:], obs[0, 108:115])


def test_bad_input_is_rejected_with_the_accepted_values():
    with pytest.raises(ValueError, match="did you mean 'academy_corner'"):
        rlsuite.make("rlsuite/GRFSim-academy_3_vs_1_with_keeper-v0", scenario="academy_corners")
    with pytest.raises(ValueError, match=r"n_agents .* must be in \[1, 4\], got 5"):
        rlsuite.make("rlsuite/GRFSim-academy_3_vs_1_with_keeper-v0", n_agents=5)
    with pytest.raises(ValueError, match="accepted values are 'scoring' and 'scoring,checkpoints'"):
        rlsuite.make("rlsuite/GRFSim-academy_corner-v0", rewards="checkpoints,goals")
    with pytest.raises(ValueError, match="unknown physics fields"):
        rlsuite.make("rlsuite/GRFSim-academy_corner-v0", physics={"warp_speed": 1.0})
    with pytest.raises(ValueError, match=r"outside \[0, 19\); accepted: 0 idle"):
        check_action("player_0", 19)
    env = rlsuite.make("rlsuite/GRFSim-academy_3_vs_1_with_keeper-v0")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="no action for agent 'player_2'"):
        env.step({"player_0": 0, "player_1": 0})
    vec = GRFSimVectorEnv("academy_3_vs_1_with_keeper", 2)
    vec.reset(seed=0)
    with pytest.raises(ValueError, match=r"actions must be in \[0, 19\)"):
        vec.step(np.full((2, 3), 19))


def test_fewer_agents_control_the_players_nearest_the_ball():
    match = fresh("academy_counterattack_easy", n_agents=2)
    # Ball (0.26, -0.11): LM (0.25, -0.1) in slot 8 and RM (0.25, 0.1) in slot 9 are nearest.
    assert match.details(0)["active"] == [8, 9]
    assert fresh("academy_counterattack_easy").details(0)["active"] == [7, 8, 9, 10]
    assert fresh("academy_3_vs_1_with_keeper", n_agents=4).details(0)["active"] == [0, 1, 2, 3]


# --- rewards ---------------------------------------------------------------------------------------
def test_first_control_pays_the_checkpoints_already_inside():
    # 3v1: the ball starts 0.38 from (1, 0): checkpoints 0.99 - 0.8 k / 9 >= 0.38 for k = 0..6 -> 0.7,
    # paid to the agent of the player who controls it (agent 0, the centre player), as on the engine.
    match = fresh()
    assert match.details(0)["ball_owned_team"] == -1  # the ball starts free, as on the engine
    reward = step(match, IDLE, IDLE, IDLE)["reward"][0]
    np.testing.assert_allclose(reward, [0.7, 0.0, 0.0])
    assert match.agents[0, :, ph.A_CHECKPOINTS].tolist() == [7, 0, 0]
    np.testing.assert_allclose(step(match, IDLE, IDLE, IDLE)["reward"][0], 0.0)


@pytest.mark.parametrize(("x", "paid"), [(0.5, 6), (0.05, 1), (0.2, 3), (0.9, 10), (-0.9, 0)])
def test_checkpoint_thresholds(x, paid):
    match = fresh()
    give_ball(match, 2, x, 0.0)  # agent 1's player; the ball ends the step ~0.01 ahead of him
    reward = step(match, IDLE, IDLE, IDLE)["reward"][0]
    np.testing.assert_allclose(reward, [0.0, 0.1 * paid, 0.0], atol=1e-12)


def test_a_goal_pays_every_agent_its_remaining_checkpoints():
    match = fresh()
    step(match, IDLE, IDLE, IDLE)  # agent 0 collects 7 checkpoints
    free_ball(match, 0.99, 0.0, 0.03, 0.0)
    match.players[0, 11, ph.P_Y] = 0.3  # the keeper is elsewhere
    result = step(match, IDLE, IDLE, IDLE)
    assert result["goal"][0] == 1 and result["terminated"][0] and not result["truncated"][0]
    np.testing.assert_allclose(result["reward"][0], [1.3, 2.0, 2.0])
    assert match.score()[0].tolist() == [1, 0]


def test_scoring_only_and_conceding():
    match = fresh(rewards="scoring")
    assert step(match, IDLE, IDLE, IDLE)["reward"][0].tolist() == [0.0, 0.0, 0.0]
    free_ball(match, 0.99, 0.0, 0.03, 0.0)
    match.players[0, 11, ph.P_Y] = 0.3
    assert step(match, IDLE, IDLE, IDLE)["reward"][0].tolist() == [1.0, 1.0, 1.0]
    match = fresh()
    free_ball(match, -0.99, 0.01, -0.03, 0.0)
    match.players[0, 0, ph.P_Y] = -0.3  # our keeper is elsewhere
    result = step(match, IDLE, IDLE, IDLE)
    assert result["goal"][0] == -1 and result["terminated"][0]
    np.testing.assert_allclose(result["reward"][0], [-1.0, -1.0, -1.0])  # no checkpoints paid


def test_a_shot_over_the_bar_is_no_goal():
    match = fresh()
    free_ball(match, 0.99, 0.0, 0.03, 0.0, z=3.0)
    match.players[0, 11, ph.P_Y] = 0.3
    result = step(match, IDLE, IDLE, IDLE)
    assert result["goal"][0] == 0 and result["terminated"][0]
    assert match.details(0)["game_mode"] == 2  # goal kick: the attackers touched it last


# --- episode end -----------------------------------------------------------------------------------
def test_out_of_play_ends_the_episode():
    match = fresh()
    free_ball(match, 0.3, 0.415, 0.0, 0.02)
    result = step(match, IDLE, IDLE, IDLE)
    assert result["terminated"][0] and match.details(0)["game_mode"] == MODE_THROW_IN
    np.testing.assert_allclose(result["reward"][0], 0.0)


@pytest.mark.parametrize(
    ("scenario", "ends"), [("academy_3_vs_1_with_keeper", True), ("academy_corner", False)]
)
def test_possession_change_ends_all_but_the_corner(scenario, ends):
    match = fresh(scenario, physics={"tackle_chance": 1.0})  # a defender at the ball always wins it
    match.game[0, ph.G_MODE] = MODE_NORMAL
    give_ball(match, 1, 0.5, 0.0)
    match.players[0, 12, ph.P_X : ph.P_Y + 1] = (0.515, 0.0)
    match.players[0, 13:, ph.P_X] = -0.5  # (corner: the other right players far away)
    result = step(match, *([IDLE] * match.n_agents))
    assert match.details(0)["ball_owned_team"] == 1
    assert bool(result["terminated"][0]) is ends


def test_the_seed_draws_the_kick_off_delay_and_changes_the_episode():
    """The engine's nearest player controls the free ball 0-3 steps after the reset, depending on its random
    seed; the simulator draws 1-3 steps from the match's stream, so two seeds play different episodes."""
    match = MatchCore("academy_3_vs_1_with_keeper", 300)
    match.streams.seed_range(42)
    match.reset(np.ones(300, dtype=np.bool_))
    first = np.full(300, -1)
    for t in range(1, 5):
        step_all = match.step(np.full((300, 3), IDLE, dtype=np.int64))
        owned = match.game[:, ph.G_OWNER] >= 0
        first[(first < 0) & owned] = t
        assert not step_all["terminated"].any()
    counts = np.bincount(first, minlength=4)
    assert counts[0] == 0 and counts[1:].min() > 70 and counts.sum() == 300  # uniform over 1, 2, 3
    runs = []
    for seed in (42, 43, 42):  # same actions, seeds 42 and 43 (42 twice: repeatable)
        env = rlsuite.make("rlsuite/GRFSim-academy_3_vs_1_with_keeper-v0")
        obs, _ = env.reset(seed=seed)
        trace = [np.stack(list(obs.values()))]
        for _ in range(3):
            obs = env.step(dict.fromkeys(env.agents, IDLE))[0]
            trace.append(np.stack(list(obs.values())))
        runs.append(np.stack(trace))
    np.testing.assert_array_equal(runs[0], runs[2])
    assert not np.array_equal(runs[0], runs[1])  # 42 and 43 draw different kick-off delays


def test_first_ownership_is_no_possession_change():
    match = fresh()
    give_ball(match, 12, 0.62, 0.0)
    match.game[0, ph.G_PREV_TEAM] = -1  # nobody owned it before: the engine ignores unowned frames
    assert not step(match, IDLE, IDLE, IDLE)["terminated"][0]


def test_step_limit_truncates_after_401_steps():
    match = fresh()
    assert match.episode_limit == 401
    give_ball(match, 1, 0.0, 0.0)
    match.game[0, ph.G_STEPS] = 399
    assert not step(match, IDLE, IDLE, IDLE)["truncated"][0]
    result = step(match, IDLE, IDLE, IDLE)
    assert result["truncated"][0] and not result["terminated"][0]
    assert fresh(game_duration=10).episode_limit == 11


def test_corner_set_piece_is_taken_after_20_steps_of_waiting():
    match = fresh("academy_corner")
    assert match.details(0)["ball_owned_player"] == 1 and match.details(0)["game_mode"] == MODE_CORNER
    for _ in range(19):
        result = step(match, *([IDLE] * 10))
        assert not result["terminated"][0] and match.details(0)["game_mode"] == MODE_CORNER
    step(match, *([IDLE] * 10))
    assert match.details(0)["game_mode"] == MODE_NORMAL and match.details(0)["ball_owned_team"] == -1


# --- actions ---------------------------------------------------------------------------------------
def test_movement_is_sticky_and_sprint_is_faster():
    match = fresh()
    match.players[0, 12, ph.P_X] = -0.9  # the defender out of the way: the episode must not end
    for _ in range(3):
        step(match, IDLE, BOTTOM, IDLE)
    y = match.players[0, 2, ph.P_Y]
    for _ in range(10):
        step(match, IDLE, IDLE, IDLE)  # idle keeps the sticky direction
    assert match.players[0, 2, ph.P_Y] > y + 0.05
    assert match.details(0)["sticky_direction"][1] == BOTTOM
    step(match, IDLE, RELEASE_DIRECTION, IDLE)
    for _ in range(15):
        step(match, IDLE, IDLE, IDLE)
    assert abs(match.players[0, 2, ph.P_VY]) < 1e-3
    run, sprint = fresh(), fresh()
    run.players[0, 12, ph.P_X] = sprint.players[0, 12, ph.P_X] = -0.9
    for _ in range(20):
        step(run, IDLE, RIGHT, IDLE)
        step(sprint, IDLE, RIGHT, IDLE)
        step(sprint, IDLE, SPRINT, IDLE)
    assert sprint.players[0, 2, ph.P_VX] > 1.4 * run.players[0, 2, ph.P_VX] > 0.012


def test_a_shot_leaves_three_steps_after_the_action():
    match = fresh()
    step(match, IDLE, IDLE, IDLE)
    assert match.details(0)["ball_owned_player"] == 1
    step(match, SHOT, IDLE, IDLE)
    step(match, IDLE, IDLE, IDLE)
    step(match, IDLE, IDLE, IDLE)
    assert match.details(0)["ball_owned_player"] == 1
    step(match, IDLE, IDLE, IDLE)
    assert match.details(0)["ball_owned_team"] == -1 and match.ball[0, ph.B_VX] > 0.04


def test_direction_actions_follow_the_engine_y_axis():
    assert direction_action(1, 0) == RIGHT and direction_action(0, 1) == BOTTOM  # bottom: +y
    assert direction_action(0, -1) == 3 and direction_action(-1, -1) == 2


# --- faces, seeding --------------------------------------------------------------------------------
@pytest.mark.parametrize("scenario", sorted(AGENTS))
def test_pettingzoo_api_and_seed(scenario):
    parallel_api_test(GRFSimParallelEnv(scenario), num_cycles=200)
    parallel_seed_test(lambda: GRFSimParallelEnv(scenario))


def test_vector_env_equals_the_parallel_env_under_one_seed():
    vec = rlsuite.make_vec("rlsuite/GRFSim-academy_3_vs_1_with_keeper-v0", 4)
    assert isinstance(vec, GRFSimVectorEnv)
    assert (vec.obs_size, vec.state_size, vec.n_agents, vec.n_actions, vec.episode_limit) == (
        115,
        137,
        3,
        19,
        401,
    )
    env = GRFSimParallelEnv("academy_3_vs_1_with_keeper")
    obs_v, info = vec.reset(seed=7)
    obs_p, _ = env.reset(seed=7)
    assert obs_v.shape == (4, 3, 115) and info["state"].shape == (4, 137) and info["action_mask"].all()
    assert vec.action_space.sample().shape == (4, 3)
    rng = np.random.default_rng(0)
    ended = 0
    for _ in range(150):
        actions = rng.integers(0, 19, (4, 3))
        np.testing.assert_array_equal(obs_v[0], np.stack([obs_p[a] for a in env.possible_agents]))
        obs_v, reward, terminated, truncated, info = vec.step(actions)
        obs_p, rewards, terms, truncs, _ = env.step(dict(zip(env.possible_agents, actions[0].tolist())))
        np.testing.assert_allclose(info["agent_rewards"][0], list(rewards.values()), atol=1e-6)
        np.testing.assert_allclose(reward[0], np.mean(list(rewards.values())), atol=1e-6)
        assert all(terms.values()) == terminated[0] and all(truncs.values()) == truncated[0]
        if terminated[0] or truncated[0]:
            assert info["_final"][0] and info["final_obs"][0].any()
            np.testing.assert_array_equal(
                info["final_obs"][0], np.stack([obs_p[a] for a in env.possible_agents])
            )
            ended += 1
            break
    assert ended == 1


def test_same_seed_same_rollout_and_state_round_trip():
    def rollout(env, steps=200):
        obs, _ = env.reset(seed=3)
        rng = np.random.default_rng(1)
        trace = [obs]
        for _ in range(steps):
            obs, *_ = env.step(rng.integers(0, 19, (8, 4)))
            trace.append(obs)
        return np.stack(trace)

    make = lambda: GRFSimVectorEnv("academy_counterattack_hard", 8)  # noqa: E731
    a, b = rollout(make()), rollout(make())
    np.testing.assert_array_equal(a, b)
    env = make()
    env.reset(seed=5)
    saved = env.get_state()
    first = [env.step(np.full((8, 4), RIGHT))[0] for _ in range(30)]
    env.set_state(saved)
    second = [env.step(np.full((8, 4), RIGHT))[0] for _ in range(30)]
    np.testing.assert_array_equal(np.stack(first), np.stack(second))


def test_scripted_policy_scores_in_3v1():
    vec = GRFSimVectorEnv("academy_3_vs_1_with_keeper", 32)
    obs, _ = vec.reset(seed=0)
    goals = episodes = 0
    while episodes < 200:
        obs, _, terminated, truncated, info = vec.step(scripted_actions(obs))
        goals += int(info["battle_won"].sum())
        episodes += int((terminated | truncated).sum())
    assert 0.03 < goals / episodes < 0.4


def test_real_ids_are_registered_and_explain_the_install():
    entry = rlsuite.spec("rlsuite/GRF-academy_3_vs_1_with_keeper-v0")
    assert entry.multi_agent and entry.requires == ("gfootball",)
    if entry.missing_requirements():
        with pytest.raises(ImportError, match=r"scripts/install_football\.sh"):
            rlsuite.make("rlsuite/GRF-academy_3_vs_1_with_keeper-v0")
        assert check_all(["rlsuite/GRF-academy_3_vs_1_with_keeper-v0"]) == {}  # skipped, not failed


def test_rgb_array_frames_draw_the_pitch_the_players_and_the_ball():
    from rlsuite.envs.football import render as fr

    env = rlsuite.make("rlsuite/GRFSim-academy_3_vs_1_with_keeper-v0", render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (*fr.frame_size(), 3) and frame.dtype == np.uint8
    match = env.match
    x, y = fr._to_pixels(match.ball[0, ph.B_X], match.ball[0, ph.B_Y])
    patch = frame[int(y) - 4 : int(y) + 5, int(x) - 4 : int(x) + 5].reshape(-1, 3)
    assert (patch == fr.BALL).all(axis=1).any()  # the ball, white, where the ball is
    for p in (1, 2, 3):  # the controlled attackers, yellow-ringed
        x, y = fr._to_pixels(match.players[0, p, ph.P_X], match.players[0, p, ph.P_Y])
        ring = frame[int(y) - 10 : int(y) + 11, int(x) - 10 : int(x) + 11].reshape(-1, 3)
        assert (ring == fr.AGENT_RING).all(axis=1).any()
    x, y = fr._to_pixels(match.players[0, 12, ph.P_X], match.players[0, 12, ph.P_Y])
    disc = frame[int(y) - 4 : int(y) + 5, int(x) - 4 : int(x) + 5].reshape(-1, 3)
    assert (disc == fr.RIGHT).all(axis=1).mean() > 0.5  # the defender, red
    for _ in range(5):
        env.step(dict.fromkeys(env.agents, 5))  # run right
    assert not np.array_equal(env.render(), frame)
    with pytest.raises(ValueError, match="render_mode='ansi'; accepted: None, 'human', 'rgb_array'"):
        rlsuite.make("rlsuite/GRFSim-academy_3_vs_1_with_keeper-v0", render_mode="ansi")
