"""Action-chunk execution, time-aligned observations and the LeRobot-shaped adapter (stepped mode)."""

from __future__ import annotations

import numpy as np
import pytest

from humanoid_rt.policy import ChunkExecutor, LeRobotAdapter, TelemetryHistory
from conftest import enable_active

A_MAX = 10.0


def reference(t):
    """What the 'policy' wants: a smooth motion of the three joints."""
    return np.array([0.4 * np.sin(2 * np.pi * t / 2.0), 0.3 * np.sin(2 * np.pi * t / 1.5), 0.2 * np.cos(np.pi * t)])


def stream(robot, executor, seconds):
    for _ in range(int(round(seconds / executor.interval))):
        executor.update()
        robot.step(int(round(executor.interval * robot.rate_hz)))


def test_chunks_at_30_hz_with_random_inference_delays_run_without_velocity_jumps(small_robot):
    robot = small_robot
    enable_active(robot)
    executor = ChunkExecutor(robot, max_acceleration=A_MAX, blend_s=0.1)
    rng = np.random.default_rng(11)
    horizon, dt = 16, 1 / 30
    robot.drain_telemetry()
    t_start = robot.now()
    next_obs = t_start
    pending = []  # (deliver_at, actions, t0)
    reports = []
    for _ in range(400):  # 4 s at the 100 Hz stream rate
        now = robot.now()
        if now >= next_obs:  # observation -> chunk predicted from it, delivered after an inference delay
            t0 = next_obs
            actions = np.array([reference(t0 - t_start + i * dt) for i in range(horizon)])
            pending.append((now + rng.uniform(0.0, 0.12), actions, t0))
            next_obs += dt * 8  # a new chunk every 8 actions (about 3.75 Hz of inference)
        for item in [p for p in pending if p[0] <= now]:
            reports.append(executor.submit_chunk(item[1], item[2], dt))
            pending.remove(item)
        executor.update()
        robot.step(10)
    tm = robot.drain_telemetry()
    assert robot.state().supervisor_state == "ACTIVE"
    assert sum(r["dropped_stale"] for r in reports) > 0  # delays made some actions stale, and they were dropped
    # Stated bound: the 1 kHz reference velocity changes by at most 3 a_max dt per cycle.
    jumps = np.abs(np.diff(tm["dq_ref"], axis=0))
    assert np.max(jumps) <= 3 * A_MAX * robot.period_s
    # And it follows the policy: after the first second, within 0.05 rad of the reference motion.
    late = tm["t"] > t_start + 1.0
    wanted = np.array([reference(t - t_start) for t in tm["t"][late]])
    assert np.max(np.abs(tm["q_ref"][late] - wanted)) < 0.05
    assert executor.underrun_updates == 0


def test_stale_chunk_is_dropped_entirely_and_changes_nothing(small_robot):
    robot = small_robot
    enable_active(robot)
    executor = ChunkExecutor(robot)
    executor.submit_chunk(np.full((5, 3), 0.2), robot.now(), 0.05)
    stream(robot, executor, 0.2)
    before = executor.status()
    report = executor.submit_chunk(np.full((4, 3), -0.5), robot.now() - 1.0, 0.05)
    assert report["accepted"] == 0 and report["dropped_stale"] == 4
    after = executor.status()
    assert after["executed_index"] == before["executed_index"]
    stream(robot, executor, 1.0)
    np.testing.assert_allclose(robot.state().q_ref, 0.2, atol=1e-6)


def test_executed_index_and_leftover_actions(small_robot):
    robot = small_robot
    enable_active(robot)
    executor = ChunkExecutor(robot)
    t0 = robot.now()
    actions = np.linspace(0.0, 0.3, 10)[:, None] * np.ones(3)
    report = executor.submit_chunk(actions, t0 - 0.05, 0.1)  # the first action is already past
    assert report["dropped_stale"] == 1 and report["accepted"] == 9
    stream(robot, executor, 0.3)
    status = executor.status()
    # The last sent target is for now + lead; every action up to it counts as executed.
    expected = int(np.floor((status["last_target_time"] - (t0 - 0.05)) / 0.1 + 1e-9))
    assert status["executed_index"] == expected
    np.testing.assert_allclose(status["leftover"], actions[expected + 1:])


def test_underrun_hold_goes_to_the_last_action_and_stops(small_robot):
    robot = small_robot
    enable_active(robot)
    executor = ChunkExecutor(robot, underrun="hold", max_acceleration=A_MAX)
    t0 = robot.now()
    actions = np.array([reference(i * 0.05) for i in range(10)])  # 0.5 s, ends moving
    executor.submit_chunk(actions, t0, 0.05)
    robot.drain_telemetry()
    stream(robot, executor, 2.0)
    tm = robot.drain_telemetry()
    status = executor.status()
    assert status["underrun"] and status["underrun_updates"] > 0
    state = robot.state()
    assert state.supervisor_state == "ACTIVE"  # still streaming
    np.testing.assert_allclose(state.q_ref, actions[-1], atol=1e-6)
    assert np.max(np.abs(state.dq_ref)) < 1e-9
    assert np.max(np.abs(np.diff(tm["dq_ref"], axis=0))) <= 3 * A_MAX * robot.period_s


def test_underrun_decelerate_brakes_from_the_current_velocity(small_robot):
    robot = small_robot
    enable_active(robot)
    executor = ChunkExecutor(robot, underrun="decelerate", max_acceleration=A_MAX)
    t0 = robot.now()
    actions = np.array([[0.5 * i * 0.05, 0.0, 0.0] for i in range(20)])  # 0.5 rad/s ramp on j0 for 0.95 s
    executor.submit_chunk(actions, t0, 0.05)
    stream(robot, executor, 0.8)
    v_before = executor.status()["velocity"][0]
    assert v_before > 0.3
    robot.drain_telemetry()
    stream(robot, executor, 0.5)
    tm = robot.drain_telemetry()
    assert executor.status()["underrun"]
    assert robot.state().q_ref[0] > actions[-1, 0]  # it coasted past the last action instead of returning to it
    assert np.all(np.diff(tm["dq_ref"][:, 0]) <= 3 * A_MAX * robot.period_s)  # never speeds up beyond the bound
    assert abs(robot.state().dq_ref[0]) < 1e-9  # and came to rest


def test_chunk_validation_names_the_problem(small_robot):
    executor = ChunkExecutor(small_robot, joints=["j0", "j2"])
    with pytest.raises(ValueError, match=r"actions: expected shape \(H, 2\).*j0, j2"):
        executor.submit_chunk(np.zeros((3, 3)), 0.0, 0.1)
    with pytest.raises(ValueError, match=r"actions\[1\]\[1\] \(j2\): must be finite"):
        executor.submit_chunk(np.array([[0, 0], [0, np.nan]]), 0.0, 0.1)
    with pytest.raises(ValueError, match="underrun: allowed: hold, decelerate"):
        ChunkExecutor(small_robot, underrun="panic")
    report = executor.submit_chunk(np.array([[2.0, 0.0]]), small_robot.now() + 1, 0.1)
    assert report["clipped"] == 1  # beyond the soft limit


def test_telemetry_history_interpolates_state_at_a_time(small_robot):
    robot = small_robot
    enable_active(robot)
    robot.set_joint_targets([0.3, -0.2, 0.1], ttl=0, duration=0.3)
    history = TelemetryHistory(robot, seconds=0.5)
    robot.step(400)
    history.poll()
    lo, hi = history.span
    assert hi - lo == pytest.approx(0.5, abs=2 * robot.period_s)
    tm_t = history._data["t"]
    k = len(tm_t) // 2
    mid = 0.5 * (tm_t[k] + tm_t[k + 1])
    state = history.state_at(mid)
    np.testing.assert_allclose(state["q"], 0.5 * (history._data["q"][k] + history._data["q"][k + 1]))
    window = history.window(hi, 5, 0.02, signals=("q", "q_ref"))
    assert window["q"].shape == (5, 3) and window["t"][-1] == hi
    with pytest.raises(ValueError, match="outside the telemetry held"):
        history.window(hi, 100, 0.02)


def test_lerobot_adapter_features_observation_and_clipped_action(small_robot):
    robot = small_robot
    adapter = LeRobotAdapter(robot, max_relative_target=0.1)
    adapter.connect()
    robot.step(int(robot.config.safety.enable_ramp_s * robot.rate_hz) + 1)
    assert adapter.is_connected and adapter.is_calibrated
    assert set(adapter.action_features) == {"j0.pos", "j1.pos", "j2.pos"}
    assert len(adapter.observation_features) == 9
    obs = adapter.get_observation()
    assert set(obs) == set(adapter.observation_features)
    sent = adapter.send_action({"j0.pos": 0.5, "j1.pos": -0.05, "j2.pos": 0.0})
    assert sent["j0.pos"] == pytest.approx(obs["j0.pos"] + 0.1)  # clipped to max_relative_target
    assert sent["j1.pos"] == -0.05
    robot.step(200)
    assert robot.state().q_ref[0] == pytest.approx(sent["j0.pos"])
    with pytest.raises(ValueError, match="unknown keys"):
        adapter.send_action({"j9.pos": 0.0})
    adapter.disconnect()
    robot.step(robot_cycles := int(robot.config.safety.damping_time_s * robot.rate_hz) + 2)
    assert robot_cycles and robot.state().supervisor_state == "DISABLED"


@pytest.mark.realtime
def test_policy_thread_streams_chunks_in_real_time(make_robot):
    import time

    from humanoid_rt.policy import PolicyThread

    robot = make_robot()
    robot.start()
    robot.enable()
    executor = ChunkExecutor(robot)
    thread = PolicyThread(executor)
    thread.start()
    try:
        target = np.array([0.2, -0.1, 0.05])
        actions = np.linspace(robot.state().q, target, 10)
        executor.submit_chunk(actions, robot.now() + 0.05, 0.05)
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline and np.max(np.abs(robot.state().q - target)) > 0.01:
            time.sleep(0.02)
        assert thread.error is None and robot.state().supervisor_state == "ACTIVE"
        np.testing.assert_allclose(robot.state().q, target, atol=0.01)
    finally:
        thread.stop()
    robot.wait_for_state("HOLD", "DAMPING", "DISABLED", timeout=5.0)  # the stream stopped: the watchdog acts
