"""Step and chirp experiments on one joint, with every safety limit in force.

On a stopped loop (mock bus or MuJoCo twin) an experiment runs in stepped mode,
exact and faster than real time; on a running loop (real hardware) it streams
the same references in real time. Either way the supervisor stays in charge: if
it leaves ACTIVE (a limit trips, a fault, an e-stop) the experiment stops
streaming at once and reports why; the robot is left in the state the
supervisor chose.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from .metrics import bandwidth_hz, chirp_signal, frequency_response, step_metrics, tracking_rms

# Real time: references are streamed at this rate, each due two intervals ahead.
STREAM_RATE_HZ = 200.0


@dataclass(frozen=True)
class StepExperiment:
    joint: str
    amplitude_rad: float = 0.1
    duration_s: float = 1.0
    kind: str = field(default="step", init=False)

    def reference(self, t: np.ndarray) -> np.ndarray:
        return np.full_like(t, self.amplitude_rad)


@dataclass(frozen=True)
class ChirpExperiment:
    joint: str
    f0_hz: float = 0.5
    f1_hz: float = 20.0
    amplitude_rad: float = 0.05
    duration_s: float = 8.0
    kind: str = field(default="chirp", init=False)

    def reference(self, t: np.ndarray) -> np.ndarray:
        return chirp_signal(t, self.f0_hz, self.f1_hz, self.duration_s, self.amplitude_rad)


@dataclass
class ExperimentResult:
    experiment: StepExperiment | ChirpExperiment
    kp: float
    kd: float
    t: np.ndarray            # from the experiment's start [s]
    reference: np.ndarray    # commanded q_ref of the joint (after the safety layer's clipping)
    measured: np.ndarray     # q
    torque: np.ndarray       # commanded torque
    metrics: dict
    aborted: bool = False
    abort_reason: str | None = None
    response: dict | None = None  # chirp: frequency, gain_db, phase_deg, coherence

    def summary(self) -> dict:
        return {"kind": self.experiment.kind, "joint": self.experiment.joint, "kp": self.kp, "kd": self.kd,
                "aborted": self.aborted, "abort_reason": self.abort_reason, **self.metrics}


def _validate(robot, experiment) -> int:
    joint = robot.joint_index(experiment.joint)
    if not (experiment.duration_s > 0 and np.isfinite(experiment.duration_s)):
        raise ValueError(f"duration_s: must be > 0 (got {experiment.duration_s})")
    if not (0 < abs(experiment.amplitude_rad) <= 1.0):
        raise ValueError(f"amplitude_rad: allowed 0 < |amplitude| <= 1 rad (got {experiment.amplitude_rad})")
    return joint


def _ensure_active(robot) -> None:
    state = robot.state().supervisor_state
    if state == "ACTIVE":
        return
    if state != "DISABLED":
        raise RuntimeError(f"the robot is in {state} ({robot.state().reason}); reset or wait for DISABLED first")
    robot.enable()
    if not robot.running:
        robot.step(round((robot.config.safety.enable_ramp_s + 0.01) * robot.rate_hz))
    if robot.state().supervisor_state != "ACTIVE":
        raise RuntimeError(f"enable did not reach ACTIVE: {robot.state().supervisor_state} ({robot.state().reason})")


def run_experiment(robot, experiment: StepExperiment | ChirpExperiment, *, kp: float | None = None,
                   kd: float | None = None) -> ExperimentResult:
    """Runs one experiment on `robot` with the joint's gains set to (kp, kd) (default: in force)."""
    j = _validate(robot, experiment)
    _ensure_active(robot)
    kp_all, kd_all = robot.gains
    saved = (kp_all.copy(), kd_all.copy())
    if kp is not None:
        kp_all[j] = kp
    if kd is not None:
        kd_all[j] = kd
    robot.set_gains(kp_all, kd_all)
    try:
        _move_into_range(robot, j, experiment)
        q_hold = robot.state().q_ref.copy()
        robot.drain_telemetry()
        aborted, reason = _stream(robot, experiment, j, q_hold)
        telemetry = robot.drain_telemetry()
    finally:
        if robot.state().supervisor_state in ("ACTIVE", "HOLD"):
            robot.set_gains(*saved)
    t = telemetry["t"] - telemetry["t"][0] if len(telemetry["t"]) else np.zeros(0)
    reference, measured = telemetry["q_ref"][:, j], telemetry["q"][:, j]
    metrics: dict = {"tracking_rms_rad": tracking_rms(reference, measured) if len(t) else None}
    response = None
    if not aborted and experiment.kind == "step":
        # Measured against the step the safety layer let through (a target past the soft limit is clamped).
        reached = float(reference[-1])
        metrics["reference_clamped_to_rad"] = (None if abs(reached - (q_hold[j] + experiment.amplitude_rad)) < 1e-9
                                               else reached)
        metrics.update(step_metrics(t, measured, initial=q_hold[j], target=reached).as_dict())
    elif not aborted:
        response = frequency_response(reference - q_hold[j], measured - q_hold[j], robot.rate_hz,
                                      f_min=experiment.f0_hz, f_max=experiment.f1_hz)
        metrics["bandwidth_hz"] = bandwidth_hz(response)
    return ExperimentResult(experiment, float(kp_all[j]), float(kd_all[j]), t, reference, measured,
                            telemetry["tau_command"][:, j], metrics, aborted, reason, response)


# Room kept between an experiment's excursion and the joint's soft limits [rad].
_LIMIT_MARGIN_RAD = 0.02


def _move_into_range(robot, j: int, experiment) -> None:
    """Moves the joint, if needed, to the nearest position where the whole excursion stays
    inside the soft limits (a chirp or step clipped by a limit measures the limit, not the joint)."""
    low = robot.config.joints[j].limits.q_soft_min + _LIMIT_MARGIN_RAD
    high = robot.config.joints[j].limits.q_soft_max - _LIMIT_MARGIN_RAD
    span = abs(experiment.amplitude_rad)
    if experiment.kind == "step":
        low, high = (low, high - span) if experiment.amplitude_rad > 0 else (low + span, high)
    else:
        low, high = low + span, high - span
    if low > high:
        raise ValueError(f"amplitude_rad: {experiment.amplitude_rad} does not fit inside {experiment.joint}'s soft "
                         f"limits; allowed: |amplitude| <= {(high - low + 2 * span) / (2 if experiment.kind != 'step' else 1):.3f}")
    q = robot.state().q_ref.copy()
    start = float(np.clip(q[j], low, high))
    if abs(start - q[j]) < 1e-9:
        return
    q[j] = start
    robot.set_joint_targets(q, duration=0.5, ttl=0)
    if robot.running:
        time.sleep(1.0)
    else:
        robot.step(round(1.0 * robot.rate_hz))


def _stream(robot, experiment, j: int, q_hold: np.ndarray) -> tuple[bool, str | None]:
    """Sends the reference; returns (aborted, reason) as soon as the supervisor leaves ACTIVE."""
    q = q_hold.copy()
    if not robot.running:
        start = robot.now()
        cycles = round(experiment.duration_s * robot.rate_hz)
        for k in range(cycles):
            t_due = (k + 1) / robot.rate_hz
            q[j] = q_hold[j] + experiment.reference(np.array([t_due]))[0]
            robot.set_joint_targets(q, t=start + t_due, ttl=0)
            state = robot.step(1)
            if state.supervisor_state != "ACTIVE":
                return True, state.reason
        return False, None
    start = robot.now()
    interval = 1.0 / STREAM_RATE_HZ
    next_wall = time.monotonic()
    while robot.now() - start < experiment.duration_s:
        t_due = robot.now() - start + 2 * interval
        q[j] = q_hold[j] + experiment.reference(np.array([min(t_due, experiment.duration_s)]))[0]
        robot.set_joint_targets(q, t=start + t_due, ttl=0.1)
        state = robot.state()
        if state.supervisor_state != "ACTIVE":
            return True, state.reason
        next_wall += interval
        time.sleep(max(0.0, next_wall - time.monotonic()))
    return False, None


def sweep_gains(robot, experiment, kps: Iterable[float], kds: Iterable[float]) -> list[ExperimentResult]:
    """The experiment once per (kp, kd) on the grid, returning to the start pose in between."""
    results = []
    for kp, kd in itertools.product(list(kps), list(kds)):
        if kp < 0 or kd < 0:
            raise ValueError(f"kp, kd: must be >= 0 (got {kp}, {kd})")
        result = run_experiment(robot, experiment, kp=kp, kd=kd)
        results.append(result)
        if result.aborted:
            break  # the supervisor stopped the robot: no further experiments on it
        _return_to(robot, experiment.joint, result)
    return results


def _return_to(robot, joint: str, result: ExperimentResult) -> None:
    q = robot.state().q_ref.copy()
    q[robot.joint_index(joint)] = result.reference[0] if len(result.reference) else q[robot.joint_index(joint)]
    robot.set_joint_targets(q, duration=0.5, ttl=0)
    if robot.running:
        time.sleep(0.8)
    else:
        robot.step(round(0.8 * robot.rate_hz))
