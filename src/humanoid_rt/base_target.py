"""A standing robot's pelvis target (issue 13): height offset and orientation on the contact QP.

`Robot.set_base_target(height_offset_m=-0.08, rpy=(0, 0.1, 0), duration=2.0)` moves the pelvis, relative to
where the robot stood at enable (the standing anchor), along a smooth path no faster than
`model.standing.base_target`'s speeds; the contact QP keeps balance meanwhile (the formulas:
cpp/include/humanoid_rt/contact_wbc.hpp). The orientation is roll, pitch, yaw [rad] of the pelvis in the
stance frame (the levelled base at enable, yaw kept; URDF convention R = Rz(yaw) Ry(pitch) Rx(roll)).

Values outside the configured limits raise a ValueError naming the field and the allowed range (teleop's
kind-4 records are clipped to them instead, and counted). A robot that does not stand on the contact QP
(a fixed base, or model.standing.controller: stiff_legs) has nothing that could move its pelvis: the call
raises naming model.base / model.standing.controller. A stop's crouch and the fall behaviour do not run the
QP, so they override the target; the re-anchor at the next enable drops it.
"""

from __future__ import annotations

import math

import numpy as np

_AXES = ("roll", "pitch", "yaw")


def base_target_limits(robot) -> dict:
    """The robot's base target limits (model.standing.base_target) as a plain mapping."""
    limits = robot.config.model.standing.base_target
    return {name: getattr(limits, name) for name in limits.__dataclass_fields__}


def set_base_target(robot, height_offset_m: float = 0.0, rpy=(0.0, 0.0, 0.0), duration: float = 1.0) -> None:
    """Validate against the robot's limits (errors name the field and the allowed range), then hand the target
    to the contact QP (a wait-free buffer into the loop)."""
    standing = _standing_qp(robot)
    limits = robot.config.model.standing.base_target
    height = _finite(height_offset_m, "height_offset_m")
    if not -limits.max_height_down_m <= height <= limits.max_height_up_m:
        raise ValueError(f"height_offset_m: {height!r}; allowed: {-limits.max_height_down_m:g}.."
                         f"{limits.max_height_up_m:g} m (model.standing.base_target.max_height_down_m / "
                         "max_height_up_m)")
    angles = np.asarray(rpy, dtype=np.float64).reshape(-1)
    if angles.shape != (3,):
        raise ValueError(f"rpy: {np.asarray(rpy).tolist()!r}; allowed: three angles roll, pitch, yaw [rad]")
    for index, (axis, value) in enumerate(zip(_AXES, angles.tolist())):
        bound = getattr(limits, f"max_{axis}_rad")
        if not (math.isfinite(value) and abs(value) <= bound):
            raise ValueError(f"rpy[{index}] ({axis}): {value!r}; allowed: -{bound:g}..{bound:g} rad "
                             f"(model.standing.base_target.max_{axis}_rad)")
    duration = _finite(duration, "duration")
    if duration < 0:
        raise ValueError(f"duration: {duration!r}; allowed: a finite number >= 0 [s]")
    standing.set_base_target(height, angles.tolist(), duration)


def _standing_qp(robot):
    if robot.standing is None:
        if not robot.floating:
            raise RuntimeError("set_base_target(): the robot has a fixed base (model.base: fixed), nothing moves "
                               "its pelvis; allowed: model.base: floating with model.standing.controller: contact_qp")
        raise RuntimeError("set_base_target(): the robot stands on model.standing.controller: "
                           f"{robot.standing_controller!r}, which holds the pelvis where it is; allowed: contact_qp")
    return robot.standing


def _finite(value, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: {value!r}; allowed: a finite number") from None
    if not math.isfinite(number):
        raise ValueError(f"{name}: {value!r}; allowed: a finite number")
    return number
