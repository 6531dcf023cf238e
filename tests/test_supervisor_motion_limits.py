"""The reference's motion limits and the hard-limit recovery, stepped (issue 18 items 1, 5, 6;
issue 16 SLA and the stall-tolerant encoder-jump check): full-speed moves into the soft wall stay
inside the hard limits, a joint outside its hard limit comes back through recover(), enabling
between the soft and hard limits walks back without a jump, huge targets are refused, the
acceleration limit holds just outside and changes nothing just inside, and a long gap between
reads is not an encoder jump."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import accepted_transitions, enable_active, zeros
from humanoid_rt import Robot, _core


@pytest.fixture
def humanoid():
    robot = Robot("generic_humanoid", priority=0, lock_memory=False)
    yield robot
    robot.close()


def _limits(robot, name):
    return np.array([getattr(joint.limits, name) for joint in robot.config.joints])


@pytest.mark.parametrize("name", ["generic_humanoid", "g1"])
@pytest.mark.parametrize("toward", ["max", "min"])
def test_full_speed_moves_into_the_soft_wall_stay_inside_the_hard_limits(name, toward):
    robot = Robot(name, bus="mock", priority=0, lock_memory=False)
    try:
        _move_into_the_soft_wall_at_full_speed(robot, toward)
    finally:
        robot.close()


def _move_into_the_soft_wall_at_full_speed(robot, toward):
    enable_active(robot)
    soft_min, soft_max = _limits(robot, "q_soft_min"), _limits(robot, "q_soft_max")
    start, target = (soft_min, soft_max) if toward == "max" else (soft_max, soft_min)
    robot.set_joint_targets(start, duration=4.0, ttl=0)  # slowly to the opposite wall: the longest run-up
    robot.step(5000)
    robot.drain_telemetry()
    robot.set_joint_targets(target, duration=0.0, ttl=0)  # as fast as the limits let the reference go
    robot.step(4000)
    tm = robot.drain_telemetry()
    assert np.all(tm["state"] == robot.STATE_CODES["ACTIVE"]), robot.state().last_event
    assert np.all(tm["q"] <= _limits(robot, "q_max")) and np.all(tm["q"] >= _limits(robot, "q_min"))
    # The references ran as fast as the limits allow over the range (the velocity limit, or the peak of
    # accelerating then braking at the acceleration limit when the range is too short for it), and arrived.
    fastest = np.minimum(_limits(robot, "velocity"), np.sqrt(_limits(robot, "acceleration") * np.abs(target - start)))
    assert np.all(np.max(np.abs(tm["dq_ref"]), axis=0) >= 0.97 * fastest)
    np.testing.assert_allclose(robot.state().q, target, atol=0.02)


def _push_outside(robot, joint, beyond):
    limits = robot.config.joints[joint].limits
    robot.mock_bus(joint).set_joint_position(joint, limits.q_max + beyond)
    state = robot.step(1)
    assert state.supervisor_state == "FAULT" and state.reason == "hard_position_limit"
    return limits


def test_a_joint_outside_its_hard_limit_is_brought_back_by_recover(humanoid):
    robot = humanoid
    elbow = robot.joint_index("left_elbow")
    limits = _push_outside(robot, elbow, 0.3)
    robot.reset()
    robot.step(1)
    refusal = robot.events()[-1]
    assert not refusal["accepted"] and refusal["reason"] == "hard_position_limit" and refusal["joint"] == elbow
    robot.enable()
    robot.step(1)
    assert not robot.events()[-1]["accepted"]

    robot.drain_telemetry()
    robot.recover()
    state = robot.step(1)
    assert state.supervisor_state == "RECOVERY" and state.reason == "recovery_requested"
    for _ in range(20):
        if robot.step(250).supervisor_state == "DISABLED":
            break
    tm = robot.drain_telemetry()
    recovering = tm["state"] == robot.STATE_CODES["RECOVERY"]
    safety = robot.config.safety
    assert recovering.sum() > 10
    # Slow, torque-limited and only toward the range.
    torque_cap = safety.recovery_torque_fraction * _limits(robot, "torque")
    assert np.all(np.abs(tm["tau_command"][recovering]) <= torque_cap + 1e-9)
    q_ref = tm["q_ref"][recovering, elbow]
    assert np.all(np.diff(q_ref) <= 1e-12)
    step_cap = safety.recovery_velocity_fraction * limits.velocity * robot.period_s
    assert np.max(np.abs(np.diff(q_ref))) <= step_cap + 1e-12
    # The joint follows that slow reference: it moves back slowly too, not thrown in by the wall torque.
    assert np.max(np.abs(tm["dq"][recovering, elbow])) <= 1.5 * safety.recovery_velocity_fraction * limits.velocity
    assert np.max(np.abs(tm["dq"][:, elbow])) <= 1.5 * safety.recovery_velocity_fraction * limits.velocity
    assert ("RECOVERY", "DAMPING", "recovery_complete") in [t[:3] for t in accepted_transitions(robot)]
    state = robot.state()
    assert state.supervisor_state == "DISABLED"
    # Back just inside the soft wall (RECOVERY aims a quarter of the margin inside), not thrown far past it.
    assert limits.q_soft_max - 0.5 * limits.soft_margin < state.q[elbow] <= limits.q_soft_max
    enable_active(robot)


def test_recovery_against_a_load_it_may_not_overcome_fails_into_fault(humanoid):
    robot = humanoid
    elbow = robot.joint_index("left_elbow")
    limits = _push_outside(robot, elbow, 0.2)
    # Pushing outward harder than the recovery torque: the joint cannot come back, it leaves further.
    robot.mock_bus(elbow).set_external_torque(elbow, robot.config.safety.recovery_torque_fraction * limits.torque * 2)
    robot.recover()
    robot.step(1)
    timeout_cycles = round(robot.config.safety.recovery_timeout_s * robot.rate_hz)
    for _ in range(timeout_cycles + 2):
        if robot.step(1).supervisor_state != "RECOVERY":
            break
    state = robot.state()
    assert state.supervisor_state == "FAULT" and state.reason == "recovery_failed"
    assert state.last_event["joint"] == elbow
    assert state.last_event["value"] > state.last_event["limit"] == robot.config.safety.hold_window_rad


def test_recover_is_refused_when_another_cause_persists_or_nothing_is_outside(humanoid):
    robot = humanoid
    robot.recover()
    robot.step(1)
    answer = robot.events()[-1]
    assert not answer["accepted"] and answer["reason"] == "request_not_allowed_in_state"
    elbow = robot.joint_index("left_elbow")
    _push_outside(robot, elbow, 0.2)
    robot.mock_bus(0).set_drive_error(0, 0x2310)
    robot.recover()
    robot.step(1)
    answer = robot.events()[-1]
    assert not answer["accepted"] and answer["reason"] == "drive_fault"
    assert robot.state().supervisor_state == "FAULT"


def test_enable_between_the_soft_and_hard_limit_walks_back_without_a_jump(humanoid):
    robot = humanoid
    knee = robot.joint_index("left_knee")
    limits = robot.config.joints[knee].limits
    inside_margin = limits.q_max - 0.4 * limits.soft_margin  # between the soft wall and the hard limit
    robot.mock_bus(knee).set_joint_position(knee, inside_margin)
    robot.step(5)
    robot.drain_telemetry()
    enable_active(robot)
    robot.step(300)
    tm = robot.drain_telemetry()
    enabled = tm["state"] != robot.STATE_CODES["DISABLED"]
    q_ref = tm["q_ref"][enabled, knee]
    dt = robot.period_s
    # The first enabled cycle starts from the measurement (noise 1e-5) and moves at most one acceleration step.
    assert abs(q_ref[0] - inside_margin) <= limits.acceleration * dt**2 + 1e-4
    assert np.max(np.abs(np.diff(q_ref))) <= limits.velocity * dt + 1e-12
    acceleration = np.diff(q_ref, 2) / dt**2
    assert np.max(np.abs(acceleration)) <= limits.acceleration * (1 + 1e-6)
    assert q_ref[-1] == pytest.approx(limits.q_soft_max, abs=1e-9)
    assert robot.state().supervisor_state == "ACTIVE"


@pytest.mark.parametrize("field", ["q", "dq", "tau_ff"])
def test_huge_finite_targets_are_refused_before_the_interpolator(small_robot, field):
    robot = small_robot
    enable_active(robot)
    before = robot.state().q_ref.copy()
    values = {"q": zeros(robot), "dq": None, "tau_ff": None}
    values[field] = np.array([0.0, 1.7e308, 0.0])
    with pytest.raises(ValueError, match=rf"{field}\[1\] \(j1\): .*allowed"):
        robot.set_joint_targets(values["q"], values["dq"], values["tau_ff"], ttl=0)
    with pytest.raises(ValueError, match=rf"{field}\[1\]: .*allowed"):
        robot._loop.write_setpoint(values["q"], values["dq"], values["tau_ff"], t_target=robot.now() + 0.1, ttl=0)
    state = robot.step(50)
    assert state.supervisor_state == "ACTIVE"
    np.testing.assert_array_equal(state.q_ref, before)


def test_the_interpolator_cannot_overflow_by_construction():
    huge = 1.7e308
    for q1, v1 in ((huge, 0.0), (-huge, huge), (0.0, -huge)):
        for t in (0.0005, 0.001, 0.05, 1.0):
            q, dq = _core.testing.interpolate(q0=0.0, v0=huge, q1=q1, v1=v1, t_target=0.001, t=t)
            assert np.isfinite(q) and np.isfinite(dq)


def _second_differences(robot, q_target, duration, acceleration):
    robot.set_joint_targets(q_target, duration=duration, ttl=0)
    robot.drain_telemetry()
    robot.step(int(duration * robot.rate_hz) + 300)
    return robot.drain_telemetry()["q_ref"]


@pytest.mark.parametrize("fraction", [0.95, 1.05])
def test_acceleration_limit_just_inside_changes_nothing_just_outside_it_holds(make_robot, fraction):
    # A rest-to-rest cubic over T peaks at 6 d / T^2 (at its ends).
    limit, duration = 300.0, 0.1
    distance = fraction * limit * duration**2 / 6.0
    limited = make_robot(joints={"limits": {"acceleration_rad_s2": limit, "velocity_rad_s": 20.0}})
    free = make_robot(joints={"limits": {"acceleration_rad_s2": 1e6, "velocity_rad_s": 20.0}})
    target = np.array([distance, -distance, 0.0])
    paths = []
    for robot in (limited, free):
        enable_active(robot)
        paths.append(_second_differences(robot, target, duration, limit))
    limited_path, free_path = paths
    dt = limited.period_s
    peak = np.max(np.abs(np.diff(limited_path[:, :2], 2, axis=0))) / dt**2
    free_peak = np.max(np.abs(np.diff(free_path[:, :2], 2, axis=0))) / dt**2
    assert peak <= limit * (1 + 1e-6)
    np.testing.assert_allclose(limited_path[-1], target, atol=1e-9)
    assert np.max(limited_path[:, 0]) <= distance + 1e-4, "no overshoot of the target (beyond 0.1 mrad)"
    if fraction < 1:
        np.testing.assert_allclose(limited_path, free_path, atol=1e-12)
    else:
        assert free_peak > limit
        assert np.max(np.abs(limited_path - free_path)) > 1e-5  # the limit acted (5 % over it: a small change)


def test_acceleration_limit_is_configurable_and_validated(make_robot):
    from humanoid_rt.config import ConfigError

    with pytest.raises(ConfigError, match=r"acceleration_rad_s2"):
        make_robot(joints={"limits": {"acceleration_rad_s2": -1.0}})
    robot = make_robot(joints={"limits": {"acceleration_rad_s2": 123.0}})
    assert robot.config.joints[0].limits.acceleration == 123.0
    assert Robot("generic_humanoid", priority=0, lock_memory=False).config.joints[0].limits.acceleration > 0


def test_a_long_gap_between_reads_is_not_an_encoder_jump(make_robot):
    robot = make_robot(joints={"limits": {"acceleration_rad_s2": 500.0}})
    enable_active(robot)
    robot.set_joint_targets(np.array([0.85, 0.0, 0.0]), duration=0.0, ttl=0)
    robot.step(60)  # full speed (5 rad/s) toward the soft wall
    before = robot.state().q[0]
    robot._loop.stall(0.055)  # the machine stalls: the next read comes 55 ms late
    state = robot.step(1)
    assert abs(state.q[0] - before) > robot.config.safety.encoder_jump_rad
    assert state.supervisor_state == "ACTIVE", state.last_event


def test_a_real_jump_during_a_long_gap_still_faults(make_robot):
    robot = make_robot(joints={"limits": {"acceleration_rad_s2": 500.0}})
    enable_active(robot)
    robot.set_joint_targets(np.array([0.85, 0.0, 0.0]), duration=0.0, ttl=0)
    robot.step(60)
    robot.mock_bus(0).jump_encoder(0, -1.0)  # more than any velocity explains in 55 ms
    robot._loop.stall(0.055)
    state = robot.step(1)
    assert state.supervisor_state == "FAULT" and state.reason == "encoder_jump"
    assert state.last_event["value"] > state.last_event["limit"] > robot.config.safety.encoder_jump_rad


def test_recover_after_an_estop_caught_a_joint_outside_its_hard_limit(humanoid):
    robot = humanoid
    elbow = robot.joint_index("left_elbow")
    enable_active(robot)
    robot.estop()
    robot.step(1)
    limits = robot.config.joints[elbow].limits
    robot.mock_bus(elbow).set_joint_position(elbow, limits.q_max + 0.1)
    robot.step(1)
    robot.reset()
    robot.step(1)
    assert robot.state().supervisor_state == "ESTOP" and robot.events()[-1]["reason"] == "hard_position_limit"
    robot.recover()
    assert robot.step(1).supervisor_state == "RECOVERY"
    for _ in range(20):
        if robot.step(250).supervisor_state == "DISABLED":
            break
    assert robot.state().supervisor_state == "DISABLED"
    assert limits.q_min < robot.state().q[elbow] < limits.q_max
