"""Google Research Football academy scenarios: a numba-batched 2D simulator and the real gfootball engine.

    import rlsuite
    env = rlsuite.make("rlsuite/GRFSim-academy_3_vs_1_with_keeper-v0")      # PettingZoo ParallelEnv
    vec = rlsuite.make_vec("rlsuite/GRFSim-academy_3_vs_1_with_keeper-v0", 64)   # arrays [64, 3, ...]
    real = rlsuite.make("rlsuite/GRF-academy_3_vs_1_with_keeper-v0")        # needs gfootball

See docs/football.md for what the simulator models and what it does not.
"""

from rlsuite.envs.football.params import Physics
from rlsuite.envs.football.pettingzoo_env import GRFSimParallelEnv
from rlsuite.envs.football.scenarios import SCENARIO_NAMES, SCENARIOS, get_scenario
from rlsuite.envs.football.vector import GRFSimVectorEnv

__all__ = ["SCENARIOS", "SCENARIO_NAMES", "GRFSimParallelEnv", "GRFSimVectorEnv", "Physics", "get_scenario"]
