"""Skill files, playback and recording, in stepped mode on the mock bus (no timing asserted)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from humanoid_rt import load_config
from humanoid_rt.skills import (ABORTED, DONE, PAUSED, PLAYING, Skill, SkillError, SkillPlayer, SkillRecorder,
                                load_skill, parse_skill, plan_transition, ruckig_available, run_stepped,
                                skill_from_telemetry)
from humanoid_rt.skills.cli import EXAMPLES
from conftest import enable_active

RATE = 100.0


def arm_skill(duration=2.0, amplitude=0.4, offset=0.2, name="sway", **extra) -> Skill:
    """A smooth motion of the 3-joint test arm, starting and ending at rest."""
    t = np.arange(0.0, duration + 1e-9, 1 / RATE)
    phase = 2 * np.pi * t / duration
    q = np.column_stack([offset + amplitude * (0.5 - 0.5 * np.cos(phase)),
                         -0.5 * amplitude * np.sin(phase) ** 2, 0.1 * np.sin(phase) ** 3])
    return Skill(name=name, scenario="gesture", robot="test_arm", source="synthetic", rate_hz=RATE,
                 joints=("j0", "j1", "j2"), t=t, q=q, **extra)


def arm_doc(**changes) -> dict:
    doc = arm_skill(duration=0.5).to_dict()
    doc.update(changes)
    return doc


def telemetry_during(robot, player, seconds):
    robot.drain_telemetry()
    run_stepped(robot, player, seconds)
    return robot.drain_telemetry()


# ------------------------------------------------------------------ format
def test_example_skills_load_and_fit_the_bundled_humanoid():
    config = load_config("generic_humanoid")
    names = sorted(p.name for p in EXAMPLES.glob("*.skill.json"))
    assert names == ["box_pick_and_place.skill.json", "squat.skill.json", "wave.skill.json"]
    for path in EXAMPLES.glob("*.skill.json"):
        skill = load_skill(path, config)
        assert skill.robot == "generic_humanoid" and skill.source == "synthetic"
        np.testing.assert_allclose(skill.velocities()[[0, -1]], 0.0)


def test_save_load_round_trip(tmp_path):
    skill = arm_skill(tau_ff=np.full((201, 3), 0.5), kp=np.array([80.0, 80, 80]))
    loaded = load_skill(skill.save(tmp_path / "a.skill.json"))
    np.testing.assert_allclose(loaded.q, skill.q, atol=1e-9)
    np.testing.assert_allclose(loaded.tau_ff, 0.5)
    assert loaded.joints == skill.joints and loaded.kp.tolist() == [80, 80, 80]


@pytest.mark.parametrize("change, pattern", [
    ({"version": 2}, r"version: unsupported version; allowed: 1 \(got 2\)"),
    ({"scenario": "dance"}, r"scenario: unknown scenario; allowed: gesture, .*\(got 'dance'\)"),
    ({"source": "dream"}, r"source: unknown source; allowed: teleop, mocap"),
    ({"t": [0.0, 0.2, 0.1] + [0.3 + 0.01 * i for i in range(48)]}, r"t\[2\]: time must strictly increase"),
    ({"rate_hz": -5}, r"rate_hz: must be a positive number"),
    ({"joints": ["j0", "j0", "j2"]}, r"joints\[1\]: duplicate joint"),
    ({"colour": "red"}, r"colour: unknown field"),
    ({"q": [[0.0, 0.0]] * 51}, r"q: wrong shape; allowed: 51 rows \(one per t\) of 3 values"),
])
def test_malformed_documents_name_the_field_and_allowed_values(change, pattern):
    with pytest.raises(SkillError, match=pattern):
        parse_skill(arm_doc(**change))


def test_nan_in_a_file_is_rejected(tmp_path):
    doc = arm_doc()
    doc["q"][7][1] = float("nan")
    path = tmp_path / "nan.skill.json"
    path.write_text(json.dumps(doc))  # json writes NaN
    with pytest.raises(SkillError, match=r"q\[7\]\[1\]: must be finite"):
        load_skill(path)
    path.write_text("{not json")
    with pytest.raises(SkillError, match=r"not valid UTF-8 JSON"):
        load_skill(path)


def test_mismatched_robot_joints_and_limits_are_all_reported(small_robot):
    doc = arm_doc(robot="generic_humanoid", joints=["j0", "elbow", "j2"])
    doc["q"][10][0] = 0.95  # soft limit of the test arm is 0.9
    skill = parse_skill(doc)
    with pytest.raises(SkillError) as info:
        skill.check_robot(small_robot)
    text = str(info.value)
    assert "robot: the skill was made for another robot; allowed: 'test_arm' (got 'generic_humanoid')" in text
    assert "joints[1]: unknown joint for this robot; allowed: j0, j1, j2 (got 'elbow')" in text
    assert "q[10][0] (j0): target above the soft limit at t=0.100 s; allowed: [-0.9, 0.9] rad (got 0.95)" in text


def _mutations():
    keys = st.sampled_from(["format", "version", "name", "scenario", "robot", "source", "rate_hz", "joints", "t",
                            "q", "dq", "tau_ff", "kp", "frames", "extra"])
    values = st.recursive(st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats() | st.text(max_size=5),
                          lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=3),
                                                                                            children, max_size=3),
                          max_leaves=12)
    return st.lists(st.tuples(keys, values | st.just("__delete__")), max_size=4)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutations())
def test_fuzzed_documents_either_load_or_raise_skill_error(mutations):
    doc = arm_doc()
    for key, value in mutations:
        if value == "__delete__":
            doc.pop(key, None)
        else:
            doc[key] = value
    try:
        skill = parse_skill(doc)
    except SkillError as error:
        assert error.errors and all(":" in str(e) for e in error.errors)
    else:
        assert np.all(np.isfinite(skill.q)) and np.all(np.diff(skill.t) > 0)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_fuzzed_bytes_raise_skill_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "x.skill.json"
    path.write_bytes(data)
    with pytest.raises(SkillError):
        load_skill(path)


# ------------------------------------------------------------- transitions
@pytest.mark.parametrize("method", ["quintic"] + (["ruckig"] if ruckig_available() else []))
def test_transitions_respect_velocity_acceleration_and_jerk_limits(method):
    rng = np.random.default_rng(3)
    for _ in range(20):
        q0, q1 = rng.uniform(-1, 1, 4), rng.uniform(-1, 1, 4)
        dq0 = rng.uniform(-0.5, 0.5, 4)
        v, a, j = 2.0, 4.0, 40.0
        tr = plan_transition(q0, dq0, q1, np.zeros(4), v, a, j, method=method)
        ts = np.linspace(0, tr.duration, 2001)
        samples = [tr.sample(t) for t in ts]
        q, dq, ddq = (np.array([s[k] for s in samples]) for k in range(3))
        np.testing.assert_allclose(q[0], q0, atol=1e-9)
        np.testing.assert_allclose(q[-1], q1, atol=1e-6)
        np.testing.assert_allclose(dq[0], dq0, atol=1e-6)
        assert np.max(np.abs(dq)) <= v * (1 + 1e-6)
        assert np.max(np.abs(ddq)) <= a * (1 + 1e-6)
        jerk = np.diff(ddq, axis=0) / np.diff(ts)[:, None]
        assert np.max(np.abs(jerk)) <= j * (1 + 1e-3)


# ---------------------------------------------------------------- playback
def test_playback_tracks_the_skill_on_the_mock_bus(small_robot):
    robot = small_robot
    enable_active(robot)
    skill = arm_skill()
    player = SkillPlayer(robot)
    player.play(skill)
    tm = telemetry_during(robot, player, 5.0)
    assert player.state == DONE and robot.state().supervisor_state == "ACTIVE"
    np.testing.assert_allclose(robot.state().q, skill.q[-1], atol=0.01)
    # While the skill plays, the reference follows it (the skill samples are reached at their times).
    assert np.max(np.abs(tm["q"] - tm["q_ref"])) < 0.05
    reached = [np.min(np.linalg.norm(tm["q_ref"] - q, axis=1)) for q in skill.q[::20]]
    assert max(reached) < 0.01


def test_approach_never_exceeds_the_velocity_and_acceleration_limits(small_robot):
    robot = small_robot
    enable_active(robot)
    skill = arm_skill(offset=0.7, amplitude=0.1)  # starts 0.7 rad away from the rest pose
    player = SkillPlayer(robot, velocity_fraction=0.4, max_acceleration=3.0, max_jerk=30.0)
    player.play(skill)
    robot.drain_telemetry()
    approach = []
    while player.state != PLAYING:
        player.update()
        robot.step(10)
        approach.append(robot.drain_telemetry())
    dq_ref = np.concatenate([a["dq_ref"] for a in approach])
    v_limit = 0.4 * 5.0
    assert np.max(np.abs(dq_ref)) <= v_limit * 1.05
    acceleration = np.diff(dq_ref, axis=0) * robot.rate_hz
    # The interpolator's cubic segments join the 100 Hz samples; they add a little on top of the plan.
    assert np.max(np.abs(acceleration)) <= 3.0 * 1.5
    assert np.max(np.abs(dq_ref)) > 0.5 * v_limit  # it did move briskly, not creep


def test_pause_and_resume_keep_the_reference_continuous(small_robot):
    robot = small_robot
    enable_active(robot)
    skill = arm_skill(duration=3.0)
    player = SkillPlayer(robot, pause_ramp_s=0.3)
    player.play(skill)
    robot.drain_telemetry()
    run_stepped(robot, player, 1.5)
    player.pause()
    assert player.state == PAUSED
    run_stepped(robot, player, 1.0)
    paused_at = player.status()["skill_time"]
    run_stepped(robot, player, 0.5)
    assert player.status()["skill_time"] == pytest.approx(paused_at)  # frozen
    assert np.max(np.abs(robot.state().dq_ref)) < 1e-6  # at rest, still streaming
    assert robot.state().supervisor_state == "ACTIVE"
    player.resume()
    run_stepped(robot, player, 4.0)
    tm = robot.drain_telemetry()
    assert player.state == DONE
    jumps = np.abs(np.diff(tm["dq_ref"], axis=0))
    assert np.max(jumps) < 0.05  # rad/s per 1 ms cycle: no velocity step at pause or resume


def test_abort_stops_streaming_and_the_watchdog_holds(small_robot):
    robot = small_robot
    enable_active(robot)
    player = SkillPlayer(robot)
    player.play(arm_skill())
    run_stepped(robot, player, 1.0)
    player.abort()
    assert player.state == ABORTED and player.update() == ABORTED
    robot.step(int((player.ttl + 0.05) * robot.rate_hz))
    state = robot.state()
    assert state.supervisor_state == "HOLD" and state.reason == "watchdog_expired"
    robot.step(100)
    assert np.max(np.abs(robot.state().dq_ref)) == 0.0  # HOLD settled the reference


def test_tracking_error_aborts_naming_the_joint(small_robot):
    robot = small_robot
    enable_active(robot)
    player = SkillPlayer(robot, tracking_limit_rad=0.05)
    player.play(arm_skill())
    run_stepped(robot, player, 0.5)
    robot.mock_bus("j1").set_external_torque(robot.joint_index("j1"), 12.0)  # someone pushes j1
    run_stepped(robot, player, 0.5)
    assert player.state == ABORTED
    assert player.abort_reason.startswith("tracking error on j1:")
    robot.mock_bus("j1").set_external_torque(robot.joint_index("j1"), 0.0)
    robot.step(int(player.ttl * robot.rate_hz) + 20)
    assert robot.state().supervisor_state in ("HOLD", "DAMPING")


def test_bad_skill_is_refused_before_anything_moves(small_robot, tmp_path):
    robot = small_robot
    enable_active(robot)
    robot.set_joint_targets([0.1, 0.1, 0.1], ttl=0, duration=0.2)
    robot.step(300)
    before = robot.state()
    player = SkillPlayer(robot)
    wrong = arm_skill()
    wrong.robot = "generic_humanoid"
    with pytest.raises(SkillError, match="another robot"):
        player.play(wrong)
    too_fast = arm_skill(duration=0.3, amplitude=0.8, offset=0.0)
    with pytest.raises(ValueError, match=r"speed: 4 makes j0 move at .* allowed: <= 5 rad/s"):
        player.play(too_fast, speed=4.0)
    path = tmp_path / "corrupt.skill.json"
    path.write_text(json.dumps(arm_doc(t=[0.0, 0.1])))
    with pytest.raises(SkillError, match=r"q: wrong shape"):
        player.play(load_skill(path, robot))
    after = robot.step(200)
    assert player.state == "IDLE" and player.sent == 0
    assert after.supervisor_state == "ACTIVE"
    np.testing.assert_allclose(after.q_ref, before.q_ref)


def test_speed_scales_time_and_loop_repeats(small_robot):
    robot = small_robot
    enable_active(robot)
    skill = arm_skill(duration=2.0)
    updates = {}
    for speed in (1.0, 2.0):
        player = SkillPlayer(robot)
        player.play(skill, speed=speed)
        run_stepped(robot, player, 0.1)
        while player.state != PLAYING:
            run_stepped(robot, player, 0.01)
        start = player.sent
        while player.active:
            run_stepped(robot, player, 0.01)
        updates[speed] = player.sent - start
    assert updates[1.0] == pytest.approx(2 * updates[2.0], abs=2)
    player = SkillPlayer(robot)
    player.play(skill, loop=True)
    run_stepped(robot, player, 7.0)
    assert player.active and player.status()["skills_started"] >= 3
    assert robot.state().supervisor_state == "ACTIVE"


def test_queued_skill_blends_in_without_stopping(small_robot):
    robot = small_robot
    enable_active(robot)
    first = arm_skill(duration=1.0, name="first")
    # The second starts where the first ends, but moving: no rest in between.
    t = np.arange(0.0, 1.0 + 1e-9, 0.01)
    q = np.column_stack([0.2 + 0.3 * np.sin(np.pi * t), np.zeros_like(t), np.zeros_like(t)])
    second = Skill(name="second", scenario="gesture", robot="test_arm", source="synthetic", rate_hz=RATE,
                   joints=("j0", "j1", "j2"), t=t, q=q)
    player = SkillPlayer(robot)
    player.play(first)
    run_stepped(robot, player, 0.5)
    player.queue(second)
    robot.drain_telemetry()
    run_stepped(robot, player, 5.0)  # rest of first, transition, second, and the stop (it ends moving)
    tm = robot.drain_telemetry()
    assert player.state == DONE and player.status()["skill"] == "second"
    assert player.status()["skills_started"] == 2
    assert np.max(np.abs(np.diff(tm["dq_ref"], axis=0))) < 0.05


# --------------------------------------------------------------- recording
def test_record_from_telemetry_and_replay(small_robot, tmp_path):
    robot = small_robot
    enable_active(robot)
    recorder = SkillRecorder(robot)
    t0 = robot.now()
    # A "teleop" stream at 50 Hz, stamped 1.5 intervals ahead.
    for k in range(100):
        t = robot.now()
        target = 0.3 * np.sin(2 * np.pi * (t - t0 + 0.03) / 2.0) * np.array([1.0, -0.5, 0.2])
        robot.set_joint_targets(target, t=t + 0.03)
        robot.step(20)
        recorder.poll()
    recorder.stop()
    skill = recorder.to_skill(name="recorded", scenario="gesture", t_start=t0 + 0.1, t_end=t0 + 1.9)
    assert skill.source == "teleop" and skill.robot == "test_arm"
    assert skill.duration == pytest.approx(1.8, abs=0.011)
    skill = load_skill(skill.save(tmp_path / "rec.skill.json"), robot)
    telemetry = recorder.telemetry()
    at = np.searchsorted(telemetry["t"], t0 + 0.1)
    np.testing.assert_allclose(skill.q[0], telemetry["q_ref"][at], atol=1e-6)
    player = SkillPlayer(robot)
    player.play(skill)
    run_stepped(robot, player, 3.0)
    assert player.state == DONE
    np.testing.assert_allclose(robot.state().q, skill.q[-1], atol=0.01)


def test_recording_refuses_a_cut_across_a_hold(small_robot):
    robot = small_robot
    enable_active(robot)
    robot.drain_telemetry()
    robot.set_joint_targets([0.1, 0, 0], t=robot.now() + 0.05, ttl=0.05)
    robot.step(300)  # the stream lapses: HOLD
    robot.set_joint_targets([0.1, 0, 0], ttl=0)
    robot.step(300)
    telemetry = robot.drain_telemetry()
    with pytest.raises(ValueError, match=r"left ACTIVE at t="):
        skill_from_telemetry(telemetry, robot.joint_names, name="x", robot="test_arm")
    with pytest.raises(ValueError, match=r"scenario: allowed"):
        skill_from_telemetry(telemetry, robot.joint_names, name="x", robot="test_arm", scenario="dance")


def test_frame_targets_in_a_skill_drive_the_cartesian_task():
    from humanoid_rt import Robot

    with Robot("generic_humanoid") as robot:
        robot.enable()
        robot.step(int(robot.config.safety.enable_ramp_s * robot.rate_hz) + 1)
        start = robot.frame_pose("left_hand")
        t = np.arange(0.0, 1.0 + 1e-9, 0.01)
        position = start[:3, 3] + np.outer(0.5 - 0.5 * np.cos(np.pi * t), [0.0, 0.0, 0.03])
        from humanoid_rt.poses import quaternion_wxyz
        quaternion = np.tile(quaternion_wxyz(start[:3, :3]), (t.size, 1))
        skill = Skill(name="lift_hand", scenario="manipulation", robot="generic_humanoid", source="synthetic",
                      rate_hz=RATE, joints=("waist_yaw",), t=t, q=np.zeros((t.size, 1)),
                      frames={"left_hand": {"position": position, "quaternion": quaternion,
                                            "stiffness": np.array([800.0, 40.0])}})
        skill = parse_skill(skill.to_dict())  # through the file format
        player = SkillPlayer(robot)
        player.play(skill)
        run_stepped(robot, player, 2.0)
        assert player.state == DONE
        errors = robot.task_errors()
        assert "left_hand" in errors
        np.testing.assert_allclose(errors["left_hand"]["reference_position"], position[-1], atol=1e-6)


def test_record_a_real_teleop_session_and_replay_it(small_robot):
    from humanoid_rt.teleop.testing import LoopbackSender

    robot = small_robot
    enable_active(robot)
    key = bytes(range(32))
    robot.attach_teleop(key=key)
    sender = LoopbackSender(robot, key)
    recorder = SkillRecorder(robot)
    try:
        for _ in range(150):  # 1.5 s of 100 Hz teleop packets, due two intervals ahead
            t = robot.now()
            sender.joints({0: 0.3 * np.sin(np.pi * t), 1: 0.1, 2: -0.1}, due_in_s=0.02)
            robot.step(10)
            recorder.poll()
    finally:
        sender.close()
    assert robot.teleop_statistics()["accepted"] == 150
    robot.detach_teleop()
    recorder.stop()
    t_end = recorder.telemetry()["t"][-1]
    skill = recorder.to_skill(name="teleop_cut", t_start=t_end - 1.0, t_end=t_end)
    assert skill.source == "teleop" and skill.n_samples == 101
    player = SkillPlayer(robot)
    player.play(skill)
    robot.drain_telemetry()
    run_stepped(robot, player, 2.5)
    tm = robot.drain_telemetry()
    assert player.state == DONE and robot.state().supervisor_state == "ACTIVE"
    # The replay passes through every recorded pose (what the loop applied during the session).
    reached = [np.min(np.linalg.norm(tm["q_ref"] - q, axis=1)) for q in skill.q[::10]]
    assert max(reached) < 0.01


def test_skill_gains_apply_while_it_plays_and_are_restored(small_robot):
    robot = small_robot
    enable_active(robot)
    default_kp = robot.gains[0].copy()
    skill = arm_skill(kp=np.array([150.0, 150.0, 150.0]), kd=np.array([5.0, 5.0, 5.0]))
    player = SkillPlayer(robot)
    player.play(skill)
    run_stepped(robot, player, 1.0)
    assert player.state == PLAYING
    np.testing.assert_allclose(robot.gains[0], 150.0)
    run_stepped(robot, player, 3.0)
    assert player.state == DONE
    np.testing.assert_allclose(robot.gains[0], default_kp)
