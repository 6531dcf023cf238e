"""Teleop frame poses driving the whole-body Cartesian tasks, on the MuJoCo twin of the bundled
humanoid (task frames: left_hand, right_hand, left_foot, right_foot), stepped mode, loopback.
Each test waits until the receiver handled every packet, then steps; nothing times the wall clock."""

from __future__ import annotations

import numpy as np
import pytest

from humanoid_rt import Robot
from humanoid_rt.poses import quaternion_wxyz
from humanoid_rt.robot import DEFAULT_TASK_STIFFNESS
from humanoid_rt.teleop import protocol
from humanoid_rt.teleop.testing import LoopbackSender
from conftest import accepted_transitions, enable_active

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
RIGHT_HAND = 1  # frame_id: index into model.tasks


@pytest.fixture
def twin():
    robot = Robot("generic_humanoid", bus="mujoco")
    robot.enable()
    robot.step(int(robot.config.safety.enable_ramp_s * robot.rate_hz) + 100)
    assert robot.state().supervisor_state == "ACTIVE"
    robot.attach_teleop(key=KEY)
    sender = LoopbackSender(robot, KEY)
    yield robot, sender
    sender.close()
    robot.close()


def hand_pose(robot, frame="right_hand"):
    pose = robot.frame_pose(frame)
    return pose[:3, 3].copy(), quaternion_wxyz(pose[:3, :3])


def send_pose(sender, frame_id, position, quaternion, **kwargs):
    return sender.send(protocol.pose_packet(KEY, [(frame_id, position, quaternion)], **kwargs, **sender.fields()))


def stream_poses(robot, sender, position_of_t, quaternion, seconds, interval_cycles=10, frame_id=RIGHT_HAND):
    """One pose packet every `interval_cycles`, due two intervals ahead, stepping in between."""
    for _ in range(int(seconds * robot.rate_hz / interval_cycles)):
        stats = send_pose(sender, frame_id, position_of_t(robot.now()), quaternion,
                          due_in_s=2 * interval_cycles * robot.period_s)
        robot.step(interval_cycles)
    return stats


def test_streamed_poses_move_the_hand_to_the_streamed_pose(twin):
    robot, sender = twin
    start, quaternion = hand_pose(robot)
    goal = start + np.array([0.06, -0.04, 0.08])
    # Move there over 0.5 s, then keep streaming the goal.
    path = lambda t, t0=robot.now(): start + min(1.0, (t - t0) / 0.5) * (goal - start)  # noqa: E731
    stats = stream_poses(robot, sender, path, quaternion, seconds=2.0)
    assert stats["rejected_total"] == 0 and stats["accepted"] == 200
    assert stats["poses_applied"] == 200 and stats["pose_engagements"] == 1
    assert "pose_unsupported" not in stats and stats["setpoints_written"] == 0
    state = robot.state()
    assert state.supervisor_state == "ACTIVE"
    position, reached = hand_pose(robot)
    assert np.linalg.norm(position - goal) < 5e-3
    assert abs(abs(np.dot(reached, quaternion)) - 1.0) < 1e-4
    assert set(robot.task_errors()) == {"right_hand"}
    # The other slots are Python's: setting the left hand does not disturb the teleop slot.
    left, left_q = hand_pose(robot, "left_hand")
    robot.set_frame_target("left_hand", (left, left_q))
    stream_poses(robot, sender, lambda t: goal, quaternion, seconds=0.3)
    assert set(robot.task_errors()) == {"left_hand", "right_hand"}
    assert np.linalg.norm(hand_pose(robot)[0] - goal) < 5e-3


def test_pose_silence_goes_to_hold_then_damping_at_the_configured_times(twin):
    robot, sender = twin
    start, quaternion = hand_pose(robot)
    goal = start + np.array([0.05, 0.0, 0.05])
    stream_poses(robot, sender, lambda t: goal, quaternion, seconds=0.5)
    last_receipt = robot.now() - 10 * robot.period_s  # the last packet was handled before its 10 steps
    assert robot.state().supervisor_state == "ACTIVE"
    robot.step(int(1.0 * robot.rate_hz))  # past HOLD (ttl) and into DAMPING (+ hold_timeout), not its end
    transitions = accepted_transitions(robot)
    hold = [(c, r) for f, t, r, c in transitions if t == "HOLD"]
    damping = [(c, r) for f, t, r, c in transitions if t == "DAMPING"]
    ttl, hold_timeout = 0.1, robot.config.safety.hold_timeout_s
    assert hold and hold[-1][1] == "watchdog_expired"
    assert abs(hold[-1][0] * robot.period_s - (last_receipt + ttl)) <= 2 * robot.period_s
    # HOLD lasts hold_timeout (the posture re-anchors where the tasks hold the body, so the
    # standstill window is not left early), then DAMPING drops the tasks.
    assert damping and damping[-1][1] == "hold_timeout"
    assert abs((damping[-1][0] - hold[-1][0]) * robot.period_s - hold_timeout) <= 2 * robot.period_s
    assert robot.state().supervisor_state == "DAMPING"
    assert robot.task_errors() == {}


def test_poses_resume_hold_and_a_stale_stream_never_revives_after_re_enable(twin):
    robot, sender = twin
    start, quaternion = hand_pose(robot)
    goal = start + np.array([0.0, 0.0, 0.06])
    stream_poses(robot, sender, lambda t: goal, quaternion, seconds=0.3)
    robot.step(150)  # silence > ttl: HOLD
    assert robot.state().supervisor_state == "HOLD"
    stream_poses(robot, sender, lambda t: goal, quaternion, seconds=0.2)
    assert robot.state().supervisor_state == "ACTIVE"
    assert robot.teleop_statistics()["pose_engagements"] == 2  # re-engaged through the gate
    for _ in range(300):  # silence: HOLD, DAMPING, DISABLED (enable at once: a limp twin sags to its limits)
        if robot.step(10).supervisor_state == "DISABLED":
            break
    assert robot.state().supervisor_state == "DISABLED"
    enable_active(robot)
    robot.step(200)
    assert robot.task_errors() == {}  # the teleop slot was written before this enable: stale


def test_out_of_range_frame_id_is_rejected_naming_the_field(twin):
    robot, sender = twin
    position, quaternion = hand_pose(robot)
    stats = send_pose(sender, 4, position, quaternion)
    assert stats["rejected"]["bad_field"] == 1
    assert "poses[0].frame_id: 4; allowed: 0..3 (index into this robot's model.tasks)" in stats["last_rejection"]
    stats = sender.send(protocol.pose_packet(KEY, [(RIGHT_HAND, position, quaternion), (9, position, quaternion)],
                                             estop=True, **sender.fields()))
    assert stats["rejected"]["bad_field"] == 2 and "poses[1].frame_id: 9" in stats["last_rejection"]
    assert stats["poses_applied"] == 0 and stats["estops"] == 0  # a malformed packet acts on nothing
    assert robot.step(10).supervisor_state == "ACTIVE"


def test_robot_without_task_frames_rejects_every_frame_id(make_robot):
    robot = make_robot()
    enable_active(robot)
    robot.attach_teleop(key=KEY)
    sender = LoopbackSender(robot, KEY)
    stats = sender.send(protocol.pose_packet(KEY, [(0, (0.0, 0.0, -0.9), (1, 0, 0, 0))], **sender.fields()))
    assert stats["rejected"]["bad_field"] == 1 and "allowed: none" in stats["last_rejection"]
    sender.close()


def test_forged_pose_packets_never_move_the_robot(twin):
    robot, sender = twin
    start, quaternion = hand_pose(robot)
    q_before = robot.state().q.copy()
    rng = np.random.default_rng(5)
    for i in range(60):
        packet = bytearray(protocol.pose_packet(OTHER_KEY if i % 2 else KEY,
                                                [(RIGHT_HAND, start + [0.1, 0.0, 0.1], quaternion)],
                                                estop=bool(i % 3 == 0), **sender.fields()))
        if i % 2 == 0:  # the right key, one flipped bit after the version byte, not in count/record_bytes
            bit = int(rng.integers(5 * 8, (len(packet) - 4) * 8))  # (a changed length is refused before the tag)
            bit += 32 if bit >= 40 * 8 else 0
            packet[bit // 8] ^= 1 << (bit % 8)
        sender.send(bytes(packet), wait=False)
        robot.step(5)
    stats = sender.wait()
    assert stats["rejected"]["bad_auth"] == 60 and stats["accepted"] == 0
    assert stats["poses_applied"] == 0 and stats["estops"] == 0
    robot.step(200)
    assert robot.state().supervisor_state == "ACTIVE" and robot.task_errors() == {}
    assert np.max(np.abs(robot.state().q - q_before)) < 2e-3


def test_pose_start_gate_and_not_active(twin):
    robot, sender = twin
    start, quaternion = hand_pose(robot)
    stats = send_pose(sender, RIGHT_HAND, start + [0.35, 0.0, 0.0], quaternion)  # 0.35 m > 0.3 m
    assert stats["rejected"]["start_gate"] == 1
    assert "poses[0] (frame 1): |position - measured| = 0.350 m" in stats["last_rejection"]
    turned = np.array([np.cos(0.45), np.sin(0.45), 0.0, 0.0])  # 0.9 rad about x from identity
    w, v = quaternion[0], quaternion[1:]
    product = np.concatenate([[turned[0] * w - turned[1:] @ v], turned[0] * v + w * turned[1:] + np.cross(turned[1:], v)])
    stats = send_pose(sender, RIGHT_HAND, start, product)
    assert stats["rejected"]["start_gate"] == 2 and "angle 0.900 rad" in stats["last_rejection"]
    robot.step(100)
    assert stats["poses_applied"] == 0 and robot.task_errors() == {}
    # Within the gate: engaged; later poses of the engagement are not gated.
    stats = stream_poses(robot, sender, lambda t: start + [0.1, 0.0, 0.0], quaternion, seconds=0.2)
    assert stats["pose_engagements"] == 1 and stats["rejected_total"] == 2
    stats = send_pose(sender, RIGHT_HAND, start + [0.35, 0.0, 0.0], quaternion)
    assert stats["rejected_total"] == 2 and stats["poses_applied"] == 21
    robot.disable()
    robot.step(int(1.5 * robot.rate_hz))
    stats = send_pose(sender, RIGHT_HAND, start, quaternion)
    assert stats["rejected"]["not_active"] == 1 and "DISABLED" in stats["last_rejection"]


def test_pose_options_are_validated_and_passed(make_robot):
    robot = Robot("generic_humanoid", bus="mujoco")
    try:
        with pytest.raises(ValueError, match="pose_stiffness: 6 finite values >= 0"):
            robot.attach_teleop(key=KEY, pose_stiffness=(-1.0, 10.0))
        with pytest.raises(ValueError, match="pose_damping"):
            robot.attach_teleop(key=KEY, pose_damping=[1.0] * 5)
        with pytest.raises(ValueError, match="pose_start_gate_m: allowed: a finite number > 0"):
            robot.attach_teleop(key=KEY, pose_start_gate_m=0.0)
        with pytest.raises(ValueError, match="pose_start_gate_rad"):
            robot.attach_teleop(key=KEY, pose_start_gate_rad=float("nan"))
        robot.attach_teleop(key=KEY, pose_stiffness=DEFAULT_TASK_STIFFNESS, pose_start_gate_m=0.5)
        assert robot.teleop.running
    finally:
        robot.close()
