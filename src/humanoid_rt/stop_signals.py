"""Stop a command-line server on SIGINT/SIGTERM without raising or locking inside the signal handler.

A Python signal handler runs in the main thread between two bytecodes, wherever that thread happens to be.
Raising KeyboardInterrupt there can leave a lock held or a device half closed; calling `threading.Event.set()`
there deadlocks when the main thread was inside `Event.wait()` holding the event's (non-reentrant) lock, a
window a loaded machine makes likely. So the handlers below only append to a list; the main loop polls it.

Installing the handlers explicitly also makes `kill -INT` work when SIGINT was ignored at startup (a process
started by `cmd &` in a script or under nohup inherits it ignored, and Python then leaves it ignored).
"""

from __future__ import annotations

import signal
import time

__all__ = ["StopSignals"]


class StopSignals:
    """`with StopSignals() as stop: while not stop.wait(0.1): ...`; the previous handlers come back on exit."""

    def __init__(self, signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM), poll_s: float = 0.05):
        self.signals = signals
        self.poll_s = poll_s
        self.received: list[int] = []  # appended by the handlers: the only thing they do
        self._previous: dict[int, object] = {}

    def _record(self, signum, frame) -> None:
        self.received.append(signum)

    @property
    def requested(self) -> bool:
        return bool(self.received)

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep until a stop signal arrives or `timeout` seconds pass (None: forever); True when stopping."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.received:
            remaining = self.poll_s if deadline is None else min(self.poll_s, deadline - time.monotonic())
            if remaining <= 0:
                break
            time.sleep(remaining)
        return self.requested

    def __enter__(self) -> "StopSignals":
        for signum in self.signals:
            self._previous[signum] = signal.signal(signum, self._record)
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self._previous.items():
            if handler is not None:  # None: a handler not set from Python, which Python cannot put back
                signal.signal(signum, handler)
        self._previous.clear()
