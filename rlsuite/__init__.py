"""rlsuite: real environments behind Gymnasium/PettingZoo, one agent interface, fast vectorized training.

>>> import rlsuite
>>> env = rlsuite.make("rlsuite/CartPole-v1")
>>> venv = rlsuite.make_vec("rlsuite/CartPole-v1", num_envs=64)
"""

from rlsuite.envs.registry import UnknownEnvError, list_envs, load_builtins, make, make_vec, register, spec

__version__ = "0.1.0"

load_builtins()  # registers the built-in ids with rlsuite and Gymnasium

__all__ = ["UnknownEnvError", "__version__", "list_envs", "make", "make_vec", "register", "spec"]
