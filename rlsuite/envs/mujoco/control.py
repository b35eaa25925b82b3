"""Arm and balance tasks: Gymnasium's Reacher-v5, Pusher-v5, InvertedPendulum-v5, InvertedDoublePendulum-v5.

Each class restates its Gymnasium env's defaults and maths over ``(N, ...)`` arrays; see
``gymnasium/envs/mujoco/<task>_v5.py`` for the single-env originals.
"""

from __future__ import annotations

from typing import Any, ClassVar

import mujoco
import numpy as np

from rlsuite.envs.mujoco.tasks import Fields, Task, join, norm_rows


class Reacher(Task):
    name = "Reacher"
    defaults: ClassVar[dict[str, Any]] = {
        "xml_file": "reacher.xml",
        "frame_skip": 2,
        "default_camera_config": {"trackbodyid": 0},
        "reward_dist_weight": 1,
        "reward_control_weight": 1,
    }
    max_episode_steps = 50
    outputs = ("xpos",)

    def __init__(self, model: mujoco.MjModel, params: dict[str, Any]) -> None:
        super().__init__(model, params)
        self.fingertip, self.target = self.body_id("fingertip"), self.body_id("target")

    def to_target(self, f: Fields) -> np.ndarray:
        xpos = f["xpos"]
        return xpos[:, self.fingertip] - xpos[:, self.target]

    def observe(self, f: Fields) -> np.ndarray:
        qpos, theta = f["qpos"], f["qpos"][:, :2]
        return join(np.cos(theta), np.sin(theta), qpos[:, 2:], f["qvel"][:, :2], self.to_target(f)[:, :2])

    def evaluate(self, f, action, velocity):
        reward_dist = -norm_rows(self.to_target(f)) * self.p["reward_dist_weight"]
        reward_ctrl = -np.square(action).sum(axis=1) * self.p["reward_control_weight"]
        return reward_dist + reward_ctrl, None, {"reward_dist": reward_dist, "reward_ctrl": reward_ctrl}

    def reset_state(self, rng):
        qpos = rng.uniform(low=-0.1, high=0.1, size=self.model.nq) + self.init_qpos
        while True:
            goal = rng.uniform(low=-0.2, high=0.2, size=2)
            if np.linalg.norm(goal) < 0.2:
                break
        qpos[-2:] = goal
        qvel = self.init_qvel + rng.uniform(low=-0.005, high=0.005, size=self.model.nv)
        qvel[-2:] = 0
        return qpos, qvel


class Pusher(Task):
    name = "Pusher"
    defaults: ClassVar[dict[str, Any]] = {
        "xml_file": "pusher_v5.xml",
        "frame_skip": 5,
        "default_camera_config": {"trackbodyid": -1, "distance": 4.0},
        "reward_near_weight": 0.5,
        "reward_dist_weight": 1,
        "reward_control_weight": 0.1,
    }
    max_episode_steps = 100
    outputs = ("xpos",)

    def __init__(self, model: mujoco.MjModel, params: dict[str, Any]) -> None:
        super().__init__(model, params)
        self.bodies = [self.body_id(name) for name in ("tips_arm", "object", "goal")]

    def observe(self, f: Fields) -> np.ndarray:
        xpos = f["xpos"]
        return join(f["qpos"][:, :7], f["qvel"][:, :7], *(xpos[:, b] for b in self.bodies))

    def evaluate(self, f, action, velocity):
        xpos = f["xpos"]
        tips, obj, goal = (xpos[:, b] for b in self.bodies)
        reward_near = -norm_rows(obj - tips) * self.p["reward_near_weight"]
        reward_dist = -norm_rows(obj - goal) * self.p["reward_dist_weight"]
        reward_ctrl = -np.square(action).sum(axis=1) * self.p["reward_control_weight"]
        reward = reward_dist + reward_ctrl + reward_near
        return (
            reward,
            None,
            {"reward_dist": reward_dist, "reward_ctrl": reward_ctrl, "reward_near": reward_near},
        )

    def reset_state(self, rng):
        qpos = self.init_qpos.copy()  # Gymnasium edits init_qpos in place; only these entries change
        goal_pos = np.asarray([0, 0])
        while True:
            cylinder_pos = np.concatenate(
                [rng.uniform(low=-0.3, high=0, size=1), rng.uniform(low=-0.2, high=0.2, size=1)]
            )
            if np.linalg.norm(cylinder_pos - goal_pos) > 0.17:
                break
        qpos[-4:-2] = cylinder_pos
        qpos[-2:] = goal_pos
        qvel = self.init_qvel + rng.uniform(low=-0.005, high=0.005, size=self.model.nv)
        qvel[-4:] = 0
        return qpos, qvel


class InvertedPendulum(Task):
    name = "InvertedPendulum"
    defaults: ClassVar[dict[str, Any]] = {
        "xml_file": "inverted_pendulum.xml",
        "frame_skip": 2,
        "default_camera_config": {"trackbodyid": 0, "distance": 2.04},
        "reset_noise_scale": 0.01,
    }

    def observe(self, f: Fields) -> np.ndarray:
        return f.qpos_qvel()

    def evaluate(self, f, action, velocity):
        obs = self.observe(f)
        terminated = ~np.isfinite(obs).all(axis=1) | (np.abs(obs[:, 1]) > 0.2)
        reward = (~terminated).astype(np.int64)  # int(not terminated)
        return reward, terminated, {"reward_survive": reward.copy()}

    def scalar_types(self):
        return {"reward": int, "reward_survive": int}  # int(not terminated)

    def reset_state(self, rng):
        return self.noisy_state(rng, "uniform")


class InvertedDoublePendulum(Task):
    name = "InvertedDoublePendulum"
    defaults: ClassVar[dict[str, Any]] = {
        "xml_file": "inverted_double_pendulum.xml",
        "frame_skip": 5,
        "default_camera_config": None,
        "healthy_reward": 10.0,
        "reset_noise_scale": 0.1,
    }
    outputs = ("site_xpos", "qfrc_constraint")

    def observe(self, f: Fields) -> np.ndarray:
        qpos = f["qpos"]
        return join(
            qpos[:, :1],
            np.sin(qpos[:, 1:]),
            np.cos(qpos[:, 1:]),
            np.clip(f["qvel"], -10, 10),
            np.clip(f["qfrc_constraint"], -10, 10)[:, :1],
        )

    def evaluate(self, f, action, velocity):
        tip = f["site_xpos"][:, 0]
        x, y = tip[:, 0], tip[:, 2]
        terminated = y <= 1
        qvel = f["qvel"]
        v1, v2 = qvel[:, 1], qvel[:, 2]
        # Gymnasium squares numpy scalars, ``x ** 2``, which calls libm's pow(); float_power does the same per
        # element (an array's ``** 2`` is ``x * x``, which differs from pow() in the last bit now and then).
        dist_penalty = 0.01 * np.float_power(x, 2) + np.float_power(y - 2, 2)
        vel_penalty = 1e-3 * np.float_power(v1, 2) + 5e-3 * np.float_power(v2, 2)
        alive_bonus = self.p["healthy_reward"] * (~terminated).astype(np.int64)
        reward = alive_bonus - dist_penalty - vel_penalty
        info = {"reward_survive": alive_bonus, "distance_penalty": -dist_penalty}
        info["velocity_penalty"] = -vel_penalty
        return reward, terminated, info

    def scalar_types(self):
        return {"reward_survive": type(self.p["healthy_reward"] * 1)}  # healthy_reward * int(not terminated)

    def reset_state(self, rng):
        scale = self.p["reset_noise_scale"]
        qpos = self.init_qpos + rng.uniform(low=-scale, high=scale, size=self.model.nq)
        qvel = self.init_qvel + rng.standard_normal(self.model.nv) * scale
        return qpos, qvel
