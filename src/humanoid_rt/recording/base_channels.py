"""The floating base in an episode: the base state estimator and the balance figures, every cycle.

A robot that stands (issue 13) records two more packed streams next to /joints, one message
per telemetry sample (the same cycles, the same monotonic_ns):

    /base/state     BaseState      the estimator's pose, twist, covariance diagonal, contacts, and the
                                   IMU sample it used
    /base/balance   BalanceState   the contact QP's status (qp_ok, CoM and its reference, CoP margin and
                                   normal force per foot) and the fall detector's tilt and CoM distance

A fixed-base robot's episode has neither. Field order and units: FORMAT.md ("Floating base").
"""

from __future__ import annotations

import json
import math
from typing import Mapping

import numpy as np

from .episode_file import EpisodeFile
from .schemas import Field, PackedMessage

BASE_STATE_TOPIC = "/base/state"
BALANCE_TOPIC = "/base/balance"


def _stamp() -> list[Field]:
    return [Field("monotonic_ns", "int64", comment="CLOCK_MONOTONIC of the cycle (as on /joints)"),
            Field("loop_time", "float64", comment="loop time [s]"),
            Field("cycle", "uint64")]


def base_state_message(n_contacts: int) -> PackedMessage:
    """The estimator's state of one cycle; n_contacts contact points (feet), in the channel's contact_frames order."""
    n = n_contacts
    return PackedMessage("humanoid_rt/msg/BaseState", [
        *_stamp(),
        Field("valid", "bool", comment="the estimator has run (false before its first update)"),
        Field("position", "float64", 3, "base origin in world [m]; x, y from where the robot stood at the first estimate"),
        Field("orientation", "float64", 4, "world_R_base as a unit quaternion w x y z"),
        Field("linear_velocity", "float64", 3, "base origin velocity, world axes [m/s]"),
        Field("angular_velocity", "float64", 3, "base axes [rad/s]"),
        Field("covariance_diagonal", "float64", 6 + 3 * n,
              "Kalman state variances: position (3) [m^2], velocity (3) [m^2/s^2], contact point i (3 each) [m^2]"),
        Field("contact", "bool", n, "per contact point: taken as on the ground"),
        Field("foot_position", "float64", 3 * n, "contact points in world [m], x y z per point"),
        Field("imu_sequence", "uint64", comment="the IMU sample the estimator used (0: none yet)"),
        Field("imu_time", "float64", comment="loop time it was measured [s]"),
        Field("imu_orientation", "float64", 4, "world_R_imu w x y z (the IMU's attitude filter)"),
        Field("imu_gyro", "float64", 3, "IMU axes [rad/s]"),
        Field("imu_accel", "float64", 3, "specific force, IMU axes [m/s^2]"),
    ], "humanoid_rt BaseState: the floating-base state estimator's output in one loop cycle")


def balance_message(n_contacts: int) -> PackedMessage:
    """How the robot keeps its balance in one cycle; NaN in the fields of a part that did not run."""
    n = n_contacts
    return PackedMessage("humanoid_rt/msg/BalanceState", [
        *_stamp(),
        Field("qp_ran", "bool", comment="the contact QP computed the torque this cycle"),
        Field("qp_ok", "bool", comment="... and solved (else its fallback torque)"),
        Field("com", "float64", 3, "centre of mass, estimator's world frame [m]"),
        Field("com_reference", "float64", 3, "[m]"),
        Field("com_margin", "float64", comment="CoM (x, y) to the support polygon's edge [m], > 0 inside"),
        Field("cop_margin", "float64", n, "per foot: CoP to the nearest sole edge [m]"),
        Field("normal_force", "float64", n, "per foot: the QP's normal contact force [N]"),
        Field("fall_checked", "bool", comment="the fall detector was armed this cycle"),
        Field("tilt", "float64", comment="base tilt from world z [rad]"),
        Field("com_distance", "float64",
              comment="CoM projection from the support polygon's border [m], > 0 outside"),
    ], "humanoid_rt BalanceState: contact QP status and fall-detector figures in one loop cycle")


def open_base_channels(f: EpisodeFile, robot) -> None:
    """The two channels, when `robot` has a floating base (a fixed-base episode has none)."""
    if not robot.floating:
        return
    n = robot.base_estimator.n_contacts
    frames = json.dumps([c.frame for c in robot.config.model.contacts][:n])
    f.channel(BASE_STATE_TOPIC, base_state_message(n), {"contact_frames": frames})
    detector = None if robot.standing_safety is None else robot.standing_safety.detector
    limits = {"tilt_limit_rad": detector.options.tilt_rad, "com_distance_limit_m": detector.options.com_margin_m} \
        if detector is not None else {"tilt_limit_rad": math.nan, "com_distance_limit_m": math.nan}
    f.channel(BALANCE_TOPIC, balance_message(n), {
        "contact_frames": frames, "controller": "contact_qp" if robot.standing is not None else "none",
        **{key: repr(float(value)) for key, value in limits.items()}})


def write_base_channels(f: EpisodeFile, t: Mapping[str, np.ndarray], monotonic_ns: np.ndarray) -> None:
    """A telemetry batch's floating-base columns (robot.drain_telemetry keys) into the two channels."""
    if not f.has_channel(BASE_STATE_TOPIC):
        return
    stamp = {"monotonic_ns": monotonic_ns, "loop_time": t["t"], "cycle": t["cycle"]}
    f.write_packed(BASE_STATE_TOPIC, {
        **stamp, "valid": t["base_valid"], "position": t["base_position"], "orientation": t["base_orientation"],
        "linear_velocity": t["base_velocity"], "angular_velocity": t["base_angular_velocity"],
        "covariance_diagonal": t["base_covariance"], "contact": t["base_contact"],
        "foot_position": t["base_foot_position"], "imu_sequence": t["imu_sequence"], "imu_time": t["imu_t"],
        "imu_orientation": t["imu_orientation"], "imu_gyro": t["imu_gyro"], "imu_accel": t["imu_accel"]},
        monotonic_ns)
    f.write_packed(BALANCE_TOPIC, {
        **stamp, "qp_ran": t["qp_ran"], "qp_ok": t["qp_ok"], "com": t["qp_com"],
        "com_reference": t["qp_com_reference"], "com_margin": t["qp_com_margin"], "cop_margin": t["qp_cop_margin"],
        "normal_force": t["qp_normal_force"], "fall_checked": t["fall_checked"], "tilt": t["fall_tilt"],
        "com_distance": t["fall_com_distance"]}, monotonic_ns)
