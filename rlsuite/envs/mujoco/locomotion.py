"""Locomotion tasks: Gymnasium's HalfCheetah-v5, Hopper-v5, Walker2d-v5, Swimmer-v5, Ant-v5, Humanoid-v5.

Each class restates its Gymnasium env's defaults and maths over ``(N, ...)`` arrays; see
``gymnasium/envs/mujoco/<task>_v5.py`` for the single-env originals.
"""

from __future__ import annotations

from typing import Any, ClassVar

import mujoco
import numpy as np

from rlsuite.envs.mujoco.tasks import Fields, Task, between, ctrl_cost, join, norm_rows


def _xy_info(qpos: np.ndarray) -> dict[str, np.ndarray]:
    """``x_position``, ``y_position``, ``distance_from_origin`` of the root (qpos[0:2])."""
    return {
        "x_position": qpos[:, 0].copy(),
        "y_position": qpos[:, 1].copy(),
        "distance_from_origin": norm_rows(qpos[:, 0:2]),
    }


class HalfCheetah(Task):
    name = "HalfCheetah"
    defaults: ClassVar[dict[str, Any]] = {
        "xml_file": "half_cheetah.xml",
        "frame_skip": 5,
        "default_camera_config": {"distance": 4.0},
        "forward_reward_weight": 1.0,
        "ctrl_cost_weight": 0.1,
        "reset_noise_scale": 0.1,
        "exclude_current_positions_from_observation": True,
    }

    def position(self, f: Fields) -> np.ndarray:
        return f["qpos"][:, 0:1].copy()

    def observe(self, f: Fields) -> np.ndarray:
        return f.qpos_qvel(int(bool(self.p["exclude_current_positions_from_observation"])))

    def evaluate(self, f, action, velocity):
        x_velocity = velocity[:, 0]
        forward_reward = self.p["forward_reward_weight"] * x_velocity
        ctrl = ctrl_cost(self.p["ctrl_cost_weight"], action)
        info = {"x_position": f["qpos"][:, 0].copy(), "x_velocity": x_velocity}
        info.update(reward_forward=forward_reward, reward_ctrl=-ctrl)
        return forward_reward - ctrl, None, info

    def reset_state(self, rng):
        return self.noisy_state(rng, "normal")

    def reset_info(self, f):
        return {"x_position": f["qpos"][:, 0].copy()}


class Hopper(Task):
    name = "Hopper"
    defaults: ClassVar[dict[str, Any]] = {
        "xml_file": "hopper.xml",
        "frame_skip": 4,
        "default_camera_config": {
            "trackbodyid": 2,
            "distance": 3.0,
            "lookat": np.array((0.0, 0.0, 1.15)),
            "elevation": -20.0,
        },
        "forward_reward_weight": 1.0,
        "ctrl_cost_weight": 1e-3,
        "healthy_reward": 1.0,
        "terminate_when_unhealthy": True,
        "healthy_state_range": (-100.0, 100.0),
        "healthy_z_range": (0.7, float("inf")),
        "healthy_angle_range": (-0.2, 0.2),
        "reset_noise_scale": 5e-3,
        "exclude_current_positions_from_observation": True,
    }

    def is_healthy(self, f: Fields) -> np.ndarray:
        qpos = f["qpos"]
        state = np.concatenate((qpos, f["qvel"]), axis=1)[:, 2:]
        healthy_state = between(state, self.p["healthy_state_range"]).all(axis=1)
        healthy_z = between(qpos[:, 1], self.p["healthy_z_range"])
        return healthy_state & healthy_z & between(qpos[:, 2], self.p["healthy_angle_range"])

    def position(self, f: Fields) -> np.ndarray:
        return f["qpos"][:, 0:1].copy()

    def observe(self, f: Fields) -> np.ndarray:
        obs = f.qpos_qvel(int(bool(self.p["exclude_current_positions_from_observation"])))
        velocity = obs[:, obs.shape[1] - self.model.nv :]
        np.clip(velocity, -10, 10, out=velocity)
        return obs

    def evaluate(self, f, action, velocity):
        x_velocity = velocity[:, 0]
        healthy = self.is_healthy(f)
        forward_reward = self.p["forward_reward_weight"] * x_velocity
        healthy_reward = healthy * self.p["healthy_reward"]
        ctrl = ctrl_cost(self.p["ctrl_cost_weight"], action)
        reward = (forward_reward + healthy_reward) - ctrl
        terminated = ~healthy & bool(self.p["terminate_when_unhealthy"])
        info = self.reset_info(f)
        info.update(x_velocity=x_velocity, reward_forward=forward_reward, reward_ctrl=-ctrl)
        info["reward_survive"] = healthy_reward
        return reward, terminated, info

    def scalar_types(self):
        # Gymnasium's Hopper.is_healthy is a Python bool (``all(...)``), so ``is_healthy * healthy_reward``
        # has the weight's Python type; Walker2d's is a numpy bool (float64), hence its override.
        return {"reward_survive": type(True * self.p["healthy_reward"])}

    def reset_state(self, rng):
        return self.noisy_state(rng, "uniform")

    def reset_info(self, f):
        qpos = f["qpos"]
        return {"x_position": qpos[:, 0].copy(), "z_distance_from_origin": qpos[:, 1] - self.init_qpos[1]}


class Walker2d(Hopper):
    name = "Walker2d"
    defaults: ClassVar[dict[str, Any]] = {
        "xml_file": "walker2d_v5.xml",
        "frame_skip": 4,
        "default_camera_config": {
            "trackbodyid": 2,
            "distance": 4.0,
            "lookat": np.array((0.0, 0.0, 1.15)),
            "elevation": -20.0,
        },
        "forward_reward_weight": 1.0,
        "ctrl_cost_weight": 1e-3,
        "healthy_reward": 1.0,
        "terminate_when_unhealthy": True,
        "healthy_z_range": (0.8, 2.0),
        "healthy_angle_range": (-1.0, 1.0),
        "reset_noise_scale": 5e-3,
        "exclude_current_positions_from_observation": True,
    }

    def is_healthy(self, f: Fields) -> np.ndarray:
        qpos = f["qpos"]
        healthy_z = between(qpos[:, 1], self.p["healthy_z_range"])
        return healthy_z & between(qpos[:, 2], self.p["healthy_angle_range"])

    def scalar_types(self):
        return {}  # numpy bool * healthy_reward: numpy float64, as the core's values


class Swimmer(Task):
    name = "Swimmer"
    defaults: ClassVar[dict[str, Any]] = {
        "xml_file": "swimmer.xml",
        "frame_skip": 4,
        "default_camera_config": None,
        "forward_reward_weight": 1.0,
        "ctrl_cost_weight": 1e-4,
        "reset_noise_scale": 0.1,
        "exclude_current_positions_from_observation": True,
    }

    def position(self, f: Fields) -> np.ndarray:
        return f["qpos"][:, 0:2].copy()

    def observe(self, f: Fields) -> np.ndarray:
        return f.qpos_qvel(2 * int(bool(self.p["exclude_current_positions_from_observation"])))

    def evaluate(self, f, action, velocity):
        forward_reward = self.p["forward_reward_weight"] * velocity[:, 0]
        ctrl = ctrl_cost(self.p["ctrl_cost_weight"], action)
        info = _xy_info(f["qpos"])
        info.update(x_velocity=velocity[:, 0], y_velocity=velocity[:, 1])
        info.update(reward_forward=forward_reward, reward_ctrl=-ctrl)
        return forward_reward - ctrl, None, info

    def reset_state(self, rng):
        return self.noisy_state(rng, "uniform")

    def reset_info(self, f):
        return _xy_info(f["qpos"])


class Ant(Task):
    name = "Ant"
    defaults: ClassVar[dict[str, Any]] = {
        "xml_file": "ant.xml",
        "frame_skip": 5,
        "default_camera_config": {"distance": 4.0},
        "forward_reward_weight": 1,
        "ctrl_cost_weight": 0.5,
        "contact_cost_weight": 5e-4,
        "healthy_reward": 1.0,
        "main_body": 1,
        "terminate_when_unhealthy": True,
        "healthy_z_range": (0.2, 1.0),
        "contact_force_range": (-1.0, 1.0),
        "reset_noise_scale": 0.1,
        "exclude_current_positions_from_observation": True,
        "include_cfrc_ext_in_observation": True,
    }
    outputs = ("xpos", "cfrc_ext")
    rne_post = True

    def __init__(self, model: mujoco.MjModel, params: dict[str, Any]) -> None:
        super().__init__(model, params)
        self.main_body = self.body_id(params["main_body"])

    def contact_forces(self, f: Fields) -> np.ndarray:
        return f.memo("contact_forces", lambda: np.clip(f["cfrc_ext"], *self.p["contact_force_range"]))

    def position(self, f: Fields) -> np.ndarray:
        return f["xpos"][:, self.main_body, :2].copy()

    def observe(self, f: Fields) -> np.ndarray:
        skip = 2 * int(bool(self.p["exclude_current_positions_from_observation"]))
        parts = [f["qpos_qvel"][:, skip:]]
        if self.p["include_cfrc_ext_in_observation"]:
            parts.append(self.contact_forces(f)[:, 1:])
        return join(*parts)

    def evaluate(self, f, action, velocity):
        qpos = f["qpos"]
        state = np.concatenate((qpos, f["qvel"]), axis=1)
        healthy = np.isfinite(state).all(axis=1) & between(qpos[:, 2], self.p["healthy_z_range"], True)
        forward_reward = velocity[:, 0] * self.p["forward_reward_weight"]
        healthy_reward = healthy * self.p["healthy_reward"]
        ctrl = ctrl_cost(self.p["ctrl_cost_weight"], action)
        forces = self.contact_forces(f)
        contact = self.p["contact_cost_weight"] * np.square(forces.reshape(len(forces), -1)).sum(axis=1)
        reward = (forward_reward + healthy_reward) - (ctrl + contact)
        terminated = ~healthy & bool(self.p["terminate_when_unhealthy"])
        info = _xy_info(qpos)
        info.update(x_velocity=velocity[:, 0], y_velocity=velocity[:, 1], reward_forward=forward_reward)
        info.update(reward_ctrl=-ctrl, reward_contact=-contact, reward_survive=healthy_reward)
        return reward, terminated, info

    def reset_state(self, rng):
        return self.noisy_state(rng, "normal")

    def reset_info(self, f):
        return _xy_info(f["qpos"])


class Humanoid(Task):
    name = "Humanoid"
    defaults: ClassVar[dict[str, Any]] = {
        "xml_file": "humanoid.xml",
        "frame_skip": 5,
        "default_camera_config": {
            "trackbodyid": 1,
            "distance": 4.0,
            "lookat": np.array((0.0, 0.0, 2.0)),
            "elevation": -20.0,
        },
        "forward_reward_weight": 1.25,
        "ctrl_cost_weight": 0.1,
        "contact_cost_weight": 5e-7,
        "contact_cost_range": (-np.inf, 10.0),
        "healthy_reward": 5.0,
        "terminate_when_unhealthy": True,
        "healthy_z_range": (1.0, 2.0),
        "reset_noise_scale": 1e-2,
        "exclude_current_positions_from_observation": True,
        "include_cinert_in_observation": True,
        "include_cvel_in_observation": True,
        "include_qfrc_actuator_in_observation": True,
        "include_cfrc_ext_in_observation": True,
    }
    outputs = ("xipos", "cinert", "cvel", "qfrc_actuator", "cfrc_ext", "ten_length", "ten_velocity")
    rne_post = True

    def position(self, f: Fields) -> np.ndarray:
        """``mass_center``: ``einsum("b,bj->j", body_mass, xipos) / body_mass.sum()``, summed over bodies
        in order as einsum sums them."""
        xipos, mass = f["xipos"], self.model.body_mass
        num = 0.0 + mass[0] * xipos[:, 0]
        for b in range(1, len(mass)):
            num = num + mass[b] * xipos[:, b]
        return (num / mass.sum())[:, 0:2]

    def observe(self, f: Fields) -> np.ndarray:
        skip = 2 * int(bool(self.p["exclude_current_positions_from_observation"]))
        parts = [f["qpos_qvel"][:, skip:]]
        optional = (("cinert", 1), ("cvel", 1), ("qfrc_actuator", 6), ("cfrc_ext", 1))
        for field, start in optional:
            if self.p[f"include_{field}_in_observation"]:
                parts.append(f[field][:, start:])
        return join(*parts)

    def evaluate(self, f, action, velocity):
        qpos = f["qpos"]
        healthy = between(qpos[:, 2], self.p["healthy_z_range"])
        forward_reward = self.p["forward_reward_weight"] * velocity[:, 0]
        healthy_reward = healthy * self.p["healthy_reward"]
        ctrl = ctrl_cost(self.p["ctrl_cost_weight"], f["ctrl"])  # Gymnasium uses data.ctrl here
        cfrc = f["cfrc_ext"]
        contact = self.p["contact_cost_weight"] * np.square(cfrc.reshape(len(cfrc), -1)).sum(axis=1)
        contact = np.clip(contact, *self.p["contact_cost_range"])
        reward = (forward_reward + healthy_reward) - (ctrl + contact)
        terminated = ~healthy & bool(self.p["terminate_when_unhealthy"])
        info = self.reset_info(f)
        info.update(x_velocity=velocity[:, 0], y_velocity=velocity[:, 1], reward_survive=healthy_reward)
        info.update(reward_forward=forward_reward, reward_ctrl=-ctrl, reward_contact=-contact)
        return reward, terminated, info

    def reset_state(self, rng):
        return self.noisy_state(rng, "uniform")

    def reset_info(self, f):
        qpos = f["qpos"]
        info = {"x_position": qpos[:, 0].copy(), "y_position": qpos[:, 1].copy()}
        info.update(tendon_length=f["ten_length"].copy(), tendon_velocity=f["ten_velocity"].copy())
        info["distance_from_origin"] = norm_rows(qpos[:, 0:2])
        return info
