"""Record team-env episodes (SMAC battles) played by a policy into a team dataset.

:class:`TeamEpisodeRecorder` turns the steps of ``N`` games played at once (same-step autoreset) into
finished :class:`~rlsuite.offline.team_data.TeamEpisode` records. :func:`collect_team_episodes` plays a
:class:`~rlsuite.agents.base.Policy` (greedy, with an optional epsilon of uniform available actions per
agent and step) on a team vector env that declares entity features, until ``episodes`` games have
finished. Policies: a trained MAPPO/QMIX/ACE run (:func:`team_policy_from_checkpoint`) or the scripted
attack-nearest heuristic (:class:`HeuristicTeamPolicy`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlsuite.agents.base import MemorylessPolicy, Policy, as_policy
from rlsuite.core.progress import task
from rlsuite.core.team import TeamObservation, TeamSpec, TeamStep, team_reset, team_spec_of, team_step
from rlsuite.offline.team_data import (
    STEP_FIELDS,
    ExpertInfo,
    TeamDatasetMeta,
    TeamEpisode,
    entity_layout_actions,
)

# TeamEpisode field -> (where it comes from: "entities" field name, or a TeamObservation field)
_ENTITY_SOURCES = {
    "entity_state": "features",
    "entity_type": "unit_type",
    "entity_pos": "position",
    "entity_range": "attack_range",
    "entity_alive": "alive",
    "entity_enemy": "is_enemy",
    "entity_visible": "visible",
    "entity_action_mask": "action_mask",
    "entity_action_target": "action_target",
}


class TeamEpisodeRecorder:
    """Collects the rows of ``num_envs`` games; :meth:`add` returns the episodes that just ended."""

    def __init__(self, num_envs: int, spec: TeamSpec) -> None:
        if spec.entities is None:
            raise ValueError(
                "recording team episodes needs the entity capability: make the env with "
                "entity_features=True (team_spec.entities is None)"
            )
        self.spec = spec
        self.rows: list[list[dict[str, np.ndarray]]] = [[] for _ in range(num_envs)]

    def add(self, observation: TeamObservation, actions: np.ndarray, step: TeamStep) -> list[TeamEpisode]:
        """Record one step: the observation acted on, the joint env actions ``[N, n]`` and the result."""
        entities = observation.entities
        if entities is None:
            raise ValueError("the observation carries no entity rows (env made without entity_features)")
        actions = np.asarray(actions, dtype=np.int64)
        entity_actions = entity_layout_actions(
            actions, entities.action_target, self.spec.entities.n_intrinsic_actions
        )
        won = step.won if step.won is not None else np.zeros(len(actions), dtype=bool)
        finished = []
        for i, rows in enumerate(self.rows):
            row = {name: getattr(entities, source)[i] for name, source in _ENTITY_SOURCES.items()}
            row.update(
                obs=observation.obs[i],
                state=observation.state[i],
                action_mask=observation.action_mask[i],
                actions=actions[i],
                entity_actions=entity_actions[i],
                rewards=step.reward[i],
                terminated=step.terminated[i],
                truncated=step.truncated[i],
            )
            rows.append(row)
            if step.done[i]:
                finished.append(self._episode(rows, bool(won[i])))
                self.rows[i] = []
        return finished

    @staticmethod
    def _episode(rows: list[dict[str, np.ndarray]], won: bool) -> TeamEpisode:
        arrays = {
            name: np.stack([np.asarray(r[name]) for r in rows]).astype(dtype)
            for name, (dtype, _) in STEP_FIELDS.items()
        }
        return TeamEpisode(**arrays, won=won)


@dataclass(frozen=True)
class CollectionResult:
    """What :func:`collect_team_episodes` played: the episodes and their win rate."""

    episodes: list[TeamEpisode]
    seed: int
    epsilon: float

    @property
    def win_rate(self) -> float:
        return float(np.mean([e.won for e in self.episodes]))


def collect_team_episodes(
    env: Any,
    policy: Policy | Any,
    episodes: int,
    *,
    seed: int = 0,
    epsilon: float = 0.0,
    deterministic: bool = True,
    progress: bool = True,
) -> CollectionResult:
    """Play ``policy`` on the team vector ``env`` (entity features on) until ``episodes`` games finished.

    With ``epsilon > 0`` each live agent's action is replaced, with that chance per step, by a uniform
    draw among its available actions (seeded by ``seed``). Episodes are returned in finishing order.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    if not 0.0 <= epsilon <= 1.0:
        raise ValueError(f"epsilon must be in [0, 1], got {epsilon}")
    policy = as_policy(policy)
    recorder = TeamEpisodeRecorder(env.num_envs, team_spec_of(env))
    rng = np.random.default_rng(seed)
    observation, _ = team_reset(env, seed)
    state = policy.initial_state(env.num_envs)
    threads = torch.get_num_threads()  # numba's OpenMP kernels may change it (see marl_base)
    done_episodes: list[TeamEpisode] = []
    with task(f"recording {episodes} episodes", episodes, enabled=progress) as bar:
        while len(done_episodes) < episodes:
            with torch.inference_mode():
                actions, state = policy.step(observation, state, deterministic=deterministic)
            actions = np.asarray(actions, dtype=np.int64)
            if epsilon > 0:
                actions = epsilon_actions(actions, observation.action_mask, epsilon, rng)
            step = team_step(env, actions)
            if torch.get_num_threads() != threads:
                torch.set_num_threads(threads)
            finished = recorder.add(observation, actions, step)
            done_episodes.extend(finished)
            bar.advance(len(finished))
            state = policy.reset_state(state, np.flatnonzero(step.done))
            observation = step.observation
    return CollectionResult(done_episodes[:episodes], seed, epsilon)


def epsilon_actions(
    actions: np.ndarray, action_mask: np.ndarray, epsilon: float, rng: np.random.Generator
) -> np.ndarray:
    """``actions`` with each entry replaced, with chance ``epsilon``, by a uniform available action."""
    scores = rng.random(action_mask.shape) + action_mask  # available actions score in [1, 2)
    random_pick = np.argmax(scores, axis=-1)
    explore = rng.random(actions.shape) < epsilon
    return np.where(explore, random_pick, actions)


class HeuristicTeamPolicy(MemorylessPolicy):
    """SMAC's scripted attack-nearest policy (``rlsuite.envs.smac.heuristic.attack_nearest_actions``):
    attack the nearest attackable enemy, else step toward it; medivacs heal the most injured ally.

    It reads the battles of ``env`` (a :class:`~rlsuite.envs.smac.vector.SMACVectorEnv`) directly, so
    it must act on that env's current observation.
    """

    device = torch.device("cpu")

    def __init__(self, env: Any) -> None:
        battles = getattr(env, "battles", None)
        if battles is None:
            raise ValueError(f"the heuristic policy plays the SMAC simulator; got {type(env).__name__}")
        self.battles = battles

    def act(self, obs: TeamObservation, deterministic: bool = True) -> np.ndarray:
        from rlsuite.envs.smac.heuristic import attack_nearest_actions

        b = self.battles
        out = np.zeros(obs.action_mask.shape[:2], dtype=np.int64)
        avail = obs.action_mask.astype(np.int64)
        attack_nearest_actions(b.fs, b.ist, b.table, avail, b.layout.n_agents, out)
        return out


def team_policy_from_checkpoint(path: str | Path) -> tuple[Policy, str, str, dict[str, Any]]:
    """The acting policy of a MAPPO/QMIX/ACE run folder or checkpoint, its env id, its algorithm name
    and the env kwargs it was trained with."""
    from rlsuite.algos.base import Algorithm

    algo = Algorithm.from_checkpoint(_checkpoint_file(path), device="cpu")
    algo.env.close()
    if not hasattr(algo, "team_spec"):
        raise ValueError(f"{path}: a {algo.name} run is not a multi-agent learner (MAPPO, QMIX, ACE)")
    return as_policy(algo.agent), algo.env_config.id, algo.name, dict(algo.env_config.kwargs)


def _checkpoint_file(target: str | Path) -> Path:
    from rlsuite.core.checkpoint import latest_checkpoint

    path = Path(target)
    found = latest_checkpoint(path) if path.is_dir() else path
    if found is None or not found.is_file():
        raise FileNotFoundError(f"{target}: no checkpoint there (a run folder or a .pt file)")
    return found


def dataset_meta(
    env: Any, env_id: str, expert: ExpertInfo, *, seed: int, map_name: str = "", note: str = ""
) -> TeamDatasetMeta:
    """The metadata of episodes recorded on ``env`` (sizes and names from its team spec)."""
    spec = team_spec_of(env)
    entities = spec.entities
    if entities is None:
        raise ValueError("the env declares no entity features (make it with entity_features=True)")
    return TeamDatasetMeta(
        map_name=map_name or getattr(env, "map_name", env_id),
        env_id=env_id,
        n_agents=spec.n_agents,
        n_units=entities.n_entities,
        n_actions=spec.n_actions,
        n_intrinsic_actions=entities.n_intrinsic_actions,
        obs_size=spec.obs_size,
        state_size=spec.state_size,
        episode_limit=spec.episode_limit,
        feature_names=entities.feature_names,
        unit_types=entities.unit_types,
        expert=expert,
        seed=seed,
        note=note,
    )
