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
import signal
import threading
import time
from pathlib import Path
from typing import Mapping

import numpy as np

from . import _core
from .buses import override_choices, plugin_for, plugin_for_override
from .buses.access import BusAccess
from .config import BusConfig, RobotConfig, load_config
from .errors import HumanoidRtError
from .live.attach import LiveViews
from .loop_specs import joint_spec, safety_params
from .robot_id import RESERVED_ROBOT_IDS, _ROBOT_ID_PATTERN, resolve_robot_id  # noqa: F401 (re-exported)
from .robot_reading import StateReading
from .robot_remote import RemoteAttachments
from .robot_state import REASON_NAMES, STATE_CODES, RobotState, SafetyRefused  # noqa: F401 (re-exported)
from .poses import pose_parts  # noqa: F401 (re-exported)
from .supervisor_state import SupervisorState  # noqa: F401 (re-exported)
from .task_targets import DEFAULT_TASK_STIFFNESS, task_gains  # noqa: F401 (re-exported)
from .telemetry import TelemetryFanout

#: Bus types a robot can be run on, overriding the config's buses (the bus plug-ins' overrides: the
#: mock bus, the MuJoCo digital twin, virtual CAN motors on four CAN-FD buses).
BUS_CHOICES = override_choices()

#: Who may write joint setpoints from Python (teleop's receiver writes its own), as recorded.
SETPOINT_SOURCES = {"api": _core.SetpointSource.API, "skill": _core.SetpointSource.SKILL,
                    "policy": _core.SetpointSource.POLICY}

# Default time to reach a target when neither t nor duration is given: long
# enough that a far target is not a step, short enough for interactive use.
DEFAULT_TARGET_DURATION_S = 0.1


class Robot(StateReading, RemoteAttachments, LiveViews, BusAccess):
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
        if bus is not None:  # the plug-in may move the joints (can-virtual: onto four virtual CAN-FD buses)
            self.config = plugin_for_override(bus).override_config(self.config, bus)
        if rate_hz is not None and not (1 <= rate_hz <= 20000):
            raise ValueError(f"rate_hz: must be in 1..20000 (got {rate_hz!r})")
        loop_cfg = self.config.loop
        options = _core.LoopOptions()
        options.rate_hz = float(rate_hz or loop_cfg.rate_hz)
        options.priority = loop_cfg.priority if priority is None else priority
        chosen_cpu = loop_cfg.cpu if cpu is None else cpu
        if chosen_cpu is None and any(plugin_for(b.type).pins_loop(b) for b in self.config.buses):
            chosen_cpu = max(os.sched_getaffinity(0))  # the last CPU, shared with the bus's devices (pins_loop)
        self.loop_cpu: int | None = chosen_cpu  # the loop thread's CPU (None: not pinned)
        options.cpu = -1 if chosen_cpu is None else chosen_cpu
        options.lock_memory = loop_cfg.lock_memory if lock_memory is None else lock_memory
        options.telemetry_decimation = loop_cfg.telemetry_decimation
        options.control_budget_us = loop_cfg.control_budget_us or 0.0  # 0: a third of the period
        options.telemetry_capacity = telemetry_capacity
        self.loop_priority: int = options.priority  # SCHED_FIFO priority of the loop thread (0: none)

        self.joint_names: tuple[str, ...] = self.config.joint_names
        self._index = {name: i for i, name in enumerate(self.joint_names)}
        self._loop = _core.ControlLoop(options, [joint_spec(j) for j in self.config.joints],
                                       safety_params(self.config.safety))
        self.floating = self._floating_base(floating)
        bus_configs, overridden = self._bus_configs(bus)
        # The plug-ins of the buses this robot runs, once each: their hooks follow the robot's lifecycle.
        self._bus_plugins = tuple(dict.fromkeys(plugin_for(b.type) for b in bus_configs))
        self.notes: list[str] = []

        # The whole-body model: gravity compensation, Cartesian tasks, null-space posture.
        self.model = _core.WholeBodyImpedance(str(self.config.urdf_path), list(self.joint_names),
                                              list(self.config.model.task_frames))
        self.task_frames: tuple[str, ...] = self.config.model.task_frames
        # Mock actuators and virtual CAN motors are models without gravity; the twin and real drives are not.
        plant_has_gravity = any(b.type not in plugin_for(b.type).gravity_free for b in bus_configs)
        self._gravity_compensation = self.config.model.gravity_compensation and plant_has_gravity
        if self.config.model.gravity_compensation and not plant_has_gravity:
            self.notes.append("gravity compensation off: the simulated actuators of this bus have no gravity")
        self._loop.set_whole_body(self.model)
        self.base_estimator: _core.BaseStateEstimator | None = None
        self.standing_safety: _core.StandingSafety | None = None  # floating base: crouch stops, falls (standing_safety.py)
        # Standing (issue 13): the contact QP, or the fixed-base stopgap (floating_base.standing_gains).
        self.standing_controller: str | None = None
        self.standing: _core.ContactWbc | None = None
        self._com_offset = np.zeros(3)  # the last set_com_offset (the QP keeps it across enables)
        if self.floating:  # ---- floating base (issue 13) ----
            from .floating_base import make_base_estimator, make_contact_qp, standing_controller
            from .standing_safety import make_standing_safety  # stops and fall protection of a standing robot

            self.base_estimator = make_base_estimator(self.config, self.period_s)
            imu = self.config.model.imu
            self._loop.set_base_sensing(self.base_estimator, imu.stale_cycles, imu.source == "device")
            self.standing_controller = standing_controller(self.config, plant_has_gravity)
            self.standing_safety = make_standing_safety(self.config,
                                                        stiffen_legs=self.standing_controller == "contact_qp")
            self._loop.set_standing_safety(self.standing_safety)
            if self.standing_controller == "contact_qp":
                self.standing = make_contact_qp(self.config, self.period_s)
                self._loop.set_standing(self.standing)

        self.buses: dict[str, _core.Bus] = {}
        self._bus_of_joint: list[str] = [""] * self.n_joints  # joint index -> name of the bus driving it
        try:
            for bus_cfg in bus_configs:
                joints = [i for i, j in enumerate(self.config.joints) if overridden or j.bus == bus_cfg.name]
                if not joints:
                    continue
                self.buses[bus_cfg.name] = plugin_for(bus_cfg.type).build(self, bus_cfg, joints)
                self._loop.add_bus(self.buses[bus_cfg.name], joints)
                for j in joints:
                    self._bus_of_joint[j] = bus_cfg.name
            self._loop.configure()
        except BaseException:
            for plugin in self._bus_plugins:  # e.g. no virtual devices left serving
                plugin.close(self)
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

    def _bus_configs(self, override: str | None) -> tuple[tuple[BusConfig, ...], bool]:
        """The buses to run, and whether one of them carries every joint (an override of the config's)."""
        buses = self.config.buses
        if override is None or all(b.type == override for b in buses):
            # Buses follow the robot's floating choice (Robot(floating=...) may override the config's).
            return tuple(plugin_for(b.type).with_floating(b, self.floating) for b in buses), False
        return (plugin_for_override(override).override_bus(override, self.floating),), True

    def _floating_base(self, requested: bool | None) -> bool:
        """Whether this robot runs as a floating base; a floating base needs model.imu and model.contacts."""
        model = self.config.model
        floating = requested if requested is not None else (
            model.base == "floating" or any(plugin_for(b.type).floating(b) for b in self.config.buses))
        if floating and model.imu is None:
            raise ValueError("model.imu: missing: a floating base needs an IMU to estimate its orientation; allowed: "
                             "a mapping with keys: frame, stale_cycles, source (in the robot config)")
        if floating and not model.contacts:
            raise ValueError("model.contacts: missing: a floating base needs its feet's contact frames; allowed: "
                             "a list of mappings with keys: frame, sole, offset (in the robot config)")
        return bool(floating)

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
        self._set_realtime_buses(True)
        for plugin in self._bus_plugins:  # e.g. virtual CAN motors answer from C++ threads in real time
            plugin.start(self)
        try:
            self._realtime_report = self._loop.start()
        except BaseException:
            self._set_realtime_buses(False)
            for plugin in self._bus_plugins:
                plugin.stop(self)
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
        self._set_realtime_buses(False)
        for plugin in self._bus_plugins:  # e.g. stepped runs are served by the Python virtual motors
            plugin.stop(self)
        self._pump_events()

    def _set_realtime_buses(self, realtime: bool) -> None:
        # Buses that wait for replies wait briefly in real time, long in stepped mode (Bus.set_realtime).
        for bus in self.buses.values():
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
                for plugin in self._bus_plugins:
                    plugin.close(self)
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
            while time.monotonic() < deadline and any(b.fault_reset_pending for b in self.buses.values()):
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
        for bus in self.buses.values():
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

        pose: a pinocchio.SE3, a 4x4 homogeneous matrix, or (position[3], quaternion[4] as w, x, y, z),
        in the world (the fixed base) frame (humanoid_rt.poses). The task's reference moves from where it
        is (from the frame's measured pose when the task switches on) to the pose, arriving at loop time
        `t` (or `duration` seconds from now; default at once). stiffness: 6 values [N/m x3, Nm/rad x3] or (translational,
        rotational); damping: likewise, default critically damped for a nominal load.
        """
        index = self._task_index(frame)
        position, quaternion = pose_parts(pose)
        stiffness, damping = task_gains(stiffness, damping)
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
    def fall_margins(self) -> dict:
        """The fall detector's figures of the last cycle (stepped mode or loop stopped): base tilt [rad] and
        the CoM's signed distance from the support polygon's border [m] (> 0 outside; NaN: no contact),
        with their limits (floating_base.fall)."""
        detector = None if self.standing_safety is None else self.standing_safety.detector
        if detector is None:
            raise RuntimeError("fall_margins(): fall detection runs on a floating-base robot with fall.enabled")
        if self.running:
            raise RuntimeError("fall_margins(): read in stepped mode or with the loop stopped")
        options = detector.options
        return {"tilt_rad": detector.last_tilt, "tilt_limit_rad": options.tilt_rad,
                "com_distance_m": detector.last_com_distance, "com_margin_m": options.com_margin_m}

    def confirm_supported(self) -> None:
        """A crouch stop holds the robot in its crouch until it is down or supported: this says it is on a
        support (crane, stand, floor), so the stop ends with damping, then torque off (standing_safety.py)."""
        if self.standing_safety is None:
            raise RuntimeError("confirm_supported(): only a floating-base robot crouches when it stops")
        self.standing_safety.confirm_supported()

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
        self._com_offset = offset.copy()

    @property
    def com_offset(self) -> np.ndarray:
        """The CoM offset last given to set_com_offset [m] (zeros before the first): where the contact QP's CoM
        reference is (or is heading), relative to where the robot stood at enable."""
        return self._com_offset.copy()

    def set_base_target(self, height_offset_m: float = 0.0, rpy=(0.0, 0.0, 0.0), duration: float = 1.0) -> None:
        """Move the standing robot's pelvis `height_offset_m` [m] from where it stood at enable and turn it to
        roll, pitch, yaw `rpy` [rad] (stance frame), along a smooth path in `duration` s (no faster than the
        configured speeds). Bounded by model.standing.base_target; contact QP only (base_target.py)."""
        from .base_target import set_base_target

        set_base_target(self, height_offset_m, rpy, duration)

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
