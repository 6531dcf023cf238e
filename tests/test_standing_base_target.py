"""A standing robot's pelvis height/orientation target on the contact QP (issue 13): from the Python API and
from teleop (kind 4), bounded by model.standing.base_target, overridden by a stop's crouch; teleop hand
frame targets on the QP-standing twin. Stepped (exact); ground truth from the twin (`twin().base_pose()`).

Each run starts like the standing scenario: enable, then the ready crouch (straight knees are singular: no
acceleration lowers the body from them), then the targets. Heights are measured from where the pelvis stood
just before the first target, angles against the level stance (the twin's yaw at enable is 0).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from humanoid_rt import ConfigError, Robot, load_config
from humanoid_rt.config import dump_config
from humanoid_rt.standing_scenario import ScenarioDriver, tilt_deg
from humanoid_rt.teleop import protocol
from humanoid_rt.teleop.testing import LoopbackSender

KEY = bytes(range(32))
# Pelvis height and angle errors after each target's path and 1 s of holding, per robot. Measured worst
# (README "Standing on a contact QP"): generic humanoid 3.2 mm / 0.004 rad; G1 4.7 mm / 0.038 rad (its ankle
# pitch range: at -0.08 m its pelvis leans, as in its squat).
TOLERANCE = {"generic_humanoid": (0.006, 0.01), "g1": (0.008, 0.05)}
HEIGHT_TOLERANCE_M, ANGLE_TOLERANCE_RAD = TOLERANCE["generic_humanoid"]
# At the clipped -0.12 m (the limit) the legs bend deepest: measured 5.0 mm (generic) / 1.1 mm (G1).
CLIPPED_HEIGHT_TOLERANCE_M = 0.008
MIN_COP_MARGIN_M = 0.01 - 1e-6  # model.standing.sole_margin_m: every CoP stays this far inside its sole
MIN_COM_MARGIN_M = 0.02
SETTLE_S = 2.0                # a target's path (<= 1 s at the default speeds) and its settling


def pelvis_rpy(quaternion) -> np.ndarray:
    """Roll, pitch, yaw (R = Rz Ry Rx) of a (w, x, y, z) orientation."""
    w, x, y, z = quaternion
    roll = math.atan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y))
    pitch = math.asin(max(-1.0, min(1.0, 2 * (w * y - z * x))))
    yaw = math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
    return np.array([roll, pitch, yaw])


def ready_robot(name: str, **robot_options) -> Robot:
    """The twin standing on the contact QP, enabled, in the scenario's ready crouch, settled."""
    robot = Robot(name, bus="mujoco", floating=True, **robot_options)
    driver = ScenarioDriver.for_robot(robot)
    robot.enable()
    robot.step(600)
    driver.advance(0.6)  # the ready crouch: legs' posture and CoM 2 cm down, over 1.5 s
    robot.step(2400)
    assert robot.state().supervisor_state == "ACTIVE"
    return robot


def hold(robot: Robot, seconds: float, samples: list | None = None) -> None:
    """Step `seconds`, sampling the twin's pelvis every 10 cycles into `samples`."""
    for _ in range(int(seconds * robot.rate_hz / 10)):
        robot.step(10)
        if samples is not None:
            samples.append(np.array(robot.twin().base_pose()))


def assert_balanced(robot: Robot, samples: list) -> None:
    statistics = robot.standing_statistics()
    assert statistics["failures"] == 0
    assert statistics["min_cop_margin"] >= MIN_COP_MARGIN_M
    assert statistics["min_com_margin"] > MIN_COM_MARGIN_M
    assert robot.state().supervisor_state == "ACTIVE"
    assert not [e for e in robot.events() if e["reason"].startswith("fall_")]
    assert max(tilt_deg(pose[3:]) for pose in samples) < 20.0
    assert robot.statistics()["realtime_allocations"] == 0


@pytest.fixture(scope="module", params=["generic_humanoid", "g1"])
def api_run(request):
    """Height -0.08 m, then pitch, then roll, then back to level, each held; the pelvis sampled at the end."""
    robot = ready_robot(request.param)
    twin = robot.twin()
    start = np.array(twin.base_pose())
    samples: list = []
    reached = {}
    for label, height, rpy in [("down", -0.08, (0.0, 0.0, 0.0)), ("pitch", -0.08, (0.0, 0.15, 0.0)),
                               ("roll", -0.05, (0.08, 0.0, 0.0)), ("yaw", -0.05, (0.0, 0.0, 0.12)),
                               ("level", 0.0, (0.0, 0.0, 0.0))]:
        robot.set_base_target(height_offset_m=height, rpy=rpy, duration=1.0)
        hold(robot, SETTLE_S, samples)
        pose = np.array(twin.base_pose())
        reached[label] = {"height": pose[2] - start[2], "rpy": pelvis_rpy(pose[3:]), "target": (height, rpy),
                          "status": robot.standing_status()}
    yield {"robot": robot, "reached": reached, "samples": samples, "start": start,
           "tolerance": TOLERANCE[request.param]}
    robot.close()


def test_api_base_targets_are_reached_with_balance_kept(api_run):
    robot, reached = api_run["robot"], api_run["reached"]
    height_tolerance, angle_tolerance = api_run["tolerance"]
    for label, row in reached.items():
        height, rpy = row["target"]
        assert row["status"]["base_reference"] == pytest.approx([height, *rpy], abs=1e-12), label
        assert abs(row["height"] - height) < height_tolerance, (label, row["height"])
        assert np.all(np.abs(row["rpy"] - np.array(rpy)) < angle_tolerance), (label, row["rpy"])
    assert_balanced(robot, api_run["samples"])


def test_out_of_range_api_calls_name_the_field():
    robot = Robot("generic_humanoid", bus="mujoco", floating=True)
    try:
        with pytest.raises(ValueError, match=r"height_offset_m: -0\.2; allowed: -0\.12\.\.0\.02 m "
                                             r"\(model\.standing\.base_target\.max_height_down_m"):
            robot.set_base_target(height_offset_m=-0.2)
        with pytest.raises(ValueError, match=r"rpy\[1\] \(pitch\): 0\.4; allowed: -0\.25\.\.0\.25 rad"):
            robot.set_base_target(rpy=(0.0, 0.4, 0.0))
        with pytest.raises(ValueError, match=r"rpy\[0\] \(roll\): nan"):
            robot.set_base_target(rpy=(float("nan"), 0.0, 0.0))
        with pytest.raises(ValueError, match=r"rpy: .*allowed: three angles"):
            robot.set_base_target(rpy=(0.0, 0.1))
        with pytest.raises(ValueError, match=r"duration: -1\.0; allowed"):
            robot.set_base_target(height_offset_m=-0.05, duration=-1.0)
        # The C++ side refuses the same values itself (any caller of ContactWbc.set_base_target).
        with pytest.raises(ValueError, match=r"rpy\[2\] \(yaw\): 0\.3; allowed: -0\.2\.\.0\.2 rad"):
            robot.standing.set_base_target(0.0, [0.0, 0.0, 0.3], 1.0)
        assert robot.standing.clamp_base_target(-0.3, [0.5, -0.5, 0.0]) == (-0.12, [0.15, -0.25, 0.0], True)
        assert robot.standing.clamp_base_target(-0.05, [0.0, 0.1, 0.0]) == (-0.05, [0.0, 0.1, 0.0], False)
    finally:
        robot.close()


def test_a_robot_without_the_contact_qp_refuses_base_targets(tmp_path):
    fixed = Robot("generic_humanoid", bus="mujoco")
    try:
        with pytest.raises(RuntimeError, match=r"model\.base: fixed.*allowed: model\.base: floating"):
            fixed.set_base_target(height_offset_m=-0.05)
    finally:
        fixed.close()
    config = dump_config(load_config("generic_humanoid"))
    config["model"]["standing"] = {"controller": "stiff_legs"}
    stiff = Robot(config, bus="mujoco", floating=True)
    try:
        with pytest.raises(RuntimeError, match=r"model\.standing\.controller: 'stiff_legs'.*allowed: contact_qp"):
            stiff.set_base_target(height_offset_m=-0.05)
    finally:
        stiff.close()


def test_bad_base_target_limits_name_the_field():
    config = dump_config(load_config("generic_humanoid"))
    config["model"]["standing"] = {"base_target": {"max_height_down_m": -0.1, "max_pitch_rad": 2.0,
                                                   "height_speed_m_s": 0}}
    with pytest.raises(ConfigError) as error:
        load_config(config)
    text = str(error.value)
    assert "model.standing.base_target.max_height_down_m" in text and ">= 0 and <= 0.4 m" in text
    assert "model.standing.base_target.max_pitch_rad" in text and "<= 0.6 rad" in text
    assert "model.standing.base_target.height_speed_m_s" in text and "> 0 and <= 0.5 m/s" in text
    config["model"]["standing"] = {"base_target": {"max_heigth_down_m": 0.1}}
    with pytest.raises(ConfigError, match=r"model\.standing\.base_target\.max_heigth_down_m.*unknown key"):
        load_config(config)
    config["model"]["standing"] = {"base_target": "low"}
    with pytest.raises(ConfigError, match=r"model\.standing\.base_target.*not a mapping"):
        load_config(config)
    # Good limits load, reach the QP's options and survive a dump/load round trip.
    config["model"]["standing"] = {"base_target": {"max_height_down_m": 0.2, "max_yaw_rad": 0.0}}
    loaded = load_config(config)
    assert loaded.model.standing.base_target.max_height_down_m == 0.2
    assert load_config(dump_config(loaded)) == loaded
    robot = Robot(loaded, bus="mujoco", floating=True)
    try:
        assert robot.standing.options.base_height_down_m == 0.2 and robot.standing.options.base_max_yaw_rad == 0.0
    finally:
        robot.close()


def stream_base_target(robot: Robot, sender: LoopbackSender, height: float, rpy, seconds: float,
                       interval_cycles: int = 20) -> dict:
    """One kind-4 packet every `interval_cycles` (50 Hz), due 0.5 s ahead, stepping in between."""
    stats = {}
    for _ in range(int(seconds * robot.rate_hz / interval_cycles)):
        stats = sender.send(protocol.base_target_packet(KEY, height, rpy, due_in_s=0.5, ttl_s=0.1, **sender.fields()))
        robot.step(interval_cycles)
    return stats


@pytest.mark.parametrize("name", ["generic_humanoid", "g1"])
def test_teleop_base_targets_drive_the_standing_robot_and_are_clipped_to_its_limits(name):
    height_tolerance, angle_tolerance = TOLERANCE[name]
    robot = ready_robot(name)
    twin = robot.twin()
    robot.attach_teleop(key=KEY)
    sender = LoopbackSender(robot, KEY)
    try:
        start = np.array(twin.base_pose())
        stats = stream_base_target(robot, sender, -0.08, (0.0, 0.1, 0.0), seconds=2.5)
        pose = np.array(twin.base_pose())
        assert stats["accepted"] == 125 and stats["rejected_total"] == 0
        assert stats["base_targets_applied"] == 125 and stats["clipped_base_target"] == 0
        assert robot.standing_status()["base_goal"] == pytest.approx([-0.08, 0.0, 0.1, 0.0], abs=1e-6)
        assert abs(pose[2] - start[2] + 0.08) < height_tolerance
        assert np.all(np.abs(pelvis_rpy(pose[3:]) - [0.0, 0.1, 0.0]) < angle_tolerance)
        # Beyond the robot's limits (inside the wire bounds): clipped to them, counted, applied.
        stats = stream_base_target(robot, sender, -0.3, (0.0, 0.5, 0.0), seconds=2.0)
        assert stats["clipped_base_target"] == 100 and stats["base_targets_applied"] == 225
        assert robot.standing_status()["base_goal"] == pytest.approx([-0.12, 0.0, 0.25, 0.0], abs=1e-6)
        pose = np.array(twin.base_pose())
        assert abs(pose[2] - start[2] + 0.12) < CLIPPED_HEIGHT_TOLERANCE_M
        assert abs(pelvis_rpy(pose[3:])[1] - 0.25) < angle_tolerance
        # Beyond the wire bounds: bad_field, nothing applied.
        bad = sender.send(protocol.base_target_packet(KEY, float("nan"), (0.0, 0.0, 0.0), **sender.fields()))
        assert bad["rejected"]["bad_field"] == 1 and bad["base_targets_applied"] == 225
        assert "base_target.height_offset_m: nan" in bad["last_rejection"]
        statistics = robot.standing_statistics()
        assert statistics["failures"] == 0 and statistics["min_cop_margin"] >= MIN_COP_MARGIN_M
        assert robot.state().supervisor_state == "ACTIVE"
        assert robot.statistics()["realtime_allocations"] == 0
    finally:
        sender.close()
        robot.close()


def test_teleop_base_targets_on_a_robot_without_the_contact_qp_are_counted_unsupported():
    robot = Robot("generic_humanoid", bus="mujoco")  # fixed base: nothing moves the pelvis
    robot.enable()
    robot.step(int(robot.config.safety.enable_ramp_s * robot.rate_hz) + 100)
    robot.attach_teleop(key=KEY)
    sender = LoopbackSender(robot, KEY)
    try:
        stats = sender.send(protocol.base_target_packet(KEY, -0.05, (0.0, 0.1, 0.0), **sender.fields()))
        assert stats["accepted"] == 1 and stats["base_target_unsupported"] == 1
        assert stats["base_targets_applied"] == 0 and stats["setpoints_written"] == 0
        assert "model.standing.controller: contact_qp" in stats["last_unsupported"]
    finally:
        sender.close()
        robot.close()


def test_a_crouch_stop_during_a_base_target_ends_in_the_crouch_and_the_next_enable_re_anchors():
    from humanoid_rt.benchmarks.standing import stop_crouch_posture

    robot = ready_robot("generic_humanoid")
    twin = robot.twin()
    try:
        robot.set_base_target(height_offset_m=-0.08, rpy=(0.0, 0.12, 0.0), duration=1.0)
        hold(robot, 0.5)  # mid-path
        assert 0.0 < robot.standing_status()["base_reference"][2] < 0.12
        robot.estop()
        samples: list = []
        hold(robot, 2.5, samples)
        reasons = [e["reason"] for e in robot.events()]
        assert "estop_requested" in reasons and "crouch_complete" in reasons
        assert not [r for r in reasons if r.startswith("fall_")]
        state = robot.state()
        assert state.supervisor_state == "ESTOP"
        for name, angle in stop_crouch_posture(robot).items():  # the crouch, not the base target, set the posture
            assert abs(state.q[robot.joint_index(name)] - angle) < 0.05, name
        assert max(tilt_deg(pose[3:]) for pose in samples) < 10.0
        # Reset and enable: the robot anchors where it crouches, level; the base target was dropped.
        robot.reset()
        robot.step(5)
        robot.enable()
        hold(robot, 1.5)
        status = robot.standing_status()
        assert robot.state().supervisor_state == "ACTIVE"
        assert status["base_goal"] == [0.0] * 4 and status["base_reference"] == [0.0] * 4
        assert abs(pelvis_rpy(twin.base_pose()[3:])[1]) < ANGLE_TOLERANCE_RAD
    finally:
        robot.close()


def _matrix(quaternion) -> np.ndarray:
    w, x, y, z = quaternion
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                     [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                     [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


def test_teleop_hand_frame_targets_move_the_hands_of_the_standing_robot():
    from humanoid_rt.poses import quaternion_wxyz

    robot = Robot("generic_humanoid", bus="mujoco", floating=True)
    twin = robot.twin()
    stance = np.array(twin.base_pose())  # the QP anchors its stance frame here (yaw 0, level) at enable
    robot.enable()
    robot.step(1500)
    robot.attach_teleop(key=KEY)
    sender = LoopbackSender(robot, KEY)
    try:
        # The right hand's pose in the stance frame (the frame teleop poses are in on a standing robot).
        pelvis = np.array(twin.base_pose())
        fk = robot.frame_pose("right_hand")
        start = _matrix(pelvis[3:]) @ fk[:3, 3] + pelvis[:3] - stance[:3]
        quaternion = quaternion_wxyz(_matrix(pelvis[3:]) @ fk[:3, :3])
        goal = start + np.array([0.10, 0.0, 0.05])
        right_hand = robot.task_frames.index("right_hand")
        t0 = robot.now()
        samples: list = []
        for _ in range(150):  # 3 s at 50 Hz: 1 s to the goal, then hold it
            position = start + min(1.0, (robot.now() - t0) / 1.0) * (goal - start)
            stats = sender.send(protocol.pose_packet(KEY, [(right_hand, position, quaternion)], due_in_s=0.04,
                                                     **sender.fields()))
            robot.step(20)
            samples.append(np.array(twin.base_pose()))
        assert stats["accepted"] == 150 and stats["poses_applied"] == 150 and stats["rejected_total"] == 0
        task = robot.task_errors()["right_hand"]
        assert task["reference_position"] == pytest.approx(goal, abs=1e-6)
        assert np.linalg.norm(task["position_error"]) < 0.03
        # Ground truth: the hand where the twin's pelvis and the measured joints put it.
        pelvis = np.array(twin.base_pose())
        hand = _matrix(pelvis[3:]) @ robot.frame_pose("right_hand")[:3, 3] + pelvis[:3] - stance[:3]
        assert np.linalg.norm(hand - goal) < 0.03
        assert_balanced(robot, samples)
    finally:
        sender.close()
        robot.close()
