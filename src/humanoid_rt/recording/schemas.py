"""The messages of an episode file: ROS 2 message definitions (`ros2msg`) encoded as CDR.

Why CDR with ros2msg schemas: Foxglove plots it directly, `mcap-ros2-support` (and
every ROS 2 tool) decodes it, and a fixed-size CDR message is a fixed byte layout, so
the high-rate streams are packed k messages at a time with one numpy assignment per
field instead of per-sample Python (FORMAT.md, "Why packed": ~20 us per hand-packed message).

Two kinds of message:
- `PackedMessage`: every field a number or a fixed-length array of numbers, the
  lengths fixed when the episode starts (joint count, taxel grid). Packed with numpy.
- `DynamicMessage`: low-rate messages with strings (events, marks, camera frames),
  serialised by mcap-ros2-support's encoder from the same definition text.

CDR (XCDR1, little endian): a 4-byte encapsulation header 00 01 00 00, then each
primitive aligned to its size (at most 8) counted from the end of that header; a
fixed array `T[n]` is n Ts with no length prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
from mcap_ros2._dynamic import serialize_dynamic

from .. import _core

ENCAPSULATION_CDR_LE = np.array([0, 1, 0, 0], dtype=np.uint8)

# ros2msg primitive -> numpy little-endian dtype
PRIMITIVES: dict[str, str] = {
    "bool": "u1", "uint8": "u1", "int8": "i1", "uint16": "<u2", "int16": "<i2", "uint32": "<u4",
    "int32": "<i4", "uint64": "<u8", "int64": "<i8", "float32": "<f4", "float64": "<f8",
}
_FROM_NUMPY = {np.dtype(v).newbyteorder("<"): k for k, v in PRIMITIVES.items() if k != "bool"}


def ros_type_of(dtype: np.dtype) -> str:
    """The ros2msg primitive for a numpy dtype (bool -> bool)."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return "bool"
    try:
        return _FROM_NUMPY[dtype.newbyteorder("<")]
    except KeyError:
        raise ValueError(f"dtype {dtype} has no ros2msg primitive; allowed: {', '.join(sorted(PRIMITIVES))}") from None


@dataclass(frozen=True)
class Field:
    name: str
    ros_type: str       # a key of PRIMITIVES
    length: int = 0     # 0: scalar; n > 0: fixed array T[n]
    comment: str = ""

    def definition(self) -> str:
        array = f"[{self.length}]" if self.length else ""
        comment = f"  # {self.comment}" if self.comment else ""
        return f"{self.ros_type}{array} {self.name}{comment}"


class PackedMessage:
    """A fixed-layout message type; `pack(columns)` makes k messages in one buffer."""

    def __init__(self, name: str, fields: Sequence[Field], description: str = ""):
        if not fields:
            raise ValueError(f"{name}: a message needs at least one field")
        self.name = name
        self.fields = tuple(fields)
        header = "".join(f"# {line}\n" for line in description.splitlines())
        self.definition = header + "\n".join(f.definition() for f in self.fields) + "\n"
        names, formats, offsets = ["_encapsulation"], [(np.uint8, 4)], [0]
        cursor = 0  # counted from the end of the encapsulation header
        for f in self.fields:
            base = np.dtype(PRIMITIVES[f.ros_type])
            cursor = -(-cursor // min(base.itemsize, 8)) * min(base.itemsize, 8)
            names.append(f.name)
            formats.append((base, f.length) if f.length else base)
            offsets.append(4 + cursor)
            cursor += base.itemsize * max(f.length, 1)
        self.size = 4 + cursor
        self.dtype = np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": self.size})

    def pack(self, columns: Mapping[str, Any], rows: int) -> np.ndarray:
        """`rows` messages as a (rows, size) uint8 array; a column is a scalar, (rows,) or (rows, ...) array."""
        out = np.zeros(rows, dtype=self.dtype)
        out["_encapsulation"] = ENCAPSULATION_CDR_LE
        for f in self.fields:
            value = np.asarray(columns[f.name])
            out[f.name] = value.reshape(rows, f.length) if f.length and value.ndim > 1 else value
        return out.view(np.uint8).reshape(rows, self.size)

    def unpack(self, data: bytes) -> np.void:
        """One message back into its fields (tests and readers; decoders read the schema)."""
        if len(data) != self.size:
            raise ValueError(f"{self.name}: message is {len(data)} bytes, the layout is {self.size}")
        return np.frombuffer(data, dtype=self.dtype)[0]

    @classmethod
    def from_columns(cls, name: str, columns: Mapping[str, np.ndarray], description: str = "",
                     first: Sequence[Field] = ()) -> "PackedMessage":
        """A layout for rows of `columns` (a device's drain()): each column's trailing shape becomes a fixed array."""
        fields = list(first)
        taken = {f.name for f in fields}
        for key, column in columns.items():
            if key in taken:
                continue
            column = np.asarray(column)
            length = int(np.prod(column.shape[1:])) if column.ndim > 1 else 0
            fields.append(Field(key, ros_type_of(column.dtype), length))
        return cls(name, fields, description)


class DynamicMessage:
    """A message with strings, encoded one at a time by mcap-ros2-support (low rate only)."""

    def __init__(self, name: str, definition: str):
        self.name = name
        self.definition = definition
        self._encode = serialize_dynamic(name, definition)[name]

    def encode(self, **values: Any) -> bytes:
        return self._encode(values)


def _names_by_code(enum) -> tuple[str, ...]:
    members = sorted(enum.__members__.items(), key=lambda item: int(item[1]))
    assert [int(code) for _, code in members] == list(range(len(members)))
    return tuple(name for name, _ in members)


# The codes in telemetry, named from the core's own enums (one definition).
SUPERVISOR_STATES = _names_by_code(_core.SupervisorState)
SETPOINT_SOURCES = tuple(name.lower() for name in _names_by_code(_core.SetpointSource))


def joint_telemetry(n_joints: int) -> PackedMessage:
    """One control-loop cycle, joint side, SI units; joint order in the episode metadata (`joint_names`)."""
    vector = "rad, rad/s or Nm, one per joint"
    return PackedMessage("humanoid_rt/msg/JointTelemetry", [
        Field("monotonic_ns", "int64", comment="CLOCK_MONOTONIC of the cycle (log_time is wall clock)"),
        Field("loop_time", "float64", comment="loop time [s], the clock setpoints are stamped in"),
        Field("cycle", "uint64"),
        Field("supervisor_state", "uint8", comment=" ".join(f"{i}={s}" for i, s in enumerate(SUPERVISOR_STATES))),
        Field("reason", "uint16", comment="reason code of the last transition (see SupervisorEvent)"),
        Field("compute_ns", "uint32", comment="the previous cycle's compute time"),
        Field("q", "float64", n_joints, vector),
        Field("dq", "float64", n_joints),
        Field("tau_measured", "float64", n_joints),
        Field("q_ref", "float64", n_joints, "reference after interpolation and limits"),
        Field("dq_ref", "float64", n_joints),
        Field("tau_command", "float64", n_joints, "after the safety layer"),
    ], "humanoid_rt JointTelemetry: one control-loop cycle")


def device_sample(type_name: str, columns: Mapping[str, np.ndarray]) -> PackedMessage:
    """One sample of a serial device (hand, tactile array, F/T, IMU) laid out from its columns."""
    first = [Field("monotonic_ns", "int64", comment="CLOCK_MONOTONIC at frame reception")]
    renamed = {("monotonic_ns" if k == "t_ns" else k): v for k, v in columns.items()}
    return PackedMessage.from_columns(f"humanoid_rt/msg/{type_name}", renamed,
                                      f"humanoid_rt {type_name}: one device sample", first)


SETPOINT_RECEIVED = DynamicMessage("humanoid_rt/msg/SetpointReceived", """\
# A joint setpoint entering the interpolator (one per new sequence number).
int64 monotonic_ns
uint64 sequence
string source          # api, teleop, skill or policy
float64 t_written      # loop time the producer wrote it [s]
float64 t_applied      # loop time it entered the command path [s]
float64 t_target       # loop time it is to be reached [s]
float64 latency_s      # t_applied - t_written
""")

SUPERVISOR_EVENT = DynamicMessage("humanoid_rt/msg/SupervisorEvent", """\
# A safety supervisor transition or refused request.
int64 monotonic_ns
uint64 cycle
float64 loop_time
string from_state
string to_state
string reason
int32 joint            # -1: not joint specific
string joint_name
bool accepted
float64 value
float64 limit
uint32 request_id
""")

LOOP_STATISTICS = DynamicMessage("humanoid_rt/msg/LoopStatistics", """\
# Once a second: the loop's counters and latency percentiles, and the recorder's own losses.
int64 monotonic_ns
uint64 cycles
uint64 overruns
uint64 skipped_periods
uint64 telemetry_overflows
uint64 bus_errors
uint64 realtime_allocations
float64 wakeup_p50_us
float64 wakeup_p99_us
float64 wakeup_p999_us
float64 wakeup_max_us
float64 compute_p50_us
float64 compute_p99_us
uint64 recorder_telemetry_dropped
uint64 recorder_device_dropped
""")

EPISODE_MARK = DynamicMessage("humanoid_rt/msg/EpisodeMark", """\
# An operator's or program's mark inside an episode (grasp, slip, retry ...).
int64 monotonic_ns
string event
""")

CAMERA_FRAME = DynamicMessage("humanoid_rt/msg/CameraFrame", """\
# A frame taken by an external camera process: when (the same CLOCK_MONOTONIC) and where it is stored.
int64 monotonic_ns
string camera
uint64 frame_index
string uri             # file or container reference, e.g. videos/head.mp4#frame=120
""")
