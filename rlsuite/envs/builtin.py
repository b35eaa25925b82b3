"""The suite's built-in environment families, as registry entries (:func:`builtin_entries`).

Entry points are strings, so importing this module is cheap: nothing heavy loads until an env is made.
The registry (``rlsuite.envs.registry``) registers these entries the first time it is used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rlsuite.envs.entry import EnvEntry
from rlsuite.envs.smac_custom_table import CUSTOM_MAP_NAMES  # plain data: no simulator import

_ENTRIES: list[EnvEntry] = []


def register(id: str, entry_point: str, **fields: Any) -> None:
    """Collect one built-in entry (same arguments as ``rlsuite.register``)."""
    _ENTRIES.append(EnvEntry(id=id, entry_point=entry_point, **fields))


def builtin_entries() -> tuple[EnvEntry, ...]:
    """Every built-in id's entry, in registration order."""
    return tuple(_ENTRIES)


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

# D4RL's reference returns of the locomotion tasks (``d4rl/infos.py``, the MuJoCo ``-v2`` entries):
# (random policy, expert policy), for normalised scores 100 * (R - random) / (expert - random). They were
# measured on the mujoco-py ``-v2`` envs; the ``-v5`` tasks have the same reward definitions, so a score is
# comparable, not identical, to a paper's.
D4RL_REFERENCE_RETURNS: dict[str, tuple[float, float]] = {
    "HalfCheetah": (-280.178953, 12135.0),
    "Hopper": (-20.272305, 3234.3),
    "Walker2d": (1.629008, 4592.3),
}

for _task in MUJOCO_TASKS:
    register(
        f"rlsuite/{_task}-v5",
        entry_point=f"rlsuite.envs.mujoco.envs:{_task}Env",
        vector_entry_point=f"rlsuite.envs.mujoco.envs:{_task}VectorEnv",
        family="mujoco",
        description=f"MuJoCo {_task} (Gymnasium v5 task definition), C-threaded batched vector core",
        termination="rlsuite.envs.mujoco.termination:termination_fn",
        score_reference=D4RL_REFERENCE_RETURNS.get(_task),
        gymnasium_twins=(f"{_task}-v4", f"{_task}-v5"),
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

# SMAC: the numba combat simulator of the 23 SMAC maps (docs/smac.md). Multi-agent: PettingZoo Parallel
# env, and a batched multi-agent vector env (arrays [num_envs, n_agents, ...]) through make_vec.
SMAC_MAPS = (
    "3m",
    "8m",
    "25m",
    "5m_vs_6m",
    "8m_vs_9m",
    "10m_vs_11m",
    "27m_vs_30m",
    "MMM",
    "MMM2",
    "2s3z",
    "3s5z",
    "3s5z_vs_3s6z",
    "3s_vs_3z",
    "3s_vs_4z",
    "3s_vs_5z",
    "1c3s5z",
    "2m_vs_1z",
    "corridor",
    "6h_vs_8z",
    "2s_vs_1sc",
    "so_many_baneling",
    "bane_vs_bane",
    "2c_vs_64zg",
)


def _register_smac_map(name: str, description: str) -> None:
    register(
        f"rlsuite/SMAC-{name}-v0",
        entry_point="rlsuite.envs.smac.pettingzoo_env:SMACParallelEnv",
        vector_entry_point="rlsuite.envs.smac.vector:SMACVectorEnv",
        multi_agent=True,
        kwargs={"map_name": name},
        family="smac",
        description=description,
    )


for _map in SMAC_MAPS:
    _register_smac_map(
        _map, f"SMAC {_map} on the numba combat simulator (PettingZoo Parallel; batched vector env)"
    )

# Custom SMAC-style maps (ODIS/MaskMA-style families, fixed SMACv2-style draws; docs/smac.md "Custom maps").
for _map in CUSTOM_MAP_NAMES:
    _register_smac_map(_map, f"custom SMAC-style map {_map} on the numba combat simulator")

# SMACv2-style generated scenarios (3 races × 5v5, 10v10, 20v20, 10v11, 20v23) on the same core.
for _race in ("terran", "protoss", "zerg"):
    for _n, _m in ((5, 5), (10, 10), (20, 20), (10, 11), (20, 23)):
        _scenario = f"10gen_{_race}_{_n}_vs_{_m}"
        register(
            f"rlsuite/SMAC-{_scenario}-v0",
            entry_point="rlsuite.envs.smac.smacv2:make_v2_parallel_env",
            vector_entry_point="rlsuite.envs.smac.smacv2:make_v2_vector_env",
            multi_agent=True,
            kwargs={"name_or_config": _scenario},
            family="smac",
            description=f"SMACv2-style {_race} {_n} vs {_m}: armies and start positions drawn per episode",
        )

# LLM reasoning: single-turn verifiable tasks (prompt in, response out; docs/reasoning.md). Options are
# keyword arguments of rlsuite.envs.reasoning.ReasoningEnv / ReasoningVectorEnv (task options included).
# ReasoningJSONL-v0 reads problems from path=...; its registered default is a small file shipped with
# the package, so the id also works (and is checked) without one.
_SAMPLE_PROBLEMS = str(Path(__file__).parent / "reasoning" / "data" / "sample_problems.jsonl")
REASONING_TASKS = {
    "Arithmetic": ({"task": "arithmetic"}, "multi-digit arithmetic, ORZ prompt, math reward"),
    "Countdown": (
        {"task": "countdown", "template": "tinyzero", "reward": "countdown"},
        "TinyZero Countdown (generated, always solvable), 0 / 0.1 / 1 reward",
    ),
    "LinearEquation": ({"task": "linear_equation"}, "a*x + b = c with an integer solution, math reward"),
    "CompoundQA": (
        {"task": "compound", "reward": "compound"},
        "several numbered sub-problems answered in order (stand-in for DialogueReason's Compound-QA)",
    ),
    "ReasoningJSONL": (
        {"task": "jsonl", "path": _SAMPLE_PROBLEMS, "test_size": 8},
        "problems from a local JSONL/JSON/parquet file (plain, ORZ or verl layout), math reward",
    ),
}
for _name, (_kwargs, _description) in REASONING_TASKS.items():
    register(
        f"rlsuite/{_name}-v0",
        entry_point="rlsuite.envs.reasoning.env:ReasoningEnv",
        vector_entry_point="rlsuite.envs.reasoning.env:ReasoningVectorEnv",
        kwargs=_kwargs,
        family="reasoning",
        description=f"{_description}; Text spaces, one step per episode",
    )

# Google Research Football academy scenarios (docs/football.md): the built-in numba simulator (PettingZoo
# Parallel env; batched multi-agent vector env through make_vec) and the real gfootball engine (optional,
# installed by scripts/install_football.sh; make_vec steps copies of it in-process).
FOOTBALL_SCENARIOS = (
    "academy_3_vs_1_with_keeper",
    "academy_pass_and_shoot_with_keeper",
    "academy_run_pass_and_shoot_with_keeper",
    "academy_counterattack_easy",
    "academy_counterattack_hard",
    "academy_corner",
)
for _scenario in FOOTBALL_SCENARIOS:
    register(
        f"rlsuite/GRFSim-{_scenario}-v0",
        entry_point="rlsuite.envs.football.pettingzoo_env:GRFSimParallelEnv",
        vector_entry_point="rlsuite.envs.football.vector:GRFSimVectorEnv",
        multi_agent=True,
        kwargs={"scenario": _scenario},
        family="football",
        description=f"GRF {_scenario} on the numba football simulator (simple115v2, 19 actions)",
    )
    register(
        f"rlsuite/GRF-{_scenario}-v0",
        entry_point="rlsuite.envs.football.real:GRFParallelEnv",
        multi_agent=True,
        kwargs={"scenario": _scenario},
        family="football",
        description=f"GRF {_scenario} on the real gfootball engine (extra 'football')",
        requires=("gfootball",),
    )
