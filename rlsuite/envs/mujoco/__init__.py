"""MuJoCo tasks with Gymnasium's v5 definitions on a C-threaded batched core (MuJoCo >= 4.0's batch API).

``rlsuite.make("rlsuite/Hopper-v5")`` gives :class:`HopperEnv` (one env), ``rlsuite.make_vec(
"rlsuite/Hopper-v5", 64)`` a :class:`HopperVectorEnv` stepping 64 simulations in one C call across threads.
See ``docs/mujoco.md``.
"""

from rlsuite.envs.mujoco.core import STATE_KEYS, TASKS, default_nthread
from rlsuite.envs.mujoco.envs import (
    AntEnv,
    AntVectorEnv,
    HalfCheetahEnv,
    HalfCheetahVectorEnv,
    HopperEnv,
    HopperVectorEnv,
    HumanoidEnv,
    HumanoidVectorEnv,
    InvertedDoublePendulumEnv,
    InvertedDoublePendulumVectorEnv,
    InvertedPendulumEnv,
    InvertedPendulumVectorEnv,
    MujocoEnv,
    MujocoVectorEnv,
    PusherEnv,
    PusherVectorEnv,
    ReacherEnv,
    ReacherVectorEnv,
    SwimmerEnv,
    SwimmerVectorEnv,
    Walker2dEnv,
    Walker2dVectorEnv,
)

__all__ = [
    "STATE_KEYS",
    "TASKS",
    "AntEnv",
    "AntVectorEnv",
    "HalfCheetahEnv",
    "HalfCheetahVectorEnv",
    "HopperEnv",
    "HopperVectorEnv",
    "HumanoidEnv",
    "HumanoidVectorEnv",
    "InvertedDoublePendulumEnv",
    "InvertedDoublePendulumVectorEnv",
    "InvertedPendulumEnv",
    "InvertedPendulumVectorEnv",
    "MujocoEnv",
    "MujocoVectorEnv",
    "PusherEnv",
    "PusherVectorEnv",
    "ReacherEnv",
    "ReacherVectorEnv",
    "SwimmerEnv",
    "SwimmerVectorEnv",
    "Walker2dEnv",
    "Walker2dVectorEnv",
    "default_nthread",
]
