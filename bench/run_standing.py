"""Per-cycle cost of standing (issue 13), G1 and the generic humanoid.

The standing controller (`contact_qp` entry): the full controller (estimator, fall detection, contact QP,
safety) in the real-time loop at 1 kHz on the standing twin for `--qp-seconds`, standing, reaching and
squatting; the loop's control_time (the cycle without its bus I/O, so without the twin's physics, which
runs inside the bus read), control-budget and loop overruns, QP solves and failures, allocations; then the
same QP from Pinocchio's and proxsuite's Python bindings in a Python loop and the ratio
(benchmarks/standing_cost.py, also `humanoid-rt bench --sections standing`).

The estimator alone: the real-time loop on the mock bus (whole-body gravity compensation + posture + safety
+ telemetry) for `--seconds`, once as a fixed base and once floating (IMU read, stale supervision and the
base state estimator's Kalman filter in every cycle), compute-time percentiles and their ratio within the
run. And the wall time per stepped cycle of the standing twin (physics with foot contacts included), for
the cost of simulation-based tests.

The QP's two C++ solvers (`--solver-seconds`, `solvers` entry): the same real-time scenario once on
eiquadprog and once on proxsuite (model.standing.solver), back to back, control_time and their ratio.

    python bench/run_standing.py --seconds 5 --qp-seconds 60 --solver-seconds 30 --json bench-standing.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from humanoid_rt import Robot
from humanoid_rt.benchmarks.standing import realtime_compute
from humanoid_rt.benchmarks.standing_cost import realtime_standing, standing_cost, summary_line
from humanoid_rt.config import example_robot_data_dir
from humanoid_rt.floating_base import standing_gains

ROBOTS = ("generic_humanoid", "g1")


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
    parser.add_argument("--qp-seconds", type=float, default=10.0,
                        help="real-time run of the standing controller on the twin, per robot (the issue's: 60)")
    parser.add_argument("--solver-seconds", type=float, default=0.0,
                        help="real-time run per solver (eiquadprog, proxsuite) per robot; 0: no solver comparison")
    parser.add_argument("--python-iterations", type=int, default=2000)
    parser.add_argument("--twin-cycles", type=int, default=3000)
    parser.add_argument("--json", type=Path, default=Path("bench-standing.json"))
    args = parser.parse_args(argv)
    result = {}
    for name in ROBOTS:
        if name == "g1" and example_robot_data_dir() is None:
            result[name] = {"skipped": "needs pip install 'humanoid_rt[g1]' (example-robot-data)"}
            continue
        fixed = realtime_compute(name, args.seconds, floating=False)
        floating = realtime_compute(name, args.seconds)
        result[name] = {
            "fixed_base": fixed,
            "floating_with_estimator": floating,
            "ratio_p50": round(floating["compute_time"]["p50_us"] / fixed["compute_time"]["p50_us"], 3),
            "ratio_p99": round(floating["compute_time"]["p99_us"] / fixed["compute_time"]["p99_us"], 3),
            "twin_stepped": stepped_twin(name, args.twin_cycles),
        }
        result[name]["contact_qp"] = standing_cost(name, args.qp_seconds, args.python_iterations)
        print(summary_line(result[name]["contact_qp"]))
        if args.solver_seconds > 0:
            runs = {solver: realtime_standing(name, args.solver_seconds, solver)
                    for solver in ("eiquadprog", "proxsuite")}
            control = {solver: run["control_time"] for solver, run in runs.items()}
            result[name]["solvers"] = runs | {"proxsuite_over_eiquadprog": {
                key: round(control["proxsuite"][key] / control["eiquadprog"][key], 3)
                for key in ("p50_us", "p99_us", "p999_us")}}
            for solver, run in runs.items():
                c = run["control_time"]
                print(f"{name} {solver:10s}: control p50 {c['p50_us']} p99 {c['p99_us']} p99.9 {c['p999_us']} "
                      f"max {c['max_us']} us; QP {run['qp_solves']} solves, {run['qp_failures']} failed; "
                      f"{run['final_state']}")
            print(name, "proxsuite / eiquadprog:", result[name]["solvers"]["proxsuite_over_eiquadprog"])
        print(name, json.dumps(result[name]))
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
