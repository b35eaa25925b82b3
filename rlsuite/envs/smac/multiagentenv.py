"""``MultiAgentEnv``: the abstract interface of SMAC-style multi-agent envs (oxwhirl/smac's base class of
``StarCraft2Env``; PyMARL-family code types its envs by it). The methods are SMAC's; subclasses implement
them.
"""

from __future__ import annotations

from typing import Any


class MultiAgentEnv:
    """A cooperative multi-agent env with SMAC's API: ``step(actions) -> (reward, terminated, info)``."""

    n_agents: int
    episode_limit: int

    def step(self, actions: Any) -> tuple[float, bool, dict[str, Any]]:
        """Apply one action per agent; returns ``(reward, terminated, info)``."""
        raise NotImplementedError

    def get_obs(self) -> list[Any]:
        """All agents' observations, in agent order."""
        raise NotImplementedError

    def get_obs_agent(self, agent_id: int) -> Any:
        raise NotImplementedError

    def get_obs_size(self) -> int:
        raise NotImplementedError

    def get_state(self) -> Any:
        """The global state."""
        raise NotImplementedError

    def get_state_size(self) -> int:
        raise NotImplementedError

    def get_avail_actions(self) -> list[list[int]]:
        raise NotImplementedError

    def get_avail_agent_actions(self, agent_id: int) -> list[int]:
        raise NotImplementedError

    def get_total_actions(self) -> int:
        """The number of actions an agent could ever take."""
        raise NotImplementedError

    def reset(self) -> Any:
        """Start an episode; returns the initial observations and state."""
        raise NotImplementedError

    def render(self) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def seed(self) -> Any:
        raise NotImplementedError

    def save_replay(self) -> Any:
        raise NotImplementedError

    def get_env_info(self) -> dict[str, Any]:
        """``state_shape``, ``obs_shape``, ``n_actions``, ``n_agents``, ``episode_limit``."""
        return {
            "state_shape": self.get_state_size(),
            "obs_shape": self.get_obs_size(),
            "n_actions": self.get_total_actions(),
            "n_agents": self.n_agents,
            "episode_limit": self.episode_limit,
        }
