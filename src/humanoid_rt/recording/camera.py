"""External cameras: frame timestamps and file references, so video aligns with the log.

A camera process (its own capture loop, encoder and files) tells the recorder when
each frame was taken, on CLOCK_MONOTONIC - the clock the loop and the devices use,
shared by every process on the machine - and where the frame is stored:

    client = CameraClient(port)                 # the recorder's camera_port
    client.frame("head", index, "videos/head.mp4#frame=%d" % index)   # stamped now
    client.frame("wrist_l", index, uri, t_ns=exposure_mid_ns)         # or with the exposure time

One UDP datagram per frame on the loopback interface (JSON, a few hundred bytes):
{"camera": str, "frame_index": int >= 0, "t_ns": int > 0, "uri": str}. A malformed
datagram is counted as rejected and otherwise ignored; it never reaches the file.
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any

MAX_DATAGRAM = 4096


def parse_frame(data: bytes) -> dict[str, Any]:
    """A frame registration from a datagram; ValueError naming the field otherwise."""
    try:
        frame = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"camera frame: not a JSON object ({error})") from None
    if not isinstance(frame, dict):
        raise ValueError("camera frame: not a JSON object")
    camera, index, t_ns, uri = (frame.get(k) for k in ("camera", "frame_index", "t_ns", "uri"))
    if not isinstance(camera, str) or not camera or len(camera) > 128:
        raise ValueError("camera: must be a non-empty string of at most 128 characters")
    if not isinstance(index, int) or isinstance(index, bool) or not (0 <= index < 1 << 63):
        raise ValueError("frame_index: must be an integer >= 0")
    if not isinstance(t_ns, int) or isinstance(t_ns, bool) or not (0 < t_ns < 1 << 63):
        raise ValueError("t_ns: must be a positive integer (CLOCK_MONOTONIC nanoseconds)")
    if uri is None:
        uri = ""
    if not isinstance(uri, str) or len(uri) > 2048:
        raise ValueError("uri: must be a string of at most 2048 characters")
    return {"camera": camera, "frame_index": index, "t_ns": t_ns, "uri": uri}


class CameraClient:
    """What a camera process uses to register its frames with a recorder on this machine."""

    def __init__(self, port: int, host: str = "127.0.0.1"):
        self.address = (host, int(port))
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def frame(self, camera: str, frame_index: int, uri: str = "", t_ns: int | None = None) -> None:
        message = {"camera": camera, "frame_index": frame_index,
                   "t_ns": time.monotonic_ns() if t_ns is None else t_ns, "uri": uri}
        data = json.dumps(message).encode()
        parse_frame(data)  # the sender learns of a bad field, not only the recorder's counter
        self._socket.sendto(data, self.address)

    def close(self) -> None:
        self._socket.close()


class CameraFrameInbox:
    """The recorder's side: registrations from camera processes (UDP) and from this process."""

    def __init__(self, port: int | None):
        self.rejected = 0
        self.last_rejection = ""
        self._local: list[dict[str, Any]] = []
        self._socket = None
        if port is not None:
            self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._socket.bind(("127.0.0.1", int(port)))
            self._socket.setblocking(False)
            # Frames arrive in bursts between drains (10 ms); a 1 MB buffer holds thousands.
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)

    @property
    def port(self) -> int | None:
        return self._socket.getsockname()[1] if self._socket is not None else None

    def register(self, camera: str, frame_index: int, uri: str = "", t_ns: int | None = None) -> None:
        """A frame from this process (same checks as a datagram)."""
        message = {"camera": camera, "frame_index": frame_index,
                   "t_ns": time.monotonic_ns() if t_ns is None else t_ns, "uri": uri}
        self._local.append(parse_frame(json.dumps(message).encode()))

    def drain(self) -> list[dict[str, Any]]:
        frames, self._local = self._local, []
        while self._socket is not None:
            try:
                data = self._socket.recv(MAX_DATAGRAM)
            except BlockingIOError:
                break
            try:
                frames.append(parse_frame(data))
            except ValueError as error:
                self.rejected += 1
                self.last_rejection = str(error)
        return frames

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
