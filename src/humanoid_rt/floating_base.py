"""Floating base (issue 13, first part): the pieces that turn a robot config's IMU and contacts into the
loop's base state estimator, the twin's IMU options, and a real IMU's path into the loop.

The estimator itself is C++ (cpp/include/humanoid_rt/base_estimator.hpp explains its Kalman filter);
it runs inside every loop cycle. What comes next on top of it (a contact QP whole-body controller, stops
that keep a standing robot up) is described in the README's "Floating base" section.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from . import _core
from .config import QP_SOLVERS, STANDING_CONTROLLERS, RobotConfig
from .sim.mujoco_model import TwinContact

__all__ = ["make_base_estimator", "twin_contacts", "imu_options", "imu_sample", "connect_imu_device",
           "support_joints", "standing_gains", "STANDING_GAIN_SCALE", "standing_controller", "make_contact_qp", "crouch_posture"]

#: Stopgap until the contact QP: the joints between the base and the feet get this many times their
#: configured stiffness (damping: its square root) while standing. With the config's gains the fixed-base
#: posture cannot hold the body up as an inverted pendulum on its ankles (the generic humanoid needs
#: ankle stiffness > m g h ~ 560 Nm/rad against 2 x 150); x8 stands both bundled robots through arm
#: motion (x4 stands them still but lets the generic one rock over its toes when the arms swing; README).
STANDING_GAIN_SCALE = 8.0


def make_base_estimator(config: RobotConfig, period_s: float, **options: float) -> "_core.BaseStateEstimator":
    """The loop's estimator for this robot: its URDF as a free-flyer, its IMU frame and contact points.

    options: BaseEstimatorOptions fields (noise densities, contact_force_threshold_n, ...), for tuning.
    """
    model = config.model
    if model.imu is None:
        raise ValueError("model.imu: missing: a floating base needs an IMU; allowed: a mapping with keys: "
                         "frame, stale_cycles, source")
    if not model.contacts:
        raise ValueError("model.contacts: missing: a floating base needs its feet's contact frames; allowed: "
                         "a list of mappings with keys: frame, sole, offset")
    estimator_options = _core.BaseEstimatorOptions()
    for name, value in options.items():
        if not hasattr(estimator_options, name):
            raise ValueError(f"{name}: not an estimator option; allowed: "
                             + ", ".join(n for n in dir(estimator_options) if not n.startswith("_")))
        setattr(estimator_options, name, float(value))
    contacts = [_core.ContactPointSpec(c.frame, list(c.offset)) for c in model.contacts]
    return _core.BaseStateEstimator(str(config.urdf_path), list(config.joint_names), model.imu.frame, contacts,
                                    period_s, estimator_options)


def twin_contacts(config: RobotConfig) -> tuple[TwinContact, ...]:
    """The sole boxes of the MuJoCo twin, from model.contacts."""
    return tuple(TwinContact(c.frame, tuple(c.sole), tuple(c.offset)) for c in config.model.contacts)


def imu_options(options: "_core.MujocoBusOptions", params: Mapping[str, Any]) -> None:
    """The twin's IMU noise and bias from the mujoco bus params."""
    options.imu_gyro_noise_rad_s = float(params.get("imu_gyro_noise_rad_s", 0.0))
    options.imu_gyro_bias_rad_s = [float(v) for v in params.get("imu_gyro_bias_rad_s", (0.0, 0.0, 0.0))]
    options.imu_accel_noise_m_s2 = float(params.get("imu_accel_noise_m_s2", 0.0))
    options.imu_accel_bias_m_s2 = [float(v) for v in params.get("imu_accel_bias_m_s2", (0.0, 0.0, 0.0))]
    options.imu_orientation_noise_rad = float(params.get("imu_orientation_noise_rad", 0.0))


def imu_sample(orientation, gyro, accel) -> tuple[list[float], list[float], list[float]]:
    """Checked IMU values: a unit quaternion (w, x, y, z), gyro [rad/s] and specific force [m/s^2]."""
    quaternion = np.asarray(orientation, dtype=np.float64).reshape(-1)
    gyro = np.asarray(gyro, dtype=np.float64).reshape(-1)
    accel = np.asarray(accel, dtype=np.float64).reshape(-1)
    for name, value, size in (("orientation", quaternion, 4), ("gyro", gyro, 3), ("accel", accel, 3)):
        if value.shape != (size,) or not np.all(np.isfinite(value)):
            raise ValueError(f"{name}: {size} finite numbers (got {value.tolist()!r})")
    norm = np.linalg.norm(quaternion)
    if not 0.5 < norm < 1.5:
        raise ValueError(f"orientation: a unit quaternion (w, x, y, z) (got norm {norm:.3g})")
    return (quaternion / norm).tolist(), gyro.tolist(), accel.tolist()


def connect_imu_device(robot, device) -> None:
    """Feed a serial IMU (devices.witmotion.WitMotionIMU) into the loop: every complete sample its device
    thread decodes is written to the loop's wait-free IMU buffer (model.imu.source: device)."""
    imu = robot.config.model.imu
    if imu is None or imu.source != "device":
        raise ValueError("model.imu.source: must be 'device' to take samples from a device thread "
                         f"(got {None if imu is None else imu.source!r}); allowed: bus, device")
    device.imu_sink = robot.write_imu


def support_joints(config: RobotConfig) -> list[str]:
    """The robot's joints between the base and any contact frame (legs), in config order."""
    import pinocchio

    model = pinocchio.buildModelFromUrdf(str(config.urdf_path))
    chain: set[str] = set()
    for contact in config.model.contacts:
        joint = model.frames[model.getFrameId(contact.frame)].parentJoint
        while joint > 0:
            chain.add(model.names[joint])
            joint = model.parents[joint]
    return [name for name in config.joint_names if name in chain]


def standing_gains(robot, scale: float = STANDING_GAIN_SCALE) -> tuple[np.ndarray, np.ndarray]:
    """(kp, kd) for standing on the fixed-base whole-body controller: the config's gains with the support
    joints' stiffness times `scale` (damping times sqrt(scale), keeping the damping ratio). Set them with
    robot.set_gains(*standing_gains(robot)) before enable(). A stopgap, documented as the contact QP's
    precursor: stiff legs hold a standing robot as a rigid body on its soles; nothing balances it."""
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale: a finite number > 0 (got {scale!r})")
    kp, kd = robot.config.joint_array("kp"), robot.config.joint_array("kd")
    for name in support_joints(robot.config):
        index = robot.joint_index(name)
        kp[index] *= scale
        kd[index] *= np.sqrt(scale)
    return kp, kd


def standing_controller(config: RobotConfig, plant_has_gravity: bool) -> str:
    """Which controller a floating-base robot stands on: model.standing.controller, or by default the
    contact QP when the plant has gravity (the twin, real drives) and the stopgap on mock actuators."""
    chosen = config.model.standing.controller
    if chosen is None:
        return "contact_qp" if plant_has_gravity else "stiff_legs"
    if chosen not in STANDING_CONTROLLERS:  # configs are validated; a dataclass built by hand is not
        raise ValueError(f"model.standing.controller: {chosen!r} is not a standing controller; allowed: "
                         + ", ".join(STANDING_CONTROLLERS))
    return chosen


def make_contact_qp(config: RobotConfig, period_s: float, solver: str | None = None,
                    **options: float) -> "_core.ContactWbc":
    """The contact QP whole-body controller for this robot: its URDF as a free-flyer, the soles of
    model.contacts, the task frames of model.tasks, the joints' torque limits and model.standing.

    solver: eiquadprog or proxsuite (default: model.standing.solver); options: ContactWbcOptions fields,
    for tuning.
    """
    solver = config.model.standing.solver if solver is None else solver
    model = config.model
    if not model.contacts:
        raise ValueError("model.contacts: missing: a standing robot needs its feet's contact frames; allowed: "
                         "a list of mappings with keys: frame, sole, offset")
    contact_options = _core.ContactWbcOptions()
    if solver not in QP_SOLVERS:  # the names model.standing.solver accepts are the core's enum's
        raise ValueError(f"solver: {solver!r} is not a QP solver of the standing controller; allowed: "
                         + ", ".join(QP_SOLVERS))
    contact_options.solver = getattr(_core.QpSolver, solver)
    standing = model.standing
    contact_options.friction = standing.friction
    contact_options.min_normal_force_n = standing.min_normal_force_n
    contact_options.sole_margin_m = standing.sole_margin_m
    limits = standing.base_target  # the pelvis target's bounds and speeds (model.standing.base_target)
    contact_options.base_height_down_m = limits.max_height_down_m
    contact_options.base_height_up_m = limits.max_height_up_m
    contact_options.base_max_roll_rad = limits.max_roll_rad
    contact_options.base_max_pitch_rad = limits.max_pitch_rad
    contact_options.base_max_yaw_rad = limits.max_yaw_rad
    contact_options.base_height_speed_m_s = limits.height_speed_m_s
    contact_options.base_angular_speed_rad_s = limits.angular_speed_rad_s
    for name, value in options.items():
        if name in ("solver", "task_mass") or not hasattr(contact_options, name):
            raise ValueError(f"{name}: not a contact QP option; allowed: "
                             + ", ".join(n for n in dir(contact_options) if not n.startswith("_") and n != "solver"))
        setattr(contact_options, name, float(value))
    soles = [_core.ContactSole(c.frame, list(c.offset), list(c.sole)) for c in model.contacts]
    return _core.ContactWbc(str(config.urdf_path), list(config.joint_names), list(model.task_frames), soles,
                            list(config.joint_array("limits.torque")), period_s, contact_options)


MAX_CROUCH_STEP_RAD = 0.1  # crouch_posture's largest Newton step per joint


def crouch_posture(robot, depth: float, q=None) -> np.ndarray:
    """Joint positions with the pelvis `depth` metres lower over the same foot poses (legs only; the other
    joints as in q, default the measured q): the posture reference for a standing robot that squats (set it
    with set_joint_targets, and the CoM reference with the height this posture gives, standing_motion.py's
    ComHeightFollower). Straight knees are a singular pose from which no acceleration lowers the body, so a
    standing robot first crouches a little.

    Solved off the loop by Newton steps on each leg's foot pose (the fixed-base model: the pelvis is the world
    frame there), each step at most MAX_CROUCH_STEP_RAD per joint and the joints kept inside their ranges:
    full steps from near-straight knees overshot into a pose a full turn away (a knee at 4.96 rad for
    0.17 m, which the loop's limits then clipped into a posture that was no squat at all)."""
    if not (np.isfinite(depth) and 0.0 <= depth < 0.5):
        raise ValueError(f"depth: a finite number in [0, 0.5) metres (got {depth!r})")
    q = np.array(robot.state().q if q is None else q, dtype=np.float64)
    contacts = robot.config.model.contacts
    if not contacts:
        raise ValueError("model.contacts: missing: a crouch keeps the feet's poses; allowed: a list of mappings "
                         "with keys: frame, sole, offset")
    targets = {}
    for contact in contacts:
        pose = np.array(robot.model.frame_pose(list(q), contact.frame)).reshape(4, 4)
        pose[2, 3] += depth
        targets[contact.frame] = pose
    legs = {name: robot.joint_index(name) for name in support_joints(robot.config)}
    for name, index in legs.items():
        if "knee" in name:  # out of the straight-knee singularity, toward flexion (within the joint's range)
            limits = robot.config.joints[index].limits
            q[index] = np.clip(max(q[index], 0.3) if limits.q_max > 0.3 else min(q[index], -0.3),
                               limits.q_min, limits.q_max)
    columns = np.array(sorted(legs.values()))
    low = np.array([robot.config.joints[c].limits.q_min for c in columns])
    high = np.array([robot.config.joints[c].limits.q_max for c in columns])
    for _ in range(200):
        worst = 0.0
        for frame, target in targets.items():
            pose = np.array(robot.model.frame_pose(list(q), frame)).reshape(4, 4)
            error = np.concatenate([target[:3, 3] - pose[:3, 3], _rotation_log(target[:3, :3] @ pose[:3, :3].T)])
            worst = max(worst, np.abs(error).max())
            jacobian = np.array(robot.model.frame_jacobian(list(q), frame)).reshape(6, -1)[:, columns]
            step = jacobian.T @ np.linalg.solve(jacobian @ jacobian.T + 1e-6 * np.eye(6), error)
            step *= min(1.0, MAX_CROUCH_STEP_RAD / max(np.abs(step).max(), 1e-12))
            q[columns] = np.clip(q[columns] + step, low, high)
        if worst < 1e-6:
            return q
    raise ValueError(f"depth: {depth} m is out of the legs' reach within their joint ranges "
                     f"(foot pose error {worst:.3g} after 200 steps)")


def _rotation_log(rotation: np.ndarray) -> np.ndarray:
    """The rotation vector of a rotation matrix (world axes)."""
    angle = np.arccos(np.clip((np.trace(rotation) - 1.0) / 2.0, -1.0, 1.0))
    axis = np.array([rotation[2, 1] - rotation[1, 2], rotation[0, 2] - rotation[2, 0], rotation[1, 0] - rotation[0, 1]])
    return 0.5 * axis if angle < 1e-9 else angle / (2.0 * np.sin(angle)) * axis
