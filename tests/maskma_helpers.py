"""Shared pieces of the MaskMA tests: a focus-fire scripted expert and team datasets recorded with it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

import rlsuite
from rlsuite.agents.base import MemorylessPolicy
from rlsuite.core.team import TeamObservation
from rlsuite.offline.team_collect import HeuristicTeamPolicy, collect_team_episodes, dataset_meta
from rlsuite.offline.team_data import ExpertInfo, save_team_dataset
from rlsuite.training.evaluation import evaluate_policy


class FocusFirePolicy(MemorylessPolicy):
    """Every agent attacks the attackable enemy with the least health (lowest index on ties), else plays
    SMAC's attack-nearest heuristic (step toward the nearest enemy). A strong scripted expert on 3m."""

    device = torch.device("cpu")

    def __init__(self, env) -> None:
        self.fallback = HeuristicTeamPolicy(env)
        self.health = env.team_spec.entities.columns(["health", "shield"])
        self.n_intrinsic = env.team_spec.entities.n_intrinsic_actions

    def act(self, obs: TeamObservation, deterministic: bool = True) -> np.ndarray:
        entities = obs.entities
        actions = self.fallback.act(obs)
        toughness = entities.features[..., self.health].sum(-1)  # [N, E]
        targets = entities.action_mask[..., self.n_intrinsic :] & entities.is_enemy[:, None, :]
        score = np.where(targets, toughness[:, None, :], np.inf)
        best = score.argmin(-1)  # [N, n]
        can = targets.any(-1)
        focus = entities.env_actions(self.n_intrinsic + best)
        return np.where(can, focus, actions)


def record(map_name: str, episodes: int, path: Path, seed: int = 0, num_envs: int = 8) -> float:
    """Record ``episodes`` focus-fire battles of ``map_name`` into ``path``; returns their win rate."""
    env_id = f"rlsuite/SMAC-{map_name}-v0"
    env = rlsuite.make_vec(env_id, num_envs, entity_features=True)
    result = collect_team_episodes(env, FocusFirePolicy(env), episodes, seed=seed, progress=False)
    expert = ExpertInfo("focus-fire", "scripted", win_rate=result.win_rate, eval_episodes=episodes)
    save_team_dataset(path, result.episodes, dataset_meta(env, env_id, expert, seed=seed, map_name=map_name))
    env.close()
    return result.win_rate


def scripted_win_rates(map_name: str, kinds: tuple[str, ...], battles: int) -> dict[str, float]:
    """Each scripted policy's win rate over the same ``battles`` battles of ``map_name`` (seed 11)."""
    from rlsuite.envs.smac.vector import SMACVectorEnv

    rates = {}
    for kind in kinds:
        env = SMACVectorEnv(map_name, battles)
        try:
            result = evaluate_policy(HeuristicTeamPolicy(env, kind), env, battles, seed=11)
        finally:
            env.close()
        rates[kind] = float(np.mean(result.wins))
    return rates
