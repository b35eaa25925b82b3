"""Make D4RL-style datasets with the suite's own policies (``rlsuite data collect``).

Levels, as D4RL defines them and as this module produces them:

* ``random``: uniform random actions.
* ``medium`` / ``expert``: a SAC policy's *stochastic* actions (D4RL sampled from its policies too);
  ``medium`` is a checkpoint at about one third of the expert's return (D4RL early-stopped its SAC
  there), ``expert`` a fully trained one. Which checkpoint is which is the user's choice (``--policy``).
* ``medium-replay``: the replay buffer of the SAC run whose checkpoint is the medium policy (everything
  it saw until then), read from the checkpoint (``checkpoint.save_replay_buffer=true``, the default).
* ``medium-expert``: the concatenation of a medium and an expert dataset (``--from MEDIUM EXPERT``).

Transitions of each env copy are stored contiguously, episode after episode; the last step of each
copy's stream is marked as a timeout (a cut, bootstrapped) unless it ended the episode.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from rlsuite.core.episodes import final_observations
from rlsuite.core.progress import task
from rlsuite.envs.registry import make_vec
from rlsuite.offline.dataset import (
    DatasetError,
    OfflineDataset,
    concatenate,
    default_metadata,
    env_unit_actions,
    load_dataset,
)

LEVELS = ("random", "medium", "medium-replay", "expert", "medium-expert")
Policy = Callable[[np.ndarray], np.ndarray]  # a batch of observations -> a batch of env actions


def collect_dataset(
    env_id: str,
    policy_fn: Policy | None,
    steps: int,
    *,
    num_envs: int = 1,
    seed: int = 0,
    env_kwargs: dict | None = None,
    **metadata,
) -> OfflineDataset:
    """Roll ``policy_fn`` (None: uniform random actions) for ``steps`` transitions.

    ``metadata`` (``level``, ``policy``: a description of the policy, ...) is stored with the data.
    """
    if steps < 1 or num_envs < 1:
        raise ValueError(f"steps and num_envs must be >= 1, got steps={steps}, num_envs={num_envs}")
    env = make_vec(env_id, num_envs, **(env_kwargs or {}))
    try:
        env.action_space.seed(seed)
        rows = -(-steps // num_envs)
        columns, returns = _rollout(env, policy_fn, rows, seed)
    finally:
        env.close()
    # [T, N, ...] -> one contiguous stream per env copy
    arrays = {name: per_env_streams(v)[:steps] for name, v in columns.items()}
    mark_stream_ends(arrays["terminals"], arrays["timeouts"], rows, num_envs, steps)
    segments = len(OfflineDataset(**arrays).episode_returns())  # what `data info` counts as episodes
    finished = len(returns)
    if not returns:  # no episode finished: report the returns of the partial ones
        returns = list(OfflineDataset(**arrays).episode_returns())
    return OfflineDataset(
        **arrays,
        metadata=default_metadata(
            env_id=env_id,
            seed=seed,
            episodes=segments,
            finished_episodes=finished,  # the episodes policy_return_mean/std are over
            policy_return_mean=float(np.mean(returns)),
            policy_return_std=float(np.std(returns)),
            **metadata,
        ),
    )


def per_env_streams(value: np.ndarray) -> np.ndarray:
    """``[T, N, ...]`` vector-env steps -> ``[N * T, ...]``: env 0's steps in order, then env 1's, ..."""
    return np.swapaxes(value, 0, 1).reshape(value.shape[0] * value.shape[1], *value.shape[2:])


def mark_stream_ends(
    terminals: np.ndarray, timeouts: np.ndarray, rows: int, num_envs: int, size: int
) -> None:
    """Mark the last step of each env's stream (cut mid-episode) as a timeout unless it terminated."""
    last = np.arange(1, num_envs + 1) * rows - 1
    last = np.append(last[last < size], size - 1)
    timeouts[last] |= ~terminals[last]


def _rollout(env, policy: Policy | None, rows: int, seed: int) -> tuple[dict[str, np.ndarray], list[float]]:
    """``[rows, num_envs, ...]`` arrays of every field, and the returns of the episodes that finished."""
    n = env.num_envs
    obs, _ = env.reset(seed=seed)
    running, finished = np.zeros(n), []
    columns: dict[str, list[np.ndarray]] = {
        k: [] for k in ("observations", "actions", "rewards", "next_observations", "terminals", "timeouts")
    }
    with task(f"collecting {rows * n:,} transitions", rows * n) as bar:
        for row in range(rows):
            flat_obs = np.asarray(obs, np.float32).reshape(n, -1)
            action = env.action_space.sample() if policy is None else np.asarray(policy(obs))
            next_obs, reward, terminated, truncated, infos = env.step(action)
            done = np.logical_or(terminated, truncated)
            successor = np.asarray(next_obs, np.float32).reshape(n, -1).copy()
            ended = np.flatnonzero(done)
            running += reward
            if ended.size:
                successor[ended] = final_observations(infos, ended).reshape(ended.size, -1)
                finished += running[ended].tolist()
                running[ended] = 0.0
            action = np.asarray(action, np.float32).reshape(n, -1)
            for key, value in zip(columns, (flat_obs, action, reward, successor, terminated, truncated)):
                columns[key].append(np.asarray(value))
            obs = next_obs
            if (row + 1) % 1000 == 0 or row + 1 == rows:
                bar.advance(n * (row % 1000 + 1))
    out = {key: np.stack(values) for key, values in columns.items()}
    out["terminals"], out["timeouts"] = out["terminals"].astype(bool), out["timeouts"].astype(bool)
    return out, finished


def policy_from_checkpoint(path: str | Path, *, deterministic: bool = False) -> tuple[Policy, str]:
    """The acting policy of a run folder or checkpoint (stochastic by default, as D4RL), and its env id."""
    from rlsuite.algos.base import Algorithm

    algo = Algorithm.from_checkpoint(path, device="cpu", inference=True)
    algo.env.close()

    def policy(obs: np.ndarray) -> np.ndarray:
        return algo.agent.act(obs, deterministic=deterministic)

    return policy, algo.env_config.id


def replay_from_checkpoint(path: str | Path, **metadata) -> OfflineDataset:
    """``medium-replay``: the replay buffer stored in an off-policy checkpoint, per env copy in order.

    Actions are stored by the learners in ``[-1, 1]``; they are mapped back to env units.
    """
    from rlsuite.core.checkpoint import load_checkpoint
    from rlsuite.envs.registry import make

    state = load_checkpoint(path)
    replay = state.get("algorithm", {}).get("replay")
    if replay is None:
        raise DatasetError(
            f"{path}: the checkpoint holds no replay buffer (train the SAC run with "
            "checkpoint.save_replay_buffer=true to make a medium-replay dataset)"
        )
    env_id = state["env_config"]["id"]
    rows = len(replay["rewards"])
    order = np.arange(rows)
    if replay["full"]:
        order = np.roll(order, -int(replay["pos"]))  # oldest row first

    def stream(name: str) -> np.ndarray:
        return per_env_streams(replay[name].numpy()[order])

    terminals, dones = stream("terminated"), stream("dones")
    timeouts = dones & ~terminals
    num_envs = replay["obs"].shape[1]
    mark_stream_ends(terminals, timeouts, rows, num_envs, rows * num_envs)
    env = make(env_id, **state["env_config"].get("kwargs", {}))
    try:
        actions = env_unit_actions(stream("actions").reshape(rows * num_envs, -1), env.action_space)
    finally:
        env.close()
    dataset = OfflineDataset(
        observations=stream("obs"),
        actions=actions,
        rewards=stream("rewards"),
        next_observations=stream("next_obs"),
        terminals=terminals,
        timeouts=timeouts,
    )
    returns = dataset.episode_returns()
    dataset.metadata = default_metadata(
        env_id=env_id,
        episodes=len(returns),
        policy_return_mean=float(returns.mean()),
        policy_return_std=float(returns.std()),
        seed=int(state.get("seed", 0)),
        **metadata,
    )
    return dataset


def medium_expert(paths: list[str], **metadata) -> OfflineDataset:
    """``medium-expert``: the datasets at ``paths`` (a medium and an expert one), concatenated."""
    datasets = [load_dataset(p) for p in paths]
    env_ids = {d.metadata.get("env_id") for d in datasets} - {None}
    if len(env_ids) > 1:
        raise DatasetError(f"--from datasets were collected on different envs: {sorted(env_ids)}")
    returns = np.concatenate([d.episode_returns() for d in datasets])
    return concatenate(
        datasets,
        **default_metadata(
            env_id=next(iter(env_ids), None),
            episodes=len(returns),
            policy_return_mean=float(returns.mean()),
            policy_return_std=float(returns.std()),
            sources=[str(p) for p in paths],
            **metadata,
        ),
    )
