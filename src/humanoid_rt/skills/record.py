"""Make skills from what the robot did: telemetry arrays, a teleop session, a logged episode.

`skill_from_telemetry` resamples telemetry (the dict of arrays `robot.drain_telemetry()`
returns, or the same arrays loaded from an episode log) at a fixed rate into a Skill.
By default it records `q_ref`, the reference the loop actually applied after
interpolation, soft-limit clipping and velocity limiting (what the robot was told,
not what the operator sent); `signal="q"` records the measured positions instead.
Only samples taken while the supervisor was ACTIVE are used, and the cut between
`t_start` and `t_end` (loop time) must be one contiguous ACTIVE stretch.

`SkillRecorder` drains the robot's telemetry while a session runs (the telemetry ring
is finite, so call poll() at least every few hundred ms, or run it with start()),
then `to_skill()` cuts and resamples what it collected.
"""

from __future__ import annotations

import threading
from typing import Mapping, Sequence

import numpy as np

from .format import SCENARIOS, SOURCES, Skill

_ACTIVE = 2  # SupervisorState::kActive in telemetry


def skill_from_telemetry(telemetry: Mapping[str, np.ndarray], joint_names: Sequence[str], *, name: str, robot: str,
                         rate_hz: float = 100.0, joints: Sequence[str] | None = None, t_start: float | None = None,
                         t_end: float | None = None, signal: str = "q_ref", scenario: str = "other",
                         source: str = "teleop", with_velocity: bool = True, description: str = "") -> Skill:
    """A Skill from telemetry arrays (keys t, state, q/q_ref, dq/dq_ref), resampled at rate_hz."""
    if signal not in ("q_ref", "q"):
        raise ValueError(f"signal: allowed: q_ref, q (got {signal!r})")
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario: allowed: {', '.join(SCENARIOS)} (got {scenario!r})")
    if source not in SOURCES:
        raise ValueError(f"source: allowed: {', '.join(SOURCES)} (got {source!r})")
    if not (np.isfinite(rate_hz) and rate_hz > 0):
        raise ValueError(f"rate_hz: must be > 0 (got {rate_hz!r})")
    t = np.asarray(telemetry["t"], dtype=np.float64)
    if t.size < 2:
        raise ValueError("telemetry: at least 2 samples are needed")
    state = np.asarray(telemetry["state"])
    lo = t[0] if t_start is None else t_start
    hi = t[-1] if t_end is None else t_end
    window = (t >= lo - 1e-9) & (t <= hi + 1e-9)
    if not window.any():
        raise ValueError(f"t_start/t_end: no telemetry between {lo:.4f} and {hi:.4f} s (telemetry spans "
                         f"{t[0]:.4f} .. {t[-1]:.4f} s)")
    active = window & (state == _ACTIVE)
    if not active.any():
        raise ValueError("telemetry: the robot was never ACTIVE in the selected window")
    first, last = np.flatnonzero(active)[[0, -1]]
    if not np.all(active[first:last + 1]):
        gap = first + int(np.argmin(active[first:last + 1]))
        raise ValueError(f"telemetry: the robot left ACTIVE at t={t[gap]:.4f} s inside the selected window; "
                         f"cut around it with t_start/t_end")
    names = list(joint_names)
    joints = names if joints is None else list(joints)
    unknown = [j for j in joints if j not in names]
    if unknown:
        raise ValueError(f"joints: unknown joint {unknown[0]!r}; allowed: {', '.join(names)}")
    index = [names.index(j) for j in joints]
    ts = t[first:last + 1]
    values = np.asarray(telemetry[signal], dtype=np.float64)[first:last + 1][:, index]
    velocity_key = "dq_ref" if signal == "q_ref" else "dq"
    velocities = np.asarray(telemetry[velocity_key], dtype=np.float64)[first:last + 1][:, index]
    grid = ts[0] + np.arange(0.0, ts[-1] - ts[0] + 1e-9, 1.0 / rate_hz)
    if grid.size < 2:
        raise ValueError(f"t_start/t_end: the ACTIVE stretch ({ts[-1] - ts[0]:.4f} s) is shorter than one sample "
                         f"at {rate_hz:g} Hz")
    q = np.column_stack([np.interp(grid, ts, values[:, j]) for j in range(len(index))])
    dq = np.column_stack([np.interp(grid, ts, velocities[:, j]) for j in range(len(index))]) if with_velocity else None
    return Skill(name=name, scenario=scenario, robot=robot, source=source, rate_hz=float(rate_hz),
                 joints=tuple(joints), t=grid - grid[0], q=q, dq=dq, description=description)


class SkillRecorder:
    """Collects a robot's telemetry during a session (teleop, kinesthetic, anything) for skill_from_telemetry."""

    def __init__(self, robot):
        self.robot = robot
        self._chunks: list[dict[str, np.ndarray]] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        robot.drain_telemetry()  # start from now

    def poll(self) -> int:
        """Drain the telemetry that arrived since the last poll; returns the number of samples."""
        data = self.robot.drain_telemetry()
        n = len(data["t"])
        if n:
            with self._lock:
                self._chunks.append({k: np.asarray(v) for k, v in data.items()})
        return n

    def start(self, period_s: float = 0.05) -> None:
        """Real time: poll on a background thread every period_s until stop()."""
        def run():
            while not self._stop.wait(period_s):
                self.poll()

        self._thread = threading.Thread(target=run, name="humanoid_rt-skill-recorder", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        self.poll()

    def telemetry(self) -> dict[str, np.ndarray]:
        with self._lock:
            if not self._chunks:
                raise ValueError("recorder: no telemetry collected yet (step or run the robot, then poll())")
            return {k: np.concatenate([c[k] for c in self._chunks]) for k in self._chunks[0]}

    def to_skill(self, *, name: str, **options) -> Skill:
        options.setdefault("source", "teleop")
        return skill_from_telemetry(self.telemetry(), self.robot.joint_names, name=name,
                                    robot=self.robot.config.name, **options)
