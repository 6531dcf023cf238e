"""Stop time and stop distance per joint and per stop category, from full speed, on the generic
humanoid in the stepped mock bus (free space: the position limits are widened so that no joint
meets a limit while it stops; every other limit, gain and actuator is the bundled robot's).

    python bench/run_stops.py --json bench-stops.json

Stops measured (what triggers them, and what the supervisor then does):
  estop_cat0       estop() with estop_category 0: STO at once, the joints coast (friction only)
  fault_cat0       a drive error on one joint (stop category 0, the drive cannot be trusted): STO
  fault_ss1        over-temperature on one joint (category 1, drives usable): damping, then STO
  estop_cat1       estop() with estop_category 1: damping for damping_time, then STO
  disable          disable(): DAMPING, then DISABLED
  watchdog_hold    the setpoint stream lapses: HOLD decelerates the reference (SS2), the joints follow

For each joint: the speed when the stop was triggered, the time until the joint is at rest
(|dq| < 1 mrad/s, staying so) and the distance travelled meanwhile. Stepped, so the figures are
exact for the model (inertia, viscous and Coulomb friction of the mock actuators), not timings.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from humanoid_rt import Robot
from humanoid_rt.config import dump_config, load_config

REST_RAD_S = 1e-3
SCENARIOS = ("estop_cat0", "fault_cat0", "fault_ss1", "estop_cat1", "disable", "watchdog_hold")
GROUPS = {  # joint name prefix -> README group
    "hip": "hips", "knee": "knees", "ankle": "ankles", "waist": "waist", "neck": "neck",
    "shoulder": "shoulders", "elbow": "elbows", "wrist": "wrists",
}


def free_space_config(estop_category: int) -> dict:
    config = dump_config(load_config("generic_humanoid"))
    config["loop"].update(priority=0, lock_memory=False)
    config["safety"]["estop_category"] = estop_category
    for joint in config["joints"]:
        joint["limits"]["position_rad"] = [-200.0, 200.0]
    return config


def run_scenario(name: str, seconds: float) -> dict:
    robot = Robot(free_space_config(1 if name == "estop_cat1" else 0))
    try:
        robot.enable()
        robot.step(int(robot.config.safety.enable_ramp_s * robot.rate_hz) + 1)
        velocity = robot.config.joint_array("limits.velocity")
        acceleration = robot.config.joint_array("limits.acceleration")
        run_up = float(np.max(velocity / acceleration)) + 0.3  # full speed, settled
        target = np.full(robot.n_joints, 150.0)
        ttl = run_up if name == "watchdog_hold" else 0.0
        robot.set_joint_targets(target, duration=0.0, ttl=ttl)
        robot.step(int(run_up * robot.rate_hz) - (1 if name == "watchdog_hold" else 0))
        robot.drain_telemetry()
        if name == "watchdog_hold":
            for _ in range(10):  # the cycle the watchdog expires on
                if robot.step(1).supervisor_state == "HOLD":
                    break
            trigger = robot.drain_telemetry()
            start_q, start_dq = trigger["q"][-1], trigger["dq"][-1]
        else:
            state = robot.state()
            start_q, start_dq = state.q.copy(), state.dq.copy()
            if name.startswith("estop"):
                robot.estop()
            elif name == "fault_cat0":
                robot.mock_bus(0).set_drive_error(0, 0x2310)
            elif name == "fault_ss1":
                robot.mock_bus(0).set_temperature(0, 120.0)
            elif name == "disable":
                robot.disable()
        robot.step(int(seconds * robot.rate_hz))
        tm = robot.drain_telemetry()
        names = {code: state_name for state_name, code in robot.STATE_CODES.items()}
        states = sorted({names[int(code)] for code in set(tm["state"])})
        dq, q = tm["dq"], tm["q"]
        joints = {}
        for j, joint in enumerate(robot.joint_names):
            moving = np.flatnonzero(np.abs(dq[:, j]) >= REST_RAD_S)
            stopped_at = 0 if moving.size == 0 else moving[-1] + 1
            at_rest = stopped_at < len(dq)
            joints[joint] = {
                "speed_rad_s": round(float(abs(start_dq[j])), 3),
                "velocity_limit_rad_s": float(velocity[j]),
                "stop_time_s": round((stopped_at + 1) * robot.period_s, 4) if at_rest else None,
                "stop_distance_rad": round(float(abs(q[min(stopped_at, len(q) - 1), j] - start_q[j])), 4),
            }
        return {"states": states, "joints": joints}
    finally:
        robot.close()


def group_rows(result: dict) -> list[dict]:
    rows = []
    for scenario, data in result.items():
        for group in dict.fromkeys(GROUPS.values()):
            members = [v for name, v in data["joints"].items()
                       if GROUPS[next(p for p in GROUPS if p in name)] == group]
            times = [m["stop_time_s"] for m in members if m["stop_time_s"] is not None]
            dists = [m["stop_distance_rad"] for m in members]
            rows.append({"scenario": scenario, "group": group,
                         "time_s": (min(times), max(times)) if times else None,
                         "distance_rad": (min(dists), max(dists))})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="how long to watch each stop")
    parser.add_argument("--json", type=Path, default=Path("bench-stops.json"))
    parser.add_argument("--scenario", choices=SCENARIOS, action="append", help="default: all")
    args = parser.parse_args(argv)
    result = {name: run_scenario(name, args.seconds) for name in (args.scenario or SCENARIOS)}
    rows = group_rows(result)
    print("| stop | group | time [ms] | distance [rad] |")
    print("|---|---|---|---|")
    for row in rows:
        t = "-" if row["time_s"] is None else f"{row['time_s'][0] * 1e3:.0f}-{row['time_s'][1] * 1e3:.0f}"
        d = f"{row['distance_rad'][0]:.2f}-{row['distance_rad'][1]:.2f}"
        print(f"| {row['scenario']} | {row['group']} | {t} | {d} |")
    args.json.write_text(json.dumps({"stops": result, "groups": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
