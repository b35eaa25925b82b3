"""Acting side: the Policy protocol and the networks policies are made of."""

from rlsuite.agents.actor_critic import ActorCriticAgent
from rlsuite.agents.base import Agent, MemorylessPolicy, Policy, as_policy

__all__ = ["ActorCriticAgent", "Agent", "MemorylessPolicy", "Policy", "as_policy"]
