"""The reference teleop sender: a client class, trajectory files, generators and a retargeting hook.

    client = TeleopClient(("127.0.0.1", 9870), key, joint_names=robot.joint_names)
    client.send_joints({"right_elbow": -0.5})          # one packet
    client.stream(trajectory, rate_hz=100)             # a recorded trajectory, paced in real time
    client.stream(poses, rate_hz=60, retarget=my_ik)   # operator poses -> joint targets through a hook

Trajectory files (`humanoid-rt teleop-send --file`):
  CSV  a header row `t,<joint name>,<joint name>...` then one row per sample: t in seconds
       (strictly increasing, from any origin) and joint positions in radians. Lines starting
       with `#` are comments. Joints not named keep their current target on the robot.
  NPZ  arrays `t` (k,), `q` (k, m) and `joint_names` (m,) with the same meaning.
Between samples the sender interpolates linearly at the chosen rate.

Sender time is CLOCK_MONOTONIC (time.monotonic_ns): on the robot's machine the
receiver measures the true send->receive latency; elsewhere it maps clocks itself.
"""

from __future__ import annotations

import csv
import math
import secrets
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from . import protocol

#: A retargeting hook: maps one operator sample (whatever the tracking stack produces, e.g.
#: a dict of frame poses) to joint targets {joint name: q [rad]} or a full array in joint order.
Retarget = Callable[[Any], "Mapping[str, float] | np.ndarray"]


@dataclass(frozen=True)
class Trajectory:
    """Joint positions q[k, m] [rad] at times t[k] [s] for the named joints."""

    t: np.ndarray
    q: np.ndarray
    joint_names: tuple[str, ...]

    def __post_init__(self):
        if self.t.ndim != 1 or self.t.size < 1:
            raise ValueError("t: allowed: a 1-D array of at least one time [s]")
        if self.q.shape != (self.t.size, len(self.joint_names)):
            raise ValueError(f"q: shape {self.q.shape}; allowed: ({self.t.size}, {len(self.joint_names)})")
        if not np.all(np.isfinite(self.t)) or not np.all(np.isfinite(self.q)):
            raise ValueError("t, q: allowed: finite numbers only")
        if np.any(np.diff(self.t) <= 0):
            raise ValueError("t: allowed: strictly increasing times")
        if len(set(self.joint_names)) != len(self.joint_names):
            raise ValueError("joint_names: allowed: each joint once")

    @property
    def duration(self) -> float:
        return float(self.t[-1] - self.t[0])

    def sample(self, elapsed: float) -> dict[str, float]:
        """Linear interpolation at `elapsed` seconds after the first sample (held past the end)."""
        t = self.t[0] + min(max(elapsed, 0.0), self.duration)
        q = [float(np.interp(t, self.t, self.q[:, j])) for j in range(len(self.joint_names))]
        return dict(zip(self.joint_names, q))


def load_trajectory(path: str | Path) -> Trajectory:
    """Read a CSV or NPZ trajectory file (format in the module docstring); errors name the line and field."""
    path = Path(path)
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in ("t", "q", "joint_names") if k not in data]
            if missing:
                raise ValueError(f"{path}: missing arrays {missing}; allowed: t, q, joint_names")
            return Trajectory(np.asarray(data["t"], float), np.asarray(data["q"], float),
                              tuple(str(n) for n in data["joint_names"]))
    if path.suffix != ".csv":
        raise ValueError(f"{path}: suffix {path.suffix!r}; allowed: .csv, .npz")
    rows = []
    with path.open(newline="") as f:
        reader = csv.reader(line for line in f if not line.lstrip().startswith("#") and line.strip())
        header = next(reader, None)
        if not header or header[0].strip() != "t" or len(header) < 2:
            raise ValueError(f"{path}: header {header!r}; allowed: t,<joint name>,...")
        for line_number, row in enumerate(reader, start=2):
            if len(row) != len(header):
                raise ValueError(f"{path}: row {line_number}: {len(row)} columns; allowed: {len(header)}")
            try:
                rows.append([float(x) for x in row])
            except ValueError:
                raise ValueError(f"{path}: row {line_number}: not a number in {row!r}") from None
    if not rows:
        raise ValueError(f"{path}: no samples")
    data = np.array(rows)
    return Trajectory(data[:, 0], data[:, 1:], tuple(h.strip() for h in header[1:]))


def sine_generator(joint_names: Sequence[str], amplitude: float = 0.2, frequency_hz: float = 0.5,
                   center: Mapping[str, float] | None = None) -> Callable[[float], dict[str, float]]:
    """q_j(t) = center_j + amplitude sin(2 pi f t): starts at the center pose (the start gate's friend)."""
    center = dict(center or {})

    def generate(elapsed: float) -> dict[str, float]:
        s = amplitude * math.sin(2.0 * math.pi * frequency_hz * elapsed)
        return {name: center.get(name, 0.0) + s for name in joint_names}

    return generate


class TeleopClient:
    """Sends authenticated teleop packets over UDP.

    Args:
        address: (host, port) or "udp://HOST:PORT" of the robot's receiver.
        key: the pre-shared key (bytes; see protocol.load_key for key files).
        joint_names: the robot's joint order, to address joints by name (else by index).
        session_id: random by default; a new client is a new session.
        ttl_s: how long each packet keeps the robot's watchdog alive.
        due_in_s: how far ahead of its send time each target is due (>= 1.5 packet intervals).
    """

    def __init__(self, address, key: bytes, *, joint_names: Sequence[str] | None = None,
                 session_id: int | None = None, ttl_s: float = 0.1, due_in_s: float = 0.03):
        if isinstance(address, str):
            address = protocol.parse_url(address)
        self.address = (address[0], int(address[1]))
        self._init_stream(key, joint_names, session_id, ttl_s, due_in_s)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def _init_stream(self, key: bytes, joint_names, session_id, ttl_s: float, due_in_s: float) -> None:
        # Everything but the transport (shared with humanoid_rt.remote.ZenohTeleopClient).
        if len(key) < protocol.MIN_KEY_BYTES:
            raise ValueError(f"key: {len(key)} bytes; allowed: at least {protocol.MIN_KEY_BYTES}")
        self.key = bytes(key)
        self.joint_names = tuple(joint_names) if joint_names is not None else None
        self._index = {n: i for i, n in enumerate(self.joint_names or ())}
        self.session_id = session_id if session_id is not None else secrets.randbits(64) or 1
        self.sequence = 0
        self.ttl_s = ttl_s
        self.due_in_s = due_in_s
        self.sent = 0

    def close(self) -> None:
        self._socket.close()

    def __enter__(self) -> "TeleopClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _next(self) -> dict:
        self.sequence += 1
        return {"session_id": self.session_id, "sequence": self.sequence, "sender_time_ns": time.monotonic_ns()}

    def send_raw(self, packet: bytes) -> None:
        self._socket.sendto(packet, self.address)
        self.sent += 1

    def _indices(self, targets) -> tuple[list[int], list[float]]:
        if isinstance(targets, Mapping):
            indices = []
            for name in targets:
                if isinstance(name, str):
                    if name not in self._index:
                        allowed = ", ".join(self.joint_names) if self.joint_names else "indices (no joint_names given)"
                        raise KeyError(f"joint: unknown joint {name!r}; allowed: {allowed}")
                    indices.append(self._index[name])
                else:
                    indices.append(int(name))
            return indices, [float(v) for v in targets.values()]
        values = np.asarray(targets, dtype=float)
        return list(range(values.size)), values.tolist()

    def joint_packet(self, targets, *, dq=None, tau_ff=None, kp=None, kd=None, estop: bool = False) -> bytes:
        indices, q = self._indices(targets)
        extra = {}
        for name, column in (("dq", dq), ("tau_ff", tau_ff), ("kp", kp), ("kd", kd)):
            if column is not None:
                extra[name] = self._indices(column)[1] if isinstance(column, Mapping) else list(np.asarray(column, float))
        return protocol.joint_packet(self.key, indices, q, due_in_s=self.due_in_s, ttl_s=self.ttl_s, estop=estop,
                                     **extra, **self._next())

    def send_joints(self, targets, **kwargs) -> None:
        """targets: {joint name or index: q [rad]} or an array in joint order (dq, tau_ff, kp, kd alike)."""
        self.send_raw(self.joint_packet(targets, **kwargs))

    def send_poses(self, poses: Iterable[tuple[int, Sequence[float], Sequence[float]]]) -> None:
        """(frame_id, (x, y, z), (w, x, y, z)) each: the Cartesian targets of the robot's model.tasks frames."""
        self.send_raw(protocol.pose_packet(self.key, poses, due_in_s=self.due_in_s, ttl_s=self.ttl_s, **self._next()))

    def send_hands(self, grips: Mapping[str | int, float]) -> None:
        """{"left"/"right": grip 0 (open)..1 (closed)}."""
        self.send_raw(protocol.hand_packet(self.key, dict(grips), due_in_s=self.due_in_s, ttl_s=self.ttl_s,
                                           **self._next()))

    def send_base_target(self, height_offset_m: float, rpy: Sequence[float] = (0.0, 0.0, 0.0)) -> None:
        """A standing robot's pelvis target: height offset [m] from its standing anchor, roll/pitch/yaw [rad]."""
        self.send_raw(protocol.base_target_packet(self.key, height_offset_m, rpy, due_in_s=self.due_in_s,
                                                  ttl_s=self.ttl_s, **self._next()))

    def send_estop(self) -> None:
        self.send_raw(protocol.estop_packet(self.key, **self._next()))

    def stream(self, source, rate_hz: float, *, duration: float | None = None, retarget: Retarget | None = None,
               on_send: Callable[[int, Any], None] | None = None, should_stop: Callable[[], bool] | None = None) -> int:
        """Send targets at `rate_hz`, paced on the monotonic clock, until the source ends or `duration`.

        source: a Trajectory (played from its start), a callable elapsed_s -> sample, or an iterable of
        samples (one per packet). A sample is {joint name: q} or an array in joint order; with
        `retarget`, a sample is whatever the operator tracking produces and retarget(sample) gives
        the joint targets. Returns the number of packets sent.
        """
        if not (rate_hz > 0 and math.isfinite(rate_hz)):
            raise ValueError(f"rate_hz: {rate_hz!r}; allowed: a number > 0")
        if isinstance(source, Trajectory):
            trajectory = source
            source = trajectory.sample
            duration = trajectory.duration if duration is None else duration
        samples: Iterator | None = None if callable(source) else iter(source)
        period = 1.0 / rate_hz
        start = time.monotonic()
        count = 0
        while True:
            elapsed = count * period
            if duration is not None and elapsed > duration + 1e-9:
                break
            if should_stop is not None and should_stop():
                break
            if samples is None:
                sample = source(elapsed)
            else:
                try:
                    sample = next(samples)
                except StopIteration:
                    break
            targets = retarget(sample) if retarget is not None else sample
            self.send_joints(targets)
            if on_send is not None:
                on_send(count, targets)
            count += 1
            delay = start + count * period - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        return count
