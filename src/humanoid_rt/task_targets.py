"""Cartesian task targets: gains (stiffness, critically damped by default) and poses checked and
normalised, for Robot.set_frame_target() and the teleop receiver's frame poses."""

from __future__ import annotations

import numpy as np

# Default Cartesian task gains: stiffness [N/m, Nm/rad] and the damping that makes a
# 2 kg / 0.05 kg m^2 effective load critically damped (D = 2 sqrt(K m)).
DEFAULT_TASK_STIFFNESS = (1000.0, 60.0)
_TASK_EFFECTIVE_INERTIA = (2.0, 0.05)


def _six(value, name: str) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64).reshape(-1)
    if array.shape == (2,):
        array = np.repeat(array, 3)
    if array.shape != (6,) or not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ValueError(f"{name}: 6 finite values >= 0 [x, y, z, rx, ry, rz] or (translational, rotational) "
                         f"(got {value!r})")
    return array


def task_gains(stiffness=None, damping=None, prefix: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Cartesian task stiffness and damping (6 values each); damping defaults to critical for a nominal load."""
    stiffness = _six(DEFAULT_TASK_STIFFNESS if stiffness is None else stiffness, prefix + "stiffness")
    if damping is None:
        damping = 2.0 * np.sqrt(stiffness * np.repeat(_TASK_EFFECTIVE_INERTIA, 3))
    return stiffness, _six(damping, prefix + "damping")


def pose_parts(pose) -> tuple[np.ndarray, np.ndarray]:
    """(position, unit quaternion w-x-y-z) from a 4x4 matrix or a (position, quaternion) pair."""
    if isinstance(pose, (tuple, list)) and len(pose) == 2:
        position = np.asarray(pose[0], dtype=np.float64)
        quaternion = np.asarray(pose[1], dtype=np.float64)
    else:
        matrix = np.asarray(pose, dtype=np.float64)
        if matrix.shape != (4, 4):
            raise ValueError(f"pose: a 4x4 homogeneous matrix or (position[3], quaternion[4] w-x-y-z) "
                             f"(got shape {matrix.shape})")
        position = matrix[:3, 3]
        quaternion = quaternion_from_matrix(matrix[:3, :3])
    if position.shape != (3,) or quaternion.shape != (4,):
        raise ValueError("pose: position must have 3 values and quaternion 4 (w, x, y, z)")
    if not (np.all(np.isfinite(position)) and np.all(np.isfinite(quaternion))):
        raise ValueError("pose: must be finite")
    norm = np.linalg.norm(quaternion)
    if not 0.5 < norm < 1.5:
        raise ValueError(f"pose: quaternion must be close to unit length (got norm {norm:.3g})")
    return position, quaternion / norm


def quaternion_from_matrix(R: np.ndarray) -> np.ndarray:
    if not np.allclose(R @ R.T, np.eye(3), atol=1e-6) or np.linalg.det(R) < 0:
        raise ValueError("pose: the 3x3 block is not a rotation matrix")
    w = np.sqrt(max(0.0, 1.0 + R[0, 0] + R[1, 1] + R[2, 2])) / 2
    x = np.copysign(np.sqrt(max(0.0, 1.0 + R[0, 0] - R[1, 1] - R[2, 2])) / 2, R[2, 1] - R[1, 2])
    y = np.copysign(np.sqrt(max(0.0, 1.0 - R[0, 0] + R[1, 1] - R[2, 2])) / 2, R[0, 2] - R[2, 0])
    z = np.copysign(np.sqrt(max(0.0, 1.0 - R[0, 0] - R[1, 1] + R[2, 2])) / 2, R[1, 0] - R[0, 1])
    return np.array([w, x, y, z])
