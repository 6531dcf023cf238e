"""Virtual serial devices: the transport and fault injection shared by the hand, tactile, F/T and IMU models.

A virtual device is a model (subclass hooks `_advance`, `_periodic_frames`, `_respond`) behind one of two ends:

* a pty (`open_pty()`, `start()` runs a thread at the device's rate): real file descriptors, so the real
  reader path (pyserial, blocking reads, EIO on hang-up) is exercised; `link_path` names a stable symlink that
  is re-pointed when the device "comes back" after `disconnect()`;
* an in-process link (`port_factory`): a pyserial-like object handed to a device as its port, so tests step the
  model with `serve_once()` and the reader with `poll_once()` in one thread, exactly, without waiting.

Faults (`inject(fault, count)`) apply to the next `count` outgoing frames (responses or stream frames):
garble (one byte inverted: the CRC/checksum must catch it), drop, short (the first half only), garbage (junk
bytes before the frame), and stall (`count` ticks without sending or answering anything).
"""

from __future__ import annotations

import collections
import errno
import os
import select
import threading
import time
import tty
from pathlib import Path

import serial

__all__ = ["FAULTS", "VirtualDevice", "LinkPort"]

FAULTS = ("garble", "drop", "short", "garbage", "stall")
# Junk without any format's sync byte (0x55 WitMotion, 0x20 Robotiq, 0xA5 tactile) or a plausible Modbus
# slave id at its start, so the counts a test expects do not depend on the junk's content.
GARBAGE = bytes([0x00, 0x13, 0x37, 0x00, 0x42, 0x99])


class LinkPort:
    """The in-process end of a virtual device, with the part of pyserial's API the devices use.

    Reads never block: what the device has not sent yet is simply not there (a timeout, instantly).
    """

    def __init__(self, device: "VirtualDevice", timeout: float | None = None):
        self._device = device
        self._rx = bytearray()
        self.timeout = timeout
        self.is_open = True

    def _check(self) -> None:
        if not self.is_open or self._device._link is not self:
            raise serial.SerialException("virtual link closed (device disconnected)")

    def write(self, data: bytes) -> int:
        self._check()
        self._device._receive(bytes(data))
        return len(data)

    def read(self, size: int = 1) -> bytes:
        self._check()
        data = bytes(self._rx[:size])
        del self._rx[:size]
        return data

    @property
    def in_waiting(self) -> int:
        self._check()
        return len(self._rx)

    def reset_input_buffer(self) -> None:
        self._rx.clear()

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.is_open = False


class VirtualDevice:
    kind = "virtual"

    def __init__(self, rate_hz: float, seed: int = 0):
        if not rate_hz > 0:
            raise ValueError(f"rate_hz: {rate_hz}; allowed: a number > 0")
        self.rate_hz = rate_hz
        self.seed = seed
        self.faults = collections.Counter()  # pending faults
        self.applied = collections.Counter()  # faults applied so far, and "sent" / "overflowed" frames
        self._lock = threading.RLock()  # model state: the serving thread and link writers both touch it
        self._input = bytearray()
        self._link: LinkPort | None = None
        self._master_fd: int | None = None
        self._slave_fd: int | None = None
        self.pty_path: str | None = None
        self.link_path: str | None = None
        self.disconnected = False
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._back_at: float | None = None
        self._muted = False  # stalled: requests go unanswered until the tick after the stall's last tick
        self._fds_to_close: list[int] = []  # under _lock: closed by the serving thread (see disconnect())

    # --- model hooks ------------------------------------------------------------------------
    def _advance(self, dt: float) -> None:
        """Move the model on by dt seconds."""

    def _periodic_frames(self) -> list[bytes]:
        """The frames a streaming device sends each tick (each one is subject to faults on its own)."""
        return []

    def _respond(self) -> list[bytes]:
        """Consume complete requests from `self._input`; return the responses."""
        self._input.clear()
        return []

    # --- faults -----------------------------------------------------------------------------
    def inject(self, fault: str, count: int = 1) -> None:
        if fault not in FAULTS:
            raise ValueError(f"fault: {fault!r}; allowed: one of {', '.join(FAULTS)}")
        if not (isinstance(count, int) and count >= 1):
            raise ValueError(f"count: {count!r}; allowed: an integer >= 1")
        with self._lock:
            self.faults[fault] += count

    def _take_fault(self, fault: str) -> bool:
        if self.faults[fault] > 0:
            self.faults[fault] -= 1
            self.applied[fault] += 1
            return True
        return False

    def _deliver(self, frame: bytes) -> None:
        if self._take_fault("drop"):
            return
        if self._take_fault("garble"):
            middle = len(frame) // 2
            frame = frame[:middle] + bytes([frame[middle] ^ 0xFF]) + frame[middle + 1:]
        if self._take_fault("short"):
            frame = frame[: len(frame) // 2]
        if self._take_fault("garbage"):
            frame = GARBAGE + frame
        self._write(frame)

    # --- ends -----------------------------------------------------------------------------
    def port_factory(self, url: str = "", **settings) -> LinkPort:
        """Use as a device's `port_factory`: each (re)open gets a fresh link, refused while disconnected."""
        with self._lock:
            if self.disconnected:
                raise serial.SerialException(f"virtual {self.kind} is disconnected")
            self._link = LinkPort(self, settings.get("timeout"))
            return self._link

    def open_pty(self, link_path: str | os.PathLike | None = None) -> str:
        """Create the pty; returns the path a device opens (`link_path` when given, else /dev/pts/N)."""
        with self._lock:
            self._master_fd, self._slave_fd = os.openpty()
            tty.setraw(self._slave_fd)  # no echo, no newline translation: a binary line
            os.set_blocking(self._master_fd, False)
            self.pty_path = os.ttyname(self._slave_fd)
            if link_path is not None:
                self.link_path = str(link_path)
            if self.link_path is not None:
                temporary = Path(self.link_path + ".new")
                temporary.unlink(missing_ok=True)
                temporary.symlink_to(self.pty_path)
                os.replace(temporary, self.link_path)  # atomic: a reader sees the old or the new pty
            self.disconnected = False
            return self.link_path or self.pty_path

    def disconnect(self) -> None:
        """Unplug: the pty closes (readers get EIO) and the link breaks, until `reconnect()`."""
        with self._lock:
            self.disconnected = True
            self._link = None
            fds = [fd for fd in (self._master_fd, self._slave_fd) if fd is not None]
            self._master_fd = self._slave_fd = None
            serving = self._thread is not None and self._thread.is_alive()
            if serving and threading.current_thread() is not self._thread:
                # The serving thread may be in select() on these fds: closing them here could fail it (EBADF)
                # or, once the number is reused, make it read someone else's file. It closes them itself.
                self._fds_to_close.extend(fds)
            else:
                for fd in fds:
                    os.close(fd)
            if self.link_path is not None:
                Path(self.link_path).unlink(missing_ok=True)
            self._input.clear()

    def reconnect(self) -> None:
        with self._lock:
            if self.pty_path is not None:
                self.open_pty()
            self.disconnected = False

    def disconnect_for(self, seconds: float) -> None:
        """Disconnect now; the serving thread reconnects after `seconds`."""
        self.disconnect()
        self._back_at = time.monotonic() + seconds

    def _receive(self, data: bytes) -> None:
        with self._lock:
            if self._muted or self.faults["stall"] > 0:
                return  # a stalled device hears nothing
            self._input += data
            for response in self._respond():
                self._deliver(response)

    def _write(self, data: bytes) -> None:
        self.applied["sent"] += 1
        if self._link is not None:
            self._link._rx += data
        elif self._master_fd is not None:
            try:
                os.write(self._master_fd, data)
            except BlockingIOError:
                self.applied["overflowed"] += 1  # nobody reads the pty: its buffer is full, the frame is lost
            except OSError as error:
                if error.errno != errno.EIO:
                    raise

    def _read_input(self, timeout_s: float) -> None:
        fd = self._master_fd
        if fd is None:
            if timeout_s > 0:
                self._stop.wait(timeout_s)
            return
        readable, _, _ = select.select([fd], [], [], timeout_s)
        if readable:
            try:
                data = os.read(fd, 4096)
            except OSError:  # EIO: no reader has the pty open right now
                return
            self._receive(data)

    # --- time -----------------------------------------------------------------------------
    def tick(self) -> None:
        """One period of the device: the model advances, a streaming device sends its frame."""
        with self._lock:
            self._muted = self._take_fault("stall")
            self._advance(1.0 / self.rate_hz)
            if self._muted:
                return
            if not self.disconnected:
                for frame in self._periodic_frames():
                    self._deliver(frame)

    def serve_once(self, timeout_s: float = 0.0) -> None:
        """Answer what has arrived (waiting up to timeout_s on a pty), then one tick."""
        self._read_input(timeout_s)
        self.tick()

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("virtual device already serving")
        if self._master_fd is None and not self.disconnected:
            self.open_pty()
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name=f"virtual-{self.kind}", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        period = 1.0 / self.rate_hz
        next_tick = time.monotonic()
        while not self._stop.is_set():
            self._close_released_fds()
            now = time.monotonic()
            if self._back_at is not None and now >= self._back_at:
                self._back_at = None
                self.reconnect()
            if now >= next_tick:
                self.tick()
                next_tick = max(next_tick + period, now)  # after a hiccup, do not burst to catch up
            self._read_input(max(0.0, next_tick - time.monotonic()))

    def _close_released_fds(self) -> None:
        with self._lock:
            fds, self._fds_to_close = self._fds_to_close, []
        for fd in fds:
            os.close(fd)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None
        self._close_released_fds()

    def close(self) -> None:
        self.stop()
        self.disconnect()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
