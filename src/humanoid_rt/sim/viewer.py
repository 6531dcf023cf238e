"""A MuJoCo viewer window that mirrors the running robot (the twin, or real hardware).

The viewer never touches the loop: it reads the robot's state snapshot and
poses its own copy of the model (kinematics only) at the display rate.
"""

from __future__ import annotations

import os

import mujoco
import numpy as np

from .mujoco_model import qpos_addresses


def display_available() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class RobotViewer:
    """Opens mujoco's passive viewer on the robot's twin model; call sync() from the main loop."""

    def __init__(self, robot):
        import mujoco.viewer  # imported here: it needs a display stack

        self.robot = robot
        self.model = mujoco.MjModel.from_xml_string(robot.mjcf)
        self.data = mujoco.MjData(self.model)
        self.addresses = qpos_addresses(robot.mjcf, robot.joint_names)
        self.handle = mujoco.viewer.launch_passive(self.model, self.data)

    def sync(self) -> bool:
        """Pose the view at the robot's measured joints; False once the window was closed."""
        if not self.handle.is_running():
            return False
        self.data.qpos[self.addresses] = np.asarray(self.robot.state().q)
        mujoco.mj_kinematics(self.model, self.data)
        self.handle.sync()
        return True

    def close(self) -> None:
        self.handle.close()
