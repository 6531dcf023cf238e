"""Stops and fall protection for a standing robot (issue 13): the loop's StandingSafety built from the
config's `floating_base:` section (standing_config.py), and the figures tests and benches read.

The behaviour is C++ and runs inside every cycle (cpp/include/humanoid_rt/standing_safety.hpp: the
crouch trajectory, support, protective fall; fall_detector.hpp: the three fall reasons and their
formulas; safety_supervisor.hpp: how each stop cause picks its category).
"""

from __future__ import annotations

import math

from . import _core
from .config import RobotConfig
from .standing_config import FloatingBaseSafetyConfig

__all__ = ["safety_section", "make_standing_safety", "stop_policy", "tilt_rad"]

_KIND_CODES = {"torque_off": 0, "damp": 1, "crouch": 2}


def safety_section(config: RobotConfig) -> FloatingBaseSafetyConfig:
    """The config's floating_base section, or the defaults when it has none."""
    return config.floating_base if config.floating_base is not None else FloatingBaseSafetyConfig()


def stop_policy(config: RobotConfig) -> list[int]:
    """One stop category code per supervisor reason code (64): the configured cause, else what the
    fixed-base supervisor would do (a fault's own category; torque off otherwise)."""
    section = safety_section(config)
    causes = dict(section.stops.causes)
    policy = []
    for code in range(64):
        name = next((n for n, value in _core.Reason.__members__.items() if int(value) == code), None)
        if name in causes:
            policy.append(_KIND_CODES[causes[name]])
        else:
            policy.append(int(_core.stop_category_for(code)))
    return policy


def make_standing_safety(config: RobotConfig, stiffen_legs: bool = False) -> "_core.StandingSafety":
    """The loop's StandingSafety for this robot (floating base only). stiffen_legs: the robot stands on
    the contact QP with the config's (soft) leg gains, so its crouch stops, which track their trajectory on
    the fixed-base controller, get the stiff-leg gains (floating_base.STANDING_GAIN_SCALE)."""
    section = safety_section(config)
    index = {name: i for i, name in enumerate(config.joint_names)}
    crouch = [math.nan] * config.n_joints
    for name, angle in section.stops.crouch:
        crouch[index[name]] = angle
    tuck = [math.nan] * config.n_joints
    for name, angle in section.fall.tuck:
        tuck[index[name]] = angle
    detector = None
    fall = section.fall
    if fall.enabled:
        options = _core.FallDetectorOptions()
        options.tilt_rad, options.com_margin_m = fall.tilt_rad, fall.com_margin_m
        options.com_cycles, options.contact_loss_cycles = fall.com_cycles, fall.contact_loss_cycles
        options.foot_clearance_m = fall.foot_clearance_m
        soles = [_core.SoleSpec(c.frame, list(c.offset), list(c.sole)) for c in config.model.contacts]
        detector = _core.FallDetector(str(config.urdf_path), list(config.joint_names), soles, options)
    stops = section.stops
    return _core.StandingSafety(config.n_joints, crouch, tuck, stop_policy(config), stops.crouch_velocity_fraction,
                                stops.min_duration_s, stops.settle_s, stops.support_height_m,
                                fall.tuck_stiffness_fraction, fall.protect_time_s, detector,
                                _crouch_stiffness_scale(config) if stiffen_legs else [])


def _crouch_stiffness_scale(config: RobotConfig) -> list[float]:
    from .floating_base import STANDING_GAIN_SCALE, support_joints

    legs = set(support_joints(config))
    return [STANDING_GAIN_SCALE if name in legs else 1.0 for name in config.joint_names]


def tilt_rad(quaternion) -> float:
    """Angle between a body's z axis and world z, from its orientation (w, x, y, z)."""
    w, x, y, z = quaternion
    return math.acos(max(-1.0, min(1.0, 1.0 - 2.0 * (x * x + y * y))))
