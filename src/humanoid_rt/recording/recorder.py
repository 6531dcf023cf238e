"""The recorder: every telemetry, device, event and camera sample of an episode into MCAP.

    with Recorder(robot, "sessions/2026-11-23", devices=hub) as recorder:
        recorder.start(task="open the fridge", skill="open_fridge", scenario="kitchen-3", operator="li")
        ...                                   # teleop, skill playback, policy
        recorder.mark("grasp")
        recorder.end("failure")               # failures are kept: they teach recovery

A thread drains the loop's telemetry through its own tap (the loop never waits for
it: the core publishes into a lock-free ring, and a reader that falls behind loses
samples, counted), the devices' buffers, the supervisor's events and camera frame
registrations every `period_s`, and writes them while an episode is open (between
episodes it drains and drops, so nothing piles up). Episode calls come from any
thread; each first takes everything up to that moment into the file.

Streams (topic: message):
    /joints               JointTelemetry at the loop rate (every cycle, or every telemetry_decimation)
    /setpoints            SetpointReceived per new setpoint seen in telemetry (source, latency)
    /supervisor/events    SupervisorEvent per transition or refusal
    /loop/statistics      LoopStatistics once a second
    /devices/<name>       the device's samples at its own rate (hand, tactile, F/T, IMU)
    /cameras              CameraFrame per registered frame
    /episode/marks        EpisodeMark per mark()
    /base/state           BaseState per telemetry sample, floating base only (base_channels.py)
    /base/balance         BalanceState per telemetry sample, floating base only
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .. import __version__
from . import schemas
from .base_channels import open_base_channels, write_base_channels
from .camera import CameraFrameInbox
from .episode_file import COMPRESSION, EpisodeFile
from .session import OUTCOMES, Session, SessionError

# Message type name for each device kind (humanoid_rt.devices; the layout comes from the device's columns).
DEVICE_TYPE_NAMES = {"inspire_hand": "HandState", "tactile": "TactileFrame", "robotiq_ft": "Wrench",
                     "witmotion_imu": "Imu"}


def _jsonable(value: Any) -> Any:
    if is_dataclass(value):
        value = asdict(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


class Recorder:
    """Records episodes of one robot into a session directory."""

    def __init__(self, robot, session_dir: str | Path, *, devices=None, period_s: float = 0.01,
                 camera_port: int | None = None, flush_interval_s: float = 0.5, fsync_interval_s: float = 5.0,
                 telemetry_capacity: int | None = None, compression: str = "lz4", cpus: set[int] | None = None):
        if not (0.001 <= period_s <= 0.5):
            raise ValueError(f"period_s: must be in 0.001..0.5 s (got {period_s!r})")
        if not (0.05 <= flush_interval_s <= 1.0):
            raise ValueError(f"flush_interval_s: must be in 0.05..1.0 s, so a crash loses at most a second "
                             f"(got {flush_interval_s!r})")
        if not (fsync_interval_s >= flush_interval_s):
            raise ValueError(f"fsync_interval_s: must be >= flush_interval_s ({flush_interval_s} s) "
                             f"(got {fsync_interval_s!r})")
        if compression not in COMPRESSION:
            raise ValueError(f"compression: {compression!r}; allowed: {', '.join(COMPRESSION)}")
        if telemetry_capacity is not None and not (isinstance(telemetry_capacity, int) and telemetry_capacity >= 1):
            raise ValueError(f"telemetry_capacity: must be an integer >= 1 sample (got {telemetry_capacity!r})")
        allowed_cpus = os.sched_getaffinity(0)
        if cpus is not None and not (cpus and set(cpus) <= allowed_cpus):
            raise ValueError(f"cpus: {sorted(cpus) if cpus else cpus!r}; allowed: a non-empty subset of "
                             f"{sorted(allowed_cpus)}")
        self.robot = robot
        self.session = Session(session_dir)
        self.session.lock()  # one recorder per session; `recover` refuses while it is held
        try:
            self._set_up(devices, period_s, camera_port, flush_interval_s, fsync_interval_s, telemetry_capacity,
                         compression, cpus)
        except BaseException:  # e.g. the camera port is taken: the session is not left locked
            self.session.unlock()
            raise

    def _set_up(self, devices, period_s, camera_port, flush_interval_s, fsync_interval_s, telemetry_capacity,
                compression, cpus) -> None:
        robot = self.robot
        self.devices = devices
        self.period_s = period_s
        self.flush_interval_s = flush_interval_s
        self.fsync_interval_s = fsync_interval_s
        self.compression = compression
        self.cpus = set(cpus) if cpus else None  # CPUs for the recorder thread: keep it off the loop's
        self.cameras = CameraFrameInbox(camera_port)
        # Four seconds at the loop rate (at least 4096 samples): the recorder drains every period_s, so
        # this covers a stalled drain (a slow disk, a long episode call) without drops.
        capacity = telemetry_capacity or max(4096, int(4 * robot.rate_hz))
        self._tap = robot.telemetry_tap(capacity)
        self._event_index = robot.events_since(0)[1]  # events before the recorder are not an episode's
        self._lock = threading.RLock()  # the file and the episode fields: recorder thread and episode calls
        self._episode: dict[str, Any] | None = None
        self._counters_at_start: dict[str, int] = {}
        self._file: EpisodeFile | None = None
        self._last_setpoint = 0
        self._stats_due = 0.0
        self._monotonic_base_ns: int | None = None  # stepped mode: loop time 0 on the monotonic clock
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread_cpu_s = 0.0
        self._thread = threading.Thread(target=self._run, name="humanoid_rt-recorder", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ episodes
    @property
    def recording(self) -> bool:
        return self._episode is not None

    @property
    def episode(self) -> dict[str, Any] | None:
        """The open episode's fields (index, task, skill, scenario, operator, file), or None."""
        with self._lock:
            return dict(self._episode) if self._episode else None

    def start(self, task: str, skill: str = "", scenario: str = "", operator: str = "", **extra: Any) -> int:
        """Open an episode; returns its index. Refused (SessionError) while one is open."""
        if not isinstance(task, str) or not task.strip():
            raise SessionError("task: must be a non-empty string naming the task (e.g. 'open the fridge')")
        for name, value in (("skill", skill), ("scenario", scenario), ("operator", operator)):
            if not isinstance(value, str):
                raise SessionError(f"{name}: must be a string (got {type(value).__name__})")
        self._raise_thread_error()
        with self._lock:
            if self._episode is not None:
                raise SessionError(f"start: episode {self._episode['episode']} is still open; "
                                   f"end(outcome) or discard(reason) it first")
            self._pump()  # what came before belongs to no episode
            index = self.session.next_episode_index()
            path = self.session.episode_path(index)
            self._file = EpisodeFile(path, flush_interval_s=self.flush_interval_s,
                                     fsync_interval_s=self.fsync_interval_s, compression=self.compression)
            # robot_id: the unit's fleet identity, so the catalogue can tell robots apart across sessions;
            # robot: its config name (the file's `episode` metadata has it too).
            self._episode = {"episode": index, "task": task, "skill": skill, "scenario": scenario,
                             "operator": operator, "robot_id": self.robot.robot_id, "robot": self.robot.config.name,
                             "file": str(path.relative_to(self.session.directory)),
                             "extra": _jsonable(extra), "start_monotonic_ns": time.monotonic_ns()}
            # Counters at the start: the episode's drops and overruns are the differences at its end.
            self._counters_at_start = {**self._loop_counters(), "telemetry_dropped": self._tap.dropped}
            try:
                self._open_channels()
                self.session.append({"event": "start", **self._episode})
            except BaseException:  # nothing was recorded yet: no half-started episode stays behind
                self._file.close()
                path.unlink(missing_ok=True)
                self._episode = self._file = None
                raise
            return index

    def mark(self, event: str) -> None:
        """A labelled instant in the open episode (grasp, slip, retry ...)."""
        if not isinstance(event, str) or not event.strip():
            raise SessionError("event: must be a non-empty string")
        self._raise_thread_error()
        with self._lock:
            self._require_open("mark")
            self._pump()
            self._file.write("/episode/marks", time.monotonic_ns(), event=event)

    def end(self, outcome: str, note: str = "") -> dict[str, Any]:
        """Close the open episode labelled success, failure or aborted (all are kept). Returns its index record."""
        if outcome not in OUTCOMES:
            raise SessionError(f"outcome: {outcome!r} is not one of {', '.join(OUTCOMES)}")
        with self._lock:
            self._require_open("end")
            summary = self._finish(outcome, note)
            self.session.append({"event": "end", **summary})
            return summary

    def discard(self, reason: str) -> dict[str, Any]:
        """Close the open episode and set it aside (moved to discarded/, labelled; never exported)."""
        if not isinstance(reason, str) or not reason.strip():
            raise SessionError("reason: say why the episode is discarded (a non-empty string)")
        with self._lock:
            self._require_open("discard")
            summary = self._finish("discarded", reason)
            source = self.session.directory / summary["file"]
            target = self.session.directory / "discarded" / source.name
            target.parent.mkdir(exist_ok=True)
            source.replace(target)
            summary["file"] = str(target.relative_to(self.session.directory))
            self.session.append({"event": "discard", "episode": summary["episode"], "reason": reason,
                                 "file": summary["file"]})
            return summary

    def close(self, outcome_if_open: str = "aborted") -> None:
        """Stop the thread; an open episode is ended with `outcome_if_open` (kept, never lost)."""
        self._stop.set()
        self._thread.join()
        try:
            with self._lock:
                if self._episode is not None:
                    self.session.append({"event": "end", **self._finish(outcome_if_open, "recorder closed")})
        finally:
            self._tap.close()
            self.cameras.close()
            self.session.unlock()

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, *exc) -> None:
        self.close("aborted")

    def statistics(self) -> dict[str, Any]:
        """The recorder's counters: telemetry samples its tap dropped, per-topic message counts of the open file."""
        with self._lock:
            return {"error": repr(self._error) if self._error else None,
                    "telemetry_dropped": self._tap.dropped,
                    "thread_cpu_s": self.thread_cpu_s(),
                    "device_dropped": self._device_dropped(),
                    "camera_frames_rejected": self.cameras.rejected,
                    "messages": dict(self._file.message_counts) if self._file else {}}

    def thread_cpu_s(self) -> float:
        """CPU time the recorder thread has used [s] (the MCAP writer compresses and writes in it too),
        as of its latest drain (every period_s)."""
        return self._thread_cpu_s

    # ------------------------------------------------------------------ internals
    def _require_open(self, call: str) -> None:
        if self._episode is None:
            raise SessionError(f"{call}: no episode is open; call start(task, ...) first")

    def _raise_thread_error(self) -> None:
        if self._error is not None:
            raise RuntimeError(f"the recorder thread failed: {self._error!r}") from self._error

    def _run(self) -> None:
        try:
            if self.cpus:
                os.sched_setaffinity(threading.get_native_id(), self.cpus)  # this thread only (a Linux TID)
            while not self._stop.wait(self.period_s):
                with self._lock:
                    self._pump()
                self._thread_cpu_s = time.thread_time()
        except BaseException as error:  # raised at the next start()/mark(), noted at end(); the loop runs on
            self._error = error
        self._thread_cpu_s = time.thread_time()

    def _finish(self, outcome: str, note: str) -> dict[str, Any]:
        """Take what is left, close the file, whatever fails: the episode always ends, labelled."""
        errors = [f"recorder thread: {self._error!r}"] if self._error else []
        try:
            self._pump()
        except Exception as error:  # noqa: BLE001 - e.g. disk full: what is on disk stays, the episode ends
            errors.append(f"last drain: {error!r}")
        episode = self._episode
        try:
            return self._close_file(outcome, "; ".join([note] + errors) if errors else note)
        except Exception as error:  # noqa: BLE001
            self._episode = self._file = None
            summary = {"episode": episode["episode"], "file": episode["file"], "outcome": outcome,
                       "note": "; ".join([note] + errors + [f"closing the file: {error!r}"])}
            self._count_episode(episode, summary)
            return summary

    def _count_episode(self, episode: dict[str, Any], summary: dict[str, Any]) -> None:
        """Prometheus: humanoid_rt_episodes_total when the robot serves metrics (humanoid_rt.live.metrics)."""
        metrics = getattr(self.robot, "metrics", None)
        if metrics is not None:
            metrics.count_episode(episode, summary)

    def _device_dropped(self) -> int:
        if self.devices is None:
            return 0
        return sum(int(s.get("dropped", 0)) for s in self.devices.statistics().values())

    def _loop_counters(self) -> dict[str, Any]:
        s = self.robot.statistics()
        return {k: s[k] for k in ("overruns", "telemetry_overflows", "bus_errors")}

    def _open_channels(self) -> None:
        f = self._file
        robot = self.robot
        f.channel("/joints", schemas.joint_telemetry(robot.n_joints), {"joint_names": json.dumps(robot.joint_names)})
        f.channel("/setpoints", schemas.SETPOINT_RECEIVED)
        f.channel("/supervisor/events", schemas.SUPERVISOR_EVENT)
        f.channel("/loop/statistics", schemas.LOOP_STATISTICS)
        f.channel("/episode/marks", schemas.EPISODE_MARK)
        f.channel("/cameras", schemas.CAMERA_FRAME)
        open_base_channels(f, robot)
        config = robot.config
        f.metadata("episode", {
            **self._episode, "extra": json.dumps(self._episode["extra"]),
            "robot": config.name, "joint_names": json.dumps(robot.joint_names), "n_joints": robot.n_joints,
            "rate_hz": robot.rate_hz, "limits_hash": robot.limits_hash, "humanoid_rt_version": __version__,
            "wall_minus_monotonic_ns": f.wall_minus_monotonic_ns, "start_wall_time_ns": time.time_ns(),
        })
        if config.source_path is not None and Path(config.source_path).is_file():
            f.attach("robot.yaml", Path(config.source_path).read_bytes(), "application/yaml")
        f.attach("robot_config.json", json.dumps(_jsonable(config), indent=1).encode(), "application/json")
        f.attach("robot.urdf", Path(config.urdf_path).read_bytes(), "application/xml")

    def _close_file(self, outcome: str, note: str) -> dict[str, Any]:
        episode, f = self._episode, self._file
        now = {**self._loop_counters(), "telemetry_dropped": self._tap.dropped}
        summary = {
            "episode": episode["episode"], "file": episode["file"], "outcome": outcome, "note": note,
            "duration_s": (time.monotonic_ns() - episode["start_monotonic_ns"]) / 1e9,
            **{k: now[k] - self._counters_at_start[k]
               for k in ("telemetry_dropped", "telemetry_overflows", "overruns", "bus_errors")},
            "device_dropped": self._device_dropped(),
            "messages": dict(f.message_counts),
        }
        try:
            f.metadata("outcome", {**summary, "messages": json.dumps(summary["messages"])})
        finally:
            self._episode = None
            self._file = None
            f.close()
        self._count_episode(episode, summary)
        return summary

    def monotonic_ns_at(self, loop_time: np.ndarray) -> np.ndarray:
        """Loop times on CLOCK_MONOTONIC: exact once the loop has run in real time (its epoch); anchored at
        the first sample seen when it has only been stepped (simulated time has no clock of its own)."""
        epoch = self.robot.monotonic_epoch_ns  # the latest real-time run's, also for samples drained after it
        if epoch:
            return epoch + np.round(loop_time * 1e9).astype(np.int64)
        if self._monotonic_base_ns is None:
            self._monotonic_base_ns = time.monotonic_ns() - int(round(float(loop_time[0]) * 1e9))
        return self._monotonic_base_ns + np.round(loop_time * 1e9).astype(np.int64)

    def _pump(self) -> None:
        """Drain every source; write into the open episode (or drop between episodes). Under _lock."""
        telemetry = self._tap.drain()
        devices = self.devices.drain_all() if self.devices is not None else {}
        events, self._event_index = self.robot.events_since(self._event_index)
        frames = self.cameras.drain()
        f = self._file
        if f is None:
            if len(telemetry["cycle"]):
                self._last_setpoint = int(telemetry["setpoint_sequence"][-1])
            return
        if len(telemetry["cycle"]):
            self._write_telemetry(f, telemetry)
        for name, columns in devices.items():
            self._write_device(f, name, columns)
        for event in events:
            self._write_event(f, event)
        for frame in frames:
            f.write("/cameras", frame["t_ns"], camera=frame["camera"], frame_index=frame["frame_index"],
                    uri=frame["uri"])
        now = time.monotonic()
        if now >= self._stats_due:
            self._write_statistics(f)
            self._stats_due = now + 1.0
        f.maybe_flush()

    def _write_telemetry(self, f: EpisodeFile, t: Mapping[str, np.ndarray]) -> None:
        mono = self.monotonic_ns_at(t["t"])
        f.write_packed("/joints", {
            "monotonic_ns": mono, "loop_time": t["t"], "cycle": t["cycle"], "supervisor_state": t["state"],
            "reason": t["reason"], "compute_ns": t["compute_ns"], "q": t["q"], "dq": t["dq"],
            "tau_measured": t["tau_measured"], "q_ref": t["q_ref"], "dq_ref": t["dq_ref"],
            "tau_command": t["tau_command"]}, mono)
        write_base_channels(f, t, mono)
        # One record per setpoint that entered the interpolator since the last batch.
        sequence = t["setpoint_sequence"]
        new = np.flatnonzero(np.diff(np.concatenate(([self._last_setpoint], sequence))) > 0)
        for i in new:
            written, applied = float(t["setpoint_t_written"][i]), float(t["setpoint_applied_t"][i])
            f.write("/setpoints", int(mono[i]), sequence=int(sequence[i]),
                    source=schemas.SETPOINT_SOURCES[int(t["setpoint_source"][i])], t_written=written,
                    t_applied=applied, t_target=float(t["setpoint_t_target"][i]), latency_s=applied - written)
        self._last_setpoint = int(sequence[-1])

    def _write_device(self, f: EpisodeFile, name: str, columns: Mapping[str, np.ndarray]) -> None:
        if not len(columns.get("t_ns", ())):
            return
        topic = f"/devices/{name}"
        if not f.has_channel(topic):
            kind = getattr(self.devices[name], "kind", name)
            type_name = DEVICE_TYPE_NAMES.get(kind, "DeviceSample")
            shapes = {("monotonic_ns" if k == "t_ns" else k): list(np.shape(v)[1:]) for k, v in columns.items()
                      if np.ndim(v) > 2}
            f.channel(topic, schemas.device_sample(type_name, columns),
                      {"device": name, "kind": str(kind), "shapes": json.dumps(shapes)})
        renamed = {("monotonic_ns" if k == "t_ns" else k): v for k, v in columns.items()}
        f.write_packed(topic, renamed, columns["t_ns"])

    def _write_event(self, f: EpisodeFile, e: Mapping[str, Any]) -> None:
        mono = int(self.monotonic_ns_at(np.array([e["t"]]))[0])
        joint = int(e["joint"])
        f.write("/supervisor/events", mono, cycle=int(e["cycle"]), loop_time=float(e["t"]),
                from_state=str(e["from_state"]), to_state=str(e["to_state"]), reason=str(e["reason"]),
                joint=joint, joint_name=self.robot.joint_names[joint] if 0 <= joint < self.robot.n_joints else "",
                accepted=bool(e["accepted"]), value=float(e["value"]), limit=float(e["limit"]),
                request_id=int(e["request_id"]))

    def _write_statistics(self, f: EpisodeFile) -> None:
        s = self.robot.statistics()
        w, c = s["wakeup_latency"], s["compute_time"]
        f.write("/loop/statistics", time.monotonic_ns(), cycles=s["cycles"], overruns=s["overruns"],
                skipped_periods=s["skipped_periods"], telemetry_overflows=s["telemetry_overflows"],
                bus_errors=s["bus_errors"], realtime_allocations=s["realtime_allocations"],
                wakeup_p50_us=w["p50_us"], wakeup_p99_us=w["p99_us"], wakeup_p999_us=w["p999_us"],
                wakeup_max_us=w["max_us"], compute_p50_us=c["p50_us"], compute_p99_us=c["p99_us"],
                recorder_telemetry_dropped=self._tap.dropped, recorder_device_dropped=self._device_dropped())
