"""The default 19-action set, reward names and checks shared by the simulator and the real adapter."""

from __future__ import annotations

from typing import Any

import numpy as np

from rlsuite.envs.inputs import discrete_action

ACTION_NAMES = (
    "idle",
    "left",
    "top_left",
    "top",
    "top_right",
    "right",
    "bottom_right",
    "bottom",
    "bottom_left",
    "long_pass",
    "high_pass",
    "short_pass",
    "shot",
    "sprint",
    "release_direction",
    "release_sprint",
    "sliding",
    "dribble",
    "release_dribble",
)
N_ACTIONS = len(ACTION_NAMES)  # 19
(
    IDLE,
    LEFT,
    TOP_LEFT,
    TOP,
    TOP_RIGHT,
    RIGHT,
    BOTTOM_RIGHT,
    BOTTOM,
    BOTTOM_LEFT,
    LONG_PASS,
    HIGH_PASS,
    SHORT_PASS,
    SHOT,
    SPRINT,
    RELEASE_DIRECTION,
    RELEASE_SPRINT,
    SLIDING,
    DRIBBLE,
    RELEASE_DRIBBLE,
) = range(19)

# Unit vectors of the eight movement actions (1..8); "top" is negative y, as in the engine.
_D = 0.7071067811865476
DIRECTIONS = np.array(
    [[0.0, 0.0], [-1.0, 0.0], [-_D, -_D], [0.0, -1.0], [_D, -_D], [1.0, 0.0], [_D, _D], [0.0, 1.0], [-_D, _D]]
)

# The engine's 10 sticky actions (observation ``sticky_actions``): 8 directions, sprint, dribble.
STICKY_NAMES = (*ACTION_NAMES[1:9], "sprint", "dribble")

REWARD_NAMES = ("scoring", "checkpoints")
NUM_CHECKPOINTS = 10
CHECKPOINT_REWARD = 0.1

OBS_SIZE = 115  # simple115v2


def parse_rewards(rewards: str) -> bool:
    """``"scoring"`` or ``"scoring,checkpoints"`` (gfootball's ``rewards`` argument); True if checkpoints."""
    parts = [p.strip() for p in str(rewards).split(",") if p.strip()]
    unknown = [p for p in parts if p not in REWARD_NAMES]
    if unknown or "scoring" not in parts:
        raise ValueError(
            f"rewards={rewards!r}: accepted values are 'scoring' and 'scoring,checkpoints' "
            f"(scoring is always on; unknown: {unknown or 'none'})"
        )
    return "checkpoints" in parts


def state_size(n_agents: int) -> int:
    """The MAPPO-style global state: simple115v2 with every agent's active one-hot (115 + 11 (N - 1))."""
    return OBS_SIZE + 11 * (n_agents - 1)


def global_state(agent_obs: np.ndarray) -> np.ndarray:
    """Global state(s) from per-agent simple115v2 rows ``[..., N, 115]``: the shared part (players, ball,
    ownership: ``[0:97]``), each agent's active-player one-hot (``[97:108]``) in agent order, and the game
    mode (``[108:115]``)."""
    agent_obs = np.asarray(agent_obs, dtype=np.float32)
    lead = agent_obs.shape[:-2]
    active = agent_obs[..., 97:108].reshape(*lead, -1)
    return np.concatenate([agent_obs[..., 0, :97], active, agent_obs[..., 0, 108:115]], axis=-1)


def check_action(agent: str, action: Any) -> int:
    """One agent's action as an int in [0, 19); a clear error otherwise (strings, floats, bools too)."""
    return discrete_action(agent, action, N_ACTIONS, ACTION_NAMES)


def agent_names(n_agents: int) -> list[str]:
    return [f"player_{k}" for k in range(n_agents)]
