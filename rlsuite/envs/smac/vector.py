"""The batched multi-agent SMAC env for training: ``num_envs`` battles stepped by one numba call.

Arrays are shaped ``[num_envs, n_agents, ...]``:

    env = rlsuite.make_vec("rlsuite/SMAC-3m-v0", 64)      # or SMACVectorEnv("3m", 64)
    obs, info = env.reset(seed=0)        # obs [64, 3, 30]; info["state"] [64, 48], info["action_mask"]
    obs, reward, terminated, truncated, info = env.step(actions)   # actions int [64, 3]

``reward``, ``terminated`` (battle won, lost or drawn) and ``truncated`` (episode limit) are per battle:
SMAC's reward is shared by the team. Autoreset is same-step, as for every rlsuite vector env: a battle
that ends is reset inside ``step``; its last observation, state and mask are in ``info["final_obs"]``,
``info["final_state"]``, ``info["final_action_mask"]`` (rows of the finished battles, others zero) with
``info["_final"]`` marking them. ``info["battle_won"]``, ``info["dead_allies"]``, ``info["dead_enemies"]``
describe the step just played. Actions must be available (``info["action_mask"]``; dead agents take 0).

``team_spec`` (:class:`rlsuite.core.team.TeamSpec`) declares the sizes learners build on.
``entity_features=True`` adds the per-unit rows entity-based learners read (ACE; see
``rlsuite.envs.smac.entities``), declared as ``team_spec.entities``: ``info["entity_state"|"entity_pos"|
"entity_range"|"entity_alive"|"entity_enemy"|"entity_type"|"entity_visible"|"entity_action_mask"|
"entity_action_target"|"healer"]``, and their ``final_`` forms for finished battles.
``downstream={...}`` sets MaskMA's downstream tasks (ally malfunction, ad hoc joining;
:mod:`rlsuite.envs.smac.downstream`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode

from rlsuite.core.team import TeamSpec
from rlsuite.envs.batched import (
    EnvStreams,
    check_positive_int,
    check_team_actions,
    pop_reset_mask,
    team_env_info,
)
from rlsuite.envs.inputs import check_reset_options
from rlsuite.envs.smac import observe
from rlsuite.envs.smac.battle import Battles, Scenario, split_options
from rlsuite.envs.smac.downstream import Downstream, DownstreamOptions
from rlsuite.envs.smac.entities import entity_arrays, smac_entity_spec
from rlsuite.envs.smac.maps import MapSpec


class SMACVectorEnv:
    """``num_envs`` SMAC battles of one map with batched arrays and same-step autoreset."""

    metadata: ClassVar[dict[str, Any]] = {
        "autoreset_mode": AutoresetMode.SAME_STEP,
        "render_modes": [],
        "render_fps": 8,  # frames of render_frame per second in videos (a step is 8 game loops)
    }
    # When true, ``step`` puts each finished battle's last frame in ``info["final_frames"]`` (videos).
    render_final_frames: bool = False

    def __init__(
        self,
        map_name: str | MapSpec = "3m",
        num_envs: int = 1,
        scenario: Scenario | None = None,
        entity_features: bool = False,
        downstream: DownstreamOptions | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.num_envs = check_positive_int("num_envs", num_envs)
        self.entity_features = bool(entity_features)
        options, game_kwargs = split_options(kwargs)
        self._seed = game_kwargs.get("seed")
        self.battles = Battles(map_name, self.num_envs, options, scenario=scenario)
        lay = self.battles.layout
        self.map_name = self.battles.spec.name
        self.n_agents, self.n_enemies, self.n_actions = lay.n_agents, lay.n_enemies, lay.n_actions
        self.obs_size, self.state_size = lay.obs_size, lay.state_size
        self.episode_limit = self.battles.episode_limit
        self.single_observation_space = spaces.Box(-np.inf, np.inf, (self.obs_size,), np.float32)
        self.single_action_space = spaces.Discrete(self.n_actions)
        self.state_space = spaces.Box(-np.inf, np.inf, (self.state_size,), np.float32)
        self.team_spec = TeamSpec(
            self.n_agents,
            self.n_actions,
            self.obs_size,
            self.state_size,
            self.episode_limit,
            entities=smac_entity_spec(self.battles.spec) if self.entity_features else None,
        )
        self._started = False
        self._avail: np.ndarray | None = None
        options_ = DownstreamOptions.parse(downstream)
        self.downstream = Downstream(options_, self.battles) if options_ and options_.active else None

    @property
    def streams(self) -> EnvStreams:
        return self.battles.streams

    def get_env_info(self) -> dict[str, Any]:
        """SMAC's ``get_env_info`` keys, plus ``num_envs``."""
        return team_env_info(self)

    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset all battles (or those in ``options["reset_mask"]``). ``seed=s`` seeds battle ``i`` with
        ``s + i``; a list gives one seed (or None) per battle."""
        mask = pop_reset_mask(check_reset_options(options), self.num_envs)
        self.streams.seed_for_reset(seed, self._seed)
        self.battles.reset(mask)
        if self.downstream is not None:
            self.downstream.after_reset(mask)
        self._started = True
        return self._observe({})

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if not self._started:
            raise RuntimeError("call reset() before step()")
        actions = check_team_actions(actions, self._avail, env_word="battle")
        active = np.ones(self.num_envs, dtype=np.bool_)
        if self.downstream is not None:
            actions = self.downstream.override_actions(actions)
        result = self.battles.step(actions, active)
        terminated = result["end_code"] != observe.END_NONE
        truncated = result["timeout"]
        info: dict[str, Any] = {
            "battle_won": result["end_code"] == observe.END_WON,
            "dead_allies": result["dead_allies"],
            "dead_enemies": result["dead_enemies"],
        }
        done = terminated | truncated
        if self.downstream is not None:
            self.downstream.after_step(~done)
        self._avail = None
        if done.any():
            avail = self.battles.avail_actions()
            obs = self.battles.obs(avail)
            info["final_obs"] = np.where(done[:, None, None], obs, 0.0).astype(np.float32)
            info["final_state"] = np.where(done[:, None], self.battles.state(obs), 0.0).astype(np.float32)
            info["final_action_mask"] = np.where(done[:, None, None], avail, 0).astype(bool)
            info["_final"] = done.copy()
            if self.entity_features:
                for key, value in entity_arrays(self.battles, avail).items():
                    info[f"final_{key}"] = value
            if self.render_final_frames:  # video recording: the last frame, before the autoreset
                info["final_frames"] = {int(i): self.render_frame(int(i)) for i in np.flatnonzero(done)}
            self.battles.reset(done)
            if self.downstream is not None:
                self.downstream.after_reset(done)
        obs, info = self._observe(info)
        return obs, result["reward"].astype(np.float32), terminated, truncated, info

    def _observe(self, info: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
        avail = self.battles.avail_actions()
        if self.downstream is not None:
            avail = self.downstream.restrict_mask(avail)
        self._avail = avail
        obs = self.battles.obs(avail)
        info["state"] = self.battles.state(obs)
        info["action_mask"] = avail.astype(bool)
        if self.entity_features:
            info.update(entity_arrays(self.battles, avail))
        return obs, info

    def render_frame(self, index: int = 0) -> np.ndarray:
        """A top-down RGB frame of battle ``index`` (:mod:`rlsuite.envs.smac.render`)."""
        from rlsuite.envs.smac.render import render_frame

        return render_frame(self.battles, index)

    def get_state(self) -> dict[str, np.ndarray]:
        """All battles' state for checkpoints (``set_state`` restores it, streams included)."""
        return self.battles.get_state()

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        self.battles.set_state(state)
        self._started = True
        self._avail = self.battles.avail_actions()

    def close(self) -> None:
        self._started = False
