"""Streamed joint motions (skills, action chunks) on a robot standing on the contact QP (issue 13).

The contact QP keeps the centre of mass at its reference (anchored where the robot stood at enable,
moved by `robot.set_com_offset`) and follows the streamed joint setpoints only as a low-weight posture
task. Arms, waist and head are free to follow them. The legs are not: with both feet flat on the floor
and the pelvis kept level, the leg joints fix how high the pelvis stands above the feet. A stream that
bends the knees (the bundled squat skill, a policy that lowers the body to pick a box) with the CoM
reference left at standing height asks for two different bodies, and the weighted QP settles between
them: in the squat the pelvis went 6.5 cm down instead of the legs' 8.0, with the CoM 3.3 cm below its
reference and the legs off their reference (tests/test_standing_streams.py measures it with this fix).

So a stream that moves support joints takes the CoM reference's height along:

    offset_z(q) = offset_z at the start + c(q) - c(q_start)

with c(q) the height of the CoM above the mean of the contact points (model.contacts) at posture q, on
the fixed-base model of the same URDF (pelvis upright: the QP keeps it level). Each streamed setpoint
sends its offset, due when the setpoint is (t_target - now). x and y stay where the QP balances the
robot: the CoM over the support polygon matters more than the skill's recorded lean, and the legs
adjust for it within the posture task.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .floating_base import support_joints

HEIGHT_RESOLUTION_M = 1e-4  # a CoM height change below this is not sent


class ComHeightFollower:
    """Moves the contact QP's CoM reference height with a streamed leg posture (see the module docstring)."""

    def __init__(self, robot):
        import pinocchio

        self.robot = robot
        self._pin = pinocchio
        self._model = pinocchio.buildModelFromUrdf(str(robot.config.urdf_path))
        self._data = self._model.createData()
        self._q_columns = np.array([self._model.joints[self._model.getJointId(name)].idx_q
                                    for name in robot.joint_names])
        self._contact_frames = [self._model.getFrameId(c.frame) for c in robot.config.model.contacts]
        self._contact_offsets = [np.asarray(c.offset, dtype=np.float64) for c in robot.config.model.contacts]
        self._height0 = 0.0
        self._offset0 = np.zeros(3)
        self._sent_height = None  # the last height change sent (None: nothing sent since start())

    @classmethod
    def for_stream(cls, robot, joints: Sequence[str]) -> "ComHeightFollower | None":
        """A follower when `robot` stands on the contact QP and `joints` (the streamed ones) include a support
        joint; None otherwise (a fixed base, stiff legs, or a stream of the upper body only)."""
        if getattr(robot, "standing", None) is None:
            return None
        if not set(joints) & set(support_joints(robot.config)):
            return None
        return cls(robot)

    def height(self, q: np.ndarray) -> float:
        """CoM height above the mean contact point at posture q (config joint order) [m]."""
        pin = self._pin
        full = pin.neutral(self._model)
        full[self._q_columns] = q
        com = pin.centerOfMass(self._model, self._data, full)
        pin.updateFramePlacements(self._model, self._data)
        contacts = [self._data.oMf[frame].act(offset)
                    for frame, offset in zip(self._contact_frames, self._contact_offsets)]
        return float(com[2] - np.mean([point[2] for point in contacts]))

    def start(self, q_start: np.ndarray) -> None:
        """The stream starts from posture q_start with the QP's reference where the robot last put it."""
        self._height0 = self.height(np.asarray(q_start, dtype=np.float64))
        self._offset0 = self.robot.com_offset
        self._sent_height = None

    def follow(self, q: np.ndarray, duration: float) -> None:
        """The CoM reference height for setpoint q, reached in `duration` s (when the setpoint is due). Sent
        only when it changes (by more than 0.1 mm): legs held still leave a slower reference path (a
        set_com_offset of the caller's, still under way) alone."""
        change = self.height(np.asarray(q, dtype=np.float64)) - self._height0
        if self._sent_height is None and abs(change) <= HEIGHT_RESOLUTION_M:
            return
        if self._sent_height is not None and abs(change - self._sent_height) <= HEIGHT_RESOLUTION_M:
            return
        offset = self._offset0.copy()
        offset[2] += change
        self.robot.set_com_offset(offset, max(float(duration), 0.0))
        self._sent_height = change
