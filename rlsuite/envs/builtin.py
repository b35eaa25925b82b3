"""Registrations of the suite's built-in environment families.

Entry points are strings, so importing this module is cheap: nothing heavy loads until an env is made.
"""

from __future__ import annotations

from rlsuite.envs.registry import register

# Classic control: a numba-batched CartPole equal to Gymnasium's CartPole-v1 (truncation at 500 is
# handled inside the core, so no TimeLimit wrapper is registered).
register(
    "rlsuite/CartPole-v1",
    entry_point="rlsuite.envs.classic.cartpole:CartPoleEnv",
    vector_entry_point="rlsuite.envs.classic.cartpole:CartPoleVectorEnv",
    family="classic",
    description="CartPole-v1 dynamics, numba-batched vector core",
)

# MuJoCo control with Gymnasium's v5 task definitions, on a C-threaded batched core (MuJoCo >= 4.0's
# batch API; see docs/mujoco.md). Truncation (1000 steps; Reacher 50, Pusher 100) happens inside the core,
# so no TimeLimit wrapper is registered.
MUJOCO_TASKS = (
    "HalfCheetah",
    "Hopper",
    "Walker2d",
    "Ant",
    "Humanoid",
    "Swimmer",
    "Reacher",
    "Pusher",
    "InvertedPendulum",
    "InvertedDoublePendulum",
)

for _task in MUJOCO_TASKS:
    register(
        f"rlsuite/{_task}-v5",
        entry_point=f"rlsuite.envs.mujoco.envs:{_task}Env",
        vector_entry_point=f"rlsuite.envs.mujoco.envs:{_task}VectorEnv",
        family="mujoco",
        description=f"MuJoCo {_task} (Gymnasium v5 task definition), C-threaded batched vector core",
    )

# Grid worlds (numba-batched cores; truncation inside the cores, so no TimeLimit) and their multi-turn
# text forms for LLM agents. Options are keyword arguments (see docs/gridworlds.md).
GRID_WORLDS = {
    "Sokoban": ("sokoban:SokobanEnv", "sokoban:SokobanVectorEnv", "Sokoban (gym-sokoban rules and levels)"),
    "Maze": ("maze:MazeEnv", "maze:MazeVectorEnv", "Maze (random or perfect, BFS optimum)"),
    "Taxi": ("taxi:TaxiEnv", "taxi:TaxiVectorEnv", "Taxi (Gymnasium Taxi-v4 rules and encoding)"),
}
for _name, (_single, _vector, _description) in GRID_WORLDS.items():
    register(
        f"rlsuite/{_name}-v0",
        entry_point=f"rlsuite.envs.gridworlds.{_single}",
        vector_entry_point=f"rlsuite.envs.gridworlds.{_vector}",
        family="gridworld",
        description=f"{_description}; one-hot grid observations, numba-batched vector core",
    )
    register(
        f"rlsuite/{_name}Text-v0",
        entry_point=f"rlsuite.envs.text.adapters:{_name}TextEnv",
        family="text",
        description=f"{_name} as a multi-turn text env for LLM agents (Text spaces, <answer> parsing)",
    )
