"""Robot.bus(joint) and the per-kind accessors kept as thin aliases (a mixin, so robot.py stays small)."""

from __future__ import annotations

from typing import Any


class BusAccess:
    """Which bus drives a joint; the bus itself is the C++ object (humanoid_rt._core.Bus and its kinds)."""

    buses: dict[str, Any]
    _bus_of_joint: list[str]

    def bus(self, joint: str | int):
        """The bus driving a joint (name or index): fault injection on a mock bus, a twin's ground truth,
        a drive bus's statistics and drive states. Every bus has name, set_realtime, request_fault_reset,
        fault_reset_pending and counters() (humanoid_rt._core.Bus); the rest depends on its kind."""
        if isinstance(joint, str):
            index = self.joint_index(joint)
        else:
            index = int(joint)
            if not 0 <= index < len(self._bus_of_joint):
                raise IndexError(f"joint: index {joint!r} out of range; allowed: 0..{len(self._bus_of_joint) - 1}")
        return self.buses[self._bus_of_joint[index]]

    def bus_counters(self) -> dict[str, dict]:
        """Per bus: the counters every bus keeps, in one key scheme (cycles, frames_sent, frames_received,
        missed_replies, rejected_frames, send_errors; zeros on buses without frames)."""
        return {name: bus.counters().to_dict() for name, bus in self.buses.items()}

    # Aliases of bus(joint) that also check the bus's kind (kept for existing callers).
    def _bus_of_kind(self, joint: str | int, kind: type, what: str):
        bus = self.bus(joint)
        if not isinstance(bus, kind):
            name = joint if isinstance(joint, str) else self.joint_names[joint]
            raise TypeError(f"joint {name} is not on {what}")
        return bus

    def mock_bus(self, joint: str | int):
        """bus(joint), which must be a mock bus (fault injection in tests and demos)."""
        from .. import _core

        return self._bus_of_kind(joint, _core.MockBus, "a mock bus")

    def ethercat_bus(self, joint: str | int):
        """bus(joint), which must be an EtherCAT bus (statistics, fault_reset(), drive states)."""
        from .. import _core

        return self._bus_of_kind(joint, _core.ethercat.EthercatBus, "an EtherCAT bus")

    def twin(self):
        """The MuJoCo digital-twin bus (when running on one)."""
        from .. import _core

        for bus in self.buses.values():
            if isinstance(bus, _core.MujocoBus):
                return bus
        raise TypeError("this robot does not run on the MuJoCo twin (bus='mujoco')")
