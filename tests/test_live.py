"""Live view for Foxglove: a real WebSocket client (foxglove.sdk.v1) subscribes to a LiveView and decodes
what arrives. Counts are exact because the robot is stepped and decimation is in loop cycles; nothing here
asserts a wall-clock rate (timing lives in bench/run_live.py)."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import time
from types import SimpleNamespace

import numpy as np
import pytest
from mcap_ros2.decoder import DecoderFactory

from humanoid_rt import Robot
from humanoid_rt.live import LiveView
from humanoid_rt.live.assets import UrdfAssets
from humanoid_rt.live.client import LiveClient
from humanoid_rt.live.kinematics import UrdfKinematics, quaternions_xyzw
from humanoid_rt.live.nodelay import server_sockets
from humanoid_rt.recording import schemas

WAIT_S = 10.0  # generous: the machine is shared; never a speed assertion


def wait_until(condition, what: str, timeout: float = WAIT_S):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.005)


def collect(client: LiveClient, counts_wanted: dict[str, int], timeout: float = WAIT_S) -> dict[str, list]:
    """Messages by topic until each topic in counts_wanted has at least that many (or the timeout)."""
    got: dict[str, list] = {}
    deadline = time.monotonic() + timeout
    while any(len(got.get(t, [])) < n for t, n in counts_wanted.items()) and time.monotonic() < deadline:
        for topic, received_ns, log_time, payload in client.messages(timeout=0.05):
            got.setdefault(topic, []).append((received_ns, log_time, payload))
            if all(len(got.get(t, [])) >= n for t, n in counts_wanted.items()):
                break
    return got


def subscribed(live: LiveView, topic: str) -> bool:
    channel = live._tf if topic == "/tf" else live._channels[topic][0]
    return channel.has_sinks()


def cdr_decoder(channel: dict):
    schema = SimpleNamespace(id=channel["id"], name=channel["schemaName"], encoding=channel["schemaEncoding"],
                             data=channel["schema"].encode())
    return DecoderFactory().decoder_for(channel["encoding"], schema)


def protobuf_fields(data: bytes) -> list[tuple[int, object]]:
    """(field number, value) of one protobuf message: varints as int, 64-bit as float, length-delimited as bytes."""
    out, i = [], 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(data, i)
        elif wire == 1:
            value, i = struct.unpack_from("<d", data, i)[0], i + 8
        elif wire == 2:
            length, i = _varint(data, i)
            value, i = data[i:i + length], i + length
        else:
            raise AssertionError(f"unexpected wire type {wire}")
        out.append((number, value))
    return out


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i


def decode_frame_transforms(payload: bytes) -> dict[str, tuple[str, np.ndarray, np.ndarray]]:
    """foxglove.FrameTransforms (protobuf) -> child -> (parent, translation, quaternion x y z w)."""
    transforms = {}
    for number, transform in protobuf_fields(payload):
        assert number == 1
        fields = dict(protobuf_fields(transform))
        translation = dict(protobuf_fields(fields[4]))
        rotation = dict(protobuf_fields(fields[5]))
        transforms[fields[3].decode()] = (fields[2].decode(),
                                          np.array([translation.get(k, 0.0) for k in (1, 2, 3)]),
                                          np.array([rotation.get(k, 0.0) for k in (1, 2, 3, 4)]))
    return transforms


@pytest.fixture
def robot():
    with Robot("generic_humanoid", robot_id="live-test") as robot:
        yield robot


def test_joint_states_arrive_decode_and_respect_the_rate_in_loop_cycles(robot):
    live = robot.attach_live(port=0, joint_rate_hz=200, transform_rate_hz=50)
    reference = robot.telemetry_tap()  # every sample, to compare against
    with LiveClient(live.url) as client:
        client.subscribe("/joints", "/tf")
        metadata = client.channels["/joints"]["metadata"]
        assert (metadata["rate_hz"], metadata["every_n_cycles"]) == ("200", "5")  # what the viewer is told
        assert client.channels["/tf"]["metadata"]["every_n_cycles"] == "20"
        wait_until(lambda: subscribed(live, "/joints") and subscribed(live, "/tf"), "subscriptions reach the server")
        robot.enable()
        for _ in range(10):  # 1.5 s of loop time in chunks, the pump running meanwhile
            robot.step(150)
        samples = reference.drain()
        cycles = samples["cycle"].astype(np.int64)
        expected_joints = len(np.unique(cycles // 5))
        expected_tf = len(np.unique(cycles // 20))
        got = collect(client, {"/joints": expected_joints, "/tf": expected_tf})
        time.sleep(0.3)  # anything beyond the expected count would have arrived by now
        for topic, received_ns, log_time, payload in client.messages(timeout=0.05):
            got.setdefault(topic, []).append((received_ns, log_time, payload))
    assert len(cycles) == 1500
    assert len(got["/joints"]) == expected_joints == 300  # 200 Hz over 1.5 s of loop time
    assert len(got["/tf"]) == expected_tf == 75  # 50 Hz
    layout = schemas.joint_telemetry(robot.n_joints)
    by_cycle = {int(c): i for i, c in enumerate(cycles)}
    decoded = [layout.unpack(payload) for _, _, payload in got["/joints"]]
    assert [int(m["cycle"]) % 5 for m in decoded] == [0] * expected_joints  # the first cycle of each window
    for message in decoded[::37]:
        row = by_cycle[int(message["cycle"])]
        np.testing.assert_array_equal(message["q"], samples["q"][row])
        np.testing.assert_array_equal(message["tau_command"], samples["tau_command"][row])
        assert message["loop_time"] == samples["t"][row]
    # The standard ros2msg decoder reads it too (as Foxglove does, from the advertised schema).
    standard = cdr_decoder(client.channels["/joints"])(got["/joints"][-1][2])
    assert list(standard.q) == list(decoded[-1]["q"])
    assert live.statistics()["telemetry_dropped"] == 0


def test_every_sample_at_the_loop_rate_and_nothing_unsubscribed(robot):
    live = robot.attach_live(port=0, joint_rate_hz=1000, transform_rate_hz=10)
    robot.enable()
    robot.step(200)  # nobody subscribed: drained, not published
    wait_until(lambda: live._tap._rows == 0, "the pump drains")
    assert live.statistics()["published"]["/joints"] == 0
    with LiveClient(live.url) as client:
        client.subscribe("/joints")
        wait_until(lambda: subscribed(live, "/joints"), "subscription")
        robot.step(400)
        got = collect(client, {"/joints": 400})
    cycles = [int(schemas.joint_telemetry(robot.n_joints).unpack(p)["cycle"]) for _, _, p in got["/joints"]]
    assert cycles == list(range(cycles[0], cycles[0] + 400))


def chain_pose(transforms: dict, frame: str) -> tuple[np.ndarray, str]:
    """Compose parent -> child transforms from the root to `frame`: (4x4 pose in the root link, root link)."""
    chain, link = [], frame
    while link in transforms:
        chain.append(transforms[link])
        link = transforms[link][0]
    pose = np.eye(4)
    for _, translation, (x, y, z, w) in reversed(chain):
        step = np.eye(4)
        step[:3, :3] = [[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]]
        step[:3, 3] = translation
        pose = pose @ step
    return pose, link


def test_urdf_parameter_topic_and_transforms_place_the_links_where_the_model_does(robot):
    live = robot.attach_live(port=0, transform_rate_hz=50)
    urdf = robot.config.urdf_path.read_text()
    reference = robot.telemetry_tap()
    with LiveClient(live.url) as client:
        assert "parameters" in client.server_info["capabilities"]
        assert "assets" in client.server_info["capabilities"]
        assert client.get_parameters("/robot_description") == {"/robot_description": urdf}
        client.subscribe("/robot_description", "/tf")
        description = client.channels["/robot_description"]
        assert (description["schemaName"], description["encoding"]) == ("std_msgs/msg/String", "cdr")
        assert client.channels["/tf"]["schemaName"] == "foxglove.FrameTransforms"
        assert cdr_decoder(description)(client.next_message("/robot_description")[3]).data == urdf
        wait_until(lambda: subscribed(live, "/tf"), "subscription")
        robot.enable()
        robot.step(600)
        q = np.zeros(robot.n_joints)
        q[robot.joint_index("left_shoulder_pitch")] = -0.6
        q[robot.joint_index("left_elbow")] = -1.1
        q[robot.joint_index("waist_yaw")] = 0.4
        robot.set_joint_targets(q, duration=0.3, ttl=0)
        robot.step(790)
        samples = reference.drain()
        expected_count = len(np.unique(samples["cycle"].astype(np.int64) // 20))
        got = collect(client, {"/tf": expected_count})
    assert len(got["/tf"]) == expected_count
    # The last message is the first sample of the last 20-cycle window: its q is the reference.
    last_window_start = (int(samples["cycle"][-1]) // 20) * 20
    q_sent = samples["q"][np.flatnonzero(samples["cycle"] == last_window_start)[0]]
    transforms = decode_frame_transforms(got["/tf"][-1][2])
    links = set(transforms) | {parent for parent, _, _ in transforms.values()}
    assert links == set(live.kinematics.links) and len(transforms) == len(live.kinematics.edges)
    for frame in ("left_hand", "right_foot"):
        pose, root = chain_pose(transforms, frame)
        assert root == live.kinematics.root_link == "pelvis"
        np.testing.assert_allclose(pose, robot.frame_pose(frame, q_sent), atol=1e-9)
    assert abs(q_sent[robot.joint_index("left_elbow")] + 1.1) < 0.2  # the arm really moved


def test_kinematics_match_the_loop_model_exactly():
    with Robot("generic_humanoid") as robot:
        kinematics = UrdfKinematics(robot.config.urdf_path, robot.joint_names)
        rng = np.random.default_rng(3)
        for _ in range(3):
            q = rng.uniform(-0.8, 0.8, robot.n_joints)
            transforms = {t.child: (t.parent, t.translation, t.rotation) for t in kinematics.transforms(q)}
            for frame in ("left_hand", "right_foot", "head_camera"):
                pose, root = chain_pose(transforms, frame)
                assert root == "pelvis"
                np.testing.assert_allclose(pose, robot.frame_pose(frame, q), atol=1e-9)


def test_quaternions_of_rotation_matrices_including_half_turns():
    import pinocchio as pin

    rng = np.random.default_rng(7)
    rotations = [pin.rpy.rpyToMatrix(*rng.uniform(-np.pi, np.pi, 3)) for _ in range(200)]
    rotations += [np.eye(3), np.diag([1.0, -1.0, -1.0]), np.diag([-1.0, 1.0, -1.0]), np.diag([-1.0, -1.0, 1.0])]
    quaternions = quaternions_xyzw(np.stack(rotations))
    for rotation, quaternion in zip(rotations, quaternions):
        np.testing.assert_allclose(pin.Quaternion(quaternion[3], *quaternion[:3]).toRotationMatrix(), rotation,
                                   atol=1e-12)
    assert np.all(quaternions[:, 3] >= 0)


def test_supervisor_events_and_task_errors_reach_the_viewer(robot):
    live = robot.attach_live(port=0)
    with LiveClient(live.url) as client:
        client.subscribe("/supervisor/events", "/tasks/left_hand")
        wait_until(lambda: subscribed(live, "/supervisor/events") and subscribed(live, "/tasks/left_hand"),
                   "subscriptions")
        robot.enable()
        robot.step(600)
        pose = robot.frame_pose("left_hand")
        pose[:3, 3] += (0.05, 0.0, 0.05)
        robot.set_frame_target("left_hand", pose, duration=0.2)
        robot.step(100)
        task = cdr_decoder(client.channels["/tasks/left_hand"])
        final_time = robot.state().time
        message = task(client.next_message("/tasks/left_hand")[3])
        while message.loop_time != final_time:  # published while stepping; the last is of the final cycle
            message = task(client.next_message("/tasks/left_hand")[3])
        expected = robot.task_errors()["left_hand"]
        assert message.enabled
        np.testing.assert_allclose(message.position_error, expected["position_error"])
        assert message.position_error_norm == pytest.approx(np.linalg.norm(expected["position_error"]))
        robot.mock_bus("left_knee").set_drive_error(robot.joint_index("left_knee"), 0x2310)
        robot.step(2)
        decode = cdr_decoder(client.channels["/supervisor/events"])
        events = []
        deadline = time.monotonic() + WAIT_S
        while not any(e.to_state == "FAULT" for e in events) and time.monotonic() < deadline:
            for topic, _, _, payload in client.messages(timeout=0.1):
                if topic == "/supervisor/events":
                    events.append(decode(payload))
    assert [e.to_state for e in events] == ["ENABLING", "ACTIVE", "FAULT"]
    fault = events[-1]
    assert (fault.reason, fault.joint_name) == ("drive_fault", "left_knee")


def test_tcp_nodelay_is_set_on_the_servers_connections_and_only_by_the_fix(robot):
    with_fix = robot.attach_live(port=0)
    with LiveClient(with_fix.url):
        wait_until(lambda: any(s["connected"] for s in server_sockets(with_fix.port)), "connection accepted")
        sockets = server_sockets(with_fix.port)
    assert sockets and all(s["nodelay"] for s in sockets)
    robot.detach_live()
    without = robot.attach_live(port=0, tcp_nodelay=False)  # the SDK as shipped: Nagle on
    with LiveClient(without.url):
        wait_until(lambda: any(s["connected"] for s in server_sockets(without.port)), "connection accepted")
        sockets = server_sockets(without.port)
    assert [s["nodelay"] for s in sockets if s["connected"]] == [False]


def test_assets_served_only_from_the_urdfs_packages(tmp_path):
    package = tmp_path / "share" / "my_robot_description"
    (package / "urdf").mkdir(parents=True)
    (package / "meshes").mkdir()
    (package / "meshes" / "link.stl").write_bytes(b"solid mesh")
    (tmp_path / "secret.txt").write_text("not for viewers")
    urdf = package / "urdf" / "robot.urdf"
    urdf.write_text('<robot name="r"><link name="a"/></robot>')
    assets = UrdfAssets(urdf)
    assert assets("package://my_robot_description/meshes/link.stl") == b"solid mesh"
    assert assets("package://my_robot_description/../../secret.txt") is None
    assert assets("package://other_package/meshes/link.stl") is None
    assert assets(f"file://{tmp_path}/secret.txt") is None
    assert assets(f"file://{urdf}") == urdf.read_bytes()
    assert assets("https://example.invalid/x.stl") is None
    assert (assets.served, assets.refused) == (2, 4)


def test_fetch_asset_over_the_websocket(robot):
    live = robot.attach_live(port=0)
    with LiveClient(live.url) as client:
        served = client.fetch_asset(f"file://{robot.config.urdf_path}")
        refused = client.fetch_asset("file:///etc/hostname")
    assert served["status"] == 0 and served["data"] == robot.config.urdf_path.read_bytes()
    assert refused["status"] == 1 and refused["data"] == b""


def test_device_streams_are_published_from_the_newest_sample_without_draining(robot, tmp_path):
    from humanoid_rt.devices.rig import virtual_sensor_rig

    with virtual_sensor_rig(tmp_path) as hub:
        live = robot.attach_live(port=0, devices=hub)
        name = next(iter(hub)).name
        with LiveClient(live.url) as client:
            client.subscribe(f"/devices/{name}")
            topic, _, _, payload = client.next_message(f"/devices/{name}")
        assert len(payload) == live._channels[topic][1].size
        assert len(hub[name].drain()["t_ns"]) > 0  # the recorder's samples are still there


def test_bad_options_are_refused_with_the_field_named(robot):
    with pytest.raises(ValueError, match="joint_rate_hz.*allowed: 1 .. the loop rate"):
        robot.attach_live(port=0, joint_rate_hz=5000)
    with pytest.raises(ValueError, match="transform_rate_hz"):
        robot.attach_live(port=0, transform_rate_hz=0)
    with pytest.raises(ValueError, match="port"):
        robot.attach_live(port=70000)
    with pytest.raises(ValueError, match="cpus.*allowed: a non-empty subset"):
        robot.attach_live(port=0, cpus={10_000})
    cpu = min(os.sched_getaffinity(0))
    live = robot.attach_live(port=0, cpus={cpu})
    assert os.sched_getaffinity(live._thread.native_id) == {cpu}  # the pump thread stays where it was put
    with pytest.raises(RuntimeError, match="already attached"):
        robot.attach_live(port=0)
    robot.close()
    assert robot.live is None and live._server.app_url() is None  # closed with the robot


def test_real_time_run_streams_with_loop_timestamps(robot):
    robot.start()
    live = robot.attach_live(port=0)
    with LiveClient(live.url) as client:
        client.subscribe("/joints")
        robot.enable()
        _, received_ns, _, payload = client.next_message("/joints")
    message = schemas.joint_telemetry(robot.n_joints).unpack(payload)
    # The payload's time is the loop's CLOCK_MONOTONIC time of that cycle: before its reception.
    assert robot.monotonic_epoch_ns < message["monotonic_ns"] <= received_ns


def test_cli_run_live_serves_a_viewer():
    run = subprocess.Popen([sys.executable, "-m", "humanoid_rt.cli", "run", "--seconds", "30", "--live", "0",
                            "--live-rate", "100", "--interval", "5"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = run.stdout.readline()
            assert line, run.stderr.read()
            if line.startswith("run: live: "):
                url = line.split()[2]
        with LiveClient(url) as client:
            client.wait_for_topics("/joints")
            assert client.channels["/joints"]["metadata"]["rate_hz"] == "100"
            client.subscribe("/joints")
            payload = client.next_message("/joints", timeout=30)[3]
        assert len(payload) == schemas.joint_telemetry(31).size
    finally:
        run.terminate()  # SIGTERM: the robot stops safely (and the live server with it)
        out, err = run.communicate(timeout=60)
    assert run.returncode == 130 and "humanoid-rt run: interrupted" in err, (out, err)
