"""Pose helpers on Pinocchio: (w, x, y, z) for the API, (x, y, z, w) for the live view, slerp, pose parsing."""

from __future__ import annotations

import numpy as np
import pinocchio as pin
import pytest

from humanoid_rt.poses import axis_angle_wxyz, pose_parts, quaternion_wxyz, quaternions_xyzw, slerp_wxyz

HALF_TURNS = [np.diag([1.0, -1.0, -1.0]), np.diag([-1.0, 1.0, -1.0]), np.diag([-1.0, -1.0, 1.0])]


def _random_rotations(count: int, seed: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [pin.rpy.rpyToMatrix(*rng.uniform(-np.pi, np.pi, 3)) for _ in range(count)] + [np.eye(3)] + HALF_TURNS


def test_quaternion_wxyz_is_the_rotation_with_w_first_and_non_negative():
    for rotation in _random_rotations(100):
        w, x, y, z = quaternion_wxyz(rotation)
        assert w >= 0
        np.testing.assert_allclose(pin.Quaternion(w, x, y, z).toRotationMatrix(), rotation, atol=1e-12)
    np.testing.assert_allclose(quaternion_wxyz(pin.exp3(np.array([0.0, 0.0, np.pi / 2]))),
                               [np.cos(np.pi / 4), 0.0, 0.0, np.sin(np.pi / 4)], atol=1e-15)


def test_quaternions_xyzw_agrees_with_quaternion_wxyz_row_by_row():
    rotations = _random_rotations(50)
    rows = quaternions_xyzw(np.stack(rotations))
    assert rows.shape == (len(rotations), 4)
    for rotation, row in zip(rotations, rows):
        np.testing.assert_allclose(np.roll(row, 1), quaternion_wxyz(rotation), atol=1e-12)


@pytest.mark.parametrize("matrix, message", [
    (np.diag([1.0, 1.0, -1.0]), "not a rotation matrix"),  # a reflection: orthonormal, det -1
    (np.eye(3) * 1.01, "not a rotation matrix"),
    (np.eye(2), r"a 3x3 rotation matrix \(got shape \(2, 2\)\)"),
])
def test_a_matrix_that_is_not_a_rotation_is_refused(matrix, message):
    with pytest.raises(ValueError, match=message):
        quaternion_wxyz(matrix)


def test_slerp_turns_at_constant_rate_along_the_shorter_arc():
    start = np.array([1.0, 0.0, 0.0, 0.0])
    end = axis_angle_wxyz((0.0, 0.0, 1.0), 1.2)
    for fraction in (0.0, 0.25, 0.5, 1.0):
        np.testing.assert_allclose(slerp_wxyz(start, end, fraction), axis_angle_wxyz((0, 0, 1), 1.2 * fraction),
                                   atol=1e-12)
    # -end is the same rotation: the shorter arc still turns +0.6 rad at the midpoint, not the long way round
    middle = slerp_wxyz(start, -end, 0.5)
    np.testing.assert_allclose(pin.log3(pin.Quaternion(*middle).toRotationMatrix()), [0.0, 0.0, 0.6], atol=1e-12)


def test_pose_parts_takes_a_matrix_an_se3_or_a_pair_and_gives_the_same_pose():
    rotation = pin.rpy.rpyToMatrix(0.1, -0.4, 2.0)
    position = np.array([0.3, -0.2, 0.9])
    se3 = pin.SE3(rotation, position)
    from_matrix = pose_parts(se3.homogeneous)
    from_se3 = pose_parts(se3)
    from_pair = pose_parts((position.tolist(), 1.2 * quaternion_wxyz(rotation)))  # renormalised
    for parts in (from_matrix, from_se3, from_pair):
        np.testing.assert_allclose(parts[0], position)
        np.testing.assert_allclose(parts[1], quaternion_wxyz(rotation), atol=1e-12)
    with pytest.raises(ValueError, match="close to unit length"):
        pose_parts(([0, 0, 0], [0.1, 0, 0, 0]))
    with pytest.raises(ValueError, match="4x4 homogeneous matrix"):
        pose_parts(np.eye(3))


def test_a_frame_target_given_as_an_se3_is_the_tasks_reference():
    from humanoid_rt import Robot

    with Robot("generic_humanoid") as robot:
        robot.enable()
        robot.step(int(robot.config.safety.enable_ramp_s * robot.rate_hz) + 1)
        start = pin.SE3(robot.frame_pose("left_hand"))
        goal = pin.SE3(start.rotation, start.translation + np.array([0.0, 0.02, 0.03]))
        robot.set_frame_target("left_hand", goal, t=robot.now() + 0.2)
        robot.step(int(0.3 * robot.rate_hz))
        np.testing.assert_allclose(robot.task_errors()["left_hand"]["reference_position"], goal.translation,
                                   atol=1e-12)
        assert np.linalg.norm(robot.frame_pose("left_hand")[:3, 3] - goal.translation) < 0.01


def test_pinocchio_is_loaded_with_the_robot_not_by_the_first_frame_target():
    # A streaming loop's first set_frame_target() must not stall on importing Pinocchio (~0.3 s, longer
    # than a stream's watchdog TTL): the demo's hand circle went to HOLD on exactly that.
    import subprocess
    import sys

    from humanoid_rt.veth import child_env

    probe = "import sys, humanoid_rt.robot; print('pinocchio' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=child_env(),
                            timeout=120)
    assert result.stdout.strip() == "True", result.stderr
