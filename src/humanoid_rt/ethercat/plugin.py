"""The EtherCAT bus plug-in (issue 5): CiA 402 drives through SOEM (drivers/ethercat), one bus per line.

Config: a bus of type `ethercat` names its interface and the slaves it expects (firmware_interfaces/
ethercat); joints give their slave position as device_id. `demo`/`bench --bus ethercat-virtual` run
the robot's legs on a line of virtual drives in a network namespace (root).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..buses.base import BusPlugin
from ..config.fields import (REQUIRED, Invalid, Parser, allowing, boolean, integer, is_integer, nonempty_text, number,
                             one_of)
from ..config.joints import MAX_JOINTS
from ..config.types import BusConfig
from ..veth import NeedsRoot

ETHERCAT_DRIVE_MODES = ("cst", "csp", "csv")
U32 = integer(0, 2**32 - 1)
_SLAVES_ALLOWED = "a list of {position: 1.., vendor_id: u32, product_code: u32} with positions 1..n in order"


@allowing(_SLAVES_ALLOWED)
def _ethercat_slaves(raw: Any) -> list[dict] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not raw or len(raw) > MAX_JOINTS:
        raise Invalid("not a non-empty list", _SLAVES_ALLOWED)
    slaves = []
    for i, entry in enumerate(raw, start=1):
        if not isinstance(entry, dict) or set(entry) != {"position", "vendor_id", "product_code"}:
            raise Invalid(f"entry {i} is not a mapping with exactly position, vendor_id, product_code", _SLAVES_ALLOWED)
        if entry["position"] != i or not is_integer(entry["position"]):
            raise Invalid(f"entry {i} has position {entry['position']!r}", _SLAVES_ALLOWED)
        for key in ("vendor_id", "product_code"):
            U32(entry[key])
        slaves.append(dict(entry))
    return slaves


PARAMS: dict[str, tuple[Parser, Any]] = {
    "interface": (nonempty_text, REQUIRED),                 # network interface of the line
    "vendor_id": (U32, REQUIRED),                   # expected of every slave unless `slaves` says otherwise
    "product_code": (U32, REQUIRED),
    "slaves": (_ethercat_slaves, None),               # the whole expected line; default: one slave per joint,
                                                      # at position = the joint's device_id
    "drive_mode": (one_of(*ETHERCAT_DRIVE_MODES), "cst"),
    "receive_timeout_us": (integer(50, 1_000_000), 800),  # how long a cycle waits for its frame
    "frame_timeout_us": (integer(100, 1_000_000), 2000),  # bring-up datagrams (SOEM EC_TIMEOUTRET)
    "wkc_tolerance": (integer(0, 100_000), 3),       # consecutive wrong-WKC / lost-frame cycles before FAULT
    "distributed_clocks": (boolean, True),
    "state_timeout_s": (number(above=0), 3.0),       # per AL state change at bring-up
}


class EthercatPlugin(BusPlugin):
    params = {"ethercat": PARAMS}
    setups = {"ethercat-virtual": "the 12 leg joints on a virtual EtherCAT line in a network namespace (needs root), "
                                  "the rest on mock"}
    unavailable = (NeedsRoot,)

    def build(self, robot, bus: BusConfig, joints: Sequence[int]):
        from .bus import make_ethercat_bus

        return make_ethercat_bus(robot.config, bus, joints)

    @contextlib.contextmanager
    def virtual_setup(self, name: str, robot_name: str, rate_hz: float) -> Iterator[tuple[Any, Any]]:
        from .demo import virtual_legs

        with virtual_legs(robot_name, rate_hz) as (config, line):
            yield config, line

    def report(self, robot, context: Any = None) -> dict[str, dict]:
        from .. import _core
        from ..demo import rounded_latency

        section = {}
        for name, bus in robot.buses.items():
            if isinstance(bus, _core.ethercat.EthercatBus):
                s = bus.statistics()
                section[name] = {
                    "slaves": s["expected_wkc"] // 3, "frames_sent": s["frames_sent"],
                    "expected_wkc": s["expected_wkc"], "wkc_errors": s["wkc_errors"], "lost_frames": s["lost_frames"],
                    "bus_faults": s["bus_faults"], "dc_slaves": s["dc_slaves"],
                    "round_trip_time": rounded_latency(s.round_trip_time.to_dict()),
                }
                if context is not None:  # the virtual line of virtual_setup()
                    section[name]["emulator"] = context.request({"cmd": "statistics"})
        return {"ethercat": section}

    def report_lines(self, report: dict) -> list[str]:
        lines = []
        for name, e in report.get("ethercat", {}).items():
            rt = e["round_trip_time"]
            lines.append(f"EtherCAT {name:<7} {e['slaves']} slaves, {e['frames_sent']} frames, WKC errors "
                         f"{e['wkc_errors']}, lost frames {e['lost_frames']}, DC on {e['dc_slaves']}, round trip p50 "
                         f"{rt['p50_us']:.1f} us  p99 {rt['p99_us']:.1f} us  max {rt['max_us']:.1f} us")
        return lines

    def bench_statistics(self, robot) -> dict[str, dict]:
        from .. import _core

        return {name: {"type": "ethercat", **bus.statistics().to_dict()} for name, bus in robot.buses.items()
                if isinstance(bus, _core.ethercat.EthercatBus)}

    def missing_hardware(self, index: int, bus: BusConfig) -> str | None:
        interface = bus.params["interface"]
        if not (Path("/sys/class/net") / interface).exists():
            return f"buses[{index}] {bus.name} ({bus.type}): network interface {interface!r} not present"
        if os.geteuid() != 0:
            return f"buses[{index}] {bus.name} (ethercat): raw sockets need root"
        return None


PLUGIN = EthercatPlugin()
