"""EtherCAT support: the virtual CiA 402 slave line's process (emulator), its netns/veth plumbing,
and helpers.

Both sides are C++: the master in drivers/ethercat/ (SOEM), the virtual slaves in
drivers/ethercat/virtual_slave/; this package runs the slaves in a network namespace for tests,
the demo and the benchmark, and builds the master bus from a robot config.
"""

from .netns import NeedsRoot, VirtualEthercat, have_privileges

__all__ = ["NeedsRoot", "VirtualEthercat", "have_privileges"]
