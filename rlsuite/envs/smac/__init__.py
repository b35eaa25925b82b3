"""SMAC on a numba combat simulator: the 23 SMAC maps behind SMAC's own interface, PettingZoo, and a
batched multi-agent vector env; SMACv2-style generated scenarios; an adapter for real StarCraft II.

    from rlsuite.envs.smac import StarCraft2Env     # SMAC's API: PyMARL-style code runs unchanged
    env = StarCraft2Env(map_name="3m")

    import rlsuite
    env = rlsuite.make("rlsuite/SMAC-3m-v0")          # PettingZoo ParallelEnv
    vec = rlsuite.make_vec("rlsuite/SMAC-3m-v0", 64)  # arrays [64, n_agents, ...]

See docs/smac.md for what is modelled and how faithfully.
"""

from rlsuite.envs.smac import custom_maps as _custom_maps  # noqa: F401  (adds the shipped custom maps)
from rlsuite.envs.smac.battle import SMACOptions
from rlsuite.envs.smac.env import StarCraft2Env
from rlsuite.envs.smac.maps import MAPS, get_map
from rlsuite.envs.smac.pettingzoo_env import SMACParallelEnv
from rlsuite.envs.smac.vector import SMACVectorEnv

__all__ = ["MAPS", "SMACOptions", "SMACParallelEnv", "SMACVectorEnv", "StarCraft2Env", "get_map"]
