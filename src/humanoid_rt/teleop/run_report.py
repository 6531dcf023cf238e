"""The `humanoid-rt run --json PATH` report: which setpoints the loop applied, from whom, and the
teleop receiver's counters.

Applied setpoints are counted from telemetry (the setpoint in the loop's interpolator, sample by
sample), so a setpoint written and superseded before the loop took it is not counted, and each one
the loop took is counted once whoever wrote it. With `loop.telemetry_decimation` > 1 a setpoint
the loop held for fewer cycles than the decimation can fall between two samples; the report names
the decimation and the samples the reader lost (`telemetry_samples_dropped`, 0 when complete).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..recording.schemas import SETPOINT_SOURCES


class AppliedSetpoints:
    """Counts the setpoints the loop applied, per source, from consecutive telemetry batches."""

    def __init__(self):
        self.count = 0
        self.by_source = {name: 0 for name in SETPOINT_SOURCES}
        self.last: dict | None = None
        self._previous_sequence = 0  # 0: no setpoint written yet

    def feed(self, columns: dict[str, np.ndarray]) -> None:
        sequence = np.asarray(columns["setpoint_sequence"], dtype=np.uint64)
        if len(sequence) == 0:
            return
        before = np.concatenate([[self._previous_sequence], sequence[:-1]]).astype(np.uint64)
        new = np.flatnonzero((sequence != before) & (sequence != 0))
        sources = np.asarray(columns["setpoint_source"])[new]
        for code in sources:
            self.by_source[SETPOINT_SOURCES[int(code)]] += 1
        self.count += len(new)
        if len(new):
            i = int(new[-1])
            written, applied = float(columns["setpoint_t_written"][i]), float(columns["setpoint_applied_t"][i])
            self.last = {
                "sequence": int(sequence[i]),
                "source": SETPOINT_SOURCES[int(columns["setpoint_source"][i])],
                "t_written_s": written,
                "applied_t_s": applied,
                "t_target_s": float(columns["setpoint_t_target"][i]),
                "written_to_applied_s": applied - written,
                "cycle": int(columns["cycle"][i]),
            }
        self._previous_sequence = int(sequence[-1])

    def as_dict(self) -> dict:
        return {"count": self.count, "by_source": dict(self.by_source), "last_applied": self.last}


def build_report(robot, applied: AppliedSetpoints, *, telemetry_dropped: int, wall_seconds: float,
                 state_before_stop: str | None = None) -> dict:
    """Everything `run --json` writes (plain JSON types)."""
    state = robot.state()
    teleop = robot.teleop_statistics() if robot.teleop is not None else None
    loop = robot.statistics()
    return {
        "robot": robot.config.name,
        "n_joints": robot.n_joints,
        "rate_hz": robot.rate_hz,
        "wall_seconds": wall_seconds,
        "state_before_stop": state_before_stop,
        "final_state": state.supervisor_state,
        "loop_time_s": state.time,
        "setpoints": {**applied.as_dict(), "counted_from": "telemetry",
                      "telemetry_decimation": robot.config.loop.telemetry_decimation,
                      "telemetry_samples_dropped": telemetry_dropped},
        "teleop": _plain(teleop),
        "loop": _plain(loop),
        "transitions": [f"{e['from_state']}->{e['to_state']} ({e['reason']})" for e in robot.events()
                        if e["accepted"] and e["from_state"] != e["to_state"]],
    }


def write_report(path: Path, report: dict) -> None:
    path.write_text(json.dumps(report, indent=2) + "\n")


def _plain(value):
    """numpy scalars and arrays, tuples and nested dicts as JSON types."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
