"""Live telemetry for Foxglove and Lichtblick: a WebSocket server fed from a telemetry tap.

    live = robot.attach_live(port=8765)          # or `humanoid-rt run --live` / `demo --live`
    # Foxglove: Open connection -> Foxglove WebSocket -> ws://<robot>:8765

A thread of its own (never the loop's) drains the robot's telemetry through its own tap
every `pump_period_s` and publishes, decimated in loop time:

    /joints               JointTelemetry (the recorder's message: q, dq, measured and commanded
                          torque, reference) at `joint_rate_hz`
    /tf                   foxglove.FrameTransforms, every URDF link, at `transform_rate_hz`
    /robot_description    the URDF (std_msgs/String), when a viewer subscribes and every few seconds;
                          also the `/robot_description` parameter; meshes through fetchAsset
    /supervisor/events    SupervisorEvent per transition or refusal
    /tasks/<frame>        TaskError of each Cartesian task while it acts (and once when it stops), at
                          `transform_rate_hz`
    /devices/<name>       each device's newest sample (DeviceHub.latest(): the recorder still drains
                          every sample), at `joint_rate_hz` at most
    /loop/statistics      LoopStatistics once a second

Decimation: a sample is published when it is the first of a new window of
`loop rate / rate` cycles, so the rate holds in loop time whatever the pump's timing
(and in stepped mode). Channels nobody subscribes to cost nothing but the drain.
The server's sockets get TCP_NODELAY (nodelay.py says why).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import threading
import time
from typing import Any

import foxglove
import numpy as np
from foxglove.channels import FrameTransformsChannel
from foxglove.messages import FrameTransform, FrameTransforms, Quaternion, Timestamp, Vector3
from foxglove.websocket import Capability, ServerListener

from ..recording import schemas
from ..recording.recorder import DEVICE_TYPE_NAMES
from . import defaults
from .assets import UrdfAssets
from .kinematics import UrdfKinematics
from .messages import ROBOT_DESCRIPTION, TASK_ERROR
from .nodelay import set_tcp_nodelay

DESCRIPTION_PERIOD_S = 5.0


@contextlib.contextmanager
def _affinity(cpus: set[int] | None):
    """Run the block with this thread's CPU affinity set to `cpus` (threads it spawns inherit it)."""
    if not cpus:
        yield
        return
    thread = threading.get_native_id()
    previous = os.sched_getaffinity(thread)
    os.sched_setaffinity(thread, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(thread, previous)


def _rate(value: float, name: str, loop_rate_hz: float) -> float:
    if not (isinstance(value, (int, float)) and 1.0 <= value <= loop_rate_hz):
        raise ValueError(f"{name}: {value!r} Hz; allowed: 1 .. the loop rate ({loop_rate_hz:g} Hz)")
    return float(value)


class _Listener(ServerListener):
    """The server's callbacks (called on the SDK's threads): URDF on subscribe, the robot_description parameter."""

    def __init__(self, live: "LiveView"):
        self._live = live

    def on_subscribe(self, client, channel) -> None:
        if channel.topic == "/robot_description":
            self._live._description_due = 0.0  # the pump sends it next round
        if self._live.tcp_nodelay:
            set_tcp_nodelay(self._live.port)  # a connection that slipped in before the listener was set

    def on_get_parameters(self, client, param_names, request_id=None) -> list:
        if param_names and "/robot_description" not in param_names:
            return []
        return [foxglove.Parameter("/robot_description", value=self._live.assets.urdf_text)]


class LiveView:
    """A Foxglove WebSocket server showing one robot live (see the module docstring)."""

    def __init__(self, robot, *, port: int = defaults.LIVE_PORT, host: str = "127.0.0.1",
                 joint_rate_hz: float = defaults.JOINT_RATE_HZ, transform_rate_hz: float = defaults.TRANSFORM_RATE_HZ,
                 devices=None, tcp_nodelay: bool = True, pump_period_s: float = 0.01,
                 message_backlog: int = 2048, cpus: set[int] | None = None):
        if not (isinstance(port, int) and 0 <= port <= 65535):
            raise ValueError(f"port: {port!r}; allowed: 0 (any free port) .. 65535")
        if not (0.0005 <= pump_period_s <= 0.1):
            raise ValueError(f"pump_period_s: {pump_period_s!r}; allowed: 0.0005 .. 0.1 s")
        if not (isinstance(message_backlog, int) and message_backlog >= 16):
            raise ValueError(f"message_backlog: {message_backlog!r}; allowed: an integer >= 16 messages per viewer")
        allowed_cpus = os.sched_getaffinity(0)
        if cpus is not None and not (cpus and set(cpus) <= allowed_cpus):
            raise ValueError(f"cpus: {sorted(cpus) if cpus else cpus!r}; allowed: a non-empty subset of "
                             f"{sorted(allowed_cpus)}")
        self.cpus = set(cpus) if cpus else None  # keep the view's threads off the loop's CPU
        self.robot = robot
        self.joint_rate_hz = _rate(joint_rate_hz, "joint_rate_hz", robot.rate_hz)
        self.transform_rate_hz = _rate(transform_rate_hz, "transform_rate_hz", robot.rate_hz)
        # Windows in loop cycles: one message per window.
        self.joint_stride = max(1, round(robot.rate_hz / self.joint_rate_hz))
        self.transform_stride = max(1, round(robot.rate_hz / self.transform_rate_hz))
        self.devices = devices
        self.tcp_nodelay = tcp_nodelay
        self.pump_period_s = pump_period_s
        self.assets = UrdfAssets(robot.config.urdf_path)
        self.kinematics = UrdfKinematics(robot.config.urdf_path, robot.joint_names)
        self.published: dict[str, int] = {}
        self._context = foxglove.Context()  # this server's channels only (episode files have their own)
        self._channels: dict[str, tuple[Any, Any]] = {}
        self._open_channels()
        # Four seconds of samples: a pump delayed that long (a loaded machine) still loses none.
        self._tap = robot.telemetry_tap(max(4096, int(4 * robot.rate_hz)))
        self._event_index = robot.events_since(0)[1]
        self._last_joint_window = self._last_transform_window = -1
        self._monotonic_base_ns: int | None = None
        self._description_due = 0.0
        self._statistics_due = 0.0
        self._tasks_due = 0.0
        self._tasks_cycle = -1
        self._tasks_enabled: dict[str, bool] = {}
        self._device_last_ns: dict[str, int] = {}
        with _affinity(self.cpus):  # the SDK's server threads are spawned here and inherit it
            self._server = foxglove.start_server(
                name=f"humanoid_rt {robot.robot_id}", host=host, port=port, capabilities=[Capability.Parameters],
                server_listener=_Listener(self), asset_handler=self.assets, context=self._context,
                message_backlog_size=message_backlog)
        self.host, self.port = host, self._server.port
        if tcp_nodelay:
            set_tcp_nodelay(self.port)  # the listener: every connection accepted from now on inherits it
        self._lock = threading.Lock()  # pump() from the thread or a test, one at a time
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="humanoid_rt-live", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ set-up
    def _channel(self, topic: str, message, metadata: dict[str, str] | None = None) -> None:
        schema = foxglove.Schema(name=message.name, encoding="ros2msg", data=message.definition.encode())
        channel = foxglove.Channel(topic, schema=schema, message_encoding="cdr", context=self._context,
                                   metadata=dict(metadata or {}))
        self._channels[topic] = (channel, message)
        self.published[topic] = 0

    def _open_channels(self) -> None:
        robot = self.robot

        def rates(stride: int) -> dict[str, str]:  # what a viewer is told: the rate in loop time
            return {"rate_hz": f"{robot.rate_hz / stride:g}", "every_n_cycles": str(stride)}

        self._channel("/joints", schemas.joint_telemetry(robot.n_joints),
                      {"joint_names": json.dumps(robot.joint_names), "robot_id": robot.robot_id,
                       **rates(self.joint_stride)})
        self._channel("/supervisor/events", schemas.SUPERVISOR_EVENT)
        self._channel("/loop/statistics", schemas.LOOP_STATISTICS)
        self._channel("/robot_description", ROBOT_DESCRIPTION, {"root_link": self.kinematics.root_link})
        for frame in robot.task_frames:
            self._channel(f"/tasks/{frame}", TASK_ERROR, {"frame": frame})
        self._tf = FrameTransformsChannel("/tf", context=self._context,
                                          metadata={"root_link": self.kinematics.root_link,
                                                    **rates(self.transform_stride)})
        self.published["/tf"] = 0

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._server.stop()
        self._tap.close()
        for channel, _ in self._channels.values():
            channel.close()
        self._tf.close()

    def __enter__(self) -> "LiveView":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def statistics(self) -> dict[str, Any]:
        """Messages published per topic, telemetry samples the tap dropped, the thread's error, assets served."""
        return {"published": dict(self.published), "telemetry_dropped": self._tap.dropped,
                "error": repr(self._error) if self._error else None, "assets_served": self.assets.served,
                "assets_refused": self.assets.refused, "url": self.url}

    def _run(self) -> None:
        try:
            if self.cpus:
                os.sched_setaffinity(threading.get_native_id(), self.cpus)  # this thread only (a Linux TID)
            while not self._stop.wait(self.pump_period_s):
                self.pump()
        except BaseException as error:  # noqa: BLE001 - the loop runs on; statistics() says what happened
            self._error = error

    # ------------------------------------------------------------------ publishing
    def pump(self) -> None:
        """Drain and publish what is new (the thread calls this every pump_period_s)."""
        with self._lock:
            telemetry = self._tap.drain()
            if len(telemetry["cycle"]):
                self._publish_telemetry(telemetry)
            self._publish_events()
            now = time.monotonic()
            if now >= self._tasks_due:
                self._publish_tasks()
                self._tasks_due = now + 1.0 / self.transform_rate_hz
            if self.devices is not None:
                self._publish_devices()
            if now >= self._statistics_due:
                self._publish_statistics()
                self._statistics_due = now + 1.0
            if now >= self._description_due:
                self._log("/robot_description", time.monotonic_ns(), data=self.assets.urdf_text)
                self._description_due = now + DESCRIPTION_PERIOD_S

    def _monotonic_ns(self, loop_time: np.ndarray) -> np.ndarray:
        epoch = self.robot.monotonic_epoch_ns  # exact once the loop has run in real time
        if not epoch:  # only stepped: anchored at the first sample seen
            if self._monotonic_base_ns is None:
                self._monotonic_base_ns = time.monotonic_ns() - int(round(float(loop_time[0]) * 1e9))
            epoch = self._monotonic_base_ns
        return epoch + np.round(np.asarray(loop_time) * 1e9).astype(np.int64)

    @staticmethod
    def _first_of_each_window(cycles: np.ndarray, stride: int, last_window: int) -> tuple[np.ndarray, int]:
        windows = cycles.astype(np.int64) // stride
        previous = np.concatenate(([last_window], windows[:-1]))
        return np.flatnonzero(windows != previous), int(windows[-1])

    def _publish_telemetry(self, t) -> None:
        rows, self._last_joint_window = self._first_of_each_window(t["cycle"], self.joint_stride,
                                                                   self._last_joint_window)
        tf_rows, self._last_transform_window = self._first_of_each_window(t["cycle"], self.transform_stride,
                                                                          self._last_transform_window)
        wall_offset = time.time_ns() - time.monotonic_ns()
        channel, message = self._channels["/joints"]
        if len(rows) and channel.has_sinks():
            mono = self._monotonic_ns(t["t"][rows])
            packed = message.pack({
                "monotonic_ns": mono, "loop_time": t["t"][rows], "cycle": t["cycle"][rows],
                "supervisor_state": t["state"][rows], "reason": t["reason"][rows],
                "compute_ns": t["compute_ns"][rows], "q": t["q"][rows], "dq": t["dq"][rows],
                "tau_measured": t["tau_measured"][rows], "q_ref": t["q_ref"][rows], "dq_ref": t["dq_ref"][rows],
                "tau_command": t["tau_command"][rows]}, len(rows))
            for i in range(len(rows)):
                channel.log(packed[i].tobytes(), log_time=int(mono[i]) + wall_offset)
            self.published["/joints"] += len(rows)
        if len(tf_rows) and self._tf.has_sinks():
            mono = self._monotonic_ns(t["t"][tf_rows])
            for i, row in enumerate(tf_rows):
                self._publish_transforms(t["q"][row], int(mono[i]) + wall_offset)

    def _publish_transforms(self, q: np.ndarray, wall_ns: int) -> None:
        stamp = Timestamp(wall_ns // 1_000_000_000, wall_ns % 1_000_000_000)
        transforms = [FrameTransform(timestamp=stamp, parent_frame_id=link.parent, child_frame_id=link.child,
                                     translation=Vector3(x=link.translation[0], y=link.translation[1],
                                                         z=link.translation[2]),
                                     rotation=Quaternion(x=link.rotation[0], y=link.rotation[1],
                                                         z=link.rotation[2], w=link.rotation[3]))
                      for link in self.kinematics.transforms(q)]
        self._tf.log(FrameTransforms(transforms=transforms), log_time=wall_ns)
        self.published["/tf"] += 1

    def _log(self, topic: str, monotonic_ns: int, **values: Any) -> None:
        channel, message = self._channels[topic]
        if channel.has_sinks():
            wall = monotonic_ns + time.time_ns() - time.monotonic_ns()
            channel.log(message.encode(monotonic_ns=int(monotonic_ns), **values), log_time=wall)
            self.published[topic] += 1

    def _publish_events(self) -> None:
        events, self._event_index = self.robot.events_since(self._event_index)
        names = self.robot.joint_names
        for e in events:
            joint = int(e["joint"])
            self._log("/supervisor/events", int(self._monotonic_ns(np.array([e["t"]]))[0]), cycle=int(e["cycle"]),
                      loop_time=float(e["t"]), from_state=str(e["from_state"]), to_state=str(e["to_state"]),
                      reason=str(e["reason"]), joint=joint, joint_name=names[joint] if 0 <= joint < len(names) else "",
                      accepted=bool(e["accepted"]), value=float(e["value"]), limit=float(e["limit"]),
                      request_id=int(e["request_id"]))

    def _publish_tasks(self) -> None:
        topics = [f"/tasks/{frame}" for frame in self.robot.task_frames]
        if not any(self._channels[topic][0].has_sinks() for topic in topics):
            return
        state = self.robot._loop.read_state()  # one snapshot: every task of the same cycle
        if state["cycle"] == self._tasks_cycle:
            return  # the loop has not moved (stepped mode between steps): nothing new to plot
        self._tasks_cycle = state["cycle"]
        mono = time.monotonic_ns()
        for topic, task in zip(topics, state["tasks"]):
            channel, message = self._channels[topic]
            was_enabled = self._tasks_enabled.get(topic, True)
            self._tasks_enabled[topic] = task["enabled"]
            if not channel.has_sinks() or not (task["enabled"] or was_enabled):
                continue  # an idle task: one message saying so when it switches off, then nothing
            p, o = task["position_error"], task["orientation_error"]
            packed = message.pack({"monotonic_ns": mono, "loop_time": state["t"], "enabled": task["enabled"],
                                   "position_error": p, "orientation_error": o,
                                   "position_error_norm": math.hypot(*p), "orientation_error_norm": math.hypot(*o),
                                   "reference_position": task["reference_position"]}, 1)
            channel.log(packed[0].tobytes(), log_time=mono + time.time_ns() - time.monotonic_ns())
            self.published[topic] += 1

    def _publish_devices(self) -> None:
        for device in self.devices:
            sample = device.latest()  # the newest only: draining would take samples from the recorder
            if sample is None or sample["t_ns"] <= self._device_last_ns.get(device.name, -1):
                continue
            if sample["t_ns"] < self._device_last_ns.get(device.name, -1) + 1e9 / self.joint_rate_hz:
                continue  # at most joint_rate_hz per device
            self._device_last_ns[device.name] = int(sample["t_ns"])
            topic = f"/devices/{device.name}"
            columns = {k: np.asarray(v)[None] for k, v in sample.items()}
            if topic not in self._channels:
                kind = getattr(device, "kind", device.name)
                self._channel(topic, schemas.device_sample(DEVICE_TYPE_NAMES.get(kind, "DeviceSample"), columns),
                              {"device": device.name, "kind": str(kind)})
            channel, message = self._channels[topic]
            if channel.has_sinks():
                renamed = {("monotonic_ns" if k == "t_ns" else k): v for k, v in columns.items()}
                packed = message.pack(renamed, 1)
                channel.log(packed[0].tobytes(), log_time=int(sample["t_ns"]) + time.time_ns() - time.monotonic_ns())
                self.published[topic] += 1

    def _publish_statistics(self) -> None:
        s = self.robot.statistics()
        w, c = s["wakeup_latency"], s["compute_time"]
        self._log("/loop/statistics", time.monotonic_ns(), cycles=s["cycles"], overruns=s["overruns"],
                  skipped_periods=s["skipped_periods"], telemetry_overflows=s["telemetry_overflows"],
                  bus_errors=s["bus_errors"], realtime_allocations=s["realtime_allocations"],
                  wakeup_p50_us=w["p50_us"], wakeup_p99_us=w["p99_us"], wakeup_p999_us=w["p999_us"],
                  wakeup_max_us=w["max_us"], compute_p50_us=c["p50_us"], compute_p99_us=c["p99_us"],
                  # In the live stream these two count this viewer tap's own losses (none for devices: it
                  # reads their newest sample only).
                  recorder_telemetry_dropped=self._tap.dropped, recorder_device_dropped=0)
