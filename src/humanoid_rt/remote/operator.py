"""The operator station over Zenoh: find a robot by id, stream teleop packets, send requests.

    with open_session(options) as session:
        robot = RobotHandle(session, "robot-1")            # LookupError if no robot-1 is alive
        info = robot.info()                                 # joint names, hashes, versions
        robot.request("enable", key)                        # RequestRefused(reason) when the loop refuses
        with ZenohTeleopClient(session, "robot-1", key, joint_names=info["joint_names"]) as client:
            client.stream(trajectory, rate_hz=100)          # as TeleopClient over UDP

Packets are the UDP protocol's bytes (PROTOCOL.md), so sequence, TTL, start gate and e-stop behave
exactly as over UDP; Zenoh adds discovery by robot id, routing and mTLS/ACL. Joint and hand packets go
to cmd/joints and cmd/hands, frame poses to cmd/frames; the attachment names the operator (informative:
the robot counts packets per source; authentication is the HMAC tag and the router's ACL).
"""

from __future__ import annotations

import socket
from typing import Sequence

from ..errors import HumanoidRtError
from ..teleop import protocol
from ..teleop.sender import TeleopClient
from . import codec
from .keys import RobotKeys
from .requests import sign_request

_STREAM_OF_KIND = {protocol.KIND_JOINTS: "joints", protocol.KIND_FRAME_POSES: "frames", protocol.KIND_HANDS: "hands"}


class RequestRefused(HumanoidRtError, RuntimeError):
    def __init__(self, request: str, reply: dict):
        self.request, self.reply, self.reason = request, reply, reply.get("reason", "unknown")
        super().__init__(f"{request} refused: {reply.get('reason')}: {reply.get('message', '')}".rstrip(": "))


def find_robots(session, timeout_s: float = 1.0) -> list[str]:
    """Robot ids with a liveliness token now."""
    from .keys import ALL_ALIVE, robot_id_of

    ids = set()
    for reply in session.liveliness().get(ALL_ALIVE, timeout=timeout_s):
        if reply.ok is not None:
            ids.add(robot_id_of(str(reply.ok.key_expr)))
    return sorted(ids)


class RobotHandle:
    """A robot seen on Zenoh, addressed by its id."""

    def __init__(self, session, robot_id: str, *, timeout_s: float = 3.0, require_alive: bool = True):
        self.session, self.keys, self.timeout_s = session, RobotKeys(robot_id), timeout_s
        if require_alive and not self.alive():
            raise LookupError(f"robot {robot_id!r}: no liveliness token {self.keys.alive} within {timeout_s} s "
                              f"(robots seen: {', '.join(find_robots(session, 0.5)) or 'none'})")

    @property
    def robot_id(self) -> str:
        return self.keys.robot_id

    def alive(self) -> bool:
        replies = self.session.liveliness().get(self.keys.alive, timeout=self.timeout_s)
        return any(reply.ok is not None for reply in replies)

    def info(self) -> dict:
        for reply in self.session.get(self.keys.info, timeout=self.timeout_s):
            if reply.ok is not None:
                return codec.decode_json(reply.ok.payload.to_bytes(), "info")
        raise TimeoutError(f"robot {self.robot_id}: no answer on {self.keys.info} within {self.timeout_s} s")

    def request(self, name: str, key: bytes, *, timeout_s: float = 10.0, payload: bytes | None = None) -> dict:
        """enable / disable / reset / estop; returns the robot's reply or raises RequestRefused."""
        selector = self.keys.request(name)
        body = sign_request(key, self.robot_id, name) if payload is None else payload
        for reply in self.session.get(selector, payload=body, timeout=timeout_s):
            if reply.ok is not None:
                return codec.decode_json(reply.ok.payload.to_bytes(), name)
            raise RequestRefused(name, codec.decode_json(reply.err.payload.to_bytes(), name))
        raise TimeoutError(f"robot {self.robot_id}: no answer to {name} within {timeout_s} s")


class ZenohTeleopClient(TeleopClient):
    """TeleopClient whose packets travel over Zenoh to humanoid_rt/<robot_id>/cmd/*.

    session: an open Zenoh session. operator: a label sent as the attachment (default: hostname).
    Other arguments as TeleopClient. With joint_names=None the robot's info() supplies them.
    """

    def __init__(self, session, robot_id: str, key: bytes, *, joint_names: Sequence[str] | None = None,
                 session_id: int | None = None, ttl_s: float = 0.1, due_in_s: float = 0.03,
                 operator: str | None = None, find_timeout_s: float = 3.0):
        import zenoh

        self.handle = RobotHandle(session, robot_id, timeout_s=find_timeout_s)
        if joint_names is None:
            joint_names = self.handle.info()["joint_names"]
        self._init_stream(key, joint_names, session_id, ttl_s, due_in_s)
        self.address = None
        self.operator = (operator or socket.gethostname())[:64]
        keys = self.handle.keys
        # Latest wins for setpoints (DROP under congestion; express: no batching delay); e-stops use BLOCK.
        self._publishers = {stream: session.declare_publisher(
            keys.command(stream), congestion_control=zenoh.CongestionControl.DROP, express=True,
            priority=zenoh.Priority.REAL_TIME) for stream in ("joints", "frames", "hands")}
        self._estop_publisher = session.declare_publisher(
            keys.command("joints"), congestion_control=zenoh.CongestionControl.BLOCK, express=True,
            priority=zenoh.Priority.REAL_TIME)

    @property
    def robot_id(self) -> str:
        return self.handle.robot_id

    def send_raw(self, packet: bytes) -> None:
        kind = packet[5] if len(packet) > 5 else protocol.KIND_JOINTS
        publisher = self._publishers.get(_STREAM_OF_KIND.get(kind, "joints"))
        publisher.put(packet, attachment=self.operator.encode())
        self.sent += 1

    def send_estop(self) -> None:
        self._estop_publisher.put(protocol.estop_packet(self.key, **self._next()), attachment=self.operator.encode())
        self.sent += 1

    def close(self) -> None:
        for publisher in [*self._publishers.values(), self._estop_publisher]:
            try:
                publisher.undeclare()
            except Exception:
                pass
        self._publishers = {}


# ------------------------------------------------------------------------------------ command line
def add_command(commands) -> None:
    from . import session
    from .keys import REQUESTS

    p = commands.add_parser("robot-request", help="ask a robot on Zenoh to enable, disable, reset or e-stop",
                            description="Sends an authenticated request (HMAC with the teleop key) to "
                            "humanoid_rt/ROBOT_ID/request/ACTION and prints the robot's answer; exits 1 when the "
                            "robot refuses (the supervisor's reason is printed).")
    p.add_argument("robot_id")
    p.add_argument("action", choices=REQUESTS)
    p.add_argument("--key-file", required=True, help="the robot's teleop key file (hex)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the answer (default 10)")
    session.add_arguments(p, default_mode="peer")


def main(args) -> int:
    import json
    import sys

    from .session import open_session, options_from_args

    try:
        key = protocol.load_key(args.key_file)
        zenoh_session = open_session(options_from_args(args, args.zenoh_config))
    except (ValueError, ConnectionError, OSError) as error:
        print(f"humanoid-rt robot-request: {error}", file=sys.stderr)
        return 2
    try:
        reply = RobotHandle(zenoh_session, args.robot_id).request(args.action, key, timeout_s=args.timeout)
        print(json.dumps(reply))
        return 0
    except RequestRefused as refused:
        print(json.dumps(refused.reply))
        print(f"humanoid-rt robot-request: {refused}", file=sys.stderr)
        return 1
    except (LookupError, TimeoutError) as error:
        print(f"humanoid-rt robot-request: {error}", file=sys.stderr)
        return 2
    finally:
        zenoh_session.close()
