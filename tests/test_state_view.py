"""The fast Python paths: a reusable StateView, state() from one compact block, set_joint_targets
checked in the core, telemetry drained straight from the ring, and the mock bus's encoder noise.
Stepped mode: exact."""

from __future__ import annotations

import numpy as np
import pytest

from humanoid_rt import StateView


def enable_active(robot):
    robot.enable()
    robot.step(150)
    assert robot.state().supervisor_state == "ACTIVE"


def test_read_state_refills_one_view_in_place_with_what_state_returns(small_robot):
    robot = small_robot
    view = robot.read_state()
    assert isinstance(view, StateView) and view.supervisor_state == "DISABLED"
    q_array = view.q
    enable_active(robot)
    robot.set_joint_targets([0.3, -0.2, 0.1], ttl=0, duration=0.2)
    robot.step(300)
    assert robot.read_state(out=view) is view and view.q is q_array  # same arrays, refilled
    state = robot.state()
    assert (view.cycle, view.time, view.supervisor_state, view.reason) == \
        (state.cycle, state.time, state.supervisor_state, state.reason)
    for name in ("q", "dq", "tau", "tau_command", "q_ref", "dq_ref", "temperature_c", "drive_error", "fresh"):
        np.testing.assert_array_equal(getattr(view, name), getattr(state, name), err_msg=name)
        assert getattr(view, name).shape == (3,)
    np.testing.assert_allclose(view.q, [0.3, -0.2, 0.1], atol=0.01)
    with pytest.raises(ValueError, match="read-only"):
        view.q[0] = 1.0  # one reader must not change what the next refill's readers see
    assert view.last_event["to_state"] == "ACTIVE"


def test_a_view_keeps_its_values_until_refilled_and_state_objects_are_independent(small_robot):
    robot = small_robot
    enable_active(robot)
    view = robot.read_state()
    first = robot.state()
    kept = view.q.copy()
    robot.set_joint_targets([0.5, 0.0, 0.0], ttl=0, duration=0.1)
    robot.step(200)
    np.testing.assert_array_equal(view.q, kept)  # no refill, no change
    robot.read_state(out=view)
    assert view.q[0] > kept[0] + 0.3
    second = robot.state()
    assert second.q[0] > first.q[0] + 0.3  # the earlier RobotState did not move with the loop
    second.q[0] = 99.0  # a RobotState's arrays are its own
    assert robot.state().q[0] != 99.0 and first.q[0] != 99.0


def test_set_joint_targets_resolves_t_and_duration_like_before(small_robot):
    robot = small_robot
    enable_active(robot)
    now = robot.now()
    robot.set_joint_targets(0.2, ttl=0, duration=0.5)  # a scalar: every joint (converted by the Python checks)
    robot.step(600)
    np.testing.assert_allclose(robot.state().q_ref, [0.2, 0.2, 0.2])
    robot.set_joint_targets(np.zeros(3), ttl=0, t=robot.now() + 0.3)
    row = robot.step(1)
    assert row.q_ref[0] < 0.2  # on its way, due at the stamped time
    telemetry = robot.drain_telemetry()
    assert telemetry["setpoint_t_target"][-1] == pytest.approx(robot.now() - 0.001 + 0.3, abs=2e-3)
    assert telemetry["setpoint_t_written"][-1] > now
    with pytest.raises(ValueError, match=r"t: must be a finite loop time"):
        robot.set_joint_targets(np.zeros(3), t=float("nan"))
    with pytest.raises(ValueError, match=r"tau_ff\[2\] \(j2\): must be finite"):
        robot.set_joint_targets(np.zeros(3), tau_ff=[0.0, 0.0, np.inf])
    with pytest.raises(ValueError, match=r"dq: expected shape \(3,\)"):
        robot.set_joint_targets(np.zeros(3), dq=[0.0])
    with pytest.raises(ValueError, match=r"give either t"):
        robot.set_joint_targets(np.zeros(3), t=1.0, duration=1.0)


def test_telemetry_columns_hold_every_cycle_in_order(small_robot):
    robot = small_robot
    enable_active(robot)
    robot.drain_telemetry()
    robot.set_joint_targets([0.1, 0.2, 0.3], ttl=0, duration=0.05)
    robot.step(100)
    telemetry = robot.drain_telemetry()
    assert list(np.diff(telemetry["cycle"])) == [1] * 99
    assert telemetry["q"].shape == (100, 3) and telemetry["tau_command"].shape == (100, 3)
    state = robot.state()
    np.testing.assert_array_equal(telemetry["q"][-1], state.q)
    np.testing.assert_array_equal(telemetry["tau_command"][-1], state.tau_command)
    assert telemetry["cycle"][-1] == state.cycle


def test_mock_encoder_noise_has_the_configured_spread_and_stays_bounded(make_robot):
    robot = make_robot(buses=[{"name": "arm", "type": "mock", "latency_cycles": 0, "position_noise_rad": 1e-3,
                               "seed": 3}])
    robot.drain_telemetry()
    robot.step(4000)  # torque off, at rest: the readings are noise around 0
    q = robot.drain_telemetry()["q"]
    assert q.std() == pytest.approx(1e-3, rel=0.05)
    assert abs(q.mean()) < 1e-4
    assert np.abs(q).max() <= np.sqrt(3) * 2 * 1e-3 + 1e-9  # the sum of four uniforms is bounded at 3.46 sigma
    assert np.abs(q).max() > 2.5e-3  # and reaches well into the tails
