"""The remote-policy wire format: observation -> action chunk, one versioned binary message each way.

Layout (all integers little-endian; firmware_interfaces/zenoh/POLICY.md is the reference):

    offset  size  field
    0       4     magic b"HRTP"
    4       1     version (VERSION = 1)
    5       1     kind: 1 observation, 2 chunk, 3 error
    6       2     reserved, zero
    8       4     header length N, 2 <= N <= MAX_HEADER
    12      N     header: a UTF-8 JSON object: the message's scalar fields, plus "arrays":
                  {name: {"dtype": "<f8", "shape": [..], "offset": o, "nbytes": n}}
    12+N    ...   data: every array's bytes (C order, little-endian) at its offset from here,
                  packed in header order with no gap; nothing after the last one

A JSON header with raw array bytes behind it (the shape of safetensors) keeps the message
self-describing and readable from any language with a JSON parser, and costs one copy for a
100 KB camera image. Every field is checked on decode; a problem raises WireError naming the
field, the problem and the allowed values, and `code` says which class of problem it was
(the robot counts refused replies per code).
"""

from __future__ import annotations

import json
import math
import re
import struct
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from ..errors import HumanoidRtError
from ..robot_id import _ROBOT_ID_PATTERN

MAGIC = b"HRTP"
VERSION = 1
KIND_OBSERVATION, KIND_CHUNK, KIND_ERROR = 1, 2, 3
KINDS = {KIND_OBSERVATION: "observation", KIND_CHUNK: "chunk", KIND_ERROR: "error"}
_PREFIX = struct.Struct("<4sBBHI")
MAX_HEADER = 1 << 20
MAX_MESSAGE = 64 << 20
MAX_JOINTS = 256
MAX_HORIZON = 10_000
MAX_DIMS = 5
DTYPES = ("<f8", "<f4", "|u1", "<u2", "<i4", "<i8")
ERROR_REASONS = ("policy_exception", "bad_request", "bad_output")
ROBOT_ID = _ROBOT_ID_PATTERN  # the rule of humanoid_rt.robot.resolve_robot_id (also a policy server's name)
EXTRA_NAME = re.compile(r"[a-z][a-z0-9_.]{0,63}")
JOINT_NAME = re.compile(r"[^\x00-\x1f]{1,128}")
OBSERVATION_ARRAYS = ("q", "dq", "tau", "leftover")


class WireError(HumanoidRtError, ValueError):
    """A message that does not follow the format. `code`: garbage, version, kind, field, shape, nonfinite,
    mismatch (a valid message that does not answer the request it claims to answer)."""

    def __init__(self, code: str, field_name: str, problem: str, allowed: str, got: Any = None):
        self.code, self.field = code, field_name
        got_text = repr(got)
        if len(got_text) > 80:
            got_text = got_text[:77] + "..."
        super().__init__(f"{field_name}: {problem}; allowed: {allowed} (got {got_text})")


@dataclass
class Observation:
    """What the robot sends. `extras`: further named arrays (images, histories, task tokens)."""

    robot_id: str
    request_seq: int  # this request's number, counting from 0 per RemoteChunkSource
    t: float  # the robot's loop time of the observation [s]
    episode_start: float  # loop time the episode began (t - episode_start: time into it)
    joints: tuple[str, ...]
    q: np.ndarray  # (J,) measured positions [rad]
    dq: np.ndarray  # (J,) measured velocities [rad/s]
    tau: np.ndarray  # (J,) measured torques [Nm]
    chunk_seq: int = -1  # request_seq of the chunk executing now (-1: none)
    executed_index: int = -1  # its last action already sent to the loop (-1: none)
    leftover: np.ndarray | None = None  # (K, J) its actions not yet executed
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    def as_policy_input(self) -> dict[str, Any]:
        """The dict a policy callable receives."""
        out: dict[str, Any] = {"robot_id": self.robot_id, "request_seq": self.request_seq, "t": self.t,
                               "episode_start": self.episode_start, "joints": self.joints, "q": self.q,
                               "dq": self.dq, "tau": self.tau, "chunk_seq": self.chunk_seq,
                               "executed_index": self.executed_index, "leftover": self.leftover}
        out.update(self.extras)
        return out


@dataclass
class Chunk:
    """What the server answers: actions[i] is due at loop time t0 + i dt."""

    robot_id: str
    request_seq: int  # the request it answers (the chunk's sequence number on the robot)
    joints: tuple[str, ...]
    t0: float
    dt: float
    actions: np.ndarray  # (H, J)
    policy: str = ""
    inference_s: float = 0.0  # the callable's own run time on the server (informative)


@dataclass
class ErrorReply:
    reason: str  # one of ERROR_REASONS
    error: str
    request_seq: int = -1


# ------------------------------------------------------------------ packing
def _pack(kind: int, fields: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> bytes:
    header = dict(fields)
    descriptors, blobs, offset = {}, [], 0
    for name, array in arrays.items():
        array = np.ascontiguousarray(array)
        dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
        array = array.astype(dtype, copy=False)
        data = array.tobytes()
        descriptors[name] = {"dtype": dtype.str, "shape": list(array.shape), "offset": offset, "nbytes": len(data)}
        blobs.append(data)
        offset += len(data)
    header["arrays"] = descriptors
    text = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    return b"".join([_PREFIX.pack(MAGIC, VERSION, kind, 0, len(text)), text, *blobs])


def _finite_array(name: str, array, dims: int) -> np.ndarray:
    array = np.asarray(array, dtype=np.float64)
    if array.ndim != dims:
        raise WireError("shape", name, f"must have {dims} dimension(s)", f"ndim {dims}", array.shape)
    _check_finite(name, array)
    return array


def _check_finite(name: str, array: np.ndarray) -> None:
    bad = np.argwhere(~np.isfinite(array))
    if bad.size:
        where = "".join(f"[{i}]" for i in bad[0])
        raise WireError("nonfinite", f"{name}{where}", "must be finite", "finite numbers",
                        float(array[tuple(bad[0])]))


def encode_observation(obs: Observation) -> bytes:
    _check_observation(obs)
    arrays = {"q": obs.q, "dq": obs.dq, "tau": obs.tau,
              "leftover": np.zeros((0, len(obs.joints))) if obs.leftover is None else obs.leftover}
    arrays = {k: np.asarray(v, dtype=np.float64) for k, v in arrays.items()}
    arrays.update(obs.extras)
    fields = {"robot_id": obs.robot_id, "request_seq": obs.request_seq, "t": obs.t,
              "episode_start": obs.episode_start, "joints": list(obs.joints), "chunk_seq": obs.chunk_seq,
              "executed_index": obs.executed_index}
    return _pack(KIND_OBSERVATION, fields, arrays)


def encode_chunk(chunk: Chunk) -> bytes:
    _check_chunk(chunk)
    fields = {"robot_id": chunk.robot_id, "request_seq": chunk.request_seq, "joints": list(chunk.joints),
              "t0": chunk.t0, "dt": chunk.dt, "policy": chunk.policy, "inference_s": chunk.inference_s}
    return _pack(KIND_CHUNK, fields, {"actions": np.asarray(chunk.actions, dtype=np.float64)})


def encode_error(reply: ErrorReply) -> bytes:
    if reply.reason not in ERROR_REASONS:
        raise WireError("field", "reason", "unknown error reason", ", ".join(ERROR_REASONS), reply.reason)
    return _pack(KIND_ERROR, {"reason": reply.reason, "error": str(reply.error)[:4000],
                              "request_seq": int(reply.request_seq)}, {})


# ------------------------------------------------------------------ parsing
def _unpack(data: bytes) -> tuple[int, dict, dict[str, np.ndarray]]:
    data = bytes(data)
    if len(data) > MAX_MESSAGE:
        raise WireError("garbage", "(message)", "too long", f"at most {MAX_MESSAGE} bytes", len(data))
    if len(data) < _PREFIX.size:
        raise WireError("garbage", "(message)", "shorter than the 12-byte prefix", "a humanoid_rt policy message",
                        len(data))
    magic, version, kind, reserved, header_length = _PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise WireError("garbage", "magic", "not a humanoid_rt policy message", repr(MAGIC), magic)
    if version != VERSION:
        raise WireError("version", "version", "unsupported format version", str(VERSION), version)
    if kind not in KINDS:
        raise WireError("kind", "kind", "unknown message kind",
                        ", ".join(f"{k} ({v})" for k, v in KINDS.items()), kind)
    if reserved != 0:
        raise WireError("garbage", "reserved", "must be zero", "0", reserved)
    if not 2 <= header_length <= min(MAX_HEADER, len(data) - _PREFIX.size):
        raise WireError("garbage", "header_length", "outside the message", f"2..{len(data) - _PREFIX.size}",
                        header_length)
    try:
        header = json.loads(data[_PREFIX.size:_PREFIX.size + header_length].decode("utf-8"),
                            parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise WireError("garbage", "header", f"not UTF-8 JSON ({error})", "a JSON object") from None
    if not isinstance(header, dict):
        raise WireError("garbage", "header", "must be a JSON object", "an object", type(header).__name__)
    descriptors = header.pop("arrays", {})
    if not isinstance(descriptors, dict):
        raise WireError("field", "arrays", "must be an object", "{name: {dtype, shape, offset, nbytes}}",
                        type(descriptors).__name__)
    body = memoryview(data)[_PREFIX.size + header_length:]
    arrays, expected_offset = {}, 0
    for name, spec in descriptors.items():
        arrays[name] = _array(name, spec, body, expected_offset)
        expected_offset += arrays[name].nbytes
    if expected_offset != len(body):
        raise WireError("garbage", "(data)", "length does not match the arrays described",
                        f"{expected_offset} bytes", len(body))
    return kind, header, arrays


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not allowed")


def _array(name: str, spec: Any, body: memoryview, expected_offset: int) -> np.ndarray:
    where = f"arrays.{name}"
    if not isinstance(spec, dict) or set(spec) != {"dtype", "shape", "offset", "nbytes"}:
        raise WireError("field", where, "must be an object with exactly these keys", "dtype, shape, offset, nbytes",
                        spec)
    dtype, shape, offset, nbytes = spec["dtype"], spec["shape"], spec["offset"], spec["nbytes"]
    if dtype not in DTYPES:
        raise WireError("field", f"{where}.dtype", "unsupported dtype", ", ".join(DTYPES), dtype)
    if (not isinstance(shape, list) or len(shape) > MAX_DIMS
            or not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= MAX_MESSAGE for n in shape)):
        raise WireError("field", f"{where}.shape", "must be a list of sizes", f"0..{MAX_DIMS} integers >= 0", shape)
    if not isinstance(offset, int) or isinstance(offset, bool) or offset != expected_offset:
        raise WireError("garbage", f"{where}.offset", "arrays must be packed in header order", str(expected_offset),
                        offset)
    size = np.dtype(dtype).itemsize * math.prod(shape)
    if not isinstance(nbytes, int) or isinstance(nbytes, bool) or nbytes != size:
        raise WireError("garbage", f"{where}.nbytes", "does not match dtype and shape", str(size), nbytes)
    if offset + nbytes > len(body):
        raise WireError("garbage", where, "runs past the end of the message", f"<= {len(body) - offset} bytes",
                        nbytes)
    return np.frombuffer(body[offset:offset + nbytes], dtype=np.dtype(dtype)).reshape(shape)


def _field(header: dict, name: str, kind: type | tuple, allowed: str, check=lambda v: True):
    if name not in header:
        raise WireError("field", name, "missing", allowed)
    value = header[name]
    if isinstance(value, bool) and kind is not bool or not isinstance(value, kind) or not check(value):
        raise WireError("field", name, "invalid", allowed, value)
    return value


def _int(header: dict, name: str, minimum: int) -> int:
    return _field(header, name, int, f"an integer >= {minimum}", lambda v: minimum <= v < 2 ** 63)


MAX_SECONDS = 1e12  # a bound on times and durations: JSON integers have no size limit, floats overflow


def _seconds(value) -> bool:
    return abs(value) <= MAX_SECONDS if isinstance(value, int) else math.isfinite(value) and abs(value) <= MAX_SECONDS


def _time(header: dict, name: str) -> float:
    return float(_field(header, name, (int, float), f"a number of seconds, |x| <= {MAX_SECONDS:g}", _seconds))


def _joints(header: dict) -> tuple[str, ...]:
    joints = _field(header, "joints", list, f"1..{MAX_JOINTS} distinct joint names",
                    lambda v: 1 <= len(v) <= MAX_JOINTS)
    for i, name in enumerate(joints):
        if not isinstance(name, str) or not JOINT_NAME.fullmatch(name):
            raise WireError("field", f"joints[{i}]", "not a joint name", "1..128 printable characters", name)
    if len(set(joints)) != len(joints):
        raise WireError("field", "joints", "names must be distinct", "distinct joint names", joints)
    return tuple(joints)


def _robot_id(header: dict) -> str:
    return _field(header, "robot_id", str, "1-64 characters of A-Z a-z 0-9 _ . - (first alphanumeric)",
                  lambda v: bool(ROBOT_ID.fullmatch(v)))


def _unknown(header: dict, known: set[str]) -> None:
    extra = sorted(set(header) - known)
    if extra:
        raise WireError("field", extra[0], "unknown field", ", ".join(sorted(known)), header[extra[0]])


def _expect_kind(kind: int, wanted: int) -> None:
    if kind != wanted:
        article = "an" if KINDS[wanted][0] in "aeiou" else "a"
        raise WireError("kind", "kind", f"expected {article} {KINDS[wanted]} message", str(wanted), KINDS[kind])


def _float_array(arrays: dict, name: str, shape: tuple) -> np.ndarray:
    if name not in arrays:
        raise WireError("field", f"arrays.{name}", "missing", f"a float array of shape {shape}")
    array = arrays[name]
    if array.dtype.kind != "f":
        raise WireError("field", f"arrays.{name}.dtype", "must be floating point", "<f8, <f4", array.dtype.str)
    if len(array.shape) != len(shape) or any(want is not None and got != want for got, want in zip(array.shape, shape)):
        text = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
        raise WireError("shape", f"arrays.{name}", "wrong shape", text, tuple(array.shape))
    array = array.astype(np.float64)
    _check_finite(name, array)
    return array


def decode_observation(data: bytes) -> Observation:
    kind, header, arrays = _unpack(data)
    _expect_kind(kind, KIND_OBSERVATION)
    _unknown(header, {"robot_id", "request_seq", "t", "episode_start", "joints", "chunk_seq", "executed_index"})
    joints = _joints(header)
    n = len(joints)
    obs = Observation(
        robot_id=_robot_id(header), request_seq=_int(header, "request_seq", 0), t=_time(header, "t"),
        episode_start=_time(header, "episode_start"), joints=joints,
        q=_float_array(arrays, "q", (n,)), dq=_float_array(arrays, "dq", (n,)), tau=_float_array(arrays, "tau", (n,)),
        chunk_seq=_int(header, "chunk_seq", -1), executed_index=_int(header, "executed_index", -1),
        leftover=_float_array(arrays, "leftover", (None, n)),
        extras={k: v for k, v in arrays.items() if k not in OBSERVATION_ARRAYS})
    _check_observation(obs)
    return obs


def _check_observation(obs: Observation) -> None:
    if not ROBOT_ID.fullmatch(str(obs.robot_id)):
        raise WireError("field", "robot_id", "invalid", "1-64 characters of A-Z a-z 0-9 _ . - (first alphanumeric)",
                        obs.robot_id)
    n = len(obs.joints)
    for name in ("q", "dq", "tau"):
        array = _finite_array(name, getattr(obs, name), 1)
        if array.shape != (n,):
            raise WireError("shape", name, "one value per joint", f"({n},)", array.shape)
    if obs.leftover is not None:
        leftover = _finite_array("leftover", obs.leftover, 2)
        if leftover.shape[1] != n:
            raise WireError("shape", "leftover", "one column per joint", f"(K, {n})", leftover.shape)
    if not (math.isfinite(obs.t) and math.isfinite(obs.episode_start) and obs.episode_start <= obs.t):
        raise WireError("field", "episode_start", "must be finite and not after t", f"<= t ({obs.t!r})",
                        obs.episode_start)
    if obs.executed_index >= 0 and obs.chunk_seq < 0:
        raise WireError("field", "executed_index", "an executed index needs a chunk", "-1 when chunk_seq is -1",
                        obs.executed_index)
    for name, array in obs.extras.items():
        if not EXTRA_NAME.fullmatch(name) or name in OBSERVATION_ARRAYS:
            raise WireError("field", f"arrays.{name}", "not an extra observation name",
                            "[a-z][a-z0-9_.]{0,63}, not q, dq, tau or leftover", name)
        if np.asarray(array).dtype.str not in DTYPES and np.asarray(array).dtype.newbyteorder("<").str not in DTYPES:
            raise WireError("field", f"arrays.{name}.dtype", "unsupported dtype", ", ".join(DTYPES),
                            np.asarray(array).dtype.str)
        if np.asarray(array).dtype.kind == "f":
            _check_finite(name, np.asarray(array))


def decode_chunk(data: bytes) -> Chunk:
    kind, header, arrays = _unpack(data)
    _expect_kind(kind, KIND_CHUNK)
    _unknown(header, {"robot_id", "request_seq", "joints", "t0", "dt", "policy", "inference_s"})
    if set(arrays) != {"actions"}:
        raise WireError("field", "arrays", "a chunk carries exactly one array", "actions", sorted(arrays))
    joints = _joints(header)
    chunk = Chunk(robot_id=_robot_id(header), request_seq=_int(header, "request_seq", 0), joints=joints,
                  t0=_time(header, "t0"), dt=_time(header, "dt"),
                  actions=_float_array(arrays, "actions", (None, len(joints))),
                  policy=_field(header, "policy", str, "a name of up to 200 characters", lambda v: len(v) <= 200),
                  inference_s=_time(header, "inference_s"))
    _check_chunk(chunk)
    return chunk


def _check_chunk(chunk: Chunk) -> None:
    actions = _finite_array("actions", chunk.actions, 2)
    if not 1 <= actions.shape[0] <= MAX_HORIZON or actions.shape[1] != len(chunk.joints):
        raise WireError("shape", "actions", "one row per step, one column per joint",
                        f"(1..{MAX_HORIZON}, {len(chunk.joints)})", actions.shape)
    if not (math.isfinite(chunk.dt) and 0 < chunk.dt <= 10.0):
        raise WireError("field", "dt", "must be a step in seconds", "0 < dt <= 10", chunk.dt)
    if not math.isfinite(chunk.t0):
        raise WireError("field", "t0", "must be finite", "a loop time in seconds", chunk.t0)
    if not (math.isfinite(chunk.inference_s) and chunk.inference_s >= 0):
        raise WireError("field", "inference_s", "must be a duration", ">= 0", chunk.inference_s)


def decode_error(data: bytes) -> ErrorReply:
    kind, header, arrays = _unpack(data)
    _expect_kind(kind, KIND_ERROR)
    _unknown(header, {"reason", "error", "request_seq"})
    if arrays:
        raise WireError("field", "arrays", "an error carries no arrays", "{}", sorted(arrays))
    return ErrorReply(reason=_field(header, "reason", str, ", ".join(ERROR_REASONS), lambda v: v in ERROR_REASONS),
                      error=_field(header, "error", str, "a message"), request_seq=_int(header, "request_seq", -1))


def check_answers(chunk: Chunk, obs: Observation) -> None:
    """Raise WireError (code mismatch) unless `chunk` answers `obs`: same robot, request and joints."""
    for name, got, want in (("robot_id", chunk.robot_id, obs.robot_id), ("request_seq", chunk.request_seq,
                                                                           obs.request_seq),
                            ("joints", chunk.joints, obs.joints)):
        if got != want:
            raise WireError("mismatch", name, "the reply answers another request", repr(want), got)
