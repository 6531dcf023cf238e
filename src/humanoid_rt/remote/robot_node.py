"""The robot's presence on Zenoh: `robot.attach_zenoh(...)` (or `humanoid-rt run --zenoh`).

Declares, under humanoid_rt/<robot_id>/ (firmware_interfaces/zenoh/KEYS.md):
  state   binary snapshots (codec.encode_state) at `state_rate_hz`, best effort, latest wins;
  events  every supervisor transition and refusal, JSON, reliable (congestion control BLOCK);
  health  once per `health_period_s`: temperatures, drive errors, loop and bus statistics, teleop counters;
  alive   a liveliness token (gone when the session ends: process exit, SIGKILL, lease expiry);
  info    queryable: config and limits hashes, versions, joint names;
  request/{enable,disable,reset,estop}  queryables with HMAC-authenticated payloads (requests.py),
          answered once the loop answers, refused with the supervisor's reason;
  cmd/{joints,frames,hands}  teleop packets, exactly the UDP protocol's bytes (PROTOCOL.md).

Commands: every payload on cmd/* is handed, unchanged, to the robot's C++ teleop receiver through a
loopback datagram. The receiver does what it does for UDP: HMAC check, sequence/replay window, TTL
and clock mapping, start gate, e-stop flag, clipping, then the setpoint buffers; silence trips the same
watchdog (HOLD, then DAMPING). Zenoh's callbacks only copy bytes into a socket: no Python on the loop's
path, nothing here can block the loop. A payload whose kind does not belong to its key (a frame packet
on cmd/joints) is dropped and counted, so a router ACL per key keeps its meaning.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
import queue
import socket
import sys
import threading
import time
from pathlib import Path

from .. import _core
from . import codec
from .keys import COMMAND_KINDS, REQUESTS, RobotKeys
from .requests import RequestVerifier
from .session import SessionOptions, open_session

MAX_DATAGRAM = 65507
_REQUEST_KINDS = {"enable": _core.RequestKind.ENABLE, "disable": _core.RequestKind.DISABLE,
                  "reset": _core.RequestKind.RESET}


def _versions() -> dict:
    def version(dist):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return None

    from .. import __version__
    return {"humanoid_rt": __version__, "eclipse-zenoh": version("eclipse-zenoh"), "python": platform.python_version(),
            "teleop_protocol": 1, "state_format": codec.STATE_VERSION}


class RobotNode:
    """One robot on Zenoh. Create with Robot.attach_zenoh(); close() (or robot.close()) ends it."""

    def __init__(self, robot, options: SessionOptions | None = None, *, key: bytes | None = None,
                 key_file: str | Path | None = None, state_rate_hz: float = 100.0, health_period_s: float = 1.0,
                 request_timeout_s: float = 5.0, session=None, **teleop_options):
        from ..teleop.receiver import key_from

        if not 1.0 <= state_rate_hz <= 1000.0:
            raise ValueError(f"state_rate_hz: {state_rate_hz!r}; allowed: 1 .. 1000 (100-500 typical)")
        if not 0.05 <= health_period_s <= 60.0:
            raise ValueError(f"health_period_s: {health_period_s!r}; allowed: 0.05 .. 60")
        self.robot = robot
        self.keys = RobotKeys(robot.robot_id)
        self.state_rate_hz = float(state_rate_hz)
        self.health_period_s = float(health_period_s)
        self.request_timeout_s = float(request_timeout_s)
        key = key_from(key, key_file)
        self._verifier = RequestVerifier(key, robot.robot_id)
        self._counters = {"relayed": 0, "wrong_kind": 0, "oversized": 0, "state_published": 0,
                          "events_published": 0, "health_published": 0, "requests": 0,
                          "requests_refused": 0, "requests_rejected": {"bad_auth": 0, "bad_field": 0, "replayed": 0,
                                                                        "unknown": 0}}
        self._sources: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._attached_teleop = robot.teleop is None
        receiver = robot.teleop or robot.attach_teleop(key=key, host="127.0.0.1", port=0, **teleop_options)
        relay_host = "127.0.0.1" if receiver.host in ("0.0.0.0", "") else receiver.host
        self._relay = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._relay.connect((relay_host, receiver.port))
        self._own_session = session is None
        self.session = None
        self._declared = []
        try:
            self.session = open_session(options) if session is None else session
            self._declare()
        except BaseException:
            self.close()  # a node that could not open leaves no receiver, socket or declaration behind
            raise
        self._requests: queue.Queue = queue.Queue(maxsize=64)
        self._threads = [threading.Thread(target=self._publish_loop, name=f"zenoh-pub-{robot.robot_id}", daemon=True),
                         threading.Thread(target=self._request_loop, name=f"zenoh-req-{robot.robot_id}", daemon=True)]
        for thread in self._threads:
            thread.start()

    # ------------------------------------------------------------------ declarations
    def _declare(self) -> None:
        import zenoh

        s, k = self.session, self.keys
        self._state_pub = s.declare_publisher(k.state, congestion_control=zenoh.CongestionControl.DROP,
                                              reliability=zenoh.Reliability.BEST_EFFORT, encoding="application/octet-stream")
        self._events_pub = s.declare_publisher(k.events, congestion_control=zenoh.CongestionControl.BLOCK,
                                               reliability=zenoh.Reliability.RELIABLE, encoding="application/json")
        self._health_pub = s.declare_publisher(k.health, congestion_control=zenoh.CongestionControl.DROP,
                                               encoding="application/json")
        self._declared += [self._state_pub, self._events_pub, self._health_pub]
        for stream, kinds in COMMAND_KINDS.items():
            self._declared.append(s.declare_subscriber(k.command(stream), self._command_callback(kinds)))
        self._declared.append(s.declare_queryable(k.info, self._on_info))
        self._declared.append(s.declare_queryable(f"{k.prefix}/request/*", self._on_request))
        self._token = s.liveliness().declare_token(k.alive)
        self._declared.append(self._token)

    def _command_callback(self, kinds):
        relay, counters, lock, sources = self._relay, self._counters, self._lock, self._sources

        def on_command(sample) -> None:
            # Runs on a Zenoh thread: copy the bytes to the C++ receiver and return.
            payload = sample.payload.to_bytes()
            if len(payload) > 5 and payload[5] not in kinds:
                with lock:
                    counters["wrong_kind"] += 1
                return
            if len(payload) > MAX_DATAGRAM:
                with lock:
                    counters["oversized"] += 1
                return
            try:
                relay.send(payload)
            except OSError:
                return  # the receiver is gone (closing): nothing to relay to
            attachment = sample.attachment
            source = attachment.to_bytes().decode("utf-8", "replace")[:64] if attachment is not None else "?"
            with lock:
                counters["relayed"] += 1
                if source in sources or len(sources) < 64:
                    sources[source] = sources.get(source, 0) + 1

        return on_command

    # ------------------------------------------------------------------ info and requests
    def info(self) -> dict:
        robot = self.robot
        path = Path(robot.config.source_path) if robot.config.source_path else None
        config_hash = hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path and path.is_file() else None
        return {"robot_id": robot.robot_id, "config": robot.config.name, "config_hash": config_hash,
                "limits_hash": robot.limits_hash, "n_joints": robot.n_joints, "joint_names": list(robot.joint_names),
                "task_frames": list(robot.task_frames), "rate_hz": robot.rate_hz, "state_rate_hz": self.state_rate_hz,
                "health_period_s": self.health_period_s, "versions": _versions(),
                "keys": {"state": self.keys.state, "events": self.keys.events, "health": self.keys.health,
                         "alive": self.keys.alive, "commands": [self.keys.command(c) for c in COMMAND_KINDS],
                         "requests": [self.keys.request(r) for r in REQUESTS]}}

    def _on_info(self, query) -> None:
        query.reply(self.keys.info, codec.encode_json(self.info()))

    def _on_request(self, query) -> None:
        name = str(query.key_expr).rsplit("/", 1)[-1]
        payload = query.payload.to_bytes() if query.payload is not None else b""
        try:
            self._requests.put_nowait((name, payload, query))
        except queue.Full:
            query.reply_err(codec.encode_json({"accepted": False, "reason": "busy", "message": "64 requests pending"}))

    def _request_loop(self) -> None:
        while not self._stop.is_set():
            try:
                name, payload, query = self._requests.get(timeout=0.1)
            except queue.Empty:
                continue
            if name is None:
                return
            try:
                reply = self._serve_request(name, payload)
            except Exception as error:  # a bad request must never end the node
                reply = {"accepted": False, "reason": "error", "message": str(error)}
            if reply.get("accepted"):
                query.reply(self.keys.request(name), codec.encode_json(reply))
            else:
                query.reply_err(codec.encode_json(reply))
            del query  # finalises the query: the requester's get() ends

    def _serve_request(self, name: str, payload: bytes) -> dict:
        rejected = self._counters["requests_rejected"]
        if name not in REQUESTS:
            with self._lock:
                rejected["unknown"] += 1
            return {"accepted": False, "reason": "unknown_request", "message": f"allowed: {', '.join(REQUESTS)}"}
        reason, message = self._verifier.check(name, payload)
        if reason != "none":
            with self._lock:
                rejected[reason] += 1
            return {"accepted": False, "reason": reason, "message": message}
        with self._lock:
            self._counters["requests"] += 1
        robot = self.robot
        if name == "estop":
            robot.estop()
            return {"accepted": True, "request": name, "reason": "estop_requested"}
        if name == "reset":
            robot.reset_drive_faults()
        _, start = robot.events_since(1 << 62)
        # The Robot API's requests wait in the caller's thread; here the answer is the loop's own event
        # for this request id, which also works in stepped mode (the test's step() serves it).
        request_id = robot._loop.request(_REQUEST_KINDS[name])
        deadline = time.monotonic() + self.request_timeout_s
        while time.monotonic() < deadline and not self._stop.is_set():
            events, start = robot.events_since(start)
            for event in events:
                if event["request_id"] == request_id:
                    if event["accepted"]:
                        return {"accepted": True, "request": name, "reason": event["reason"], "event": event}
                    with self._lock:
                        self._counters["requests_refused"] += 1
                    return {"accepted": False, "request": name, "reason": event["reason"],
                            "message": f"{name} refused in {event['from_state']}: {event['reason']}", "event": event}
            time.sleep(0.002)
        return {"accepted": False, "request": name, "reason": "no_answer",
                "message": f"the loop did not answer within {self.request_timeout_s} s "
                           "(stepped mode: the robot is not being stepped)"}

    # ------------------------------------------------------------------ publishing
    def _publish_loop(self) -> None:
        period = 1.0 / self.state_rate_hz
        next_state = next_events = time.monotonic()
        next_health = next_state + min(0.2, self.health_period_s)
        event_index = 0  # every transition since the robot was made (up to its last 10,000), then live
        sequence = 0
        while not self._stop.is_set():
            now = time.monotonic()
            try:
                if now >= next_events:
                    event_index = self.publish_events(event_index)
                    next_events = now + 0.01
                if now >= next_health:
                    self.publish_health()
                    next_health += self.health_period_s
                    if next_health < now:
                        next_health = now + self.health_period_s
                if now >= next_state:
                    sequence += 1
                    self._state_pub.put(codec.encode_state(self.robot.state(), sequence))
                    with self._lock:
                        self._counters["state_published"] += 1
                    next_state += period
                    if next_state < now - period:  # fell behind (a loaded machine): skip, do not burst
                        next_state = now + period
            except Exception as error:  # the session closed under us or the robot closed
                if self._stop.is_set():
                    return
                print(f"humanoid_rt zenoh node: publisher error: {error}", file=sys.stderr)
                time.sleep(0.1)
            self._stop.wait(max(0.0, min(next_state, next_events, next_health) - time.monotonic()))

    def publish_events(self, index: int) -> int:
        events, total = self.robot.events_since(index)
        for event in events:
            self._events_pub.put(codec.encode_json({"robot_id": self.robot.robot_id, **event}))
        if events:
            with self._lock:
                self._counters["events_published"] += len(events)
        return total

    def health(self) -> dict:
        robot = self.robot
        state = robot.state()
        temperatures = [float(t) for t in state.temperature_c]
        hottest = max(range(len(temperatures)), key=temperatures.__getitem__) if temperatures else None
        loop = robot.statistics()
        buses = {}
        for name, bus in robot.buses.items():
            stats = getattr(bus, "statistics", None)
            if callable(stats):
                try:
                    buses[name] = stats().to_dict()
                except Exception as error:
                    buses[name] = {"error": str(error)}
        teleop = robot.teleop.statistics() if robot.teleop is not None else None
        return {
            "robot_id": robot.robot_id, "t": state.time, "wall_time_ns": time.time_ns(),
            "supervisor_state": state.supervisor_state, "reason": state.reason,
            "temperature_c": temperatures,
            "hottest": None if hottest is None else {"joint": robot.joint_names[hottest], "c": temperatures[hottest]},
            "drive_errors": {robot.joint_names[i]: int(code) for i, code in enumerate(state.drive_error) if code},
            "loop": {k: loop[k] for k in ("cycles", "overruns", "skipped_periods", "bus_errors", "telemetry_overflows",
                                          "event_overflows", "wakeup_latency", "compute_time") if k in loop},
            "buses": buses,
            "teleop": None if teleop is None else {
                k: teleop[k] for k in ("received", "accepted", "rejected_total", "rejected", "gaps", "estops", "engaged",
                                       "session_id", "last_sequence", "last_rejection")},
            "zenoh": self.statistics(),
        }

    def publish_health(self) -> None:
        self._health_pub.put(codec.encode_json(self.health()))
        with self._lock:
            self._counters["health_published"] += 1

    def statistics(self) -> dict:
        """Relay and publication counters (commands relayed / dropped, requests served / refused)."""
        with self._lock:
            counters = dict(self._counters)
            counters["requests_rejected"] = dict(self._counters["requests_rejected"])
            counters["sources"] = dict(self._sources)
        return counters

    def close(self) -> None:
        self._stop.set()
        for thread in getattr(self, "_threads", ()):
            thread.join(timeout=5.0)
        for entity in reversed(self._declared):
            try:
                entity.undeclare()
            except Exception:
                pass
        self._declared = []
        if self._own_session and self.session is not None:
            try:
                self.session.close()
            except Exception:
                pass
            self.session = None
        self._relay.close()
        if self._attached_teleop:
            self.robot.detach_teleop()
            self._attached_teleop = False

    def __enter__(self) -> "RobotNode":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
