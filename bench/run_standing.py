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
from humanoid_rt.benchmarks.standing import realtime_compute
from humanoid_rt.config import example_robot_data_dir
from humanoid_rt.floating_base import standing_gains

ROBOTS = ("generic_humanoid", "g1")


def python_loop(name: str, iterations: int) -> dict:
    """The same problem from Python: Pinocchio's bindings (crba, nle, sole Jacobians) and proxsuite's dense
    QP on the QP the C++ controller built for the twin standing still, per iteration."""
    import pinocchio
    import proxsuite

    robot = Robot(name, bus="mujoco", floating=True)
    robot.enable()
    robot.step(300)
    qp = {k: np.array(v) for k, v in robot.standing.last_qp().items()}
    nx, neq = robot.standing.n_variables, robot.standing.n_equalities
    H, CE, CI = qp["H"].reshape(nx, nx), qp["CE"].reshape(neq, nx), qp["CI"].reshape(-1, nx)
    model = pinocchio.buildModelFromUrdf(str(robot.config.urdf_path), pinocchio.JointModelFreeFlyer())
    data = model.createData()
    q, v = pinocchio.neutral(model), np.zeros(model.nv)
    frames = [model.getFrameId(c.frame) for c in robot.config.model.contacts]
    solver = proxsuite.proxqp.dense.QP(nx, neq, CI.shape[0])
    upper = np.full(CI.shape[0], 1e20)
    solver.init(H, qp["g"], CE, -qp["ce0"], CI, -qp["ci0"], upper)
    robot.close()
    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        pinocchio.crba(model, data, q)
        pinocchio.nonLinearEffects(model, data, q, v)
        pinocchio.computeJointJacobians(model, data, q)
        for frame in frames:
            pinocchio.getFrameJacobian(model, data, frame, pinocchio.LOCAL_WORLD_ALIGNED)
        pinocchio.jacobianCenterOfMass(model, data, q)
        solver.update(H, qp["g"], CE, -qp["ce0"], CI, -qp["ci0"], upper)
        solver.solve()
        times.append((time.perf_counter() - t0) * 1e6)
    return {"iterations": iterations, "p50_us": round(float(np.percentile(times, 50)), 2),
            "p99_us": round(float(np.percentile(times, 99)), 2)}


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
        fixed = realtime_compute(name, args.seconds, floating=False)
        floating = realtime_compute(name, args.seconds)
        result[name] = {
            "fixed_base": fixed,
            "floating_with_estimator": floating,
            "ratio_p50": round(floating["compute_time"]["p50_us"] / fixed["compute_time"]["p50_us"], 3),
            "ratio_p99": round(floating["compute_time"]["p99_us"] / fixed["compute_time"]["p99_us"], 3),
            "twin_stepped": stepped_twin(name, args.twin_cycles),
        }
        contact_qp = realtime_compute(name, args.seconds, model={"standing": {"controller": "contact_qp"}})
        python = python_loop(name, 2000)
        result[name]["contact_qp"] = contact_qp
        result[name]["contact_qp_python_loop"] = python
        result[name]["python_over_cpp_p50"] = round(python["p50_us"] / contact_qp["compute_time"]["p50_us"], 2)
        print(name, json.dumps(result[name]))
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
