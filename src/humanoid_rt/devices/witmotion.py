"""IMU stream in the WitMotion (WT901-style) serial protocol (firmware_interfaces/serial/witmotion_wt901.md).

11-byte packets: 0x55, a type byte, four int16 little-endian, and the low byte of the sum of the first ten
bytes. Types used: 0x51 acceleration (+-16 g), 0x52 angular velocity (+-2000 deg/s), 0x53 Euler angles
(+-180 deg), 0x59 quaternion (w, x, y, z, /32768). One IMU sample is closed by each quaternion packet (the last
of the device's output cycle) with the newest acceleration and angular velocity before it.
"""

from __future__ import annotations

import math
import struct

import numpy as np

from ..poses import axis_angle_wxyz
from .base import StreamDevice
from .framing import FormatError, FrameScanner
from .virtual import VirtualDevice

__all__ = ["HEADER", "PACKET_SIZE", "ACCELERATION", "ANGULAR_VELOCITY", "ANGLE", "QUATERNION", "GRAVITY",
           "encode_packet", "decode_packet", "make_scanner", "WitMotionIMU", "VirtualWitMotionIMU"]

HEADER = 0x55
PACKET_SIZE = 11
ACCELERATION, ANGULAR_VELOCITY, ANGLE, QUATERNION = 0x51, 0x52, 0x53, 0x59
GRAVITY = 9.80665  # m/s^2 per g
# Physical value of one count of each packet's first three (quaternion: four) fields.
UNITS = {
    ACCELERATION: 16.0 * GRAVITY / 32768.0,  # m/s^2
    ANGULAR_VELOCITY: math.radians(2000.0) / 32768.0,  # rad/s
    ANGLE: math.radians(180.0) / 32768.0,  # rad
    QUATERNION: 1.0 / 32768.0,
}
_PACKET = struct.Struct("<BB4h")


def _checksum_ok(packet: bytes) -> bool:
    return sum(packet[:10]) & 0xFF == packet[10]


def encode_packet(kind: int, raw: tuple[int, int, int, int]) -> bytes:
    body = _PACKET.pack(HEADER, kind, *raw)
    return body + bytes([sum(body) & 0xFF])


def decode_packet(packet: bytes) -> tuple[int, tuple[int, int, int, int]]:
    """(type, four raw int16); FormatError if `packet` is not a valid packet."""
    if len(packet) != PACKET_SIZE or packet[0] != HEADER or not _checksum_ok(packet):
        raise FormatError("not a valid WitMotion packet (11 bytes, 0x55, sum checksum)")
    _, kind, *raw = _PACKET.unpack_from(packet)
    return kind, tuple(raw)


def make_scanner() -> FrameScanner:
    return FrameScanner(bytes([HEADER]), lambda buffer: PACKET_SIZE, _checksum_ok)


class WitMotionIMU(StreamDevice):
    kind = "witmotion_imu"
    COLUMNS = {"accel": (np.float64, (3,)), "gyro": (np.float64, (3,)), "quat": (np.float64, (4,))}
    EXTRA_COUNTERS = ("other_packets", "imu_sink_rejected")

    def __init__(self, name: str, url: str, *, baudrate: int = 115200, rate_hz: float = 200.0, **kwargs):
        super().__init__(name, url, baudrate=baudrate, rate_hz=rate_hz, **kwargs)
        self._accel = np.full(3, np.nan)  # NaN until the device has sent one: never a made-up zero
        self._gyro = np.full(3, np.nan)
        # Floating base (issue 13): called from the device thread with (quat, gyro, accel) for each complete
        # sample, e.g. Robot.write_imu (floating_base.connect_imu_device). None: samples are only buffered.
        self.imu_sink = None

    def _make_scanner(self) -> FrameScanner:
        return make_scanner()

    def _decode(self, frame: bytes, t_ns: int) -> int:
        kind, raw = decode_packet(frame)
        if kind == ACCELERATION:
            self._accel = np.array(raw[:3]) * UNITS[ACCELERATION]
        elif kind == ANGULAR_VELOCITY:
            self._gyro = np.array(raw[:3]) * UNITS[ANGULAR_VELOCITY]
        elif kind == QUATERNION:
            quaternion = np.array(raw) * UNITS[QUATERNION]
            self.samples.append(t_ns, {"accel": self._accel, "gyro": self._gyro, "quat": quaternion})
            sink = self.imu_sink
            if sink is not None and np.all(np.isfinite(self._accel)) and np.all(np.isfinite(self._gyro)):
                try:
                    sink(quaternion, self._gyro, self._accel)
                except ValueError as error:  # e.g. a zero quaternion: never into the loop, counted
                    self._count("imu_sink_rejected", str(error))
            return 1
        else:  # angles, magnetometer, time, ...: valid packets this device does not record
            self._count("other_packets")
        return 0


class VirtualWitMotionIMU(VirtualDevice):
    """Turns about its z axis at a steady rate while lying level: gravity on +z, a constant yaw rate."""

    kind = "witmotion_imu"

    def __init__(self, rate_hz: float = 200.0, yaw_rate_rad_s: float = 0.5, seed: int = 0):
        super().__init__(rate_hz, seed)
        self.yaw_rate = yaw_rate_rad_s
        self.yaw = 0.0

    def _advance(self, dt: float) -> None:
        self.yaw = math.remainder(self.yaw + self.yaw_rate * dt, 2 * math.pi)

    def _periodic_frames(self) -> list[bytes]:
        def counts(values, kind):
            return tuple(max(-32768, min(32767, round(v / UNITS[kind]))) for v in values)

        temperature = 2500  # 25.00 degC in the fourth field of 0x51..0x53
        return [
            encode_packet(ACCELERATION, counts((0.0, 0.0, GRAVITY), ACCELERATION) + (temperature,)),
            encode_packet(ANGULAR_VELOCITY, counts((0.0, 0.0, self.yaw_rate), ANGULAR_VELOCITY) + (temperature,)),
            encode_packet(ANGLE, counts((0.0, 0.0, self.yaw), ANGLE) + (temperature,)),
            encode_packet(QUATERNION, counts(axis_angle_wxyz((0.0, 0.0, 1.0), self.yaw), QUATERNION)),
        ]
