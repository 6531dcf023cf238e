"""The Python face of the runtime: build a robot from a config, run its loop,
command it, read it.

    with Robot("generic_humanoid") as robot:   # stops safely on exit, exceptions, SIGINT/SIGTERM
        robot.start()                            # real time; or robot.step(n) on a simulated clock
        robot.enable()
        robot.set_joint_targets(q, duration=0.5)

Nothing here runs on the RT thread: every call goes through the core's
lock-free buffers, and calls that wait release the GIL.
"""

from __future__ import annotations

import collections
import os
import re
import signal
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from . import _core
from .config import BusConfig, RobotConfig, load_config
from .live.attach import LiveViews
from .state_view import StateView
from .telemetry import TelemetryFanout, TelemetryTap

#: Bus types a robot can be run on, overriding the config's buses: the mock bus
#: (independent actuators, no gravity), the MuJoCo digital twin (the whole robot), or
#: virtual CAN motors (MIT-family protocols on four CAN-FD buses).
BUS_CHOICES = ("mock", "mujoco", "can-virtual")

#: Who may write joint setpoints from Python (teleop's receiver writes its own), as recorded.
SETPOINT_SOURCES = {"api": _core.SetpointSource.API, "skill": _core.SetpointSource.SKILL,
                    "policy": _core.SetpointSource.POLICY}

# Default Cartesian task gains: stiffness [N/m, Nm/rad] and the damping that makes a
# 2 kg / 0.05 kg m^2 effective load critically damped (D = 2 sqrt(K m)).
DEFAULT_TASK_STIFFNESS = (1000.0, 60.0)
_TASK_EFFECTIVE_INERTIA = (2.0, 0.05)

# Default time to reach a target when neither t nor duration is given: long
# enough that a far target is not a step, short enough for interactive use.
DEFAULT_TARGET_DURATION_S = 0.1

#: Supervisor state name -> the code used in telemetry arrays.
STATE_CODES = {name: int(value) for name, value in _core.SupervisorState.__members__.items()}
_STATE_NAMES = {code: name for name, code in STATE_CODES.items()}
#: Telemetry reason code -> reason name (as in events and RobotState.reason).
REASON_NAMES = {int(value): name for name, value in _core.Reason.__members__.items()}


_ROBOT_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
#: Ids a robot may not have: humanoid_rt/policy/<server>/... belongs to the remote policy servers
#: (firmware_interfaces/zenoh/KEYS.md), so a robot called "policy" would share their keys.
RESERVED_ROBOT_IDS = ("policy",)


def resolve_robot_id(robot_id: str | None, config_name: str) -> str:
    """One robot's name in a fleet: the explicit id, else $HUMANOID_RT_ROBOT_ID, else "<config>-<host>".

    It becomes a Zenoh key chunk (humanoid_rt/<robot_id>/...), a Prometheus label and a catalogue
    partition (robot=<robot_id>), so it is limited to characters all three take unescaped.
    """
    source = "robot_id"
    if robot_id is None and os.environ.get("HUMANOID_RT_ROBOT_ID"):
        robot_id, source = os.environ["HUMANOID_RT_ROBOT_ID"], "HUMANOID_RT_ROBOT_ID"
    if robot_id is None:
        host = re.sub(r"[^A-Za-z0-9_.-]", "-", socket.gethostname()) or "localhost"
        robot_id = f"{config_name}-{host}"[:64]
    if not isinstance(robot_id, str) or not _ROBOT_ID_PATTERN.fullmatch(robot_id):
        raise ValueError(f"{source}: {robot_id!r} is not a robot id; allowed: 1-64 characters of "
                         "letters, digits, '_', '.', '-', starting with a letter or digit")
    if robot_id in RESERVED_ROBOT_IDS:
        raise ValueError(f"{source}: {robot_id!r} is reserved (humanoid_rt/{robot_id}/... are the policy servers' "
                         f"Zenoh keys); not allowed: {', '.join(RESERVED_ROBOT_IDS)}")
    return robot_id


class SafetyRefused(RuntimeError):
    """The supervisor refused a request (enable, reset, ...) or ended it in another state; the event says why."""

    def __init__(self, request: str, event: Mapping[str, Any], joint_names: Sequence[str] = ()):
        joint = event.get("joint", -1)
        name = joint_names[joint] if 0 <= joint < len(joint_names) else f"joint {joint}"
        where = f" ({name}: value {event['value']:.6g}, limit {event['limit']:.6g})" if joint >= 0 else ""
        hint = " (robot.recover() brings a joint back inside its hard limits)" \
            if event["reason"] == "hard_position_limit" and request in ("reset", "enable") else ""
        super().__init__(f"{request}: {event['from_state']} -> {event['to_state']}: {event['reason']}{where}{hint}")
        self.event = dict(event)


@dataclass(frozen=True)
class RobotState:
    """One snapshot of the loop, consistent within itself. Arrays have shape (n_joints,)."""

    cycle: int
    time: float  # loop time [s]
    supervisor_state: str  # DISABLED, ENABLING, ACTIVE, HOLD, DAMPING, FAULT, ESTOP, RECOVERY
    last_event: dict  # the transition that led here: reason, joint, value, limit, cycle
    q: np.ndarray  # measured position [rad]
    dq: np.ndarray  # measured velocity [rad/s]
    tau: np.ndarray  # measured torque [Nm]
    tau_command: np.ndarray  # commanded torque after the safety layer [Nm]
    q_ref: np.ndarray  # interpolated reference [rad]
    dq_ref: np.ndarray
    temperature_c: np.ndarray
    drive_error: np.ndarray
    fresh: np.ndarray  # a reply arrived this cycle
    base: dict | None = None  # floating base: the estimator's state (Robot.base_state()); None on a fixed base

    @property
    def reason(self) -> str:
        return self.last_event["reason"]


def _six(value, name: str) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64).reshape(-1)
    if array.shape == (2,):
        array = np.repeat(array, 3)
    if array.shape != (6,) or not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ValueError(f"{name}: 6 finite values >= 0 [x, y, z, rx, ry, rz] or (translational, rotational) "
                         f"(got {value!r})")
    return array


def _task_gains(stiffness=None, damping=None, prefix: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Cartesian task stiffness and damping (6 values each); damping defaults to critical for a nominal load."""
    stiffness = _six(DEFAULT_TASK_STIFFNESS if stiffness is None else stiffness, prefix + "stiffness")
    if damping is None:
        damping = 2.0 * np.sqrt(stiffness * np.repeat(_TASK_EFFECTIVE_INERTIA, 3))
    return stiffness, _six(damping, prefix + "damping")


def _pose_parts(pose) -> tuple[np.ndarray, np.ndarray]:
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
        quaternion = _quaternion_from_matrix(matrix[:3, :3])
    if position.shape != (3,) or quaternion.shape != (4,):
        raise ValueError("pose: position must have 3 values and quaternion 4 (w, x, y, z)")
    if not (np.all(np.isfinite(position)) and np.all(np.isfinite(quaternion))):
        raise ValueError("pose: must be finite")
    norm = np.linalg.norm(quaternion)
    if not 0.5 < norm < 1.5:
        raise ValueError(f"pose: quaternion must be close to unit length (got norm {norm:.3g})")
    return position, quaternion / norm


def _quaternion_from_matrix(R: np.ndarray) -> np.ndarray:
    if not np.allclose(R @ R.T, np.eye(3), atol=1e-6) or np.linalg.det(R) < 0:
        raise ValueError("pose: the 3x3 block is not a rotation matrix")
    w = np.sqrt(max(0.0, 1.0 + R[0, 0] + R[1, 1] + R[2, 2])) / 2
    x = np.copysign(np.sqrt(max(0.0, 1.0 + R[0, 0] - R[1, 1] - R[2, 2])) / 2, R[2, 1] - R[1, 2])
    y = np.copysign(np.sqrt(max(0.0, 1.0 - R[0, 0] + R[1, 1] - R[2, 2])) / 2, R[0, 2] - R[2, 0])
    z = np.copysign(np.sqrt(max(0.0, 1.0 - R[0, 0] - R[1, 1] + R[2, 2])) / 2, R[1, 0] - R[0, 1])
    return np.array([w, x, y, z])


def _joint_spec(joint) -> _core.JointSpec:
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


def _safety_params(safety) -> _core.SafetyParams:
    params = _core.SafetyParams()
    for name in (
        "hold_timeout_s", "hold_window_rad", "damping_time_s", "enable_ramp_s", "max_missed_replies",
        "encoder_jump_rad", "frozen_encoder_cycles", "frozen_torque_nm", "overspeed_factor", "estop_category",
        "temperature_limit_c", "frozen_travel_rad", "fault_stop_category", "recovery_velocity_fraction",
        "recovery_torque_fraction", "recovery_timeout_s",
    ):
        setattr(params, name, getattr(safety, name))
    return params


class Robot(LiveViews):
    """A robot: its config, its control loop and its buses.

    Args:
        config: a bundled robot name, a YAML path, a dict, or a loaded RobotConfig.
        bus: run every joint on this bus type instead of the config's buses (one of BUS_CHOICES).
        rate_hz: override the config's loop rate.
        priority, cpu, lock_memory: override the config's real-time settings.
        telemetry_capacity: samples the telemetry ring holds before it counts overflows.
        robot_id: this unit's name in a fleet (Zenoh key space, metrics, episode catalogue); default
            $HUMANOID_RT_ROBOT_ID, else "<config name>-<hostname>". See resolve_robot_id().
        floating: run the robot as a floating base (issue 13): the base state estimator runs in the loop on
            the IMU (model.imu) and feet (model.contacts), and a MuJoCo twin gets a free joint instead of a
            weld. Default: the config's model.base, or a mujoco bus's `floating` param.
    """

    STATE_CODES = STATE_CODES
    REASON_NAMES = REASON_NAMES

    def __init__(
        self,
        config: str | Path | Mapping | RobotConfig = "generic_humanoid",
        *,
        bus: str | None = None,
        rate_hz: float | None = None,
        priority: int | None = None,
        cpu: int | None = None,
        lock_memory: bool | None = None,
        telemetry_capacity: int = 8192,
        robot_id: str | None = None,
        floating: bool | None = None,
    ):
        self.config = config if isinstance(config, RobotConfig) else load_config(config)
        self.robot_id = resolve_robot_id(robot_id, self.config.name)
        if bus is not None and bus not in BUS_CHOICES:
            raise ValueError(f"bus: unknown bus {bus!r}; allowed: {', '.join(BUS_CHOICES)}")
        if bus == "can-virtual":  # ---- CAN ----: every joint on virtual CAN motors
            from .can.runtime import virtual_can_config

            self.config = virtual_can_config(self.config)
        self.can_network = None  # ---- CAN ----: the virtual motors of can-virtual buses, if any
        if rate_hz is not None and not (1 <= rate_hz <= 20000):
            raise ValueError(f"rate_hz: must be in 1..20000 (got {rate_hz!r})")
        loop_cfg = self.config.loop
        options = _core.LoopOptions()
        options.rate_hz = float(rate_hz or loop_cfg.rate_hz)
        options.priority = loop_cfg.priority if priority is None else priority
        chosen_cpu = loop_cfg.cpu if cpu is None else cpu
        if chosen_cpu is None and any(b.type == "can-virtual" for b in self.config.buses):  # ---- CAN ----
            # Virtual motors answer from C++ threads pinned with the loop: a stall of that (virtual)
            # CPU then delays the loop and its devices together, as on a robot, where the motors
            # answer on their own hardware and a host stall never turns into missed replies.
            chosen_cpu = max(os.sched_getaffinity(0))
        self._virtual_can_cpu = chosen_cpu
        options.cpu = -1 if chosen_cpu is None else chosen_cpu
        options.lock_memory = loop_cfg.lock_memory if lock_memory is None else lock_memory
        options.telemetry_decimation = loop_cfg.telemetry_decimation
        options.telemetry_capacity = telemetry_capacity
        self._loop_priority = options.priority

        self.joint_names: tuple[str, ...] = self.config.joint_names
        self._index = {name: i for i, name in enumerate(self.joint_names)}
        self._loop = _core.ControlLoop(options, [_joint_spec(j) for j in self.config.joints],
                                       _safety_params(self.config.safety))
        self.floating = self._floating_base(floating)
        bus_configs = self._bus_configs(bus)
        self.notes: list[str] = []

        # The whole-body model: gravity compensation, Cartesian tasks, null-space posture.
        self.model = _core.WholeBodyImpedance(str(self.config.urdf_path), list(self.joint_names),
                                              list(self.config.model.task_frames))
        self.task_frames: tuple[str, ...] = self.config.model.task_frames
        # Mock actuators and virtual CAN motors are models without gravity; the twin and real drives are not.
        plant_has_gravity = any(b.type not in ("mock", "can-virtual") for b in bus_configs)
        self._gravity_compensation = self.config.model.gravity_compensation and plant_has_gravity
        if self.config.model.gravity_compensation and not plant_has_gravity:
            self.notes.append("gravity compensation off: the simulated actuators of this bus have no gravity")
        self._loop.set_whole_body(self.model)
        self.base_estimator: _core.BaseStateEstimator | None = None
        if self.floating:  # ---- floating base (issue 13) ----
            from .floating_base import make_base_estimator

            self.base_estimator = make_base_estimator(self.config, self.period_s)
            imu = self.config.model.imu
            self._loop.set_base_sensing(self.base_estimator, imu.stale_cycles, imu.source == "device")
        # Standing (issue 13): the contact QP, or the fixed-base stopgap (floating_base.standing_gains).
        self.standing_controller: str | None = None
        self.standing: _core.ContactWbc | None = None
        if self.floating:
            from .floating_base import make_contact_qp, standing_controller

            self.standing_controller = standing_controller(self.config, plant_has_gravity)
            if self.standing_controller == "contact_qp":
                self.standing = make_contact_qp(self.config, self.period_s)
                self._loop.set_standing(self.standing)

        self.buses: dict[str, _core.Bus] = {}
        overridden = bus_configs is not self.config.buses
        try:
            for bus_cfg in bus_configs:
                joints = [i for i, j in enumerate(self.config.joints) if overridden or j.bus == bus_cfg.name]
                if not joints:
                    continue
                self.buses[bus_cfg.name] = self._make_bus(bus_cfg, joints)
                self._loop.add_bus(self.buses[bus_cfg.name], joints)
            self._loop.configure()
        except BaseException:
            if self.can_network is not None:  # ---- CAN ----: no virtual devices left serving
                self.can_network.close()
            raise
        self._loop.set_gravity_compensation(self._gravity_compensation)
        self._events: collections.deque[dict] = collections.deque(maxlen=10000)
        self._events_total = 0  # events ever pumped: the index events_since() counts in
        self._events_lock = threading.Lock()
        self._telemetry = TelemetryFanout(self._loop.drain_telemetry, telemetry_capacity)
        self._gains = (self.config.joint_array("kp"), self.config.joint_array("kd"))
        self._gain_bounds = (self.config.joint_array("limits.kp_max"), self.config.joint_array("limits.kd_max"))
        # A sane range for targets (the reference clamps them to the soft range): see set_joint_targets.
        q_min, q_max = self.config.joint_array("limits.q_min"), self.config.joint_array("limits.q_max")
        self._target_range = (q_min - 10 * (q_max - q_min), q_max + 10 * (q_max - q_min))
        self._velocity_limit = self.config.joint_array("limits.velocity")
        self._torque_limit = self.config.joint_array("limits.torque")
        self._realtime_report: dict | None = None
        self._previous_sigterm = None
        self._teleop = None  # TeleopReceiver, see attach_teleop()
        self._zenoh = None  # remote.RobotNode, see attach_zenoh()
        self.closed = False

    def _bus_configs(self, override: str | None) -> tuple[BusConfig, ...]:
        """The config's buses, or one bus of the `override` type carrying every joint."""
        buses = self.config.buses
        if override is None or all(b.type == override for b in buses):
            if any(b.type == "mujoco" and bool(b.params.get("floating")) != self.floating for b in buses):
                # The twin follows the robot's choice (Robot(floating=...) may override the config's).
                return tuple(BusConfig(name=b.name, type=b.type, params={**b.params, "floating": self.floating})
                             if b.type == "mujoco" else b for b in buses)
            return buses
        return (BusConfig(name=override, type=override, params={"floating": True} if self.floating else {}),)

    def _floating_base(self, requested: bool | None) -> bool:
        """Whether this robot runs as a floating base; a floating base needs model.imu and model.contacts."""
        model = self.config.model
        floating = requested if requested is not None else (
            model.base == "floating" or any(b.type == "mujoco" and b.params.get("floating") for b in self.config.buses))
        if floating and model.imu is None:
            raise ValueError("model.imu: missing: a floating base needs an IMU to estimate its orientation; allowed: "
                             "a mapping with keys: frame, stale_cycles, source (in the robot config)")
        if floating and not model.contacts:
            raise ValueError("model.contacts: missing: a floating base needs its feet's contact frames; allowed: "
                             "a list of mappings with keys: frame, sole, offset (in the robot config)")
        return bool(floating)

    def _make_bus(self, bus_cfg: BusConfig, joints: Sequence[int]) -> _core.Bus:
        params = bus_cfg.params
        if bus_cfg.type == "ethercat":  # ---- EtherCAT ----
            from .ethercat.bus import make_ethercat_bus

            return make_ethercat_bus(self.config, bus_cfg, joints)
        if bus_cfg.type == "mujoco":
            from .sim.mujoco_model import TwinJoint, actuator_name, build_mjcf

            options = _core.MujocoBusOptions()
            options.substeps = int(params.get("substeps", 1))
            options.position_noise_rad = float(params.get("position_noise_rad", 0.0))
            options.velocity_noise_rad_s = float(params.get("velocity_noise_rad_s", 0.0))
            options.seed = int(params.get("seed", 0))
            twin_joints = [TwinJoint(self.config.joints[j].name, self.config.joints[j].limits.torque) for j in joints]
            floating = bool(params.get("floating", False))
            if floating:  # ---- floating base (issue 13) ----
                from .floating_base import imu_options, twin_contacts

                imu_options(options, params)
            contacts = twin_contacts(self.config) if floating else ()
            self.mjcf = build_mjcf(self.config.urdf_path, twin_joints, timestep=self.period_s / options.substeps,
                                   joint_damping=float(params.get("joint_damping_nm_s_rad", 0.5)),
                                   armature=float(params.get("armature_kgm2", 0.01)),
                                   floor=bool(params.get("floor", True)), contacts=contacts,
                                   imu_frame=self.config.model.imu.frame if floating else None)
            twin = _core.MujocoBus(bus_cfg.name, self.mjcf, options)
            if floating:
                from .sim.mujoco_model import foot_bodies

                twin.set_feet(foot_bodies(self.mjcf, contacts))
            for j in joints:
                joint = self.config.joints[j]
                twin.set_joint(j, joint.name, actuator_name(joint.name),
                               _core.JointTransmission(joint.gear, float(joint.direction), joint.offset_rad))
            return twin
        if bus_cfg.type in ("can", "can-virtual"):  # ---- CAN ----
            from .can.runtime import make_can_bus

            return make_can_bus(self, bus_cfg, joints)
        options = _core.MockBusOptions()
        options.latency_cycles = int(params.get("latency_cycles", 1))
        options.position_noise_rad = float(params.get("position_noise_rad", 0.0))
        options.seed = int(params.get("seed", 0))
        mock = _core.MockBus(bus_cfg.name, options)
        for j in joints:
            joint = self.config.joints[j]
            actuator = _core.MockActuator()
            actuator.inertia_kgm2 = joint.mock.inertia
            actuator.viscous_nm_s_rad = joint.mock.viscous
            actuator.coulomb_nm = joint.mock.coulomb
            actuator.torque_limit_nm = joint.limits.torque
            mock.set_actuator(j, actuator, _core.JointTransmission(joint.gear, float(joint.direction), joint.offset_rad))
        return mock

    # ----------------------------------------------------------------- basics
    @property
    def n_joints(self) -> int:
        return len(self.joint_names)

    @property
    def rate_hz(self) -> float:
        return 1.0 / self._loop.period_s

    @property
    def period_s(self) -> float:
        return self._loop.period_s

    @property
    def limits_hash(self) -> str:
        """Hash of every limit in force; fixed for the robot's lifetime, logged with each episode."""
        return f"{self._loop.limits_hash:016x}"

    @property
    def running(self) -> bool:
        """True while the real-time thread runs."""
        return self._loop.running

    def joint_index(self, name: str) -> int:
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(f"joint: unknown joint {name!r}; allowed: {', '.join(self.joint_names)}") from None

    def twin(self) -> "_core.MujocoBus":
        """The MuJoCo digital-twin bus (when running on one)."""
        for bus in self.buses.values():
            if isinstance(bus, _core.MujocoBus):
                return bus
        raise TypeError("this robot does not run on the MuJoCo twin (bus='mujoco')")

    def mock_bus(self, joint: str | int) -> _core.MockBus:
        """The mock bus driving a joint (for fault injection in tests and demos)."""
        index = joint if isinstance(joint, int) else self.joint_index(joint)
        bus = self.buses.get(self.config.joints[index].bus) or next(iter(self.buses.values()))
        if not isinstance(bus, _core.MockBus):
            raise TypeError(f"joint {self.joint_names[index]} is not on a mock bus")
        return bus

    def ethercat_bus(self, joint: str | int) -> _core.EthercatBus:
        """The EtherCAT bus driving a joint (statistics, fault_reset(), drive states)."""
        index = joint if isinstance(joint, int) else self.joint_index(joint)
        bus = self.buses[self.config.joints[index].bus]
        if not isinstance(bus, _core.EthercatBus):
            raise TypeError(f"joint {self.joint_names[index]} is not on an EtherCAT bus")
        return bus

    @property
    def monotonic_epoch_ns(self) -> int:
        """CLOCK_MONOTONIC [ns] at loop time 0 of the latest real-time run (0 before any): loop time t
        happened at monotonic_epoch_ns + t * 1e9 on the clock devices and camera processes share."""
        return self._loop.monotonic_epoch_ns

    def now(self) -> float:
        """Loop time [s]: the clock setpoint timestamps refer to (simulated in stepped mode)."""
        return self._loop.now()

    # -------------------------------------------------------------- lifecycle
    def start(self) -> dict:
        """Start the real-time loop thread. Returns what real-time set-up was granted."""
        self._install_sigterm()
        self._set_realtime_buses(True)  # ---- CAN ----
        if self.can_network is not None:  # ---- CAN ----: replies due within a quarter period: C++ motors
            self.can_network.serve_natively(priority=max(0, self._loop_priority - 1), cpu=self._virtual_can_cpu)
        try:
            self._realtime_report = self._loop.start()
        except BaseException:
            self._set_realtime_buses(False)
            if self.can_network is not None:
                self.can_network.serve_in_python()
            raise
        return dict(self._realtime_report)

    @property
    def realtime_report(self) -> dict | None:
        return None if self._realtime_report is None else dict(self._realtime_report)

    def step(self, cycles: int = 1) -> RobotState:
        """Run `cycles` cycles now on the simulated clock (stepped mode) and return the state."""
        if isinstance(cycles, bool) or not isinstance(cycles, (int, np.integer)) or cycles < 0:
            raise ValueError(f"cycles: must be an integer >= 0 (got {cycles!r})")
        if self.running:
            raise RuntimeError("step(): the real-time loop is running; stepped mode is for a stopped loop")
        self._loop.step(int(cycles))
        self._pump_events()
        return self.state()

    def step_seconds(self, seconds: float) -> RobotState:
        return self.step(int(round(seconds * self.rate_hz)))

    def stop(self) -> None:
        """Safe stop: DAMPING (SS1) then DISABLED, torque off, loop thread joined."""
        self._loop.stop()
        self._set_realtime_buses(False)  # ---- CAN ----
        if self.can_network is not None:  # ---- CAN ----: stepped runs are served by the Python motors
            self.can_network.serve_in_python()
        self._pump_events()

    def _set_realtime_buses(self, realtime: bool) -> None:
        # ---- CAN ----: CAN buses wait briefly for replies in real time, long in stepped mode.
        for bus in self.buses.values():
            if hasattr(bus, "set_realtime"):
                bus.set_realtime(realtime)

    def close(self) -> None:
        if self.closed:
            return
        try:
            self.detach_zenoh()
            self.detach_teleop()
            self._detach_live_views()  # Foxglove server and /metrics (humanoid_rt.live)
            self.stop()
        finally:
            try:
                self._loop.deactivate()  # torque off at the drives even if stop() was interrupted
            finally:
                self.closed = True
                if self.can_network is not None:  # ---- CAN ----
                    self.can_network.close()
                self._restore_sigterm()

    def __enter__(self) -> "Robot":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _install_sigterm(self) -> None:
        # SIGTERM becomes KeyboardInterrupt in the main thread so `with` blocks unwind through close().
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
            def _raise_interrupt(signum, frame):
                raise KeyboardInterrupt(f"signal {signum}")
            self._previous_sigterm = signal.signal(signal.SIGTERM, _raise_interrupt)

    def _restore_sigterm(self) -> None:
        if self._previous_sigterm is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._previous_sigterm)
            self._previous_sigterm = None

    # ---------------------------------------------------------------- requests
    def enable(self, *, wait: bool | None = None, timeout: float = 5.0) -> None:
        """Request ENABLING (ramps in from the measured position), then ACTIVE.

        In real time, waits (GIL released) until ACTIVE and raises SafetyRefused if refused.
        In stepped mode the request is served by the next step().
        """
        self._request("enable", _core.RequestKind.ENABLE, wait, timeout, until=("ACTIVE",))

    def disable(self, *, wait: bool | None = None, timeout: float = 5.0) -> None:
        """Controlled stop (SS1): DAMPING, then DISABLED."""
        self._request("disable", _core.RequestKind.DISABLE, wait, timeout, until=("DISABLED", "FAULT", "ESTOP"))

    def reset(self, *, wait: bool | None = None, timeout: float = 1.0) -> None:
        """Clear a latched FAULT or ESTOP (refused while its cause persists; a joint outside its hard
        limit: recover()).

        Drives that latch faults themselves (CiA 402) are asked to reset first (reset_drive_faults());
        in real time this waits for them, in stepped mode step a few cycles between the two.
        """
        self.reset_drive_faults()
        if self.running and wait is not False:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and any(getattr(b, "fault_reset_pending", False)
                                                      for b in self.buses.values()):
                time.sleep(0.002)
        self._request("reset", _core.RequestKind.RESET, wait, timeout, until=("DISABLED",))

    def recover(self, *, wait: bool | None = None, timeout: float | None = None) -> None:
        """Bring joints outside their hard limits back inside (the FAULT reset() refuses for that reason).

        Accepted only in FAULT or ESTOP (not in the e-stop's own cycle) when joints beyond their hard
        limits are the one cause left: RECOVERY moves them back into their soft range at
        recovery_velocity_fraction of the velocity limit with torque capped at recovery_torque_fraction
        of the torque limit (every other joint holds where it is); once all are inside their soft range,
        DAMPING and DISABLED (reason recovery_complete). A joint pushed further out by hold_window_rad,
        or not back by recovery_timeout_s, is a FAULT (recovery_failed); disable() and estop() act as usual.
        In real time, waits (GIL released) until DISABLED; timeout defaults to recovery_timeout_s + damping.
        """
        if timeout is None:
            timeout = self.config.safety.recovery_timeout_s + self.config.safety.damping_time_s + 1.0
        self._request("recover", _core.RequestKind.RECOVER, wait, timeout, until=("DISABLED",))

    def reset_drive_faults(self) -> None:
        """Ask every drive in fault to reset (CiA 402: controlword bit 7 rising edge, from the loop)."""
        for bus in self.buses.values():  # ---- CAN ----
            if hasattr(bus, "request_fault_reset"):
                bus.request_fault_reset()

    def estop(self) -> None:
        """Emergency stop: reaches ESTOP at the next cycle, latched until reset()."""
        self._loop.estop()

    def _request(self, name: str, kind, wait: bool | None, timeout: float, until: tuple[str, ...]) -> None:
        request_id = self._loop.request(kind)
        if wait is None:
            wait = self.running
        if not wait:
            return
        if not self.running:
            raise RuntimeError(f"{name}(wait=True) needs the real-time loop running; in stepped mode call step()")
        deadline = time.monotonic() + timeout
        answered_cycle = None
        while time.monotonic() < deadline:
            self._pump_events()
            for event in self._events:
                if event["request_id"] == request_id:
                    if not event["accepted"]:
                        raise SafetyRefused(name, event, self.joint_names)
                    if name == "enable" and event["from_state"] == event["to_state"] in ("ACTIVE", "HOLD"):
                        return  # already enabled
                    answered_cycle = event["cycle"]
            # Judge the state only from a snapshot of a cycle after the answering one: the event ring can be
            # drained before the same cycle's snapshot is written, and before the first cycle's snapshot the
            # state reads as the initial one, also numbered cycle 0 (a first cycle slowed by a bus showed it).
            state = self.state() if answered_cycle is not None else None
            if state is not None and state.cycle > answered_cycle:
                if state.supervisor_state in until:
                    return
                if state.supervisor_state in ("FAULT", "ESTOP") or (
                        name == "enable" and state.supervisor_state in ("DAMPING", "DISABLED")):
                    # Accepted, then something else happened: it will not get there by waiting.
                    raise SafetyRefused(name, state.last_event, self.joint_names)
            if not self.running:
                break
            time.sleep(0.001)
        state = self.state()
        raise TimeoutError(f"{name}: state is {state.supervisor_state} ({state.reason}) after {timeout} s, "
                           f"expected {' or '.join(until)}")

    # ------------------------------------------------------------------ commands
    def _vector(self, value, name: str, minimum: float | None = None) -> np.ndarray:
        array = np.asarray(value, dtype=np.float64)
        if array.ndim == 0:
            array = np.full(self.n_joints, float(array))
        if array.shape != (self.n_joints,):
            raise ValueError(f"{name}: expected shape ({self.n_joints},) in joint order, got {array.shape}")
        bad = np.flatnonzero(~np.isfinite(array))
        if bad.size:
            raise ValueError(f"{name}[{bad[0]}] ({self.joint_names[bad[0]]}): must be finite (got {array[bad[0]]})")
        if minimum is not None:
            low = np.flatnonzero(array < minimum)
            if low.size:
                raise ValueError(f"{name}[{low[0]}] ({self.joint_names[low[0]]}): must be >= {minimum:g} "
                                 f"(got {array[low[0]]})")
        return array

    def _bounded(self, array: np.ndarray, name: str, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        bad = np.flatnonzero((array < low) | (array > high))
        if bad.size:
            j = bad[0]
            raise ValueError(f"{name}[{j}] ({self.joint_names[j]}): {array[j]:g} is out of range; "
                             f"allowed: {low[j]:g} .. {high[j]:g}")
        return array

    def set_joint_targets(
        self,
        q,
        dq=None,
        tau_ff=None,
        *,
        t: float | None = None,
        duration: float | None = None,
        ttl: float | None = None,
        source: str = "api",
    ) -> None:
        """Send joint targets [rad] to reach at loop time `t` (or `duration` seconds from now).

        dq: target velocity at t (default: estimated from the stream); tau_ff: feed-forward torque.
        ttl: seconds the stream counts as alive after this call (default: the config's watchdog
        TTL; 0 = never expires). When it lapses the supervisor goes to HOLD, then DAMPING.
        source: who is commanding (api, skill, policy; teleop is the receiver's), recorded with
        every setpoint in telemetry.
        Targets beyond the soft limits are clamped; the reference never exceeds the velocity and
        acceleration limits. Refused with ValueError: a target q outside [q_min - 10 span, q_max + 10 span]
        (span = q_max - q_min), |dq| above 10x the velocity limit, |tau_ff| above 10x the torque limit,
        and 0 < ttl < one loop period (it would expire before the loop applies it).
        """
        code = SETPOINT_SOURCES.get(source) if isinstance(source, str) else None
        if code is None:
            raise ValueError(f"source: unknown setpoint source {source!r}; allowed: {', '.join(SETPOINT_SOURCES)}")
        if t is not None and duration is not None:
            raise ValueError("give either t (loop time) or duration (seconds from now), not both")
        if ttl is None:
            ttl = self.config.safety.watchdog_ttl_s
        try:
            # The core checks shapes, finiteness, t/duration and ttl, and stamps t_written and t with one
            # clock read; on a refusal the checks below say which joint.
            self._loop.write_target(q, dq, tau_ff, t, DEFAULT_TARGET_DURATION_S if duration is None else duration,
                                    ttl, code)
        except (ValueError, TypeError):
            # Refused: raise the error naming the joint; or the arguments were valid in a form only the
            # Python checks convert (a scalar for every joint): send the converted vectors.
            q, dq, tau_ff = self._check_target(q, dq, tau_ff, t, duration, ttl)
            self._loop.write_target(q, dq, tau_ff, t, DEFAULT_TARGET_DURATION_S if duration is None else duration,
                                    ttl, code)

    def _check_target(self, q, dq, tau_ff, t, duration, ttl) -> tuple:
        """set_joint_targets' arguments checked in Python, for errors that name the joint; returns the
        vectors as (n_joints,) arrays."""
        if t is not None and not np.isfinite(t):
            raise ValueError(f"t: must be a finite loop time in seconds (got {t!r})")
        if t is None and duration is not None and not (duration >= 0 and np.isfinite(duration)):
            raise ValueError(f"duration: must be a finite number >= 0 (got {duration!r})")
        if not (np.isfinite(ttl) and ttl >= 0):
            raise ValueError(f"ttl: must be >= 0 seconds, 0 = never expires (got {ttl!r})")
        if 0 < ttl < self.period_s - 1e-12:
            raise ValueError(f"ttl: {ttl:g} s is shorter than one loop period ({self.period_s:g} s): the setpoint "
                             f"would expire before the loop applies it; allowed: 0 (never expires) or "
                             f">= {self.period_s:g} s")
        q = self._bounded(self._vector(q, "q"), "q", *self._target_range)
        if dq is not None:
            dq = self._bounded(self._vector(dq, "dq"), "dq", -10 * self._velocity_limit, 10 * self._velocity_limit)
        if tau_ff is not None:
            tau_ff = self._bounded(self._vector(tau_ff, "tau_ff"), "tau_ff", -10 * self._torque_limit,
                                   10 * self._torque_limit)
        return q, dq, tau_ff

    def set_gains(self, kp=None, kd=None) -> None:
        """Change joint-impedance gains while running; None keeps the gains in force.

        Each gain must be >= 0 and <= the joint's limits.kp_max / kd_max (ValueError names the joint).
        """
        kp = self._gains[0] if kp is None else self._vector(kp, "kp", minimum=0.0)
        kd = self._gains[1] if kd is None else self._vector(kd, "kd", minimum=0.0)
        for name, gains, bound in (("kp", kp, self._gain_bounds[0]), ("kd", kd, self._gain_bounds[1])):
            high = np.flatnonzero(gains > bound)
            if high.size:
                j = high[0]
                raise ValueError(f"{name}[{j}] ({self.joint_names[j]}): must be <= {bound[j]:g} "
                                 f"(limits.{name}_max; got {gains[j]:g})")
        self._loop.write_gains(kp, kd)
        self._gains = (kp.copy(), kd.copy())

    @property
    def gains(self) -> tuple[np.ndarray, np.ndarray]:
        """(kp, kd) in force, as last written (the config's defaults at start)."""
        return self._gains[0].copy(), self._gains[1].copy()

    def reset_gains(self) -> None:
        """Back to the config's default gains."""
        self.set_gains(self.config.joint_array("kp"), self.config.joint_array("kd"))

    # ---------------------------------------------------------------- whole body
    @staticmethod
    def _task_slot() -> dict:
        return {"enabled": False, "t_target": 0.0, "position": [0.0, 0.0, 0.0], "quaternion": [1.0, 0.0, 0.0, 0.0],
                "stiffness": [0.0] * 6, "damping": [0.0] * 6}

    def _task_index(self, frame: str) -> int:
        try:
            return self.task_frames.index(frame)
        except ValueError:
            raise KeyError(f"frame: {frame!r} is not a task frame; allowed: {', '.join(self.task_frames) or 'none'} "
                           f"(model.tasks in the robot config)") from None

    def set_frame_target(self, frame: str, pose, *, t: float | None = None, duration: float | None = None,
                         stiffness=None, damping=None) -> None:
        """Pull a frame toward a pose with a Cartesian impedance task (the posture acts in its null space).

        pose: a 4x4 homogeneous matrix, or (position[3], quaternion[4] as w, x, y, z), in the world
        (the fixed base) frame. The task's reference moves from where it is (from the frame's measured
        pose when the task switches on) to the pose, arriving at loop time `t` (or `duration` seconds
        from now; default at once). stiffness: 6 values [N/m x3, Nm/rad x3] or (translational,
        rotational); damping: likewise, default critically damped for a nominal load.
        """
        index = self._task_index(frame)
        position, quaternion = _pose_parts(pose)
        stiffness, damping = _task_gains(stiffness, damping)
        if t is not None and duration is not None:
            raise ValueError("give either t (loop time) or duration (seconds from now), not both")
        if duration is not None and not (np.isfinite(duration) and duration >= 0):
            raise ValueError(f"duration: must be a finite number >= 0 (got {duration!r})")
        if t is not None and not np.isfinite(t):
            raise ValueError(f"t: must be a finite loop time in seconds (got {t!r})")
        t_target = t if t is not None else self.now() + (duration or 0.0)
        # Only this frame's slot: the teleop receiver may drive the others.
        self._loop.write_task(index, {"enabled": True, "t_target": float(t_target), "position": position.tolist(),
                                      "quaternion": quaternion.tolist(), "stiffness": stiffness.tolist(),
                                      "damping": damping.tolist()})

    def clear_frame_target(self, frame: str) -> None:
        """Switch a frame's task off (the posture takes over the whole body)."""
        self._loop.write_task(self._task_index(frame), self._task_slot())

    def set_gravity_compensation(self, on: bool) -> None:
        self._gravity_compensation = bool(on)
        self._loop.set_gravity_compensation(self._gravity_compensation)

    @property
    def gravity_compensation(self) -> bool:
        return self._gravity_compensation

    def frame_pose(self, frame: str, q=None) -> np.ndarray:
        """4x4 pose of a URDF frame in the world at q (default: the measured q), from the model."""
        q = self.state().q if q is None else self._vector(q, "q")
        return self.model.frame_pose(list(q), frame)

    def task_errors(self) -> dict[str, dict]:
        """Per task acting in the last cycle (set here or by teleop): position_error [m], orientation_error
        [rad] and the reference position now."""
        tasks = self._loop.read_state()["tasks"]
        return {frame: {k: np.array(v) for k, v in tasks[i].items() if k != "enabled"}
                for i, frame in enumerate(self.task_frames) if tasks[i]["enabled"]}

    # ------------------------------------------------------------- floating base
    def _contact_qp(self) -> "_core.ContactWbc":
        if self.standing is None:
            raise RuntimeError("no contact QP: the robot is not floating or model.standing.controller is "
                               f"{self.standing_controller!r}; allowed: contact_qp")
        return self.standing

    def set_com_offset(self, offset, duration: float = 1.0) -> None:
        """Move the standing robot's centre of mass by `offset` [m] (x, y, z; world axes) from where it stood
        at enable, along a smooth path in `duration` s: z = -0.15 squats 15 cm. Contact QP only."""
        offset = np.asarray(offset, dtype=np.float64).reshape(-1)
        if offset.shape != (3,):
            raise ValueError(f"offset: three numbers x, y, z [m] (got {offset.tolist()!r})")
        self._contact_qp().set_reference(offset.tolist(), float(duration))

    def standing_status(self) -> dict:
        """The contact QP's last cycle: CoM and its reference, CoM margin to the support polygon, per-foot
        CoP (sole axes), CoP margin and normal force, QP success and constraint residuals."""
        return self._contact_qp().read_status()

    def standing_statistics(self) -> dict:
        """Contact QP counters since construction: solves, failures (fallback cycles), consecutive failures,
        the largest constraint residuals of any solution and the smallest CoP / CoM margins."""
        return self._contact_qp().statistics()

    def base_state(self) -> dict:
        """The base state estimator's latest output (floating base, issue 13): position, velocity (world),
        orientation (w, x, y, z), angular_velocity (base axes), foot_position (n_contacts, 3), contact,
        covariance_diagonal, the IMU sample it used and the measured foot forces. valid is False until
        the estimator has run (or when the robot is not floating)."""
        return self._loop.read_base_state()

    def write_imu(self, orientation, gyro, accel) -> None:
        """A real IMU's sample from its device thread (model.imu.source: device); wait-free for the loop."""
        from .floating_base import imu_sample

        self._loop.write_imu(*imu_sample(orientation, gyro, accel), t=self.now())

    # ------------------------------------------------------------------- reading
    def state(self) -> RobotState:
        """The newest snapshot as a new, self-contained RobotState (keep it as long as you like).
        For a tight loop, `read_state(out=view)` refills one StateView in place instead."""
        cycle, t, code, event, rows, drive_error, fresh = self._loop.read_state_compact()
        return RobotState(
            cycle=cycle, time=t, supervisor_state=_STATE_NAMES[code], last_event=event,
            q=rows[0], dq=rows[1], tau=rows[2], tau_command=rows[3], q_ref=rows[4], dq_ref=rows[5],
            temperature_c=rows[6], drive_error=drive_error, fresh=fresh,
            base=self._loop.read_base_state() if self.floating else None,
        )

    def read_state(self, out: StateView | None = None) -> StateView:
        """The newest state in a reusable StateView: `out` refilled in place (no allocation), or a new
        view when None. Its arrays change at the next refill; copy what you keep (see state_view.py)."""
        if out is None:
            out = StateView(self._loop)
        return out.update()

    def statistics(self) -> dict:
        """Loop statistics: cycles, overruns, wakeup-latency and compute-time percentiles [us]."""
        return self._loop.statistics()

    def drain_telemetry(self, max_samples: int = 65536) -> dict[str, np.ndarray]:
        """Every telemetry sample since the last drain, as arrays with one row per sample.

        Keys: cycle, t, state (SupervisorState codes), reason, compute_ns, q, dq,
        tau_measured, q_ref, dq_ref, tau_command ((k, n_joints) arrays), and the applied
        setpoint's setpoint_sequence, setpoint_source (SetpointSource codes),
        setpoint_t_written, setpoint_applied_t, setpoint_t_target; and the base state estimator's
        base_valid, base_position, base_velocity, base_angular_velocity ((k, 3)), base_orientation
        ((k, 4) w-x-y-z), base_contact ((k, n_contacts)) and base_covariance ((k, 6 + 3 n_contacts))
        when the robot has a floating base (absent on a fixed base).
        This is one reader among the telemetry taps (see telemetry_tap()): a recorder
        draining its own tap takes nothing from it. The arrays are shared with the other
        readers, so they are read-only: copy one to change it.
        """
        return self._telemetry.default_tap().drain(max_samples)

    def telemetry_tap(self, capacity: int | None = None) -> TelemetryTap:
        """A reader of its own: every telemetry sample from now on, whoever else drains.

        Keeps up to `capacity` samples (default: the ring's) between drains; beyond that the
        oldest are dropped and counted in `tap.dropped`. Close it when done.
        """
        return self._telemetry.tap(capacity)

    def _pump_events(self) -> None:
        with self._events_lock:
            events = self._loop.drain_events()
            self._events.extend(events)
            self._events_total += len(events)

    def events(self) -> list[dict]:
        """Every supervisor transition and refusal so far (the newest 10,000)."""
        self._pump_events()
        return list(self._events)

    def events_since(self, index: int) -> tuple[list[dict], int]:
        """Events after the first `index` ever seen, and the index to pass next time
        (for readers that poll, such as a recorder; at most the newest 10,000)."""
        self._pump_events()
        with self._events_lock:
            total = self._events_total
            count = min(total - index, len(self._events))
            return (list(self._events)[len(self._events) - count:] if count > 0 else []), total

    def wait_for_state(self, *states: str, timeout: float = 5.0) -> RobotState:
        """Real time only: wait until the supervisor is in one of `states`."""
        if not self.running and self.state().supervisor_state not in states:
            raise RuntimeError("wait_for_state() needs the real-time loop running; in stepped mode call step()")
        deadline = time.monotonic() + timeout
        while True:
            state = self.state()
            if state.supervisor_state in states:
                return state
            if time.monotonic() >= deadline:
                raise TimeoutError(f"state is {state.supervisor_state} ({state.reason}), expected {' or '.join(states)}")
            time.sleep(0.001)

    def iter_states(self, period_s: float) -> Iterator[RobotState]:
        """Yield the state every `period_s` of wall-clock time while the loop runs (for monitors)."""
        next_time = time.monotonic()
        while self.running:
            yield self.state()
            next_time += period_s
            time.sleep(max(0.0, next_time - time.monotonic()))

    # ------------------------------------------------------------------ teleop
    def attach_teleop(self, *, key: bytes | None = None, key_file: str | Path | None = None,
                      host: str = "127.0.0.1", port: int = 0, hand_joints=None, pose_stiffness=None,
                      pose_damping=None, **options):
        """Start the teleop receiver (a C++ thread) on udp://host:port; returns the TeleopReceiver.

        Binds to localhost unless `host` says otherwise. Key: bytes or a hex key file.
        options: start_gate_rad, ramp_velocity_fraction, velocity_fraction, max_step_rad,
        replay_window, priority, poll_timeout_s (humanoid_rt.teleop.receiver.DEFAULTS).
        hand_joints: {"left"|"right": [(joint name, open_q, closed_q), ...]} maps hand targets to joints.
        Frame poses (frame_id = index into task_frames) drive the frames' Cartesian tasks with
        pose_stiffness / pose_damping (as set_frame_target's stiffness / damping; defaults
        DEFAULT_TASK_STIFFNESS, critically damped); pose_start_gate_m / pose_start_gate_rad bound how
        far the first pose of a frame may be from its measured pose.
        """
        from .teleop.receiver import TeleopReceiver, key_from

        if self._teleop is not None:
            raise RuntimeError(f"teleop already attached on {self._teleop.url}; detach_teleop() first")
        stiffness, damping = _task_gains(pose_stiffness, pose_damping, prefix="pose_")
        self._teleop = TeleopReceiver(self._loop, key_from(key, key_file), host=host, port=port,
                                      joint_names=self.joint_names, hand_joints=hand_joints,
                                      pose_stiffness=stiffness.tolist(), pose_damping=damping.tolist(), **options)
        return self._teleop

    def detach_teleop(self) -> None:
        """Stop the teleop receiver (the robot's watchdog then holds and damps as the stream lapses)."""
        if self._teleop is not None:
            self._teleop.close()
            self._teleop = None

    @property
    def teleop(self):
        """The attached TeleopReceiver, or None."""
        return self._teleop

    def teleop_statistics(self) -> dict:
        """The teleop receiver's counters and latencies (see TeleopReceiver.statistics)."""
        if self._teleop is None:
            raise RuntimeError("no teleop receiver attached; call attach_teleop() first")
        return self._teleop.statistics()

    # ------------------------------------------------------------------- Zenoh
    def attach_zenoh(self, options=None, *, key: bytes | None = None, key_file: str | Path | None = None, **kwargs):
        """Put this robot on Zenoh (humanoid_rt/<robot_id>/...; firmware_interfaces/zenoh/KEYS.md); returns the node.

        options: a remote.SessionOptions (mode, endpoints, TLS). key / key_file: the teleop key that
        authenticates cmd/* packets and request/* queries (the UDP teleop receiver is reused when attached).
        kwargs: state_rate_hz, health_period_s, request_timeout_s, session, and teleop receiver options.
        """
        from .remote.robot_node import RobotNode

        if self._zenoh is not None:
            raise RuntimeError("zenoh already attached; detach_zenoh() first")
        self._zenoh = RobotNode(self, options, key=key, key_file=key_file, **kwargs)
        return self._zenoh

    def detach_zenoh(self) -> None:
        """Leave Zenoh (the liveliness token goes; a command stream lapses into the watchdog)."""
        if self._zenoh is not None:
            node, self._zenoh = self._zenoh, None
            node.close()

    @property
    def zenoh(self):
        """The attached remote.RobotNode, or None."""
        return self._zenoh
