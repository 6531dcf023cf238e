"""Stops and pushes on the standing twin (issue 13), stepped: the scenarios behind
tests/test_standing_stops.py, tests/test_push_recovery.py, bench/run_standing_stops.py and
bench/run_push.py. Everything runs on the simulated clock, so the figures are exact for the model.

A standing robot here is the stiff-leg stopgap (floating_base.standing_gains) on the free-floating
MuJoCo twin; the figures change when the contact QP replaces it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from ..config import dump_config, load_config
from ..floating_base import standing_gains
from ..robot import Robot
from ..standing_safety import tilt_rad

#: Stop causes a test or bench can trigger from standing, and how.
STOP_CAUSES = ("estop", "disable", "watchdog", "over_temperature", "imu_stale", "hard_position_limit")
#: The reason the supervisor names for each.
CAUSE_REASON = {"estop": "estop_requested", "disable": "disable_requested", "watchdog": "hold_timeout",
                "over_temperature": "over_temperature", "imu_stale": "imu_stale",
                "hard_position_limit": "hard_position_limit"}
FALL_REASONS = ("fall_tilt", "fall_com_outside_support", "fall_contact_lost")
STAND_SETTLE_CYCLES = 1500  # enable ramp (0.5 s) and 1 s of standing before anything happens
REST_RAD_S = 0.01           # |dq| below this on every joint: at rest


def standing_robot(name: str, controller: str = "stiff_legs", fall_detection: bool = True, **robot_options) -> Robot:
    """The bundled robot standing on the free-floating twin, enabled and settled: on stiff legs (the
    figures in README "Stops and falls of a standing robot") or on the contact QP (controller="contact_qp").
    fall_detection=False: floating_base.fall.enabled off (what the body does when nothing catches a fall)."""
    config = dump_config(load_config(name))
    config["model"]["standing"] = {"controller": controller}
    if not fall_detection:
        config.setdefault("floating_base", {}).setdefault("fall", {})["enabled"] = False
    robot = Robot(config, bus="mujoco", floating=True, **robot_options)
    if controller == "stiff_legs":
        robot.set_gains(*standing_gains(robot))
    robot.enable()
    robot.step(STAND_SETTLE_CYCLES)
    return robot


@dataclass
class Trace:
    """The twin's ground truth and the supervisor every `every` cycles after a trigger."""

    t0: float
    start_height: float
    rows: list = field(default_factory=list)

    @property
    def min_height_drop(self) -> float:
        return self.start_height - min(row["z"] for row in self.rows)

    @property
    def max_tilt(self) -> float:
        return max(row["tilt"] for row in self.rows)


def record(robot: Robot, trace: Trace, cycles: int, every: int = 10) -> None:
    twin = robot.twin()
    for _ in range(cycles // every):
        state = robot.step(every)
        pose = twin.base_pose()
        trace.rows.append({"t": state.time - trace.t0, "state": state.supervisor_state, "z": pose[2],
                           "tilt": tilt_rad(pose[3:]), "torque": bool(np.any(state.tau_command != 0.0)),
                           "speed": float(np.max(np.abs(state.dq)))})


def trigger(robot: Robot, cause: str) -> None:
    """Start the stop `cause` on a standing robot (the watchdog's stream lapses; the others at once)."""
    twin = robot.twin()
    if cause == "estop":
        robot.estop()
    elif cause == "disable":
        robot.disable(wait=False)
    elif cause == "watchdog":  # a stream that stops: its last setpoint (the standing posture) lapses
        robot.set_joint_targets(robot.state().q_ref, ttl=0.05)
    elif cause == "over_temperature":
        twin.set_temperature(robot.joint_index(_joint(robot, "knee")), robot.config.safety.temperature_limit_c + 5)
    elif cause == "imu_stale":
        twin.drop_imu(True)
    elif cause == "hard_position_limit":  # something forces a wrist past its hard limit
        wrist = robot.joint_index(_joint(robot, "wrist_roll"))
        twin.set_external_torque(wrist, 4.0 * robot.config.joints[wrist].limits.torque)
    else:
        raise ValueError(f"cause: {cause!r}; allowed: {', '.join(STOP_CAUSES)}")


def clear(robot: Robot, cause: str) -> None:
    twin = robot.twin()
    if cause == "over_temperature":
        twin.set_temperature(robot.joint_index(_joint(robot, "knee")), 35.0)
    elif cause == "imu_stale":
        twin.drop_imu(False)
    elif cause == "hard_position_limit":
        twin.set_external_torque(robot.joint_index(_joint(robot, "wrist_roll")), 0.0)


def _joint(robot: Robot, part: str) -> str:
    return next(name for name in robot.joint_names if part in name and name.startswith("left"))


def stop_crouch_posture(robot: Robot) -> dict[str, float]:
    """The posture a crouch stop ends in (model.standing.stops.crouch), joint name -> angle."""
    from ..standing_safety import safety_section

    return dict(safety_section(robot.config).stops.crouch)


def stop_from_standing(robot: Robot, cause: str, seconds: float = 4.0) -> dict:
    """Trigger `cause` on a standing robot and follow it: what happened, the figures, the final posture."""
    twin = robot.twin()
    events_before = len(robot.events())
    trace = Trace(t0=robot.now(), start_height=twin.base_pose()[2])
    trigger(robot, cause)
    record(robot, trace, int(seconds * robot.rate_hz))
    events = robot.events()[events_before:]
    reason = CAUSE_REASON[cause]
    stop = next((e for e in events if e["reason"] == reason and e["accepted"]), None)
    complete = next((e for e in events if e["reason"] == "crouch_complete"), None)
    falls = [e for e in events if e["reason"] in FALL_REASONS]
    at_rest = next((row["t"] for row in trace.rows if row["t"] > (complete["t"] - trace.t0 if complete else 0)
                    and all(r["speed"] < REST_RAD_S for r in trace.rows if r["t"] >= row["t"])), None)
    state = robot.state()
    crouch = stop_crouch_posture(robot)
    posture_error = max((abs(state.q[robot.joint_index(name)] - angle) for name, angle in crouch.items()), default=0.0)
    return {
        "cause": cause, "reason": reason, "events": events, "state": state.supervisor_state,
        "stop_t": None if stop is None else stop["t"] - trace.t0,
        "crouch_complete_s": None if complete is None or stop is None else complete["t"] - stop["t"],
        "at_rest_s": at_rest,
        "height_drop_m": trace.min_height_drop, "max_tilt_deg": math.degrees(trace.max_tilt),
        "final_height_drop_m": trace.start_height - twin.base_pose()[2],
        "torque_on_at_end": trace.rows[-1]["torque"], "falls": falls, "posture_error_rad": posture_error,
    }


def push_standing(robot: Robot, impulse_ns, duration_s: float = 0.1, seconds: float = 3.0) -> dict:
    """Push a standing robot's pelvis and follow it: fell (fall event) or recovered (back upright)."""
    twin = robot.twin()
    events_before = len(robot.events())
    trace = Trace(t0=robot.now(), start_height=twin.base_pose()[2])
    cycle0 = robot.state().cycle
    twin.push(impulse_ns=tuple(float(v) for v in impulse_ns), duration_s=duration_s)
    record(robot, trace, int(seconds * robot.rate_hz), every=5)
    events = robot.events()[events_before:]
    falls = [e for e in events if e["reason"] in FALL_REASONS]
    final = twin.base_pose()
    tilt_at_fall = None
    if falls:
        fall_t = falls[0]["t"] - trace.t0
        tilt_at_fall = math.degrees(min(trace.rows, key=lambda row: abs(row["t"] - fall_t))["tilt"])
    return {
        "impulse_ns": list(impulse_ns), "duration_s": duration_s,
        "fell": bool(falls), "fall_reason": falls[0]["reason"] if falls else None,
        "fall_cycles": falls[0]["cycle"] - cycle0 if falls else None, "tilt_at_fall_deg": tilt_at_fall,
        "state": robot.state().supervisor_state, "events": events,
        "max_tilt_deg": math.degrees(trace.max_tilt), "final_tilt_deg": math.degrees(tilt_rad(final[3:])),
        "final_height_drop_m": trace.start_height - final[2],
    }


def realtime_compute(robot, seconds: float, floating: bool = True, **config_changes) -> dict:
    """Per-cycle compute of the real-time loop on the mock bus (no physics: the cycle's cost is the
    controller's), `seconds` of holding zeros: cycles, overruns, final state, compute_time (the keys of
    robot.statistics()), real-time allocations, and the contact QP's solves/failures when it runs.
    robot: a bundled name or config; config_changes: top-level config sections merged in (e.g.
    model={"standing": {...}}, floating_base={"fall": {...}})."""
    from .latency import SUMMARY_KEYS

    config = dump_config(load_config(robot)) if isinstance(robot, str) else dict(robot)
    for section, values in config_changes.items():
        config[section] = {**config.get(section, {}), **values}
    with Robot(config, floating=floating) as live:
        live.start()
        live.enable()
        live.set_joint_targets(np.zeros(live.n_joints), ttl=0)
        time.sleep(seconds)
        stats = live.statistics()
        compute = stats["compute_time"]
        result = {"cycles": stats["cycles"], "overruns": stats["overruns"],
                  "final_state": str(live.state().supervisor_state),
                  "compute_time": {"count": compute["count"]} | {k: round(compute[k], 2) for k in SUMMARY_KEYS},
                  "realtime_allocations": stats["realtime_allocations"]}
        if live.standing is not None:
            qp = live.standing_statistics()
            result |= {"qp_solves": qp["solves"], "qp_failures": qp["failures"]}
        return result
