"""Supervisor requests, fault detection and stop categories, stepped (issue 18 items 2, 3, 4, 7, 8
and the stop figures): a frozen encoder found within a bound and not forgiven, an e-stop that wins
its cycle, fault injection that validates its arguments, short TTLs refused, gains bounded, enable
answered alike in ACTIVE and HOLD, faults in ESTOP recorded, and each fault's stop category."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import accepted_transitions, enable_active, zeros
from humanoid_rt import Robot


@pytest.fixture
def humanoid():
    robot = Robot("generic_humanoid", priority=0, lock_memory=False)
    yield robot
    robot.close()


def test_a_frozen_encoder_during_a_move_faults_within_its_bound_and_is_not_forgiven(humanoid):
    robot = humanoid
    knee = robot.joint_index("left_knee")
    bus = robot.mock_bus(knee)
    enable_active(robot)
    target = zeros(robot)
    target[knee] = 0.5
    robot.set_joint_targets(target, duration=0.3, ttl=0)
    robot.step(60)  # moving
    bus.freeze_encoder(knee)
    frozen_at, true_at_freeze = robot.state().cycle, bus.true_position(knee)
    speed = abs(bus.true_velocity(knee))
    assert speed > 0.5
    for _ in range(400):
        if robot.step(1).supervisor_state != "ACTIVE":
            break
    state = robot.state()
    assert state.supervisor_state == "FAULT" and state.reason == "encoder_frozen"
    assert state.last_event["joint"] == knee
    # The bound: the drive's own velocity integrates past frozen_travel_rad while the reading stands still.
    travel = robot.config.safety.frozen_travel_rad
    bound = math.ceil(travel / (0.5 * speed * robot.period_s)) + 2
    assert state.cycle - frozen_at <= bound
    assert abs(bus.true_position(knee) - true_at_freeze) < 2 * travel + 0.01

    robot.step(500)  # the joint coasts to rest; the encoder still reads the frozen value
    for request in (robot.reset, robot.enable):
        request()
        robot.step(1)
        answer = robot.events()[-1]
        assert not answer["accepted"], request
        assert robot.state().supervisor_state == "FAULT"
    assert answer["reason"] in ("encoder_frozen", "request_not_allowed_in_state")
    robot.reset()
    robot.step(1)
    assert robot.events()[-1]["reason"] == "encoder_frozen" and robot.events()[-1]["joint"] == knee
    bus.freeze_encoder(knee, False)  # the encoder updates again: its reading moves
    robot.step(1)
    robot.reset()
    assert robot.step(1).supervisor_state == "DISABLED"


@pytest.mark.parametrize("latched", ["ACTIVE", "FAULT"])
def test_an_estop_wins_over_a_reset_in_the_same_cycle_and_stays_latched(small_robot, latched):
    robot = small_robot
    enable_active(robot)
    if latched == "FAULT":
        robot.mock_bus(0).set_drive_error(0, 1)
        robot.step(1)
        robot.mock_bus(0).clear_faults()
    robot.drain_telemetry()
    robot.reset()
    robot.estop()  # after the reset, in the same cycle
    robot.step(20)
    tm = robot.drain_telemetry()
    assert np.all(tm["state"] == robot.STATE_CODES["ESTOP"])
    refusal = [e for e in robot.events() if not e["accepted"]][-1]
    assert refusal["reason"] == "estop_requested" and refusal["to_state"] == "ESTOP"
    robot.reset()  # a reset in a later cycle clears it
    assert robot.step(1).supervisor_state == "DISABLED"


def test_fault_injection_validates_every_argument(small_robot):
    robot = small_robot
    bus = robot.mock_bus(0)
    joint_calls = {
        "drop_replies": lambda j: bus.drop_replies(j, 5),
        "freeze_encoder": lambda j: bus.freeze_encoder(j),
        "jump_encoder": lambda j: bus.jump_encoder(j, 0.1),
        "nan_position": lambda j: bus.nan_position(j),
        "set_drive_error": lambda j: bus.set_drive_error(j, 1),
        "set_temperature": lambda j: bus.set_temperature(j, 50.0),
        "set_external_torque": lambda j: bus.set_external_torque(j, 1.0),
        "set_joint_position": lambda j: bus.set_joint_position(j, 0.1),
        "true_position": lambda j: bus.true_position(j),
        "true_velocity": lambda j: bus.true_velocity(j),
    }
    for name, call in joint_calls.items():
        for bad in (64, -1, 3, 1000):
            with pytest.raises(IndexError, match=r"joint: .*allowed: 0, 1, 2"):
                call(bad)
    for call, argument in ((lambda: bus.drop_replies(0, -2), "cycles"), (lambda: bus.jump_encoder(0, math.nan), "offset_rad"),
                           (lambda: bus.set_temperature(0, math.inf), "celsius"),
                           (lambda: bus.set_external_torque(0, math.nan), "nm"),
                           (lambda: bus.set_joint_position(0, math.inf), "q")):
        with pytest.raises(ValueError, match=rf"{argument}: .*allowed"):
            call()
    state = robot.step(20)
    assert state.supervisor_state == "DISABLED", "nothing was written anywhere"


def test_a_ttl_shorter_than_one_loop_period_is_refused_with_the_reason(small_robot):
    robot = small_robot
    enable_active(robot)
    for ttl in (1e-9, 0.0005, 0.000999):
        with pytest.raises(ValueError, match=r"ttl: .*shorter than one loop period \(0\.001 s\).*allowed"):
            robot.set_joint_targets(zeros(robot), ttl=ttl)
        with pytest.raises(ValueError, match=r"ttl: .*allowed"):
            robot._loop.write_setpoint(zeros(robot), t_target=robot.now(), ttl=ttl)
        with pytest.raises(ValueError, match=r"ttl: .*allowed"):
            robot._loop.refresh_watchdog(robot.now(), ttl)
    robot.set_joint_targets(zeros(robot) + 0.1, ttl=robot.period_s)  # one period: alive for the next cycle
    state = robot.step(1)
    assert state.supervisor_state == "ACTIVE" and state.last_event["reason"] != "watchdog_expired"
    assert robot.step(2).supervisor_state == "HOLD"


def test_gains_above_their_bound_are_refused(small_robot, make_robot):
    robot = small_robot
    kp_max, kd_max = robot.config.joints[1].limits.kp_max, robot.config.joints[1].limits.kd_max
    assert kp_max == pytest.approx(40.0 / 0.005) and kd_max == pytest.approx(40.0 / (0.05 * 5.0))
    with pytest.raises(ValueError, match=r"kp\[1\] \(j1\): must be <= 8000"):
        robot.set_gains(kp=[100.0, 8000.5, 100.0])
    with pytest.raises(ValueError, match=r"kd\[2\] \(j2\): must be <= 160"):
        robot.set_gains(kd=[4.0, 4.0, 1e9])
    with pytest.raises(ValueError, match=r"kp\[0\]: must be <= 8000"):
        robot._loop.write_gains(np.array([9000.0, 1.0, 1.0]), np.ones(3))
    robot.set_gains(kp=[8000.0, 100.0, 100.0])  # the bound itself is allowed
    configured = make_robot(joints={"limits": {"kp_max": 500.0, "kd_max": 10.0}})
    with pytest.raises(ValueError, match=r"kp\[0\] \(j0\): must be <= 500"):
        configured.set_gains(kp=[501.0, 1.0, 1.0])
    from humanoid_rt.config import ConfigError

    with pytest.raises(ConfigError, match=r"gains.kp"):
        make_robot(joints={"limits": {"kp_max": 50.0}})  # the default kp (100) is above it


@pytest.mark.parametrize("state_name", ["ACTIVE", "HOLD"])
def test_enable_while_enabled_is_answered_accepted_in_active_and_hold(small_robot, state_name):
    robot = small_robot
    enable_active(robot)
    if state_name == "HOLD":
        robot.set_joint_targets(zeros(robot), ttl=0.01)
        robot.step(20)
    assert robot.state().supervisor_state == state_name
    robot.enable()
    robot.step(1)
    answer = robot.events()[-1]
    assert answer["accepted"] and answer["from_state"] == answer["to_state"] == state_name
    assert answer["reason"] == "enable_requested"
    assert robot.state().supervisor_state == state_name


def test_a_fault_arriving_in_estop_is_recorded_and_blocks_reset(small_robot):
    robot = small_robot
    enable_active(robot)
    robot.estop()
    robot.step(5)
    robot.mock_bus(1).set_drive_error(1, 0x2310)
    robot.step(10)
    assert robot.state().supervisor_state == "ESTOP"
    recorded = [e for e in robot.events() if e["reason"] == "drive_fault"]
    assert len(recorded) == 1, "recorded once, not every cycle"
    assert recorded[0]["from_state"] == recorded[0]["to_state"] == "ESTOP" and recorded[0]["joint"] == 1
    robot.reset()
    robot.step(1)
    assert robot.events()[-1]["reason"] == "drive_fault" and not robot.events()[-1]["accepted"]
    robot.mock_bus(1).clear_faults()
    robot.reset()
    assert robot.step(1).supervisor_state == "DISABLED"


def _moving(robot):
    enable_active(robot)
    robot.set_joint_targets(zeros(robot) + 0.6, ttl=0, duration=0.3)
    robot.step(150)
    robot.drain_telemetry()


STOP_CATEGORY = {  # injected fault -> (reason, IEC 60204-1 stop category)
    "drive_error": ("drive_fault", 0),
    "nan": ("non_finite_measurement", 0),
    "bus_timeout": ("bus_timeout", 0),
    "encoder_jump": ("encoder_jump", 0),
    "temperature": ("over_temperature", 1),
}


@pytest.mark.parametrize("fault", sorted(STOP_CATEGORY))
def test_each_fault_stops_with_its_category(small_robot, fault):
    from test_supervisor import _inject

    robot = small_robot
    _moving(robot)
    _inject(robot, fault, joint=2)
    damping_cycles = round(robot.config.safety.damping_time_s * robot.rate_hz)
    robot.step(damping_cycles + 5)
    tm = robot.drain_telemetry()
    reason, category = STOP_CATEGORY[fault]
    assert np.all(tm["state"] == robot.STATE_CODES["FAULT"]) and robot.state().reason == reason
    if category == 0:
        assert np.all(tm["tau_command"] == 0.0), "category 0: torque off in the very cycle"
    else:
        kd = robot.config.joint_array("kd")
        damped = tm["tau_command"][:damping_cycles]
        expected = np.clip(-kd * tm["dq"][:damping_cycles], -40.0, 40.0)
        assert np.max(np.abs(damped[0])) > 1.0, "braking the moving joints"
        rate_step = 20000.0 * robot.period_s
        limited = np.abs(np.diff(damped, axis=0)) < rate_step - 1e-9
        np.testing.assert_allclose(damped[1:][limited], expected[1:][limited], atol=1e-9)
        assert np.all(tm["tau_command"][damping_cycles:] == 0.0), "then STO"
        assert np.max(np.abs(robot.state().dq)) < np.max(np.abs(tm["dq"][0])) / 4


def test_fault_stop_category_0_forces_torque_off_for_every_fault(make_robot):
    robot = make_robot(safety={"fault_stop_category": 0})
    _moving(robot)
    robot.mock_bus(2).set_temperature(2, 95.0)
    robot.step(10)
    tm = robot.drain_telemetry()
    assert robot.state().reason == "over_temperature" and np.all(tm["tau_command"] == 0.0)


def test_a_second_fault_during_the_controlled_stop_cuts_torque(small_robot):
    robot = small_robot
    _moving(robot)
    robot.mock_bus(2).set_temperature(2, 95.0)
    assert np.any(robot.step(3).tau_command != 0.0)
    robot.mock_bus(0).set_drive_error(0, 7)
    state = robot.step(1)
    assert state.supervisor_state == "FAULT" and np.all(state.tau_command == 0.0)
    assert robot.events()[-1]["reason"] == "drive_fault"


def test_the_stop_bench_measures_every_joint(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    out = tmp_path / "stops.json"
    script = Path(__file__).resolve().parent.parent / "bench" / "run_stops.py"
    subprocess.run([sys.executable, str(script), "--scenario", "fault_ss1", "--scenario", "fault_cat0",
                    "--seconds", "1.5", "--json", str(out)], check=True, capture_output=True, timeout=120)
    stops = json.loads(out.read_text())["stops"]
    for scenario in ("fault_ss1", "fault_cat0"):
        assert len(stops[scenario]["joints"]) == 31 and stops[scenario]["states"] == ["FAULT"]
    for name, controlled in stops["fault_ss1"]["joints"].items():
        coasting = stops["fault_cat0"]["joints"][name]
        assert controlled["speed_rad_s"] >= 0.97 * controlled["velocity_limit_rad_s"], name
        assert controlled["stop_distance_rad"] < coasting["stop_distance_rad"] / 3, name


def test_a_joint_past_its_hard_limit_while_moving_is_braked_not_left_to_coast(small_robot):
    robot = small_robot
    _moving(robot)
    robot.mock_bus(2).set_joint_position(2, 1.05)  # past the hard limit (1.0), still moving in the model
    state = robot.step(1)
    assert state.supervisor_state == "FAULT" and state.reason == "hard_position_limit"
    assert np.any(state.tau_command != 0.0), "category 1: SS1"
    # The braking torque on the joint past its limit pushes it back (the soft wall is part of the shaping).
    robot.step(5)
    assert robot.state().tau_command[2] < 0.0
    robot.step(round(robot.config.safety.damping_time_s * robot.rate_hz))
    assert np.all(robot.state().tau_command == 0.0)
