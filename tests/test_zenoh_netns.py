"""Zenoh across network namespaces: a router in its own namespace, robot, operator and desk (fleet view)
behind their own veth links, mTLS with per-node certificates and an ACL per robot (needs root).

  host ns (this process: a stepped robot `zbot-1`, the fleet view `desk`) --veth--+
  hrt-*-robot (a real-time robot process `zbot-2`: humanoid-rt run --zenoh) --veth--+-- hrt-*-router (zenoh-router)
  hrt-*-operator (operators `op-1`: zbot-1 + zbot-2, `op-2`: zbot-2 only)     --veth--+
  hrt-*-policy (policy server `gpu-1`: humanoid-rt policy-serve --name gpu-1)   --veth--+

No IP forwarding: everything between namespaces goes through the router process. No timing is asserted;
waits have generous timeouts. Robot and fleet numbers (how fast a killed robot disappears) are printed.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

zenoh = pytest.importorskip("zenoh")

from humanoid_rt import Robot
from humanoid_rt.ethercat.netns import have_privileges
from humanoid_rt.remote.certs import make_ca, make_certificate
from humanoid_rt.remote.fleet import FleetView
from humanoid_rt.remote.netns import Lab
from humanoid_rt.remote.requests import sign_request
from humanoid_rt.remote.router import write_router_config
from humanoid_rt.remote.session import SessionOptions, open_session
from humanoid_rt.teleop import protocol
from humanoid_rt.teleop.testing import LoopbackSender
from conftest import enable_active, small_robot_config

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
PORT = 7447

ok, reason = have_privileges()
pytestmark = pytest.mark.skipif(not ok, reason=reason)


def wait_until(condition, timeout=15.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.005)
    raise TimeoutError(f"{what} not reached within {timeout} s")


class Endpoint:
    """humanoid_rt.remote.testing in a namespace: put/get/alive over stdin, JSON answers."""

    def __init__(self, process: subprocess.Popen):
        self.process = process
        ready = json.loads(process.stdout.readline() or '{"ready": false}')
        if not ready.get("ready"):
            raise RuntimeError(f"endpoint did not start: {ready} {process.stderr.read() if process.stderr else ''}")

    def call(self, line: str) -> dict:
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        try:
            self.process.stdin.write("quit\n")
            self.process.stdin.flush()
            self.process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()


class Net:
    def __init__(self, lab: Lab, certs):
        self.lab, self.certs = lab, certs
        self.router: subprocess.Popen | None = None
        # zbot-3 is a robot of the fleet without policy-use; gpu-1 may serve humanoid_rt/policy/gpu-1/** only.
        self.config = write_router_config(
            certs / "router.json5", listen=[f"tls/0.0.0.0:{PORT}"], tls_dir=certs,
            robots=["zbot-1", "zbot-2", "zbot-3"], operators={"op-1": ["zbot-1", "zbot-2"], "op-2": ["zbot-2"]},
            viewers=["desk"], policy_servers=["gpu-1"], policy_users=["zbot-1", "zbot-2"])

    def endpoint_of(self, spoke: str) -> str:
        return f"tls/{self.lab.hub_address(spoke)}:{PORT}"

    def options(self, name: str, spoke: str) -> SessionOptions:
        return SessionOptions(mode="client", connect=(self.endpoint_of(spoke),), multicast_scouting=False,
                              tls_ca=str(self.certs / "ca.pem"), tls_cert=str(self.certs / f"{name}.pem"),
                              tls_key=str(self.certs / f"{name}.key"))

    def args(self, name: str, spoke: str) -> list[str]:
        return ["--zenoh-mode", "client", "--connect", self.endpoint_of(spoke), "--no-multicast",
                "--tls-ca", str(self.certs / "ca.pem"), "--tls-cert", str(self.certs / f"{name}.pem"),
                "--tls-key", str(self.certs / f"{name}.key")]

    def start_router(self) -> None:
        self.router = self.lab.popen("router", [sys.executable, "-m", "humanoid_rt.cli", "zenoh-router",
                                                "--zenoh-config", str(self.config)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.router.stdout.readline()
        assert json.loads(line or "{}").get("ready"), self.router.stderr.read()

    def kill_router(self) -> None:
        self.router.kill()
        self.router.wait()
        self.router.stdout.close()
        self.router.stderr.close()

    def endpoint(self, name: str, spoke: str = "operator") -> Endpoint:
        return Endpoint(self.lab.popen(spoke, [sys.executable, "-m", "humanoid_rt.remote.testing", *self.args(name, spoke)],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    certs = tmp_path_factory.mktemp("zenoh-certs")
    ca = make_ca(certs)
    for name in ("router", "zbot-1", "zbot-2", "zbot-3", "op-1", "op-2", "desk", "gpu-1"):
        make_certificate(certs, name, ca=ca)
    rogue = tmp_path_factory.mktemp("rogue-ca")
    make_certificate(rogue, "op-1", ca=make_ca(rogue, name="someone else's CA"))  # right name, wrong CA
    with Lab(["operator", "robot", "policy"], host_spoke="host") as lab:
        net = Net(lab, certs)
        net.rogue = rogue
        net.start_router()
        try:
            yield net
        finally:
            if net.router and net.router.poll() is None:
                net.kill_router()


def test_setpoints_cross_namespaces_exactly_and_the_acl_decides_who_commands(net, urdf_path):
    robot = Robot(small_robot_config(urdf_path), robot_id="zbot-1")
    twin = Robot(small_robot_config(urdf_path), robot_id="zbot-udp")
    op1 = op2 = None
    try:
        node = robot.attach_zenoh(net.options("zbot-1", "host"), key=KEY)
        enable_active(robot)
        enable_active(twin)
        twin.attach_teleop(key=KEY)
        udp = LoopbackSender(twin, KEY)
        op1, op2 = net.endpoint("op-1"), net.endpoint("op-2")
        wait_until(lambda: "zbot-1" in op1.call("alive humanoid_rt/*/alive 1")["alive"], what="op-1 seeing zbot-1")

        def processed():
            s = robot.teleop.statistics()
            return s["accepted"] + s["rejected_total"]

        def packet(r, sequence, q, key=KEY):
            return protocol.joint_packet(key, [0, 2], [q, -q / 2], session_id=11, sequence=sequence,
                                         sender_time_ns=int(round(r.now() * 1e9)), due_in_s=0.02)

        def send(endpoint, data: bytes, expect_processed: int | None = None):
            assert endpoint.call(f"put humanoid_rt/zbot-1/cmd/joints {data.hex()}") == {"ok": True}
            if expect_processed is not None:
                wait_until(lambda: processed() >= expect_processed, what="the receiver handling the packet")

        for k in range(20):  # from another namespace, through the router, stepped: exact
            q = 0.2 * np.sin(0.3 * k)
            send(op1, packet(robot, k + 1, q), expect_processed=k + 1)
            udp.send(packet(twin, k + 1, q))
            robot.step(10)
            twin.step(10)
        np.testing.assert_array_equal(robot.drain_telemetry()["q_ref"], twin.drain_telemetry()["q_ref"])
        assert robot.teleop_statistics()["accepted"] == 20

        # op-2 holds a valid certificate and the right HMAC key, but the ACL does not let it command zbot-1:
        # its packet (sequence 21) never arrives; op-1's next one (22) does, and the receiver counts the gap.
        send(op2, packet(robot, 21, 0.0))
        send(op1, packet(robot, 22, 0.0), expect_processed=21)
        stats = robot.teleop_statistics()
        assert stats["received"] == 21 and stats["accepted"] == 21 and stats["gaps"] == 1
        refused = op2.call(f"get humanoid_rt/zbot-1/request/disable {sign_request(KEY, 'zbot-1', 'disable').hex()} 1")
        assert refused == {"replies": []}, refused                         # the query never reached the robot
        # Forged (wrong key) and replayed packets from an authorised operator: refused and counted by the robot.
        send(op1, packet(robot, 23, 0.0, key=OTHER_KEY), expect_processed=22)
        send(op1, packet(robot, 22, 0.0), expect_processed=23)
        stats = robot.teleop_statistics()
        assert stats["rejected"]["bad_auth"] == 1 and stats["rejected"]["replayed"] == 1 and stats["accepted"] == 21
        # The node counts a command after handing it to the receiver, on the Zenoh thread: the receiver may
        # process it first (seen under load), so wait for the count, then check it is exact.
        wait_until(lambda: node.statistics()["relayed"] >= 23, what="the node counting its relayed commands")
        assert node.statistics()["relayed"] == 23
        assert robot.state().supervisor_state == "ACTIVE"
        udp.close()
    finally:
        for endpoint in (op1, op2):
            if endpoint is not None:
                endpoint.close()
        robot.close()
        twin.close()


def test_clients_without_a_certificate_of_the_fleet_ca_are_refused(net):
    endpoint = net.endpoint_of("host")
    attempts = {
        "no certificate": SessionOptions(mode="client", connect=(endpoint,), multicast_scouting=False,
                                         tls_ca=str(net.certs / "ca.pem")),
        "another CA": SessionOptions(mode="client", connect=(endpoint,), multicast_scouting=False,
                                     tls_ca=str(net.certs / "ca.pem"), tls_cert=str(net.rogue / "op-1.pem"),
                                     tls_key=str(net.rogue / "op-1.key")),
        "plain tcp": SessionOptions(mode="client", connect=(f"tcp/{net.lab.hub_address('host')}:{PORT}",),
                                    multicast_scouting=False),
    }
    for what, options in attempts.items():
        with pytest.raises(ConnectionError):
            open_session(options).close()
            pytest.fail(f"{what}: session opened")


def test_a_policy_server_serves_robots_with_policy_use_through_the_mtls_router(net):
    from remote_policy_support import lockstep, start_server_process, stop_process

    from humanoid_rt.policy import ChunkExecutor
    from humanoid_rt.remote.policy_server import server_info
    from humanoid_rt.remote.reference_policy import replay
    from humanoid_rt.remote.remote_chunks import RemoteChunkSource

    # The server is a client of the router too, with its own certificate: the session flags of every command.
    server = start_server_process([sys.executable, "-m", "humanoid_rt.cli", "policy-serve",
                                  "humanoid_rt.remote.reference_policy:replay", "--name", "gpu-1",
                                  *net.args("gpu-1", "policy")],
                                 popen=lambda argv, **kw: net.lab.popen("policy", argv, **kw))
    robot = Robot("generic_humanoid", robot_id="zbot-1")
    try:
        enable_active(robot)
        joints = list(replay.skill.joints)
        session = open_session(net.options("zbot-1", "host"))
        try:
            assert server_info(session, "gpu-1", timeout=20.0) is not None, "gpu-1 not reachable through the router"
            executor = ChunkExecutor(robot, joints=joints, max_acceleration=60.0)
            with RemoteChunkSource(executor, "gpu-1", session=session, timeout=2.0, retry_s=0.1) as source:
                lockstep(robot, executor, source, 1.0)
                assert source.statistics()["chunks_applied"] >= 1 and executor.chunks_received >= 1
        finally:
            session.close()
        # zbot-3 has a certificate of the fleet CA but no policy-use: its queries go nowhere, no chunk arrives,
        # every request is counted as unanswered and its arm stays where it was.
        robot.close()
        robot = Robot("generic_humanoid", robot_id="zbot-3")
        enable_active(robot)
        before = robot.state().q_ref.copy()
        executor = ChunkExecutor(robot, joints=joints, max_acceleration=60.0)
        with RemoteChunkSource(executor, "gpu-1", options=net.options("zbot-3", "host"), timeout=0.3,
                               retry_s=0.1) as source:
            lockstep(robot, executor, source, 0.5)
            stats = source.statistics()
        assert stats["chunks_applied"] == 0 and executor.chunks_received == 0
        assert stats["requests"] >= 2 and stats["no_reply"] == stats["requests"], stats
        assert robot.state().supervisor_state == "ACTIVE"
        assert np.array_equal(robot.state().q_ref, before)
    finally:
        robot.close()
        stop_process(server)


class RobotProcess:
    """`humanoid-rt run --zenoh` in the robot namespace, its counter lines collected."""

    def __init__(self, net: Net, key_file):
        self.process = net.lab.popen("robot", [
            sys.executable, "-m", "humanoid_rt.cli", "run", "--config", "generic_humanoid", "--robot-id", "zbot-2",
            "--zenoh", "--key-file", str(key_file), "--interval", "0.1", *net.args("zbot-2", "robot")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line)

    def accepted(self) -> int:
        counts = [int(m.group(1)) for m in map(re.compile(r".* accepted=(\d+)").match, self.lines) if m]
        return counts[-1] if counts else 0

    def states_since(self, index: int) -> list[str]:
        return [m.group(1) for m in map(re.compile(r"^t=\s*[-\d.]+s (\w+)").match, self.lines[index:]) if m]


def test_link_loss_and_router_loss_hold_the_robot_it_recovers_and_a_killed_robot_leaves_the_fleet(net, tmp_path):
    key_file = tmp_path / "teleop.key"
    key_file.write_text(KEY.hex() + "\n")
    key_file.chmod(0o600)
    robot = RobotProcess(net, key_file)
    operator = sender = None
    session = open_session(net.options("desk", "host"))
    events = []
    session.declare_subscriber("humanoid_rt/zbot-2/events", lambda s: events.append(json.loads(s.payload.to_bytes())))
    try:
        with FleetView(session) as fleet:
            def row():
                return next((r for r in fleet.snapshot()["robots"] if r["robot_id"] == "zbot-2"), None)

            def accepted():
                r = row()
                return (((r or {}).get("health") or {}).get("teleop") or {}).get("accepted", 0)

            wait_until(lambda: (row() or {}).get("supervisor_state") == "ACTIVE", timeout=30, what="zbot-2 ACTIVE")
            # The operator streams by robot id, from its own namespace, through the router.
            sender = net.lab.popen("operator", [
                sys.executable, "-m", "humanoid_rt.cli", "teleop-send", "--zenoh", "zbot-2", "--key-file", str(key_file),
                "--generator", "sine", "--joints", "right_elbow", "--amplitude", "0.05", "--rate", "50",
                "--seconds", "120", *net.args("op-1", "operator")], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            wait_until(lambda: accepted() >= 20 and robot.accepted() >= 20, what="teleop accepted over zenoh")
            operator = net.endpoint("op-1")

            def recover(what: str, mark: int, restore) -> None:
                # The watchdog's whole path: HOLD, then DAMPING, then DISABLED (no stream, no restart by itself).
                wait_until(lambda: "DISABLED" in robot.states_since(mark), what=f"DISABLED after {what}")
                assert robot.states_since(mark)[0] in ("ACTIVE", "HOLD"), robot.lines[mark:]
                assert [x for x in robot.states_since(mark) if x != "ACTIVE"][0] == "HOLD", robot.lines[mark:]
                restore()
                request = f"get humanoid_rt/zbot-2/request/enable {sign_request(KEY, 'zbot-2', 'enable').hex()} 3"
                replies = wait_until(lambda: operator.call(request)["replies"], timeout=20,
                                     what=f"zbot-2 answering enable after {what}")
                assert "ok" in replies[0], replies
                before = robot.accepted()
                try:  # the ramp-in and a backlog of expired packets, on a loaded machine: a generous bound
                    wait_until(lambda: robot.states_since(len(robot.lines) - 1) == ["ACTIVE"] and robot.accepted() > before + 10,
                               timeout=30.0, what=f"zbot-2 ACTIVE and accepting the stream again after {what}")
                except TimeoutError as error:  # what the robot went through says why
                    raise TimeoutError(f"{error}; the robot's last lines:\n{''.join(robot.lines[mark:][-30:])}") from None

            # 1. Pull the robot's cable: the stream stops arriving, the watchdog HOLDs (then damps, disables).
            mark, first_event = len(robot.lines), len(events)
            net.lab.set_link("robot", False)
            recover("link loss", mark, restore=lambda: net.lab.set_link("robot", True))
            # Events are reliable: the transitions made while the link was down arrive afterwards, HOLD first.
            lost = wait_until(lambda: [e for e in events[first_event:] if e["accepted"] and e["from_state"] != e["to_state"]],
                              what="the events of the outage")
            assert lost[0]["to_state"] == "HOLD", lost

            # 2. Kill the router: robot and operator lose each other; the robot holds; a new router, and back.
            mark = len(robot.lines)
            net.kill_router()
            recover("router loss", mark, restore=net.start_router)

            # 3. fleet CLI from the operator namespace lists the robot.
            listed = subprocess.run(net.lab.command("operator", [
                sys.executable, "-m", "humanoid_rt.cli", "fleet", "--once", "--json", "--wait", "2",
                *net.args("op-1", "operator")]), capture_output=True, text=True, timeout=30, env=_env())
            assert listed.returncode == 0, listed.stderr
            assert "zbot-2" in [r["robot_id"] for r in json.loads(listed.stdout)["robots"]]

            # 4. SIGKILL the robot: its liveliness token goes with its TCP connection.
            killed_at = time.monotonic()
            robot.process.send_signal(signal.SIGKILL)
            wait_until(lambda: any(r["robot_id"] == "zbot-2" for r in fleet.snapshot()["gone"]), timeout=20,
                       what="zbot-2 gone from the fleet after SIGKILL")
            print(f"\nzbot-2 left the fleet view {time.monotonic() - killed_at:.3f} s after SIGKILL")
    finally:
        for process in (sender, robot.process):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
        if operator is not None:
            operator.close()
        session.close()
        if net.router.poll() is not None:
            net.start_router()


def _env():
    from humanoid_rt.veth import child_env as _child_env

    return _child_env()
