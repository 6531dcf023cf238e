"""`humanoid-rt demo --bus ethercat-virtual`: the bundled humanoid with its 12 leg joints on
EtherCAT (one line of 12 virtual CiA 402 drives behind a veth pair, in a network namespace)
and everything else on the mock bus, as a robot with several buses would run.

Loop rate: the virtual drives are a Python process; it answers a 12-slave frame in ~0.1-0.3 ms
typically but with millisecond outliers on a shared machine (bench/run_ethercat.py measures
it). The demo therefore runs at the loop rate requested (default 1000 Hz) with a receive
timeout of 0.7 ms and tolerances for late frames set for this emulator (`wkc_tolerance` 20,
`max_missed_replies` 20): late frames are counted and reported, not hidden. Real drives
answer in microseconds and keep the defaults (3 and 3).
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from ..config import dump_config, load_config
from .drive import DriveParams
from .netns import VirtualEthercat

LEG_BUSES = ("left_leg", "right_leg")


@contextlib.contextmanager
def virtual_legs(robot_name: str, rate_hz: float) -> Iterator[tuple[dict, VirtualEthercat]]:
    """Yields (robot config dict with the legs on EtherCAT, the running virtual line)."""
    config = dump_config(load_config(robot_name))
    legs = [j for j in config["joints"] if j["bus"] in LEG_BUSES]
    with VirtualEthercat(slaves=len(legs), period_s=1.0 / rate_hz) as line:
        config["buses"] = [b for b in config["buses"] if b["name"] not in LEG_BUSES] + [{
            "name": "legs", "type": "ethercat", "interface": line.master_interface,
            "vendor_id": DriveParams.vendor_id, "product_code": DriveParams.product_code, "drive_mode": "cst",
            "receive_timeout_us": 700, "frame_timeout_us": 20_000, "wkc_tolerance": 20,
        }]
        for position, joint in enumerate(legs, start=1):
            joint["bus"] = "legs"
            joint["device_id"] = position
            joint["command_mode"] = "torque"
        config["safety"]["max_missed_replies"] = max(config["safety"]["max_missed_replies"], 20)
        # The emulated drives turn a rotor without gravity: compensating gravity would push it off its target.
        config["model"]["gravity_compensation"] = False
        yield config, line
