"""The robot's Zenoh node on loopback (peer to peer, no root needed), stepped mode.

Packets are built byte for byte and published from a second Zenoh session; each test waits until the
C++ teleop receiver has handled every packet, then steps, so the loop's behaviour is exact. The same
packets sent over UDP to an identical robot give bit-identical references: Zenoh is a transport, the
protocol's semantics (HMAC, sequence, replay, TTL, start gate, e-stop) stay in the one C++ receiver.
"""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest

zenoh = pytest.importorskip("zenoh")

from humanoid_rt import Robot
from humanoid_rt.remote import codec
from humanoid_rt.remote.fleet import FleetView
from humanoid_rt.remote.keys import RobotKeys
from humanoid_rt.remote.operator import RequestRefused, RobotHandle, ZenohTeleopClient
from humanoid_rt.remote.requests import sign_request
from humanoid_rt.remote.session import SessionOptions, open_session
from humanoid_rt.teleop import protocol
from humanoid_rt.teleop.testing import LoopbackSender
from conftest import enable_active, small_robot_config

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.002)
    raise TimeoutError(f"{what} not reached within {timeout} s")


@pytest.fixture
def zenoh_pair(urdf_path):
    """A stepped robot on Zenoh (peer, listening on loopback) and an operator session connected to it."""
    port = free_port()
    robot = Robot(small_robot_config(urdf_path), robot_id="zbot-loop")
    node = robot.attach_zenoh(SessionOptions(listen=(f"tcp/127.0.0.1:{port}",), multicast_scouting=False), key=KEY,
                              state_rate_hz=200, health_period_s=0.2)
    # Peers listen only on loopback (a peer's default is every interface); no multicast scouting.
    operator = open_session(SessionOptions(connect=(f"tcp/127.0.0.1:{port}",), listen=("tcp/127.0.0.1:0",),
                                           multicast_scouting=False))
    yield robot, node, operator
    operator.close()
    robot.close()


class ZenohSender:
    """Publishes exact packets on a robot's cmd/* keys and waits until the receiver handled each."""

    def __init__(self, robot, session):
        self.robot, self.keys = robot, RobotKeys(robot.robot_id)
        self.publishers = {s: session.declare_publisher(self.keys.command(s), express=True) for s in ("joints", "frames")}
        wait_until(lambda: self.publishers["joints"].matching_status.matching, what="the robot's subscriber")
        self.expected = self._processed()

    def _processed(self) -> int:
        s = self.robot.teleop.statistics()
        return s["accepted"] + s["rejected_total"]

    def send(self, packet: bytes, stream: str = "joints", relayed: bool = True) -> dict:
        self.publishers[stream].put(packet)
        if relayed:
            self.expected += 1
            wait_until(lambda: self._processed() >= self.expected, what="the receiver handling the packet")
        return self.robot.teleop.statistics()


def joint_packet(robot, targets: dict, sequence: int, key=KEY, session_id=7, **kwargs) -> bytes:
    return protocol.joint_packet(key, list(targets), list(targets.values()), session_id=session_id, sequence=sequence,
                                 sender_time_ns=int(round(robot.now() * 1e9)), due_in_s=0.02, **kwargs)


def test_setpoints_over_zenoh_match_udp_bit_for_bit(zenoh_pair, urdf_path):
    robot, node, operator = zenoh_pair
    twin = Robot(small_robot_config(urdf_path), robot_id="zbot-udp")
    try:
        enable_active(robot)
        enable_active(twin)
        twin.attach_teleop(key=KEY)
        udp = LoopbackSender(twin, KEY)
        over_zenoh = ZenohSender(robot, operator)
        for k in range(40):
            targets = {0: 0.3 * np.sin(0.2 * k), 2: -0.1 * k / 40}
            over_zenoh.send(joint_packet(robot, targets, k + 1))
            udp.send(joint_packet(twin, targets, k + 1))
            robot.step(10)
            twin.step(10)
        a, b = robot.drain_telemetry(), twin.drain_telemetry()
        assert robot.teleop_statistics()["accepted"] == 40 == twin.teleop_statistics()["accepted"]
        np.testing.assert_array_equal(a["q_ref"], b["q_ref"])
        np.testing.assert_array_equal(a["tau_command"], b["tau_command"])
        assert abs(robot.state().q_ref[0] - 0.3 * np.sin(0.2 * 39)) < 0.05
        assert node.statistics()["relayed"] == 40
        # Silence: the same watchdog, at the same cycle.
        robot.step(800)
        twin.step(800)
        holds = [[e["cycle"] for e in r.events() if e["to_state"] == "HOLD" and e["accepted"]] for r in (robot, twin)]
        assert holds[0] and holds[0] == holds[1]
        udp.close()
    finally:
        twin.close()


def test_replayed_forged_and_misfiled_packets_are_refused_and_counted(zenoh_pair):
    robot, node, operator = zenoh_pair
    enable_active(robot)
    sender = ZenohSender(robot, operator)
    first = joint_packet(robot, {0: 0.05}, 1)
    assert sender.send(first)["accepted"] == 1
    robot.step(5)
    stats = sender.send(first)                                           # replay of the same bytes
    assert stats["rejected"]["replayed"] == 1 and stats["accepted"] == 1
    stats = sender.send(joint_packet(robot, {0: 0.05}, 2, key=OTHER_KEY))  # forged: wrong key
    assert stats["rejected"]["bad_auth"] == 1
    tampered = bytearray(joint_packet(robot, {0: 0.05}, 3))
    tampered[60] ^= 0x01                                                 # one bit of a target
    assert sender.send(bytes(tampered))["rejected"]["bad_auth"] == 2
    far = sender.send(joint_packet(robot, {0: 0.05}, 4, session_id=99))  # another session while 7 is alive
    assert far["rejected"]["session_conflict"] == 1
    # A frame packet on cmd/joints never reaches the receiver (an ACL per key keeps its meaning).
    pose = protocol.pose_packet(KEY, [(0, (0.3, 0.0, 0.5), (1.0, 0.0, 0.0, 0.0))], session_id=7, sequence=5,
                                sender_time_ns=int(robot.now() * 1e9))
    sender.send(pose, stream="joints", relayed=False)
    wait_until(lambda: node.statistics()["wrong_kind"] == 1, what="wrong_kind counted")
    assert robot.teleop_statistics()["accepted"] == 1
    assert robot.state().supervisor_state == "ACTIVE"


def test_estop_flag_over_zenoh_stops_the_robot_at_the_next_cycle(zenoh_pair):
    robot, node, operator = zenoh_pair
    enable_active(robot)
    sender = ZenohSender(robot, operator)
    sender.send(joint_packet(robot, {0: 0.0}, 1))
    robot.step(3)
    sender.send(protocol.estop_packet(KEY, session_id=7, sequence=2, sender_time_ns=int(robot.now() * 1e9)))
    assert robot.step(1).supervisor_state == "ESTOP"


def _request_while_stepping(robot, handle, name, key=KEY, payload=None):
    """The node answers once the loop answers: step the robot while the request is in flight."""
    import threading

    result = {}

    def ask():
        try:
            result["reply"] = handle.request(name, key, timeout_s=10.0, payload=payload)
        except Exception as error:  # noqa: BLE001 (the test inspects it)
            result["error"] = error

    thread = threading.Thread(target=ask)
    thread.start()
    while thread.is_alive():
        robot.step(1)
        time.sleep(0.001)
    thread.join()
    return result


def test_requests_are_authenticated_and_refused_with_the_supervisors_reason(zenoh_pair):
    robot, node, operator = zenoh_pair
    handle = RobotHandle(operator, "zbot-loop")
    info = handle.info()
    assert info["robot_id"] == "zbot-loop" and info["limits_hash"] == robot.limits_hash
    assert info["joint_names"] == list(robot.joint_names) and info["versions"]["eclipse-zenoh"]
    result = _request_while_stepping(robot, handle, "enable")
    assert result["reply"]["accepted"] and result["reply"]["reason"] == "enable_requested"
    robot.step(600)
    assert robot.state().supervisor_state == "ACTIVE"
    refused = _request_while_stepping(robot, handle, "reset")["error"]          # nothing latched to reset
    assert isinstance(refused, RequestRefused) and refused.reason == "request_not_allowed_in_state"
    forged = _request_while_stepping(robot, handle, "disable", key=OTHER_KEY)["error"]
    assert forged.reason == "bad_auth"
    payload = sign_request(KEY, "zbot-loop", "disable")
    assert _request_while_stepping(robot, handle, "disable", payload=payload)["reply"]["accepted"]
    replay = _request_while_stepping(robot, handle, "disable", payload=payload)["error"]
    assert replay.reason == "replayed"
    # Signed for another robot: refused (the robot id is inside the tag).
    other = _request_while_stepping(robot, handle, "estop", payload=sign_request(KEY, "zbot-other", "estop"))["error"]
    assert other.reason == "bad_auth"
    stats = node.statistics()
    assert stats["requests_rejected"] == {"bad_auth": 2, "bad_field": 0, "replayed": 1, "unknown": 0}
    assert stats["requests_refused"] == 1


def test_state_events_health_and_liveliness_reach_a_fleet_view(zenoh_pair):
    robot, node, operator = zenoh_pair
    events = []
    subscriber = operator.declare_subscriber(RobotKeys("zbot-loop").events,
                                             lambda s: events.append(codec.decode_json(s.payload.to_bytes(), "event")))
    with FleetView(operator) as fleet:
        wait_until(lambda: fleet.snapshot()["robots"], what="the robot in the fleet view")
        enable_active(robot)
        row = wait_until(lambda: next((r for r in fleet.snapshot()["robots"]
                                       if r["supervisor_state"] == "ACTIVE" and r["health"]), None),
                         what="ACTIVE state and health")
        assert row["robot_id"] == "zbot-loop" and len(row["q"]) == robot.n_joints
        wait_until(lambda: any(e["to_state"] == "ACTIVE" for e in events), what="the ACTIVE event")
        assert [e["to_state"] for e in events][:2] == ["ENABLING", "ACTIVE"]
        assert fleet.snapshot()["decode_errors"] == 0
        robot.detach_zenoh()
        gone = wait_until(lambda: fleet.snapshot()["gone"], what="the robot leaving")
        assert gone[0]["robot_id"] == "zbot-loop" and not fleet.snapshot()["robots"]
    subscriber.undeclare()


def test_teleop_client_over_zenoh_finds_the_robot_by_id(zenoh_pair):
    robot, node, operator = zenoh_pair
    enable_active(robot)
    with pytest.raises(LookupError, match="no-such-robot"):
        ZenohTeleopClient(operator, "no-such-robot", KEY, find_timeout_s=0.3)
    client = ZenohTeleopClient(operator, "zbot-loop", KEY, operator="station-3")
    assert client.joint_names == robot.joint_names
    client.send_joints({robot.joint_names[0]: 0.02})
    wait_until(lambda: robot.teleop_statistics()["accepted"] == 1, what="the packet accepted")
    assert node.statistics()["sources"] == {"station-3": 1}
    client.close()


def test_state_codec_round_trip_and_bad_payloads(small_robot):
    state = small_robot.step(3)
    message = codec.decode_state(codec.encode_state(state, 5))
    assert message.cycle == state.cycle and message.sequence == 5 and message.supervisor_state == "DISABLED"
    np.testing.assert_allclose(message.q, state.q, atol=1e-6)
    payload = codec.encode_state(state, 5)
    for bad, match in ((payload[:20], "at least 48"), (b"XXXX" + payload[4:], "magic"), (payload[:-4], "exactly")):
        with pytest.raises(ValueError, match=match):
            codec.decode_state(bad)


def test_bad_session_options_name_the_field(tmp_path):
    with pytest.raises(ValueError, match="zenoh mode"):
        SessionOptions(mode="server")
    with pytest.raises(ValueError, match="connect.*protocol"):
        SessionOptions(connect=("10.0.0.1:7447",))
    with pytest.raises(ValueError, match="tls_cert, tls_key"):
        SessionOptions(tls_cert=str(tmp_path / "x.pem"))
    with pytest.raises(ValueError, match="tls_ca: .*no such file"):
        SessionOptions(tls_ca=str(tmp_path / "missing.pem"))
    with pytest.raises(ValueError, match="robot id"):
        RobotKeys("a/b")


def run_cli(*args, timeout=60):
    import subprocess
    import sys

    from humanoid_rt.veth import child_env

    return subprocess.run([sys.executable, "-m", "humanoid_rt.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=child_env())


def test_zenoh_commands_refuse_bad_input_naming_the_option(tmp_path):
    key = tmp_path / "k"
    key.write_text(KEY.hex() + "\n")
    result = run_cli("run", "--zenoh", "--seconds", "1")
    assert result.returncode == 2 and "--key-file" in result.stderr
    result = run_cli("fleet", "--once", "--wait", "0", "--no-multicast")
    assert result.returncode == 2 and "--wait" in result.stderr
    result = run_cli("teleop-send", "--zenoh", "zbot-x", "--key-file", str(key), "--generator", "sine",
                     "--no-multicast", "--connect", f"tcp/127.0.0.1:{free_port()}", "--listen", "tcp/127.0.0.1:0")
    assert result.returncode == 2 and "--zenoh" in result.stderr
    result = run_cli("zenoh-acl", str(tmp_path / "r.json5"), "--robot", "r1", "--operator", "alice=r2")
    assert result.returncode == 2 and "r2" in result.stderr and "not declared" in result.stderr
    result = run_cli("zenoh-acl", str(tmp_path / "r.json5"), "--robot", "r1", "--operator", "alice")
    assert result.returncode == 2 and "NAME=ROBOT" in result.stderr
    result = run_cli("netns", "up", "bad/name")
    assert result.returncode == 2 and "name" in result.stderr


def test_router_acl_gives_each_operator_only_its_robots(tmp_path):
    from humanoid_rt.remote.router import access_control, write_router_config

    acl = access_control(["r1", "r2"], {"alice": ["r1"], "bob": ["r1", "r2"]}, viewers=["desk"])
    assert acl["default_permission"] == "deny"
    policies = {p["subjects"][0]: set(p["rules"]) for p in acl["policies"]}
    assert policies["operator alice"] == {"observe-in", "observe-out", "command-r1"}
    assert policies["operator bob"] == {"observe-in", "observe-out", "command-r1", "command-r2"}
    assert policies["viewer desk"] == {"observe-in", "observe-out"}
    rules = {r["id"]: r for r in acl["rules"]}
    assert rules["command-r1"]["key_exprs"] == ["humanoid_rt/r1/cmd/**", "humanoid_rt/r1/request/**"]
    assert rules["robot-r2"]["key_exprs"] == ["humanoid_rt/r2/**"]
    subjects = {s["id"]: s["cert_common_names"] for s in acl["subjects"]}
    assert subjects["operator alice"] == ["alice"] and subjects["robot r1"] == ["r1"]
    # Zenoh itself accepts the generated file (an unknown message type or field would be refused here).
    config = write_router_config(tmp_path / "router.json5", listen=["tls/127.0.0.1:7447"], tls_dir=tmp_path,
                                 robots=["r1"], operators={"alice": ["r1"]})
    assert zenoh.Config.from_file(str(config)).get_json("access_control/enabled") in (True, "true")
    with pytest.raises(ValueError, match="robot id"):
        access_control(["a/b"], {})
    # policy-use is granted per robot; a policy server may serve under its own name only.
    acl = access_control(["r1", "r2"], {}, policy_servers=["gpu-1"], policy_users=["r1"])
    policies = {p["subjects"][0]: set(p["rules"]) for p in acl["policies"]}
    assert policies["robot r1"] == {"robot-r1", "observed", "policy-use", "policy-use-replies"}
    assert policies["robot r2"] == {"robot-r2", "observed"}
    assert policies["policy gpu-1"] == {"policy-serve-gpu-1", "policy-serve-gpu-1-queries"}
    rules = {r["id"]: r for r in acl["rules"]}
    assert rules["policy-use"]["messages"] == ["query"] and rules["policy-use"]["flows"] == ["ingress"]
    assert rules["policy-serve-gpu-1"]["key_exprs"] == ["humanoid_rt/policy/gpu-1/**"]
    with pytest.raises(ValueError, match=r"policy-use: robots \['r3'\] not declared"):
        access_control(["r1"], {}, policy_users=["r3"])
    with pytest.raises(ValueError, match="robot id: 'policy' is reserved"):
        access_control(["policy"], {})


def test_a_node_that_cannot_connect_leaves_the_robot_as_it_was(small_robot):
    options = SessionOptions(mode="client", connect=(f"tcp/127.0.0.1:{free_port()}",), multicast_scouting=False)
    with pytest.raises(ConnectionError, match="cannot open a client session"):
        small_robot.attach_zenoh(options, key=KEY)
    assert small_robot.zenoh is None and small_robot.teleop is None
