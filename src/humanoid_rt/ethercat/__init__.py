"""EtherCAT support: the virtual CiA 402 slave line (emulator), its netns/veth plumbing, and helpers.

The master side is C++ (drivers/ethercat/, SOEM); this package is the device side used by tests,
the demo and the benchmark.
"""

from .netns import NeedsRoot, VirtualEthercat, have_privileges

__all__ = ["NeedsRoot", "VirtualEthercat", "have_privileges"]
