"""Export a recording session as a LeRobot v3 dataset: `humanoid-rt export-lerobot SESSION OUT --fps 30`.

    report = export_session("sessions/2026-11-23", "datasets/fridge", fps=30)
    report["episodes"], report["frames"], report["skipped"]   # skipped: (session episode, file, why)

Every ended episode is exported, whatever its outcome (failures and aborts teach recovery);
discarded episodes, episodes still recording and unreadable files are skipped and listed.
Nothing in SESSION is written; OUT is built in a sibling temporary directory and renamed into
place at the end, so a failed export leaves no half dataset.

Layout written (LeRobot codebase v3.0)::

    OUT/meta/info.json                          codebase_version "v3.0", robot_type, fps, features, totals,
                                                chunks_size, data_files_size_in_mb, data_path, video_path, splits
    OUT/meta/stats.json                         per feature: min, max, mean, std, count, q01, q10, q50, q90,
                                                q99, reduced over all but the last axis (lerobot_stats.py)
    OUT/meta/tasks.parquet                      task_index, indexed by the task string (pandas index)
    OUT/meta/episodes/chunk-000/file-000.parquet
        episode_index, tasks, length, data/chunk_index, data/file_index, dataset_from_index,
        dataset_to_index, meta/episodes/chunk_index, meta/episodes/file_index, stats/<feature>/<stat>,
        and ours: success, outcome, skill, scenario, operator, source_file, source_episode
    OUT/data/chunk-000/file-000.parquet         one row per frame (a new file past data_files_size_in_mb;
                                                an episode is never split across files)

Checked against huggingface/lerobot (src/lerobot/datasets/): utils.py (INFO_PATH, STATS_PATH,
DEFAULT_TASKS_PATH, DEFAULT_EPISODES_PATH, DEFAULT_DATA_PATH "data/chunk-{chunk_index:03d}/
file-{file_index:03d}.parquet", DEFAULT_FEATURES, create_empty_dataset_info, get_hf_features_from_features:
shape (1,) -> Value, 1-D -> Sequence(length), 2-D/3-D -> Array2D/Array3D, dtype "string" allowed;
load_tasks = pandas.read_parquet, load_episodes drops "stats/" columns); lerobot_dataset.py
(LeRobotDatasetMetadata.load_metadata reads info, tasks, episodes, stats; save_episode writes
episode_index, tasks, length, flattened "stats/..." and splits {"train": "0:N"}; data files are located
through the episode's data/chunk_index and data/file_index; __getitem__ maps task_index to
tasks.iloc[i].name; v3 has no check that timestamps sit on the 1/fps grid, so real timestamps load);
compute_stats.py (0.6.1: per episode min/max/mean/std/count and q01..q99 over every axis but the
last, string features skipped, aggregated with the parallel-variance formula and count-weighted
quantiles: lerobot_stats.py); v30/convert_dataset_v21_to_v30.py (episode table columns, "fps" repeated
in each non-video feature). `.ci/lerobot_check.sh` loads an export with LeRobot 0.6.1 itself.

What a frame is:

* Frame k of an episode is taken at t0 + k/fps on CLOCK_MONOTONIC, t0 being the episode's first
  loop sample. It holds the loop's latest telemetry sample at or before that instant (never a later
  one), and `timestamp` is that sample's own recorded time minus t0, in seconds: loop jitter or a
  telemetry gap shows in it instead of being hidden as k/fps. (A gap longer than a frame repeats the
  last sample and its timestamp.)
* observation.state = measured joint positions q; observation.velocity = dq; observation.effort =
  measured torque; names "<joint>.pos/.vel/.effort" as in policy/lerobot.py.
* observation.base_state (a robot with a floating base, lerobot_base.py): the base state estimator's
  position, orientation quaternion, linear and angular velocity at the frame's cycle (13 values).
* action = q_ref, the position reference the loop was tracking at that cycle (after interpolation and
  limits): what the teleop/skill/policy commanded, as the robot actually applied it. A policy trained on
  it drives the robot through the same set_joint_targets path (LeRobotAdapter.send_action).
* Devices (only those the session has), over the frame's interval (t_{k-1}, t_k] of real frame times:
  - F/T (robotiq_ft): observation.wrench.<device>, (w, 6): the last w samples received at or before
    t_k ("last-w", not resampled: every value is a recorded sample). w = ceil(highest sample rate in the
    session / fps) + 1, so every interval's samples fit with a sample to spare for jitter (override
    per device with `windows`). The interval's own samples are the last `samples.<device>` rows; rows
    before them are older samples (held history). An interval with more than w samples (a burst)
    keeps the newest w and `samples.<device>` says how many arrived.
  - IMU (witmotion_imu): observation.imu.<device>, (w, 10) accel xyz, gyro xyz, quat wxyz, same rule.
  - tactile: observation.tactile.<device>, (rows, cols): the latest frame at or before t_k (a window
    of taxel grids would multiply the dataset size for little gain at 30 fps).
  - hand (inspire_hand): observation.hand.<device>, (12,): the latest angle and force per finger.
  - other kinds: observation.device.<device>, the latest sample's numeric columns.
  Before a device's first sample in an episode its first sample is held backwards (count 0 says so).
  `samples.<device>` (int64) = samples received in the interval.
* next.done: true on every episode's last frame; next.success: true only on the last frame of a
  successful episode; next.reward: 1.0 on that frame, else 0.0 - the sparse success reward LeRobot's
  reward-classifier / HIL-SERL recordings use, so RL code finds the outcome where it looks for it.
  The episodes table carries the episode-level `success` (bool) and `outcome`, and so does every frame:
  `episode.outcome` (string: success, failure, aborted, ...; success is `episode.outcome == "success"`).
  Why both: LeRobot 0.6.1's delete_episodes and split_dataset rebuild the episodes table with their own
  columns only (episode_index, tasks, length, file pointers, stats), dropping ours (success, outcome,
  skill, scenario, operator, source_file, source_episode); they copy the frame columns, so
  `episode.outcome` and next.success survive them. merge_datasets and add/remove/modify_features
  keep the episodes table's columns.
* Cameras registered in /cameras: camera.<camera>.frame_index (int64) and camera.<camera>.uri (string),
  the frame nearest in time to t_k (-1 and "" when that camera sent nothing in the episode). The videos
  are the camera process's files; they are referenced, not re-encoded here (no video features). These
  columns stay outside "observation." so LeRobot does not mistake them for policy inputs.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from mcap.reader import make_reader

from ..errors import HumanoidRtError
from . import lerobot_base
from .lerobot_stats import aggregate_stats, frame_stats, jsonable
from .reader import packed_layout, read_episode
from .session import Session, SessionError

CODEBASE_VERSION = "v3.0"
FPS_RANGE = (1, 1000)
CHUNKS_SIZE = 1000            # files per chunk directory (LeRobot's DEFAULT_CHUNK_SIZE)
DATA_FILES_SIZE_IN_MB = 100   # a new data file past this (LeRobot's DEFAULT_DATA_FILE_SIZE_IN_MB)
CHUNK_FILE = "chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
DATA_PATH = "data/" + CHUNK_FILE
EPISODES_PATH = "meta/episodes/" + CHUNK_FILE

# kind -> (feature prefix, columns concatenated per sample, window or latest)
DEVICE_FEATURES = {
    "robotiq_ft": ("observation.wrench", ("wrench",), "window"),
    "witmotion_imu": ("observation.imu", ("accel", "gyro", "quat"), "window"),
    "tactile": ("observation.tactile", ("pressure",), "latest"),
    "inspire_hand": ("observation.hand", ("angle", "force"), "latest"),
}
COMPONENT_NAMES = {"wrench": ("fx", "fy", "fz", "tx", "ty", "tz"), "accel": ("x", "y", "z"),
                   "gyro": ("x", "y", "z"), "quat": ("w", "x", "y", "z")}
NOT_DATA = ("monotonic_ns", "seq")  # device columns that are bookkeeping, not measurements


class ExportError(HumanoidRtError, ValueError):
    """An export that cannot be done, naming the argument and what is allowed."""


@dataclass
class DevicePlan:
    name: str
    kind: str
    feature: str
    columns: tuple[str, ...]
    shapes: dict[str, tuple[int, ...]]
    window: int | None           # None: latest sample only
    rate_hz: float = 0.0

    @property
    def sample_shape(self) -> tuple[int, ...]:
        if len(self.columns) == 1 and len(self.shapes[self.columns[0]]) > 1:
            return self.shapes[self.columns[0]]          # a taxel grid stays a grid
        return (sum(int(np.prod(self.shapes[c])) for c in self.columns),)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.sample_shape if self.window is None else (self.window, *self.sample_shape)

    def names(self) -> Any:
        if len(self.sample_shape) > 1:
            return ["rows", "cols"]
        components = []
        for c in self.columns:
            size = int(np.prod(self.shapes[c]))
            labels = COMPONENT_NAMES.get(c, ())
            components += [f"{c}.{labels[i] if len(labels) == size else i}" for i in range(size)]
        return components if self.window is None else {"window": self.window, "components": components}


@dataclass
class Plan:
    """What the whole session's episodes share: joints, devices, cameras; fixed before writing."""
    episodes: list[dict[str, Any]] = field(default_factory=list)     # index records to export
    skipped: list[tuple[int, str, str]] = field(default_factory=list)
    joint_names: list[str] | None = None
    robot_type: str | None = None
    devices: dict[str, DevicePlan] = field(default_factory=dict)
    cameras: list[str] = field(default_factory=list)
    base_state: bool | None = None   # floating base: observation.base_state (None until an episode is planned)


# ---------------------------------------------------------------------------------------------- planning
def _summary(path: Path):
    with open(path, "rb") as f:
        reader = make_reader(f)
        summary = reader.get_summary()
        metadata = {m.name: dict(m.metadata) for m in reader.iter_metadata()}
    if summary is None or summary.statistics is None:
        raise ValueError("no summary section (not a closed MCAP file)")
    return summary, metadata


def _plan(session: Session, fps: int, windows: dict[str, int]) -> Plan:
    plan = Plan()
    rates: dict[str, float] = {}
    for record in session.episodes():
        episode, file = record["episode"], record.get("file") or "?"
        if record.get("status") == "discarded":
            plan.skipped.append((episode, file, f"discarded ({record.get('discard_reason') or 'no reason given'})"))
            continue
        if record.get("status") != "ended":
            plan.skipped.append((episode, file, "still recording (if no recorder is running: humanoid-rt recover "
                                                "SESSION, which closes it as aborted)"))
            continue
        path = session.directory / file
        try:
            summary, metadata = _summary(path)
            joint_names = json.loads(metadata["episode"]["joint_names"])
            counts = summary.statistics.channel_message_counts
            duration_s = (summary.statistics.message_end_time - summary.statistics.message_start_time) / 1e9
            devices = {}
            for channel_id, channel in summary.channels.items():
                if not channel.topic.startswith("/devices/") or not counts.get(channel_id):
                    continue
                layout = packed_layout("device", summary.schemas[channel.schema_id].data.decode())
                if layout is None:
                    raise ValueError(f"{channel.topic}: not a fixed-layout device stream")
                devices[channel.topic] = (channel, layout, counts[channel_id])
            has_base_state = lerobot_base.has_base_state(summary)
            has_cameras = any(c.topic == "/cameras" and counts.get(i) for i, c in summary.channels.items())
            cameras = {m.camera for m in read_episode(path, topics=["/cameras"]).messages.get("/cameras", [])} \
                if has_cameras else set()
        except Exception as error:  # a corrupt file raises whatever its decoder meets; never abort the others
            plan.skipped.append((episode, file, f"unreadable: {type(error).__name__}: {error}"))
            continue
        if plan.joint_names is None:
            plan.joint_names, plan.robot_type = joint_names, metadata["episode"].get("robot")
        elif joint_names != plan.joint_names:
            plan.skipped.append((episode, file, f"joints {joint_names} differ from the session's first exported "
                                                f"episode {plan.joint_names}"))
            continue
        conflict = lerobot_base.disagreement(plan.base_state, has_base_state) or \
            _merge_devices(plan, devices, rates, duration_s)
        if conflict:
            plan.skipped.append((episode, file, conflict))
            continue
        plan.cameras = sorted(set(plan.cameras) | cameras)
        plan.base_state = has_base_state
        plan.episodes.append(record)
    for name, device in plan.devices.items():
        device.rate_hz = rates[name]
        if device.window is not None:
            device.window = windows.get(name) or math.ceil(device.rate_hz / fps) + 1
    return plan


def _merge_devices(plan: Plan, devices: dict, rates: dict[str, float], duration_s: float) -> str | None:
    """Add an episode's devices to the plan; a reason to skip the episode if one disagrees with the plan."""
    found = {}
    for topic, (channel, layout, count) in devices.items():
        name = topic[len("/devices/"):]
        kind = channel.metadata.get("kind", "")
        shapes_meta = json.loads(channel.metadata.get("shapes", "{}"))
        shapes = {f.name: tuple(shapes_meta.get(f.name, [f.length] if f.length else [])) for f in layout.fields}
        prefix, columns, mode = DEVICE_FEATURES.get(
            kind, ("observation.device", tuple(f.name for f in layout.fields if f.name not in NOT_DATA), "latest"))
        if not columns:
            continue  # nothing measured (only times and sequence numbers): no feature to make
        if any(c not in shapes for c in columns):
            return f"{topic}: a {kind} without the columns {', '.join(columns)}"
        device = DevicePlan(name, kind, f"{prefix}.{name}", columns, {c: shapes[c] for c in columns},
                            0 if mode == "window" else None)
        known = plan.devices.get(name)
        if known is not None and (known.kind, known.shapes) != (device.kind, device.shapes):
            return f"{topic}: {kind} {device.shapes} differs from earlier episodes' {known.kind} {known.shapes}"
        found[name] = (device, count / duration_s if duration_s > 0 else 0.0)
    for name, (device, rate) in found.items():
        plan.devices.setdefault(name, device)
        rates[name] = max(rates.get(name, 0.0), rate)
    return None


# ---------------------------------------------------------------------------------------------- features
def features(plan: Plan, fps: int) -> dict[str, dict[str, Any]]:
    """info.json's features, in column order."""
    joints = plan.joint_names or []
    out: dict[str, dict[str, Any]] = {
        "observation.state": {"dtype": "float32", "shape": [len(joints)], "names": [f"{j}.pos" for j in joints]},
        "observation.velocity": {"dtype": "float32", "shape": [len(joints)], "names": [f"{j}.vel" for j in joints]},
        "observation.effort": {"dtype": "float32", "shape": [len(joints)],
                               "names": [f"{j}.effort" for j in joints]},
        "action": {"dtype": "float32", "shape": [len(joints)], "names": [f"{j}.pos" for j in joints]},
    }
    if plan.base_state:
        out[lerobot_base.FEATURE] = lerobot_base.feature_spec()
    for device in plan.devices.values():
        out[device.feature] = {"dtype": "float32", "shape": list(device.shape), "names": device.names()}
        out[f"samples.{device.name}"] = {"dtype": "int64", "shape": [1], "names": None}
    for camera in plan.cameras:
        out[f"camera.{camera}.frame_index"] = {"dtype": "int64", "shape": [1], "names": None}
        out[f"camera.{camera}.uri"] = {"dtype": "string", "shape": [1], "names": None}
    out["episode.outcome"] = {"dtype": "string", "shape": [1], "names": None}
    out["next.reward"] = {"dtype": "float32", "shape": [1], "names": None}
    out["next.done"] = {"dtype": "bool", "shape": [1], "names": None}
    out["next.success"] = {"dtype": "bool", "shape": [1], "names": None}
    for name, dtype in (("timestamp", "float32"), ("frame_index", "int64"), ("episode_index", "int64"),
                        ("index", "int64"), ("task_index", "int64")):
        out[name] = {"dtype": dtype, "shape": [1], "names": None}
    for spec in out.values():
        spec["fps"] = fps
    return out


def _arrow_type(spec: dict[str, Any]) -> pa.DataType:
    """The arrow type HF datasets stores the feature as (what LeRobot's reader casts from)."""
    base = {"float32": pa.float32(), "int64": pa.int64(), "bool": pa.bool_(), "string": pa.string()}[spec["dtype"]]
    shape = spec["shape"]
    if shape == [1]:
        return base
    if len(shape) == 1:
        return pa.list_(base, shape[0])   # Sequence(length=n): a fixed-size list
    for _ in shape:                       # ArrayND: nested variable lists (its storage type)
        base = pa.list_(base)
    return base


def _arrow_column(values: np.ndarray, spec: dict[str, Any]) -> pa.Array:
    shape = spec["shape"]
    if shape == [1]:
        return pa.array(values.tolist() if spec["dtype"] == "string" else values, type=_arrow_type(spec))
    flat = pa.array(np.ascontiguousarray(values).reshape(-1))
    if len(shape) == 1:
        return pa.FixedSizeListArray.from_arrays(flat, shape[0])
    rows = len(values)
    for size in reversed(shape):
        count = len(flat) // size
        flat = pa.ListArray.from_arrays(pa.array(np.arange(count + 1, dtype=np.int32) * size), flat)
    assert len(flat) == rows
    return flat


# ---------------------------------------------------------------------------------------------- frames
def _latest_at_or_before(times: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Index of the last time <= each `at` (-1 where none)."""
    return np.searchsorted(times, at, side="right") - 1


def device_windows(times: np.ndarray, values: np.ndarray, frame_t: np.ndarray, previous_t: np.ndarray,
                   window: int) -> tuple[np.ndarray, np.ndarray]:
    """(frames, window, ...) of the last `window` samples at or before each frame time, and the number of
    samples in each interval (previous_t, frame_t]. Indexes before the first sample hold the first sample."""
    end = np.searchsorted(times, frame_t, side="right")
    count = end - np.searchsorted(times, previous_t, side="right")
    if len(times) == 0:
        return np.zeros((len(frame_t), window, *values.shape[1:]), dtype=np.float32), count
    rows = np.clip(end[:, None] - window + np.arange(window), 0, len(times) - 1)
    return values[rows].astype(np.float32), count


def _episode_frames(episode, outcome: str, plan: Plan, fps: int, feats: dict[str, dict]) -> dict[str, np.ndarray]:
    joints = episode.streams.get("/joints")
    if joints is None or not len(joints["monotonic_ns"]):
        raise ValueError("no joint telemetry")
    mono = joints["monotonic_ns"].astype(np.int64)
    t0 = int(mono[0])
    n_frames = (int(mono[-1]) - t0) * fps // 1_000_000_000 + 1
    grid = t0 + np.arange(n_frames, dtype=np.int64) * 1_000_000_000 // fps
    pick = _latest_at_or_before(mono, grid)          # >= 0: grid[0] is the first sample's time
    frame_t = mono[pick]
    previous_t = np.concatenate(([t0 - 1_000_000_000 // fps], frame_t[:-1]))
    frames: dict[str, np.ndarray] = {
        "observation.state": joints["q"][pick], "observation.velocity": joints["dq"][pick],
        "observation.effort": joints["tau_measured"][pick], "action": joints["q_ref"][pick],
    }
    if plan.base_state:
        frames[lerobot_base.FEATURE] = lerobot_base.frames(episode, frame_t)
    for device in plan.devices.values():
        stream = episode.streams.get(f"/devices/{device.name}")
        if stream is None:
            times = np.zeros(0, dtype=np.int64)
            values = np.zeros((0, *device.sample_shape), dtype=np.float32)
        else:
            times = stream["monotonic_ns"].astype(np.int64)
            order = np.argsort(times, kind="stable")   # reception order is time order; be sure
            times = times[order]
            values = np.concatenate([stream[c].reshape(len(times), -1) for c in device.columns], axis=1)[order] \
                if len(device.sample_shape) == 1 else stream[device.columns[0]][order]
        windowed, count = device_windows(times, values, frame_t, previous_t, device.window or 1)
        frames[device.feature] = windowed if device.window is not None else windowed[:, 0]
        frames[f"samples.{device.name}"] = count.astype(np.int64)
    registrations = episode.messages.get("/cameras", [])
    for camera in plan.cameras:
        mine = sorted(((int(m.monotonic_ns), int(m.frame_index), m.uri) for m in registrations if m.camera == camera))
        if not mine:
            frames[f"camera.{camera}.frame_index"] = np.full(n_frames, -1, dtype=np.int64)
            frames[f"camera.{camera}.uri"] = np.array([""] * n_frames, dtype=object)
            continue
        times = np.array([m[0] for m in mine], dtype=np.int64)
        after = np.clip(np.searchsorted(times, frame_t), 0, len(times) - 1)
        before = np.clip(after - 1, 0, len(times) - 1)
        nearest = np.where(np.abs(times[before] - frame_t) <= np.abs(times[after] - frame_t), before, after)
        frames[f"camera.{camera}.frame_index"] = np.array([mine[i][1] for i in nearest], dtype=np.int64)
        frames[f"camera.{camera}.uri"] = np.array([mine[i][2] for i in nearest], dtype=object)
    last = np.arange(n_frames) == n_frames - 1
    success = outcome == "success"
    frames["episode.outcome"] = np.array([outcome] * n_frames, dtype=object)
    frames["next.done"] = last
    frames["next.success"] = last & success
    frames["next.reward"] = (last & success).astype(np.float32)
    frames["timestamp"] = ((frame_t - t0) / 1e9).astype(np.float32)
    frames["frame_index"] = np.arange(n_frames, dtype=np.int64)
    return {k: np.asarray(v, dtype=object if feats[k]["dtype"] == "string" else feats[k]["dtype"])
            for k, v in frames.items()}


# ---------------------------------------------------------------------------------------------- writing
class _DataFiles:
    """data/chunk-XXX/file-YYY.parquet, a new file once the current one passes the size limit."""

    def __init__(self, root: Path, schema: pa.Schema, limit_mb: float):
        self.root, self.schema, self.limit = root, schema, limit_mb * 1024 * 1024
        self.chunk = self.file = 0
        self.writer: pq.ParquetWriter | None = None
        self.bytes = 0

    def write(self, table: pa.Table) -> tuple[int, int]:
        if self.writer is not None and self.bytes >= self.limit:
            self.writer.close()
            self.writer = None
            self.file += 1
            if self.file == CHUNKS_SIZE:
                self.chunk, self.file = self.chunk + 1, 0
        if self.writer is None:
            path = self.root / DATA_PATH.format(chunk_index=self.chunk, file_index=self.file)
            path.parent.mkdir(parents=True, exist_ok=True)
            self.writer = pq.ParquetWriter(path, self.schema)
            self.bytes = 0
        self.writer.write_table(table)
        self.bytes += table.nbytes
        return self.chunk, self.file

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _write_tasks(path: Path, tasks: list[str]) -> None:
    """tasks.parquet as pandas writes DataFrame({"task_index": ...}, index=tasks): LeRobot reads it with
    pandas.read_parquet and looks tasks up by index. Written with pyarrow and pandas' schema metadata,
    so exporting does not need pandas."""
    table = pa.table({"task_index": pa.array(range(len(tasks)), type=pa.int64()),
                      "__index_level_0__": pa.array(tasks, type=pa.string())})
    pandas_meta = {
        "index_columns": ["__index_level_0__"],
        "column_indexes": [{"name": None, "field_name": None, "pandas_type": "unicode", "numpy_type": "object",
                            "metadata": {"encoding": "UTF-8"}}],
        "columns": [{"name": "task_index", "field_name": "task_index", "pandas_type": "int64",
                     "numpy_type": "int64", "metadata": None},
                    {"name": None, "field_name": "__index_level_0__", "pandas_type": "unicode",
                     "numpy_type": "object", "metadata": None}],
        "creator": {"library": "pyarrow", "version": pa.__version__},
        "pandas_version": "2.2.3",
    }
    pq.write_table(table.replace_schema_metadata({"pandas": json.dumps(pandas_meta)}), path)


def _check_arguments(session_dir: Path, out_dir: Path, fps: Any, overwrite: bool) -> Session:
    if isinstance(fps, bool) or not isinstance(fps, (int, np.integer)) or not FPS_RANGE[0] <= fps <= FPS_RANGE[1]:
        raise ExportError(f"fps: must be a whole number of frames per second in {FPS_RANGE[0]}..{FPS_RANGE[1]} "
                          f"(LeRobot stores fps as an integer; got {fps!r})")
    if not session_dir.is_dir():
        raise ExportError(f"SESSION: {session_dir} is not a directory; give a recording session directory "
                          "(one with index.jsonl)")
    try:
        session = Session(session_dir, create=False)
    except SessionError as error:
        raise ExportError(f"SESSION: {error}") from None
    out, source = out_dir.resolve(), session_dir.resolve()
    if out == source or source in out.parents or out in source.parents:
        raise ExportError(f"OUT: {out_dir} overlaps SESSION {session_dir}; the export never writes into the "
                          "session: choose a directory outside it")
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        if not overwrite:
            raise ExportError(f"OUT: {out_dir} exists and is not empty; pass --overwrite (overwrite=True) to "
                              "replace it, or choose a new directory")
        if not (out_dir / "meta" / "info.json").is_file():
            # --overwrite replaces an earlier dataset, never whatever directory was named by mistake.
            raise ExportError(f"OUT: {out_dir} is not a LeRobot dataset (no meta/info.json); --overwrite only "
                              "replaces a dataset: choose a new directory")
    return session


def export_session(session_dir: str | Path, out_dir: str | Path, *, fps: int = 30, overwrite: bool = False,
                   windows: dict[str, int] | None = None, robot_type: str | None = None,
                   progress: bool | None = None, log: Callable[[str], None] | None = None,
                   data_files_size_in_mb: float = DATA_FILES_SIZE_IN_MB) -> dict[str, Any]:
    """Write every ended episode of `session_dir` as a LeRobot v3 dataset in `out_dir` (see the module doc).

    windows: samples per frame window by device name (default: from the device's rate, see above).
    progress: a tqdm bar over episodes (None: when stderr is a terminal). log: where "skipped ..."
    messages go as they happen (default: nowhere; the report lists them). Returns a report:
    episodes, frames, tasks, skipped [(session episode, file, reason)], windows, out.
    """
    session_dir, out_dir = Path(session_dir), Path(out_dir)
    windows = dict(windows or {})
    for name, size in windows.items():
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 10_000:
            raise ExportError(f"windows[{name!r}]: must be a whole number of samples in 1..10000 (got {size!r})")
    session = _check_arguments(session_dir, out_dir, fps, overwrite)
    say = log or (lambda message: None)
    plan = _plan(session, int(fps), windows)
    for episode, file, reason in plan.skipped:
        say(f"skipped episode {episode} ({file}): {reason}")
    unknown = sorted(set(windows) - set(n for n, d in plan.devices.items() if d.window is not None))
    if unknown:
        raise ExportError(f"windows: no windowed device named {', '.join(unknown)} in the session; windowed devices: "
                          f"{', '.join(n for n, d in plan.devices.items() if d.window is not None) or 'none'}")
    if not plan.episodes:
        raise ExportError(f"SESSION: {session_dir} has no exportable episodes (ended, readable); skipped: "
                          + ("; ".join(f"{e} {why}" for e, _, why in plan.skipped) or "none recorded"))
    fps = int(fps)
    feats = features(plan, fps)
    schema = pa.schema([(key, _arrow_type(spec)) for key, spec in feats.items()])

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.export-", dir=out_dir.parent))
    try:
        result = _write_dataset(staging, session, plan, fps, feats, schema, robot_type, progress, say,
                                data_files_size_in_mb)
        if out_dir.exists():
            shutil.rmtree(out_dir) if out_dir.is_dir() else out_dir.unlink()
        os.replace(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    result["out"] = str(out_dir)
    return result


def _write_dataset(root: Path, session: Session, plan: Plan, fps: int, feats: dict, schema: pa.Schema,
                   robot_type: str | None, progress: bool | None, say: Callable[[str], None],
                   data_files_size_in_mb: float) -> dict[str, Any]:
    from tqdm import tqdm

    tasks: dict[str, int] = {}
    rows: list[dict[str, Any]] = []
    all_stats = []
    total = 0
    data = _DataFiles(root, schema, data_files_size_in_mb)
    show = sys.stderr.isatty() if progress is None else progress
    try:
        for record in tqdm(plan.episodes, desc="export-lerobot", unit="episode", disable=not show):
            path = session.directory / record["file"]
            try:
                episode = read_episode(path)
                # The index is what the session trusts (recover() relabels there and in the file).
                outcome = record.get("outcome") or episode.outcome or "aborted"
                frames = _episode_frames(episode, outcome, plan, fps, feats)
            except Exception as error:  # a file that fails only now (truncated chunk): skip it, keep the rest
                plan.skipped.append((record["episode"], record["file"], f"unreadable: {type(error).__name__}: {error}"))
                say(f"skipped episode {record['episode']} ({record['file']}): {plan.skipped[-1][2]}")
                continue
            task = record.get("task") or episode.info.get("task") or ""
            task_index = tasks.setdefault(task, len(tasks))
            index = len(rows)
            n = len(frames["frame_index"])
            frames["episode_index"] = np.full(n, index, dtype=np.int64)
            frames["index"] = np.arange(total, total + n, dtype=np.int64)
            frames["task_index"] = np.full(n, task_index, dtype=np.int64)
            chunk, file = data.write(pa.table([_arrow_column(frames[k], feats[k]) for k in feats], schema=schema))
            stats = frame_stats(frames, feats)
            all_stats.append(stats)
            rows.append({
                "episode_index": index, "tasks": [task], "length": n,
                "data/chunk_index": chunk, "data/file_index": file,
                "dataset_from_index": total, "dataset_to_index": total + n,
                "meta/episodes/chunk_index": 0, "meta/episodes/file_index": 0,
                "success": outcome == "success", "outcome": outcome,
                "skill": record.get("skill", ""), "scenario": record.get("scenario", ""),
                "operator": record.get("operator", ""), "source_file": record["file"],
                "source_episode": record["episode"],
                **{f"stats/{key}/{name}": value.tolist() for key, s in stats.items() for name, value in s.items()},
            })
            total += n
    finally:
        data.close()
    if not rows:
        raise ExportError("SESSION: no exportable episodes: every ended episode failed to read; skipped: "
                          + "; ".join(f"{e} {why}" for e, _, why in plan.skipped))
    episodes_path = root / EPISODES_PATH.format(chunk_index=0, file_index=0)
    episodes_path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), episodes_path)
    _write_tasks(root / "meta" / "tasks.parquet", list(tasks))
    (root / "meta" / "stats.json").write_text(json.dumps(jsonable(aggregate_stats(all_stats)), indent=2))
    info = {
        "codebase_version": CODEBASE_VERSION, "robot_type": robot_type or plan.robot_type,
        "total_episodes": len(rows), "total_frames": total, "total_tasks": len(tasks),
        "chunks_size": CHUNKS_SIZE, "data_files_size_in_mb": data_files_size_in_mb,
        "video_files_size_in_mb": 500, "fps": fps, "splits": {"train": f"0:{len(rows)}"},
        "data_path": DATA_PATH, "video_path": None, "features": feats,
    }
    (root / "meta" / "info.json").write_text(json.dumps(info, indent=4))
    return {"episodes": len(rows), "frames": total, "tasks": len(tasks), "skipped": plan.skipped,
            "windows": {n: d.window for n, d in plan.devices.items() if d.window is not None}}


# ---------------------------------------------------------------------------------------------- CLI
def _fps_argument(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not FPS_RANGE[0] <= value <= FPS_RANGE[1]:
        raise argparse.ArgumentTypeError(f"allowed: a whole number of frames per second {FPS_RANGE[0]}..{FPS_RANGE[1]} "
                                         f"(got {text!r})")
    return value


def _window_argument(text: str) -> tuple[str, int]:
    import argparse

    name, _, size = text.partition("=")
    if not name or not size.isdigit() or not 1 <= int(size) <= 10_000:
        raise argparse.ArgumentTypeError(f"allowed: DEVICE=N with N samples in 1..10000 (got {text!r})")
    return name, int(size)


def add_command(commands) -> None:
    parser = commands.add_parser(
        "export-lerobot", help="export a recording session as a LeRobot v3 dataset",
        description="Writes every ended episode of SESSION (successes, failures and aborts; not discarded or "
        "still-recording ones, which are listed) as a LeRobot v3 dataset in OUT: joint state and reference at "
        "--fps on real timestamps, force/IMU as per-frame windows, tactile and hand state, camera frame "
        "references, next.done/next.success/next.reward and an episode-level success column.")
    parser.add_argument("session", type=Path, help="the session directory (index.jsonl, episodes/)")
    parser.add_argument("out", type=Path, help="the dataset directory to create (must be new or empty)")
    parser.add_argument("--fps", type=_fps_argument, default=30,
                        help=f"frames per second, {FPS_RANGE[0]}..{FPS_RANGE[1]} (default 30)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists and is not empty")
    parser.add_argument("--window", type=_window_argument, action="append", default=[], metavar="DEVICE=N",
                        help="samples per frame window for a windowed device (F/T, IMU); default from its rate")
    parser.add_argument("--robot-type", default=None, help="info.json robot_type (default: the robot config's name)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def main(args) -> int:
    try:
        report = export_session(args.session, args.out, fps=args.fps, overwrite=args.overwrite,
                                windows=dict(args.window), robot_type=args.robot_type,
                                progress=False if args.quiet else None)
    except ExportError as error:
        print(f"humanoid-rt export-lerobot: {error}", file=sys.stderr)
        return 2
    for episode, file, reason in report["skipped"]:
        print(f"skipped episode {episode} ({file}): {reason}")
    windows = ", ".join(f"{n} {w}" for n, w in report["windows"].items())
    print(f"{report['out']}: {report['episodes']} episodes, {report['frames']} frames, {report['tasks']} tasks"
          + (f"; windows (samples per frame): {windows}" if windows else ""))
    return 0
