"""Joint impedance, drive-side packing, live gains, setpoint interpolation and
telemetry, in stepped mode."""

from __future__ import annotations

import numpy as np
import pytest

from humanoid_rt import _core
from conftest import enable_active, zeros


def test_impedance_law_numerically():
    # tau = kp (q_d - q) + kd (dq_d - dq) + tau_ff
    assert _core.joint_impedance_torque(kp=100.0, kd=4.0, q_d=0.5, dq_d=1.0, tau_ff=2.0, q=0.3, dq=-0.5) == \
        pytest.approx(100.0 * 0.2 + 4.0 * 1.5 + 2.0)
    assert _core.joint_impedance_torque(0.0, 0.0, 1.0, 1.0, -3.25, 0.0, 0.0) == -3.25


def test_drive_side_packing_reproduces_the_safe_torque_on_the_motor_side():
    kp, kd, q_d, dq_d, tau_ff, q, dq = 200.0, 5.0, 0.4, 0.2, 1.5, 0.1, -0.3
    tau_unshaped = kp * (q_d - q) + kd * (dq_d - dq) + tau_ff  # 63.0
    tau_safe = 40.0  # what the safety layer allowed
    gear, direction, offset = 9.0, -1.0, 0.25
    cmd = _core.pack_drive_impedance(kp, kd, q_d, dq_d, tau_ff, q, dq, tau_safe,
                                     _core.JointTransmission(gear, direction, offset))
    # Motor-side conversion: q_m = d g q + offset, dq_m = d g dq, kp_m = kp / g^2, tau_m = tau / (d g).
    assert cmd["q"] == pytest.approx(direction * gear * q_d + offset)
    assert cmd["dq"] == pytest.approx(direction * gear * dq_d)
    assert cmd["kp"] == pytest.approx(kp / gear**2)
    assert cmd["kd"] == pytest.approx(kd / gear**2)
    # The drive evaluates its law at the motor-side measurement; converted back to the joint it is tau_safe.
    q_m, dq_m = direction * gear * q + offset, direction * gear * dq
    tau_motor = cmd["kp"] * (cmd["q"] - q_m) + cmd["kd"] * (cmd["dq"] - dq_m) + cmd["tau_ff"]
    assert tau_motor * direction * gear == pytest.approx(tau_safe)
    assert tau_safe != pytest.approx(tau_unshaped)


def test_loop_torque_is_the_impedance_law_of_reference_and_measurement(small_robot):
    robot = small_robot
    enable_active(robot)
    robot.set_joint_targets(np.array([0.2, -0.1, 0.05]), tau_ff=np.array([0.5, -0.25, 0.0]), ttl=0, duration=0.3)
    robot.drain_telemetry()
    robot.step(400)
    tm = robot.drain_telemetry()
    kp, kd = robot.config.joint_array("kp"), robot.config.joint_array("kd")
    expected = kp * (tm["q_ref"] - tm["q"]) + kd * (tm["dq_ref"] - tm["dq"]) + np.array([0.5, -0.25, 0.0])
    # Torques here stay below the clamp and rate limits, so the safety layer passes them unchanged.
    assert np.max(np.abs(expected)) < 40.0
    np.testing.assert_allclose(tm["tau_command"], expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(robot.state().q, [0.2, -0.1, 0.05], atol=0.02)


def test_gains_change_while_running(small_robot):
    robot = small_robot
    enable_active(robot)
    robot.set_joint_targets(np.array([0.3, 0.3, 0.3]), ttl=0)
    robot.step(300)
    robot.set_gains(kp=[0.0, 100.0, 300.0], kd=[0.0, 4.0, 8.0])
    robot.drain_telemetry()
    robot.step(1)
    row = {k: v[-1] for k, v in robot.drain_telemetry().items()}
    assert row["tau_command"][0] == 0.0
    assert row["tau_command"][2] == pytest.approx(300.0 * (row["q_ref"][2] - row["q"][2]) + 8.0 * (row["dq_ref"][2] - row["dq"][2]))
    with pytest.raises(ValueError, match=r"kp\[1\].*finite"):
        robot.set_gains(kp=[1.0, np.nan, 1.0])
    with pytest.raises(ValueError, match=r"kd\[1\] \(j1\): must be >= 0 \(got -1.0\)"):
        robot.set_gains(kd=[1.0, -1.0, 1.0])
    # Changing one gain keeps the other as last written (live tuning is not lost).
    robot.set_gains(kd=[1.0, 2.0, 3.0])
    np.testing.assert_array_equal(robot.gains[0], [0.0, 100.0, 300.0])
    with pytest.raises(ValueError, match=r"expected shape \(3,\)"):
        robot.set_gains(kp=[1.0, 2.0])


def test_drive_impedance_mode_tracks_with_the_drive_closing_the_loop(make_robot):
    robot = make_robot(joints={"command_mode": "drive_impedance"})
    enable_active(robot)
    robot.set_joint_targets(np.array([0.3, -0.2, 0.1]), ttl=0, duration=0.2)
    state = robot.step(600)
    np.testing.assert_allclose(state.q, [0.3, -0.2, 0.1], atol=0.01)


def test_bad_setpoints_are_rejected_naming_the_argument(small_robot):
    robot = small_robot
    with pytest.raises(ValueError, match=r"q\[1\] \(j1\): must be finite"):
        robot.set_joint_targets([0.0, np.inf, 0.0])
    with pytest.raises(ValueError, match=r"q: expected shape \(3,\)"):
        robot.set_joint_targets([0.0, 0.0])
    with pytest.raises(ValueError, match=r"duration: must be a finite number >= 0"):
        robot.set_joint_targets(zeros(robot), duration=-1)
    with pytest.raises(ValueError, match=r"ttl: must be >= 0"):
        robot.set_joint_targets(zeros(robot), ttl=-0.1)
    with pytest.raises(KeyError, match=r"unknown joint 'elbow'; allowed: j0, j1, j2"):
        robot.joint_index("elbow")


def test_target_beyond_the_soft_limit_is_clamped_to_it(small_robot):
    robot = small_robot
    enable_active(robot)
    robot.set_joint_targets(np.array([5.0, -5.0, 0.0]), ttl=0, duration=0.5)
    state = robot.step(2000)
    assert state.supervisor_state == "ACTIVE"
    np.testing.assert_allclose(state.q_ref[:2], [0.9, -0.9])
    assert np.max(np.abs(state.q)) < 0.95


def test_reference_never_exceeds_the_velocity_limit(small_robot):
    robot = small_robot
    enable_active(robot)
    robot.drain_telemetry()
    robot.set_joint_targets(np.array([0.8, -0.8, 0.0]), ttl=0, duration=0.0)  # a step: SLI must spread it
    robot.step(400)
    tm = robot.drain_telemetry()
    steps = np.abs(np.diff(tm["q_ref"], axis=0))
    assert np.max(steps) <= 5.0 * robot.period_s + 1e-12
    assert np.max(steps) == pytest.approx(5.0 * robot.period_s)
    np.testing.assert_allclose(tm["q_ref"][-1], [0.8, -0.8, 0.0])


def _stream_30hz(robot, rng, seconds, trajectory, latency_jitter_s=0.016, lead_periods=2):
    """A 30 Hz sender with a regular clock whose packets arrive after 0..latency_jitter_s of
    network delay. Each target is stamped with the time it is due: `lead_periods` intervals
    after it was sent (a sender budgets its interval plus jitter, as the interpolator documents)."""
    period = 1 / 30
    t_start = robot.now()
    k = 0
    arrival = t_start
    while robot.now() < t_start + seconds:
        if robot.now() >= arrival:
            t_due = t_start + (k + lead_periods) * period
            robot.set_joint_targets(trajectory(t_due), t=t_due, ttl=0.2)
            k += 1
            arrival = max(arrival, t_start + k * period + rng.uniform(0, latency_jitter_s))  # in order
        robot.step(1)


def test_interpolation_of_a_jittery_30hz_stream_is_smooth(small_robot):
    robot = small_robot
    enable_active(robot)
    rng = np.random.default_rng(3)
    t0 = robot.now()

    w = 2 * np.pi * 0.5

    def position(t):  # starts at rest; peak velocity 0.47 rad/s, peak acceleration 1.5 rad/s^2
        return 0.15 * (1 - np.cos(w * (t - t0)))

    robot.drain_telemetry()
    _stream_30hz(robot, rng, 3.0, lambda t: np.full(3, position(t)))
    tm = robot.drain_telemetry()
    active = tm["state"] == robot.STATE_CODES["ACTIVE"]
    q_ref, dq_ref, t = tm["q_ref"][active, 0], tm["dq_ref"][active, 0], tm["t"][active]
    # C1: no velocity jumps at the 30 Hz updates. A step per 1 ms cycle of 0.01 rad/s is 10 rad/s^2,
    # a few times the trajectory's own acceleration; a stop-and-go scheme would jump by ~0.5 rad/s.
    assert np.max(np.abs(np.diff(dq_ref))) < 0.01
    # Position continuous and consistent with the velocity.
    np.testing.assert_allclose(np.diff(q_ref), 0.5 * (dq_ref[1:] + dq_ref[:-1]) * robot.period_s, atol=2e-5)
    # No stutter: the reference follows the streamed trajectory in position and velocity.
    late = t > t0 + 0.2
    true_velocity = 0.15 * w * np.sin(w * (t[late] - t0))
    assert np.max(np.abs(dq_ref[late] - true_velocity)) < 0.03
    assert np.max(np.abs(q_ref[late] - position(t[late]))) < 0.002


def test_a_new_target_mid_motion_bends_the_path_without_a_velocity_jump(small_robot):
    robot = small_robot
    enable_active(robot)
    robot.drain_telemetry()
    robot.set_joint_targets(np.full(3, 0.6), t=robot.now() + 1.0, ttl=0)
    robot.step(400)
    switch_cycle = robot.state().cycle + 1
    robot.set_joint_targets(np.full(3, -0.3), t=robot.now() + 0.8, ttl=0)
    robot.step(1200)
    tm = robot.drain_telemetry()
    dq = tm["dq_ref"][:, 0]
    at = int(np.flatnonzero(tm["cycle"] == switch_cycle)[0])
    assert abs(dq[at - 1]) > 0.5, "the robot was moving when the new target came"
    # The new segment starts with the current velocity; its acceleration stays below 30 rad/s^2
    # (0.03 rad/s per cycle), where a velocity jump would be ~1 rad/s in one cycle.
    assert abs(dq[at] - dq[at - 1]) < 0.03
    assert np.max(np.abs(np.diff(dq))) < 0.03
    # ...and it holds the last target exactly at the end.
    np.testing.assert_allclose(tm["q_ref"][-1], -0.3, atol=1e-12)
    assert tm["dq_ref"][-1, 0] == 0.0


def test_holds_the_last_target_of_a_moving_stream_exactly(small_robot):
    robot = small_robot
    enable_active(robot)
    # A ramp streamed at 50 Hz, then silence (ttl=0 so the watchdog stays out of it).
    for k in range(25):
        robot.set_joint_targets(np.full(3, 0.01 * (k + 1)), t=robot.now() + 0.02, ttl=0)
        robot.step(20)
    assert abs(robot.state().dq_ref[0]) > 0.3
    robot.drain_telemetry()
    state = robot.step(200)
    np.testing.assert_allclose(state.q_ref, 0.25, atol=1e-12)
    assert np.all(state.dq_ref == 0.0)
    tm = robot.drain_telemetry()
    # Settling from 0.5 rad/s over one stream period (20 ms) decelerates at most 4 v / T = 100 rad/s^2,
    # 0.1 rad/s per cycle: a stop over several cycles, not a velocity step.
    assert np.max(np.abs(np.diff(tm["dq_ref"][:, 0]))) <= 0.1
    assert np.max(tm["q_ref"][:, 0]) < 0.25 + 0.01  # overshoot bounded by 4/27 v T


def test_telemetry_overflow_is_counted_and_the_loop_is_unaffected(urdf_path):
    from conftest import small_robot_config
    from humanoid_rt import Robot

    with Robot(small_robot_config(urdf_path), telemetry_capacity=64) as robot:
        enable_active(robot)  # 101 cycles into a 64-sample ring
        robot.set_joint_targets(np.full(3, 0.2), ttl=0)
        robot.step(899)
        stats = robot.statistics()
        assert stats["cycles"] == 1000
        assert stats["telemetry_overflows"] == 1000 - 64
        tm = robot.drain_telemetry()
        np.testing.assert_array_equal(tm["cycle"], np.arange(64))  # the oldest samples, in order, nothing torn
        assert robot.state().supervisor_state == "ACTIVE"
        np.testing.assert_allclose(robot.state().q, 0.2, atol=5e-3)
        robot.step(10)
        assert list(robot.drain_telemetry()["cycle"]) == list(range(1000, 1010))
