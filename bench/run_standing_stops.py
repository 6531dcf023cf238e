"""Stop figures for a standing robot (issue 13): each stop cause triggered on the standing MuJoCo twin
(stiff legs, floating_base.standing_gains, until the contact QP), stepped. Writes JSON.

    python bench/run_standing_stops.py --json bench-standing-stops.json [--robots generic_humanoid g1]

Per robot and cause: the stop the policy chose, when the crouch completed after the cause (the stop
time: trajectory + settle), when every joint was at rest (|dq| < 0.01 rad/s), the pelvis' drop and the
largest base tilt (ground truth), whether a fall was detected, and whether torque is still on at the
end (the crouch holds until support). For contrast, the same e-stop with the fixed-base category 0
(floating_base.stops.causes.estop_requested: torque_off): the robot drops.

With --cost-seconds S (default 5; 0 skips it): the real-time loop on the mock bus, floating, with fall
detection on and off (floating_base.fall.enabled), S seconds each, interleaved twice, the compute-time
percentiles from the loop's histogram and their ratio (the fall detector's cost: CoM and sole corners by
Pinocchio, the convex hull, per cycle).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from humanoid_rt import Robot, load_config
from humanoid_rt.benchmarks.standing import STOP_CAUSES, clear, standing_robot, stop_from_standing
from humanoid_rt.config import dump_config
from humanoid_rt.floating_base import standing_gains
from humanoid_rt.benchmarks.standing import STAND_SETTLE_CYCLES, realtime_compute

KEYS = ("reason", "state", "crouch_complete_s", "at_rest_s", "height_drop_m", "final_height_drop_m", "max_tilt_deg",
        "posture_error_rad", "torque_on_at_end")


def torque_off_estop(robot_name: str, seconds: float) -> dict:
    config = dump_config(load_config(robot_name))
    config.setdefault("floating_base", {}).setdefault("stops", {})["causes"] = {"estop_requested": "torque_off"}
    robot = Robot(config, bus="mujoco", floating=True)
    try:
        robot.set_gains(*standing_gains(robot))
        robot.enable()
        robot.step(STAND_SETTLE_CYCLES)
        result = stop_from_standing(robot, "estop", seconds)
        return {key: _plain(result[key]) for key in KEYS}
    finally:
        robot.close()


def _plain(value):
    return float(value) if hasattr(value, "dtype") else value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--robots", nargs="+", default=["generic_humanoid", "g1"])
    parser.add_argument("--seconds", type=float, default=4.0, help="simulated time followed after each cause")
    parser.add_argument("--cost-seconds", type=float, default=5.0, help="real-time seconds per cost run (0: skip)")
    args = parser.parse_args(argv)
    if not 1.0 <= args.seconds <= 60.0:
        parser.error("--seconds: allowed: 1..60")
    if not 0.0 <= args.cost_seconds <= 600.0:
        parser.error("--cost-seconds: allowed: 0..600")
    results: dict = {"standing": "stiff legs (floating_base.standing_gains)", "robots": {}}
    started = time.monotonic()
    for robot_name in args.robots:
        rows = {}
        for cause in STOP_CAUSES:
            robot = standing_robot(robot_name)
            try:
                result = stop_from_standing(robot, cause, args.seconds)
                rows[cause] = {key: _plain(result[key]) for key in KEYS}
                rows[cause]["falls"] = [e["reason"] for e in result["falls"]]
                clear(robot, cause)
            finally:
                robot.close()
            row = rows[cause]
            print(f"{robot_name:17s} {cause:20s} {row['state']:8s} crouched in {row['crouch_complete_s']:.3f} s, "
                  f"at rest {row['at_rest_s']} s, drop {1000 * row['final_height_drop_m']:.0f} mm, "
                  f"tilt <= {row['max_tilt_deg']:.2f} deg, falls {row['falls']}")
        rows["estop_torque_off"] = torque_off_estop(robot_name, args.seconds)
        row = rows["estop_torque_off"]
        print(f"{robot_name:17s} {'estop, torque_off':20s} drop {1000 * row['final_height_drop_m']:.0f} mm, "
              f"tilt <= {row['max_tilt_deg']:.1f} deg")
        results["robots"][robot_name] = rows
        if args.cost_seconds > 0:
            runs = {"fall_on": [], "fall_off": []}
            for _ in range(2):  # interleaved: load changes hit both
                for key in ("fall_off", "fall_on"):
                    runs[key].append(realtime_compute(robot_name, args.cost_seconds,
                                                      floating_base={"fall": {"enabled": key == "fall_on"}}))
            best = {key: min(r["compute_time"]["p50_us"] for r in value) for key, value in runs.items()}
            p99 = {key: min(r["compute_time"]["p99_us"] for r in value) for key, value in runs.items()}
            rows["cost"] = {"runs": runs, "p50_us": best, "p99_us": p99,
                            "ratio_p50": round(best["fall_on"] / best["fall_off"], 3),
                            "ratio_p99": round(p99["fall_on"] / p99["fall_off"], 3)}
            print(f"{robot_name:17s} compute p50/p99 fall detection off {best['fall_off']}/{p99['fall_off']} us, "
                  f"on {best['fall_on']}/{p99['fall_on']} us (ratio p50 {rows['cost']['ratio_p50']})")
    results["wall_s"] = round(time.monotonic() - started, 1)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
