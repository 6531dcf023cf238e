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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from . import _core
from .config import RobotConfig, load_config

#: Bus types a robot can be run on, overriding the config's buses.
BUS_CHOICES = ("mock", "can-virtual")

# Default time to reach a target when neither t nor duration is given: long
# enough that a far target is not a step, short enough for interactive use.
DEFAULT_TARGET_DURATION_S = 0.1

#: Supervisor state name -> the code used in telemetry arrays.
STATE_CODES = {name: int(value) for name, value in _core.SupervisorState.__members__.items()}
#: Telemetry reason code -> reason name (as in events and RobotState.reason).
REASON_NAMES = {int(value): name for name, value in _core.Reason.__members__.items()}


class SafetyRefused(RuntimeError):
    """The supervisor refused a request (enable, reset, ...); the event says why."""

    def __init__(self, request: str, event: Mapping[str, Any]):
        joint = event.get("joint", -1)
        where = f" (joint {joint}: value {event['value']:.6g}, limit {event['limit']:.6g})" if joint >= 0 else ""
        super().__init__(f"{request} refused in {event['from_state']}: {event['reason']}{where}")
        self.event = dict(event)


@dataclass(frozen=True)
class RobotState:
    """One snapshot of the loop, consistent within itself. Arrays have shape (n_joints,)."""

    cycle: int
    time: float  # loop time [s]
    supervisor_state: str  # DISABLED, ENABLING, ACTIVE, HOLD, DAMPING, FAULT, ESTOP
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

    @property
    def reason(self) -> str:
        return self.last_event["reason"]


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
    spec.limits = limits
    spec.kp, spec.kd = joint.kp, joint.kd
    spec.mode = _core.CommandMode.DRIVE_IMPEDANCE if joint.command_mode == "drive_impedance" else _core.CommandMode.TORQUE
    return spec


def _safety_params(safety) -> _core.SafetyParams:
    params = _core.SafetyParams()
    for name in (
        "hold_timeout_s", "hold_window_rad", "damping_time_s", "enable_ramp_s", "max_missed_replies",
        "encoder_jump_rad", "frozen_encoder_cycles", "frozen_torque_nm", "overspeed_factor", "estop_category",
        "temperature_limit_c",
    ):
        setattr(params, name, getattr(safety, name))
    return params


class Robot:
    """A robot: its config, its control loop and its buses.

    Args:
        config: a bundled robot name, a YAML path, a dict, or a loaded RobotConfig.
        bus: run every joint on this bus type instead of the config's buses (one of BUS_CHOICES).
        rate_hz: override the config's loop rate.
        priority, cpu, lock_memory: override the config's real-time settings.
        telemetry_capacity: samples the telemetry ring holds before it counts overflows.
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
    ):
        self.config = config if isinstance(config, RobotConfig) else load_config(config)
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
        self.buses: dict[str, _core.Bus] = {}
        try:
            for bus_cfg in self.config.buses:
                joints = [i for i, j in enumerate(self.config.joints) if j.bus == bus_cfg.name]
                if not joints:
                    continue
                self.buses[bus_cfg.name] = self._make_bus(bus_cfg, joints)
                self._loop.add_bus(self.buses[bus_cfg.name], joints)
            self._loop.configure()
        except BaseException:
            if self.can_network is not None:  # ---- CAN ----: no virtual devices left serving
                self.can_network.close()
            raise
        self._events: collections.deque[dict] = collections.deque(maxlen=10000)
        self._realtime_report: dict | None = None
        self._previous_sigterm = None
        self.closed = False

    def _make_bus(self, bus_cfg, joints: Sequence[int]) -> _core.Bus:
        if bus_cfg.type in ("can", "can-virtual"):  # ---- CAN ----
            from .can.runtime import make_can_bus

            return make_can_bus(self, bus_cfg, joints)
        options = _core.MockBusOptions()
        options.latency_cycles = int(bus_cfg.params.get("latency_cycles", 1))
        options.position_noise_rad = float(bus_cfg.params.get("position_noise_rad", 0.0))
        options.seed = int(bus_cfg.params.get("seed", 0))
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

    def mock_bus(self, joint: str | int) -> _core.MockBus:
        """The mock bus driving a joint (for fault injection in tests and demos)."""
        index = joint if isinstance(joint, int) else self.joint_index(joint)
        bus = self.buses[self.config.joints[index].bus]
        if not isinstance(bus, _core.MockBus):
            raise TypeError(f"joint {self.joint_names[index]} is not on a mock bus")
        return bus

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
        if cycles < 0:
            raise ValueError(f"cycles: must be >= 0 (got {cycles})")
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
            self.stop()
            self._loop.deactivate()
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
        """Clear a latched FAULT or ESTOP (refused while its cause persists).

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
        answered = False
        while time.monotonic() < deadline:
            self._pump_events()
            for event in self._events:
                if event["request_id"] == request_id:
                    if not event["accepted"]:
                        raise SafetyRefused(name, event)
                    answered = True
            if answered and self.state().supervisor_state in until:
                return
            if not self.running:
                break
            time.sleep(0.001)
        state = self.state()
        raise TimeoutError(f"{name}: state is {state.supervisor_state} ({state.reason}) after {timeout} s, "
                           f"expected {' or '.join(until)}")

    # ------------------------------------------------------------------ commands
    def _vector(self, value, name: str) -> np.ndarray:
        array = np.asarray(value, dtype=np.float64)
        if array.ndim == 0:
            array = np.full(self.n_joints, float(array))
        if array.shape != (self.n_joints,):
            raise ValueError(f"{name}: expected shape ({self.n_joints},) in joint order, got {array.shape}")
        bad = np.flatnonzero(~np.isfinite(array))
        if bad.size:
            raise ValueError(f"{name}[{bad[0]}] ({self.joint_names[bad[0]]}): must be finite (got {array[bad[0]]})")
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
    ) -> None:
        """Send joint targets [rad] to reach at loop time `t` (or `duration` seconds from now).

        dq: target velocity at t (default: estimated from the stream); tau_ff: feed-forward torque.
        ttl: seconds the stream counts as alive after this call (default: the config's watchdog
        TTL; 0 = never expires). When it lapses the supervisor goes to HOLD, then DAMPING.
        Targets beyond the soft limits are clamped; the reference never exceeds the velocity limit.
        """
        if t is not None and duration is not None:
            raise ValueError("give either t (loop time) or duration (seconds from now), not both")
        now = self.now()
        if t is None:
            if duration is not None and not (duration >= 0 and np.isfinite(duration)):
                raise ValueError(f"duration: must be a finite number >= 0 (got {duration!r})")
            t = now + (DEFAULT_TARGET_DURATION_S if duration is None else duration)
        if ttl is None:
            ttl = self.config.safety.watchdog_ttl_s
        self._loop.write_setpoint(
            self._vector(q, "q"),
            None if dq is None else self._vector(dq, "dq"),
            None if tau_ff is None else self._vector(tau_ff, "tau_ff"),
            t_target=float(t),
            ttl=float(ttl),
            t_written=now,
        )

    def set_gains(self, kp=None, kd=None) -> None:
        """Change joint-impedance gains while running (None keeps the config's defaults)."""
        default_kp = self.config.joint_array("kp")
        default_kd = self.config.joint_array("kd")
        kp = default_kp if kp is None else self._vector(kp, "kp")
        kd = default_kd if kd is None else self._vector(kd, "kd")
        self._loop.write_gains(kp, kd)

    # ------------------------------------------------------------------- reading
    def state(self) -> RobotState:
        s = self._loop.read_state()
        return RobotState(
            cycle=s["cycle"], time=s["t"], supervisor_state=s["state"].name, last_event=s["last_event"],
            q=s["q"], dq=s["dq"], tau=s["tau_measured"], tau_command=s["tau_command"], q_ref=s["q_ref"],
            dq_ref=s["dq_ref"], temperature_c=s["temperature_c"], drive_error=s["drive_error"], fresh=s["fresh"],
        )

    def statistics(self) -> dict:
        """Loop statistics: cycles, overruns, wakeup-latency and compute-time percentiles [us]."""
        return self._loop.statistics()

    def drain_telemetry(self, max_samples: int = 65536) -> dict[str, np.ndarray]:
        """Every telemetry sample since the last drain, as arrays with one row per sample.

        Keys: cycle, t, state (SupervisorState codes), reason, compute_ns, q, dq,
        tau_measured, q_ref, dq_ref, tau_command ((k, n_joints) arrays).
        """
        return self._loop.drain_telemetry(int(max_samples))

    def _pump_events(self) -> None:
        self._events.extend(self._loop.drain_events())

    def events(self) -> list[dict]:
        """Every supervisor transition and refusal so far (the newest 10,000)."""
        self._pump_events()
        return list(self._events)

    def wait_for_state(self, *states: str, timeout: float = 5.0) -> RobotState:
        """Real time only: wait until the supervisor is in one of `states`."""
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
