"""The safety supervisor's states, as one enum shared by the API, telemetry and the wire formats.

`SupervisorState` is a `str` enum: a member equals its name (``state.supervisor_state ==
"ACTIVE"`` holds, it formats and serialises to JSON as ``ACTIVE``), so code written against the
names keeps working, and every API that takes a state also takes its name. Its `code` is the
number the C++ supervisor uses (`_core.SupervisorState`) and the one written in telemetry arrays,
recordings (recording/FORMAT.md) and the Zenoh state message (firmware_interfaces/zenoh/KEYS.md);
a test keeps the two lists equal. The transitions are specified in
cpp/include/humanoid_rt/safety_supervisor.hpp.

This module does not import the C++ core, so tools that only decode messages work without it.
"""

from __future__ import annotations

import enum

from .errors import HumanoidRtError

__all__ = ["SupervisorState", "UnknownSupervisorState"]


class UnknownSupervisorState(HumanoidRtError, ValueError):
    """A state name or code that is not one of the supervisor's, with the allowed values."""


class SupervisorState(enum.StrEnum):
    """One state of the safety supervisor; declaration order is the numeric code."""

    DISABLED = "DISABLED"  # torque off
    ENABLING = "ENABLING"  # ramping in from the measured position
    ACTIVE = "ACTIVE"  # following setpoints
    HOLD = "HOLD"  # setpoints stale: holding the last reference
    DAMPING = "DAMPING"  # joint damping only, then DISABLED
    FAULT = "FAULT"  # latched; needs recover()
    ESTOP = "ESTOP"  # latched emergency stop
    RECOVERY = "RECOVERY"  # walking joints outside their hard limits back in

    @property
    def code(self) -> int:
        """The C++ supervisor's number for this state (telemetry, recordings, wire formats)."""
        return _CODE_OF[self]

    @classmethod
    def from_code(cls, code: int) -> SupervisorState:
        try:
            return _BY_CODE[int(code)]
        except (KeyError, IndexError, ValueError, TypeError):
            raise UnknownSupervisorState(
                f"supervisor state code {code!r}; allowed: 0..{len(_BY_CODE) - 1}") from None

    @classmethod
    def parse(cls, value: str | SupervisorState, field: str = "state") -> SupervisorState:
        """The member named `value` (a member or its exact name); a clear error naming `field` otherwise."""
        if isinstance(value, cls):
            return value
        try:
            return cls(value)
        except ValueError:
            raise UnknownSupervisorState(
                f"{field}: {value!r} is not a supervisor state; allowed: {', '.join(cls)}") from None


_BY_CODE = tuple(SupervisorState)
_CODE_OF = {state: code for code, state in enumerate(_BY_CODE)}
