"""Any PettingZoo ``ParallelEnv`` as a batched team vector env (the interface of ``SMACVectorEnv``).

Multi-agent learners (QMIX, VDN, MAPPO, ACE) train on arrays shaped ``[num_envs, n_agents, ...]``
(see :mod:`rlsuite.algos.marl_base`). :class:`ParallelVectorEnv` steps ``num_envs`` copies of a
PettingZoo Parallel env in-process and exposes exactly that interface:

    env = ParallelVectorEnv(lambda: my_parallel_env(), num_envs=8)   # or rlsuite.make_vec(id, 8)
    obs, info = env.reset(seed=0)        # obs [8, n_agents, obs_size]; info["state"], info["action_mask"]
    obs, reward, terminated, truncated, info = env.step(actions)     # actions int [8, n_agents]

Conventions of the adapter:

* Agents are ``env.possible_agents``, in that order. They must all share one ``Discrete`` action space
  and one observation shape. Observations are a ``Box`` (flattened to ``obs_size``) or a ``Dict`` with
  ``observation`` and ``action_mask`` keys (PettingZoo's convention); masks may also come from
  ``infos[agent]["action_mask"]``; without a mask every action is allowed. A mask that allows nothing
  (SMAC's wrapper gives dead units one, having dropped no-op) is read as "only action 0".
* Agents not in ``env.agents`` (dead, or not spawned) get a zero observation and a mask allowing only
  action 0; their actions must be 0 (as every action must be allowed by its mask) and are not passed
  to the env.
* ``reward`` is the team reward: the mean of the rewards of the agents that were live at the start of
  the step (for a shared team reward, as in SMAC, that is the shared reward; for individual rewards it
  keeps the scale of one agent's reward whatever the number of survivors).
* A game is over when ``env.agents`` is empty after a step, or when every agent live at its start is
  terminated or truncated. ``terminated``: every live agent terminated, or the agents were removed
  with no truncation; ``truncated``: otherwise (some truncation, not all terminated).
  ``info["battle_won"]`` is True where an agent's info says ``battle_won`` (or ``won``) on this step.
* ``info["state"]`` is ``env.state()``; for envs without a global state (no ``state_space`` and no
  working ``state()``) it is the concatenation of all agents' observations as returned in ``obs``
  (``state_size = n_agents * obs_size``).
* Same-step autoreset: a game that ends is reset inside ``step``; its last observations (each live
  agent's observation as the env returned it at the end, zero for agents already gone), state and mask
  are in ``info["final_obs"|"final_state"|"final_action_mask"]`` (rows of finished games, others zero)
  and ``info["_final"]`` marks them.
* Seeding: ``reset(seed=s)`` resets env ``i`` with seed ``s + i`` and starts its generator from the same
  number; every later reset of env ``i`` (autoreset, ``reset()`` without seed) gets a seed drawn from that
  generator, so one ``reset(seed=s)`` makes the whole run reproducible. A list gives one seed (or None)
  per env; ``options["reset_mask"]`` resets only some envs.
* ``episode_limit`` is the env's ``episode_limit`` or ``max_cycles`` attribute, else the constructor's
  ``episode_limit`` argument (required then).
* ``get_state``/``set_state`` (checkpoints) save the sub-envs' attributes as plain data
  (:mod:`rlsuite.core.object_state`); they exist only when the freshly built sub-envs can be captured
  that way (not, e.g., for envs driving a game engine in a C extension). ``get_state`` raises
  ``StateCaptureError`` if a sub-env later comes to hold something that cannot be captured.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from pettingzoo import ParallelEnv

from rlsuite.core.object_state import StateCaptureError, capture_object, restore_object
from rlsuite.core.team import TeamSpec
from rlsuite.envs.batched import (
    check_positive_int,
    check_seed,
    check_team_actions,
    pop_reset_mask,
    team_env_info,
)
from rlsuite.envs.inputs import EpisodeOver, check_reset_options, check_vector_seed

_SEED_BOUND = 2**31 - 1  # seeds drawn for sub-env resets: accepted by every seeding API


class ParallelVectorEnv:
    """``num_envs`` copies of a PettingZoo Parallel env with team arrays and same-step autoreset."""

    metadata: ClassVar[dict[str, Any]] = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}

    def __init__(
        self, env_fn: Callable[[], Any] | Any, num_envs: int = 1, *, episode_limit: int | None = None
    ) -> None:
        """``env_fn`` builds one ``pettingzoo.ParallelEnv`` (called ``num_envs`` times); an env instance is
        accepted too when ``num_envs == 1``."""
        self.num_envs = check_positive_int("num_envs", num_envs)
        if callable(env_fn) and not hasattr(env_fn, "possible_agents"):
            self.envs = [env_fn() for _ in range(self.num_envs)]
        elif hasattr(env_fn, "possible_agents"):
            if self.num_envs != 1:
                raise TypeError(
                    f"pass a factory (e.g. lambda: make_env()) to build num_envs={self.num_envs} "
                    f"copies; got one env instance ({type(env_fn).__name__})"
                )
            self.envs = [env_fn]
        else:
            raise TypeError(f"env_fn must be a callable returning a pettingzoo.ParallelEnv, got {env_fn!r}")
        for env in self.envs:
            for attr in ("possible_agents", "reset", "step", "action_space", "observation_space"):
                if not hasattr(env, attr):
                    raise TypeError(
                        f"{type(env).__name__} is not a pettingzoo.ParallelEnv: it has no {attr!r}"
                    )
        first = self.envs[0]
        self.possible_agents = list(first.possible_agents)
        if not self.possible_agents:
            raise ValueError(f"{type(first).__name__}.possible_agents is empty")
        for env in self.envs[1:]:
            if list(env.possible_agents) != self.possible_agents:
                raise ValueError(
                    f"the factory built envs with different possible_agents: "
                    f"{self.possible_agents} and {list(env.possible_agents)}"
                )
        self._index = {agent: i for i, agent in enumerate(self.possible_agents)}
        self.n_agents = len(self.possible_agents)
        self._check_spaces(first)
        self._use_state, self.state_size = self._probe_state(first)
        self.episode_limit = self._find_episode_limit(first, episode_limit)
        self.single_observation_space = spaces.Box(-np.inf, np.inf, (self.obs_size,), np.float32)
        self.single_action_space = spaces.Discrete(self.n_actions)
        self.state_space = spaces.Box(-np.inf, np.inf, (self.state_size,), np.float32)
        self.team_spec = TeamSpec(
            self.n_agents,
            self.n_actions,
            self.obs_size,
            self.state_size,
            self.episode_limit,
            agent_names=tuple(str(agent) for agent in self.possible_agents),
        )
        self._dead_mask = np.zeros(self.n_actions, dtype=np.bool_)
        self._dead_mask[0] = True
        n, a = self.num_envs, self.n_agents
        self._obs = np.zeros((n, a, self.obs_size), dtype=np.float32)
        self._mask = np.zeros((n, a, self.n_actions), dtype=np.bool_)
        self._state = np.zeros((n, self.state_size), dtype=np.float32)
        self._rngs: list[np.random.Generator | None] = [None] * n
        self._started = False
        try:
            capture_object(self.envs, "envs")
        except StateCaptureError:  # sub-envs holding OS handles or engines in C extensions
            pass
        else:
            self.get_state = self._get_state
            self.set_state = self._set_state

    # --- construction ---------------------------------------------------------------------------
    def _check_spaces(self, env: Any) -> None:
        act0 = obs_shape = None
        mask_in_obs = None
        for agent in self.possible_agents:
            act = env.action_space(agent)
            if not isinstance(act, spaces.Discrete):
                raise ValueError(
                    f"agent {agent!r}: action space {act} is not Discrete; "
                    "ParallelVectorEnv needs one shared Discrete action space"
                )
            if act0 is None:
                act0 = act
            elif act.n != act0.n or act.start != act0.start:
                raise ValueError(
                    f"agent {agent!r}: action space {act} differs from {act0} "
                    f"(agent {self.possible_agents[0]!r}); all agents must share one"
                )
            space = env.observation_space(agent)
            if isinstance(space, spaces.Dict):
                if "observation" not in space.spaces:
                    raise ValueError(
                        f"agent {agent!r}: Dict observation space {space} has no 'observation' "
                        "key (expected PettingZoo's {'observation', 'action_mask'})"
                    )
                has_mask = "action_mask" in space.spaces
                box = space["observation"]
            else:
                has_mask, box = False, space
            if not isinstance(box, spaces.Box):
                raise ValueError(
                    f"agent {agent!r}: observation space {space} is not a Box "
                    "(or a Dict with a Box 'observation')"
                )
            if obs_shape is None:
                obs_shape, mask_in_obs = box.shape, has_mask
            elif box.shape != obs_shape or has_mask != mask_in_obs:
                raise ValueError(
                    f"agent {agent!r}: observation space {space} differs in shape from agent "
                    f"{self.possible_agents[0]!r}'s {env.observation_space(self.possible_agents[0])}"
                    "; all agents must share one observation shape"
                )
        self.n_actions = int(act0.n)
        self._action_start = int(act0.start)
        self.obs_size = int(np.prod(obs_shape, dtype=np.int64))
        self._dict_obs = isinstance(env.observation_space(self.possible_agents[0]), spaces.Dict)

    def _probe_state(self, env: Any) -> tuple[bool, int]:
        """Whether ``env.state()`` is used, and the state size (else the concatenated observations)."""
        fallback = (False, self.n_agents * self.obs_size)
        space = getattr(env, "state_space", None)
        if isinstance(space, spaces.Box):
            return True, int(np.prod(space.shape, dtype=np.int64))
        state_fn = getattr(type(env), "state", None)
        if not callable(state_fn) or state_fn is ParallelEnv.state:
            return fallback
        try:  # a state() but no state_space: learn its size from one reset
            env.reset(seed=0)
            state = np.asarray(env.state())
        except NotImplementedError:
            return fallback
        return True, int(state.size)

    @staticmethod
    def _find_episode_limit(env: Any, given: int | None) -> int:
        found = None
        for obj in (env, getattr(env, "unwrapped", env)):
            for name in ("episode_limit", "max_cycles"):
                value = getattr(obj, name, None)
                if value is not None and found is None:
                    found = (name, check_positive_int(f"{type(obj).__name__}.{name}", value))
        if found is None:
            if given is None:
                raise ValueError(
                    f"{type(env).__name__} has no 'episode_limit' or 'max_cycles' attribute: pass "
                    "episode_limit=<the longest episode, in steps> to ParallelVectorEnv"
                )
            return check_positive_int("episode_limit", given)
        if given is not None and check_positive_int("episode_limit", given) != found[1]:
            raise ValueError(f"episode_limit={given} contradicts {type(env).__name__}.{found[0]}={found[1]}")
        return found[1]

    def get_env_info(self) -> dict[str, Any]:
        """SMAC's ``get_env_info`` keys, plus ``num_envs``."""
        return team_env_info(self)

    # --- reset / step ---------------------------------------------------------------------------
    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset all envs (or those in ``options["reset_mask"]``; other options go to the sub-envs)."""
        options = check_reset_options(options)
        mask = pop_reset_mask(options, self.num_envs)
        rows = np.flatnonzero(mask)
        seed = check_vector_seed(seed, self.num_envs)
        if isinstance(seed, list):
            seeds = seed
        elif seed is None:
            seeds = [None] * self.num_envs
        else:
            seeds = [seed + i for i in range(self.num_envs)]
        for i in rows:
            if seeds[i] is None:
                sub_seed = self._draw_seed(i)
            else:
                sub_seed = check_seed(seeds[i])
                self._rngs[i] = np.random.default_rng(sub_seed)
            self._reset_one(i, sub_seed, options or None)
        self._started = True
        return self._obs.copy(), {"state": self._state.copy(), "action_mask": self._mask.copy()}

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if not self._started:
            raise EpisodeOver()
        actions = check_team_actions(actions, self._mask, env_word="env", agent_names=self.possible_agents)
        n = self.num_envs
        reward = np.zeros(n, dtype=np.float32)
        terminated = np.zeros(n, dtype=np.bool_)
        truncated = np.zeros(n, dtype=np.bool_)
        won = np.zeros(n, dtype=np.bool_)
        final: dict[str, np.ndarray] | None = None
        for i, env in enumerate(self.envs):
            live = list(env.agents)
            joint = {agent: self._action_start + int(actions[i, self._index[agent]]) for agent in live}
            obs, rewards, terms, truncs, infos = env.step(joint)
            reward[i] = np.mean([float(rewards.get(agent, 0.0)) for agent in live])
            all_terminated = all(bool(terms.get(agent, False)) for agent in live)
            any_truncated = any(bool(truncs.get(agent, False)) for agent in live)
            over = not env.agents or all(
                bool(terms.get(agent, False)) or bool(truncs.get(agent, False)) for agent in live
            )
            won[i] = any(_won(info) for info in infos.values())
            if not over:
                self._read(i, obs, infos, list(env.agents))
                continue
            terminated[i] = all_terminated or not any_truncated
            truncated[i] = not terminated[i]
            if final is None:
                final = {
                    "final_obs": np.zeros_like(self._obs),
                    "final_state": np.zeros_like(self._state),
                    "final_action_mask": np.zeros_like(self._mask),
                    "_final": np.zeros(n, dtype=np.bool_),
                }
            self._read(i, obs, infos, [agent for agent in live if agent in obs])
            final["final_obs"][i] = self._obs[i]
            final["final_state"][i] = self._state[i]
            final["final_action_mask"][i] = self._mask[i]
            final["_final"][i] = True
            self._reset_one(i, self._draw_seed(i), None)
        info: dict[str, Any] = {"battle_won": won}
        if final is not None:
            info.update(final)
        info["state"] = self._state.copy()
        info["action_mask"] = self._mask.copy()
        return self._obs.copy(), reward, terminated, truncated, info

    def _draw_seed(self, i: int) -> int:
        if self._rngs[i] is None:
            self._rngs[i] = np.random.default_rng()  # never seeded: OS entropy
        return int(self._rngs[i].integers(_SEED_BOUND))

    def _reset_one(self, i: int, seed: int, options: dict[str, Any] | None) -> None:
        env = self.envs[i]
        obs, infos = env.reset(seed=seed, options=options)
        if not env.agents:
            raise RuntimeError(f"{type(env).__name__}.reset() left no agents in env.agents")
        self._read(i, obs, infos or {}, list(env.agents))

    def _read(self, i: int, obs: dict, infos: dict, present: list) -> None:
        """Fill row ``i`` of the current observation, mask and state; agents not in ``present``: dead."""
        self._obs[i] = 0.0
        self._mask[i] = self._dead_mask
        for agent in present:
            k = self._index.get(agent)
            if k is None:
                raise ValueError(f"agent {agent!r} is not in possible_agents {self.possible_agents}")
            if agent not in obs:
                raise RuntimeError(f"the env returned no observation for live agent {agent!r}")
            ob, mask = obs[agent], None
            if self._dict_obs:
                mask = ob.get("action_mask")
                ob = ob["observation"]
            if mask is None:
                mask = (infos.get(agent) or {}).get("action_mask")
            ob = np.asarray(ob, dtype=np.float32).reshape(-1)
            if ob.size != self.obs_size:
                raise ValueError(f"agent {agent!r}: observation of size {ob.size}, expected {self.obs_size}")
            self._obs[i, k] = ob
            if mask is None:
                self._mask[i, k] = True
            else:
                mask = np.asarray(mask).reshape(-1).astype(np.bool_)
                if mask.shape != (self.n_actions,):
                    raise ValueError(
                        f"agent {agent!r}: action mask of shape {mask.shape}, expected ({self.n_actions},)"
                    )
                self._mask[i, k] = mask if mask.any() else self._dead_mask
        if self._use_state:
            state = np.asarray(self.envs[i].state(), dtype=np.float32).reshape(-1)
            if state.size != self.state_size:
                raise ValueError(
                    f"{type(self.envs[i]).__name__}.state() has size {state.size}, expected {self.state_size}"
                )
            self._state[i] = state
        else:
            self._state[i] = self._obs[i].reshape(-1)

    # --- checkpoints (only bound when the sub-envs can be captured as plain data) ----------------
    def _get_state(self) -> dict[str, Any]:
        """All sub-envs (their attributes), generators and current arrays, as plain data."""
        return {
            "num_envs": self.num_envs,
            "envs": capture_object(self.envs, "envs"),
            "rngs": [None if rng is None else rng.bit_generator.state for rng in self._rngs],
            "obs": self._obs.copy(),
            "mask": self._mask.copy(),
            "state": self._state.copy(),
            "started": self._started,
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        if int(state["num_envs"]) != self.num_envs:
            raise ValueError(f"state holds {state['num_envs']} envs, this vector env has {self.num_envs}")
        restore_object(self.envs, state["envs"], "envs")
        self._rngs = [None if saved is None else _generator(saved) for saved in state["rngs"]]
        self._obs[...] = state["obs"]
        self._mask[...] = state["mask"]
        self._state[...] = state["state"]
        self._started = bool(state["started"])

    def close(self) -> None:
        for env in self.envs:
            env.close()
        self._started = False


def _generator(state: dict[str, Any]) -> np.random.Generator:
    """A generator in a saved ``bit_generator.state`` (PCG64, the ``default_rng`` kind)."""
    rng = np.random.default_rng()
    rng.bit_generator.state = state
    return rng


def _won(info: Any) -> bool:
    if not isinstance(info, dict):
        return False
    return bool(info.get("battle_won", info.get("won", False)))
