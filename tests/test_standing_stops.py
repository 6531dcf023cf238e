"""Stops that keep a standing robot up (issue 13): every stop cause of a floating robot picks its stop from
the robot's policy (floating_base.stops.causes): a crouch into the configured posture (SS1 into a safe pose,
held until the robot is down or supported, then damping, then STO), damping, or torque off; the
`floating_base:` config section's bad input. Everything stepped (exact).

On the standing twin (stiff legs, the stopgap until the contact QP) each cause ends crouched, upright,
without a fall; the stop times are published by bench/run_standing_stops.py (README).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from humanoid_rt import ConfigError, Robot, load_config
from humanoid_rt.benchmarks.standing import STOP_CAUSES, clear, standing_robot, stop_from_standing
from humanoid_rt.config import dump_config
from humanoid_rt.standing_safety import safety_section, stop_policy
from humanoid_rt.standing_config import DEFAULT_CAUSES

# Bounds on the standing twin (measured, generic / G1: height drop 103 / 79 mm, tilt <= 0.8 / 1.1 deg,
# posture error 0.022 / 0.007 rad from the stiff legs' static deflection; README "Stops for a standing robot").
CROUCH_DROP_M = (0.05, 0.15)  # the pelvis lowers into the crouch, and no further
UPRIGHT_DEG = 5.0
POSTURE_RAD = 0.05
LATCH = {"estop": "ESTOP", "disable": "DAMPING", "watchdog": "DAMPING", "over_temperature": "FAULT",
         "imu_stale": "FAULT", "hard_position_limit": "FAULT"}


def floating_config(name: str = "generic_humanoid", **stops) -> dict:
    config = dump_config(load_config(name))
    config.setdefault("floating_base", {}).setdefault("stops", {}).update(stops)
    return config


@pytest.mark.parametrize("controller", ["stiff_legs", "contact_qp"])
@pytest.mark.parametrize("robot_name", ["generic_humanoid", "g1"])
@pytest.mark.parametrize("cause", STOP_CAUSES)
def test_each_stop_cause_ends_crouched_without_a_fall(robot_name, cause, controller):
    # On the contact QP (the twin's default) the crouch runs on the fixed-base controller with the support
    # joints stiffened (standing_safety.hpp: crouch_stiffness_scale); without that, every stop dropped it.
    robot = standing_robot(robot_name, controller=controller)
    result = stop_from_standing(robot, cause, seconds=3.0)
    names = [e["reason"] for e in result["events"]]
    assert result["reason"] in names and "crouch_complete" in names, names
    assert not result["falls"]
    assert result["state"] == LATCH[cause]
    assert CROUCH_DROP_M[0] < result["final_height_drop_m"] and result["height_drop_m"] < CROUCH_DROP_M[1]
    assert result["max_tilt_deg"] < UPRIGHT_DEG
    assert result["posture_error_rad"] < POSTURE_RAD
    assert result["torque_on_at_end"]  # held in the crouch: a standing robot is not dropped
    assert result["crouch_complete_s"] < 1.5  # planned duration + settle (exact, simulated time)
    assert robot.statistics()["realtime_allocations"] == 0
    clear(robot, cause)
    robot.close()


def test_crouch_trajectory_limits_then_support_then_damping_then_sto():
    """Mock bus (no gravity, exact): the reference moves within the crouch fraction of the velocity limit,
    completes at T + settle, support by height, damping_time, then STO."""
    config = floating_config(support_height_m=0.95, crouch_velocity_fraction=0.2)
    robot = Robot(config, floating=True)
    robot.enable()
    robot.step(700)
    robot.drain_telemetry()
    robot.estop()
    robot.step(1000)
    for _ in range(20):  # up to the cycle the crouch completes (support comes the cycle after)
        if any(e["reason"] == "crouch_complete" for e in robot.events()):
            break
        robot.step(1)
    telemetry = robot.drain_telemetry()
    velocity = robot.config.joint_array("limits.velocity")
    assert np.all(np.abs(telemetry["dq_ref"]) <= 0.2 * velocity * 1.001 + 1e-9)
    events = {e["reason"]: e for e in robot.events()}
    estop, complete = events["estop_requested"], events["crouch_complete"]
    # Knees 0 -> 1.0 rad, acceleration limit 60 rad/s^2 (12 rad/s reached in 0.2 s) at 0.2 of it:
    # T = sqrt(6 d / (f a)) = sqrt(0.5) s (the velocity bound 1.5 d / (f v) = 0.625 s is shorter); + settle 0.3 s.
    assert complete["t"] - estop["t"] == pytest.approx(math.sqrt(0.5) + 0.3, abs=0.002)
    crouch = dict(safety_section(robot.config).stops.crouch)
    state = robot.state()
    for name, angle in crouch.items():
        assert state.q_ref[robot.joint_index(name)] == pytest.approx(angle, abs=1e-9)
        assert state.q[robot.joint_index(name)] == pytest.approx(angle, abs=0.01)  # the mock's Coulomb friction
    robot.step(2)
    support = next(e for e in robot.events() if e["reason"] == "support_reached")
    assert support["value"] <= 0.95 and support["limit"] == 0.95
    damping_cycles = int(robot.config.safety.damping_time_s * robot.rate_hz)
    robot.mock_bus("left_elbow").set_external_torque(robot.joint_index("left_elbow"), 2.0)  # moves: damped
    robot.step(damping_cycles - 3)
    assert robot.state().tau_command[robot.joint_index("left_elbow")] != 0.0
    robot.step(3)
    assert np.all(robot.state().tau_command == 0.0)  # STO, damping_time after support
    assert robot.state().supervisor_state == "ESTOP"  # still latched
    robot.close()


def test_confirm_supported_ends_the_hold_and_reset_ends_a_crouch():
    robot = Robot("generic_humanoid", floating=True)
    robot.enable()
    robot.step(700)
    robot.mock_bus("left_knee").set_temperature(robot.joint_index("left_knee"), 120.0)
    robot.step(1500)
    assert robot.state().supervisor_state == "FAULT" and np.any(robot.state().tau_command != 0.0)
    robot.step(1000)
    assert np.any(robot.state().tau_command != 0.0)  # the crouch holds, however long (support_height_m 0)
    robot.confirm_supported()
    robot.step(1)
    assert robot.events()[-1]["reason"] == "support_reached"
    robot.step(int(robot.config.safety.damping_time_s * robot.rate_hz) + 1)
    assert np.all(robot.state().tau_command == 0.0)
    robot.mock_bus("left_knee").set_temperature(robot.joint_index("left_knee"), 35.0)
    robot.reset()
    robot.enable()
    robot.step(700)
    robot.estop()
    robot.step(100)
    assert np.any(robot.state().tau_command != 0.0)  # crouching
    robot.reset()
    robot.step(1)
    assert robot.state().supervisor_state == "DISABLED" and np.all(robot.state().tau_command == 0.0)
    robot.close()


def test_a_category_0_cause_during_the_crouch_cuts_torque():
    robot = Robot("generic_humanoid", floating=True)
    robot.enable()
    robot.step(700)
    robot.estop()
    robot.step(200)
    assert np.any(robot.state().tau_command != 0.0)
    robot.mock_bus("left_knee").set_drive_error(robot.joint_index("left_knee"), 0x2310)
    robot.step(1)
    assert np.all(robot.state().tau_command == 0.0)
    assert robot.events()[-1]["reason"] == "drive_fault"
    robot.close()


def test_policy_per_cause_is_configurable():
    causes = {"estop_requested": "torque_off", "over_temperature": "damp", "imu_stale": "crouch"}
    robot = Robot(floating_config(causes=causes), floating=True)
    robot.enable()
    robot.step(700)
    robot.estop()
    robot.step(1)
    assert robot.state().supervisor_state == "ESTOP" and np.all(robot.state().tau_command == 0.0)  # STO at once
    robot.reset()
    robot.enable()
    robot.step(700)
    robot.mock_bus("left_knee").set_temperature(robot.joint_index("left_knee"), 120.0)
    robot.mock_bus("left_elbow").set_external_torque(robot.joint_index("left_elbow"), 2.0)  # moves: damped
    robot.step(int(robot.config.safety.damping_time_s * robot.rate_hz) - 1)
    assert robot.state().tau_command[robot.joint_index("left_elbow")] != 0.0  # damping (SS1) ...
    robot.step(2)
    assert np.all(robot.state().tau_command == 0.0)  # ... then STO, no crouch
    assert not any(e["reason"] == "crouch_complete" for e in robot.events())
    robot.close()


def test_default_policy_and_fixed_base_is_unchanged():
    config = load_config("generic_humanoid")
    policy = stop_policy(config)
    from humanoid_rt import _core

    code = {name: int(value) for name, value in _core.Reason.__members__.items()}
    assert policy[code["estop_requested"]] == 2 and policy[code["bus_timeout"]] == 0
    assert policy[code["over_temperature"]] == 2 and policy[code["non_finite_command"]] == 1
    assert policy[code["fall_tilt"]] == 3
    assert DEFAULT_CAUSES["drive_fault"] == "torque_off"
    fixed = Robot("generic_humanoid")  # fixed base: no policy, e-stop category 0 cuts torque at once
    assert fixed.standing_safety is None
    fixed.enable()
    fixed.step(700)
    fixed.estop()
    fixed.step(1)
    assert np.all(fixed.state().tau_command == 0.0)
    with pytest.raises(RuntimeError, match="floating"):
        fixed.confirm_supported()
    fixed.close()


@pytest.mark.parametrize("section, field, allowed", [
    ({"fall": {"tilt_rad": 4.0}}, "floating_base.fall.tilt_rad", "(0, 3.14159]"),
    ({"fall": {"tilt_rad": "steep"}}, "floating_base.fall.tilt_rad", "(0, 3.14159]"),
    ({"fall": {"com_cycles": 0}}, "floating_base.fall.com_cycles", "1..100000"),
    ({"fall": {"com_cycles": 2.5}}, "floating_base.fall.com_cycles", "1..100000"),
    ({"fall": {"com_margin_m": -0.1}}, "floating_base.fall.com_margin_m", "[0, 1]"),
    ({"fall": {"protect_time_s": 0}}, "floating_base.fall.protect_time_s", "(0, 60]"),
    ({"fall": {"foot_clearance_m": 2}}, "floating_base.fall.foot_clearance_m", "[0, 1]"),
    ({"fall": {"enabled": "yes"}}, "floating_base.fall.enabled", "true or false"),
    ({"fall": {"tuck": {"left_elbow": 9.0}}}, "floating_base.fall.tuck.left_elbow", "[-2.6, 0.1] [rad]"),
    ({"fall": {"tuck": {"left_flipper": 0.0}}}, "floating_base.fall.tuck.left_flipper", "left_knee"),
    ({"fall": {"tuck": [0.1, 0.2]}}, "floating_base.fall.tuck", "joint name -> angle"),
    ({"fall": {"wobble": 1}}, "floating_base.fall.wobble", "tilt_rad"),
    ({"stops": {"crouch": {"left_knee": "deep"}}}, "floating_base.stops.crouch.left_knee", "[-0.08, 2.4]"),
    ({"stops": {"crouch_velocity_fraction": 0.0}}, "floating_base.stops.crouch_velocity_fraction", "(0, 1]"),
    ({"stops": {"support_height_m": 20}}, "floating_base.stops.support_height_m", "[0, 10]"),
    ({"stops": {"causes": {"bus_timeout": "crouch"}}}, "floating_base.stops.causes.bus_timeout", "torque_off"),
    ({"stops": {"causes": {"disable_requested": "torque_off"}}}, "floating_base.stops.causes.disable_requested",
     "crouch, damp"),
    ({"stops": {"causes": {"estop_requested": "sit"}}}, "floating_base.stops.causes.estop_requested",
     "crouch, damp, torque_off"),
    ({"stops": {"causes": {"sneeze": "crouch"}}}, "floating_base.stops.causes.sneeze", "estop_requested"),
    ({"balance": {}}, "floating_base.balance", "fall, stops"),
    ([1, 2], "floating_base", "fall, stops"),
])
def test_bad_floating_base_config_names_the_field(section, field, allowed):
    config = dump_config(load_config("generic_humanoid"))
    config["floating_base"] = section
    with pytest.raises(ConfigError) as error:
        load_config(config)
    issue = next(i for i in error.value.errors if i.field == field)
    assert allowed in issue.allowed, issue


def test_floating_base_section_round_trips():
    config = load_config("g1")
    assert load_config(dump_config(config)) == config
    stops = safety_section(config).stops
    assert dict(stops.crouch)["left_knee_joint"] == 1.0 and stops.cause("estop_requested") == "crouch"
    assert math.isclose(safety_section(config).fall.tilt_rad, 0.6)


def test_crouch_on_the_real_time_thread():
    """The same stop on the real-time thread (mock bus, floating): e-stop, crouch, hold; support, STO;
    no allocation. Waits for events with a generous timeout; asserts no timing."""
    import time

    with Robot("generic_humanoid", floating=True, priority=0, lock_memory=False) as robot:
        robot.start()
        robot.enable(timeout=10.0)
        robot.estop()

        def wait_for_event(reason: str) -> dict:
            deadline = time.monotonic() + 10.0
            while time.monotonic() < deadline:
                found = [e for e in robot.events() if e["reason"] == reason]
                if found:
                    return found[0]
                time.sleep(0.01)
            raise AssertionError(f"no {reason} event within 10 s: {[e['reason'] for e in robot.events()]}")

        wait_for_event("crouch_complete")
        knee = robot.joint_index("left_knee")
        assert robot.state().q_ref[knee] == pytest.approx(1.0, abs=1e-9)
        robot.confirm_supported()
        wait_for_event("support_reached")
        assert robot.state().supervisor_state == "ESTOP"
        assert robot.statistics()["realtime_allocations"] == 0
