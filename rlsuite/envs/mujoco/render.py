"""``rgb_array`` frames of one simulation of a batch, with Gymnasium's v5 camera conventions.

Gymnasium's ``MujocoRenderer`` renders from the free camera unless ``camera_id``/``camera_name`` names a
model camera; the free camera starts at the median of the geoms' positions at the first render, at the
model's extent as distance, and then takes the task's ``default_camera_config``. The same is done here
with ``mujoco.Renderer`` on an ``MjData`` filled from the batch (``mjb_getData``; a rendering env's batch
keeps whole ``mjData``s, so the frame shows them as ``mj_step`` leaves them, exactly as Gymnasium draws them).
Headless machines need ``MUJOCO_GL=egl`` (or ``osmesa``).
"""

from __future__ import annotations

from typing import Any

import mujoco
import numpy as np

from rlsuite.envs.mujoco._cbatch import CBatch


class FrameRenderer:
    """Renders simulation ``sim`` of a batch; the GL context is created on the first frame."""

    def __init__(self, model: mujoco.MjModel, params: dict[str, Any]) -> None:
        self.model = model
        self.width, self.height = int(params["width"]), int(params["height"])
        self.max_geom = params["max_geom"]
        self.camera_config = params["default_camera_config"]
        self.option = mujoco.MjvOption()
        for flag, value in (params["visual_options"] or {}).items():
            self.option.flags[flag] = value
        self.camera_id = _camera_id(model, params["camera_id"], params["camera_name"])
        self.data = mujoco.MjData(model)
        self._renderer: mujoco.Renderer | None = None
        self._camera: mujoco.MjvCamera | None = None

    def render(self, batch: CBatch, sim: int = 0) -> np.ndarray:
        """A ``uint8 (height, width, 3)`` frame of simulation ``sim``'s current state."""
        batch.get_data(sim, self.data)
        if not batch.persistent:  # only the state was kept: recompute the kinematics
            mujoco.mj_forward(self.model, self.data)
        if self._renderer is None:
            self._renderer = mujoco.Renderer(self.model, self.height, self.width, self.max_geom)
            self._camera = self._make_camera()
        self._renderer.update_scene(self.data, camera=self._camera, scene_option=self.option)
        return self._renderer.render()

    def _make_camera(self) -> mujoco.MjvCamera:
        camera = mujoco.MjvCamera()
        if self.camera_id == -1:
            camera.type = mujoco.mjtCamera.mjCAMERA_FREE
            camera.fixedcamid = -1
            for i in range(3):
                camera.lookat[i] = np.median(self.data.geom_xpos[:, i])
            camera.distance = self.model.stat.extent
            for key, value in (self.camera_config or {}).items():
                if isinstance(value, np.ndarray):
                    getattr(camera, key)[:] = value
                else:
                    setattr(camera, key, value)
        else:
            camera.type = mujoco.mjtCamera.mjCAMERA_FIXED
            camera.fixedcamid = self.camera_id
        return camera

    def close(self) -> None:
        renderer, self._renderer = self._renderer, None
        if renderer is not None:
            renderer.close()


def _camera_id(model: mujoco.MjModel, camera_id: int | None, camera_name: str | None) -> int:
    """``MujocoRenderer``'s camera choice: the free camera (-1) unless one is named or numbered."""
    if camera_id is not None:
        return int(camera_id)
    if camera_name is None:
        return -1  # Gymnasium looks up "track" but then forces the free camera
    return mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, camera_name)
