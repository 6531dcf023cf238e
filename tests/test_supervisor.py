"""Safety supervisor in stepped mode: watchdog timing to the cycle, every injected
fault within one cycle and latched, resets refused while the cause persists,
e-stop, and no jump on enable or re-enable."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import accepted_transitions, enable_active, zeros


def cycle_of_last_transition(robot, to_state):
    return [c for (_, to, _, c) in accepted_transitions(robot) if to == to_state][-1]


def test_watchdog_hold_then_damping_then_disabled_exact_to_the_cycle(small_robot):
    robot = small_robot
    enable_active(robot)
    rate = robot.rate_hz
    safety = robot.config.safety
    written_cycle = robot.state().cycle  # setpoint stamped with this cycle's loop time
    robot.set_joint_targets(zeros(robot), ttl=0.1)

    expiry_cycle = written_cycle + round(0.1 * rate) + 1  # alive while age <= ttl
    robot.step(expiry_cycle - written_cycle - 1)
    assert robot.state().supervisor_state == "ACTIVE"
    assert robot.step(1).supervisor_state == "HOLD"
    assert robot.state().cycle == expiry_cycle
    assert robot.state().reason == "watchdog_expired"

    damping_cycle = expiry_cycle + round(safety.hold_timeout_s * rate)
    robot.step(damping_cycle - expiry_cycle - 1)
    assert robot.state().supervisor_state == "HOLD"
    assert robot.step(1).supervisor_state == "DAMPING"
    assert robot.state().reason == "hold_timeout"

    disabled_cycle = damping_cycle + round(safety.damping_time_s * rate)
    robot.step(disabled_cycle - damping_cycle - 1)
    assert robot.state().supervisor_state == "DAMPING"
    state = robot.step(1)
    assert state.supervisor_state == "DISABLED" and state.reason == "damping_complete"
    assert np.all(state.tau_command == 0.0)
    assert [t[:3] for t in accepted_transitions(robot)][-3:] == [
        ("ACTIVE", "HOLD", "watchdog_expired"), ("HOLD", "DAMPING", "hold_timeout"),
        ("DAMPING", "DISABLED", "damping_complete")]


def test_fresh_setpoint_in_hold_resumes_active(small_robot):
    robot = small_robot
    enable_active(robot)
    robot.set_joint_targets(zeros(robot), ttl=0.05)
    robot.step(60)
    assert robot.state().supervisor_state == "HOLD"
    robot.set_joint_targets(zeros(robot) + 0.1, ttl=0.05)
    state = robot.step(1)
    assert state.supervisor_state == "ACTIVE" and state.reason == "setpoint_resumed"


def test_ttl_zero_never_expires(small_robot):
    robot = small_robot
    enable_active(robot)
    robot.set_joint_targets(zeros(robot) + 0.2, ttl=0)
    assert robot.step(3000).supervisor_state == "ACTIVE"
    assert robot.state().q == pytest.approx(np.full(3, 0.2), abs=2e-3)


def test_leaving_the_hold_window_damps(small_robot):
    robot = small_robot
    enable_active(robot)
    robot.set_joint_targets(zeros(robot), ttl=0.01)
    robot.step(20)
    assert robot.state().supervisor_state == "HOLD"
    # kp * window = 15 Nm holds the window; 30 Nm pushes the joint out of it.
    robot.mock_bus(1).set_external_torque(1, 30.0)
    for _ in range(300):
        if robot.step(1).supervisor_state != "HOLD":
            break
    event = robot.state().last_event
    assert robot.state().supervisor_state == "DAMPING"
    assert event["reason"] == "hold_window_left" and event["joint"] == 1
    assert event["value"] > event["limit"] == pytest.approx(robot.config.safety.hold_window_rad)


def _inject(robot, fault, joint):
    bus = robot.mock_bus(joint)
    if fault == "nan":
        bus.nan_position(joint)
    elif fault == "drive_error":
        bus.set_drive_error(joint, 0x2310)
    elif fault == "temperature":
        bus.set_temperature(joint, 95.0)
    elif fault == "bus_timeout":
        bus.set_bus_timeout()
    elif fault == "encoder_jump":
        bus.jump_encoder(joint, 0.5)
    else:
        raise AssertionError(fault)


FAULTS = {  # injected fault -> (reason, whether the cause persists until the fault is cleared)
    "nan": ("non_finite_measurement", True),
    "drive_error": ("drive_fault", True),
    "temperature": ("over_temperature", True),
    "bus_timeout": ("bus_timeout", True),
    "encoder_jump": ("encoder_jump", False),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_injected_fault_reaches_fault_within_one_cycle_and_latches(small_robot, fault):
    robot = small_robot
    enable_active(robot)
    robot.set_joint_targets(zeros(robot) + 0.1, ttl=0)
    robot.step(50)
    cycle_before = robot.state().cycle
    _inject(robot, fault, joint=2)
    state = robot.step(1)
    reason, persists = FAULTS[fault]
    assert state.supervisor_state == "FAULT"
    assert state.cycle == cycle_before + 1
    assert state.reason == reason
    if fault != "bus_timeout":
        assert state.last_event["joint"] == 2
    if fault == "temperature":  # drives still usable: a controlled stop (SS1), then STO after damping_time
        assert np.any(state.tau_command != 0.0)
    else:
        assert np.all(state.tau_command == 0.0), "STO in the very cycle the fault is seen"

    robot.step(200)
    assert np.all(robot.state().tau_command == 0.0)
    assert robot.state().supervisor_state == "FAULT", "latched"
    robot.reset()
    robot.step(1)
    refusal = robot.events()[-1]
    if persists:
        assert robot.state().supervisor_state == "FAULT"
        assert not refusal["accepted"] and refusal["reason"] == reason
        robot.mock_bus(2).clear_faults()
        robot.reset()
        robot.step(1)
    assert robot.state().supervisor_state == "DISABLED"
    assert robot.state().reason == "reset_requested"


def test_missed_replies_tolerated_up_to_the_limit_then_fault(small_robot):
    robot = small_robot
    enable_active(robot)
    tolerance = robot.config.safety.max_missed_replies
    robot.mock_bus(0).drop_replies(0, -1)
    robot.step(tolerance)
    state = robot.state()
    assert state.supervisor_state == "ACTIVE" and not state.fresh[0]
    state = robot.step(1)
    assert state.supervisor_state == "FAULT" and state.reason == "missed_replies"
    assert state.last_event["value"] == tolerance + 1


def test_a_short_reply_gap_is_tolerated(small_robot):
    robot = small_robot
    enable_active(robot)
    robot.mock_bus(0).drop_replies(0, robot.config.safety.max_missed_replies)
    assert robot.step(100).supervisor_state == "ACTIVE"
    assert robot.state().fresh[0]


def test_frozen_encoder_detected_after_the_configured_cycles(small_robot):
    robot = small_robot
    enable_active(robot)
    robot.set_joint_targets(zeros(robot) + 0.3, ttl=0, duration=0.2)
    robot.step(20)  # moving, torque well above frozen_torque_nm
    robot.mock_bus(1).freeze_encoder(1)
    first_frozen_cycle = robot.state().cycle + 1
    n = robot.config.safety.frozen_encoder_cycles
    # The drive's own velocity exposes the frozen reading (frozen_travel_rad) well before the
    # torque criterion's frozen_encoder_cycles: at most n cycles.
    for _ in range(n + 1):
        if robot.step(1).supervisor_state != "ACTIVE":
            break
    state = robot.state()
    assert state.cycle <= first_frozen_cycle + n
    assert state.supervisor_state == "FAULT" and state.reason == "encoder_frozen"
    assert state.last_event["joint"] == 1


def test_overspeed_damps(small_robot):
    robot = small_robot
    enable_active(robot)
    robot.mock_bus(0).set_external_torque(0, 200.0)
    for _ in range(20):
        if robot.step(1).supervisor_state != "ACTIVE":
            break
    state = robot.state()
    assert state.supervisor_state == "DAMPING" and state.reason == "overspeed"
    limit = 1.2 * 5.0
    assert state.last_event["limit"] == pytest.approx(limit)
    assert abs(state.last_event["value"]) > limit


def test_hard_limit_faults_and_reset_is_refused_until_back_inside(small_robot):
    robot = small_robot
    bus = robot.mock_bus(0)
    bus.set_external_torque(0, 5.0)  # disabled: nothing resists
    for _ in range(2000):
        if robot.step(1).supervisor_state == "FAULT":
            break
    state = robot.state()
    assert state.reason == "hard_position_limit" and state.last_event["limit"] == 1.0
    assert state.q[0] > 1.0
    bus.set_external_torque(0, 0.0)
    robot.reset()
    robot.step(1)
    assert robot.state().supervisor_state == "FAULT"
    assert robot.events()[-1]["reason"] == "hard_position_limit" and not robot.events()[-1]["accepted"]
    bus.set_external_torque(0, -5.0)
    for _ in range(2000):
        if robot.step(1).q[0] < 0.9:
            break
    bus.set_external_torque(0, 0.0)
    robot.reset()
    assert robot.step(1).supervisor_state == "DISABLED"


@pytest.mark.parametrize("from_state", ["DISABLED", "ACTIVE", "HOLD", "FAULT"])
def test_estop_within_one_cycle_zero_torque_latched(small_robot, from_state):
    robot = small_robot
    if from_state != "DISABLED":
        enable_active(robot)
        robot.set_joint_targets(zeros(robot) + 0.2, ttl=0.05)
        robot.step(30)
    if from_state == "HOLD":
        robot.step(100)
    if from_state == "FAULT":
        robot.mock_bus(0).set_drive_error(0, 1)
        robot.step(1)
        robot.mock_bus(0).clear_faults()
    assert robot.state().supervisor_state == from_state
    robot.estop()
    state = robot.step(1)
    assert state.supervisor_state == "ESTOP" and state.reason == "estop_requested"
    assert np.all(state.tau_command == 0.0)
    robot.enable()
    assert robot.step(100).supervisor_state == "ESTOP"
    assert robot.events()[-1]["reason"] == "request_not_allowed_in_state"
    robot.reset()
    assert robot.step(1).supervisor_state == "DISABLED"


def test_estop_category_1_damps_then_removes_torque(make_robot):
    robot = make_robot(safety={"estop_category": 1})
    enable_active(robot)
    robot.set_joint_targets(zeros(robot) + 0.5, ttl=0, duration=0.5)
    robot.step(200)  # moving
    robot.drain_telemetry()
    robot.estop()
    damping_cycles = round(robot.config.safety.damping_time_s * robot.rate_hz)
    robot.step(damping_cycles + 5)
    telemetry = robot.drain_telemetry()
    assert np.all(telemetry["state"] == robot.STATE_CODES["ESTOP"])
    kd = robot.config.joint_array("kd")
    damping, after = telemetry["tau_command"][:damping_cycles], telemetry["tau_command"][damping_cycles:]
    # Category 1: tau = -kd dq (within the torque-rate limit here) for damping_time, then torque off.
    np.testing.assert_allclose(damping, -kd * telemetry["dq"][:damping_cycles], atol=1e-9)
    assert np.max(np.abs(damping[0])) > 1.0, "the joints were moving when the e-stop came"
    assert np.all(after == 0.0)


def test_enable_refused_while_a_cause_persists(small_robot):
    robot = small_robot
    robot.mock_bus(1).set_temperature(1, 120.0)
    robot.step(1)
    assert robot.state().supervisor_state == "FAULT"
    robot.enable()
    robot.step(1)
    answer = robot.events()[-1]
    assert not answer["accepted"] and answer["reason"] == "request_not_allowed_in_state"
    robot.reset()
    robot.step(1)
    answer = robot.events()[-1]
    assert not answer["accepted"] and answer["reason"] == "over_temperature" and answer["joint"] == 1
    assert answer["value"] == 120.0 and answer["limit"] == 90.0


@pytest.mark.parametrize("re_enable_after", ["disable", "fault"])
def test_no_torque_or_position_jump_on_enable_and_re_enable(small_robot, re_enable_after):
    robot = small_robot
    bus = robot.mock_bus(0)
    # Move the joints while disabled so the measured pose is nowhere near zero.
    for j, torque in enumerate((0.5, -0.5, 0.3)):
        bus.set_external_torque(j, torque)
    robot.step(150)
    for j in range(3):
        bus.set_external_torque(j, 0.0)
    robot.step(500)  # coast to rest (Coulomb friction)

    for attempt in range(2):
        start = robot.state()
        assert start.supervisor_state == "DISABLED"
        assert np.max(np.abs(start.q)) > 0.1
        robot.enable()
        robot.drain_telemetry()
        robot.step(round(robot.config.safety.enable_ramp_s * robot.rate_hz) + 50)
        telemetry = robot.drain_telemetry()
        assert robot.state().supervisor_state == "ACTIVE"
        enabled = telemetry["state"] != robot.STATE_CODES["DISABLED"]
        np.testing.assert_allclose(telemetry["q_ref"][enabled][0], start.q, atol=1e-12)
        assert np.max(np.abs(telemetry["tau_command"][enabled])) < 0.5, "no torque step on enable"
        assert np.max(np.abs(telemetry["q"][enabled] - start.q)) < 1e-3, "no motion on enable"
        if re_enable_after == "disable":
            robot.disable()
            robot.step(round(robot.config.safety.damping_time_s * robot.rate_hz) + 1)
        else:
            bus.set_drive_error(0, 7)
            robot.step(1)
            bus.clear_faults()
            robot.reset()
            robot.step(1)
        # Move again while disabled, then re-enable from the new pose.
        bus.set_external_torque(1, 0.5 if attempt == 0 else -0.5)
        robot.step(100)
        bus.set_external_torque(1, 0.0)
        robot.step(500)


def test_setpoints_written_before_enable_are_ignored(small_robot):
    robot = small_robot
    robot.set_joint_targets(zeros(robot) + 0.5, ttl=0)
    enable_active(robot)
    robot.step(500)
    assert np.max(np.abs(robot.state().q)) < 1e-3


def test_limits_hash_reflects_the_limits(make_robot):
    a = make_robot()
    b = make_robot()
    c = make_robot(joints={"limits": {"torque_nm": 39.0}})
    assert a.limits_hash == b.limits_hash != c.limits_hash
    assert len(a.limits_hash) == 16


def test_stop_from_active_is_a_controlled_stop(small_robot):
    robot = small_robot
    enable_active(robot)
    robot.set_joint_targets(zeros(robot) + 0.3, ttl=0, duration=0.3)
    robot.step(100)
    robot.stop()
    transitions = accepted_transitions(robot)
    assert transitions[-2][:3] == ("ACTIVE", "DAMPING", "shutdown")
    assert transitions[-1][:3] == ("DAMPING", "DISABLED", "damping_complete")
    assert np.all(robot.state().tau_command == 0.0)


@pytest.mark.parametrize("latched_from", ["FAULT", "DISABLED"])
def test_category_1_estop_never_turns_torque_on(make_robot, latched_from):
    robot = make_robot(safety={"estop_category": 1})
    if latched_from == "FAULT":
        enable_active(robot)
        robot.set_joint_targets(zeros(robot) + 0.3, ttl=0, duration=0.3)
        robot.step(100)
        robot.mock_bus(0).set_drive_error(0, 0x2310)
        assert robot.step(1).supervisor_state == "FAULT"
    else:
        robot.mock_bus(0).set_external_torque(0, 0.5)  # moving while disabled
        robot.step(100)
    robot.drain_telemetry()
    robot.estop()
    robot.step(50)
    tm = robot.drain_telemetry()
    assert robot.state().supervisor_state == "ESTOP"
    assert np.all(tm["tau_command"] == 0.0), "category-1 damping only when torque was on at the e-stop"


def test_a_fault_during_category_1_damping_cuts_torque(make_robot):
    robot = make_robot(safety={"estop_category": 1})
    enable_active(robot)
    robot.set_joint_targets(zeros(robot) + 0.5, ttl=0, duration=0.5)
    robot.step(200)
    robot.estop()
    assert np.any(robot.step(2).tau_command != 0.0)
    robot.mock_bus(1).nan_position(1)
    state = robot.step(1)
    assert state.supervisor_state == "ESTOP" and np.all(state.tau_command == 0.0)
    assert robot.events()[-1]["reason"] == "non_finite_measurement"


def test_expired_setpoints_neither_move_the_robot_nor_resume_from_hold(small_robot):
    robot = small_robot
    enable_active(robot)
    robot.set_joint_targets(zeros(robot), ttl=0.05)
    robot.step(260)
    assert robot.state().supervisor_state == "HOLD"
    hold_q = robot.state().q_ref.copy()
    stale_written = robot.now() - 0.2  # e.g. a teleop packet that sat in a queue
    assert stale_written > 0  # (a negative t_written means "stamp it now")
    for k in range(40):
        robot._loop.write_setpoint(np.full(3, 0.6), t_target=robot.now() + 0.05, ttl=0.1,
                                   t_written=stale_written)
        robot.step(10)
    state = robot.state()
    assert state.supervisor_state in ("HOLD", "DAMPING", "DISABLED")
    assert not any(e["reason"] == "setpoint_resumed" for e in robot.events())
    assert np.max(np.abs(state.q_ref - hold_q)) < 1e-9 or state.supervisor_state != "HOLD"
    assert ("HOLD", "DAMPING", "hold_timeout") in [t[:3] for t in accepted_transitions(robot)]


def test_feed_forward_of_a_stale_setpoint_is_not_applied_on_enable(small_robot):
    robot = small_robot
    robot.set_joint_targets(zeros(robot), tau_ff=np.full(3, 30.0), ttl=0)  # written while disabled
    enable_active(robot)
    robot.step(500)
    assert np.max(np.abs(robot.state().q)) < 1e-3
    assert np.max(np.abs(robot.state().tau_command)) < 0.5


def test_loop_time_never_goes_back_between_real_time_and_stepped_runs(small_robot):
    robot = small_robot
    robot.step(10)
    robot.start()
    import time as wall

    wall.sleep(0.1)
    robot.stop()
    t_real = robot.state().time
    assert robot.step(1).time > t_real
    assert robot.now() > t_real


def test_stop_after_a_stop_runs_no_cycle(small_robot):
    robot = small_robot
    enable_active(robot)
    robot.stop()
    cycles = robot.statistics()["cycles"]
    robot.stop()
    assert robot.statistics()["cycles"] == cycles


def test_a_joint_holding_still_under_load_is_not_a_frozen_encoder(small_robot):
    # Noise-free mock, a constant external load held by the controller: the position reads
    # bit-identical for far longer than frozen_encoder_cycles while the torque is high.
    robot = small_robot
    enable_active(robot)
    robot.set_joint_targets(zeros(robot), ttl=0)
    robot.mock_bus(0).set_external_torque(0, 20.0)
    robot.step(2000)
    state = robot.state()
    assert state.supervisor_state == "ACTIVE"
    assert abs(state.tau_command[0]) > robot.config.safety.frozen_torque_nm
