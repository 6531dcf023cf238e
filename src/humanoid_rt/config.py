"""Robot configuration: load, validate and dump the robot YAML.

A robot YAML describes the control loop, the safety thresholds, the buses and
every actuated joint.  Validation is strict because the values end up in the
real-time core, where a typo becomes a torque: unknown keys, wrong types,
non-finite numbers and out-of-range values are all rejected, and every problem
in a file is reported at once rather than one per run.
"""

from __future__ import annotations

import math
import operator
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import yaml

__all__ = [
    "BUS_TYPES",
    "LOOP_RATES_HZ",
    "MAX_JOINTS",
    "BusConfig",
    "CanJointConfig",
    "DEVICE_TYPES",
    "DeviceConfig",
    "ConfigError",
    "ContactConfig",
    "ImuConfig",
    "ConfigIssue",
    "JointConfig",
    "JointLimits",
    "LoopConfig",
    "MockActuatorConfig",
    "RobotConfig",
    "SafetyConfig",
    "bundled_robots",
    "dump_config",
    "load_config",
]

BUS_TYPES = ("mock", "mujoco", "ethercat", "can", "can-virtual")
CAN_BUS_TYPES = ("can", "can-virtual")  # ---- CAN ----
BASE_TYPES = ("fixed", "floating")
# ---- floating base (issue 13) ----
STANDING_CONTROLLERS = ("contact_qp", "stiff_legs")  # floating base: the contact QP or the fixed-base stopgap
IMU_SOURCES = ("bus", "device")  # the IMU reaches the loop from a bus that carries one, or from a device thread
MAX_CONTACTS = 4  # contact points of the base estimator (the core's kMaxContacts)
# model.urdf may name a file in this PyPI package as "example-robot-data:robots/...".
EXAMPLE_ROBOT_DATA_PREFIX = "example-robot-data:"
LOOP_RATES_HZ = (250, 500, 1000, 2000, 4000)
COMMAND_MODES = ("torque", "drive_impedance")
# Fixed joint capacity of the C++ core: its buffers are sized at compile time.
MAX_JOINTS = 64
# Cartesian task slots of the whole-body controller.
MAX_TASKS = 8

_BUNDLED_DIR = Path(__file__).resolve().parent / "robots"
_BUNDLED_FILE = "robot.yaml"


@dataclass(frozen=True)
class LoopConfig:
    rate_hz: int = 1000
    priority: int = 80  # SCHED_FIFO priority of the real-time thread
    cpu: int | None = None  # CPU the real-time thread is pinned to; None: not pinned
    lock_memory: bool = True
    telemetry_decimation: int = 1  # one telemetry sample every N cycles

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


# ---- serial devices (humanoid_rt.devices) ----
DEVICE_TYPES = ("inspire_hand", "tactile", "robotiq_ft", "witmotion_imu")


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
    can: "CanJointConfig | None" = None  # ---- CAN ----: protocol and ranges of a joint on a CAN bus


# ---- CAN ----
@dataclass(frozen=True)
class CanJointConfig:
    protocol: str  # one of humanoid_rt.can.protocols.PROTOCOLS
    host_id: int  # reference/CubeMars: reply ID; Damiao: master ID; Robstride: host ID
    p_max: float  # rad, symmetric range
    v_max: float  # rad/s
    kp_max: float  # Nm/rad
    kd_max: float  # Nm s/rad
    t_max: float  # Nm
    # CANopen CiA 402 (protocol "cia402"; None otherwise): device_id is the node id.
    counts_per_rad: float | None = None  # encoder counts per motor-side rad (0x607A/0x6064/0x606C units)
    rated_torque_nm: float | None = None  # the drive's 0x6076; 0x6071/0x6077 are per mille of it
    mode: str | None = None  # csp | csv | cst (0x6060 = 8 / 9 / 10)
# ---- end CAN ----


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
class StandingConfig:
    """How a floating-base robot stands (issue 13): the controller and its contact model."""

    # contact_qp: the contact whole-body QP (cpp/include/humanoid_rt/contact_wbc.hpp); stiff_legs: the
    # fixed-base whole-body controller (set floating_base.standing_gains). None: contact_qp when the
    # plant has gravity (the twin, real drives), stiff_legs on mock/virtual actuators (no body to stand).
    controller: str | None = None
    friction: float = 0.7  # friction coefficient of the soles on the floor (the QP's pyramid)
    min_normal_force_n: float = 10.0  # each foot in contact pushes at least this hard [N]
    sole_margin_m: float = 0.01  # the centre of pressure stays this far inside each sole edge [m]


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


class ConfigError(ValueError):
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


# --- value parsers: each returns the clean value or raises _Invalid ---------


class _Invalid(Exception):
    def __init__(self, problem: str, allowed: str):
        super().__init__(problem)
        self.problem = problem
        self.allowed = allowed


_Parser = Callable[[Any], Any]


def _allowing(allowed: str) -> Callable[[_Parser], _Parser]:
    """Attach the `allowed` text to a parser, for the "missing required key" message."""

    def attach(parse: _Parser) -> _Parser:
        parse.allowed = allowed
        return parse

    return attach


def _is_integer(raw: Any) -> bool:
    # bool is an int subclass in Python, but `true` is never a count or an id.
    return isinstance(raw, int) and not isinstance(raw, bool)


def _integer(minimum: int | None = None, maximum: int | None = None) -> _Parser:
    if minimum is not None and maximum is not None:
        allowed = f"an integer in {minimum}..{maximum}"
    elif minimum is not None:
        allowed = f"an integer >= {minimum}"
    else:
        allowed = "an integer"

    @_allowing(allowed)
    def parse(raw: Any) -> int:
        if not _is_integer(raw):
            raise _Invalid("not an integer", allowed)
        if (minimum is not None and raw < minimum) or (maximum is not None and raw > maximum):
            raise _Invalid("out of range", allowed)
        return raw

    return parse


def _finite(raw: Any, allowed: str) -> float:
    if not (_is_integer(raw) or isinstance(raw, float)):
        raise _Invalid("not a number", allowed)
    if not math.isfinite(raw):
        raise _Invalid("not finite", allowed)
    return float(raw)


def _number(above: float | None = None, at_least: float | None = None) -> _Parser:
    if above is not None:
        allowed = f"a finite number > {above:g}"
    elif at_least is not None:
        allowed = f"a finite number >= {at_least:g}"
    else:
        allowed = "a finite number"

    @_allowing(allowed)
    def parse(raw: Any) -> float:
        value = _finite(raw, allowed)
        if (above is not None and not value > above) or (at_least is not None and not value >= at_least):
            raise _Invalid("out of range", allowed)
        return value

    return parse


def _one_of(*options: Any) -> _Parser:
    allowed = "one of " + ", ".join(str(option) for option in options)

    @_allowing(allowed)
    def parse(raw: Any) -> Any:
        # Compare types too: 1.0 == 1 and True == 1 in Python, but neither is a valid choice of 1.
        if not any(type(raw) is type(option) and raw == option for option in options):
            raise _Invalid("not an allowed value", allowed)
        return raw

    return parse


@_allowing("true or false")
def _boolean(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise _Invalid("not a boolean", "true or false")
    return raw


@_allowing("a non-empty string")
def _text(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise _Invalid("not a non-empty string", "a non-empty string")
    return raw


def _optional(parse: _Parser, allowed: str) -> _Parser:
    @_allowing(allowed)
    def parse_optional(raw: Any) -> Any:
        if raw is None:
            return None
        try:
            return parse(raw)
        except _Invalid as invalid:
            raise _Invalid(invalid.problem, allowed) from None

    return parse_optional


_POSITION_RANGE_ALLOWED = "[min, max] with finite numbers and min < max"


@_allowing(_POSITION_RANGE_ALLOWED)
def _position_range(raw: Any) -> tuple[float, float]:
    allowed = _POSITION_RANGE_ALLOWED
    if not isinstance(raw, list) or len(raw) != 2:
        raise _Invalid("not a list of two numbers", allowed)
    q_min, q_max = (_finite(bound, allowed) for bound in raw)
    if not q_min < q_max:
        raise _Invalid("min is not below max", allowed)
    return q_min, q_max


# --- key tables: YAML key -> (parser, default) -------------------------------

_REQUIRED = object()  # default of a key that must be present
_INVALID = object()  # stands for a value that failed validation and was reported

_LOOP_KEYS: dict[str, tuple[_Parser, Any]] = {
    "rate_hz": (_one_of(*LOOP_RATES_HZ), LoopConfig.rate_hz),
    "priority": (_integer(0, 99), LoopConfig.priority),  # 0 = no SCHED_FIFO (SCHED_OTHER)
    "cpu": (_optional(_integer(0), "null or an integer >= 0"), LoopConfig.cpu),
    "lock_memory": (_boolean, LoopConfig.lock_memory),
    "telemetry_decimation": (_integer(1), LoopConfig.telemetry_decimation),
}

def _fraction(raw: Any) -> float:
    allowed = "a number > 0 and <= 1"
    value = _finite(raw, allowed)
    if not 0 < value <= 1:
        raise _Invalid("out of range", allowed)
    return value


_fraction.allowed = "a number > 0 and <= 1"  # for the "missing key" message


_SAFETY_KEYS: dict[str, tuple[_Parser, Any]] = {
    "watchdog_ttl_s": (_number(above=0), SafetyConfig.watchdog_ttl_s),
    "hold_timeout_s": (_number(above=0), SafetyConfig.hold_timeout_s),
    "hold_window_rad": (_number(above=0), SafetyConfig.hold_window_rad),
    "damping_time_s": (_number(above=0), SafetyConfig.damping_time_s),
    "enable_ramp_s": (_number(at_least=0), SafetyConfig.enable_ramp_s),
    "max_missed_replies": (_integer(0), SafetyConfig.max_missed_replies),
    "encoder_jump_rad": (_number(above=0), SafetyConfig.encoder_jump_rad),
    "frozen_encoder_cycles": (_integer(2), SafetyConfig.frozen_encoder_cycles),
    "frozen_torque_nm": (_number(above=0), SafetyConfig.frozen_torque_nm),
    "overspeed_factor": (_number(at_least=1), SafetyConfig.overspeed_factor),
    "estop_category": (_one_of(0, 1), SafetyConfig.estop_category),
    "temperature_limit_c": (_number(above=0), SafetyConfig.temperature_limit_c),
    "frozen_travel_rad": (_number(above=0), SafetyConfig.frozen_travel_rad),
    "fault_stop_category": (_one_of(0, 1), SafetyConfig.fault_stop_category),
    "recovery_velocity_fraction": (_fraction, SafetyConfig.recovery_velocity_fraction),
    "recovery_torque_fraction": (_fraction, SafetyConfig.recovery_torque_fraction),
    "recovery_timeout_s": (_number(above=0), SafetyConfig.recovery_timeout_s),
}

_BUS_COMMON_KEYS: dict[str, tuple[_Parser, Any]] = {
    "name": (_text, _REQUIRED),
    "type": (_one_of(*BUS_TYPES), _REQUIRED),
}

_BUS_PARAM_KEYS: dict[str, dict[str, tuple[_Parser, Any]]] = {
    "mock": {
        "latency_cycles": (_integer(0, 100), 1),
        "position_noise_rad": (_number(at_least=0), 0.0),
        # Seeds a uint64 random generator in the core.
        "seed": (_integer(0, 2**64 - 1), 0),
    },
    "mujoco": {
        "substeps": (_integer(1, 20), 1),
        "position_noise_rad": (_number(at_least=0), 0.0),
        "velocity_noise_rad_s": (_number(at_least=0), 0.0),
        "seed": (_integer(0, 2**64 - 1), 0),
        "joint_damping_nm_s_rad": (_number(at_least=0), 0.5),
        "armature_kgm2": (_number(at_least=0), 0.01),
        # A floor plane at the soles (at the zero pose); the base is held above it.
        "floor": (_boolean, True),
        # Floating base (issue 13): the URDF root gets a free joint instead of a weld (needs model.imu and
        # model.contacts); the IMU's noise and bias.
        "floating": (_boolean, False),
        "imu_gyro_noise_rad_s": (_number(at_least=0), 0.0),
        "imu_gyro_bias_rad_s": (lambda raw: list(_vector3(raw)), [0.0, 0.0, 0.0]),
        "imu_accel_noise_m_s2": (_number(at_least=0), 0.0),
        "imu_accel_bias_m_s2": (lambda raw: list(_vector3(raw)), [0.0, 0.0, 0.0]),
        "imu_orientation_noise_rad": (_number(at_least=0), 0.0),
    },
}

_MODEL_KEYS: dict[str, tuple[_Parser, Any]] = {
    "urdf": (_text, _REQUIRED),
    "base": (_one_of(*BASE_TYPES), "fixed"),
    "tasks": (lambda raw: _string_list(raw), ()),
    "gravity_compensation": (_boolean, True),
    # Validated by _parse_floating_base with their own tables.
    "imu": (lambda raw: raw, None),
    "contacts": (lambda raw: raw, ()),
    "standing": (lambda raw: raw, None),
}

_STANDING_KEYS: dict[str, tuple[_Parser, Any]] = {
    "controller": (_optional(_one_of(*STANDING_CONTROLLERS), "null or one of: " + ", ".join(STANDING_CONTROLLERS)), None),
    "friction": (_number(above=0), StandingConfig.friction),
    "min_normal_force_n": (_number(at_least=0), StandingConfig.min_normal_force_n),
    "sole_margin_m": (_number(at_least=0), StandingConfig.sole_margin_m),
}

_IMU_KEYS: dict[str, tuple[_Parser, Any]] = {
    "frame": (_text, _REQUIRED),
    "stale_cycles": (_integer(0, 100000), ImuConfig.stale_cycles),
    "source": (_one_of(*IMU_SOURCES), ImuConfig.source),
}


@_allowing("[x, y, z] with finite numbers")
def _vector3(raw: Any) -> tuple[float, float, float]:
    if not isinstance(raw, (list, tuple)) or len(raw) != 3:
        raise _Invalid("not a list of three numbers", "[x, y, z] with finite numbers")
    return tuple(_finite(value, "[x, y, z] with finite numbers") for value in raw)


@_allowing("[length, width] with finite numbers > 0 (metres)")
def _sole(raw: Any) -> tuple[float, float]:
    allowed = "[length, width] with finite numbers > 0 (metres)"
    if not isinstance(raw, (list, tuple)) or len(raw) != 2:
        raise _Invalid("not a list of two numbers", allowed)
    values = tuple(_finite(value, allowed) for value in raw)
    if not all(value > 0 for value in values):
        raise _Invalid("not > 0", allowed)
    return values


_CONTACT_KEYS: dict[str, tuple[_Parser, Any]] = {
    "frame": (_text, _REQUIRED),
    "sole": (_sole, _REQUIRED),
    "offset": (_vector3, ContactConfig.offset),
}

# ---- EtherCAT bus params (issue 5): drivers/ethercat, firmware_interfaces/ethercat ----
ETHERCAT_DRIVE_MODES = ("cst", "csp", "csv")
_U32 = _integer(0, 2**32 - 1)
_SLAVES_ALLOWED = "a list of {position: 1.., vendor_id: u32, product_code: u32} with positions 1..n in order"


@_allowing(_SLAVES_ALLOWED)
def _ethercat_slaves(raw: Any) -> list[dict] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not raw or len(raw) > MAX_JOINTS:
        raise _Invalid("not a non-empty list", _SLAVES_ALLOWED)
    slaves = []
    for i, entry in enumerate(raw, start=1):
        if not isinstance(entry, dict) or set(entry) != {"position", "vendor_id", "product_code"}:
            raise _Invalid(f"entry {i} is not a mapping with exactly position, vendor_id, product_code", _SLAVES_ALLOWED)
        if entry["position"] != i or not _is_integer(entry["position"]):
            raise _Invalid(f"entry {i} has position {entry['position']!r}", _SLAVES_ALLOWED)
        for key in ("vendor_id", "product_code"):
            _U32(entry[key])
        slaves.append(dict(entry))
    return slaves


_ETHERCAT_PARAM_KEYS: dict[str, tuple[_Parser, Any]] = {
    "interface": (_text, _REQUIRED),                 # network interface of the line
    "vendor_id": (_U32, _REQUIRED),                   # expected of every slave unless `slaves` says otherwise
    "product_code": (_U32, _REQUIRED),
    "slaves": (_ethercat_slaves, None),               # the whole expected line; default: one slave per joint,
                                                      # at position = the joint's device_id
    "drive_mode": (_one_of(*ETHERCAT_DRIVE_MODES), "cst"),
    "receive_timeout_us": (_integer(50, 1_000_000), 800),  # how long a cycle waits for its frame
    "frame_timeout_us": (_integer(100, 1_000_000), 2000),  # bring-up datagrams (SOEM EC_TIMEOUTRET)
    "wkc_tolerance": (_integer(0, 100_000), 3),       # consecutive wrong-WKC / lost-frame cycles before FAULT
    "distributed_clocks": (_boolean, True),
    "state_timeout_s": (_number(above=0), 3.0),       # per AL state change at bring-up
}
_BUS_PARAM_KEYS["ethercat"] = _ETHERCAT_PARAM_KEYS
# ---- end EtherCAT ----


# ---- CAN ----
_CAN_COMMON_KEYS: dict[str, tuple[_Parser, Any]] = {
    "fd": (_boolean, False),  # CAN-FD frames
    "bitrate": (_one_of(125000, 250000, 500000, 1000000), 1000000),  # nominal (arbitration) bit rate
    "data_bitrate": (_one_of(1000000, 2000000, 4000000, 5000000, 8000000), 5000000),  # CAN-FD data phase
    "reply_timeout_us": (_integer(0, 100000), 0),  # real time; 0 = a quarter of the loop period
    "max_load": (_fraction, 0.8),  # the bus-load check rejects joint maps above this
}
_BUS_PARAM_KEYS["can"] = {"interface": (_text, _REQUIRED), **_CAN_COMMON_KEYS}
_BUS_PARAM_KEYS["can-virtual"] = {**_CAN_COMMON_KEYS, "seed": (_integer(0, 2**32 - 1), 0)}
_CAN_PROTOCOLS = ("mit_reference", "cubemars", "damiao", "robstride", "myactuator", "cia402")
_CIA402_MODES = ("csp", "csv", "cst")
_CIA402_KEYS = ("counts_per_rad", "rated_torque_nm", "mode")
_CAN_JOINT_KEYS: dict[str, tuple[_Parser, Any]] = {
    "protocol": (_one_of(*_CAN_PROTOCOLS), _REQUIRED),
    "host_id": (_optional(_integer(0, 0x7FF), "null or an integer in 0..2047"), None),
    "p_max": (_optional(_number(above=0), "null or a finite number > 0"), None),
    "v_max": (_optional(_number(above=0), "null or a finite number > 0"), None),
    "kp_max": (_optional(_number(above=0), "null or a finite number > 0"), None),
    "kd_max": (_optional(_number(above=0), "null or a finite number > 0"), None),
    "t_max": (_optional(_number(above=0), "null or a finite number > 0"), None),
    "counts_per_rad": (_optional(_number(above=0), "null or a finite number > 0"), None),  # cia402
    "rated_torque_nm": (_optional(_number(above=0), "null or a finite number > 0"), None),  # cia402
    "mode": (_optional(_one_of(*_CIA402_MODES), "null or one of " + ", ".join(_CIA402_MODES)), None),  # cia402
}
# ---- end CAN ----


@dataclass(frozen=True)
class _Nested:
    """Marks a key whose value is a mapping or list validated by its own table."""

    allowed: str


_DEFAULT_SOFT_MARGIN_RAD = 0.05
_DEFAULT_TORQUE_RATE_NM_S = 20000.0
# Derived defaults (the key absent): the reference reaches its velocity limit in this time
# (acceleration = velocity / time); the torque limit is reached at this position error (kp_max)
# and at this fraction of the velocity limit as velocity error (kd_max).
DEFAULT_ACCELERATION_TIME_S = 0.2
GAIN_BOUND_POSITION_ERROR_RAD = 0.005
GAIN_BOUND_VELOCITY_FRACTION = 0.05
_LIMIT_KEYS: dict[str, tuple[_Parser, Any]] = {
    "position_rad": (_position_range, _REQUIRED),
    "soft_margin_rad": (_number(at_least=0), _DEFAULT_SOFT_MARGIN_RAD),
    "velocity_rad_s": (_number(above=0), _REQUIRED),
    "torque_nm": (_number(above=0), _REQUIRED),
    "torque_rate_nm_s": (_number(above=0), _DEFAULT_TORQUE_RATE_NM_S),
    # Absent: derived (see DEFAULT_ACCELERATION_TIME_S and GAIN_BOUND_*).
    "acceleration_rad_s2": (_optional(_number(above=0), "null or a finite number > 0"), None),
    "kp_max": (_optional(_number(above=0), "null or a finite number > 0"), None),
    "kd_max": (_optional(_number(above=0), "null or a finite number > 0"), None),
}

_GAIN_KEYS: dict[str, tuple[_Parser, Any]] = {
    "kp": (_number(at_least=0), _REQUIRED),
    "kd": (_number(at_least=0), _REQUIRED),
}

_MOCK_ACTUATOR_KEYS: dict[str, tuple[_Parser, Any]] = {
    "inertia_kgm2": (_number(above=0), MockActuatorConfig.inertia),
    "viscous_nm_s_rad": (_number(at_least=0), MockActuatorConfig.viscous),
    "coulomb_nm": (_number(at_least=0), MockActuatorConfig.coulomb),
}

_JOINT_KEYS: dict[str, tuple[_Parser | _Nested, Any]] = {
    "name": (_text, _REQUIRED),
    "bus": (_text, _REQUIRED),
    "device_id": (_integer(0, 65535), _REQUIRED),
    "gear": (_number(above=0), 1.0),
    "direction": (_one_of(1, -1), 1),
    "offset_rad": (_number(), 0.0),
    "limits": (_Nested("a mapping with keys: " + ", ".join(_LIMIT_KEYS)), _REQUIRED),
    "gains": (_Nested("a mapping with keys: kp, kd"), _REQUIRED),
    "mock": (_Nested("a mapping with keys: " + ", ".join(_MOCK_ACTUATOR_KEYS)), {}),
    "command_mode": (_one_of(*COMMAND_MODES), "torque"),
    "can": (_Nested("a mapping with keys: " + ", ".join(_CAN_JOINT_KEYS)), None),  # ---- CAN ----
}

_TOP_KEYS: dict[str, tuple[_Parser | _Nested, Any]] = {
    "name": (_text, _REQUIRED),
    "model": (_Nested("a mapping with keys: " + ", ".join(_MODEL_KEYS)), _REQUIRED),
    "loop": (_Nested("a mapping with keys: " + ", ".join(_LOOP_KEYS)), {}),
    "safety": (_Nested("a mapping with keys: " + ", ".join(_SAFETY_KEYS)), {}),
    "buses": (_Nested(f"a list of 1..{MAX_JOINTS} bus mappings"), _REQUIRED),
    "joints": (_Nested(f"a list of 1..{MAX_JOINTS} joint mappings"), _REQUIRED),
    "devices": (_Nested("a list of device mappings (name, type, url, ...)"), []),
}

# ---- serial devices ----
MAX_DEVICES = 32
_DEVICE_COMMON_KEYS: dict[str, tuple[_Parser, Any]] = {
    "name": (_text, _REQUIRED),
    "type": (_one_of(*DEVICE_TYPES), _REQUIRED),
    "url": (_text, _REQUIRED),
    "rate_hz": (_integer(1, 1000), None),  # default per type below
    "baudrate": (_integer(1200, 12_000_000), None),
    "timeout_s": (_optional(_number(above=0), "null or a finite number > 0"), None),
    "buffer_s": (_number(above=0), 10.0),
}
_SLAVE_ID = _integer(1, 247)
# Per type: defaults of the common keys, then the type's own keys.
_DEVICE_DEFAULTS = {
    "inspire_hand": {"rate_hz": 100, "baudrate": 115200},  # RH56: 115200 8N1
    "tactile": {"rate_hz": 200, "baudrate": 2_000_000},  # 16x16 at 200 Hz is ~106 kB/s
    "robotiq_ft": {"rate_hz": 100, "baudrate": 19200},  # FT 300: 19200 8N1, streams at 100 Hz
    "witmotion_imu": {"rate_hz": 200, "baudrate": 115200},
}
_DEVICE_PARAM_KEYS: dict[str, dict[str, tuple[_Parser, Any]]] = {
    "inspire_hand": {"slave_id": (_SLAVE_ID, 1)},
    "tactile": {"rows": (_integer(1, 64), 16), "cols": (_integer(1, 64), 16)},
    "robotiq_ft": {"slave_id": (_SLAVE_ID, 9)},
    "witmotion_imu": {},
}


# --- YAML reading ------------------------------------------------------------


class _StrictYamlLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys and reads `1e-5` as a float.

    PyYAML follows YAML 1.1, where `1e-5` (no dot) is a string and a repeated
    key silently overwrites the first one; both would otherwise surface as a
    confusing type error or a silently ignored value.
    """

    def construct_mapping(self, node, deep=False):
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = self.construct_object(key_node)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}", key_node.start_mark
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


_StrictYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)

_FILE_FIELD = "<file>"
_ROOT_FIELD = "<root>"


def bundled_robots() -> tuple[str, ...]:
    """Names of the robot configs shipped with humanoid_rt."""
    return tuple(sorted(path.parent.name for path in _BUNDLED_DIR.glob(f"*/{_BUNDLED_FILE}")))


def _resolve_source(path_or_name: str | Path) -> Path:
    text = str(path_or_name)
    if isinstance(path_or_name, str) and text in bundled_robots():
        return _BUNDLED_DIR / text / _BUNDLED_FILE
    path = Path(path_or_name).expanduser()
    if not path.is_file():
        raise ConfigError([
            ConfigIssue(
                text,
                _FILE_FIELD,
                "no such file",
                "a path to a robot YAML file or a bundled robot name: " + ", ".join(bundled_robots()),
                text,
            )
        ])
    return path.resolve()


def _read_yaml(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    try:
        return yaml.load(text, Loader=_StrictYamlLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        lines = text.splitlines()
        line_text = lines[mark.line] if mark and mark.line < len(lines) else ""
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise ConfigError([
            ConfigIssue(str(path), _FILE_FIELD, f"YAML error at {where}: {error.problem}", "valid YAML", line_text)
        ]) from None
    except yaml.YAMLError as error:
        raise ConfigError([ConfigIssue(str(path), _FILE_FIELD, f"YAML error: {error}", "valid YAML", None)]) from None


# --- validation --------------------------------------------------------------


class _Validator:
    """Walks the raw document, collecting every problem instead of stopping at the first."""

    def __init__(self, source: str):
        self.source = source
        self.issues: list[ConfigIssue] = []

    def report(self, field_path: str, problem: str, allowed: str, got: Any) -> None:
        self.issues.append(ConfigIssue(self.source, field_path, problem, allowed, got))

    def mapping(self, raw: Any, field_path: str, keys: Mapping[str, Any], extra_keys: tuple[str, ...] = ()) -> dict | None:
        """Check that `raw` is a mapping whose keys all come from `keys` or `extra_keys`."""
        known = tuple(keys) + extra_keys
        if not isinstance(raw, dict):
            self.report(field_path, "not a mapping", "a mapping with keys: " + ", ".join(known), raw)
            return None
        for key in raw:
            if key not in known:
                self.report(_join(field_path, str(key)), f"unknown key {key!r}", "keys " + ", ".join(known), key)
        return raw

    def values(self, raw: Any, field_path: str, keys: Mapping[str, tuple[Any, Any]], extra_keys: tuple[str, ...] = ()) -> dict:
        """Parse every key of `keys` from mapping `raw`; failed values become _INVALID."""
        checked = self.mapping(raw, field_path, keys, extra_keys)
        parsed: dict[str, Any] = {}
        for key, (parse, default) in keys.items():
            key_path = _join(field_path, key)
            if checked is None:
                parsed[key] = _INVALID
            elif key not in checked:
                if default is _REQUIRED:
                    self.report(key_path, "missing required key", parse.allowed, None)
                    parsed[key] = _INVALID
                else:
                    parsed[key] = default
            elif isinstance(parse, _Nested):
                parsed[key] = checked[key]
            else:
                parsed[key] = self.value(checked[key], key_path, parse)
        return parsed

    def value(self, raw: Any, field_path: str, parse: _Parser) -> Any:
        try:
            return parse(raw)
        except _Invalid as invalid:
            self.report(field_path, invalid.problem, invalid.allowed, raw)
            return _INVALID

    def typed(self, raw: dict, field_path: str, common_keys: Mapping[str, tuple[_Parser, Any]],
              param_tables: Mapping[str, Mapping[str, tuple[_Parser, Any]]]) -> tuple[dict, Any]:
        """A mapping with a `type` key choosing which further keys (`param_tables[type]`) it may have.

        Returns (common values, type params or _INVALID). With a wrong or missing type, the type is reported and
        only keys that no type knows are flagged.
        """
        raw_type = raw.get("type")
        param_keys = param_tables.get(raw_type) if isinstance(raw_type, str) else None
        if param_keys is None:
            every_param = tuple(dict.fromkeys(key for table in param_tables.values() for key in table))
            return self.values(raw, field_path, common_keys, extra_keys=every_param), _INVALID
        common = self.values(raw, field_path, common_keys, extra_keys=tuple(param_keys))
        params = {key: (self.value(raw[key], _join(field_path, key), parse) if key in raw else default)
                  for key, (parse, default) in param_keys.items()}
        return common, params

    def section(self, raw: Any, field_path: str, keys: Mapping[str, tuple[_Parser, Any]], config_type: type):
        """A section whose keys are exactly the fields of `config_type`."""
        parsed = self.values(raw, field_path, keys)
        return None if _INVALID in parsed.values() else config_type(**parsed)

    def items(self, raw: Any, field_path: str, what: str, maximum: int) -> list:
        allowed = f"a list of 1..{maximum} {what} mappings"
        if not isinstance(raw, list):
            self.report(field_path, "not a list", allowed, raw)
            return []
        if not raw:
            self.report(field_path, f"no {what}s", allowed, raw)
        elif len(raw) > maximum:
            self.report(field_path, f"too many {what}s ({len(raw)})", allowed, len(raw))
        return raw


def _join(field_path: str, key: str) -> str:
    return f"{field_path}.{key}" if field_path else key


def _parse_buses(check: _Validator, raw: Any) -> list[BusConfig]:
    buses: list[BusConfig] = []
    first_index_of: dict[str, int] = {}
    for index, raw_bus in enumerate(check.items(raw, "buses", "bus", maximum=MAX_JOINTS)):
        path = f"buses[{index}]"
        if not isinstance(raw_bus, dict):
            check.report(path, "not a mapping", "a mapping with keys: name, type, and the keys of its type", raw_bus)
            continue
        common, params = check.typed(raw_bus, path, _BUS_COMMON_KEYS, _BUS_PARAM_KEYS)
        if params is not _INVALID:
            param_keys = _BUS_PARAM_KEYS[common["type"]]
            for key, value in params.items():  # required bus params (EtherCAT's interface, identity)
                if value is _REQUIRED:
                    check.report(f"{path}.{key}", "missing required key", param_keys[key][0].allowed, None)
                    params[key] = _INVALID
        name = common["name"]
        if name is not _INVALID:
            if name in first_index_of:
                check.report(
                    f"{path}.name", "duplicate bus name",
                    f"a name not already used (buses[{first_index_of[name]}] is {name!r})", name,
                )
            else:
                first_index_of[name] = index
        if _INVALID not in common.values() and params is not _INVALID and _INVALID not in params.values():
            buses.append(BusConfig(name=name, type=common["type"], params=params))
    return buses


def _parse_joint(check: _Validator, raw: Any, path: str) -> dict[str, Any]:
    top = check.values(raw, path, _JOINT_KEYS)
    limits = gains = mock = None
    if top["limits"] is not _INVALID:
        parsed = check.values(top["limits"], f"{path}.limits", _LIMIT_KEYS)
        limits = _joint_limits(check, parsed, f"{path}.limits")
    if top["gains"] is not _INVALID:
        parsed = check.values(top["gains"], f"{path}.gains", _GAIN_KEYS)
        gains = None if _INVALID in parsed.values() else parsed
    if top["mock"] is not _INVALID:
        parsed = check.values(top["mock"], f"{path}.mock", _MOCK_ACTUATOR_KEYS)
        if _INVALID not in parsed.values():
            mock = MockActuatorConfig(parsed["inertia_kgm2"], parsed["viscous_nm_s_rad"], parsed["coulomb_nm"])
    top.update(limits=limits, gains=gains, mock=mock)
    if top["can"] is not None and top["can"] is not _INVALID:  # ---- CAN ----
        top["can"] = _parse_can_joint(check, top["can"], f"{path}.can", top["device_id"])
    return top


def _joint_limits(check: _Validator, parsed: dict[str, Any], path: str) -> JointLimits | None:
    position, margin = parsed["position_rad"], parsed["soft_margin_rad"]
    if position is not _INVALID and margin is not _INVALID:
        half_span = (position[1] - position[0]) / 2.0
        if not margin < half_span:
            check.report(
                f"{path}.soft_margin_rad", "leaves no soft range between the hard limits",
                f"a finite number >= 0 and < (max - min) / 2 = {half_span:g}", margin,
            )
            return None
    if _INVALID in parsed.values():
        return None
    velocity, torque = parsed["velocity_rad_s"], parsed["torque_nm"]
    acceleration, kp_max, kd_max = parsed["acceleration_rad_s2"], parsed["kp_max"], parsed["kd_max"]
    return JointLimits(
        q_min=position[0],
        q_max=position[1],
        soft_margin=margin,
        velocity=velocity,
        torque=torque,
        torque_rate=parsed["torque_rate_nm_s"],
        acceleration=velocity / DEFAULT_ACCELERATION_TIME_S if acceleration is None else acceleration,
        kp_max=torque / GAIN_BOUND_POSITION_ERROR_RAD if kp_max is None else kp_max,
        kd_max=torque / (GAIN_BOUND_VELOCITY_FRACTION * velocity) if kd_max is None else kd_max,
    )


def _parse_joints(check: _Validator, raw: Any, buses: list[BusConfig], bus_list_valid: bool) -> list[JointConfig]:
    joints: list[JointConfig] = []
    known_buses = [bus.name for bus in buses]
    first_index_of: dict[str, int] = {}
    device_owner: dict[tuple[str, int], int] = {}
    for index, raw_joint in enumerate(check.items(raw, "joints", "joint", maximum=MAX_JOINTS)):
        path = f"joints[{index}]"
        parsed = _parse_joint(check, raw_joint, path)
        name, bus, device_id = parsed["name"], parsed["bus"], parsed["device_id"]
        if name is not _INVALID:
            if name in first_index_of:
                check.report(
                    f"{path}.name", "duplicate joint name",
                    f"a name not already used (joints[{first_index_of[name]}] is {name!r})", name,
                )
                parsed["name"] = _INVALID
            else:
                first_index_of[name] = index
        # If the bus list itself is broken, every joint would report its bus: say it once, at buses.
        if bus is not _INVALID and bus_list_valid and bus not in known_buses:
            check.report(f"{path}.bus", "unknown bus", "one of " + ", ".join(known_buses), bus)
            parsed["bus"] = bus = _INVALID
        if bus is not _INVALID and device_id is not _INVALID:
            owner = device_owner.setdefault((bus, device_id), index)
            if owner != index:
                check.report(
                    f"{path}.device_id", f"device_id already used on bus {bus!r} by joints[{owner}]",
                    f"a device_id unique on bus {bus!r}", device_id,
                )
                parsed["device_id"] = _INVALID
        if _INVALID in parsed.values() or None in (parsed["limits"], parsed["gains"], parsed["mock"]):
            continue
        if not _gains_within_bounds(check, parsed["gains"], parsed["limits"], path):
            continue
        joints.append(
            JointConfig(
                name=parsed["name"],
                bus=parsed["bus"],
                device_id=parsed["device_id"],
                gear=parsed["gear"],
                direction=parsed["direction"],
                offset_rad=parsed["offset_rad"],
                limits=parsed["limits"],
                kp=parsed["gains"]["kp"],
                kd=parsed["gains"]["kd"],
                mock=parsed["mock"],
                command_mode=parsed["command_mode"],
                can=parsed["can"],
            )
        )
    return joints


def _gains_within_bounds(check: _Validator, gains: dict, limits: JointLimits, path: str) -> bool:
    ok = True
    for key, bound in (("kp", limits.kp_max), ("kd", limits.kd_max)):
        if gains[key] > bound:
            check.report(f"{path}.gains.{key}", f"above the joint's {key}_max",
                         f"a number >= 0 and <= {bound:g} (limits.{key}_max)", gains[key])
            ok = False
    return ok


def _string_list(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, (list, tuple)) or not all(isinstance(x, str) and x for x in raw):
        raise _Invalid("not a list of names", "a list of URDF link names")
    return tuple(raw)


def example_robot_data_dir() -> Path | None:
    """site-packages/cmeel.prefix/share/example-robot-data of PyPI's example-robot-data, if installed."""
    import importlib.util

    spec = importlib.util.find_spec("cmeel")  # example-robot-data depends on cmeel, which sits in site-packages
    roots = list(spec.submodule_search_locations or []) if spec else []
    for root in roots:
        candidate = Path(root).parent / "cmeel.prefix" / "share" / "example-robot-data"
        if candidate.is_dir():
            return candidate
    return None


def _resolve_urdf(check: _Validator, text: str, base_dir: Path) -> Path | None:
    if text.startswith(EXAMPLE_ROBOT_DATA_PREFIX):
        data_dir = example_robot_data_dir()
        if data_dir is None:
            check.report("model.urdf", "the PyPI package example-robot-data is not installed",
                         "pip install 'humanoid_rt[g1]' (example-robot-data==6.0.0)", text)
            return None
        candidate = data_dir / text[len(EXAMPLE_ROBOT_DATA_PREFIX):]
    else:
        candidate = (base_dir / text).resolve()
    if not candidate.is_file():
        check.report("model.urdf", f"file not found: {candidate}",
                     f"a path to a URDF file, relative to the config file, or {EXAMPLE_ROBOT_DATA_PREFIX}PATH", text)
        return None
    return candidate


def _parse_model(check: _Validator, raw: Any, base_dir: Path) -> ModelConfig | None:
    model = check.values(raw, "model", _MODEL_KEYS)
    if _INVALID in model.values():
        return None
    urdf_path = _resolve_urdf(check, model["urdf"], base_dir)
    if urdf_path is None:
        return None
    try:
        links = {link.get("name") for link in ET.parse(urdf_path).getroot().iter("link")}
    except ET.ParseError as error:
        check.report("model.urdf", f"not valid XML: {error}", "a URDF file", model["urdf"])
        return None
    for index, frame in enumerate(model["tasks"]):
        if frame not in links:
            check.report(f"model.tasks[{index}]", "not a link of the URDF", "one of: " + ", ".join(sorted(links)), frame)
    if len(model["tasks"]) > MAX_TASKS:
        check.report("model.tasks", f"more than {MAX_TASKS} task frames", f"at most {MAX_TASKS} frames",
                     list(model["tasks"]))
    imu, contacts = _parse_floating_base(check, model, links)
    standing = StandingConfig()
    if model["standing"] is not None:
        values = check.values(model["standing"], "model.standing", _STANDING_KEYS)
        if _INVALID not in values.values():
            standing = StandingConfig(**values)
    return ModelConfig(urdf_path=urdf_path, base=model["base"], task_frames=model["tasks"],
                       gravity_compensation=model["gravity_compensation"], urdf_source=model["urdf"],
                       imu=imu, contacts=contacts, standing=standing)


def _parse_floating_base(check: _Validator, model: dict, links: set) -> tuple[ImuConfig | None, tuple]:
    """model.imu and model.contacts (issue 13): frames must exist; a floating base needs both."""
    imu = None
    if model["imu"] is not None:
        values = check.values(model["imu"], "model.imu", _IMU_KEYS)
        if _INVALID not in values:
            if values["frame"] not in links:
                check.report("model.imu.frame", "not a link of the URDF", "one of: " + ", ".join(sorted(links)),
                             values["frame"])
            else:
                imu = ImuConfig(**values)
    contacts = []
    raw_contacts = model["contacts"]
    if raw_contacts not in (None, (), []):
        for index, raw in enumerate(check.items(raw_contacts, "model.contacts", "contact", maximum=MAX_CONTACTS)):
            path = f"model.contacts[{index}]"
            values = check.values(raw, path, _CONTACT_KEYS)
            if _INVALID in values.values():
                continue
            if values["frame"] not in links:
                check.report(f"{path}.frame", "not a link of the URDF", "one of: " + ", ".join(sorted(links)),
                             values["frame"])
                continue
            contacts.append(ContactConfig(**values))
    if model["base"] == "floating":
        if model["imu"] is None:
            check.report("model.imu", "missing: a floating base needs an IMU to estimate its orientation",
                         "a mapping with keys: frame, stale_cycles, source", None)
        if raw_contacts in (None, (), []):
            check.report("model.contacts", "missing: a floating base needs its feet's contact frames",
                         f"a list of 1..{MAX_CONTACTS} mappings with keys: frame, sole, offset", None)
    return imu, tuple(contacts)


def _parse_robot(check: _Validator, raw: Any, base_dir: Path, source_path: Path | None) -> RobotConfig | None:
    if not isinstance(raw, dict):
        check.report(_ROOT_FIELD, "not a mapping", "a mapping with keys: " + ", ".join(_TOP_KEYS), raw)
        return None
    top = check.values(raw, "", _TOP_KEYS)

    model = _parse_model(check, top["model"], base_dir) if top["model"] is not _INVALID else None

    loop = check.section(top["loop"], "loop", _LOOP_KEYS, LoopConfig)
    safety = check.section(top["safety"], "safety", _SAFETY_KEYS, SafetyConfig)

    buses: list[BusConfig] = []
    bus_list_valid = False
    if top["buses"] is not _INVALID:
        issues_before = len(check.issues)
        buses = _parse_buses(check, top["buses"])
        bus_list_valid = len(check.issues) == issues_before
        if bus_list_valid and len(buses) > 1 and any(bus.type == "mujoco" for bus in buses):
            check.report("buses", "a mujoco bus simulates the whole robot, so it must be the only bus",
                         "one bus of type mujoco, or buses of other types", [bus.name for bus in buses])

    joints: list[JointConfig] = []
    if top["joints"] is not _INVALID:
        joints = _parse_joints(check, top["joints"], buses, bus_list_valid)

    if loop is not None and safety is not None:
        _check_can(check, buses, joints, loop, safety)  # ---- CAN ---- (on the joints that parsed)
    devices = _parse_devices(check, top["devices"]) if top["devices"] is not _INVALID else []
    for index, bus in enumerate(buses):  # ---- floating base (issue 13) ----
        if model is not None and bus.type == "mujoco" and bus.params.get("floating"):
            if model.imu is None:
                check.report("model.imu", f"missing: buses[{index}].floating: true needs an IMU",
                             "a mapping with keys: frame, stale_cycles, source", None)
            if not model.contacts:
                check.report("model.contacts", f"missing: buses[{index}].floating: true needs the feet's contact frames",
                             f"a list of 1..{MAX_CONTACTS} mappings with keys: frame, sole, offset", None)
    if check.issues:
        return None
    return RobotConfig(
        name=top["name"],
        source_path=source_path,
        model=model,
        loop=loop,
        safety=safety,
        buses=tuple(buses),
        joints=tuple(joints),
        devices=tuple(devices),
    )


def _parse_devices(check: _Validator, raw: Any) -> list[DeviceConfig]:
    """The `devices:` list: every problem reported with its field and the allowed values, all at once."""
    if raw is None or raw == []:
        return []
    devices: list[DeviceConfig] = []
    first_index_of: dict[str, int] = {}
    for index, raw_device in enumerate(check.items(raw, "devices", "device", maximum=MAX_DEVICES)):
        path = f"devices[{index}]"
        if not isinstance(raw_device, dict):
            check.report(path, "not a mapping", "a mapping with keys: " + ", ".join(_DEVICE_COMMON_KEYS)
                         + ", and the keys of its type", raw_device)
            continue
        common, params = check.typed(raw_device, path, _DEVICE_COMMON_KEYS, _DEVICE_PARAM_KEYS)
        if params is not _INVALID:
            for key in ("rate_hz", "baudrate"):
                if common[key] is None:
                    common[key] = _DEVICE_DEFAULTS[common["type"]][key]
        name = common["name"]
        if name is not _INVALID:
            if name in first_index_of:
                check.report(f"{path}.name", "duplicate device name",
                             f"a name not already used (devices[{first_index_of[name]}] is {name!r})", name)
                continue
            first_index_of[name] = index
        if _INVALID in common.values() or params is _INVALID or _INVALID in params.values():
            continue
        devices.append(DeviceConfig(params=params, **common))
    return devices


def load_config(path_or_name: str | Path | Mapping[str, Any]) -> RobotConfig:
    """Load and validate a robot config.

    `path_or_name` is a path to a YAML file, the name of a bundled robot (see
    `bundled_robots()`), or an already parsed mapping; relative paths inside a
    mapping resolve against the current directory.  Raises ConfigError listing
    every problem found.
    """
    if isinstance(path_or_name, Mapping):
        source_path, raw, base_dir, source = None, dict(path_or_name), Path.cwd(), "<dict>"
    else:
        source_path = _resolve_source(path_or_name)
        raw = _read_yaml(source_path)
        base_dir, source = source_path.parent, str(source_path)
    check = _Validator(source)
    config = _parse_robot(check, raw, base_dir, source_path)
    if check.issues:
        raise ConfigError(check.issues)
    return config


def dump_config(config: RobotConfig) -> dict[str, Any]:
    """The plain-data form of `config`, with every default written out.

    `load_config(dump_config(config)) == config`; the URDF path is absolute so
    the result loads from any directory.
    """
    return {
        "name": config.name,
        "model": {
            "urdf": (config.model.urdf_source if config.model.urdf_source.startswith(EXAMPLE_ROBOT_DATA_PREFIX)
                     else str(config.urdf_path)),
            "base": config.model.base,
            "tasks": list(config.model.task_frames),
            "gravity_compensation": config.model.gravity_compensation,
            **({"imu": {f.name: getattr(config.model.imu, f.name) for f in fields(ImuConfig)}}
               if config.model.imu is not None else {}),
            **({"contacts": [{"frame": c.frame, "sole": list(c.sole), "offset": list(c.offset)}
                             for c in config.model.contacts]} if config.model.contacts else {}),
            **({"standing": {f.name: getattr(config.model.standing, f.name) for f in fields(StandingConfig)}}
               if config.model.standing != StandingConfig() else {}),
        },
        "loop": {f.name: getattr(config.loop, f.name) for f in fields(LoopConfig)},
        "safety": {f.name: getattr(config.safety, f.name) for f in fields(SafetyConfig)},
        "buses": [{"name": bus.name, "type": bus.type, **bus.params} for bus in config.buses],
        "joints": [
            {
                "name": joint.name,
                "bus": joint.bus,
                "device_id": joint.device_id,
                "gear": joint.gear,
                "direction": joint.direction,
                "offset_rad": joint.offset_rad,
                "limits": {
                    "position_rad": [joint.limits.q_min, joint.limits.q_max],
                    "soft_margin_rad": joint.limits.soft_margin,
                    "velocity_rad_s": joint.limits.velocity,
                    "torque_nm": joint.limits.torque,
                    "torque_rate_nm_s": joint.limits.torque_rate,
                    "acceleration_rad_s2": joint.limits.acceleration,
                    "kp_max": joint.limits.kp_max,
                    "kd_max": joint.limits.kd_max,
                },
                "gains": {"kp": joint.kp, "kd": joint.kd},
                "command_mode": joint.command_mode,
                "mock": {
                    "inertia_kgm2": joint.mock.inertia,
                    "viscous_nm_s_rad": joint.mock.viscous,
                    "coulomb_nm": joint.mock.coulomb,
                },
                **({"can": _dump_can(joint.can)} if joint.can else {}),
            }
            for joint in config.joints
        ],
        **({"devices": [_dump_device(device) for device in config.devices]} if config.devices else {}),
    }


def _dump_device(device: DeviceConfig) -> dict[str, Any]:
    return {"name": device.name, "type": device.type, "url": device.url, "rate_hz": device.rate_hz,
            "baudrate": device.baudrate, "timeout_s": device.timeout_s, "buffer_s": device.buffer_s,
            **device.params}


# ---- CAN ----
def _dump_can(c: CanJointConfig) -> dict:
    keys = ("protocol",) + _CIA402_KEYS if c.protocol == "cia402" else \
        ("protocol", "host_id", "p_max", "v_max", "kp_max", "kd_max", "t_max")
    return {key: getattr(c, key) for key in keys}


def _parse_can_joint(check: _Validator, raw: Any, path: str, device_id: Any) -> Any:
    from .can import protocols as can_protocols

    parsed = check.values(raw, path, _CAN_JOINT_KEYS)
    if _INVALID in parsed.values():
        return _INVALID
    protocol = parsed["protocol"]
    if protocol == "cia402":  # CANopen: node id, units and mode instead of MIT ranges
        problems = False
        if isinstance(device_id, int) and not 1 <= device_id <= 127:
            check.report(f"{path.rsplit('.', 1)[0]}.device_id", "out of range for protocol cia402 (the CANopen node id)",
                         "an integer in 1..127", device_id)
            problems = True
        for key, allowed in (("counts_per_rad", "a finite number > 0"), ("rated_torque_nm", "a finite number > 0"),
                             ("mode", "one of " + ", ".join(_CIA402_MODES))):
            if parsed[key] is None:
                check.report(f"{path}.{key}", "missing: required for protocol cia402", allowed, None)
                problems = True
        for key in ("host_id", "p_max", "v_max", "kp_max", "kd_max", "t_max"):
            if parsed[key] is not None:
                check.report(f"{path}.{key}", "only for the MIT-family protocols, not cia402",
                             "absent (or null) for protocol cia402", parsed[key])
                problems = True
        if problems:
            return _INVALID
        return CanJointConfig(protocol="cia402", host_id=0, p_max=math.inf, v_max=math.inf, kp_max=math.inf,
                              kd_max=math.inf, t_max=math.inf, counts_per_rad=parsed["counts_per_rad"],
                              rated_torque_nm=parsed["rated_torque_nm"], mode=parsed["mode"])
    for key in _CIA402_KEYS:
        if parsed[key] is not None:
            check.report(f"{path}.{key}", f"only for protocol cia402, not {protocol}", "absent (or null)", parsed[key])
            return _INVALID
    if isinstance(device_id, int):
        top_id = 0x7FF if protocol in ("mit_reference", "cubemars", "damiao") else 0xFF
        if not 1 <= device_id <= top_id:
            check.report(f"{path.rsplit('.', 1)[0]}.device_id", f"out of range for protocol {protocol}",
                         f"an integer in 1..{top_id}", device_id)
            return _INVALID
    defaults = can_protocols.DEFAULT_RANGES[protocol]
    host_id = parsed["host_id"]
    if host_id is None:
        host_id = can_protocols.default_host_id(protocol, device_id if isinstance(device_id, int) else 0)
    return CanJointConfig(
        protocol=protocol,
        host_id=host_id,
        **{key: defaults.__dict__[key] if parsed[key] is None else parsed[key]
           for key in ("p_max", "v_max", "kp_max", "kd_max", "t_max")},
    )


def _check_can(check: _Validator, buses: list[BusConfig], joints: list[JointConfig], loop: LoopConfig,
               safety: SafetyConfig) -> None:
    """CAN joints have a protocol whose ranges hold their limits, and every CAN bus fits its bit rate."""
    from .can.busload import bus_load

    can_buses = {bus.name: bus for bus in buses if bus.type in CAN_BUS_TYPES}
    for index, joint in enumerate(joints):
        path = f"joints[{index}]"
        if joint.bus not in can_buses:
            if joint.can is not None:
                check.report(f"{path}.can", "only for joints on a CAN bus",
                             "a joint whose bus has type " + " or ".join(CAN_BUS_TYPES), joint.bus)
            continue
        if joint.can is None:
            check.report(f"{path}.can", "missing: the joint is on a CAN bus",
                         "a mapping with keys: " + ", ".join(_CAN_JOINT_KEYS), None)
            continue
        c, g, limits = joint.can, joint.gear, joint.limits
        if c.protocol == "cia402":
            wanted = "drive_impedance" if c.mode in ("csp", "csv") else "torque"
            if joint.command_mode != wanted:
                check.report(f"{path}.command_mode", f"{joint.command_mode} does not fit CiA 402 mode {c.mode} "
                             f"(csp/csv take the drive-side position/velocity reference, cst takes torque)",
                             wanted, joint.command_mode)
            continue
        reach = max(abs(joint.direction * g * q + joint.offset_rad) for q in (limits.q_min, limits.q_max))
        needs = [
            ("p_max", reach, "the motor-side position range"),
            ("v_max", safety.overspeed_factor * limits.velocity * g, "overspeed_factor x the motor-side velocity limit"),
            ("t_max", limits.torque / g, "the motor-side torque limit"),
        ]
        if joint.command_mode == "drive_impedance":
            needs += [("kp_max", joint.kp / g**2, "the motor-side kp"), ("kd_max", joint.kd / g**2, "the motor-side kd")]
        for key, need, what in needs:
            if getattr(c, key) < need:
                check.report(f"{path}.can.{key}", f"range {getattr(c, key):g} does not cover {what} ({need:g})",
                             f"a number >= {need:g} (or lower the joint's limits)", getattr(c, key))
    for bus in can_buses.values():
        protocols = [j.can.protocol for j in joints if j.bus == bus.name and j.can is not None]
        if not protocols:
            continue
        if "cia402" in protocols and set(protocols) != {"cia402"}:
            index = next(i for i, b in enumerate(buses) if b.name == bus.name)
            check.report(f"buses[{index}]", "mixes CANopen CiA 402 drives with MIT-family motors",
                         "one bus per family: every joint on this bus with protocol cia402, or none",
                         sorted(set(protocols)))
            continue
        load = bus_load(bus.name, protocols, rate_hz=loop.rate_hz, fd=bus.params["fd"], bitrate=bus.params["bitrate"],
                        data_bitrate=bus.params["data_bitrate"] if bus.params["fd"] else None,
                        max_load=bus.params["max_load"])
        if not load.fits:
            index = next(i for i, b in enumerate(buses) if b.name == bus.name)
            check.report(f"buses[{index}]", f"bus load too high at {loop.rate_hz} Hz: {load.describe()}",
                         "fewer joints on this bus, CAN-FD (fd: true) or a higher data_bitrate, or a lower loop rate",
                         bus.name)
# ---- end CAN ----
