"""Whole-body impedance on the robot model (Pinocchio) and the MuJoCo digital twin."""

from __future__ import annotations

import numpy as np
import pinocchio
import pytest

from humanoid_rt import ConfigError, Robot, load_config
from humanoid_rt.config import dump_config

ROBOTS = ("generic_humanoid", "g1")


def twin_config(name: str, *, floor: bool = True, **safety) -> dict:
    """The bundled robot on one MuJoCo twin bus."""
    config = dump_config(load_config(name))
    config["buses"] = [{"name": "twin", "type": "mujoco", "floor": floor}]
    for index, joint in enumerate(config["joints"]):
        joint["bus"], joint["device_id"] = "twin", index + 1
    config["safety"].update(safety)
    return config


def random_pose(robot: Robot, rng, spread=0.4, margin=0.1) -> np.ndarray:
    low = robot.config.joint_array("limits.q_soft_min") + margin
    high = robot.config.joint_array("limits.q_soft_max") - margin
    return np.clip(rng.uniform(-spread, spread, robot.n_joints), low, high)


@pytest.mark.parametrize("name", ROBOTS)
def test_gravity_torques_equal_pinocchio_python(name):
    robot = Robot(name)
    model = pinocchio.buildModelFromUrdf(str(robot.config.urdf_path))
    data = model.createData()
    v_index = [model.joints[model.getJointId(joint)].idx_v for joint in robot.joint_names]
    q_index = [model.joints[model.getJointId(joint)].idx_q for joint in robot.joint_names]
    rng = np.random.default_rng(7)
    for _ in range(20):
        q = random_pose(robot, rng, spread=1.5, margin=0.0)
        q_model = pinocchio.neutral(model)
        q_model[q_index] = q
        expected = pinocchio.computeGeneralizedGravity(model, data, q_model)[v_index]
        np.testing.assert_allclose(robot.model.gravity(list(q)), expected, rtol=1e-12, atol=1e-9)
    assert np.max(np.abs(expected)) > 1.0  # the check compares real, non-trivial torques
    robot.close()


@pytest.mark.parametrize("name", ROBOTS)
def test_twin_holds_a_fixed_base_posture_on_gravity_compensation_alone(name):
    # kp = 0: nothing pulls toward a position; only g(q) (and kd damping) act. The twin and the
    # controller load the same URDF, so the residual is integration error: a zero-order hold of
    # g(q) over 1 ms while the joints are at rest. Bound: 1 mrad over 5 s (a mismatch of 1 % of
    # a 10 Nm gravity torque on a 0.1 kg m^2 link would move it by radians in that time).
    robot = Robot(twin_config(name, floor=False, enable_ramp_s=0.0))
    rng = np.random.default_rng(1)
    q0 = random_pose(robot, rng)
    for j, q in enumerate(q0):
        robot.twin().set_joint_position(j, q)
    robot.set_gains(kp=np.zeros(robot.n_joints))
    robot.enable()
    robot.step(300)  # the torque-rate limit brings g in over ~10 ms; let that transient pass
    held = robot.state().q.copy()
    assert np.max(np.abs(held - q0)) < 0.05
    robot.step(5000)
    state = robot.state()
    assert state.supervisor_state == "ACTIVE"
    assert np.max(np.abs(state.q - held)) < 1e-3
    robot.close()

    # Without gravity compensation the same posture falls: the check above can fail.
    robot = Robot(twin_config(name, floor=False, enable_ramp_s=0.0))
    for j, q in enumerate(q0):
        robot.twin().set_joint_position(j, q)
    robot.set_gravity_compensation(False)
    robot.set_gains(kp=np.zeros(robot.n_joints))
    robot.enable()
    robot.step(1000)
    assert np.max(np.abs(robot.state().q - q0)) > 0.05
    robot.close()


def _reach(name: str, posture_kp_scale: float, offset=(0.08, -0.05, 0.10)):
    robot = Robot(twin_config(name))
    allocations_before = robot.statistics()["realtime_allocations"]
    kp, kd = robot.gains
    robot.set_gains(kp=kp * posture_kp_scale)
    robot.enable()
    robot.step(600)
    hand = robot.task_frames[1]  # the right hand
    start = robot.frame_pose(hand)
    target = start.copy()
    target[:3, 3] += offset
    robot.set_frame_target(hand, target, duration=0.5, stiffness=(800.0, 60.0))
    robot.step(2500)
    error = np.linalg.norm(robot.frame_pose(hand)[:3, 3] - target[:3, 3])
    rotation_error = np.linalg.norm(pinocchio.log3(robot.frame_pose(hand)[:3, :3] @ target[:3, :3].T))
    q = robot.state().q.copy()
    allocations = robot.statistics()["realtime_allocations"] - allocations_before
    robot.close()
    return error, rotation_error, q, allocations


@pytest.mark.parametrize("name", ROBOTS)
def test_cartesian_hand_task_converges_and_the_null_space_posture_does_not_disturb_it(name):
    with_posture, rot_with, q_with, allocations = _reach(name, 1.0)
    without_posture, rot_without, q_without, _ = _reach(name, 0.0)
    assert with_posture < 1e-3 and rot_with < 1e-3
    assert without_posture < 1e-3 and rot_without < 1e-3
    # The posture acts only in the task's null space: the task error barely changes ...
    assert abs(with_posture - without_posture) < 5e-4
    # ... although the posture task does change how the body holds the hand.
    assert np.max(np.abs(q_with - q_without)) > 1e-3
    assert allocations == 0


def test_jacobian_signs_and_frames_on_a_known_case():
    robot = Robot("generic_humanoid")
    rng = np.random.default_rng(3)
    q = random_pose(robot, rng, spread=0.6)
    hand = "right_hand"
    J = robot.model.frame_jacobian(list(q), hand)
    T = robot.model.frame_pose(list(q), hand)
    # Waist yaw turns the whole upper body about the world z axis through the pelvis origin (the
    # joint sits on the pelvis z axis, and nothing below it moves): the hand's linear velocity per
    # unit waist-yaw rate is z x p_hand (x, y only) and its angular velocity is z.
    waist = robot.joint_index("waist_yaw")
    p = T[:3, 3]
    np.testing.assert_allclose(J[:3, waist], [-p[1], p[0], 0.0], atol=1e-12)
    np.testing.assert_allclose(J[3:, waist], [0.0, 0.0, 1.0], atol=1e-12)
    # Every column equals the finite difference of the pose (world-aligned linear part).
    eps = 1e-6
    for j in range(robot.n_joints):
        dq = np.zeros(robot.n_joints)
        dq[j] = eps
        plus = robot.model.frame_pose(list(q + dq), hand)
        minus = robot.model.frame_pose(list(q - dq), hand)
        np.testing.assert_allclose(J[:3, j], (plus[:3, 3] - minus[:3, 3]) / (2 * eps), atol=1e-6)
        omega_hat = (plus[:3, :3] - minus[:3, :3]) / (2 * eps) @ T[:3, :3].T
        np.testing.assert_allclose(J[3:, j], [omega_hat[2, 1], omega_hat[0, 2], omega_hat[1, 0]], atol=1e-6)
    # Leg joints do not move the hand on a fixed base.
    assert np.all(J[:, robot.joint_index("left_knee")] == 0.0)
    robot.close()


def test_frame_target_moves_smoothly_and_arrives_on_time():
    robot = Robot(twin_config("generic_humanoid"))
    robot.enable()
    robot.step(600)
    start = robot.frame_pose("left_hand")
    target = start.copy()
    target[:3, 3] += (0.0, 0.05, 0.10)
    t_due = robot.now() + 0.4
    robot.set_frame_target("left_hand", target, t=t_due)
    references = []
    for _ in range(600):
        robot.step(1)
        references.append(robot.task_errors()["left_hand"]["reference_position"])
    references = np.array(references)
    np.testing.assert_allclose(references[0], start[:3, 3], atol=2e-3)  # starts at the measured pose
    steps = np.linalg.norm(np.diff(references, axis=0), axis=1)
    assert np.max(steps) < 0.112 * 1.5 / 400 * 1.01  # peak speed of a cubic time law: 1.5 d / T
    np.testing.assert_allclose(references[-1], target[:3, 3], atol=1e-12)
    arrival = np.flatnonzero(np.linalg.norm(references - target[:3, 3], axis=1) < 1e-12)[0]
    assert arrival == pytest.approx(400, abs=2)
    robot.close()


def test_task_api_rejects_bad_input_naming_it():
    robot = Robot("generic_humanoid")
    with pytest.raises(KeyError, match=r"'nose' is not a task frame; allowed: left_hand, right_hand"):
        robot.set_frame_target("nose", np.eye(4))
    with pytest.raises(ValueError, match=r"pose: a 4x4 homogeneous matrix"):
        robot.set_frame_target("left_hand", np.eye(3))
    with pytest.raises(ValueError, match=r"not a rotation matrix"):
        robot.set_frame_target("left_hand", np.diag([2.0, 1.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match=r"stiffness: 6 finite values >= 0"):
        robot.set_frame_target("left_hand", np.eye(4), stiffness=(-1.0, 2.0))
    with pytest.raises(ValueError, match=r"quaternion must be close to unit length"):
        robot.set_frame_target("left_hand", ([0.3, 0.1, 0.2], [0.0, 0.0, 0.0, 0.0]))
    robot.close()


def test_mock_bus_runs_without_gravity_compensation_and_says_so():
    robot = Robot("generic_humanoid")
    assert not robot.gravity_compensation
    assert any("gravity compensation off" in note for note in robot.notes)
    robot.close()


def test_config_names_bad_task_frames_and_a_missing_model_package(monkeypatch):
    config = dump_config(load_config("generic_humanoid"))
    config["model"]["tasks"] = ["left_hand", "tail"]
    with pytest.raises(ConfigError) as error:
        load_config(config)
    assert error.value.field == "model.tasks[1]" and "right_hand" in error.value.allowed

    import humanoid_rt.config as config_module

    monkeypatch.setattr(config_module, "example_robot_data_dir", lambda: None)
    with pytest.raises(ConfigError) as error:
        load_config("g1")
    assert error.value.field == "model.urdf"
    assert "pip install 'humanoid_rt[g1]'" in error.value.allowed


def test_a_mujoco_bus_must_be_the_only_bus():
    config = dump_config(load_config("generic_humanoid"))
    config["buses"].append({"name": "twin", "type": "mujoco"})
    with pytest.raises(ConfigError) as error:
        load_config(config)
    assert error.value.field == "buses"


@pytest.mark.realtime
@pytest.mark.parametrize("robot_name", ROBOTS)
def test_demo_runs_the_whole_body_motion_in_the_twin(tmp_path, robot_name):
    import json
    import os
    import subprocess
    import sys

    out = tmp_path / "report.json"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = subprocess.run(
        [sys.executable, "-m", "humanoid_rt.cli", "demo", "--bus", "mujoco", "--robot", robot_name, "--seconds", "3",
         "--view", "--json", str(out)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "--view: no display" in result.stdout  # headless: the viewer is skipped, the demo runs
    report = json.loads(out.read_text())
    assert report["bus"] == "mujoco" and report["final_state"] == "DISABLED"
    assert report["whole_body"]["gravity_compensation"] is True
    assert report["whole_body"]["task_frame"] in ("left_hand", "left_rubber_hand")
    # The hand followed its circle (6 cm radius) by Cartesian impedance: error well under the radius.
    assert report["whole_body"]["task_position_error_m"] < 0.03
    assert report["realtime_allocations"] == 0
