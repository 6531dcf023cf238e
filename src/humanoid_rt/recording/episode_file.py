"""One episode as one MCAP file: channels, batched writes, crash-safe flushing.

Timestamps: every message's `log_time` is wall-clock (ns since the Unix epoch, what
Foxglove's timeline shows) and its `publish_time` is CLOCK_MONOTONIC (ns), the clock
the loop, the devices and camera processes share; the payload repeats the monotonic
time. The offset between the two is measured when the file opens and stored in the
`episode` metadata (`wall_minus_monotonic_ns`).

Crash safety: the writer closes its chunk and hands it to the OS every
`flush_interval_s` (0.5 s), so a process killed mid-episode leaves a file whose
records up to the last flush are intact; `recover()` (session.py) rewrites it whole.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np
from mcap.writer import CompressionType, Writer

from .schemas import DynamicMessage, PackedMessage

PROFILE = "ros2"  # CDR + ros2msg: the profile the Foxglove and ROS 2 tools expect
LIBRARY = "humanoid_rt"


class EpisodeFile:
    """Writes one episode; used from one thread at a time (the recorder holds its lock)."""

    def __init__(self, path: Path, *, flush_interval_s: float = 0.5, fsync_interval_s: float = 5.0,
                 compression: str = "lz4"):
        if compression not in ("lz4", "zstd", "none"):
            raise ValueError(f"compression: {compression!r}; allowed: lz4, zstd, none")
        self.path = Path(path)
        self._file = open(self.path, "xb")  # never overwrite a recording
        self._writer = Writer(self._file, compression=CompressionType[compression.upper()],
                              chunk_size=1 << 22)
        self._writer.start(PROFILE, LIBRARY)
        self._schemas: dict[str, int] = {}
        self._channels: dict[str, tuple[int, Any]] = {}  # topic -> (channel id, message type)
        self._sequence: dict[int, int] = {}
        self.message_counts: dict[str, int] = {}
        self.flush_interval_s = flush_interval_s
        self.fsync_interval_s = fsync_interval_s
        self._last_flush = self._last_fsync = time.monotonic()
        self.wall_minus_monotonic_ns = time.time_ns() - time.monotonic_ns()
        self.closed = False

    # ------------------------------------------------------------------ channels
    def channel(self, topic: str, message: PackedMessage | DynamicMessage,
                metadata: Mapping[str, str] | None = None) -> int:
        """Register `topic` carrying `message` (once; later calls return the same channel)."""
        if topic in self._channels:
            return self._channels[topic][0]
        schema_id = self._schemas.get(message.definition)
        if schema_id is None:
            schema_id = self._writer.register_schema(message.name, "ros2msg", message.definition.encode())
            self._schemas[message.definition] = schema_id
        channel_id = self._writer.register_channel(topic, "cdr", schema_id, dict(metadata or {}))
        self._channels[topic] = (channel_id, message)
        self._sequence[channel_id] = 0
        self.message_counts[topic] = 0
        return channel_id

    def has_channel(self, topic: str) -> bool:
        return topic in self._channels

    # ------------------------------------------------------------------ writing
    def write_packed(self, topic: str, columns: Mapping[str, Any], monotonic_ns: np.ndarray) -> None:
        """len(monotonic_ns) messages on a PackedMessage channel, packed in one go."""
        channel_id, message = self._channels[topic]
        rows = len(monotonic_ns)
        if rows == 0:
            return
        packed = message.pack(columns, rows)
        log_times = (np.asarray(monotonic_ns, dtype=np.int64) + self.wall_minus_monotonic_ns).tolist()
        publish_times = np.asarray(monotonic_ns, dtype=np.int64).tolist()
        sequence = self._sequence[channel_id]
        view = memoryview(packed).cast("B")
        size = message.size
        add = self._writer.add_message
        for i in range(rows):
            add(channel_id, log_times[i], view[i * size:(i + 1) * size], publish_times[i], sequence + i)
        self._sequence[channel_id] = sequence + rows
        self.message_counts[topic] += rows

    def write(self, topic: str, monotonic_ns: int, **values: Any) -> None:
        """One message on a DynamicMessage channel."""
        channel_id, message = self._channels[topic]
        data = message.encode(monotonic_ns=int(monotonic_ns), **values)
        sequence = self._sequence[channel_id]
        self._writer.add_message(channel_id, int(monotonic_ns) + self.wall_minus_monotonic_ns, data,
                                 int(monotonic_ns), sequence)
        self._sequence[channel_id] = sequence + 1
        self.message_counts[topic] += 1

    def attach(self, name: str, data: bytes, media_type: str) -> None:
        now = time.time_ns()
        self._writer.add_attachment(now, now, name, media_type, data)

    def metadata(self, name: str, values: Mapping[str, Any]) -> None:
        """A metadata record; values become strings (MCAP metadata is a string map)."""
        self._writer.add_metadata(name, {k: str(v) for k, v in values.items()})

    def maybe_flush(self) -> None:
        """Hand finished chunks to the OS every flush_interval_s; fsync every fsync_interval_s."""
        now = time.monotonic()
        if now - self._last_flush >= self.flush_interval_s:
            self._writer.flush()
            self._last_flush = now
            if now - self._last_fsync >= self.fsync_interval_s:
                os.fsync(self._file.fileno())
                self._last_fsync = now

    def close(self) -> None:
        """Write the summary and index, fsync and close."""
        if self.closed:
            return
        self.closed = True
        try:
            self._writer.finish()
            self._file.flush()
            os.fsync(self._file.fileno())
        finally:
            self._file.close()

    @property
    def size_bytes(self) -> int:
        return self._file.tell() if not self._file.closed else self.path.stat().st_size
