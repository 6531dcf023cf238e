"""Cartesian task gains (stiffness, critically damped by default) for Robot.set_frame_target() and the
teleop receiver's frame poses (the poses themselves: humanoid_rt.poses)."""

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
