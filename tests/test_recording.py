"""Recording: episodes in MCAP read back identical, decodable by the standard decoders; episode
calls; devices, events, setpoints and cameras in the file; telemetry taps. Stepped robots."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mcap.reader import make_reader
from mcap_ros2._dynamic import serialize_dynamic
from mcap_ros2.decoder import DecoderFactory

from humanoid_rt.recording import CameraClient, Recorder, Session, SessionError
from humanoid_rt.recording.camera import parse_frame
from humanoid_rt.recording.reader import packed_layout, read_episode
from humanoid_rt.recording.schemas import Field, PackedMessage, device_sample, joint_telemetry

from conftest import FakeHub, enable_active


def _decoded(path, topic):
    with open(path, "rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        return [decoded for _, _, _, decoded in reader.iter_decoded_messages(topics=[topic])]


@pytest.fixture
def recorder_factory(tmp_path):
    made = []

    def make(robot, **kwargs):
        recorder = Recorder(robot, tmp_path / "session", **kwargs)
        made.append(recorder)
        return recorder

    yield make
    for recorder in made:
        recorder.close()


# ---------------------------------------------------------------------------- CDR layouts
@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["uint8", "int16", "uint32", "int64", "float32", "float64", "bool"]),
                min_size=1, max_size=8),
       st.lists(st.integers(0, 5), min_size=8, max_size=8), st.integers(0, 2**31))
def test_packed_layout_is_what_the_ros2_cdr_encoder_writes(types, lengths, seed):
    """Our numpy layout (alignment, arrays, header) against mcap-ros2-support's encoder, byte for byte."""
    rng = np.random.default_rng(seed)
    fields = [Field(f"f{i}", t, lengths[i]) for i, t in enumerate(types)]
    message = PackedMessage("test/msg/Mixed", fields)
    values = {}
    for f in fields:
        dtype = np.dtype("u1" if f.ros_type == "bool" else message.dtype[f.name].base)
        shape = (f.length,) if f.length else ()
        if f.ros_type == "bool":
            v = rng.integers(0, 2, size=shape).astype(bool)
        elif dtype.kind == "f":
            v = rng.standard_normal(shape).astype(dtype)
        else:
            info = np.iinfo(dtype)
            v = rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
        values[f.name] = v
    ours = message.pack({k: v[None] if np.ndim(v) else np.array([v]) for k, v in values.items()}, 1)[0].tobytes()
    encode = serialize_dynamic(message.name, message.definition)[message.name]
    theirs = encode({k: (v.tolist() if np.ndim(v) else v.item()) for k, v in values.items()})
    assert ours == theirs


def test_packed_layout_parses_back_from_its_definition():
    message = joint_telemetry(7)
    parsed = packed_layout(message.name, message.definition)
    assert parsed.dtype == message.dtype and parsed.size == message.size


def test_a_column_without_a_ros_type_is_refused_naming_the_allowed():
    with pytest.raises(ValueError, match="complex128.*allowed.*float64"):
        device_sample("Odd", {"t_ns": np.zeros(1, np.int64), "z": np.zeros(1, np.complex128)})


# ---------------------------------------------------------------------------- round trip
def test_episode_round_trip_identical_values_and_standard_decoders(small_robot, recorder_factory):
    robot = small_robot
    enable_active(robot)
    recorder = recorder_factory(robot)
    with robot.telemetry_tap() as witness:  # an independent reader of the same telemetry
        recorder.start("reach", skill="reach_left", scenario="bench", operator="test")
        for k in range(30):
            robot.set_joint_targets(np.full(3, 0.01 * k), duration=0.02)
            robot.step(10)
        summary = recorder.end("success")
        expected = witness.drain()
    path = recorder.session.directory / summary["file"]
    episode = read_episode(path)
    joints = episode.streams["/joints"]
    # The episode holds exactly the cycles between start() and end(), all of them, in order.
    np.testing.assert_array_equal(joints["cycle"], expected["cycle"])
    assert np.all(np.diff(joints["cycle"]) == 1) and len(joints["cycle"]) == 300
    for key in ("q", "dq", "tau_measured", "q_ref", "dq_ref", "tau_command"):
        np.testing.assert_array_equal(joints[key], expected[key])
    np.testing.assert_array_equal(joints["loop_time"], expected["t"])
    np.testing.assert_array_equal(joints["supervisor_state"], expected["state"])
    # Every message decodes with mcap-ros2-support, to the same numbers.
    decoded = _decoded(path, "/joints")
    assert len(decoded) == 300
    np.testing.assert_array_equal(np.array([m.q for m in decoded]), expected["q"])
    np.testing.assert_array_equal(np.array([m.cycle for m in decoded]), expected["cycle"])
    # Log time is wall clock, the payload's monotonic_ns CLOCK_MONOTONIC; both follow the loop's 1 ms cycle.
    with open(path, "rb") as f:
        messages = [m for _, _, m in make_reader(f).iter_messages(topics=["/joints"])]
    offset = int(episode.info["wall_minus_monotonic_ns"])
    np.testing.assert_array_equal([m.log_time for m in messages], joints["monotonic_ns"] + offset)
    assert np.all(np.diff(joints["monotonic_ns"]) == 1_000_000)
    assert abs(messages[0].log_time / 1e9 - time.time()) < 600
    # Metadata and attachments.
    assert episode.info["task"] == "reach" and episode.info["skill"] == "reach_left"
    assert episode.joint_names == ["j0", "j1", "j2"]
    assert episode.outcome == "success"
    assert set(episode.attachments) >= {"robot.urdf", "robot_config.json"}
    assert episode.attachments["robot.urdf"] == robot.config.urdf_path.read_bytes()
    assert json.loads(episode.attachments["robot_config.json"])["name"] == "test_arm"
    # Setpoints: one record per new setpoint, with source and latency in loop time.
    setpoints = episode.messages["/setpoints"]
    assert len(setpoints) == 30
    assert all(s.source == "api" for s in setpoints)
    assert [s.sequence for s in setpoints] == sorted(s.sequence for s in setpoints)
    assert all(abs(s.latency_s - (s.t_applied - s.t_written)) < 1e-12 and 0 <= s.latency_s <= 0.0011
               for s in setpoints)


def test_setpoint_sources_are_recorded(small_robot, recorder_factory):
    robot = small_robot
    enable_active(robot)
    recorder = recorder_factory(robot)
    recorder.start("sources")
    for source in ("api", "skill", "policy"):
        robot.set_joint_targets(np.zeros(3), duration=0.01, source=source)
        robot.step(5)
    summary = recorder.end("success")
    recorder.close()
    assert recorder.statistics()["thread_cpu_s"] > 0  # the recorder's own CPU time is measurable
    setpoints = read_episode(recorder.session.directory / summary["file"]).messages["/setpoints"]
    assert [s.source for s in setpoints] == ["api", "skill", "policy"]
    with pytest.raises(ValueError, match="source.*allowed: api, skill, policy"):
        robot.set_joint_targets(np.zeros(3), source="vr")


def test_supervisor_events_are_recorded_with_the_joint(small_robot, recorder_factory):
    robot = small_robot
    enable_active(robot)
    recorder = recorder_factory(robot)
    recorder.start("fault")
    robot.mock_bus("j1").nan_position(1, True)
    robot.step(3)
    summary = recorder.end("failure")
    episode = read_episode(recorder.session.directory / summary["file"])
    faults = [e for e in episode.messages["/supervisor/events"] if e.to_state == "FAULT"]
    assert faults and faults[0].joint == 1 and faults[0].joint_name == "j1" and faults[0].accepted
    states = episode.streams["/joints"]["supervisor_state"]
    assert states[-1] == 5  # FAULT in the telemetry too
    assert episode.outcome == "failure"


def test_device_streams_keep_their_rates_shapes_and_values(small_robot, recorder_factory):
    robot = small_robot
    hub = FakeHub({"ft_left": "robotiq_ft", "skin": "tactile"})
    recorder = recorder_factory(robot, devices=hub)
    recorder.start("touch")
    rng = np.random.default_rng(1)
    t0 = time.monotonic_ns()
    wrench = rng.standard_normal((50, 6))
    pressure = rng.integers(0, 4096, size=(7, 16, 16), dtype=np.uint16)
    hub.push("ft_left", {"t_ns": t0 + np.arange(50, dtype=np.int64) * 2_000_000,
                         "seq": np.arange(50, dtype=np.uint32), "wrench": wrench})
    hub.push("skin", {"t_ns": t0 + np.arange(7, dtype=np.int64) * 10_000_000,
                      "seq": np.arange(7, dtype=np.uint32), "pressure": pressure})
    robot.step(20)
    summary = recorder.end("success")
    path = recorder.session.directory / summary["file"]
    episode = read_episode(path)
    ft = episode.streams["/devices/ft_left"]
    np.testing.assert_array_equal(ft["wrench"], wrench)
    np.testing.assert_array_equal(ft["monotonic_ns"], t0 + np.arange(50) * 2_000_000)
    np.testing.assert_array_equal(episode.streams["/devices/skin"]["pressure"], pressure)
    assert episode.channel_metadata["/devices/skin"]["kind"] == "tactile"
    decoded = _decoded(path, "/devices/skin")
    np.testing.assert_array_equal(np.array(decoded[3].pressure).reshape(16, 16), pressure[3])
    with open(path, "rb") as f:
        schema_names = {s.name for s in make_reader(f).get_summary().schemas.values()}
    assert {"humanoid_rt/msg/Wrench", "humanoid_rt/msg/TactileFrame"} <= schema_names


# ---------------------------------------------------------------------------- episodes
def test_episode_calls_out_of_order_are_refused_with_the_reason(small_robot, recorder_factory):
    recorder = recorder_factory(small_robot)
    with pytest.raises(SessionError, match="mark: no episode is open"):
        recorder.mark("grasp")
    with pytest.raises(SessionError, match="end: no episode is open"):
        recorder.end("success")
    with pytest.raises(SessionError, match="discard: no episode is open"):
        recorder.discard("bad take")
    with pytest.raises(SessionError, match="task: must be a non-empty string"):
        recorder.start("")
    with pytest.raises(SessionError, match="operator: must be a string"):
        recorder.start("x", operator=3)
    recorder.start("first")
    with pytest.raises(SessionError, match="episode 0 is still open"):
        recorder.start("second")
    with pytest.raises(SessionError, match="outcome: 'ok' is not one of success, failure, aborted"):
        recorder.end("ok")
    with pytest.raises(SessionError, match="reason: say why"):
        recorder.discard(" ")
    with pytest.raises(SessionError, match="event: must be a non-empty string"):
        recorder.mark("")
    assert recorder.recording  # none of the refused calls closed it
    recorder.end("aborted")


def test_failures_and_aborts_are_kept_discards_set_aside_and_indexed(small_robot, recorder_factory, tmp_path):
    robot = small_robot
    recorder = recorder_factory(robot)
    outcomes = ["success", "failure", "aborted"]
    for outcome in outcomes:
        recorder.start(f"task {outcome}", skill="fold_shirt")
        robot.step(10)
        recorder.mark("grasp")
        recorder.end(outcome)
    recorder.start("a bad take")
    robot.step(10)
    discarded = recorder.discard("operator dropped the shirt")
    recorder.close()
    session = Session(tmp_path / "session", create=False)
    episodes = session.episodes()
    assert [e["episode"] for e in episodes] == [0, 1, 2, 3]
    assert [e.get("outcome") for e in episodes[:3]] == outcomes
    assert all(e["status"] == "ended" for e in episodes[:3])
    assert episodes[3]["status"] == "discarded" and episodes[3]["discard_reason"] == "operator dropped the shirt"
    assert (tmp_path / "session" / discarded["file"]).is_file() and discarded["file"].startswith("discarded/")
    assert not session.episode_path(3).exists()
    for e in episodes[:3]:
        episode = read_episode(tmp_path / "session" / e["file"])
        assert episode.outcome == e["outcome"]
        assert [m.event for m in episode.messages["/episode/marks"]] == ["grasp"]
        assert len(episode.streams["/joints"]["cycle"]) == 10
    # A new recorder on the same session carries on numbering.
    again = recorder_factory(robot)
    assert again.start("later") == 4
    again.end("success")


def test_an_episode_holds_only_its_own_cycles(small_robot, recorder_factory):
    robot = small_robot
    recorder = recorder_factory(robot, telemetry_capacity=500)
    robot.step(3000)  # far more than the tap holds, with no episode open
    recorder.start("late")
    first_cycle = robot.state().cycle
    robot.step(10)
    summary = recorder.end("success")
    joints = read_episode(recorder.session.directory / summary["file"]).streams["/joints"]
    assert joints["cycle"][0] >= first_cycle - 1 and len(joints["cycle"]) <= 11
    assert summary["telemetry_dropped"] == 0


def test_drained_telemetry_is_shared_read_only(small_robot):
    robot = small_robot
    with robot.telemetry_tap() as other:
        robot.step(5)
        mine = robot.drain_telemetry()
        with pytest.raises(ValueError, match="read-only"):
            mine["q"][:] = 0
        theirs = other.drain()
        np.testing.assert_array_equal(theirs["cycle"], mine["cycle"])
        changed = mine["q"].copy()
        changed[:] = 0  # a copy is the reader's own


@pytest.mark.realtime
def test_samples_drained_after_the_loop_stopped_keep_the_loop_clock(make_robot, tmp_path):
    robot = make_robot()
    recorder = Recorder(robot, tmp_path / "s", period_s=0.2)  # drains late on purpose
    recorder.start("real time, then stop")
    robot.start()
    time.sleep(0.3)
    robot.stop()
    summary = recorder.end("success")
    recorder.close()
    joints = read_episode(tmp_path / "s" / summary["file"]).streams["/joints"]
    expected = robot.monotonic_epoch_ns + np.round(joints["loop_time"] * 1e9).astype(np.int64)
    # The last cycles (the stop's) were drained after the loop stopped, and kept: the episode ends with
    # the loop's last cycle.
    assert joints["cycle"][-1] == robot.state().cycle
    np.testing.assert_array_equal(joints["monotonic_ns"], expected)


def test_close_ends_an_open_episode_as_aborted(small_robot, tmp_path):
    recorder = Recorder(small_robot, tmp_path / "s")
    recorder.start("interrupted")
    small_robot.step(5)
    recorder.close()
    [episode] = Session(tmp_path / "s", create=False).episodes()
    assert episode["status"] == "ended" and episode["outcome"] == "aborted"


def test_bad_recorder_options_name_the_field_and_the_allowed(small_robot, tmp_path):
    import os

    with pytest.raises(ValueError, match="flush_interval_s: must be in 0.05..1.0"):
        Recorder(small_robot, tmp_path / "s", flush_interval_s=5)
    with pytest.raises(ValueError, match="period_s: must be in"):
        Recorder(small_robot, tmp_path / "s", period_s=0)
    with pytest.raises(ValueError, match=r"cpus: \[99\]; allowed: a non-empty subset of"):
        Recorder(small_robot, tmp_path / "s", cpus={99})
    with pytest.raises(ValueError, match="compression: 'gzip'; allowed: lz4, zstd, none"):
        Recorder(small_robot, tmp_path / "s", compression="gzip")
    with pytest.raises(ValueError, match="telemetry_capacity: must be an integer >= 1"):
        Recorder(small_robot, tmp_path / "s", telemetry_capacity=0)
    with pytest.raises(ValueError, match="fsync_interval_s: must be >= flush_interval_s"):
        Recorder(small_robot, tmp_path / "s", fsync_interval_s=-1)
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        with pytest.raises(OSError):  # the camera port is in use
            Recorder(small_robot, tmp_path / "s", camera_port=taken.getsockname()[1])
    # The good case works, so no failed set-up above left the session locked.
    recorder = Recorder(small_robot, tmp_path / "s", cpus=os.sched_getaffinity(0))
    recorder.close()


# ---------------------------------------------------------------------------- telemetry taps
def test_taps_each_see_every_sample_and_a_slow_one_counts_its_drops(small_robot):
    robot = small_robot
    fast, slow = robot.telemetry_tap(), robot.telemetry_tap(capacity=100)
    seen = []
    for _ in range(10):
        robot.step(50)
        seen.append(fast.drain()["cycle"])
    fast_cycles = np.concatenate(seen)
    assert len(fast_cycles) == 500 and np.all(np.diff(fast_cycles) == 1)
    slow_cycles = slow.drain()["cycle"]
    # Whole batches are dropped oldest first; what is kept is the newest, contiguous.
    assert slow.dropped + len(slow_cycles) == 500 and slow.dropped >= 400
    np.testing.assert_array_equal(slow_cycles, fast_cycles[-len(slow_cycles):])
    # robot.drain_telemetry() is a reader of its own: it still gets what the ring held for it.
    robot.step(7)
    assert len(robot.drain_telemetry()["cycle"]) == 7
    part = fast.drain(max_samples=3)
    rest = fast.drain()
    np.testing.assert_array_equal(np.concatenate([part["cycle"], rest["cycle"]]), np.arange(500, 507))
    fast.close()
    slow.close()


# ---------------------------------------------------------------------------- cameras
def test_camera_process_frames_align_with_the_log(small_robot, recorder_factory):
    robot = small_robot
    recorder = recorder_factory(robot, camera_port=0)
    client = CameraClient(recorder.cameras.port)
    recorder.start("look")
    stamps = [time.monotonic_ns() + k * 33_333_333 for k in range(5)]
    for k, t_ns in enumerate(stamps):
        client.frame("head", k, f"videos/head.mp4#frame={k}", t_ns=t_ns)
    recorder.cameras._socket.sendto(b"{not json", ("127.0.0.1", recorder.cameras.port))  # a broken sender
    recorder.cameras._socket.sendto(json.dumps({"camera": "head", "frame_index": -1, "t_ns": 5}).encode(),
                                    ("127.0.0.1", recorder.cameras.port))
    deadline = time.monotonic() + 5
    while recorder.statistics()["camera_frames_rejected"] < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    summary = recorder.end("success")
    frames = read_episode(recorder.session.directory / summary["file"]).messages["/cameras"]
    assert [(f.camera, f.frame_index, f.monotonic_ns, f.uri) for f in frames] == [
        ("head", k, stamps[k], f"videos/head.mp4#frame={k}") for k in range(5)]
    assert recorder.cameras.rejected == 2 and "frame_index" in recorder.cameras.last_rejection
    with pytest.raises(ValueError, match="camera: must be a non-empty string"):
        client.frame("", 0)
    client.close()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.dictionaries(st.sampled_from(["camera", "frame_index", "t_ns", "uri", "x"]),
                                                st.none() | st.integers() | st.text(max_size=20) | st.booleans()
                                                | st.floats()).map(lambda d: json.dumps(d).encode()))
def test_camera_datagram_parser_accepts_only_valid_frames(data):
    try:
        frame = parse_frame(data)
    except ValueError:
        return
    assert isinstance(frame["camera"], str) and frame["camera"]
    assert isinstance(frame["frame_index"], int) and frame["frame_index"] >= 0
    assert isinstance(frame["t_ns"], int) and frame["t_ns"] > 0


# ---------------------------------------------------------------------------- demo --record
@pytest.mark.realtime
def test_demo_records_itself_with_the_virtual_sensor_rig(tmp_path):
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-m", "humanoid_rt.cli", "demo", "--seconds", "2", "--record", "session",
                          "--json", "report.json"], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert run.returncode == 0, run.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    recording = report["recording"]
    assert recording["outcome"] == "success" and recording["telemetry_dropped"] == 0
    [record] = Session(tmp_path / "session", create=False).episodes()
    assert record["outcome"] == "success" and record["skill"] == "demo_squat_and_wave"
    episode = read_episode(tmp_path / "session" / record["file"])
    cycles = episode.streams["/joints"]["cycle"]
    assert len(cycles) > 0 and np.all(np.diff(cycles) == 1)  # every cycle of the episode, none missing
    for name, column, shape in (("right_hand", "angle", (6,)), ("right_wrist_ft", "wrench", (6,)),
                                ("right_palm_tactile", "pressure", (16, 16)), ("pelvis_imu", "quat", (4,))):
        stream = episode.streams[f"/devices/{name}"]
        assert len(stream["monotonic_ns"]) > 0 and stream[column].shape[1:] == shape, name
        # Device samples fall inside the episode on the same clock as the loop's cycles.
        loop_ns = episode.streams["/joints"]["monotonic_ns"]
        assert loop_ns[0] - 10**8 <= stream["monotonic_ns"][0] and stream["monotonic_ns"][-1] <= loop_ns[-1] + 10**8
    transitions = [(e.from_state, e.to_state) for e in episode.messages["/supervisor/events"]]
    assert ("ACTIVE", "DAMPING") in transitions and ("DAMPING", "DISABLED") in transitions
