"""The teleop wire protocol, version 1, in Python: packet builder and key files.

The byte table and rules are in firmware_interfaces/teleop/PROTOCOL.md; the
receiver's parser is C++ (humanoid_rt._core.teleop.parse). This module builds
packets for the reference sender and for tests, including deliberately bad
ones (every header field can be overridden).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
from pathlib import Path
from typing import Iterable, Sequence

MAGIC = b"HRTP"
VERSION = 1
KIND_JOINTS, KIND_FRAME_POSES, KIND_HANDS, KIND_BASE_TARGET = 1, 2, 3, 4
FLAG_ESTOP, FLAG_VELOCITY, FLAG_TAU_FF, FLAG_GAINS = 0x1, 0x2, 0x4, 0x8

HEADER = struct.Struct("<4sBBHQQqIIHHI")  # 48 bytes
JOINT_RECORD = struct.Struct("<HHfffff")  # 24 bytes
POSE_RECORD = struct.Struct("<HHfffffff")  # 32 bytes
HAND_RECORD = struct.Struct("<BBHf")  # 8 bytes
BASE_TARGET_RECORD = struct.Struct("<ffff")  # 16 bytes: height offset [m], roll, pitch, yaw [rad]
TAG_BYTES = 32
RECORD_BYTES = {KIND_JOINTS: JOINT_RECORD.size, KIND_FRAME_POSES: POSE_RECORD.size, KIND_HANDS: HAND_RECORD.size,
                KIND_BASE_TARGET: BASE_TARGET_RECORD.size}
MIN_PACKET_BYTES = HEADER.size + TAG_BYTES  # 80
MAX_PACKET_BYTES = HEADER.size + 64 * JOINT_RECORD.size + TAG_BYTES  # 1616
MIN_KEY_BYTES = 16
HANDS = {"left": 0, "right": 1}

assert HEADER.size == 48 and JOINT_RECORD.size == 24 and POSE_RECORD.size == 32 and HAND_RECORD.size == 8
assert BASE_TARGET_RECORD.size == 16


def sign(body: bytes, key: bytes) -> bytes:
    """body + HMAC-SHA256(key, body)."""
    return body + hmac.new(key, body, hashlib.sha256).digest()


def encode(
    key: bytes,
    kind: int,
    records: bytes,
    count: int,
    *,
    session_id: int,
    sequence: int,
    sender_time_ns: int,
    due_in_us: int = 20000,
    ttl_us: int = 100000,
    flags: int = 0,
    magic: bytes = MAGIC,
    version: int = VERSION,
    record_bytes: int | None = None,
    reserved: int = 0,
) -> bytes:
    """Low-level: a header, pre-packed records and the tag. Nothing is validated here."""
    header = HEADER.pack(magic, version, kind, flags, session_id, sequence, sender_time_ns, due_in_us, ttl_us, count,
                         RECORD_BYTES.get(kind, 0) if record_bytes is None else record_bytes, reserved)
    return sign(header + records, key)


def _seconds_to_us(value: float, name: str, low: int, high: int) -> int:
    us = int(round(value * 1e6))
    if not low <= us <= high:
        raise ValueError(f"{name}: {value!r} s; allowed: {low / 1e6:g}..{high / 1e6:g} s")
    return us


def _encode_targets(key: bytes, kind: int, records: bytes, count: int, session_id: int, sequence: int,
                    sender_time_ns: int, due_in_s: float, ttl_s: float, overrides: dict) -> bytes:
    """A target packet of any kind: the due time and time to live checked and put in microseconds."""
    return encode(key, kind, records, count, session_id=session_id, sequence=sequence, sender_time_ns=sender_time_ns,
                  due_in_us=_seconds_to_us(due_in_s, "due_in_s", 0, 1_000_000),
                  ttl_us=_seconds_to_us(ttl_s, "ttl_s", 1000, 10_000_000), **overrides)


def joint_packet(
    key: bytes,
    indices: Sequence[int],
    q: Sequence[float],
    *,
    session_id: int,
    sequence: int,
    sender_time_ns: int,
    dq: Sequence[float] | None = None,
    tau_ff: Sequence[float] | None = None,
    kp: Sequence[float] | None = None,
    kd: Sequence[float] | None = None,
    due_in_s: float = 0.02,
    ttl_s: float = 0.1,
    estop: bool = False,
    **overrides,
) -> bytes:
    """A joint-target packet: q [rad] (optional dq, tau_ff, kp+kd) for the joints at `indices`."""
    n = len(indices)
    if len(q) != n:
        raise ValueError(f"q: {len(q)} values for {n} joint indices")
    if (kp is None) != (kd is None):
        raise ValueError("kp, kd: give both or neither")
    zeros = [0.0] * n
    flags = (FLAG_ESTOP if estop else 0) | (FLAG_VELOCITY if dq is not None else 0) | \
        (FLAG_TAU_FF if tau_ff is not None else 0) | (FLAG_GAINS if kp is not None else 0)
    columns = [dq or zeros, tau_ff or zeros, kp or zeros, kd or zeros]
    for name, column in zip(("dq", "tau_ff", "kp", "kd"), columns):
        if len(column) != n:
            raise ValueError(f"{name}: {len(column)} values for {n} joint indices")
    records = b"".join(JOINT_RECORD.pack(int(indices[i]), 0, q[i], *(c[i] for c in columns)) for i in range(n))
    overrides.setdefault("flags", flags)
    return _encode_targets(key, KIND_JOINTS, records, n, session_id, sequence, sender_time_ns,
                           due_in_s, ttl_s, overrides)


def pose_packet(
    key: bytes,
    poses: Iterable[tuple[int, Sequence[float], Sequence[float]]],
    *,
    session_id: int,
    sequence: int,
    sender_time_ns: int,
    due_in_s: float = 0.02,
    ttl_s: float = 0.1,
    estop: bool = False,
    **overrides,
) -> bytes:
    """Frame-pose targets: (frame_id, (x, y, z) [m], (w, x, y, z) unit quaternion) each."""
    poses = list(poses)
    records = b"".join(POSE_RECORD.pack(int(f), 0, *map(float, p), *map(float, quat)) for f, p, quat in poses)
    overrides.setdefault("flags", FLAG_ESTOP if estop else 0)
    return _encode_targets(key, KIND_FRAME_POSES, records, len(poses), session_id, sequence, sender_time_ns,
                           due_in_s, ttl_s, overrides)


def hand_packet(
    key: bytes,
    grips: dict[str | int, float],
    *,
    session_id: int,
    sequence: int,
    sender_time_ns: int,
    due_in_s: float = 0.02,
    ttl_s: float = 0.1,
    estop: bool = False,
    **overrides,
) -> bytes:
    """Hand/gripper targets: {"left"|"right"|0|1: grip 0 (open)..1 (closed)}."""
    records = b""
    for hand, grip in grips.items():
        code = HANDS[hand] if isinstance(hand, str) else int(hand)
        records += HAND_RECORD.pack(code, 0, 0, float(grip))
    overrides.setdefault("flags", FLAG_ESTOP if estop else 0)
    return _encode_targets(key, KIND_HANDS, records, len(grips), session_id, sequence, sender_time_ns,
                           due_in_s, ttl_s, overrides)


def base_target_packet(
    key: bytes,
    height_offset_m: float,
    rpy: Sequence[float] = (0.0, 0.0, 0.0),
    *,
    session_id: int,
    sequence: int,
    sender_time_ns: int,
    due_in_s: float = 0.02,
    ttl_s: float = 0.1,
    estop: bool = False,
    **overrides,
) -> bytes:
    """A pelvis target for a robot standing on the contact QP: height offset [m] from where it stood at enable
    and roll, pitch, yaw [rad] in its stance frame (R = Rz Ry Rx), reached at the packet's due time (no faster
    than the robot's configured speeds; values beyond its limits are clipped there and counted)."""
    rpy = [float(v) for v in rpy]
    if len(rpy) != 3:
        raise ValueError(f"rpy: {len(rpy)} values; allowed: three angles roll, pitch, yaw [rad]")
    records = BASE_TARGET_RECORD.pack(float(height_offset_m), *rpy)
    overrides.setdefault("flags", FLAG_ESTOP if estop else 0)
    return _encode_targets(key, KIND_BASE_TARGET, records, 1, session_id, sequence, sender_time_ns,
                           due_in_s, ttl_s, overrides)


def estop_packet(key: bytes, *, session_id: int, sequence: int, sender_time_ns: int, **overrides) -> bytes:
    """An e-stop with no targets (kind joints, count 0, flag estop)."""
    return encode(key, KIND_JOINTS, b"", 0, session_id=session_id, sequence=sequence,
                  sender_time_ns=sender_time_ns, flags=FLAG_ESTOP, **overrides)


# --- keys ---------------------------------------------------------------------


def load_key(path: str | Path) -> bytes:
    """A pre-shared key file: the key as hex on one line (>= 32 hex digits = 16 bytes; 64 recommended)."""
    path = Path(path)
    try:
        text = path.read_text().strip()
    except OSError as error:
        raise ValueError(f"key file {path}: cannot read ({error.strerror})") from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"key file {path}: not hex; allowed: one line of hex digits "
                         f"(e.g. from `humanoid-rt teleop-keygen`)") from None
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"key file {path}: {len(key)} bytes; allowed: at least {MIN_KEY_BYTES} bytes "
                         f"({2 * MIN_KEY_BYTES} hex digits), 32 recommended")
    return key


def write_key(path: str | Path, n_bytes: int = 32) -> bytes:
    """Write a new random key (hex) readable only by its owner."""
    key = secrets.token_bytes(n_bytes)
    path = Path(path)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(key.hex() + "\n")
    return key


def parse_url(url: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """udp://HOST:PORT -> (host, port); errors name the field and the allowed form."""
    if not url.startswith("udp://"):
        raise ValueError(f"teleop: {url!r}; allowed: udp://HOST:PORT (e.g. udp://127.0.0.1:9870)")
    rest = url[len("udp://"):]
    host, sep, port_text = rest.rpartition(":")
    if not sep:
        host, port_text = rest, ""
    host = host or default_host
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"teleop port: {port_text!r}; allowed: 0..65535 in udp://HOST:PORT") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"teleop port: {port}; allowed: 0..65535")
    return host, port
