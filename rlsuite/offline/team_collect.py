"""Record team-env episodes (SMAC battles) played by a policy into a team dataset.

:class:`TeamEpisodeRecorder` turns the steps of ``N`` games played at once (same-step autoreset) into
finished :class:`~rlsuite.offline.team_data.TeamEpisode` records. :func:`collect_team_episodes` plays a
:class:`~rlsuite.agents.base.Policy` (greedy, with an optional epsilon of uniform available actions per
agent and step) on a team vector env that declares entity features, until ``episodes`` games have
finished; with ``action_noise`` it executes random actions but records the policy's own (noise injection,
below). Experts (:func:`expert_source`): a trained MAPPO/QMIX/ACE run, or the scripted attack-nearest
heuristic or the focus-fire expert (:class:`HeuristicTeamPolicy`); :func:`collect_team_dataset`
measures the expert's win rate and records a dataset whose metadata names it
(``rlsuite data collect --env ... --policy ...``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlsuite.agents.base import Policy, as_policy
from rlsuite.core.progress import task
from rlsuite.core.team import TeamObservation, TeamSpec, TeamStep, team_reset, team_spec_of, team_step
from rlsuite.envs.smac.downstream import SCRIPTED_POLICIES, HeuristicTeamPolicy
from rlsuite.offline.team_data import (
    STEP_FIELDS,
    ExpertInfo,
    TeamDataset,
    TeamDatasetMeta,
    TeamEpisode,
    entity_layout_actions,
    episodes_to_dataset,
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
    action_noise: float = 0.0

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
    action_noise: float = 0.0,
    deterministic: bool = True,
    progress: bool = True,
) -> CollectionResult:
    """Play ``policy`` on the team vector ``env`` (entity features on) until ``episodes`` games finished.

    With ``epsilon > 0`` each live agent's action is replaced, with that chance per step, by a uniform
    draw among its available actions (seeded by ``seed``), and the replacement is recorded: the data are
    the noisy policy's. With ``action_noise > 0`` the env receives such a random action with that chance,
    but the row records the action the policy chose (noise injection for imitation, DART: Laskey et al.,
    "DART: Noise Injection for Robust Imitation Learning", CoRL 2017): the data then cover states the
    policy itself would not reach, each labelled with what the policy does there, so a clone learns to
    recover from its own mistakes. Episodes are returned in finishing order.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    check_chances(epsilon=epsilon, action_noise=action_noise)
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
            executed = actions
            if action_noise > 0:
                executed = epsilon_actions(actions, observation.action_mask, action_noise, rng)
            step = team_step(env, executed)
            if torch.get_num_threads() != threads:
                torch.set_num_threads(threads)
            finished = recorder.add(observation, actions, step)
            bar.advance(min(len(finished), episodes - len(done_episodes)))
            done_episodes.extend(finished)
            state = policy.reset_state(state, np.flatnonzero(step.done))
            observation = step.observation
    return CollectionResult(done_episodes[:episodes], seed, epsilon, action_noise)


def check_chances(**chances: float) -> None:
    """Raise a ValueError naming the first of ``chances`` (name=value) that is not a number in [0, 1]."""
    for name, value in chances.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")


def epsilon_actions(
    actions: np.ndarray, action_mask: np.ndarray, epsilon: float, rng: np.random.Generator
) -> np.ndarray:
    """``actions`` with each entry replaced, with chance ``epsilon``, by a uniform available action."""
    scores = rng.random(action_mask.shape) + action_mask  # available actions score in [1, 2)
    random_pick = np.argmax(scores, axis=-1)
    explore = rng.random(actions.shape) < epsilon
    return np.where(explore, random_pick, actions)


@dataclass(frozen=True)
class ExpertSource:
    """Where an expert comes from: a trained run's checkpoint, or the scripted heuristic."""

    name: str
    algo: str
    checkpoint: str  # "" for a scripted policy
    env_id: str
    env_kwargs: dict[str, Any]
    policy: Policy | None = None  # the checkpoint's policy (None: the scripted ``algo``, bound per env)

    def policy_for(self, env: Any) -> Policy:
        """The policy acting on ``env`` (a scripted policy reads that env's battles)."""
        return HeuristicTeamPolicy(env, self.algo) if self.policy is None else self.policy

    def make_env(self, num_envs: int, **extra: Any) -> Any:
        """A team vector env of the expert's map with entity features (plus ``extra`` env options)."""
        from rlsuite.envs.registry import make_vec

        return make_vec(self.env_id, num_envs, **{**self.env_kwargs, "entity_features": True, **extra})


def expert_source(policy: str, env_id: str | None = None) -> ExpertSource:
    """A scripted policy (``"heuristic"``: attack-nearest, ``"focus_fire"`` and its variants;
    needs ``env_id``) or a MAPPO/QMIX/ACE run folder or checkpoint file."""
    if policy in SCRIPTED_POLICIES:
        if not env_id:
            raise ValueError(f"--policy {policy} needs --env ENV_ID (a SMAC map id like rlsuite/SMAC-3m-v0)")
        return ExpertSource(policy, policy, "", env_id, {})
    from rlsuite.algos.base import Algorithm

    checkpoint = _checkpoint_file(policy)
    algo = Algorithm.from_checkpoint(checkpoint, device="cpu", inference=True)
    algo.env.close()
    if not hasattr(algo, "team_spec"):
        raise ValueError(
            f"--policy {policy}: a {algo.name} run is not a multi-agent learner (MAPPO, QMIX, ACE)"
        )
    trained_on = algo.env_config.id
    if env_id and env_id != trained_on:
        raise ValueError(f"--env {env_id} differs from the policy's env {trained_on}")
    kwargs = {k: v for k, v in dict(algo.env_config.kwargs).items() if k != "entity_features"}
    name = f"{algo.name}-{trained_on.removeprefix('rlsuite/')}"
    return ExpertSource(name, algo.name, str(checkpoint), trained_on, kwargs, as_policy(algo.agent))


def play_expert(source: ExpertSource, episodes: int, *, seed: int, num_envs: int = 8) -> list[bool]:
    """Whether the expert won each of ``episodes`` greedy battles (seeded with ``seed``)."""
    from rlsuite.training.evaluation import evaluate_policy

    env = source.make_env(min(num_envs, episodes))
    try:
        result = evaluate_policy(source.policy_for(env), env, episodes, deterministic=True, seed=seed)
    finally:
        env.close()
    return [bool(won) for won in result.wins]


def measure_win_rate(source: ExpertSource, episodes: int, *, seed: int, num_envs: int = 8) -> float:
    """The expert's greedy win rate over ``episodes`` battles (seeded with ``seed``)."""
    return float(np.mean(play_expert(source, episodes, seed=seed, num_envs=num_envs)))


EVAL_SEED_OFFSET = 1_000_003  # win-rate battles use other seeds than the recorded ones


def collect_team_dataset(
    source: ExpertSource,
    episodes: int,
    *,
    seed: int = 0,
    epsilon: float = 0.0,
    action_noise: float = 0.0,
    eval_episodes: int = 64,
    num_envs: int = 8,
    win_rate: float | None = None,
    progress: bool = True,
) -> TeamDataset:
    """Measure the expert's win rate (``eval_episodes`` greedy battles; or take ``win_rate``), then record
    ``episodes`` episodes of it (greedy, ``epsilon``, ``action_noise``: :func:`collect_team_episodes`)
    into a dataset whose metadata names the expert."""
    check_chances(epsilon=epsilon, action_noise=action_noise)  # before the win-rate battles
    if win_rate is None and eval_episodes > 0:
        win_rate = measure_win_rate(source, eval_episodes, seed=seed + EVAL_SEED_OFFSET, num_envs=num_envs)
    expert = ExpertInfo(
        name=source.name,
        algo=source.algo,
        checkpoint=source.checkpoint,
        win_rate=win_rate,
        eval_episodes=eval_episodes if win_rate is not None else 0,
        epsilon=epsilon,
        action_noise=action_noise,
    )
    env = source.make_env(min(num_envs, episodes))
    try:
        result = collect_team_episodes(
            env,
            source.policy_for(env),
            episodes,
            seed=seed,
            epsilon=epsilon,
            action_noise=action_noise,
            progress=progress,
        )
        meta = dataset_meta(env, source.env_id, expert, seed=seed)
    finally:
        env.close()
    return episodes_to_dataset(result.episodes, meta)


def _checkpoint_file(target: str | Path) -> Path:
    from rlsuite.core.checkpoint import latest_checkpoint

    path = Path(target)
    found = latest_checkpoint(path) if path.is_dir() else path
    if found is None or not found.is_file():
        raise FileNotFoundError(
            f"{target}: no checkpoint there (a run folder or a .pt file) and not a scripted policy "
            f"({', '.join(SCRIPTED_POLICIES)})"
        )
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
