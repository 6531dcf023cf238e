"""Per-cycle compute of the floating-base estimator (issue 13, first part), G1 and the generic humanoid.

Runs the real-time loop on the mock bus (whole-body gravity compensation + posture + safety + telemetry)
for `--seconds`, once as a fixed base and once floating (IMU read, stale supervision and the base state
estimator's Kalman filter in every cycle), and reports compute-time percentiles from the loop's own
histogram plus their ratio within the run. Also reports the wall time per stepped cycle of the standing
floating twin (physics with foot contacts included), for the cost of simulation-based tests.

    python bench/run_standing.py --seconds 5 --json bench-standing.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from humanoid_rt import Robot
from humanoid_rt.benchmarks.latency import SUMMARY_KEYS
from humanoid_rt.config import example_robot_data_dir
from humanoid_rt.floating_base import standing_gains

ROBOTS = ("generic_humanoid", "g1")


def realtime_compute(name: str, floating: bool, seconds: float) -> dict:
    with Robot(name, floating=floating) as robot:
        robot.start()
        robot.enable()
        robot.set_joint_targets(np.zeros(robot.n_joints), ttl=0)
        time.sleep(seconds)
        stats = robot.statistics()
        compute = stats["compute_time"]
        return {"cycles": stats["cycles"], "overruns": stats["overruns"],
                "final_state": robot.state().supervisor_state,
                "compute_time": {"count": compute["count"]} | {k: round(compute[k], 2) for k in SUMMARY_KEYS},
                "realtime_allocations": stats["realtime_allocations"]}


def stepped_twin(name: str, cycles: int) -> dict:
    robot = Robot(name, bus="mujoco", floating=True)
    robot.set_gains(*standing_gains(robot))
    robot.enable()
    robot.step(500)
    start = time.perf_counter()
    robot.step(cycles)
    wall = time.perf_counter() - start
    result = {"cycles": cycles, "wall_us_per_cycle": round(1e6 * wall / cycles, 1),
              "contacts": robot.twin().contact_count, "final_state": robot.state().supervisor_state}
    robot.close()
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--twin-cycles", type=int, default=3000)
    parser.add_argument("--json", type=Path, default=Path("bench-standing.json"))
    args = parser.parse_args(argv)
    result = {}
    for name in ROBOTS:
        if name == "g1" and example_robot_data_dir() is None:
            result[name] = {"skipped": "needs pip install 'humanoid_rt[g1]' (example-robot-data)"}
            continue
        fixed = realtime_compute(name, False, args.seconds)
        floating = realtime_compute(name, True, args.seconds)
        result[name] = {
            "fixed_base": fixed,
            "floating_with_estimator": floating,
            "ratio_p50": round(floating["compute_time"]["p50_us"] / fixed["compute_time"]["p50_us"], 3),
            "ratio_p99": round(floating["compute_time"]["p99_us"] / fixed["compute_time"]["p99_us"], 3),
            "twin_stepped": stepped_twin(name, args.twin_cycles),
        }
        print(name, json.dumps(result[name]))
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
