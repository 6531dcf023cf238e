"""One episode as one MCAP file: channels, batched writes, crash-safe flushing.

Written with Foxglove's SDK (its MCAP writer is Rust: ~1.5 us of CPU per message here,
against ~8-13 us for the pure-Python `mcap` writer, which would make the issue's 10 kHz
state + F/T + tactile goal cost half a core). Read back with the `mcap` package
(reader.py), an independent implementation of the format.

Timestamps: every message's `log_time` is wall-clock (ns since the Unix epoch, what
Foxglove's timeline shows; the SDK sets publish_time equal to it); every payload starts
with `monotonic_ns`, CLOCK_MONOTONIC, the clock the loop, the devices and camera
processes share. The offset between the two is measured when the file opens and stored
in the `episode` metadata (`wall_minus_monotonic_ns`).

Crash safety: the writer closes its chunk and hands it to the OS every
`flush_interval_s` (0.5 s), so a process killed mid-episode leaves a file whose
records up to the last flush are intact; `recover()` (session.py) rewrites it whole.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Mapping

import foxglove
import numpy as np
from foxglove.mcap import MCAPCompression, MCAPWriteOptions

from .schemas import DynamicMessage, PackedMessage

PROFILE = "ros2"  # CDR + ros2msg: the profile the Foxglove and ROS 2 tools expect
COMPRESSION = {"lz4": MCAPCompression.Lz4, "zstd": MCAPCompression.Zstd, "none": None}


class EpisodeFile:
    """Writes one episode; used from one thread at a time (the recorder holds its lock)."""

    def __init__(self, path: Path, *, flush_interval_s: float = 0.5, fsync_interval_s: float = 5.0,
                 compression: str = "lz4"):
        if compression not in COMPRESSION:
            raise ValueError(f"compression: {compression!r}; allowed: {', '.join(COMPRESSION)}")
        self.path = Path(path)
        if self.path.exists():
            raise FileExistsError(f"{self.path}: an episode file is never overwritten")
        # A context of its own: this file's channels reach this file only.
        self._context = foxglove.Context()
        self._writer = foxglove.open_mcap(
            self.path, context=self._context,
            writer_options=MCAPWriteOptions(compression=COMPRESSION[compression], profile=PROFILE,
                                            chunk_size=1 << 22))
        self._channels: dict[str, tuple[foxglove.Channel, Any]] = {}  # topic -> (channel, message type)
        self.message_counts: dict[str, int] = {}
        self.flush_interval_s = flush_interval_s
        self.fsync_interval_s = fsync_interval_s
        self._last_flush = self._last_fsync = time.monotonic()
        self.wall_minus_monotonic_ns = time.time_ns() - time.monotonic_ns()
        self.closed = False

    # ------------------------------------------------------------------ channels
    def channel(self, topic: str, message: PackedMessage | DynamicMessage,
                metadata: Mapping[str, str] | None = None) -> None:
        """Register `topic` carrying `message` (once)."""
        if topic in self._channels:
            return
        schema = foxglove.Schema(name=message.name, encoding="ros2msg", data=message.definition.encode())
        channel = foxglove.Channel(topic, schema=schema, message_encoding="cdr", context=self._context,
                                   metadata=dict(metadata or {}))
        self._channels[topic] = (channel, message)
        self.message_counts[topic] = 0

    def has_channel(self, topic: str) -> bool:
        return topic in self._channels

    # ------------------------------------------------------------------ writing
    def write_packed(self, topic: str, columns: Mapping[str, Any], monotonic_ns: np.ndarray) -> None:
        """len(monotonic_ns) messages on a PackedMessage channel, packed in one go."""
        channel, message = self._channels[topic]
        rows = len(monotonic_ns)
        if rows == 0:
            return
        packed = message.pack(columns, rows)
        log_times = (np.asarray(monotonic_ns, dtype=np.int64) + self.wall_minus_monotonic_ns).tolist()
        # One bytes object for the batch, sliced per message, handed to the SDK's native channel
        # (Channel.log only checks the type and forwards bytes there): at 10 kHz x 5 streams the
        # per-message Python overhead was a third of the recorder's CPU time.
        data, size = packed.tobytes(), packed.shape[1]  # pack() gives (rows, message size) bytes
        log = channel.base.log
        for i in range(rows):
            log(data[i * size:(i + 1) * size], log_times[i], None)
        self.message_counts[topic] += rows

    def write(self, topic: str, monotonic_ns: int, **values: Any) -> None:
        """One message on a DynamicMessage channel."""
        channel, message = self._channels[topic]
        channel.log(message.encode(monotonic_ns=int(monotonic_ns), **values),
                    log_time=int(monotonic_ns) + self.wall_minus_monotonic_ns)
        self.message_counts[topic] += 1

    def attach(self, name: str, data: bytes, media_type: str) -> None:
        now = time.time_ns()
        self._writer.attach(log_time=now, create_time=now, name=name, media_type=media_type, data=data)

    def metadata(self, name: str, values: Mapping[str, Any]) -> None:
        """A metadata record; values become strings (MCAP metadata is a string map)."""
        self._writer.write_metadata(name, {k: str(v) for k, v in values.items()})

    def maybe_flush(self) -> None:
        """Hand the chunk in progress to the OS every flush_interval_s; fsync every fsync_interval_s."""
        now = time.monotonic()
        if now - self._last_flush >= self.flush_interval_s:
            self._writer.flush()
            self._last_flush = now
            if now - self._last_fsync >= self.fsync_interval_s:
                _fsync(self.path)
                self._last_fsync = now

    def close(self) -> None:
        """Write the summary and index, fsync and close."""
        if self.closed:
            return
        self.closed = True
        for channel, _ in self._channels.values():
            channel.close()
        self._writer.close()
        _fsync(self.path)


def _fsync(path: Path) -> None:
    # The SDK owns its file descriptor; fsync through one of ours reaches the same inode's pages.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
