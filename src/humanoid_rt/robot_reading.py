"""Reading a Robot: state snapshots, statistics, telemetry taps, supervisor events (a mixin, so robot.py
stays small). Nothing here touches the RT thread: every read goes through the core's lock-free buffers."""

from __future__ import annotations

import time
from typing import Iterator

import numpy as np

from .robot_state import _STATE_NAMES, RobotState
from .supervisor_state import SupervisorState
from .state_view import StateView
from .telemetry import TelemetryTap


class StateReading:
    """state, read_state, statistics, telemetry, events and waiting on the supervisor."""

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
        """Loop statistics as plain data (`_core.LoopStatistics.to_dict()`, keys in README "Statistics"):
        cycles, overruns, skipped_periods, ..., control_budget_overruns, control_budget_us, wakeup_latency,
        compute_time and control_time ({count, mean_us, p50_us, p90_us, p99_us, p999_us, max_us})."""
        return self._loop.statistics().to_dict()

    def drain_telemetry(self, max_samples: int = 65536) -> dict[str, np.ndarray]:
        """Every telemetry sample since the last drain, as arrays with one row per sample.

        Keys: cycle, t, state (SupervisorState codes), reason, compute_ns, q, dq,
        tau_measured, q_ref, dq_ref, tau_command ((k, n_joints) arrays), and the applied
        setpoint's setpoint_sequence, setpoint_source (SetpointSource codes),
        setpoint_t_written, setpoint_applied_t, setpoint_t_target; and when the robot has a floating
        base (absent on a fixed base), with nc = its contact points: the base state estimator's
        base_valid, base_position, base_velocity, base_angular_velocity ((k, 3)), base_orientation
        ((k, 4) w-x-y-z), base_contact ((k, nc)), base_foot_position ((k, nc, 3)) and base_covariance
        ((k, 6 + 3 nc)); the IMU sample it used: imu_sequence, imu_t, imu_orientation ((k, 4)),
        imu_gyro, imu_accel ((k, 3)); the contact QP's qp_ran, qp_ok, qp_com, qp_com_reference ((k, 3)),
        qp_com_margin, qp_cop_margin, qp_normal_force ((k, nc)); the fall detector's fall_checked,
        fall_tilt, fall_com_distance. NaN where that part did not run in the cycle (recording/FORMAT.md).
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

    def wait_for_state(self, *states: SupervisorState | str, timeout: float = 5.0) -> RobotState:
        """Real time only: wait until the supervisor is in one of `states` (members or their names)."""
        states = tuple(SupervisorState.parse(state, "wait_for_state") for state in states)
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
