"""The validated robot config: frozen dataclasses, and the error that lists every problem."""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import HumanoidRtError

@dataclass(frozen=True)
class LoopConfig:
    rate_hz: int = 1000
    priority: int = 80  # SCHED_FIFO priority of the real-time thread
    cpu: int | None = None  # CPU the real-time thread is pinned to; None: not pinned
    lock_memory: bool = True
    telemetry_decimation: int = 1  # one telemetry sample every N cycles
    # Budget of a cycle's control section (statistics: control_time, control_budget_overruns) [us];
    # None: a third of the period.
    control_budget_us: float | None = None

    @property
    def period_s(self) -> float:
        return 1.0 / self.rate_hz


@dataclass(frozen=True)
class SafetyConfig:
    watchdog_ttl_s: float = 0.1
    hold_timeout_s: float = 0.5
    hold_window_rad: float = 0.15
    damping_time_s: float = 1.0
    enable_ramp_s: float = 0.5
    max_missed_replies: int = 3
    encoder_jump_rad: float = 0.2
    frozen_encoder_cycles: int = 200
    frozen_torque_nm: float = 5.0
    overspeed_factor: float = 1.2
    estop_category: int = 0  # IEC 60204-1 stop category
    temperature_limit_c: float = 90.0  # a drive reporting more is a FAULT
    # Frozen encoder: the drive's velocity integrated while the reading stands still beyond this.
    frozen_travel_rad: float = 0.01
    # Faults that leave drives usable stop with SS1 (1) or every fault cuts torque at once (0).
    fault_stop_category: int = 1
    # recover(): joints outside their hard limits move back at this fraction of the velocity
    # limit, with torque capped at this fraction of the torque limit, within recovery_timeout_s.
    recovery_velocity_fraction: float = 0.1
    recovery_torque_fraction: float = 0.3
    recovery_timeout_s: float = 5.0


@dataclass(frozen=True)
class BusConfig:
    name: str
    type: str
    params: dict[str, Any]  # the keys specific to `type`, defaults filled in


@dataclass(frozen=True)
class DeviceConfig:
    name: str
    type: str  # one of DEVICE_TYPES
    url: str  # a pyserial URL or path: /dev/ttyUSB0, /dev/serial/by-id/..., rfc2217://host:port, loop://
    baudrate: int
    rate_hz: int  # poll rate (hand) or expected stream rate (sizes the buffer and the stall timeout)
    timeout_s: float | None  # None: 5 periods, at least 50 ms
    buffer_s: float  # seconds of samples kept between drains; older ones are dropped and counted
    params: dict[str, Any]  # the keys specific to `type` (slave_id, rows, cols), defaults filled in


@dataclass(frozen=True)
class MockActuatorConfig:
    inertia: float = 0.2  # reflected inertia, kg m^2
    viscous: float = 0.2  # N m s / rad
    coulomb: float = 0.5  # N m


@dataclass(frozen=True)
class JointLimits:
    q_min: float  # rad, hard limits
    q_max: float
    soft_margin: float  # rad, the soft wall sits this far inside the hard limits
    velocity: float  # rad/s
    torque: float  # N m
    torque_rate: float  # N m / s
    acceleration: float = 0.0  # rad / s^2, the reference's (SLA); also its braking into the soft wall
    kp_max: float = 0.0  # N m / rad, the highest stiffness set_gains accepts
    kd_max: float = 0.0  # N m s / rad, the highest damping set_gains accepts

    @property
    def q_soft_min(self) -> float:
        return self.q_min + self.soft_margin

    @property
    def q_soft_max(self) -> float:
        return self.q_max - self.soft_margin


@dataclass(frozen=True)
class JointConfig:
    name: str
    bus: str
    device_id: int
    gear: float  # q_motor = direction * gear * q_joint + offset_rad
    direction: int
    offset_rad: float
    limits: JointLimits
    kp: float
    kd: float
    mock: MockActuatorConfig
    # "torque": the loop closes the impedance law and sends torque;
    # "drive_impedance": the drive closes it from (q, dq, kp, kd, tau_ff) (MIT style).
    command_mode: str = "torque"
    # Sections owned by bus plug-ins, by YAML key (CAN: "can" -> CanJointConfig); read as joint.<key>.
    sections: Mapping[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        # joint.can and the like: a plug-in's section, None when this joint has none.
        if not name.startswith("_"):
            from ..buses import joint_sections

            if name in joint_sections():
                return self.__dict__.get("sections", {}).get(name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")




@dataclass(frozen=True)
class ImuConfig:
    """The base IMU (floating base, issue 13)."""

    frame: str  # URDF link or frame fixed to the root link where the IMU sits
    stale_cycles: int = 10  # no new sample for more than this many loop cycles: FAULT (imu_stale)
    source: str = "bus"  # bus: a bus that carries an IMU (mujoco, mock); device: written by a device thread


@dataclass(frozen=True)
class ContactConfig:
    """A foot's contact with the ground: the point the estimator tracks and the twin's sole box."""

    frame: str  # URDF link or frame of the foot
    sole: tuple[float, float]  # sole length (x) and width (y) of the frame [m]
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)  # sole centre (bottom surface) in the frame [m]


@dataclass(frozen=True)
class BaseTargetLimits:
    """Bounds of a standing robot's pelvis target (Robot.set_base_target, teleop kind 4): API calls beyond
    them raise naming the field, teleop values are clipped to them and counted."""

    max_height_down_m: float = 0.12  # the pelvis at most this far below where it stood at enable [m]
    max_height_up_m: float = 0.02  # ... and this far above it (a standing robot's knees are nearly straight) [m]
    max_roll_rad: float = 0.15  # |roll| in the stance frame [rad]
    max_pitch_rad: float = 0.25  # |pitch| [rad]
    max_yaw_rad: float = 0.2  # |yaw| relative to the feet [rad]
    height_speed_m_s: float = 0.1  # the target's path moves the height no faster than this [m/s]
    angular_speed_rad_s: float = 0.5  # ... and each angle no faster than this [rad/s]


@dataclass(frozen=True)
class StandingConfig:
    """How a floating-base robot stands (issue 13): the controller and its contact model."""

    # contact_qp: the contact whole-body QP (cpp/include/humanoid_rt/contact_wbc.hpp); stiff_legs: the
    # fixed-base whole-body controller (set floating_base.standing_gains). None: contact_qp when the
    # plant has gravity (the twin, real drives), stiff_legs on mock/virtual actuators (no body to stand).
    controller: str | None = None
    # The contact QP's solver: eiquadprog (dual active set, TSID's own; the default) or proxsuite (dense ProxQP).
    solver: str = "eiquadprog"
    friction: float = 0.7  # friction coefficient of the soles on the floor (the QP's pyramid)
    min_normal_force_n: float = 10.0  # each foot in contact pushes at least this hard [N]
    sole_margin_m: float = 0.01  # the centre of pressure stays this far inside each sole edge [m]
    base_target: BaseTargetLimits = BaseTargetLimits()  # pelvis height/orientation target limits


@dataclass(frozen=True)
class ModelConfig:
    urdf_path: Path  # absolute
    # "fixed": the URDF root (pelvis) is held, as on a gantry or a crane; the model is fixed-base.
    base: str = "fixed"
    # Frames Cartesian impedance tasks can act on (URDF link names), at most 8.
    task_frames: tuple[str, ...] = ()
    gravity_compensation: bool = True
    urdf_source: str = field(default="", compare=False)  # as written in the config (kept for dump_config)
    # Floating base (issue 13): "floating" runs the base state estimator in the loop on the IMU and
    # the contacts; both must be given. The MuJoCo twin is then free-floating (buses' floating param).
    imu: ImuConfig | None = None
    contacts: tuple[ContactConfig, ...] = ()
    standing: StandingConfig = StandingConfig()


@dataclass(frozen=True)
class RobotConfig:
    name: str
    # Where the config came from (None for a dict); not part of its value.
    source_path: Path | None = field(compare=False)
    model: ModelConfig
    loop: LoopConfig
    safety: SafetyConfig
    buses: tuple[BusConfig, ...]
    joints: tuple[JointConfig, ...]
    devices: tuple[DeviceConfig, ...] = ()  # serial devices beside the loop (hands, tactile, F/T, IMU)
    # Floating base (issue 13): fall detection and stops for a standing robot (standing_config.py); None: defaults.
    floating_base: Any = None

    @property
    def urdf_path(self) -> Path:
        return self.model.urdf_path

    @property
    def joint_names(self) -> tuple[str, ...]:
        return tuple(joint.name for joint in self.joints)

    @property
    def n_joints(self) -> int:
        return len(self.joints)

    def joint_array(self, attr_path: str) -> np.ndarray:
        """One float64 entry per joint, e.g. ``joint_array("limits.torque")``."""
        get = operator.attrgetter(attr_path)
        return np.array([get(joint) for joint in self.joints], dtype=np.float64)


@dataclass(frozen=True)
class ConfigIssue:
    source: str
    field: str  # dotted path, e.g. "joints[3].limits.velocity_rad_s"
    problem: str
    allowed: str
    got: Any

    def __str__(self) -> str:
        return f"{self.source}: {self.field}: {self.problem}; allowed: {self.allowed} (got {self.got!r})"


class ConfigError(HumanoidRtError, ValueError):
    """One or more problems in a robot config; `errors` lists all of them."""

    def __init__(self, errors: list[ConfigIssue]):
        if not errors:
            raise ValueError("ConfigError needs at least one issue")
        super().__init__("\n".join(str(issue) for issue in errors))
        self.errors = tuple(errors)
        first = errors[0]
        self.source = first.source
        self.field = first.field
        self.problem = first.problem
        self.allowed = first.allowed
        self.got = first.got

