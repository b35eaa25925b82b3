"""Training callbacks in Stable-Baselines3's shape (``learn(callback=...)``); see
:mod:`rlsuite.training.callbacks`, where they live in the training layer."""

from rlsuite.training.callbacks import *  # noqa: F403
from rlsuite.training.callbacks import __all__ as __all__
