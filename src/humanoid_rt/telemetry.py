"""Many readers of the loop's one telemetry ring.

The core's ring has a single consumer. A recorder, a policy's observation history
and a script calling `robot.drain_telemetry()` each want every sample, so one
fan-out drains the ring and hands each batch to every tap. Taps keep their batches
(numpy columns, shared and read-only, never copied per tap) until their reader drains them; a tap
whose reader falls behind drops its oldest batches and counts the samples.

Nothing here touches the RT thread: draining copies out of the lock-free ring with
the GIL released.
"""

from __future__ import annotations

import collections
import threading
from typing import Callable

import numpy as np

Columns = dict[str, np.ndarray]


def _rows(batch: Columns) -> int:
    return len(batch["cycle"])


def concatenate(batches: list[Columns], empty: Columns) -> Columns:
    """One set of columns from consecutive batches (the empty drain's columns when none)."""
    if not batches:
        return empty
    if len(batches) == 1:
        return batches[0]
    return {key: np.concatenate([b[key] for b in batches]) for key in batches[0]}


class TelemetryTap:
    """One reader's view: every sample published after the tap was made."""

    def __init__(self, fanout: "TelemetryFanout", capacity: int):
        if capacity < 1:
            raise ValueError(f"capacity: must be >= 1 sample (got {capacity})")
        self.capacity = capacity
        self.dropped = 0  # samples lost because this reader did not drain in time
        self._fanout = fanout
        self._batches: collections.deque[Columns] = collections.deque()
        self._rows = 0

    def _put(self, batch: Columns) -> None:  # under the fan-out's lock
        self._batches.append(batch)
        self._rows += _rows(batch)
        while self._rows > self.capacity and len(self._batches) > 1:
            old = self._batches.popleft()
            self._rows -= _rows(old)
            self.dropped += _rows(old)

    def drain(self, max_samples: int = 1 << 30) -> Columns:
        """The samples since the last drain (at most `max_samples`; the rest stay for the next)."""
        if max_samples < 1:
            raise ValueError(f"max_samples: must be >= 1 (got {max_samples})")
        with self._fanout.lock:
            self._fanout.pump_locked()
            taken: list[Columns] = []
            count = 0
            while self._batches and count < max_samples:
                batch = self._batches.popleft()
                room = max_samples - count
                if _rows(batch) > room:  # split: the tail stays first in line
                    self._batches.appendleft({k: v[room:] for k, v in batch.items()})
                    batch = {k: v[:room] for k, v in batch.items()}
                taken.append(batch)
                count += _rows(batch)
            self._rows -= count
            return concatenate(taken, self._fanout.empty)

    def close(self) -> None:
        self._fanout.remove(self)

    def __enter__(self) -> "TelemetryTap":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class TelemetryFanout:
    """Drains the core's ring on behalf of every tap."""

    def __init__(self, drain_ring: Callable[[int], Columns], default_capacity: int):
        self.lock = threading.Lock()
        self._drain_ring = drain_ring
        self._default_capacity = default_capacity
        self._taps: list[TelemetryTap] = []
        self._default: TelemetryTap | None = None
        self.empty = drain_ring(0)  # the column layout, zero rows

    def pump_locked(self) -> None:
        """Move everything in the ring to the taps (the caller holds `lock`)."""
        while True:
            batch = self._drain_ring(1 << 16)
            for column in batch.values():
                column.flags.writeable = False  # shared by every tap: one reader must not change another's
            if _rows(batch):
                for tap in self._taps:
                    tap._put(batch)
            if _rows(batch) < (1 << 16):
                return

    def tap(self, capacity: int | None = None) -> TelemetryTap:
        tap = TelemetryTap(self, self._default_capacity if capacity is None else capacity)
        with self.lock:
            self.pump_locked()  # what came before belongs to the readers that were there
            self._taps.append(tap)
        return tap

    def default_tap(self) -> TelemetryTap:
        """The tap behind robot.drain_telemetry(): made on first use, so nobody buffers for it until then.
        Its first drain still returns what the ring held, as long as no other tap has taken it."""
        if self._default is None:
            with self.lock:
                if self._default is None:
                    self._default = TelemetryTap(self, self._default_capacity)
                    self._taps.append(self._default)
        return self._default

    def remove(self, tap: TelemetryTap) -> None:
        with self.lock:
            if tap in self._taps:
                self._taps.remove(tap)
