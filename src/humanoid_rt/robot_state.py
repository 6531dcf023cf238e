"""What Robot.state() returns, the supervisor's state and reason codes, and the refusal error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from . import _core
from .errors import HumanoidRtError
from .supervisor_state import SupervisorState

#: Supervisor state name -> the code used in telemetry arrays.
STATE_CODES = {state: state.code for state in SupervisorState}
_STATE_NAMES = {state.code: state for state in SupervisorState}
#: Telemetry reason code -> reason name (as in events and RobotState.reason).
REASON_NAMES = {int(value): name for name, value in _core.Reason.__members__.items()}


class SafetyRefused(HumanoidRtError, RuntimeError):
    """The supervisor refused a request (enable, reset, ...) or ended it in another state; the event says why."""

    def __init__(self, request: str, event: Mapping[str, Any], joint_names: Sequence[str] = ()):
        joint = event.get("joint", -1)
        name = joint_names[joint] if 0 <= joint < len(joint_names) else f"joint {joint}"
        where = f" ({name}: value {event['value']:.6g}, limit {event['limit']:.6g})" if joint >= 0 else ""
        hint = " (robot.recover() brings a joint back inside its hard limits)" \
            if event["reason"] == "hard_position_limit" and request in ("reset", "enable") else ""
        super().__init__(f"{request}: {event['from_state']} -> {event['to_state']}: {event['reason']}{where}{hint}")
        self.event = dict(event)


@dataclass(frozen=True)
class RobotState:
    """One snapshot of the loop, consistent within itself. Arrays have shape (n_joints,)."""

    cycle: int
    time: float  # loop time [s]
    supervisor_state: SupervisorState  # a str enum: equal to its name ("ACTIVE", "HOLD", ...)
    last_event: dict  # the transition that led here: reason, joint, value, limit, cycle
    q: np.ndarray  # measured position [rad]
    dq: np.ndarray  # measured velocity [rad/s]
    tau: np.ndarray  # measured torque [Nm]
    tau_command: np.ndarray  # commanded torque after the safety layer [Nm]
    q_ref: np.ndarray  # interpolated reference [rad]
    dq_ref: np.ndarray
    temperature_c: np.ndarray
    drive_error: np.ndarray
    fresh: np.ndarray  # a reply arrived this cycle
    base: dict | None = None  # floating base: the estimator's state (Robot.base_state()); None on a fixed base

    @property
    def reason(self) -> str:
        return self.last_event["reason"]
