"""Time-aligned observations from telemetry: the state at a loop time, and history windows.

Policies want the state at the time an image was taken, or a history of N states at a
fixed spacing ending there. `TelemetryHistory` keeps the last `seconds` of the robot's
1 kHz telemetry (poll() drains it; call it at least every few hundred ms, e.g. from the
loop that runs the policy) and interpolates linearly between loop cycles.

Only one consumer should drain a robot's telemetry: share one TelemetryHistory (or a
SkillRecorder fed from `on_drain`) rather than draining in two places.
"""

from __future__ import annotations

import threading

import numpy as np

SIGNALS = ("q", "dq", "tau_measured", "q_ref", "dq_ref", "tau_command")


class TelemetryHistory:
    def __init__(self, robot, seconds: float = 2.0, on_drain=None):
        if not seconds > 0:
            raise ValueError(f"seconds: must be > 0 (got {seconds!r})")
        self.robot = robot
        self.capacity = int(np.ceil(seconds * robot.rate_hz)) + 1
        self.on_drain = on_drain  # called with every drained dict (e.g. SkillRecorder-style consumers)
        self._lock = threading.Lock()
        self._data: dict[str, np.ndarray] | None = None

    def poll(self) -> int:
        drained = self.robot.drain_telemetry()
        n = len(drained["t"])
        if n == 0:
            return 0
        if self.on_drain is not None:
            self.on_drain(drained)
        with self._lock:
            keep = ("t", "state") + SIGNALS
            if self._data is None:
                self._data = {k: np.asarray(drained[k])[-self.capacity:] for k in keep}
            else:
                self._data = {k: np.concatenate([self._data[k], np.asarray(drained[k])])[-self.capacity:] for k in keep}
        return n

    @property
    def span(self) -> tuple[float, float]:
        """(oldest, newest) loop time held."""
        if self._data is None or self._data["t"].size == 0:
            raise ValueError("no telemetry yet: run or step the robot, then poll()")
        return float(self._data["t"][0]), float(self._data["t"][-1])

    def state_at(self, t: float, signals=("q", "dq", "tau_measured")) -> dict[str, np.ndarray]:
        """Signals interpolated at loop time t (must lie within span)."""
        return {k: v[0] for k, v in self.window(t, 1, 1.0, signals).items() if k != "t"} | {"t": t}

    def window(self, t_end: float, n: int, dt: float, signals=("q", "dq", "tau_measured")) -> dict[str, np.ndarray]:
        """n samples at t_end - (n-1) dt, ..., t_end: {"t": (n,), signal: (n, n_joints)}."""
        if n < 1 or not dt > 0:
            raise ValueError(f"n >= 1 and dt > 0 (got n={n!r}, dt={dt!r})")
        unknown = [s for s in signals if s not in SIGNALS]
        if unknown:
            raise ValueError(f"signals: unknown {unknown[0]!r}; allowed: {', '.join(SIGNALS)}")
        with self._lock:
            lo, hi = self.span
            times = t_end - dt * np.arange(n - 1, -1, -1)
            if times[0] < lo - 1e-9 or times[-1] > hi + 1e-9:
                raise ValueError(f"t: {times[0]:.4f} .. {times[-1]:.4f} s is outside the telemetry held "
                                 f"({lo:.4f} .. {hi:.4f} s); poll() more often or keep more seconds")
            t = self._data["t"]
            out = {"t": times}
            for s in signals:
                values = self._data[s]
                out[s] = np.column_stack([np.interp(times, t, values[:, j]) for j in range(values.shape[1])])
            return out
