"""The simulator's physical and behavioural constants, one configurable dataclass.

Units: x, y in pitch units (x in [-1, 1], y in [-0.42, 0.42]), per environment step (0.1 s of game time);
the ball's height z in the engine's height units (a resting ball is at 0.11). None of these numbers is
published by
gfootball as such: speeds and the ball's resting height were measured on the real engine (see
docs/football.md, "Calibration"), the rest are choices made so that the academy scenarios play out with
plausible lengths and goal rates. Pass overrides as ``rlsuite.make(id, physics={"run_speed": 0.012})``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Physics:
    # players
    run_speed: float = 0.0092  # pitch units per step, running (measured on the engine: 0.0092)
    sprint_speed: float = 0.0145  # sprinting (measured: still rising past 0.012 after 10 steps)
    dribble_factor: float = 0.8  # speed factor while dribbling (sticky dribble) with the ball
    carry_factor: float = 0.95  # speed factor of any ball carrier (measured: ~1 running straight)
    acceleration: float = 0.3  # fraction of the gap to the desired velocity closed per step (measured:
    # full running speed after ~6 steps)
    control_radius: float = 0.025  # a free ball this close to a player (and low enough) is his
    control_height: float = 1.6  # highest ball an outfield player controls
    slow_ball: float = 0.015  # a free ball this slow (units/step) is always controlled when within reach
    fast_ball: float = 0.04  # above this (shots, hard passes) outfield players control it by chance ...
    fast_ball_control: float = 0.3  # ... this one
    receive_chance: float = 0.9  # a moving ball in between: team-mates of the last toucher receive it ...
    intercept_chance: float = 0.35  # ... and opponents intercept it with these chances
    ball_offset: float = 0.011  # a carried ball sits this far in front of the carrier
    kick_cooldown: float = 4.0  # steps a kicker cannot touch the ball again
    shot_delay: float = 3.0  # steps from the shot action to the ball leaving the foot (measured: 3)
    pass_delay: float = 4.0  # the same for passes (measured: 4)
    # challenges
    tackle_radius: float = 0.022  # a defender this close to the ball may win it
    tackle_chance: float = 0.002  # per step, for an AI defender at difficulty 0 ...
    tackle_chance_difficulty: float = 0.01  # ... plus this times the difficulty
    dribble_protection: float = 0.5  # tackle chance factor against a dribbling (sticky dribble) carrier
    slide_radius: float = 0.035  # the reach of an agent's sliding tackle
    slide_chance: float = 0.45  # its success chance
    slide_cooldown: float = 6.0  # steps a slider is on the ground (cannot control the ball)
    # keeper
    keeper_reach: float = 0.03  # a keeper saves balls passing this close (plus difficulty * 0.01)
    keeper_save: float = 0.1  # chance to hold a moving ball within reach at difficulty 0 ...
    keeper_save_difficulty: float = 0.1  # ... plus this times the difficulty
    keeper_rush_distance: float = 0.25  # a carrier this close to goal makes the keeper come out
    # ball
    gravity: float = 0.15  # height units per step per step (measured on a shot's flight)
    ball_radius: float = 0.11  # the resting ball's z (measured: 0.1106)
    ground_friction: float = 0.965  # ground ball velocity factor per step
    air_drag: float = 0.965  # airborne ball velocity factor per step (measured on a shot: ~0.965)
    bounce: float = 0.45  # vertical restitution
    crossbar: float = 2.44  # height units (2.44 m in the real game; the engine's z unit is not stated)
    # kicks
    short_pass_speed: float = 0.02  # base speed of a short pass ...
    short_pass_per_distance: float = 0.05  # ... plus this times the distance (measured: 0.029 over 0.22)
    short_pass_max: float = 0.04
    long_pass_speed: float = 0.03
    long_pass_per_distance: float = 0.08
    long_pass_max: float = 0.06
    long_pass_lift: float = 0.3  # initial vertical speed (height units per step)
    high_pass_lift: float = 0.9
    shot_speed: float = 0.0475  # measured
    shot_lift: float = 0.3  # measured (vertical speed of the ball leaving the foot)
    shot_spread: float = 0.045  # std of the shot's aim (units of y at the goal line) close in ...
    shot_spread_per_distance: float = 0.15  # ... growing with the distance beyond 0.1
    set_piece_wait: float = 20.0  # steps before a waiting set piece is taken with a short pass
    # opponents
    right_difficulty: float = -1.0  # the right team's difficulty; < 0: the scenario's (0.6)
    defender_speed: float = 0.6  # AI defenders' speed as a fraction of the running speed at difficulty 0 ...
    defender_speed_difficulty: float = 0.4  # ... plus this times the difficulty (measured: the engine's
    # defender closes down a carrier at ~0.006-0.008 per step and then jockeys in front of him)
    # episode start
    start_control_delay: float = 2.0  # a free ball at kick-off stays free for 0..this many extra steps,
    # drawn from the match's seeded stream (the engine's nearest player controls it after 0-3 steps,
    # varying with its random seed; without the delay the simulator's takes 0-1)

    def to_array(self, difficulty: float) -> np.ndarray:
        values = asdict(self)
        if values["right_difficulty"] < 0:
            values["right_difficulty"] = difficulty
        return np.array([values[f.name] for f in fields(self)], dtype=np.float64)

    @classmethod
    def from_any(cls, physics: Physics | dict[str, Any] | None) -> Physics:
        if physics is None:
            return cls()
        if isinstance(physics, cls):
            return physics
        if not isinstance(physics, dict):
            raise ValueError(
                f"physics must be a Physics or a dict of its fields, got {type(physics).__name__}"
            )
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(physics) - set(known))
        if unknown:
            raise ValueError(f"unknown physics fields {unknown}; accepted: {', '.join(known)}")
        return cls(**{k: float(v) for k, v in physics.items()})


# Column indices of Physics.to_array(), bound as module constants for the numba kernels.
_NAMES = [f.name for f in fields(Physics)]
(
    RUN_SPEED,
    SPRINT_SPEED,
    DRIBBLE_FACTOR,
    CARRY_FACTOR,
    ACCELERATION,
    CONTROL_RADIUS,
    CONTROL_HEIGHT,
    SLOW_BALL,
    FAST_BALL,
    FAST_BALL_CONTROL,
    RECEIVE_CHANCE,
    INTERCEPT_CHANCE,
    BALL_OFFSET,
    KICK_COOLDOWN,
    SHOT_DELAY,
    PASS_DELAY,
    TACKLE_RADIUS,
    TACKLE_CHANCE,
    TACKLE_CHANCE_DIFFICULTY,
    DRIBBLE_PROTECTION,
    SLIDE_RADIUS,
    SLIDE_CHANCE,
    SLIDE_COOLDOWN,
    KEEPER_REACH,
    KEEPER_SAVE,
    KEEPER_SAVE_DIFFICULTY,
    KEEPER_RUSH_DISTANCE,
    GRAVITY,
    BALL_RADIUS,
    GROUND_FRICTION,
    AIR_DRAG,
    BOUNCE,
    CROSSBAR,
    SHORT_PASS_SPEED,
    SHORT_PASS_PER_DISTANCE,
    SHORT_PASS_MAX,
    LONG_PASS_SPEED,
    LONG_PASS_PER_DISTANCE,
    LONG_PASS_MAX,
    LONG_PASS_LIFT,
    HIGH_PASS_LIFT,
    SHOT_SPEED,
    SHOT_LIFT,
    SHOT_SPREAD,
    SHOT_SPREAD_PER_DISTANCE,
    SET_PIECE_WAIT,
    RIGHT_DIFFICULTY,
    DEFENDER_SPEED,
    DEFENDER_SPEED_DIFFICULTY,
    START_CONTROL_DELAY,
) = range(len(_NAMES))
assert _NAMES[START_CONTROL_DELAY] == "start_control_delay" and len(_NAMES) == 50
