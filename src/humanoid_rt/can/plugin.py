"""The CAN bus plug-in: MIT-family motors and CANopen CiA 402 drives on SocketCAN (`can`) or on
virtual devices over socketpairs (`can-virtual`, served by humanoid_rt.can.virtual).

Robot(bus="can-virtual") moves every joint onto four CAN-FD buses of virtual motors
(runtime.virtual_can_config). The virtual motors answer from C++ threads in real time and from
Python in stepped mode; the hooks below switch them as the loop starts and stops.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..buses.base import BusPlugin
from ..config.types import BusConfig
from .config import BUS_PARAMS, CAN_JOINT_KEYS, check_can, dump_can_joint, parse_can_joint


class CanPlugin(BusPlugin):
    params = BUS_PARAMS
    joint_section = "can"
    joint_section_keys = tuple(CAN_JOINT_KEYS)
    gravity_free = ("can-virtual",)  # virtual motors are rotors without gravity
    overrides = {"can-virtual": "virtual CAN motors on 4 CAN-FD buses"}

    # ------------------------------------------------------------------ config
    def parse_joint_section(self, check, raw: Any, path: str, device_id: Any) -> Any:
        return parse_can_joint(check, raw, path, device_id)

    def dump_joint_section(self, value) -> dict:
        return dump_can_joint(value)

    def check_config(self, check, *, model, loop, safety, buses, joints) -> None:
        if loop is not None and safety is not None:
            check_can(check, buses, joints, loop, safety)

    # ------------------------------------------------------------------- robot
    def override_config(self, config, name: str):
        from .runtime import virtual_can_config

        return virtual_can_config(config)

    def pins_loop(self, bus: BusConfig) -> bool:
        # Virtual motors answer from C++ threads pinned with the loop: a stall of that (virtual)
        # CPU then delays the loop and its devices together, as on a robot, where the motors
        # answer on their own hardware and a host stall never turns into missed replies.
        return bus.type == "can-virtual"

    def build(self, robot, bus: BusConfig, joints: Sequence[int]):
        from .runtime import make_can_bus

        if not hasattr(robot, "can_network"):
            robot.can_network = None  # the virtual motors of can-virtual buses, once one is built
        return make_can_bus(robot, bus, joints)

    def start(self, robot) -> None:
        if robot.can_network is not None:  # replies due within a quarter period: the C++ motors
            robot.can_network.serve_natively(priority=max(0, robot.loop_priority - 1), cpu=robot.loop_cpu)

    def stop(self, robot) -> None:
        if robot.can_network is not None:  # stepped runs are served by the Python motors
            robot.can_network.serve_in_python()

    def close(self, robot) -> None:
        if getattr(robot, "can_network", None) is not None:  # no virtual devices left serving
            robot.can_network.close()

    # ----------------------------------------------------- demo, bench and CLI
    def report(self, robot, context: Any = None) -> dict[str, dict]:
        from .runtime import can_bus_report

        return {"buses": can_bus_report(robot)}  # per CAN bus: frames, missed replies, rejected frames, load

    def report_lines(self, report: dict) -> list[str]:
        return [f"bus {name:<12} {b['joints']} joints ({', '.join(b['protocols'])}), {'CAN-FD' if b['fd'] else 'CAN'} "
                f"load {100 * b['load']:.1f} %: {b['frames_sent']} frames sent, {b['replies']} replies, "
                f"{b['missed_replies']} missed, {b['rejected_wrong_id'] + b['rejected_malformed']} rejected, "
                f"longest wait {b['max_wait_us']:.0f} us"
                for name, b in report.get("buses", {}).items() if b.get("type") in self.params]

    def bench_statistics(self, robot) -> dict[str, dict]:
        from .runtime import can_bus_report

        return can_bus_report(robot)

    def missing_hardware(self, index: int, bus: BusConfig) -> str | None:
        if bus.type == "can" and not (Path("/sys/class/net") / bus.params["interface"]).exists():
            return f"buses[{index}] {bus.name} ({bus.type}): network interface {bus.params['interface']!r} not present"
        return None

    def add_commands(self, commands) -> None:
        from .protocols import PROTOCOLS

        decode = commands.add_parser(
            "can-decode", help="decode a candump or python-can log with the CAN protocols' DBC files",
            description="Decodes every frame of a CAN log (candump -l / candump output, or any python-can log: .asc, "
            ".blf, .csv, .log, .trc) as commands and replies of the MIT protocol family, with the DBC files of "
            "firmware_interfaces/can/.",
        )
        decode.add_argument("log", type=Path, help="the log file")
        decode.add_argument("--protocol", action="append", choices=PROTOCOLS, default=None,
                            help="protocol(s) to try, in order (default: all)")
        decode.add_argument("--limit", type=int, default=None, metavar="N", help="stop after N frames")

    def run_command(self, args) -> int | None:
        if args.command != "can-decode":
            return None
        from .decode import main as decode_main

        return decode_main(args.log, protocols=args.protocol, limit=args.limit)


PLUGIN = CanPlugin()
