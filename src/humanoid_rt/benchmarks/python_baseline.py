"""The pure-Python loop a competent user would write for the same job, to compare ours against.

One cycle does the work of the C++ loop's cycle with gravity compensation and joint impedance on
the mock buses, written with numpy (vectorised over joints) and Pinocchio's Python bindings:

1. read: the simulated actuators (the mock bus's model: 4 semi-implicit substeps with implicit
   viscous and impulse Coulomb friction, torque limit, gravity load, one cycle of command latency),
   encoder noise, and the transmission to the joint side (gear, direction, offset);
2. checks, as the supervisor makes them: finite q/dq/tau, drive error codes, temperature, hard
   position limits, missed replies, encoder jump and frozen encoder, overspeed (any one -> FAULT or
   DAMPING, and the loop stops commanding torque);
3. reference: cubic Hermite interpolation toward the target, the per-cycle step limit (velocity
   limit x period) and the soft position limits;
4. control: gravity torque g(q) from `pinocchio.computeGeneralizedGravity` plus joint impedance
   kp (q_ref - q) + kd (dq_ref - dq);
5. safety shaping: soft-wall torque past the soft limits, torque clamp, torque-rate clamp;
6. write: the transmission back to the motor side into the latency line;
7. publish: a state snapshot (a dict of array copies) and a telemetry row into a preallocated ring.

What it leaves out (and so favours Python): the triple buffers and locks between threads, requests,
the watchdog, events, and any Python API. It runs in real time with `time.sleep` to each period
boundary (SCHED_OTHER: Python has no SCHED_FIFO thread of its own without extra work); its compute
time is measured per cycle with `time.perf_counter`, from wakeup to the end of the cycle, like ours.
"""

from __future__ import annotations

import time

import numpy as np

from .latency import percentiles

SUBSTEPS = 4


class PythonLoop:
    """State and one cycle of the pure-Python loop for a robot config (see the module docstring)."""

    def __init__(self, config, rate_hz: float = 1000.0, telemetry_rows: int = 8192, seed: int = 0):
        import pinocchio

        self.pinocchio = pinocchio
        self.model = pinocchio.buildModelFromUrdf(str(config.urdf_path))
        self.data = self.model.createData()
        names = config.joint_names
        self.v_index = np.array([self.model.joints[self.model.getJointId(n)].idx_v for n in names])
        self.q_index = np.array([self.model.joints[self.model.getJointId(n)].idx_q for n in names])
        self.q_model = pinocchio.neutral(self.model)
        n = self.n = len(names)
        self.period = 1.0 / rate_hz
        arr = config.joint_array
        self.gear, self.direction, self.offset = arr("gear"), arr("direction"), arr("offset_rad")
        self.q_min, self.q_max = arr("limits.q_min"), arr("limits.q_max")
        self.q_soft_min, self.q_soft_max = arr("limits.q_soft_min"), arr("limits.q_soft_max")
        self.velocity, self.torque, self.torque_rate = arr("limits.velocity"), arr("limits.torque"), \
            arr("limits.torque_rate")
        self.kp, self.kd = arr("kp"), arr("kd")
        self.inertia, self.viscous, self.coulomb = arr("mock.inertia"), arr("mock.viscous"), arr("mock.coulomb")
        self.safety = config.safety
        self.rng = np.random.default_rng(seed)
        self.noise = 1e-5
        # Plant (joint side) and the command latency line (motor side).
        self.q_true, self.dq_true = np.zeros(n), np.zeros(n)
        self.tau_applied = np.zeros(n)
        self.command_line = [np.zeros(n), np.zeros(n)]
        self.drive_error = np.zeros(n, dtype=np.uint16)
        self.temperature = np.full(n, 35.0)
        self.fresh = np.ones(n, dtype=bool)
        # Supervisor and reference.
        self.state = "ACTIVE"
        self.q_last = None
        self.frozen = np.zeros(n, dtype=np.int64)
        self.missed = np.zeros(n, dtype=np.int64)
        self.q_ref, self.dq_ref = np.zeros(n), np.zeros(n)
        self.tau_previous = np.zeros(n)
        self.segment = (0.0, 0.5, np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n))  # t0, T, p0, v0, p1, v1
        self.telemetry = np.zeros((telemetry_rows, 6 * n + 2))
        self.telemetry_head = 0
        self.snapshot: dict = {}

    def set_target(self, t: float, q_target: np.ndarray, duration: float) -> None:
        self.segment = (t, duration, self.q_ref.copy(), self.dq_ref.copy(), np.asarray(q_target, float), np.zeros(self.n))

    def _simulate(self, gravity_load: np.ndarray) -> None:
        command = self.command_line.pop(0)
        tau_in = np.clip(command * self.direction * self.gear, -self.torque, self.torque)
        h = self.period / SUBSTEPS
        for _ in range(SUBSTEPS):
            v = (self.dq_true + h / self.inertia * (tau_in - gravity_load)) / (1.0 + h * self.viscous / self.inertia)
            dv = self.coulomb * h / self.inertia
            v = v - np.clip(v, -dv, dv)
            self.dq_true = v
            self.q_true += h * v
        self.tau_applied = tau_in

    def cycle(self, t: float, gravity_load: np.ndarray) -> None:
        n, s = self.n, self.safety
        # 1. read: actuators, noise, motor side as a drive reports it, then the joint side.
        self._simulate(gravity_load)
        ratio = self.direction * self.gear
        q_motor = (self.q_true + self.noise * self.rng.standard_normal(n)) * ratio + self.offset
        q = (q_motor - self.offset) / ratio
        dq = (self.dq_true * ratio) / ratio
        tau = (self.tau_applied / ratio) * ratio
        # 2. checks.
        self.missed = np.where(self.fresh, 0, self.missed + 1)
        if self.state not in ("FAULT", "DISABLED"):
            fault = (not (np.isfinite(q).all() and np.isfinite(dq).all() and np.isfinite(tau).all())
                     or (self.missed > s.max_missed_replies).any() or self.drive_error.any()
                     or (self.temperature > s.temperature_limit_c).any()
                     or (q > self.q_max).any() or (q < self.q_min).any())
            if not fault and self.q_last is not None:
                fault = (np.abs(q - self.q_last) > s.encoder_jump_rad).any()
                pushing = np.abs(self.tau_previous) > s.frozen_torque_nm
                moving = (np.abs(self.dq_ref) > 1e-3) | (np.abs(dq) > 1e-3)
                self.frozen = np.where(pushing & moving & (q == self.q_last), self.frozen + 1, 0)
                fault = fault or (self.frozen >= s.frozen_encoder_cycles).any()
            if fault:
                self.state = "FAULT"
            elif (np.abs(dq) > s.overspeed_factor * self.velocity).any():
                self.state = "DAMPING"
        self.q_last = q.copy()
        # 3. reference: Hermite sample, step limit, soft limits.
        t0, T, p0, v0, p1, v1 = self.segment
        x = min(max((t - t0) / T, 0.0), 1.0)
        x2, x3 = x * x, x * x * x
        q_raw = (2 * x3 - 3 * x2 + 1) * p0 + (x3 - 2 * x2 + x) * T * v0 + (-2 * x3 + 3 * x2) * p1 + (x3 - x2) * T * v1
        dq_raw = ((6 * x2 - 6 * x) * p0 + (-6 * x2 + 6 * x) * p1) / T + (3 * x2 - 4 * x + 1) * v0 + (3 * x2 - 2 * x) * v1
        step = self.velocity * self.period
        q_new = np.clip(np.clip(q_raw, self.q_ref - step, self.q_ref + step), self.q_soft_min, self.q_soft_max)
        self.dq_ref = np.where(q_new == q_raw, np.clip(dq_raw, -self.velocity, self.velocity),
                               (q_new - self.q_ref) / self.period)
        self.q_ref = q_new
        # 4. control: gravity + joint impedance (gravity + damping in DAMPING, nothing when FAULT).
        self.q_model[self.q_index] = q
        g = self.pinocchio.computeGeneralizedGravity(self.model, self.data, self.q_model)[self.v_index]
        if self.state == "FAULT":
            tau_cmd = np.zeros(n)  # safe torque off at once: no shaping, no rate limit
        else:
            if self.state == "ACTIVE":
                tau_cmd = g + self.kp * (self.q_ref - q) + self.kd * (self.dq_ref - dq)
            else:  # DAMPING
                tau_cmd = g - self.kd * dq
            # 5. shaping: soft walls, torque clamp, torque-rate clamp.
            over = np.minimum(1.0, (q - self.q_soft_max) / np.maximum(self.q_max - self.q_soft_max, 1e-9))
            under = np.minimum(1.0, (self.q_soft_min - q) / np.maximum(self.q_soft_min - self.q_min, 1e-9))
            tau_cmd = np.where(q > self.q_soft_max, np.minimum(tau_cmd, -self.torque * over), tau_cmd)
            tau_cmd = np.where(q < self.q_soft_min, np.maximum(tau_cmd, self.torque * under), tau_cmd)
            tau_cmd = np.clip(tau_cmd, -self.torque, self.torque)
            rate = self.torque_rate * self.period
            tau_cmd = np.clip(tau_cmd, self.tau_previous - rate, self.tau_previous + rate)
        self.tau_previous = tau_cmd
        # 6. write: motor side into the latency line.
        self.command_line.append(tau_cmd / ratio)
        # 7. publish: snapshot and a telemetry row.
        self.snapshot = {"t": t, "state": self.state, "q": q.copy(), "dq": dq.copy(), "tau": tau.copy(),
                         "q_ref": self.q_ref.copy(), "dq_ref": self.dq_ref.copy(), "tau_command": tau_cmd.copy()}
        row = self.telemetry[self.telemetry_head % len(self.telemetry)]
        row[0], row[1] = t, self.telemetry_head
        row[2:].reshape(6, n)[:] = (q, dq, tau, self.q_ref, self.dq_ref, tau_cmd)
        self.telemetry_head += 1


def gravity_load(config, q: np.ndarray | None = None) -> np.ndarray:
    """g(q) of the config's model at q (default: zero posture), joint order: the load the plant carries."""
    import pinocchio

    model = pinocchio.buildModelFromUrdf(str(config.urdf_path))
    q_model = pinocchio.neutral(model)
    if q is not None:
        q_model[[model.joints[model.getJointId(n)].idx_q for n in config.joint_names]] = q
    v_index = [model.joints[model.getJointId(n)].idx_v for n in config.joint_names]
    return pinocchio.computeGeneralizedGravity(model, model.createData(), q_model)[v_index]


def python_baseline_loop(config, seconds: float, rate_hz: float = 1000.0) -> dict:
    """Runs PythonLoop in real time for `seconds`: wakeup latency and compute time percentiles [us]."""
    loop = PythonLoop(config, rate_hz)
    load = gravity_load(config)  # constant, as the mock buses of ours carry it (see compute.py)
    period = loop.period
    wakeups, computes = [], []
    start = time.perf_counter()
    next_time = start + period
    end = next_time + seconds
    loop.set_target(0.0, np.zeros(loop.n), 0.5)
    while next_time < end:
        time.sleep(max(0.0, next_time - time.perf_counter()))
        wake = time.perf_counter()
        wakeups.append((wake - next_time) * 1e6)
        loop.cycle(next_time - start, load)
        computes.append((time.perf_counter() - wake) * 1e6)
        next_time += period
        if time.perf_counter() > next_time:  # overrun: skip to the next boundary, like the C++ loop
            next_time += period * np.ceil((time.perf_counter() - next_time) / period)
    return {"wakeup_latency": percentiles(wakeups), "compute_time": percentiles(computes), "cycles": len(wakeups),
            "final_state": loop.state}
