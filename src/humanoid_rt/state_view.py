"""A reusable view of the loop's state, for Python loops that read it hundreds of times a second.

    view = robot.read_state()            # a StateView, filled
    while running:
        robot.read_state(out=view)       # refilled in place: no allocation, ~1 us
        error = view.q_ref - view.q      # arrays of shape (n_joints,), the newest snapshot

`robot.state()` returns a fresh, immutable `RobotState` each call (safe to keep, ~3 us); a
StateView's arrays are overwritten by the next `read_state(out=view)`, so copy what you keep.
Its arrays are read-only (one reader must not change what another sees); they are views of one
(7, n_joints) block refilled by the core under the loop's state lock, so every field of one
update comes from the same cycle.
"""

from __future__ import annotations

import numpy as np

from . import _core
from .supervisor_state import SupervisorState

_STATE_NAMES = {state.code: state for state in SupervisorState}


class StateView:
    """The newest loop state, refilled in place by `update()` (or `robot.read_state(out=view)`).

    Attributes: cycle, time [s], supervisor_state (a SupervisorState, equal to its name); arrays of shape (n_joints,):
    q, dq, tau (measured), tau_command, q_ref, dq_ref, temperature_c, drive_error, fresh; and
    last_event / reason (built on access).
    """

    __slots__ = ("_reader", "cycle", "time", "supervisor_state", "q", "dq", "tau", "tau_command", "q_ref", "dq_ref",
                 "temperature_c", "drive_error", "fresh")

    def __init__(self, loop: "_core.ControlLoop"):
        self._reader = _core.StateReader(loop)
        rows = self._reader.rows
        (self.q, self.dq, self.tau, self.tau_command, self.q_ref, self.dq_ref, self.temperature_c) = \
            (self._read_only(rows[i]) for i in range(7))
        self.drive_error = self._read_only(self._reader.drive_error)
        self.fresh = self._read_only(self._reader.fresh)
        self.cycle, self.time, self.supervisor_state = 0, 0.0, SupervisorState.DISABLED

    @staticmethod
    def _read_only(array: np.ndarray) -> np.ndarray:
        view = array.view()
        view.flags.writeable = False
        return view

    def update(self) -> "StateView":
        cycle, t, code = self._reader.update()
        self.cycle, self.time, self.supervisor_state = cycle, t, _STATE_NAMES[code]
        return self

    @property
    def last_event(self) -> dict:
        """The transition that led to this state: reason, joint, value, limit, cycle."""
        return self._reader.last_event()

    @property
    def reason(self) -> str:
        return self._reader.last_event()["reason"]

    def __repr__(self) -> str:
        return f"StateView(cycle={self.cycle}, time={self.time:.4f}, supervisor_state='{self.supervisor_state}')"
