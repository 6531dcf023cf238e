"""`humanoid-rt demo --bus ethercat-virtual`: the bundled humanoid with its 12 leg joints on
EtherCAT (one line of 12 virtual CiA 402 drives behind a veth pair, in a network namespace)
and everything else on the mock bus, as a robot with several buses would run.

The virtual drives are C++ (drivers/ethercat/virtual_slave) on a SCHED_FIFO frame thread and answer
a 12-slave frame in tens of microseconds, so the demo runs at the loop rate requested (default
1000 Hz) with the bus's and the supervisor's normal tolerances (receive timeout 800 us, 3 bad
cycles), as on real drives; bench/run_ethercat.py measures the round trip.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from .. import _core
from ..config import dump_config, load_config
from .netns import VirtualEthercat

LEG_BUSES = ("left_leg", "right_leg")


def legs_on_line(robot_name: str, line: VirtualEthercat) -> dict:
    """The robot's config (dict) with its leg joints on `line`, in CST, and the other joints as they were."""
    config = dump_config(load_config(robot_name))
    legs = [j for j in config["joints"] if j["bus"] in LEG_BUSES]
    if len(legs) != line.slaves:
        raise ValueError(f"{robot_name} has {len(legs)} leg joints, the virtual line {line.slaves} drives")
    identity = _core.ethercat.VirtualDriveParams()
    config["buses"] = [b for b in config["buses"] if b["name"] not in LEG_BUSES] + [{
        "name": "legs", "type": "ethercat", "interface": line.master_interface,
        "vendor_id": identity.vendor_id, "product_code": identity.product_code, "drive_mode": "cst",
    }]
    for position, joint in enumerate(legs, start=1):
        joint["bus"] = "legs"
        joint["device_id"] = position
        joint["command_mode"] = "torque"
    # The emulated drives turn a rotor without gravity: compensating gravity would push it off its target.
    config["model"]["gravity_compensation"] = False
    return config


def leg_count(robot_name: str) -> int:
    return sum(j.bus in LEG_BUSES for j in load_config(robot_name).joints)


@contextlib.contextmanager
def virtual_legs(robot_name: str, rate_hz: float) -> Iterator[tuple[dict, VirtualEthercat]]:
    """Yields (robot config dict with the legs on EtherCAT, the running virtual line)."""
    with VirtualEthercat(slaves=leg_count(robot_name), period_s=1.0 / rate_hz) as line:
        yield legs_on_line(robot_name, line), line
