"""Learning side: one file per algorithm, looked up by name.

Algorithms are imported lazily, so ``import rlsuite`` stays light and an algorithm whose optional
dependencies are missing fails only when it is asked for.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterator, Mapping

_ALGORITHMS: dict[str, str] = {
    "ppo": "rlsuite.algos.ppo:PPO",
    "sac": "rlsuite.algos.sac:SAC",
    "td3": "rlsuite.algos.td3:TD3",
    "mpdp": "rlsuite.algos.mpdp:MPDP",
    # Offline learners (train from offline.dataset) and offline-to-online fine-tuning.
    "td3bc": "rlsuite.algos.td3bc:TD3BC",
    "sac_n": "rlsuite.algos.sac_n:SACN",
    "edac": "rlsuite.algos.sac_n:EDAC",
    "so2": "rlsuite.algos.so2:SO2",
    # Cooperative multi-agent learners (team envs such as rlsuite/SMAC-<map>-v0).
    "qmix": "rlsuite.algos.qmix:QMIX",
    "vdn": "rlsuite.algos.vdn:VDN",
    "mappo": "rlsuite.algos.mappo:MAPPO",
    "ace": "rlsuite.algos.ace:ACE",
    # Offline multi-agent learners on team datasets (algo.datasets), played zero-shot on any map.
    "maskma": "rlsuite.algos.maskma:MaskMA",
    "madt": "rlsuite.algos.madt:MADT",
    # Language-model learners on text envs (rlsuite/Arithmetic-v0, rlsuite/Countdown-v0, ...).
    "llm_sft": "rlsuite.algos.llm_sft:LLMSFT",
    "llm_ppo": "rlsuite.algos.llm_ppo:LLMPPO",
    # Multi-turn LLM agents on the text worlds (rlsuite/SokobanText-v0, MazeText-v0, TaxiText-v0).
    "multiturn_sft": "rlsuite.algos.multiturn_sft:MultiTurnSFT",
    "wmact": "rlsuite.algos.wmact:WMAct",
    # Peers: other libraries' algorithms through rlsuite's loop (extras sb3 / tianshou).
    "sb3:PPO": "rlsuite.algos.peers.sb3:SB3PPO",
    "sb3:A2C": "rlsuite.algos.peers.sb3:SB3A2C",
    "sb3:SAC": "rlsuite.algos.peers.sb3:SB3SAC",
    "sb3:TD3": "rlsuite.algos.peers.sb3:SB3TD3",
    "sb3:DQN": "rlsuite.algos.peers.sb3:SB3DQN",
    "tianshou:PPO": "rlsuite.algos.peers.tianshou:TianshouPPO",
    "tianshou:SAC": "rlsuite.algos.peers.tianshou:TianshouSAC",
}


def register_algorithm(name: str, target: str | type, *, override: bool = False) -> None:
    """Make ``name`` usable in configs (``algo.name``); ``target`` is a class or ``"module:Class"``."""
    if name in _ALGORITHMS and not override:
        raise ValueError(f"algorithm {name!r} is already registered; pass override=True to replace it")
    _ALGORITHMS[name] = target  # type: ignore[assignment]


def algorithm_names() -> list[str]:
    return sorted(_ALGORITHMS)


def get_algorithm(name: str) -> type:
    """The ``rlsuite.algos.base.Algorithm`` subclass registered as ``name`` (imported on first use)."""
    if name not in _ALGORITHMS:
        close = difflib.get_close_matches(name, list(_ALGORITHMS), n=3)
        hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
        raise KeyError(f"unknown algorithm {name!r}{hint}; registered: {', '.join(algorithm_names())}")
    target = _ALGORITHMS[name]
    if isinstance(target, str):
        module, _, attr = target.partition(":")
        return getattr(importlib.import_module(module), attr)
    return target


def get_algorithm_config(name: str) -> type:
    return get_algorithm(name).config_cls


class AlgorithmConfigs(Mapping[str, type]):
    """The registered algorithms' config dataclasses by name (imported when looked up): the registry that
    config building (``rlsuite.config.build_experiment(..., algo_registry=ALGORITHM_CONFIGS)``) reads."""

    def __getitem__(self, name: str) -> type:
        return get_algorithm_config(name)

    def __iter__(self) -> Iterator[str]:
        return iter(algorithm_names())

    def __len__(self) -> int:
        return len(_ALGORITHMS)


ALGORITHM_CONFIGS = AlgorithmConfigs()

__all__ = [
    "ALGORITHM_CONFIGS",
    "AlgorithmConfigs",
    "algorithm_names",
    "get_algorithm",
    "get_algorithm_config",
    "register_algorithm",
]
