"""Episode bookkeeping for vector envs with same-step autoreset."""

from __future__ import annotations

from collections import deque

import numpy as np

SUCCESS_KEYS = ("is_success", "success")
WIN_KEYS = ("battle_won", "won")


class EpisodeTracker:
    """Accumulates per-env returns and lengths; keeps the last ``window`` finished episodes."""

    def __init__(self, num_envs: int, window: int = 100) -> None:
        self.returns = np.zeros(num_envs, np.float64)
        self.lengths = np.zeros(num_envs, np.int64)
        self.finished_returns: deque[float] = deque(maxlen=window)
        self.finished_lengths: deque[int] = deque(maxlen=window)
        self.total_episodes = 0

    def step(self, rewards: np.ndarray, dones: np.ndarray) -> np.ndarray:
        """Add one step; return the indices of envs whose episode ended on it."""
        self.returns += rewards
        self.lengths += 1
        ended = np.flatnonzero(dones)
        for i in ended:
            self.finished_returns.append(float(self.returns[i]))
            self.finished_lengths.append(int(self.lengths[i]))
        self.returns[ended] = 0.0
        self.lengths[ended] = 0
        self.total_episodes += len(ended)
        return ended

    def summary(self) -> dict[str, float]:
        if not self.finished_returns:
            return {}
        return {
            "rollout/ep_return_mean": float(np.mean(self.finished_returns)),
            "rollout/ep_length_mean": float(np.mean(self.finished_lengths)),
            "rollout/episodes": self.total_episodes,
        }

    def state_dict(self) -> dict:
        return {
            "returns": self.returns.copy(),
            "lengths": self.lengths.copy(),
            "finished_returns": list(self.finished_returns),
            "finished_lengths": list(self.finished_lengths),
            "total_episodes": self.total_episodes,
        }

    def load_state_dict(self, state: dict) -> None:
        self.returns = np.array(state["returns"], np.float64)
        self.lengths = np.array(state["lengths"], np.int64)
        self.finished_returns.clear()
        self.finished_returns.extend(state["finished_returns"])
        self.finished_lengths.clear()
        self.finished_lengths.extend(state["finished_lengths"])
        self.total_episodes = int(state["total_episodes"])


def final_observations(infos: dict, indices: np.ndarray) -> np.ndarray:
    """The terminal observations of ``indices`` from a same-step-autoreset ``infos`` dict."""
    final = infos["final_obs"]
    return np.stack([np.asarray(final[i], np.float32) for i in indices])


def episode_flag(infos: dict, index: int, keys: tuple[str, ...]) -> bool | None:
    """A per-episode flag (success, win) from ``final_info`` of a finished env, or None if absent."""
    final_info = infos.get("final_info")
    if not isinstance(final_info, dict):
        return None
    for key in keys:
        if key in final_info and final_info.get(f"_{key}", np.ones(index + 1, bool))[index]:
            return bool(final_info[key][index])
    return None
