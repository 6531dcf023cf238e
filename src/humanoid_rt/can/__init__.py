"""CAN actuators: the MIT protocol family on CAN / CAN-FD.

- `protocols`: the family's tables (IDs, ranges, field widths);
- `virtual`: virtual motors (the C++ responders) answering on socketpairs or python-can buses, with fault injection;
- `busload`: frame timing and the bus-load check;
- `runtime`: building `CanBus` objects for a Robot, and the `can-virtual` layout;
- `dbc` / `decode`: DBC files per protocol and the `humanoid-rt can-decode` log decoder.

The RT-side driver, host codecs and the virtual motors' model and device codec are C++ (`humanoid_rt._core.can`).
"""

from .protocols import DEFAULT_RANGES, PROTOCOLS, Ranges
from .virtual import FAULTS, MotorModel, VirtualCanNetwork, VirtualMotor

__all__ = ["DEFAULT_RANGES", "PROTOCOLS", "Ranges", "FAULTS", "MotorModel", "VirtualCanNetwork", "VirtualMotor"]
