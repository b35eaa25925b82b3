"""What an algorithm trains on: an env id (or :class:`~rlsuite.config.EnvConfig`), or an env object.

As in Stable-Baselines3, an algorithm can be built from an env instance instead of an id:

* a ``gymnasium.Env`` (trained as a one-env ``SyncVectorEnv`` with same-step autoreset);
* a ``gymnasium.vector.VectorEnv`` with same-step autoreset (``rlsuite.make_vec`` makes one; so does
  ``gymnasium.make_vec(..., vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP})``);
* a ``pettingzoo.ParallelEnv`` (through :class:`~rlsuite.wrappers.multi_agent.ParallelVectorEnv`), or
  a team vector env (``rlsuite.make_vec`` on a multi-agent id).

The object itself is the training env. Evaluation envs are made from its registered id when it has one
(``env.spec.id``, with the spec's keyword arguments), else from deep copies of it; an env that can be
neither gets a clear error asking for an id.
"""

from __future__ import annotations

import copy
from typing import Any

import gymnasium as gym
from gymnasium.vector import AutoresetMode

import rlsuite
from rlsuite.config import EnvConfig


def _is_team_vector(env: Any) -> bool:
    if hasattr(env, "team_spec"):
        return True
    return all(hasattr(env, a) for a in ("num_envs", "n_agents", "n_actions", "obs_size", "state_size"))


def _is_parallel(env: Any) -> bool:
    return hasattr(env, "possible_agents") and hasattr(env, "step") and not _is_team_vector(env)


def _spec_id(env: Any) -> tuple[str | None, dict[str, Any]]:
    spec = getattr(env, "spec", None)
    if spec is None and hasattr(env, "unwrapped"):
        spec = getattr(env.unwrapped, "spec", None)
    env_id = getattr(spec, "id", None)
    if env_id is None:
        return None, {}
    try:
        rlsuite.spec(env_id)
    except rlsuite.UnknownEnvError:
        return None, {}
    return env_id, dict(getattr(spec, "kwargs", None) or {})


class EnvInstance:
    """A user's env object behind an algorithm: training runs on the object, evaluation on new envs."""

    def __init__(self, env: Any) -> None:
        if isinstance(env, gym.vector.VectorEnv):
            self.kind, self.num_envs = "vector", int(env.num_envs)
            mode = env.metadata.get("autoreset_mode")
            if mode is not None and mode != AutoresetMode.SAME_STEP:
                raise ValueError(
                    f"the vector env uses {mode}; rlsuite's learners need same-step autoreset: build it with "
                    "rlsuite.make_vec(...) or gymnasium.make_vec(..., vector_kwargs="
                    "{'autoreset_mode': gymnasium.vector.AutoresetMode.SAME_STEP})"
                )
        elif _is_team_vector(env):
            self.kind, self.num_envs = "team", int(env.num_envs)
        elif _is_parallel(env):
            self.kind, self.num_envs = "parallel", 1
        elif isinstance(env, gym.Env):
            self.kind, self.num_envs = "single", 1
        else:
            raise TypeError(
                f"env: expected an env id, an EnvConfig, a gymnasium.Env, a gymnasium VectorEnv, a "
                f"pettingzoo.ParallelEnv or a team vector env; got {type(env).__name__}"
            )
        self.env = env
        self.registered_id, self.spec_kwargs = _spec_id(env)
        self.used = False

    @property
    def multi_agent(self) -> bool:
        return self.kind in ("team", "parallel")

    def env_config(self) -> EnvConfig:
        """The config checkpoints record: the registered id where there is one, else the class name."""
        env_id = self.registered_id or f"instance/{type(self.env).__name__}-v0"
        return EnvConfig(id=env_id, num_envs=self.num_envs, kwargs=dict(self.spec_kwargs))

    def make(self, num_envs: int) -> Any:
        """The object itself (adapted to a vector env) the first time; new envs after that."""
        if not self.used:
            self.used = True
            return self._adapt(self.env)
        if self.registered_id is not None:
            return rlsuite.make_vec(self.registered_id, num_envs, **self.spec_kwargs)
        return self._copies(num_envs)

    def _adapt(self, env: Any) -> Any:
        if self.kind == "single":
            return gym.vector.SyncVectorEnv([lambda: env], autoreset_mode=AutoresetMode.SAME_STEP)
        if self.kind == "parallel":
            from rlsuite.wrappers.multi_agent import ParallelVectorEnv

            return ParallelVectorEnv(env, 1)
        return env

    def _copies(self, num_envs: int) -> Any:
        """Evaluation envs from deep copies of the object (``num_envs`` of them where it is one env)."""
        one_env = self.kind in ("single", "parallel") or (self.kind == "vector" and hasattr(self.env, "envs"))
        source = self.env.envs[0] if self.kind == "vector" and one_env else self.env
        try:
            copies = [copy.deepcopy(source) for _ in range(num_envs if one_env else 1)]
        except Exception as exc:
            raise ValueError(
                f"cannot make evaluation envs from the {type(self.env).__name__} instance (it has no "
                f"registered id and cannot be copied: {exc}); build the algorithm from a registered id "
                "(rlsuite.register, then the id) or give EvalCallback an eval env"
            ) from exc
        if not one_env:  # a whole batched env: its copy evaluates with its own number of envs
            return copies[0]
        if self.kind == "parallel":
            from rlsuite.wrappers.multi_agent import ParallelVectorEnv

            pending = iter(copies)
            return ParallelVectorEnv(lambda: next(pending), num_envs)
        return gym.vector.SyncVectorEnv(
            [lambda e=e: e for e in copies], autoreset_mode=AutoresetMode.SAME_STEP
        )


def resolve_env(env: Any) -> tuple[EnvConfig, EnvInstance | None]:
    """``(env config, instance or None)`` of an algorithm's ``env`` argument."""
    if isinstance(env, str):
        return EnvConfig(id=env), None
    if isinstance(env, EnvConfig):
        return env, None
    instance = EnvInstance(env)
    return instance.env_config(), instance
