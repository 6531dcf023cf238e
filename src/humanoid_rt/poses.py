"""Pose helpers on Pinocchio: rotation matrix or axis-angle -> unit quaternion, slerp, pose parsing.

The API's quaternions are (w, x, y, z), as in the teleop protocol, skill files and
`Robot.set_frame_target`; the live view's link transforms use (x, y, z, w), as Foxglove does.
Pinocchio's `Quaternion` takes (w, x, y, z) as four scalars and stores (x, y, z, w) in `coeffs()`;
this module is the one place that converts, so callers never touch component order.

Pinocchio is imported with this module, not on first use: the first set_frame_target() of a streaming
loop must not stall for the import (~0.3 s, longer than a stream's watchdog TTL).
"""

from __future__ import annotations

import numpy as np
import pinocchio as pin

__all__ = ["axis_angle_wxyz", "pose_parts", "quaternion_wxyz", "quaternions_xyzw", "slerp_wxyz"]

# How far from orthonormal (R R^T - I, elementwise) a matrix may be and still count as a rotation.
ROTATION_TOLERANCE = 1e-6


def _check_rotation(rotation: np.ndarray, field: str) -> np.ndarray:
    rotation = np.asarray(rotation, dtype=np.float64)
    if rotation.shape != (3, 3):
        raise ValueError(f"{field}: a 3x3 rotation matrix (got shape {rotation.shape})")
    if not np.allclose(rotation @ rotation.T, np.eye(3), atol=ROTATION_TOLERANCE) or np.linalg.det(rotation) < 0:
        raise ValueError(f"{field}: the 3x3 block is not a rotation matrix")
    return rotation


def quaternion_wxyz(rotation: np.ndarray, field: str = "pose") -> np.ndarray:
    """The unit quaternion (w, x, y, z) of a rotation matrix, w >= 0; ValueError naming `field` if not a rotation."""
    coeffs = pin.Quaternion(_check_rotation(rotation, field)).coeffs()  # x, y, z, w
    quaternion = np.array([coeffs[3], coeffs[0], coeffs[1], coeffs[2]])
    quaternion /= np.linalg.norm(quaternion)
    return -quaternion if quaternion[0] < 0 else quaternion


def axis_angle_wxyz(axis, angle: float) -> np.ndarray:
    """The unit quaternion (w, x, y, z) of a rotation by `angle` [rad] about `axis` (exp of the rotation vector)."""
    axis = np.asarray(axis, dtype=np.float64)
    return quaternion_wxyz(pin.exp3(axis / np.linalg.norm(axis) * float(angle)), "axis_angle")


def quaternions_xyzw(rotations: np.ndarray) -> np.ndarray:
    """Unit quaternions (x, y, z, w), w >= 0, of rotation matrices (k, 3, 3): the live view's order."""
    Quaternion = pin.Quaternion
    out = np.array([Quaternion(rotation).coeffs() for rotation in np.asarray(rotations, dtype=np.float64)],
                   dtype=np.float64).reshape(-1, 4)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    out[out[:, 3] < 0] *= -1.0
    return out


def slerp_wxyz(start: np.ndarray, end: np.ndarray, fraction: float) -> np.ndarray:
    """Spherical interpolation between unit quaternions (w, x, y, z), along the shorter arc."""
    a = pin.Quaternion(*map(float, start))
    b = pin.Quaternion(*map(float, end))
    coeffs = a.slerp(float(fraction), b).coeffs()  # Eigen's slerp takes the shorter arc
    quaternion = np.array([coeffs[3], coeffs[0], coeffs[1], coeffs[2]])
    return quaternion / np.linalg.norm(quaternion)


def pose_parts(pose) -> tuple[np.ndarray, np.ndarray]:
    """(position, unit quaternion w-x-y-z) from a 4x4 matrix (or pinocchio.SE3) or a (position, quaternion) pair."""
    if isinstance(pose, pin.SE3):
        pose = pose.homogeneous
    if isinstance(pose, (tuple, list)) and len(pose) == 2:
        position = np.asarray(pose[0], dtype=np.float64)
        quaternion = np.asarray(pose[1], dtype=np.float64)
    else:
        matrix = np.asarray(pose, dtype=np.float64)
        if matrix.shape != (4, 4):
            raise ValueError(f"pose: a 4x4 homogeneous matrix or (position[3], quaternion[4] w-x-y-z) "
                             f"(got shape {matrix.shape})")
        position = matrix[:3, 3]
        quaternion = quaternion_wxyz(matrix[:3, :3])
    if position.shape != (3,) or quaternion.shape != (4,):
        raise ValueError("pose: position must have 3 values and quaternion 4 (w, x, y, z)")
    if not (np.all(np.isfinite(position)) and np.all(np.isfinite(quaternion))):
        raise ValueError("pose: must be finite")
    norm = np.linalg.norm(quaternion)
    if not 0.5 < norm < 1.5:
        raise ValueError(f"pose: quaternion must be close to unit length (got norm {norm:.3g})")
    return position, quaternion / norm
