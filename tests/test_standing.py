"""The contact QP standing controller (issue 13): the twin stands on it, reaches and squats; every QP solution
satisfies its constraints; a failed QP falls back without a NaN; bad configs name their field.

Stepped (exact). The twin on the QP steps at ~0.15-0.3 ms per cycle here, so the long run is one module
fixture per robot: 60 s for the generic humanoid (five reach-squat cycles), 30 s for G1.
"""

from __future__ import annotations

import numpy as np
import pytest

from humanoid_rt import ConfigError, Robot, load_config
from humanoid_rt.config import dump_config
from humanoid_rt.floating_base import crouch_posture, make_contact_qp, support_joints
from humanoid_rt.standing_scenario import READY_CROUCH_M, SQUAT_M, BalanceMonitor, ScenarioDriver, tilt_deg

RUN_SECONDS = {"generic_humanoid": 60.0, "g1": 30.0}
SOLE_MARGIN_M = 0.01          # model.standing.sole_margin_m default: the QP keeps every CoP this far inside
RESIDUAL = 1e-6               # constraint residual of any accepted QP solution [N, Nm]
MIN_COM_MARGIN_M = 0.03       # measured minima 75 mm (generic) / 54 mm (G1)
MAX_TILT_DEG = 10.0           # measured maxima 1.1 deg (generic) / 6.0 deg (G1 at the bottom of its squat)
HAND_ERROR_M = 0.04           # hand task position error while holding a reach (measured <= 1.5 / 2.7 cm)


@pytest.fixture(scope="module", params=list(RUN_SECONDS))
def scenario_run(request):
    robot = Robot(request.param, bus="mujoco", floating=True)
    driver = ScenarioDriver.for_robot(robot)
    monitor = BalanceMonitor(robot)
    twin = robot.twin()
    start = np.array(twin.base_pose())
    rows = []
    robot.enable()
    t_enable = robot.now()
    for _ in range(int(RUN_SECONDS[request.param] * 100)):
        driver.advance(robot.now() - t_enable)
        state = robot.step(10)
        monitor.sample()
        pose = np.array(twin.base_pose())
        rows.append({"t": state.time - t_enable, "state": state.supervisor_state, "pose": pose,
                     "status": robot.standing_status(), "tasks": robot.task_errors(),
                     "foot_force": robot.base_state()["foot_force"][:, 2].copy()})
    telemetry = robot.drain_telemetry()
    yield {"robot": robot, "rows": rows, "start": start, "report": monitor.report(), "driver": driver,
           "statistics": robot.standing_statistics(), "loop": robot.statistics(), "telemetry": telemetry}
    robot.close()


def test_standing_robot_stays_up_and_active(scenario_run):
    rows = scenario_run["rows"]
    assert all(row["state"] in ("ENABLING", "ACTIVE") for row in rows)
    assert all(row["state"] == "ACTIVE" for row in rows[100:])
    tilt = max(tilt_deg(row["pose"][3:]) for row in rows)
    assert tilt < MAX_TILT_DEG
    # Both feet keep carrying load on every sample (no foot lifts or rolls over a sole edge).
    assert min(row["foot_force"].min() for row in rows) > 20.0
    assert scenario_run["loop"]["realtime_allocations"] == 0


def test_every_qp_solution_satisfies_its_constraints(scenario_run):
    statistics, rows = scenario_run["statistics"], scenario_run["rows"]
    cycles = len(rows) * 10
    assert statistics["failures"] == 0 and statistics["solves"] == cycles
    assert statistics["max_friction_residual"] < RESIDUAL  # friction pyramid, unilateral, CoP rows
    assert statistics["max_torque_residual"] < RESIDUAL    # |tau| <= tau_max
    assert statistics["max_equality_residual"] < RESIDUAL  # base dynamics and contact acceleration
    # The CoP of every foot stays inside its sole by the configured margin, on every cycle.
    assert min(statistics["min_cop_margin_per_foot"]) >= SOLE_MARGIN_M - RESIDUAL
    assert statistics["min_com_margin"] > MIN_COM_MARGIN_M
    assert all(row["status"]["qp_ok"] for row in rows)
    # The torque the loop sent stayed finite and within the joint limits.
    tau = scenario_run["telemetry"]["tau_command"]
    limits = scenario_run["robot"].config.joint_array("limits.torque")
    assert np.all(np.isfinite(tau)) and np.all(np.abs(tau) <= limits + 1e-9)


def test_hands_reach_and_the_robot_squats(scenario_run):
    rows, driver = scenario_run["rows"], scenario_run["driver"]
    events = dict((action, t) for t, action in reversed(driver.events))  # first time of each action
    start_z = scenario_run["start"][2]

    def rows_between(t0, t1):
        return [row for row in rows if t0 <= row["t"] < t1]

    holding_reach = rows_between(events["reach"] + 2.5, events["squat"])
    assert holding_reach and all(
        np.linalg.norm(error["position_error"]) < HAND_ERROR_M for row in holding_reach for error in row["tasks"].values())
    squatting = rows_between(events["squat"] + 2.5, events["rise"])
    depth = start_z - np.mean([row["pose"][2] for row in squatting])
    assert abs(depth - (READY_CROUCH_M + SQUAT_M)) < 0.015, depth  # measured 6-7 mm short
    assert all(np.linalg.norm(error["position_error"]) < HAND_ERROR_M
               for row in squatting for error in row["tasks"].values())
    risen = rows_between(events["rise"] + 2.5, events["hands_back"])
    assert abs(start_z - np.mean([row["pose"][2] for row in risen]) - READY_CROUCH_M) < 0.02


def test_balance_report(scenario_run):
    report = scenario_run["report"]
    assert report["qp_failures"] == 0 and report["min_com_margin_m"] > MIN_COM_MARGIN_M
    assert all(margin >= SOLE_MARGIN_M - RESIDUAL for margin in report["min_cop_margin_m"].values())
    assert report["max_tilt_deg"] < MAX_TILT_DEG


@pytest.mark.parametrize("name", list(RUN_SECONDS))
def test_crouch_posture_lowers_the_pelvis_over_the_same_feet_within_the_joint_ranges(name):
    """The scenario's squat posture: the feet where they were, the pelvis `depth` lower, every leg joint in its
    range, and deeper means more bent knees. (Full Newton steps from near-straight knees once landed a full
    turn away, a knee at 4.96 rad for 0.17 m, and the loop's limits clipped that into no squat at all.)"""
    robot = Robot(name, bus="mujoco", floating=True)
    try:
        q0 = np.zeros(robot.n_joints)
        legs = [robot.joint_index(joint) for joint in support_joints(robot.config)]
        knees = [index for index in legs if "knee" in robot.joint_names[index]]
        previous_knees = None
        for depth in (READY_CROUCH_M, READY_CROUCH_M + SQUAT_M / 2, READY_CROUCH_M + SQUAT_M):
            q = crouch_posture(robot, depth, q0)
            for index in legs:
                limits = robot.config.joints[index].limits
                assert limits.q_min <= q[index] <= limits.q_max, (robot.joint_names[index], q[index])
            for contact in robot.config.model.contacts:
                start = np.array(robot.model.frame_pose(list(q0), contact.frame)).reshape(4, 4)
                pose = np.array(robot.model.frame_pose(list(q), contact.frame)).reshape(4, 4)
                assert np.allclose(pose[:3, 3] - start[:3, 3], [0.0, 0.0, depth], atol=1e-5)
                assert np.allclose(pose[:3, :3], start[:3, :3], atol=1e-5)
            if previous_knees is not None:
                assert np.all(np.abs(q[knees]) > np.abs(previous_knees) + 0.1)
            previous_knees = q[knees]
        with pytest.raises(ValueError, match="depth"):
            crouch_posture(robot, 0.45, q0)  # below what the legs reach within their ranges
    finally:
        robot.close()


def test_qp_matches_pinocchio_and_proxsuite():
    """The QP of one cycle: its base-dynamics rows are Pinocchio's M and h at the cycle's state, and
    proxsuite (Python) finds the same solution as eiquadprog (C++)."""
    import pinocchio
    import proxsuite

    robot = Robot("generic_humanoid", bus="mujoco", floating=True)
    robot.enable()
    robot.step(300)
    qp = {k: np.array(v) for k, v in robot.standing.last_qp().items()}
    nx, neq = robot.standing.n_variables, robot.standing.n_equalities
    H, CE, CI = qp["H"].reshape(nx, nx), qp["CE"].reshape(neq, nx), qp["CI"].reshape(-1, nx)
    state, base = robot.state(), robot.base_state()
    model = pinocchio.buildModelFromUrdf(str(robot.config.urdf_path), pinocchio.JointModelFreeFlyer())
    q = pinocchio.neutral(model)
    w, x, y, z = base["orientation"]
    q[:7] = [*base["position"], x, y, z, w]
    for name, value in zip(robot.joint_names, state.q):
        q[model.joints[model.getJointId(name)].idx_q] = value
    M = pinocchio.crba(model, model.createData(), q)
    M = np.triu(M) + np.triu(M, 1).T
    np.testing.assert_allclose(CE[:6, :model.nv], M[:6], atol=1e-9)
    # proxsuite: min 1/2 x'Hx + g'x, CE x = -ce0, CI x >= -ci0
    solver = proxsuite.proxqp.dense.QP(nx, neq, CI.shape[0])
    solver.settings.eps_abs = 1e-9
    solver.init(H, qp["g"], CE, -qp["ce0"], CI, -qp["ci0"], np.full(CI.shape[0], 1e20))
    solver.solve()
    np.testing.assert_allclose(solver.results.x, qp["x"], atol=1e-5 * (1 + np.abs(qp["x"]).max()))
    robot.close()


def test_infeasible_qp_falls_back_without_nan():
    """Each foot must push 2000 N, more than the torque limits let the legs carry: every QP with the feet in
    contact is infeasible; the fallback torque (the last good one fading into the joint impedance) reaches
    the drives, finite."""
    config = dump_config(load_config("generic_humanoid"))
    config["model"]["standing"] = {"controller": "contact_qp", "min_normal_force_n": 2000.0}  # > the robot's weight
    robot = Robot(config, bus="mujoco", floating=True)
    robot.enable()
    robot.step(200)
    statistics = robot.standing_statistics()
    # The filter's first cycles see no foot in contact yet (no force bound): those QPs solve; all others fail.
    assert statistics["solves"] < 10 and statistics["failures"] == 200 - statistics["solves"]
    assert statistics["consecutive_failures"] == statistics["failures"]
    assert not robot.standing_status()["qp_ok"]
    telemetry = robot.drain_telemetry()
    assert np.all(np.isfinite(telemetry["tau_command"]))
    assert robot.state().supervisor_state in ("ENABLING", "ACTIVE")  # no non-finite-command fault
    robot.close()


def test_stiff_legs_controller_is_selectable():
    config = dump_config(load_config("generic_humanoid"))
    config["model"]["standing"] = {"controller": "stiff_legs"}
    robot = Robot(config, bus="mujoco", floating=True)
    assert robot.standing_controller == "stiff_legs" and robot.standing is None
    with pytest.raises(RuntimeError, match="contact_qp"):
        robot.set_com_offset([0, 0, -0.1])
    robot.close()
    mock = Robot("generic_humanoid", floating=True)  # mock actuators (no gravity): the stopgap by default
    assert mock.standing_controller == "stiff_legs"
    mock.close()
    fixed = Robot("generic_humanoid", bus="mujoco")
    assert fixed.standing_controller is None and fixed.standing is None
    fixed.close()


def test_both_qp_solvers_stand_the_twin_alike():
    """model.standing.solver selects the C++ solver: proxsuite's dense ProxQP stands the twin and crouches it
    as eiquadprog does (the same QP: the same torques on every cycle, measured within 3.4e-6 Nm of each other
    at up to 30 Nm), every cycle solved."""
    config = dump_config(load_config("generic_humanoid"))
    torques = {}
    for solver in ("eiquadprog", "proxsuite"):
        config["model"]["standing"] = {"solver": solver}
        robot = Robot(config, bus="mujoco", floating=True)
        try:
            robot.enable()
            robot.step(500)
            robot.set_joint_targets(crouch_posture(robot, 0.04, robot.state().q_ref), duration=0.5, ttl=0)
            robot.set_com_offset([0.0, 0.0, -0.035], 0.5)
            robot.step(1000)
            statistics = robot.standing_statistics()
            assert statistics["solves"] == 1500 and statistics["failures"] == 0, solver
            assert min(statistics["min_cop_margin_per_foot"]) >= SOLE_MARGIN_M - RESIDUAL
            torques[solver] = robot.drain_telemetry()["tau_command"]
        finally:
            robot.close()
    assert np.abs(torques["eiquadprog"]).max() > 10.0  # the legs carry the crouch
    np.testing.assert_allclose(torques["proxsuite"], torques["eiquadprog"], atol=1e-3)


def test_bad_standing_config_names_the_field():
    config = dump_config(load_config("generic_humanoid"))
    config["model"]["standing"] = {"controller": "balance"}
    with pytest.raises(ConfigError, match=r"model\.standing\.controller.*contact_qp, stiff_legs"):
        load_config(config)
    config["model"]["standing"] = {"friction": -1}
    with pytest.raises(ConfigError, match=r"model\.standing\.friction"):
        load_config(config)
    config["model"]["standing"] = {"solver": "osqp"}
    with pytest.raises(ConfigError, match=r"model\.standing\.solver.*eiquadprog, proxsuite"):
        load_config(config)
    config["model"]["standing"] = {"controler": "contact_qp"}
    with pytest.raises(ConfigError, match=r"model\.standing"):
        load_config(config)


def test_missing_contact_frames_name_the_field():
    config = dump_config(load_config("generic_humanoid"))
    config["model"]["contacts"][1]["frame"] = "right_sole_nowhere"
    with pytest.raises(ConfigError, match=r"model\.contacts\[1\]\.frame"):
        load_config(config)
    robot_config = load_config("generic_humanoid")
    from dataclasses import replace

    broken = replace(robot_config, model=replace(robot_config.model, contacts=(
        replace(robot_config.model.contacts[0], frame="nowhere"),)))
    with pytest.raises(ValueError, match=r"model\.contacts\[0\]\.frame: 'nowhere'"):
        make_contact_qp(broken, 0.001)
    no_feet = replace(robot_config, model=replace(robot_config.model, contacts=()))
    with pytest.raises(ValueError, match=r"model\.contacts: missing"):
        make_contact_qp(no_feet, 0.001)
    with pytest.raises(ValueError, match=r"solver: 'osqp'.*eiquadprog, proxsuite"):
        make_contact_qp(robot_config, 0.001, solver="osqp")
    with pytest.raises(ValueError, match=r"com_wieght: not a contact QP option"):
        make_contact_qp(robot_config, 0.001, com_wieght=1.0)
