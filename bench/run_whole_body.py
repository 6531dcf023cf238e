"""Whole-body cycle cost: gravity + two Cartesian hand tasks + null-space posture +
safety, in the real-time loop, for the Unitree G1 (29 joints) and Romeo (55 joints).

    python bench/run_whole_body.py --seconds 5 --json bench-whole-body.json

The loop's own compute-time histogram is the measurement (one cycle: mock bus
read/write, supervisor, interpolation, Pinocchio gravity + Jacobians + null-space
projection, torque shaping, telemetry). Needs `pip install 'humanoid_rt[g1]'`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from humanoid_rt import Robot
from humanoid_rt.robots.from_urdf import config_from_urdf

MODELS = {
    "g1": ("example-robot-data:robots/g1_description/urdf/g1_29dof_rev_1_0.urdf", ("left_rubber_hand", "right_rubber_hand")),
    "romeo": ("example-robot-data:robots/romeo_description/urdf/romeo.urdf", ("l_wrist", "r_wrist")),
}


def measure(urdf: str, hands, seconds: float) -> dict:
    with Robot(config_from_urdf(urdf, tasks=hands)) as robot:
        robot.set_gravity_compensation(True)  # the mock bus has no gravity, but the cost is what is measured
        robot.start()
        robot.enable()
        for hand in hands:
            pose = robot.frame_pose(hand)
            pose[2, 3] += 0.05
            robot.set_frame_target(hand, pose, duration=0.5)
        robot.set_joint_targets(np.zeros(robot.n_joints), ttl=0)
        time.sleep(seconds)
        stats = robot.statistics()
        assert robot.state().supervisor_state == "ACTIVE", robot.state().reason
        compute = stats["compute_time"]
        return {"joints": robot.n_joints, "cycles": stats["cycles"], "overruns": stats["overruns"],
                "compute_us": {k: round(compute[f"{k}_us"], 2) for k in ("p50", "p99", "p999", "max")},
                "realtime_allocations": stats["realtime_allocations"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--json", type=Path, default=Path("bench-whole-body.json"))
    args = parser.parse_args(argv)
    result = {"command": "python bench/run_whole_body.py " + " ".join(sys.argv[1:] if argv is None else argv)}
    for name, (urdf, hands) in MODELS.items():
        result[name] = measure(urdf, hands, args.seconds)
        c = result[name]["compute_us"]
        print(f"{name:6s} {result[name]['joints']} joints: compute p50 {c['p50']} us  p99 {c['p99']} us  "
              f"p99.9 {c['p999']} us  max {c['max']} us  ({result[name]['cycles']} cycles)")
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
