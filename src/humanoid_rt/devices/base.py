"""What every serial device shares: the sample contract, counters, the reader thread and reconnecting.

The sample contract (the recorder consumes it; keep it stable):

* `drain() -> dict[str, numpy.ndarray]`: the samples since the last drain, one row per sample, as columns.
  Always `t_ns` (int64, `time.monotonic_ns()` when the frame was received); `seq` (uint32) where the device
  numbers its frames; then the device's own columns (see each device's `COLUMNS`). With no samples the columns
  are there with zero rows.
* `latest()`: the newest sample as a dict (scalars and arrays), or None before the first one.
* `statistics()`: frames, crc_errors, timeouts, resyncs, disconnects, reconnects, dropped (buffer overflow: the
  oldest samples make room), last_error, plus device-specific counters.
* `start()` / `stop()`: the reader thread; `poll_once()` runs one cycle without it (tests, stepped use).

Reader threads run beside the real-time loop, never in it: the C++ loop takes no lock and never waits for them.
A disconnect or a garbled frame is counted and retried (reconnect with exponential backoff); nothing raises out
of the thread.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import serial

from .framing import FrameScanner
from .modbus import ModbusCrcError, ModbusError, ModbusExceptionResponse, ModbusFrameError, ModbusTimeout

__all__ = ["SampleBuffer", "SerialDevice", "StreamDevice", "Columns"]

Columns = dict[str, tuple[np.dtype, tuple[int, ...]]]  # column name -> (dtype, shape of one sample)


class SampleBuffer:
    """A bounded, thread-safe queue of samples stored as rows; drained as columns.

    Bounded so a recorder that stops draining costs memory once, not forever: on overflow the oldest sample
    is dropped and counted.
    """

    def __init__(self, columns: Columns, capacity: int):
        if capacity < 1:
            raise ValueError(f"capacity: {capacity}; allowed: an integer >= 1")
        self.columns = {"t_ns": (np.dtype(np.int64), ())} | {k: (np.dtype(d), s) for k, (d, s) in columns.items()}
        self._rows: collections.deque = collections.deque(maxlen=capacity)
        self._lock = threading.Lock()
        self.dropped = 0

    def append(self, t_ns: int, values: dict[str, Any]) -> None:
        # Converted (and copied) here, so latest() and drain() give the column's dtype whatever the caller passed.
        row = (np.int64(t_ns),) + tuple(
            dtype.type(values[name]) if not shape else np.array(values[name], dtype=dtype)
            for name, (dtype, shape) in self.columns.items() if name != "t_ns")
        with self._lock:
            if len(self._rows) == self._rows.maxlen:
                self.dropped += 1
            self._rows.append(row)

    def _as_dict(self, row) -> dict[str, Any]:
        return dict(zip(self.columns, row))

    def latest(self) -> dict[str, Any] | None:
        with self._lock:
            row = self._rows[-1] if self._rows else None
        return None if row is None else self._as_dict(row)

    def drain(self) -> dict[str, np.ndarray]:
        with self._lock:
            rows = list(self._rows)
            self._rows.clear()
        if not rows:
            return {name: np.empty((0,) + shape, dtype) for name, (dtype, shape) in self.columns.items()}
        return {name: np.stack([row[index] for row in rows]) for index, name in enumerate(self.columns)}


_DISCONNECTS = (serial.SerialException, OSError)


class SerialDevice:
    """A device on a pyserial port, read by its own thread at its own rate.

    Subclasses define `kind`, `COLUMNS` and `_poll(port) -> int` (one cycle: read/parse, append samples, return how
    many). Open and reopen go through `port_factory(url, baudrate=, timeout=)`, `serial.serial_for_url` by default,
    so tests hand in ptys, `loop://` or an in-process link to a virtual device.
    """

    kind = "serial"
    COLUMNS: Columns = {}
    EXTRA_COUNTERS: tuple[str, ...] = ()

    def __init__(self, name: str, url: str, *, baudrate: int, rate_hz: float, timeout_s: float | None = None,
                 buffer_s: float = 10.0, backoff_s: tuple[float, float] = (0.05, 2.0),
                 port_factory: Callable[..., Any] = serial.serial_for_url):
        if not rate_hz > 0:
            raise ValueError(f"rate_hz: {rate_hz}; allowed: a number > 0")
        self.name = name
        self.url = url
        self.baudrate = baudrate
        self.rate_hz = rate_hz
        # Long enough that a healthy device is never late, short enough that a stall shows within a few periods.
        self.timeout_s = timeout_s if timeout_s is not None else max(0.05, 5.0 / rate_hz)
        self.backoff_s = backoff_s
        self.port_factory = port_factory
        self.samples = SampleBuffer(self.COLUMNS, capacity=max(1, int(buffer_s * rate_hz)))
        self._counts = dict.fromkeys(("frames", "crc_errors", "timeouts", "resyncs", "disconnects", "reconnects",
                                      "open_failures", "errors") + self.EXTRA_COUNTERS, 0)
        self._last_error = ""
        self._port = None
        self._ever_connected = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._stats_lock = threading.Lock()

    # --- the sample contract -------------------------------------------------------------
    def drain(self) -> dict[str, np.ndarray]:
        return self.samples.drain()

    def latest(self) -> dict[str, Any] | None:
        return self.samples.latest()

    def statistics(self) -> dict[str, Any]:
        with self._stats_lock:
            stats = dict(self._counts)
            stats.update(self._scanner_counts())
            stats.update(dropped=self.samples.dropped, last_error=self._last_error, connected=self.connected)
        return stats

    @property
    def connected(self) -> bool:
        return self._port is not None

    # --- counting ---------------------------------------------------------------------------
    def _count(self, key: str, error: str | None = None) -> None:
        with self._stats_lock:
            self._counts[key] = self._counts.get(key, 0) + 1
            if error is not None:
                self._last_error = f"{key}: {error}"

    def _scanner_counts(self) -> dict[str, int]:
        return {}

    # --- one cycle -------------------------------------------------------------------------
    def open(self) -> bool:
        """Open (or reopen) the port; False, counted, when it cannot be opened now."""
        if self._port is not None:
            return True
        try:
            port = self.port_factory(self.url, baudrate=self.baudrate, timeout=self.timeout_s)
            self._port = port
            self._on_open(port)
        except _DISCONNECTS as error:
            self._close()
            self._count("open_failures", f"{self.url}: {error}")
            return False
        except ModbusError as error:  # the device answered its start-up request badly; reopen later
            self._close()
            self._count("open_failures", f"{self.url}: start-up: {error}")
            return False
        if self._ever_connected:
            self._count("reconnects")
        self._ever_connected = True
        return True

    def _close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except _DISCONNECTS:
                pass

    def poll_once(self) -> int:
        """One cycle: (re)open if needed, then read and parse; returns the number of new samples.

        Disconnects, timeouts and bad frames are counted, never raised.
        """
        if not self.open():
            return 0
        try:
            return self._poll(self._port)
        except _DISCONNECTS as error:
            self._close()
            self._count("disconnects", str(error) or type(error).__name__)
        except ModbusTimeout as error:
            self._count("timeouts", str(error))
        except ModbusCrcError as error:
            self._count("crc_errors", str(error))
        except ModbusFrameError as error:
            self._count("resyncs", str(error))
        except ModbusExceptionResponse as error:
            self._count("exceptions", str(error))
        return 0

    def _on_open(self, port) -> None:
        """Start-up after (re)opening: flush stale bytes, start a stream, ..."""
        port.reset_input_buffer()

    def _poll(self, port) -> int:
        raise NotImplementedError

    def _pace(self) -> None:
        """Wait before the next cycle; streams need not (their blocking read paces them)."""

    # --- the reader thread ------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"{self.name}: already started")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"device-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        self._on_stop()
        self._close()

    def _on_stop(self) -> None:
        """Last words to the device before the port closes (e.g. stop a stream)."""

    def _run(self) -> None:
        backoff = self.backoff_s[0]
        while not self._stop.is_set():
            try:
                if not self.open():
                    # Exponential backoff: a missing device costs a few opens per second, not a spinning core.
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, self.backoff_s[1])
                    continue
                backoff = self.backoff_s[0]
                connected_before = self.connected
                self.poll_once()
                if connected_before and not self.connected:
                    self._stop.wait(backoff)
                else:
                    self._pace()
            except Exception as error:  # a bug or an unforeseen device reply must not kill the thread silently
                self._count("errors", f"{type(error).__name__}: {error}")
                self._close()
                self._stop.wait(backoff)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.url} {self.rate_hz:g} Hz>"


class StreamDevice(SerialDevice):
    """A device that streams frames by itself: read what arrived, cut it into frames, decode each into a sample."""

    def __init__(self, name: str, url: str, **kwargs):
        super().__init__(name, url, **kwargs)
        self.scanner = self._make_scanner()

    def _make_scanner(self) -> FrameScanner:
        raise NotImplementedError

    def _decode(self, frame: bytes, t_ns: int) -> int:
        """Turn one checked frame into samples (0 or 1); return how many."""
        raise NotImplementedError

    def _scanner_counts(self) -> dict[str, int]:
        counters = self.scanner.counters
        return {"frames": counters.frames, "crc_errors": counters.crc_errors,
                "resyncs": counters.resyncs + self._counts["resyncs"]}

    def _on_open(self, port) -> None:
        super()._on_open(port)
        self.scanner.reset()

    def _poll(self, port) -> int:
        # Block for the first byte (up to timeout_s), then take whatever else is waiting: no busy loop, and the
        # reception time is taken as soon as the bytes are in.
        data = port.read(1)
        if not data:
            self._count("timeouts", f"no data for {self.timeout_s:g} s")
            return 0
        waiting = port.in_waiting
        if waiting:
            data += port.read(waiting)
        t_ns = time.monotonic_ns()
        produced = 0
        for frame in self.scanner.feed(data):
            produced += self._decode(frame, t_ns)
        return produced
