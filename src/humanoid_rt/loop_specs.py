"""The core's per-joint specs and safety parameters, from a loaded config."""

from __future__ import annotations

from . import _core

def joint_spec(joint) -> _core.JointSpec:
    spec = _core.JointSpec()
    spec.transmission = _core.JointTransmission(joint.gear, float(joint.direction), joint.offset_rad)
    limits = _core.JointLimits()
    limits.q_min, limits.q_max = joint.limits.q_min, joint.limits.q_max
    limits.q_soft_min, limits.q_soft_max = joint.limits.q_soft_min, joint.limits.q_soft_max
    limits.velocity = joint.limits.velocity
    limits.torque = joint.limits.torque
    limits.torque_rate = joint.limits.torque_rate
    limits.damping_kd = joint.kd
    limits.acceleration = joint.limits.acceleration
    limits.kp_max, limits.kd_max = joint.limits.kp_max, joint.limits.kd_max
    spec.limits = limits
    spec.kp, spec.kd = joint.kp, joint.kd
    spec.mode = _core.CommandMode.DRIVE_IMPEDANCE if joint.command_mode == "drive_impedance" else _core.CommandMode.TORQUE
    return spec


def safety_params(safety) -> _core.SafetyParams:
    params = _core.SafetyParams()
    for name in (
        "hold_timeout_s", "hold_window_rad", "damping_time_s", "enable_ramp_s", "max_missed_replies",
        "encoder_jump_rad", "frozen_encoder_cycles", "frozen_torque_nm", "overspeed_factor", "estop_category",
        "temperature_limit_c", "frozen_travel_rad", "fault_stop_category", "recovery_velocity_fraction",
        "recovery_torque_fraction", "recovery_timeout_s",
    ):
        setattr(params, name, getattr(safety, name))
    return params
