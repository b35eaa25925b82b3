"""Acting side: the Agent protocol and the networks agents are made of."""

from rlsuite.agents.actor_critic import ActorCriticAgent
from rlsuite.agents.base import Agent

__all__ = ["ActorCriticAgent", "Agent"]
