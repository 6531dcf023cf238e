"""What the standing controller costs per cycle (issue 13, "Benchmark"): the full controller (base state
estimator, fall detection, supervisor, contact QP, torque shaping) in the real-time loop at 1 kHz on the
free-floating twin, standing, reaching and squatting (the scenario of `humanoid-rt demo --stand`).

The figure is the loop's `control_time`: from the end of the buses' reads to the start of their writes.
On the twin the physics step runs inside the bus read, so the whole cycle (`compute_time`) is the
controller plus MuJoCo; control_time is the controller alone, what a real robot's cycle would spend
between its bus transfers. Beside it, the same QP solved from Pinocchio's and proxsuite's Python bindings
in a Python loop (`python_loop`), and the ratio within the run.
"""

from __future__ import annotations

import time

import numpy as np

from ..config import dump_config, example_robot_data_dir, load_config
from ..robot import Robot
from ..standing_scenario import ScenarioDriver
from .latency import SUMMARY_KEYS

ROBOTS = ("g1", "generic_humanoid")


def _summary(histogram: dict) -> dict:
    return {"count": histogram["count"]} | {key: round(histogram[key], 2) for key in SUMMARY_KEYS}


def realtime_standing(name: str, seconds: float, solver: str | None = None) -> dict:
    """`seconds` of the standing scenario in the real-time loop on the twin: the loop's statistics
    (control_time, compute_time, wakeup_latency, overruns, control-budget overruns), the QP's solves and
    failures, the supervisor states seen and the scenario's actions. solver: the contact QP's
    (model.standing.solver; None: the robot's config)."""
    config = dump_config(load_config(name))
    if solver is not None:
        config["model"]["standing"] = {**config["model"].get("standing", {}), "solver": solver}
    with Robot(config, bus="mujoco", floating=True) as robot:
        driver = ScenarioDriver.for_robot(robot)
        setup = robot.start()
        robot.enable(timeout=10.0)
        t_enable = robot.now()
        states = set()
        while robot.now() - t_enable < seconds:
            driver.advance(robot.now() - t_enable)
            states.add(robot.state().supervisor_state)
            time.sleep(0.01)
        stats = robot.statistics()
        qp = robot.standing_statistics()
        final_state = robot.state().supervisor_state
        robot.stop()
    return {
        "robot": name, "solver": robot.config.model.standing.solver, "seconds": seconds, "rate_hz": robot.rate_hz,
        "cycles": stats["cycles"],
        "sched_fifo": setup["sched_fifo"], "memory_locked": setup["memory_locked"],
        "control_time": _summary(stats["control_time"]), "control_budget_us": stats["control_budget_us"],
        "control_budget_overruns": stats["control_budget_overruns"],
        "overruns": stats["overruns"], "skipped_periods": stats["skipped_periods"],
        "compute_time": _summary(stats["compute_time"]), "wakeup_latency": _summary(stats["wakeup_latency"]),
        "qp_solves": qp["solves"], "qp_failures": qp["failures"], "realtime_allocations": stats["realtime_allocations"],
        "final_state": final_state, "states_seen": sorted(states), "scenario": [action for _, action in driver.events],
    }


def python_loop(name: str, iterations: int) -> dict:
    """The same problem from Python: Pinocchio's bindings (crba, nle, sole Jacobians, CoM Jacobian) and
    proxsuite's dense QP on the QP the C++ controller built for the twin standing still, per iteration.
    It does less than the C++ cycle: the QP's matrices are not rebuilt (the C++ one's are reused), and
    there is no estimator, fall detection or torque shaping. Two solver starts: warm (from the previous
    solution of the same QP: the p50_us / p99_us figures) and cold (no initial guess, as eiquadprog
    solves every cycle: cold_start_p50_us / cold_start_p99_us)."""
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

    def timed(start) -> list[float]:
        solver.settings.initial_guess = start
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
        if solver.results.info.status != proxsuite.proxqp.QPSolverOutput.PROXQP_SOLVED:
            raise RuntimeError(f"python_loop: proxsuite did not solve {name}'s QP ({solver.results.info.status})")
        return times

    guess = proxsuite.proxqp.InitialGuess
    warm = timed(guess.WARM_START_WITH_PREVIOUS_RESULT)
    cold = timed(guess.NO_INITIAL_GUESS)
    return {"iterations": iterations, "p50_us": round(float(np.percentile(warm, 50)), 2),
            "p99_us": round(float(np.percentile(warm, 99)), 2),
            "cold_start_p50_us": round(float(np.percentile(cold, 50)), 2),
            "cold_start_p99_us": round(float(np.percentile(cold, 99)), 2)}


def standing_cost(name: str, seconds: float, python_iterations: int = 2000) -> dict:
    """The real-time run, then the Python loop, and their ratios (Python / our control_time)."""
    if name == "g1" and example_robot_data_dir() is None:
        return {"robot": name, "skipped": "needs pip install 'humanoid_rt[g1]' (example-robot-data)"}
    result = realtime_standing(name, seconds)
    python = python_loop(name, python_iterations)
    control = result["control_time"]
    result["python_loop"] = python
    result["python_over_control_time"] = {
        "p50": round(python["p50_us"] / control["p50_us"], 2), "p99": round(python["p99_us"] / control["p99_us"], 2),
        "cold_start_p50": round(python["cold_start_p50_us"] / control["p50_us"], 2),
        "cold_start_p99": round(python["cold_start_p99_us"] / control["p99_us"], 2)}
    return result


def summary_line(row: dict) -> str:
    if "skipped" in row:
        return f"standing {row['robot']:16s}: SKIPPED ({row['skipped']})"
    c = row["control_time"]
    return (f"standing {row['robot']:16s}: control p50 {c['p50_us']} p99 {c['p99_us']} p99.9 {c['p999_us']} max "
            f"{c['max_us']} us over {c['count']} cycles ({row['seconds']:g} s on the twin); over budget "
            f"({row['control_budget_us']:g} us) {row['control_budget_overruns']}, loop overruns {row['overruns']}; "
            f"QP {row['qp_solves']} solves, {row['qp_failures']} failed; allocations {row['realtime_allocations']}; "
            f"Python loop p50 {row['python_loop']['p50_us']} us warm = x{row['python_over_control_time']['p50']}, "
            f"{row['python_loop']['cold_start_p50_us']} us cold = x{row['python_over_control_time']['cold_start_p50']}")
