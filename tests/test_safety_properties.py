"""Property-based safety checks: whatever setpoints, gains and disturbances arrive,
every commanded torque respects the clamp and the rate limit, and a joint past
its soft limit gets a restoring torque (or one moving toward restoring at the
full permitted rate)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conftest import small_robot_config
from humanoid_rt import Robot

N = 3
TORQUE_ON_STATES = ("ENABLING", "ACTIVE", "HOLD", "DAMPING", "RECOVERY")
# Faults that stop with SS1 (safety_supervisor.hpp, stop_category_for): damping, then STO.
CONTROLLED_STOP_REASONS = ("over_temperature", "hard_position_limit", "non_finite_command", "recovery_failed")

finite = st.floats(allow_nan=False, allow_infinity=False)
vectors = lambda lo, hi: st.lists(st.floats(lo, hi), min_size=N, max_size=N)  # noqa: E731

actions = st.one_of(
    st.tuples(st.just("targets"), vectors(-2.0, 2.0), vectors(-100.0, 100.0), st.floats(0.0, 0.3)),
    st.tuples(st.just("gains"), vectors(0.0, 3000.0), vectors(0.0, 60.0)),
    st.tuples(st.just("push"), st.integers(0, N - 1), st.floats(-80.0, 80.0)),
    st.tuples(st.just("enable"),),
    st.tuples(st.just("reset"),),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    script=st.lists(st.tuples(actions, st.integers(1, 120)), min_size=1, max_size=25),
    drive_side=st.booleans(),
    latency=st.integers(0, 3),
)
def test_torque_clamp_rate_limit_and_soft_walls_hold_for_any_input(urdf_path, script, drive_side, latency):
    config = small_robot_config(
        urdf_path,
        buses=[{"name": "arm", "type": "mock", "latency_cycles": latency, "position_noise_rad": 1e-4, "seed": 1}],
        joints={"command_mode": "drive_impedance" if drive_side else "torque"},
    )
    with Robot(config, telemetry_capacity=4096) as robot:  # > 25 * 120 cycles: nothing overflows
        robot.enable()
        bus = robot.mock_bus(0)
        for action, cycles in script:
            kind = action[0]
            if kind == "targets":
                robot.set_joint_targets(action[1], tau_ff=action[2], duration=action[3], ttl=0.05)
            elif kind == "gains":
                robot.set_gains(action[1], action[2])
            elif kind == "push":
                bus.set_external_torque(action[1], action[2])
            elif kind == "enable":
                robot.enable()
            else:
                robot.reset()
            robot.step(cycles)
        tm = robot.drain_telemetry()

    names = {code: name for name, code in robot.STATE_CODES.items()}
    torque_on = np.array([names[int(s)] in TORQUE_ON_STATES for s in tm["state"]])
    tau, q = tm["tau_command"], tm["q"]
    # A FAULT that stops with SS1 damps until its STO: those rows are torque-on rows while torque flows.
    controlled_stop = np.array([names[int(s)] == "FAULT" and robot.REASON_NAMES[int(r)] in CONTROLLED_STOP_REASONS
                                for s, r in zip(tm["state"], tm["reason"])])
    torque_on |= controlled_stop & np.any(tau != 0.0, axis=1)
    tau_max = robot.config.joint_array("limits.torque")
    step = robot.config.joint_array("limits.torque_rate") * robot.period_s
    soft_max = robot.config.joint_array("limits.q_soft_max")
    soft_min = robot.config.joint_array("limits.q_soft_min")
    eps = 1e-9

    assert np.all(np.isfinite(tau))
    assert np.all(np.abs(tau) <= tau_max + eps), "torque clamp (SLT)"
    assert np.all(tau[~torque_on] == 0.0), "STO outside the torque-on states"
    # Rate limit between consecutive cycles; torque turning on starts from zero.
    previous = np.vstack([np.zeros(N), tau[:-1]])
    previous[1:][~torque_on[:-1]] = 0.0
    delta = tau - previous
    assert np.all(np.abs(delta[torque_on]) <= step + eps), "torque-rate limit (SLT)"
    # Past a soft limit: restoring, or moving toward restoring by the full rate step.
    for rows, sign, bound in ((q > soft_max, -1.0, soft_max), (q < soft_min, 1.0, soft_min)):
        rows &= torque_on[:, None]
        event(f"cycles past a soft limit with torque on: {'some' if rows.any() else 'none'}")
        restoring = sign * tau > 0.0
        converging = np.isclose(delta, sign * step, rtol=0, atol=1e-9)
        bad = rows & ~(restoring | converging)
        assert not bad.any(), f"joint past its soft limit without a restoring torque at rows {np.argwhere(bad)[:3]}"
