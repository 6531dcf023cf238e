"""Teleop end to end on loopback, stepped mode: the C++ receiver thread writes the setpoint
buffer; each test waits until the receiver has handled every packet, then steps the loop.
No timing is asserted (bench/test_bench_teleop.py measures it)."""

from __future__ import annotations

import numpy as np
import pytest

from humanoid_rt import _core
from humanoid_rt.teleop import protocol
from humanoid_rt.teleop.receiver import REJECT_REASONS
from humanoid_rt.teleop.testing import LoopbackSender
from conftest import TELEOP_KEY, accepted_transitions, enable_active

KEY = TELEOP_KEY
OTHER_KEY = bytes(range(1, 33))


def stream(robot, sender, target_of_t, seconds, interval_cycles=10, **kwargs):
    """One packet every `interval_cycles`, due 1.5-2 intervals ahead, stepping in between."""
    for _ in range(int(seconds * robot.rate_hz / interval_cycles)):
        sender.joints(target_of_t(robot.now()), due_in_s=2 * interval_cycles * robot.period_s, **kwargs)
        robot.step(interval_cycles)


def test_streamed_targets_are_tracked(teleop_robot):
    robot, sender = teleop_robot
    wave = lambda t: {0: 0.3 * np.sin(2 * np.pi * 0.5 * t), 1: 0.2, 2: -0.1}  # noqa: E731
    stream(robot, sender, wave, seconds=2.0)
    stats = robot.teleop_statistics()
    assert stats["accepted"] == 200 and stats["rejected_total"] == 0
    assert stats["engagements"] == 1 and stats["engaged"]
    assert robot.state().supervisor_state == "ACTIVE"
    robot.drain_telemetry()
    stream(robot, sender, wave, seconds=1.0)
    tm = robot.drain_telemetry()
    expected = 0.3 * np.sin(2 * np.pi * 0.5 * tm["t"])
    # Tracking lags the stream by its due_in (20 ms) at most: 0.3 * 2 pi * 0.5 * 0.02 ~ 0.019 rad.
    assert np.max(np.abs(tm["q_ref"][:, 0] - expected)) < 0.03
    assert np.max(np.abs(tm["q"][:, 1] - 0.2)) < 0.02
    np.testing.assert_allclose(robot.state().q[2], -0.1, atol=0.01)
    # Telemetry names who wrote the setpoints (a recorder logs it): the receiver, not the API.
    assert set(tm["setpoint_source"]) == {int(_core.SetpointSource.TELEOP)}
    assert len(np.unique(tm["setpoint_sequence"])) >= 99


def test_receive_to_applied_latency_is_recorded(teleop_robot):
    robot, sender = teleop_robot
    sender.joints({0: 0.0})
    robot.step(1)
    deadline_stats = None
    for _ in range(2000):  # the receiver notices the application on its next poll
        deadline_stats = robot.teleop_statistics()
        if deadline_stats["setpoints_applied"] >= 1:
            break
        import time
        time.sleep(0.001)
    assert deadline_stats["setpoints_applied"] == 1
    assert deadline_stats["receive_to_applied_latency"]["count"] == 1


def test_silence_goes_to_hold_then_damping_at_the_configured_times(teleop_robot):
    robot, sender = teleop_robot
    stream(robot, sender, lambda t: {0: 0.1}, seconds=0.3)
    last_receipt = robot.now()  # the last packet was handled at this loop time (before its 10 steps)
    last_receipt -= 10 * robot.period_s
    robot.step(int(1.0 * robot.rate_hz))
    transitions = accepted_transitions(robot)
    hold = [c for f, t, r, c in transitions if t == "HOLD"]
    damping = [c for f, t, r, c in transitions if t == "DAMPING"]
    ttl, hold_timeout = 0.1, robot.config.safety.hold_timeout_s
    # HOLD when the last packet's TTL (from its receipt) lapses; DAMPING hold_timeout later.
    assert hold and abs(hold[-1] * robot.period_s - (last_receipt + ttl)) <= 2 * robot.period_s
    assert damping and abs((damping[-1] - hold[-1]) * robot.period_s - hold_timeout) <= 2 * robot.period_s
    assert robot.state().supervisor_state in ("DAMPING", "DISABLED")


def test_stream_resuming_from_hold_re_engages_through_the_gate(teleop_robot):
    robot, sender = teleop_robot
    stream(robot, sender, lambda t: {0: 0.1}, seconds=0.2)
    robot.step(150)  # silence > ttl: HOLD
    assert robot.state().supervisor_state == "HOLD"
    stream(robot, sender, lambda t: {0: 0.15}, seconds=0.1)
    assert robot.state().supervisor_state == "ACTIVE"
    assert robot.teleop_statistics()["engagements"] == 2


def test_estop_flag_reaches_estop_within_one_cycle(teleop_robot):
    robot, sender = teleop_robot
    stream(robot, sender, lambda t: {0: 0.1}, seconds=0.1)
    stats = sender.joints({0: 0.1}, estop=True)
    assert stats["estops"] == 1
    state = robot.step(1)
    assert state.supervisor_state == "ESTOP"
    assert not np.any(state.tau_command)


def test_estop_only_packet_and_estop_on_a_replayed_packet(teleop_robot):
    robot, sender = teleop_robot
    estop = protocol.estop_packet(KEY, **sender.fields())
    stats = sender.send(estop)
    assert stats["accepted"] == 1 and stats["estops"] == 1
    assert robot.step(1).supervisor_state == "ESTOP"
    robot.reset()
    robot.step(1)
    enable_active(robot)
    stats = sender.send(estop)  # replayed: rejected as a setpoint, but stopping is always safe
    assert stats["rejected"]["replayed"] == 1 and stats["estops"] == 2
    assert robot.step(1).supervisor_state == "ESTOP"


def test_start_gate_refuses_far_targets_then_ramps_in(teleop_robot):
    robot, sender = teleop_robot
    q_before = robot.state().q_ref.copy()
    stats = sender.joints({0: 0.85})  # 0.85 rad from the measured 0 > gate 0.8
    assert stats["rejected"]["start_gate"] == 1 and "joints[0] (joint 0)" in stats["last_rejection"]
    robot.step(50)
    np.testing.assert_array_equal(robot.state().q_ref, q_before)
    assert stats["setpoints_written"] == 0
    # Within the gate: engages, then ramps at 25 % of the 5 rad/s limit instead of jumping.
    robot.drain_telemetry()
    stream(robot, sender, lambda t: {0: 0.7}, seconds=1.0)
    tm = robot.drain_telemetry()
    stats = robot.teleop_statistics()
    assert stats["engagements"] == 1 and stats["ramp_packets"] > 10 and stats["clipped_velocity"] > 0
    ramp_speed = np.max(np.abs(np.diff(tm["q_ref"][:, 0]))) * robot.rate_hz
    assert ramp_speed < 0.25 * 5.0 * 1.5  # the Hermite path peaks a little above the segment average
    assert robot.state().q_ref[0] == pytest.approx(0.7, abs=1e-3)


def test_step_and_velocity_clipping_and_gain_limits(make_robot):
    robot = make_robot()
    enable_active(robot)
    robot.attach_teleop(key=KEY, max_step_rad=0.01, ramp_velocity_fraction=1.0)
    sender = LoopbackSender(robot, KEY)
    stream(robot, sender, lambda t: {1: 0.3}, seconds=0.2)
    stats = robot.teleop_statistics()
    assert stats["clipped_step"] > 0
    assert robot.state().q_ref[1] <= 0.01 * 20 + 1e-9  # at most 0.01 rad per packet
    stats = sender.joints({1: 0.2}, kp=[1000.0], kd=[1.0])  # kp above the config's 100: lowered
    assert stats["clipped_gains"] == 1
    sender.close()


def test_every_rejection_reason_is_reachable(teleop_robot):
    robot, sender = teleop_robot
    fields = sender.fields
    good = lambda **o: protocol.joint_packet(KEY, [0], [0.0], **fields(), **o)  # noqa: E731
    cases = {
        "truncated": good()[:60],
        "oversized": good() + bytes(protocol.MAX_PACKET_BYTES),
        "bad_magic": good(magic=b"XXXX"),
        "bad_version": good(version=2),
        "bad_auth": protocol.joint_packet(OTHER_KEY, [0], [0.0], **fields()),
        "bad_field": protocol.joint_packet(KEY, [7], [0.0], **fields()),  # joint 7 of 3
    }
    for reason, packet in cases.items():
        stats = sender.send(packet)
        assert stats["rejected"][reason] == 1, (reason, stats["last_rejection"])
    assert "joints[0].index: 7; allowed: 0..2" in stats["last_rejection"]

    stats = sender.joints({0: 0.0}, sequence=100)
    assert stats["accepted"] == 1
    stats = sender.joints({0: 0.0}, sequence=100)
    assert stats["rejected"]["replayed"] == 1
    stats = sender.joints({0: 0.0}, sequence=99)
    assert stats["rejected"]["reordered"] == 1
    stats = sender.joints({0: 0.0}, sequence=99)  # now seen
    assert stats["rejected"]["replayed"] == 2
    stats = sender.joints({0: 0.0}, sequence=10)  # older than the 64-packet window
    assert stats["rejected"]["replayed"] == 3
    stats = sender.joints({0: 0.0}, sequence=105)
    assert stats["gaps"] == 4
    stats = sender.joints({0: 0.0}, sequence=106, sender_time=robot.now() - 0.5)  # ttl 0.1 < 0.5 late
    assert stats["rejected"]["expired"] == 1
    stats = sender.joints({0: 0.0}, sequence=1, session_id=2)  # session 1 is alive
    assert stats["rejected"]["session_conflict"] == 1
    robot.step(150)  # session 1 silent past its TTL: session 2 may take over
    stats = sender.joints({0: 0.0}, sequence=1, session_id=2)
    assert stats["accepted"] == 3 and stats["session_id"] == 2
    robot.step(150)
    stats = sender.joints({0: 0.0}, sequence=200, session_id=1)  # retired sessions never come back
    assert stats["rejected"]["replayed"] == 4
    stats = sender.joints({0: 0.9}, sequence=2, session_id=2)
    assert stats["rejected"]["start_gate"] == 1
    robot.disable()
    robot.step(300)
    assert robot.state().supervisor_state == "DISABLED"
    stats = sender.joints({0: 0.0}, sequence=3, session_id=2)
    assert stats["rejected"]["not_active"] == 1 and "DISABLED" in stats["last_rejection"]
    assert set(stats["rejected"]) == set(REJECT_REASONS)
    assert all(count >= 1 for count in stats["rejected"].values())


def test_packets_failing_authentication_never_move_the_robot(teleop_robot):
    robot, sender = teleop_robot
    q_ref = robot.state().q_ref.copy()
    rng = np.random.default_rng(3)
    for i in range(100):
        packet = bytearray(protocol.joint_packet(OTHER_KEY if i % 2 else KEY, [0, 1, 2], [0.5, -0.5, 0.5],
                                                 estop=bool(i % 3 == 0), **sender.fields()))
        if i % 2 == 0:  # the right key, one flipped bit anywhere after the version byte
            # but not in count/record_bytes (bytes 40..43): a changed declared length is `truncated` or
            # `oversized` before the tag is checked (tests/test_teleop_spec_conformance.py)
            bit = int(rng.integers(5 * 8, (len(packet) - 4) * 8))
            bit += 32 if bit >= 40 * 8 else 0
            packet[bit // 8] ^= 1 << (bit % 8)
        sender.send(bytes(packet), wait=False)
        robot.step(2)
    stats = sender.wait()
    assert stats["rejected"]["bad_auth"] == 100 and stats["accepted"] == 0
    assert stats["setpoints_written"] == 0 and stats["estops"] == 0
    state = robot.step(10)
    assert state.supervisor_state == "ACTIVE"
    np.testing.assert_array_equal(state.q_ref, q_ref)


def test_pose_packets_are_validated_and_hand_packets_counted_unsupported(teleop_robot):
    robot, sender = teleop_robot  # this arm lists no model.tasks: no frame_id is valid (poses: test_teleop_poses.py)
    stats = sender.send(protocol.pose_packet(KEY, [(3, (0.4, -0.2, 1.1), (1, 0, 0, 0))], **sender.fields()))
    assert stats["rejected"]["bad_field"] == 1 and "poses[0].frame_id: 3; allowed: none" in stats["last_rejection"]
    stats = sender.send(protocol.pose_packet(KEY, [(0, (0.4, -0.2, 1.1), (1, 1, 0, 0))], **sender.fields()))
    assert stats["rejected"]["bad_field"] == 2 and "quaternion" in stats["last_rejection"]
    stats = sender.send(protocol.hand_packet(KEY, {"left": 0.5}, **sender.fields()))
    assert stats["accepted"] == 1 and stats["hand_unsupported"] == 1 and stats["setpoints_written"] == 0
    assert stats["poses_applied"] == 0


def test_hand_targets_map_to_named_joints(make_robot):
    robot = make_robot()
    enable_active(robot)
    robot.attach_teleop(key=KEY, hand_joints={"right": [("j2", 0.0, 0.4)]})
    sender = LoopbackSender(robot, KEY)
    for _ in range(40):
        sender.send(protocol.hand_packet(KEY, {"right": 0.5}, due_in_s=0.02, **sender.fields()))
        robot.step(10)
    assert robot.teleop_statistics()["hand_unsupported"] == 0
    assert robot.state().q_ref[2] == pytest.approx(0.2, abs=1e-4)
    sender.close()


def test_attach_errors_name_the_field(make_robot, tmp_path):
    robot = make_robot()
    with pytest.raises(ValueError, match="key: 4 bytes; allowed: at least 16"):
        robot.attach_teleop(key=b"abcd")
    with pytest.raises(ValueError, match="start_gate_rad"):
        robot.attach_teleop(key=KEY, start_gate_rad=-1.0)
    with pytest.raises(TypeError, match="allowed: priority"):
        robot.attach_teleop(key=KEY, gate=1.0)
    with pytest.raises(ValueError, match="host: robot.local; allowed: an IPv4 address"):
        robot.attach_teleop(key=KEY, host="robot.local")
    with pytest.raises(ValueError, match="hand_joints.left: unknown joint 'thumb'"):
        robot.attach_teleop(key=KEY, hand_joints={"left": [("thumb", 0.0, 1.0)]})
    bad = tmp_path / "key"
    bad.write_text("zz\n")
    with pytest.raises(ValueError, match="not hex"):
        robot.attach_teleop(key_file=bad)
    receiver = robot.attach_teleop(key=KEY)
    with pytest.raises(RuntimeError, match="already attached"):
        robot.attach_teleop(key=KEY)
    with pytest.raises(RuntimeError, match="cannot bind"):
        robot.detach_teleop() or robot.attach_teleop(key=KEY, port=_busy_port())
    assert receiver.running is False


def _busy_port():
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    _busy_port.keep = s
    return s.getsockname()[1]
